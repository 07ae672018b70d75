//! The CloudFront tables of the configuration file, `[[distribution]]` and
//! `[[deployment_policy]]`, and their translation to and from the model. What the file may omit
//! is filled in here: a distribution's `domain_name` is its address as text (or
//! `<id>.cloudfront.localhost` without one), a missing `etag` is derived from a hash of the
//! object (so it changes when the object does), `last_modified_ms` defaults to 0. Every rule on
//! the values belongs to `burr_model::cloudfront`.

use burr_model::cloudfront::{
    DeploymentPolicy, Distribution, FrontEndPorts, Node, TrafficConfig, derived_etag,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A `[[distribution]]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDistribution {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<IpAddr>,
    #[serde(default)]
    ports: FrontEndPorts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    config: Node,
}

/// A `[[deployment_policy]]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePolicy {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    last_modified_ms: u64,
    staging_dns_names: Vec<String>,
    enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traffic: Option<TrafficConfig>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arm_header: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    forward_routing_header: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// The etag a file object without one gets: a hash of the object as written.
fn etag_of<T: Serialize>(object: &T) -> String {
    derived_etag(&toml::to_string(object).unwrap_or_default())
}

impl FileDistribution {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn into_model(self) -> Distribution {
        let etag = match &self.etag {
            Some(etag) => etag.clone(),
            None => etag_of(&self),
        };
        let domain_name = self.domain_name.unwrap_or_else(|| match self.address {
            Some(address) => address.to_string(),
            None => format!("{}.cloudfront.localhost", self.id.to_ascii_lowercase()),
        });
        Distribution {
            id: self.id,
            domain_name,
            address: self.address,
            ports: self.ports,
            etag,
            last_modified_ms: self.last_modified_ms,
            config: self.config,
            tags: self.tags,
            origin: burr_model::Origin::File,
        }
    }

    pub(super) fn from_model(d: &Distribution) -> Self {
        Self {
            id: d.id.clone(),
            domain_name: Some(d.domain_name.clone()),
            address: d.address,
            ports: d.ports,
            etag: Some(d.etag.clone()),
            last_modified_ms: d.last_modified_ms,
            tags: d.tags.clone(),
            config: d.config.clone(),
        }
    }
}

impl FilePolicy {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn into_model(self) -> DeploymentPolicy {
        let etag = match &self.etag {
            Some(etag) => etag.clone(),
            None => etag_of(&self),
        };
        DeploymentPolicy {
            id: self.id,
            etag,
            last_modified_ms: self.last_modified_ms,
            staging_dns_names: self.staging_dns_names,
            enabled: self.enabled,
            traffic: self.traffic,
            generation: self.generation,
            arm_header: self.arm_header,
            forward_routing_header: self.forward_routing_header,
            origin: burr_model::Origin::File,
        }
    }

    pub(super) fn from_model(p: &DeploymentPolicy) -> Self {
        Self {
            id: p.id.clone(),
            etag: Some(p.etag.clone()),
            last_modified_ms: p.last_modified_ms,
            staging_dns_names: p.staging_dns_names.clone(),
            enabled: p.enabled,
            traffic: p.traffic.clone(),
            generation: p.generation,
            arm_header: p.arm_header.clone(),
            forward_routing_header: p.forward_routing_header,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigSource, render};
    use burr_model::State;
    use burr_model::cloudfront::TrafficConfig;
    use std::path::Path;

    fn source(text: &str) -> ConfigSource {
        ConfigSource::from_text(Path::new("burr.toml"), text.to_string())
    }

    /// The example of the issue-16 brief, completed with the staging distribution the policy
    /// names.
    pub(crate) const EXAMPLE: &str = r#"
[[distribution]]
id = "EDFDVBD6EXAMPLE"
address = "127.0.0.21"
ports = { http = 18080, https = 18443 }
[distribution.config]
CallerReference = "shop-1"
Enabled = true
Comment = ""
ContinuousDeploymentPolicyId = "9c1e2c4e-0000-4000-8000-000000000001"
[distribution.config.Origins]
Quantity = 1
Items = [ { Id = "web", DomainName = "127.0.0.1", CustomOriginConfig = { HTTPPort = 9001, HTTPSPort = 443, OriginProtocolPolicy = "http-only" } } ]
[distribution.config.DefaultCacheBehavior]
TargetOriginId = "web"
ViewerProtocolPolicy = "allow-all"

[[distribution]]
id = "ESTAGING0EXAMP"
address = "127.0.0.22"
ports = { http = 18080, https = 18443 }
[distribution.config]
CallerReference = "shop-1-staging"
Enabled = true
Staging = true
Comment = ""
[distribution.config.Origins]
Quantity = 1
Items = [ { Id = "web", DomainName = "127.0.0.1", CustomOriginConfig = { HTTPPort = 9002, HTTPSPort = 443, OriginProtocolPolicy = "http-only" } } ]
[distribution.config.DefaultCacheBehavior]
TargetOriginId = "web"
ViewerProtocolPolicy = "allow-all"

[[deployment_policy]]
id = "9c1e2c4e-0000-4000-8000-000000000001"
staging_dns_names = ["127.0.0.22"]
enabled = true
traffic = { single_weight = { weight = 0.05, session_stickiness = { idle_ttl_secs = 300, maximum_ttl_secs = 600 } } }
arm_header = "x-burr-arm"
"#;

    #[test]
    fn the_example_loads_validates_exports_and_reloads_equal() {
        let declared = source(EXAMPLE).load(None).unwrap();
        assert_eq!(declared.distributions.len(), 2);
        let primary = &declared.distributions[0];
        assert_eq!(primary.domain_name, "127.0.0.21");
        assert!(primary.enabled(), "TOML true reads as the text true");
        assert_eq!(primary.etag.len(), 14, "derived etag {:?}", primary.etag);
        let policy = &declared.policies[0];
        assert!(matches!(
            policy.traffic,
            Some(TrafficConfig::SingleWeight {
                session_stickiness: Some(_),
                ..
            })
        ));
        let state = declared.apply_to(&State::default());
        assert_eq!(state.validate(None), Ok(()));
        let fronts = burr_model::cloudfront::front_ends(&state);
        assert_eq!(fronts.balancers.len(), 1);
        assert_eq!(fronts.splits.len(), 1);
        let text = render(&state).unwrap();
        let again = source(&text).load(None).unwrap();
        assert_eq!(again, declared, "{text}");
    }

    #[test]
    fn a_changed_object_gets_another_derived_etag_and_errors_point_at_tables() {
        let declared = source(EXAMPLE).load(None).unwrap();
        let changed = source(&EXAMPLE.replace("weight = 0.05", "weight = 0.1"))
            .load(None)
            .unwrap();
        assert_ne!(declared.policies[0].etag, changed.policies[0].etag);
        assert_eq!(declared.distributions, changed.distributions);
        let errors = source(&EXAMPLE.replace("weight = 0.05", "weight = 0.5"))
            .load(None)
            .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.starts_with("burr.toml:38: ")
                && t.contains(
                    "traffic: 0.5 is not allowed: must be a decimal number between 0 and 0.15"
                )),
            "{text:#?}"
        );
        let errors = source(&EXAMPLE.replace("HTTPPort = 9002", "HTTPPort = 0"))
            .load(None)
            .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.starts_with("burr.toml:22: ")
                && t.contains("HTTPPort")
                && t.contains("between 1 and 65535")),
            "{text:#?}"
        );
    }

    #[test]
    fn a_balancer_on_the_same_port_clashes_with_a_distribution() {
        let text = format!(
            "{EXAMPLE}\n[[balancer]]\nname = \"web\"\n[[balancer.listener]]\nport = 18080\n\
             protocol = \"http\"\npool = \"app\"\n[[pool]]\nname = \"app\"\n\
             targets = [ {{ address = \"127.0.0.1:9001\" }} ]\n"
        );
        let errors = source(&text).load(None).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains("port 18080")
                && e.message.contains("already used by balancer")),
            "{errors:#?}"
        );
    }
}
