//! The distribution operations (`/2020-05-31/distribution`): create (with or without tags),
//! get, get-config, update, delete, list, copy (the staging copy: headers `Staging`, `If-Match`)
//! and promote (`promote-staging-config?StagingDistributionId=`, `If-Match: <primary>,
//! <staging>`).

use super::request::Request;
use super::{Reply, body, change, context, document, output, paging};
use crate::control::ControlPlane;
use crate::error::ApiError;
use burr_model::cloudfront::{self as cf, CfError, Distribution, Node};
use std::collections::BTreeMap;

const CONFIG: &str = "DistributionConfig";

fn answer(c: &dyn ControlPlane, d: &Distribution) -> Vec<u8> {
    document::render("Distribution", "Distribution", &output::distribution(c, d))
}

fn created(c: &dyn ControlPlane, state: &burr_model::State, id: &str) -> Result<Reply, ApiError> {
    let d = cf::distribution(state, id)?;
    Ok(Reply::created(
        answer(c, d),
        &d.etag,
        format!("distribution/{id}"),
    ))
}

pub(crate) fn create(
    c: &dyn ControlPlane,
    r: &Request<'_>,
    with_tags: bool,
) -> Result<Reply, ApiError> {
    let (config, tags) = if with_tags {
        let root = "DistributionConfigWithTags";
        let node = document::parse(root, body(r, root)?).map_err(|e| {
            // The schema names the member; one under Tags is a tagging refusal.
            if e.message.starts_with("Tags") {
                super::tags::as_tagging(e)
            } else {
                e
            }
        })?;
        let tags = output::tag_map(node.get("Tags"));
        let config = node
            .get(CONFIG)
            .cloned()
            .ok_or_else(|| CfError::invalid(format!("{root}: the {CONFIG} member is required")))?;
        (config, tags)
    } else {
        (document::parse(CONFIG, body(r, CONFIG)?)?, BTreeMap::new())
    };
    let ctx = context(c);
    let (id, state) = change(c, |s| {
        cf::create_distribution(s, &config, tags.clone(), &ctx)
    })?;
    created(c, &state, &id)
}

pub(crate) fn get(c: &dyn ControlPlane, id: &str) -> Result<Reply, ApiError> {
    let state = c.state();
    let d = cf::distribution(&state, id)?;
    Ok(Reply::ok(answer(c, d), Some(&d.etag)))
}

pub(crate) fn get_config(c: &dyn ControlPlane, id: &str) -> Result<Reply, ApiError> {
    let state = c.state();
    let d = cf::distribution(&state, id)?;
    let config = output::config_as_answered(&d.config);
    Ok(Reply::ok(
        document::render(CONFIG, CONFIG, &config),
        Some(&d.etag),
    ))
}

pub(crate) fn update(c: &dyn ControlPlane, r: &Request<'_>, id: &str) -> Result<Reply, ApiError> {
    let config = document::parse(CONFIG, body(r, CONFIG)?)?;
    let ctx = context(c);
    let if_match = r.if_match();
    let ((), state) = change(c, |s| {
        cf::update_distribution(s, id, if_match, &config, &ctx)
    })?;
    let d = cf::distribution(&state, id)?;
    Ok(Reply::ok(answer(c, d), Some(&d.etag)))
}

pub(crate) fn delete(c: &dyn ControlPlane, r: &Request<'_>, id: &str) -> Result<Reply, ApiError> {
    let if_match = r.if_match();
    change(c, |s| cf::delete_distribution(s, id, if_match))?;
    Ok(Reply::no_content())
}

pub(crate) fn list(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let (marker, max_items) = paging(r)?;
    let state = c.state();
    let (page, next) = cf::list_distributions(&state, marker, max_items);
    let items: Vec<Node> = page.iter().map(|d| output::summary(c, d)).collect();
    let mut list = output::structure([
        ("Marker", output::text(marker.unwrap_or_default())),
        ("MaxItems", output::text(max_items.to_string())),
        ("IsTruncated", output::text(next.is_some().to_string())),
        ("Quantity", output::text(items.len().to_string())),
    ]);
    if !items.is_empty() {
        list.set("Items", Node::List(items));
    }
    if let Some(next) = next {
        list.set("NextMarker", output::text(next));
    }
    Ok(Reply::ok(
        document::render("DistributionList", "DistributionList", &list),
        None,
    ))
}

/// A boolean header (`Staging`): `true` in any case is true; absent is false; anything else
/// is refused naming the header.
fn flag_header(r: &Request<'_>, name: &str) -> Result<bool, CfError> {
    match r.header(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(CfError::invalid(format!(
            "{name}: {v:?} is not allowed: must be true or false"
        ))),
    }
}

pub(crate) fn copy(
    c: &dyn ControlPlane,
    r: &Request<'_>,
    primary: &str,
) -> Result<Reply, ApiError> {
    let root = "CopyDistributionRequest";
    let request = document::parse(root, body(r, root)?)?;
    let staging = flag_header(r, "Staging")?;
    let caller_reference = request
        .text_at(&["CallerReference"])
        .ok_or_else(|| CfError::invalid(format!("{root}: CallerReference is required")))?
        .to_string();
    let enabled = request.text_at(&["Enabled"]).map(|v| v == "true");
    let if_match = r.if_match();
    let ctx = context(c);
    let (id, state) = change(c, |s| {
        cf::copy_distribution(
            s,
            primary,
            if_match,
            staging,
            &caller_reference,
            enabled,
            &ctx,
        )
    })?;
    created(c, &state, &id)
}

pub(crate) fn promote(
    c: &dyn ControlPlane,
    r: &Request<'_>,
    primary: &str,
) -> Result<Reply, ApiError> {
    let staging = r
        .query("StagingDistributionId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            CfError::invalid(
                "StagingDistributionId: the query parameter is required: the id of the staging \
                 distribution whose configuration the primary takes",
            )
        })?;
    let if_match = r.if_match();
    let ctx = context(c);
    let ((), state) = change(c, |s| {
        cf::promote_staging(s, primary, staging, if_match, &ctx)
    })?;
    let d = cf::distribution(&state, primary)?;
    Ok(Reply::ok(answer(c, d), Some(&d.etag)))
}
