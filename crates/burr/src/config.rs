//! The native front door: reads a TOML configuration file into model objects and reports every
//! problem with the file and line it comes from.
//!
//! It also writes the state back in that shape (`burr export`).
//!
//! This module knows the file's shape (`[[balancer]]`, `[[balancer.listener]]`, `[[pool]]`,
//! `[[alias]]`) and how to point at a line; every rule about values belongs to `burr-model`,
//! whose errors are mapped back onto the file here.

mod cloudfront;

use burr_model::cloudfront::{DeploymentPolicy, Distribution};
use burr_model::{Alias, Balancer, FieldPath, PathSegment, Pool, State, ValidationError};
use cloudfront::{FileDistribution, FilePolicy};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The file's top level.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    balancer: Vec<Balancer>,
    #[serde(default)]
    pool: Vec<Pool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    alias: Vec<Alias>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    distribution: Vec<FileDistribution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deployment_policy: Vec<FilePolicy>,
}

/// The whole state as a configuration file (`burr export`): balancers, pools, CloudFront
/// distributions and policies from every front door, in the shape this module reads.
pub fn render(state: &State) -> Result<String, String> {
    let file = ConfigFile {
        balancer: state.balancers.values().cloned().collect(),
        pool: state.pools.values().cloned().collect(),
        alias: state.aliases.values().cloned().collect(),
        distribution: state
            .distributions
            .values()
            .map(FileDistribution::from_model)
            .collect(),
        deployment_policy: state
            .deployment_policies
            .values()
            .map(FilePolicy::from_model)
            .collect(),
    };
    toml::to_string(&file).map_err(|e| format!("burr: cannot write the state as TOML: {e}"))
}

/// A problem in a configuration file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The objects a file declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub balancers: Vec<Balancer>,
    pub pools: Vec<Pool>,
    pub aliases: Vec<Alias>,
    pub distributions: Vec<Distribution>,
    pub policies: Vec<DeploymentPolicy>,
}

impl Declared {
    /// `state` with its file-owned objects replaced by these.
    pub fn apply_to(&self, state: &State) -> State {
        state
            .with_file_objects(
                self.balancers.clone(),
                self.pools.clone(),
                self.aliases.clone(),
            )
            .with_file_cloudfront(self.distributions.clone(), self.policies.clone())
    }
}

/// A file read and parsed, kept so later errors (from the store's validation of the merged state)
/// can still be pointed at lines.
pub struct ConfigSource {
    pub path: PathBuf,
    text: String,
}

impl ConfigSource {
    pub fn read(path: &Path) -> Result<Self, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read the configuration file: {e}"),
            }]
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
        })
    }

    /// A file's text as if read from `path` (tests and the fuzz targets).
    pub fn from_text(path: &Path, text: String) -> Self {
        Self {
            path: path.to_path_buf(),
            text,
        }
    }

    /// Parses the file and checks everything that can be checked without the running state:
    /// syntax, field names and types, duplicate names, every model rule, and TLS files.
    pub fn load(&self, listen_host: Option<IpAddr>) -> Result<Declared, Vec<ConfigError>> {
        let (declared, mut errors) = self.load_text(listen_host)?;
        errors.extend(self.check_tls(&declared));
        if errors.is_empty() {
            Ok(declared)
        } else {
            Err(errors)
        }
    }

    /// Everything [`ConfigSource::load`] checks but the TLS files (the one part that reads
    /// other files): what the file declares, with the errors found in it. A syntax or shape
    /// error ends the check early.
    pub fn load_text(
        &self,
        listen_host: Option<IpAddr>,
    ) -> Result<(Declared, Vec<ConfigError>), Vec<ConfigError>> {
        let file: ConfigFile = toml::from_str(&self.text).map_err(|e| {
            vec![ConfigError {
                file: self.path.clone(),
                line: e.span().map(|s| self.line_of(s.start)),
                message: e.message().trim().to_string(),
            }]
        })?;
        let mut errors = self.duplicate_ids(&file);
        let mut declared = Declared {
            balancers: file.balancer,
            pools: file.pool,
            aliases: file.alias,
            distributions: file
                .distribution
                .into_iter()
                .map(FileDistribution::into_model)
                .collect(),
            policies: file
                .deployment_policy
                .into_iter()
                .map(FilePolicy::into_model)
                .collect(),
        };
        let base = self.path.parent().unwrap_or(Path::new("."));
        for balancer in &mut declared.balancers {
            for listener in &mut balancer.listeners {
                if let Some(tls) = &mut listener.tls {
                    tls.certificate = base.join(&tls.certificate);
                    tls.private_key = base.join(&tls.private_key);
                }
            }
        }
        errors.extend(self.duplicate_names(&declared));
        let state = declared.apply_to(&State::default());
        if let Err(mut invalid) = state.validate(listen_host) {
            // Certificates named by ARN live in the store, not in the file: whether one exists
            // is checked when the file is applied to the running state.
            invalid.retain(|e| !is_unknown_certificate(e));
            errors.extend(self.locate_all(&invalid));
        }
        Ok((declared, errors))
    }

    fn duplicate_names(&self, declared: &Declared) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut check = |kind: &str, names: Vec<&str>, segment: fn(String) -> PathSegment| {
            let mut seen = HashSet::new();
            for name in names {
                if !seen.insert(name) {
                    let path = FieldPath::root()
                        .with(segment(name.to_string()))
                        .field("name");
                    errors.push(
                        self.error_at(&path, format!("{kind} name {name:?} is declared twice")),
                    );
                }
            }
        };
        check(
            "balancer",
            declared.balancers.iter().map(|b| b.name.as_str()).collect(),
            PathSegment::Balancer,
        );
        check(
            "pool",
            declared.pools.iter().map(|p| p.name.as_str()).collect(),
            PathSegment::Pool,
        );
        check(
            "alias",
            declared.aliases.iter().map(|a| a.name.as_str()).collect(),
            PathSegment::Alias,
        );
        errors
    }

    /// Distribution and policy ids declared twice (checked before the model keys them by id).
    fn duplicate_ids(&self, file: &ConfigFile) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        for id in file.distribution.iter().map(FileDistribution::id) {
            if !seen.insert(id) {
                let path = FieldPath::root()
                    .with(PathSegment::Distribution(id.to_string()))
                    .field("id");
                errors.push(
                    self.error_at(&path, format!("distribution id {id:?} is declared twice")),
                );
            }
        }
        let mut seen = HashSet::new();
        for id in file.deployment_policy.iter().map(FilePolicy::id) {
            if !seen.insert(id) {
                let path = FieldPath::root()
                    .with(PathSegment::DeploymentPolicy(id.to_string()))
                    .field("id");
                errors.push(self.error_at(
                    &path,
                    format!("deployment_policy id {id:?} is declared twice"),
                ));
            }
        }
        errors
    }

    fn check_tls(&self, declared: &Declared) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for b in &declared.balancers {
            for l in &b.listeners {
                if let Some(files) = &l.tls
                    && let Err(reason) = burr_proxy::tls::server_config(files)
                {
                    let path = b.path().with(PathSegment::Listener(l.port)).field("tls");
                    errors.push(self.error_at(&path, format!("{path}: {reason}")));
                }
            }
        }
        errors
    }

    /// Maps model validation errors onto this file.
    pub fn locate_all(&self, errors: &[ValidationError]) -> Vec<ConfigError> {
        errors
            .iter()
            .map(|e| self.error_at(&e.path, e.to_string()))
            .collect()
    }

    fn error_at(&self, path: &FieldPath, message: String) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line: self.span_of(path).map(|start| self.line_of(start)),
            message,
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// Byte offset of the deepest part of `path` found in the document.
    fn span_of(&self, path: &FieldPath) -> Option<usize> {
        let doc = DeTable::parse(&self.text).ok()?;
        let mut best = None;
        let mut current: Option<&Spanned<DeValue>> = None;
        let root = doc.get_ref();
        for segment in &path.0 {
            let table = match current {
                None => Some(root),
                Some(v) => v.get_ref().as_table(),
            };
            let next = match segment {
                PathSegment::Balancer(name) => {
                    find_named(table, "balancer", "name", |v| v.as_str() == Some(name))
                }
                PathSegment::Pool(name) => {
                    find_named(table, "pool", "name", |v| v.as_str() == Some(name))
                }
                PathSegment::Alias(name) => {
                    find_named(table, "alias", "name", |v| v.as_str() == Some(name))
                }
                PathSegment::Distribution(id) => {
                    find_named(table, "distribution", "id", |v| v.as_str() == Some(id))
                }
                PathSegment::DeploymentPolicy(id) => {
                    find_named(table, "deployment_policy", "id", |v| v.as_str() == Some(id))
                }
                PathSegment::Listener(port) => find_named(table, "listener", "port", |v| {
                    v.as_integer()
                        .is_some_and(|i| i.as_str() == port.to_string())
                }),
                PathSegment::Field(name) => table.and_then(|t| get(t, name)),
                PathSegment::Index(i) => current
                    .and_then(|v| v.get_ref().as_array())
                    .and_then(|a| a.get(*i)),
            };
            match next {
                Some(value) => {
                    best = Some(value.span().start);
                    current = Some(value);
                }
                None => break,
            }
        }
        best
    }
}

fn get<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// The element of array `array_key` in `table` whose `field` satisfies `matches`.
fn find_named<'a, 'i>(
    table: Option<&'a DeTable<'i>>,
    array_key: &str,
    field: &str,
    matches: impl Fn(&DeValue<'i>) -> bool,
) -> Option<&'a Spanned<DeValue<'i>>> {
    get(table?, array_key)?
        .get_ref()
        .as_array()?
        .iter()
        .find(|item| {
            item.get_ref()
                .as_table()
                .and_then(|t| get(t, field))
                .is_some_and(|v| matches(v.get_ref()))
        })
}

/// A listener naming a certificate ARN (its default, or one in `sni_certificates`) that a
/// state without certificates cannot know.
fn is_unknown_certificate(error: &burr_model::ValidationError) -> bool {
    matches!(
        error.path.leaf_field(),
        Some("certificate" | "sni_certificates" | "ViewerCertificate")
    ) && error.rule.starts_with("names no certificate")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> ConfigSource {
        ConfigSource::from_text(Path::new("burr.toml"), text.to_string())
    }

    const GOOD: &str = r#"
[[balancer]]
name = "web"

[[balancer.listener]]
port = 8080
protocol = "http"
pool = "app"

[[pool]]
name = "app"
targets = [ { address = "127.0.0.1:9001" }, { address = "127.0.0.1:9002", weight = 2 } ]
"#;

    /// A listener with rules and a default action, in the shape docs/configuration.md shows.
    pub(crate) const RULES: &str = r#"
[[balancer]]
name = "web"

[[balancer.listener]]
port = 8080
protocol = "http"
pool = "app"
default_action = { fixed_response = { status = 404, content_type = "text/plain", body = "no route" } }

[[balancer.listener.rule]]
priority = 10
conditions = [ { path_pattern = ["/api/*"] }, { http_header = { name = "X-Env", values = ["beta*"] } } ]
action = { forward = { pools = [ { pool = "app", weight = 90 }, { pool = "canary", weight = 10 } ], stickiness_secs = 3600 } }

[[balancer.listener.rule]]
priority = 20
conditions = [ { host_header = ["*.example.com"] }, { query_string = [ { key = "v", value = "2" } ] }, { source_ip = ["10.0.0.0/8", "2001:db8::/32"] }, { http_request_method = ["GET"] } ]
action = { redirect = { protocol = "HTTPS", port = "443", status = "HTTP_301" } }

[[balancer.listener.rule]]
priority = 30
conditions = [ { path_pattern = ["/old/*"] } ]
action = { forward = { pool = "app" } }

[[pool]]
name = "app"
targets = [ { address = "127.0.0.1:9001" } ]

[[pool]]
name = "canary"
targets = [ { address = "127.0.0.1:9002" } ]
"#;

    #[test]
    fn rules_load_and_round_trip_through_export() {
        let d = source(RULES).load(None).unwrap();
        let listener = &d.balancers[0].listeners[0];
        assert_eq!(listener.rules.len(), 3);
        assert!(listener.default_action.is_some());
        let mut state = State::default();
        state = state.with_file_objects(d.balancers.clone(), d.pools.clone(), d.aliases.clone());
        let text = render(&state).unwrap();
        assert!(text.contains("[[balancer.listener.rule]]"), "{text}");
        let again = source(&text).load(None).unwrap();
        assert_eq!(again.balancers, d.balancers, "{text}");
        assert_eq!(again.pools, d.pools);
    }

    #[test]
    fn rule_errors_point_at_their_lines() {
        let text = RULES
            .replace("priority = 20", "priority = 10")
            .replace("weight = 10 }", "weight = 1000 }")
            .replace("\"/old/*\"", "\"/old/*\", \"/a\", \"/b\", \"/c\"");
        let errors = source(&text).load(None).unwrap_err();
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(rendered.iter().any(|r| r.starts_with("burr.toml:14: ") && r.contains("rule[0].action.forward.pools[1].weight: 1000 is not allowed: must be between 0 and 999")), "{rendered:#?}");
        assert!(
            rendered.iter().any(|r| r.starts_with("burr.toml:17: ")
                && r.contains("rule[1].priority: 10")
                && r.contains("unique")),
            "{rendered:#?}"
        );
        assert!(
            rendered
                .iter()
                .any(|r| r.starts_with("burr.toml:23: ") && r.contains("4 values")),
            "{rendered:#?}"
        );
        let unknown = source(&RULES.replace("priority = 30", "priority = 30\nweight = 1"))
            .load(None)
            .unwrap_err();
        assert!(
            unknown[0].message.contains("unknown field `weight`"),
            "{unknown:?}"
        );
    }

    #[test]
    fn loads_a_good_file() {
        let d = source(GOOD).load(None).unwrap();
        assert_eq!(d.balancers[0].listeners[0].port, 8080);
        assert_eq!(d.pools[0].targets[1].weight, 2);
    }

    #[test]
    fn model_errors_point_at_their_lines() {
        let text = GOOD
            .replace("weight = 2", "weight = 2000")
            .replace("port = 8080", "port = 8080\nidle_timeout_secs = 0");
        let errors = source(&text).load(None).unwrap_err();
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(rendered.contains(&"burr.toml:13: pool \"app\".targets[1].weight: 2000 is not allowed: must be between 0 and 1000".to_string()), "{rendered:#?}");
        assert!(
            rendered
                .iter()
                .any(|r| r.starts_with("burr.toml:7: ") && r.contains("idle_timeout_secs: 0")),
            "{rendered:#?}"
        );
    }

    #[test]
    fn syntax_and_unknown_fields_point_at_lines() {
        let errors = source(&GOOD.replace("protocol = \"http\"", "protocl = \"http\""))
            .load(None)
            .unwrap_err();
        assert_eq!(errors[0].line, Some(7), "{}", errors[0]);
        assert!(errors[0].message.contains("protocl"), "{}", errors[0]);
        let errors = source("[[pool]\nname = 1").load(None).unwrap_err();
        assert_eq!(errors[0].line, Some(1), "{}", errors[0]);
    }

    #[test]
    fn unknown_pool_and_duplicate_names_are_reported() {
        let text = format!("{GOOD}\n[[pool]]\nname = \"app\"\n")
            .replace("pool = \"app\"", "pool = \"nope\"");
        let errors = source(&text).load(None).unwrap_err();
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            rendered.iter().any(|r| r.contains("declared twice")),
            "{rendered:#?}"
        );
        assert!(
            rendered
                .iter()
                .any(|r| r.starts_with("burr.toml:8:") && r.contains("\"nope\"")),
            "{rendered:#?}"
        );
    }

    #[test]
    fn unreadable_certificate_is_named() {
        let text = GOOD.replace("protocol = \"http\"", "protocol = \"https\"\ntls = { certificate = \"missing.pem\", private_key = \"missing.key\" }");
        let errors = source(&text).load(None).unwrap_err();
        assert!(
            errors[0].message.contains("cannot read certificate"),
            "{}",
            errors[0]
        );
        assert_eq!(errors[0].line, Some(8), "{}", errors[0]);
    }

    #[test]
    fn a_listener_may_name_a_certificate_arn_which_the_running_state_must_hold() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        let text = GOOD.replace(
            "protocol = \"http\"",
            &format!("protocol = \"https\"\ncertificate = \"{arn}\""),
        );
        let declared = source(&text).load(None).unwrap();
        assert_eq!(
            declared.balancers[0].listeners[0].certificate.as_deref(),
            Some(arn)
        );
        // Applied to a state without that certificate, the model refuses it by name.
        let state = State::default().with_file_objects(declared.balancers, declared.pools, vec![]);
        let errors = state.validate(None).unwrap_err();
        assert!(
            errors[0].rule.starts_with("names no certificate"),
            "{}",
            errors[0]
        );
        // Both tls files and an ARN is refused in the file itself.
        let both = text.replace(
            "certificate = \"arn",
            "tls = { certificate = \"c.pem\", private_key = \"k.pem\" }\ncertificate = \"arn",
        );
        let errors = source(&both).load_text(None).unwrap().1;
        assert!(
            errors.iter().any(|e| e.message.contains("not both")),
            "{errors:#?}"
        );
    }
}
