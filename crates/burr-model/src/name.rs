//! Names of balancers and pools, following the AWS rules so both front doors agree.

use crate::error::{FieldPath, ValidationError};

/// Longest name AWS accepts for a load balancer or target group.
pub const MAX_NAME_LEN: usize = 32;

/// Longest pool name: room for a balancer name and a port (`<balancer>-<port>`, the pool a
/// listener made through the AWS API forwards to).
pub const MAX_POOL_NAME_LEN: usize = MAX_NAME_LEN + 6;

/// Checks a balancer name: 1–32 characters, ASCII letters, digits and hyphens, neither starting
/// nor ending with a hyphen (the Classic ELB and ALB rule), after an optional `<region>/` (a
/// balancer of another region than the home one, see [`crate::region`]).
pub fn validate_name(path: FieldPath, name: &str) -> Result<(), ValidationError> {
    validate_qualified(path, name, MAX_NAME_LEN)
}

/// Checks a pool name: the balancer rule, up to `MAX_POOL_NAME_LEN` (38) characters.
pub fn validate_pool_name(path: FieldPath, name: &str) -> Result<(), ValidationError> {
    validate_qualified(path, name, MAX_POOL_NAME_LEN)
}

fn validate_qualified(path: FieldPath, name: &str, max: usize) -> Result<(), ValidationError> {
    if let Some((region, _)) = name.split_once('/') {
        crate::region::validate_region(path.clone(), region)?;
    }
    validate_name_up_to(path, crate::region::local_name(name), max)
}

fn validate_name_up_to(path: FieldPath, name: &str, max: usize) -> Result<(), ValidationError> {
    let quoted = format!("{name:?}");
    if name.is_empty() || name.len() > max {
        return Err(ValidationError::new(
            path,
            quoted,
            format!("must be 1 to {max} characters long"),
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ValidationError::new(
            path,
            quoted,
            "may contain only ASCII letters, digits and hyphens",
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(ValidationError::new(
            path,
            quoted,
            "must not begin or end with a hyphen",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_aws_style_names() {
        for ok in ["a", "my-load-balancer", "A1-b2", &"x".repeat(32)] {
            assert!(validate_name(FieldPath::root(), ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        for (bad, why) in [
            ("", "1 to 32"),
            (&"x".repeat(33), "1 to 32"),
            ("-web", "hyphen"),
            ("web-", "hyphen"),
            ("web_1", "letters, digits"),
            ("wéb", "letters, digits"),
        ] {
            let err = validate_name(FieldPath::root().field("name"), bad).unwrap_err();
            assert!(err.rule.contains(why), "{bad}: {err}");
            assert!(err.to_string().starts_with("name: "), "{err}");
        }
    }
}
