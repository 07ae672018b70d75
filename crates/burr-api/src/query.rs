//! The query protocol's parameters: `application/x-www-form-urlencoded` pairs from the body (and
//! the URL query of a GET), with lists as `Name.member.N` (N from 1) and structures as dotted
//! paths (`HealthCheck.Interval`). An empty list is sent as a bare `Name=`.

use crate::error::ApiError;
use std::collections::BTreeMap;

/// The decoded parameters of one request, or of one structure within it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Decodes the URL query and the form body (`+` is a space); a body value wins over a
    /// query value of the same name.
    pub fn decode(query: &str, body: &[u8]) -> Self {
        let mut values = BTreeMap::new();
        for source in [query.as_bytes(), body] {
            for (k, v) in form_urlencoded::parse(source) {
                values.insert(k.into_owned(), v.into_owned());
            }
        }
        Self { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An integer parameter, if present.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::invalid(format!("{name}: {v:?} is not allowed: must be an integer"))
                })
            })
            .transpose()
    }

    pub fn required_int(&self, name: &str) -> Result<i64, ApiError> {
        self.int(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean parameter (`true`/`false`, any case), if present.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::invalid(format!(
                    "{name}: {v:?} is not allowed: must be true or false"
                ))),
            })
            .transpose()
    }

    /// The list `name.member.1`, `name.member.2`, … up to the first gap.
    pub fn list(&self, name: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.get(&format!("{name}.member.{i}")).map(str::to_string))
            .collect()
    }

    /// The structure under `prefix.`: its fields, with the prefix removed.
    pub fn scope(&self, prefix: &str) -> Params {
        let head = format!("{prefix}.");
        Params {
            values: self
                .values
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&head)
                        .map(|rest| (rest.to_string(), v.clone()))
                })
                .collect(),
        }
    }

    /// Whether any parameter sits under `prefix.`.
    pub fn has_scope(&self, prefix: &str) -> bool {
        let head = format!("{prefix}.");
        self.values.keys().any(|k| k.starts_with(&head))
    }

    /// The list of structures `name.member.N.*`, up to the first gap.
    pub fn structures(&self, name: &str) -> Vec<Params> {
        (1..)
            .map(|i| self.scope(&format!("{name}.member.{i}")))
            .take_while(|p| !p.values.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_structures_and_plus_as_space() {
        let p = Params::decode(
            "Action=X",
            b"Instances.member.1.InstanceId=10.0.0.1&Instances.member.2.InstanceId=10.0.0.2\
              &PolicyNames=&Names.member.1=a+b&Names.member.3=gap&HealthCheck.Interval=30",
        );
        assert_eq!(p.get("Action"), Some("X"));
        assert_eq!(p.list("Names"), ["a b"]);
        assert!(p.list("PolicyNames").is_empty());
        assert_eq!(p.get("PolicyNames"), Some(""));
        let instances = p.structures("Instances");
        assert_eq!(instances.len(), 2);
        assert_eq!(instances[1].get("InstanceId"), Some("10.0.0.2"));
        assert_eq!(p.scope("HealthCheck").int("Interval"), Ok(Some(30)));
    }

    #[test]
    fn bad_numbers_and_booleans_name_the_parameter() {
        let p = Params::decode("", b"PageSize=ten&Enabled=yes");
        assert!(
            p.int("PageSize")
                .unwrap_err()
                .message
                .starts_with("PageSize: \"ten\"")
        );
        assert!(
            p.bool("Enabled")
                .unwrap_err()
                .message
                .contains("true or false")
        );
        assert_eq!(p.required("Nope").unwrap_err().code, "MissingParameter");
    }
}
