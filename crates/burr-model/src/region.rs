//! Regions as namespaces. On AWS every region holds its own balancers, certificates and tags, so
//! two regions may each have a balancer called `web`. burr keeps one state for all of them: a
//! balancer of the home region ([`HOME_REGION`], where balancers declared in TOML live too) is
//! stored under its plain name, and a balancer of any other region under `<region>/<name>`
//! (a `/` never appears in an AWS name, so the two cannot collide). Its pools follow
//! (`<region>/<name>-<port>`). The API names the region by the one in the request's signing
//! scope and shows clients the plain name; listener addresses and ports stay one machine-wide
//! resource whatever the region.

use crate::error::{FieldPath, ValidationError};

/// The region whose objects keep their plain names: AWS's default region.
pub const HOME_REGION: &str = "us-east-1";

/// Longest region name burr accepts (AWS's longest today is 14 characters).
pub const MAX_REGION_LEN: usize = 32;

/// The key of object `name` of `region`: the plain name in the home region, else
/// `<region>/<name>`.
pub fn qualified(region: &str, name: &str) -> String {
    if region == HOME_REGION {
        name.to_string()
    } else {
        format!("{region}/{name}")
    }
}

/// The region and the plain name of a key made by [`qualified`].
pub fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or((HOME_REGION, key))
}

/// The plain name of a key: what clients of its region call it.
pub fn local_name(key: &str) -> &str {
    split(key).1
}

/// The region of a key.
pub fn region_of(key: &str) -> &str {
    split(key).0
}

/// Checks a region name: 1–32 lower-case ASCII letters, digits and hyphens, neither starting
/// nor ending with a hyphen (`us-east-1`, `eu-west-1`, `us-gov-west-1`, …).
pub fn validate_region(path: FieldPath, region: &str) -> Result<(), ValidationError> {
    let shaped = !region.is_empty()
        && region.len() <= MAX_REGION_LEN
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if shaped {
        Ok(())
    } else {
        Err(ValidationError::new(
            path,
            format!("{region:?}"),
            format!(
                "a region is 1 to {MAX_REGION_LEN} lower-case letters, digits and hyphens, \
                 not beginning or ending with a hyphen"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_region_names_stay_plain_and_others_are_qualified() {
        assert_eq!(qualified(HOME_REGION, "web"), "web");
        assert_eq!(qualified("eu-west-1", "web"), "eu-west-1/web");
        assert_eq!(split("eu-west-1/web"), ("eu-west-1", "web"));
        assert_eq!(split("web"), (HOME_REGION, "web"));
        assert_eq!(local_name("eu-west-1/web-80"), "web-80");
        assert_eq!(region_of("web"), HOME_REGION);
    }

    #[test]
    fn region_names_follow_the_aws_shape() {
        for ok in ["us-east-1", "eu-west-1", "us-gov-west-1", "local"] {
            assert!(validate_region(FieldPath::root(), ok).is_ok(), "{ok}");
        }
        for bad in ["", "EU-west-1", "-eu", "eu-", "eu west", &"a".repeat(33)] {
            assert!(validate_region(FieldPath::root(), bad).is_err(), "{bad:?}");
        }
    }
}
