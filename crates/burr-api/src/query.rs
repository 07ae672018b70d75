//! The query protocol's parameters: `application/x-www-form-urlencoded` pairs from the body (and
//! the URL query of a GET), with lists as `Name.member.N` (N from 1) and structures as dotted
//! paths (`HealthCheck.Interval`). An empty list is sent as a bare `Name=`.
//!
//! A name may appear once. The signature covers the query sorted by name and value, so a repeated
//! name would let anyone reorder a signed request and change which value wins; SDKs never repeat
//! one, so a repeat is refused rather than resolved.

use crate::error::ApiError;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Bound;

/// Most parameters one request may carry. The largest Classic ELB requests (a balancer's
/// listeners, a few hundred instances, tags) use a few hundred; the cap bounds the work a request
/// within the body size limit can cause.
pub const MAX_PARAMETERS: usize = 10_000;

/// The decoded parameters of one request, or of one structure within it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub(crate) values: BTreeMap<String, String>,
}

impl Params {
    /// Decodes the URL query and the form body (`+` is a space), together. A name given more
    /// than once (in the query, in the body, or in both, however it is escaped) and more than
    /// [`MAX_PARAMETERS`] parameters are each a `ValidationError`.
    pub fn decode(query: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        // The first name seen twice, and how many times it came.
        let mut repeated: Option<(String, usize)> = None;
        let pairs = form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(body));
        for (count, (name, value)) in pairs.enumerate() {
            if count == MAX_PARAMETERS {
                return Err(ApiError::invalid(format!(
                    "The request has more than {MAX_PARAMETERS} parameters; burr accepts at \
                     most {MAX_PARAMETERS}"
                )));
            }
            match values.entry(name.into_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(value.into_owned());
                }
                Entry::Occupied(slot) => match &mut repeated {
                    Some((first, times)) if first == slot.key() => *times += 1,
                    Some(_) => {}
                    None => repeated = Some((slot.key().clone(), 2)),
                },
            }
        }
        match repeated {
            Some((name, times)) => Err(ApiError::invalid(format!(
                "{name}: given {times} times; each parameter may appear once"
            ))),
            None => Ok(Self { values }),
        }
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
                .under(&head)
                .map(|(k, v)| (k[head.len()..].to_string(), v.clone()))
                .collect(),
        }
    }

    /// Whether any parameter sits under `prefix.`.
    pub fn has_scope(&self, prefix: &str) -> bool {
        self.under(&format!("{prefix}.")).next().is_some()
    }

    /// The list of structures `name.member.N.*`, up to the first gap.
    pub fn structures(&self, name: &str) -> Vec<Params> {
        (1..)
            .map(|i| self.scope(&format!("{name}.member.{i}")))
            .take_while(|p| !p.values.is_empty())
            .collect()
    }

    /// `Tags.member.N.{Key,Value}` (a missing value is empty), as the ELB APIs send tags.
    pub fn tags(&self) -> Result<Vec<(String, String)>, ApiError> {
        self.structures("Tags")
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let key = t
                    .get("Key")
                    .ok_or_else(|| ApiError::missing(&format!("Tags.member.{}.Key", i + 1)))?;
                Ok((
                    key.to_string(),
                    t.get("Value").unwrap_or_default().to_string(),
                ))
            })
            .collect()
    }

    /// The parameters whose names start with `head`: a range of the sorted map, so a scope
    /// costs its own size (plus a lookup) rather than a pass over every parameter, and
    /// `structures` stays linear in the request.
    fn under<'a>(&'a self, head: &'a str) -> impl Iterator<Item = (&'a String, &'a String)> {
        self.values
            .range::<str, _>((Bound::Included(head), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(head))
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
        )
        .unwrap();
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
        let p = Params::decode("", b"PageSize=ten&Enabled=yes").unwrap();
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

    fn refusal(query: &str, body: &str) -> (&'static str, u16, String) {
        let error = Params::decode(query, body.as_bytes()).unwrap_err();
        (error.code, error.status, error.message)
    }

    #[test]
    fn a_name_given_twice_is_refused_wherever_it_comes() {
        let twice = |name: &str| {
            (
                "ValidationError",
                400,
                format!("{name}: given 2 times; each parameter may appear once"),
            )
        };
        let action = twice("Action");
        // In the query, in the body, in both, and escaped differently.
        assert_eq!(refusal("Action=A&Version=1&Action=B", ""), action);
        assert_eq!(refusal("", "Action=A&Version=1&Action=B"), action);
        assert_eq!(refusal("Action=A", "Version=1&Action=B"), action);
        assert_eq!(refusal("Acti%6Fn=A", "Action=A"), action);
        // The same value twice is still twice; an empty value counts too.
        assert_eq!(refusal("", "Action=A&Action=A"), action);
        assert_eq!(
            refusal("", "PolicyNames=&PolicyNames.member.1=a&PolicyNames="),
            twice("PolicyNames")
        );
        // The order does not change the answer, so reordering a signed query cannot either.
        assert_eq!(refusal("Action=B&Action=A", ""), action);
        // The first name seen again is named, with every time it came.
        let (_, _, message) = refusal("", "Version=1&Action=A&Action=B&Action=C&Version=2");
        assert_eq!(
            message,
            "Action: given 3 times; each parameter may appear once"
        );
    }

    #[test]
    fn distinct_names_that_share_a_prefix_are_not_repeats() {
        let p = Params::decode("Action=A", b"Action.x=1&ActionX=2&action=3").unwrap();
        assert_eq!(
            (p.get("Action"), p.get("Action.x"), p.get("action")),
            (Some("A"), Some("1"), Some("3"))
        );
    }

    #[test]
    fn more_than_the_parameter_limit_is_refused() {
        let body = |n: usize| -> String {
            (0..n)
                .map(|i| format!("P{i}=v"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let p = Params::decode("", body(MAX_PARAMETERS).as_bytes()).unwrap();
        assert_eq!(p.get("P9999"), Some("v"));
        let (code, status, message) = refusal("Action=A", &body(MAX_PARAMETERS));
        assert_eq!((code, status), ("ValidationError", 400));
        assert!(message.contains("more than 10000 parameters"), "{message}");
    }

    #[test]
    fn scopes_take_exactly_the_names_under_their_prefix() {
        let p = Params::decode(
            "",
            b"Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.10.Key=j&Tags.member.1=x\
              &Tags.member.1-x.Key=y&Tags.member.2.Key=b&Tags.member.2.Value=2&Tagsmember.3.Key=c\
              &Tags.member.3=bare",
        )
        .unwrap();
        let one = p.scope("Tags.member.1");
        assert_eq!((one.get("Key"), one.get("Value")), (Some("a"), Some("1")));
        assert_eq!(one.values.len(), 2);
        let tags: Vec<String> = p
            .structures("Tags")
            .iter()
            .map(|t| t.get("Key").unwrap_or_default().to_owned())
            .collect();
        // `Tags.member.3` has no field, so the list ends at 2.
        assert_eq!(tags, ["a", "b"]);
        assert!(p.has_scope("Tags.member.10") && p.has_scope("Tags"));
        assert!(!p.has_scope("Tags.member.3") && !p.has_scope("Tag"));
        assert!(p.scope("Nothing").values.is_empty());
    }

    /// `structures` once scanned every parameter for each structure: 10 000 structures made
    /// 10^8 string comparisons. With range lookups they cost one pass.
    #[test]
    fn many_structures_are_read_in_linear_time() {
        let body: Vec<String> = (1..=MAX_PARAMETERS)
            .map(|i| format!("Instances.member.{i}.InstanceId=10.0.0.1"))
            .collect();
        let p = Params::decode("", body.join("&").as_bytes()).unwrap();
        let started = std::time::Instant::now();
        let instances = p.structures("Instances");
        let elapsed = started.elapsed();
        assert_eq!(instances.len(), MAX_PARAMETERS);
        assert!(
            elapsed < std::time::Duration::from_secs(2),
            "{MAX_PARAMETERS} structures took {elapsed:?}"
        );
    }
}
