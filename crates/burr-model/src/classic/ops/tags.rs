//! Tags on balancers.

use super::*;

/// `AddTags` (and the tags of `CreateLoadBalancer`): every balancer must exist; a key given
/// twice is refused; an existing key takes the new value.
pub fn add_tags(
    state: &mut State,
    names: &[String],
    tags: &[(String, String)],
) -> Result<(), ClassicError> {
    for (i, (key, value)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(ClassicError::new(
                ErrorCode::DuplicateTagKeys,
                format!("Tags: the key {key:?} is given more than once"),
            ));
        }
        if let Err((field, rule)) = super::super::check_tag(key, value) {
            let shown = if field == "Key" { key } else { value };
            return Err(ClassicError::invalid(format!(
                "Tags.{field}: {shown:?} is not allowed: {rule}"
            )));
        }
    }
    for name in names {
        let b = balancer(state, name)?;
        let count = b.aws.tags.len()
            + tags
                .iter()
                .filter(|(k, _)| !b.aws.tags.contains_key(k))
                .count();
        if count > MAX_TAGS {
            return Err(ClassicError::new(
                ErrorCode::TooManyTags,
                format!(
                    "load balancer '{shown}' would have {count} tags; at most {MAX_TAGS}",
                    shown = crate::region::local_name(name)
                ),
            ));
        }
    }
    for name in names {
        let b = balancer_mut(state, name)?;
        for (key, value) in tags {
            b.aws.tags.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

/// `RemoveTags`: keys that are not set are ignored.
pub fn remove_tags(
    state: &mut State,
    names: &[String],
    keys: &[String],
) -> Result<(), ClassicError> {
    for name in names {
        let b = balancer_mut(state, name)?;
        for key in keys {
            b.aws.tags.remove(key);
        }
    }
    Ok(())
}
