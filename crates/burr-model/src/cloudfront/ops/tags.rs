//! Distribution tags (`TagResource`, `UntagResource`): at most [`MAX_TAGS`], keys 1–128 and
//! values 0–256 characters of letters, digits, spaces and `_ . : / = + - @` (the model's
//! `TagKey`/`TagValue`), else `InvalidTagging` 400.

use crate::State;
use crate::cloudfront::{CfError, CfErrorCode};
use std::collections::BTreeMap;

/// Most tags on one distribution.
pub const MAX_TAGS: usize = 50;

fn tagging(message: String) -> CfError {
    CfError::new(CfErrorCode::InvalidTagging, message)
}

fn allowed(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

pub(crate) fn check_key(key: &str) -> Result<(), CfError> {
    let len = key.chars().count();
    if !(1..=128).contains(&len) || !allowed(key) {
        return Err(tagging(format!(
            "Tag key {key:?} is not allowed: must be 1 to 128 letters, digits, spaces and _ . : \
             / = + - @"
        )));
    }
    Ok(())
}

pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), CfError> {
    if tags.len() > MAX_TAGS {
        return Err(tagging(format!(
            "{} tags are not allowed: a distribution has at most {MAX_TAGS}",
            tags.len()
        )));
    }
    for (key, value) in tags {
        check_key(key)?;
        if value.chars().count() > 256 || !allowed(value) {
            return Err(tagging(format!(
                "Tag value {value:?} (key {key:?}) is not allowed: must be 0 to 256 letters, \
                 digits, spaces and _ . : / = + - @"
            )));
        }
    }
    Ok(())
}

fn no_such_resource(id: &str) -> CfError {
    CfError::new(
        CfErrorCode::NoSuchResource,
        format!("The specified resource (distribution {id:?}) does not exist."),
    )
}

/// `TagResource` on a distribution: adds or replaces tags.
pub fn tag_distribution(
    state: &mut State,
    id: &str,
    tags: BTreeMap<String, String>,
) -> Result<(), CfError> {
    let dist = state
        .distributions
        .get_mut(id)
        .ok_or_else(|| no_such_resource(id))?;
    let mut next = dist.tags.clone();
    next.extend(tags);
    check_tags(&next)?;
    dist.tags = next;
    Ok(())
}

/// `UntagResource` on a distribution: removes the keys (absent keys are no error).
pub fn untag_distribution(state: &mut State, id: &str, keys: &[String]) -> Result<(), CfError> {
    for key in keys {
        check_key(key)?;
    }
    let dist = state
        .distributions
        .get_mut(id)
        .ok_or_else(|| no_such_resource(id))?;
    for key in keys {
        dist.tags.remove(key);
    }
    Ok(())
}
