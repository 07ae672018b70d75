//! Validation errors that name the field, the offending value and the allowed range.
//!
//! A [`FieldPath`] is built from named segments (`pool "web"`, `targets[2]`, `weight`) so each
//! front door can map it back to its own notion of place: a line in the TOML file, a parameter
//! name in an AWS API call.

use std::fmt;

/// One step in the path from the root of the configuration to a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A balancer, by name.
    Balancer(String),
    /// A listener of the enclosing balancer, by port.
    Listener(u16),
    /// A pool, by name.
    Pool(String),
    /// An instance alias, by name.
    Alias(String),
    /// A CloudFront distribution, by id.
    Distribution(String),
    /// A CloudFront continuous-deployment policy, by id.
    DeploymentPolicy(String),
    /// An element of a list field, by position (0-based).
    Index(usize),
    /// A plain field name, as spelled in the native configuration file.
    Field(&'static str),
}

/// Where in the configuration a value sits, e.g. `pool "web" › targets[2] › weight`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(pub Vec<PathSegment>);

impl FieldPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by one segment.
    pub fn with(&self, segment: PathSegment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        Self(segments)
    }

    pub fn field(&self, name: &'static str) -> Self {
        self.with(PathSegment::Field(name))
    }

    pub fn index(&self, i: usize) -> Self {
        self.with(PathSegment::Index(i))
    }

    /// The last plain field name on the path, e.g. `weight`.
    pub fn leaf_field(&self) -> Option<&'static str> {
        self.0.iter().rev().find_map(|s| match s {
            PathSegment::Field(f) => Some(*f),
            _ => None,
        })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            match segment {
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                other => {
                    if !first {
                        f.write_str(".")?;
                    }
                    match other {
                        PathSegment::Balancer(name) => write!(f, "balancer \"{name}\"")?,
                        PathSegment::Listener(port) => write!(f, "listener {port}")?,
                        PathSegment::Pool(name) => write!(f, "pool \"{name}\"")?,
                        PathSegment::Alias(name) => write!(f, "alias \"{name}\"")?,
                        PathSegment::Distribution(id) => write!(f, "distribution \"{id}\"")?,
                        PathSegment::DeploymentPolicy(id) => {
                            write!(f, "deployment_policy \"{id}\"")?
                        }
                        PathSegment::Field(name) => f.write_str(name)?,
                        PathSegment::Index(_) => unreachable!("handled above"),
                    }
                }
            }
            first = false;
        }
        Ok(())
    }
}

/// A rejected value: which field, what was given, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {value} is not allowed: {rule}")]
pub struct ValidationError {
    pub path: FieldPath,
    /// The offending value as the user wrote it (quoted if it is a string).
    pub value: String,
    /// The rule or allowed range, e.g. `must be between 1 and 3600 seconds`.
    pub rule: String,
}

impl ValidationError {
    pub fn new(path: FieldPath, value: impl fmt::Display, rule: impl Into<String>) -> Self {
        Self {
            path,
            value: value.to_string(),
            rule: rule.into(),
        }
    }

    /// The error as an API states it: `<parameter>: <value> is not allowed: <rule>`, with the
    /// model's field names replaced by the API's through `names` (model field, API parameter)
    /// in the parameter and in the rule; a field without a name keeps its model path.
    pub fn in_terms_of(&self, names: &[(&str, &str)]) -> String {
        let leaf = self.path.leaf_field().unwrap_or("");
        let name = names
            .iter()
            .find(|(field, _)| *field == leaf)
            .map_or_else(|| self.path.to_string(), |(_, api)| api.to_string());
        let mut rule = self.rule.clone();
        for (field, api) in names {
            rule = rule.replace(field, api);
        }
        format!("{name}: {} is not allowed: {rule}", self.value)
    }
}

/// Collects errors while validating so that every problem is reported, not just the first.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<ValidationError>);

impl Errors {
    pub fn push(&mut self, path: FieldPath, value: impl fmt::Display, rule: impl Into<String>) {
        self.0.push(ValidationError::new(path, value, rule));
    }

    /// Checks `lo <= value <= hi`, naming the unit in the message.
    pub fn range<T>(&mut self, path: FieldPath, value: T, lo: T, hi: T, unit: &str)
    where
        T: PartialOrd + fmt::Display + Copy,
    {
        if value < lo || value > hi {
            let unit = if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            };
            self.push(path, value, format!("must be between {lo} and {hi}{unit}"));
        }
    }
}
