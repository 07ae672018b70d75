//! The six continuous-deployment policy operations (`/2020-05-31/continuous-deployment-policy`):
//! create (201, `Location`, `ETag`), get and get-config (`ETag`), update (`If-Match`, new
//! `ETag`), delete (`If-Match`, 204) and list (`Marker`, `MaxItems`).

use super::request::Request;
use super::{Reply, body, change, context, document, output, paging};
use crate::control::ControlPlane;
use crate::error::ApiError;
use burr_model::cloudfront::{self as cf, DeploymentPolicy, Node};

const CONFIG: &str = "ContinuousDeploymentPolicyConfig";

fn answer(p: &DeploymentPolicy) -> Vec<u8> {
    document::render(
        "ContinuousDeploymentPolicy",
        "ContinuousDeploymentPolicy",
        &output::policy(p),
    )
}

fn config(r: &Request<'_>) -> Result<Node, ApiError> {
    Ok(document::parse(CONFIG, body(r, CONFIG)?)?)
}

pub(crate) fn create(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let config = config(r)?;
    let ctx = context(c);
    let (id, state) = change(c, |s| cf::create_policy(s, &config, &ctx))?;
    let p = cf::policy(&state, &id)?;
    Ok(Reply::created(
        answer(p),
        &p.etag,
        format!("continuous-deployment-policy/{id}"),
    ))
}

pub(crate) fn get(c: &dyn ControlPlane, id: &str) -> Result<Reply, ApiError> {
    let state = c.state();
    let p = cf::policy(&state, id)?;
    Ok(Reply::ok(answer(p), Some(&p.etag)))
}

pub(crate) fn get_config(c: &dyn ControlPlane, id: &str) -> Result<Reply, ApiError> {
    let state = c.state();
    let p = cf::policy(&state, id)?;
    Ok(Reply::ok(
        document::render(CONFIG, CONFIG, &p.config_node()),
        Some(&p.etag),
    ))
}

pub(crate) fn update(c: &dyn ControlPlane, r: &Request<'_>, id: &str) -> Result<Reply, ApiError> {
    let config = config(r)?;
    let ctx = context(c);
    let if_match = r.if_match();
    let ((), state) = change(c, |s| cf::update_policy(s, id, if_match, &config, &ctx))?;
    let p = cf::policy(&state, id)?;
    Ok(Reply::ok(answer(p), Some(&p.etag)))
}

pub(crate) fn delete(c: &dyn ControlPlane, r: &Request<'_>, id: &str) -> Result<Reply, ApiError> {
    let if_match = r.if_match();
    change(c, |s| cf::delete_policy(s, id, if_match))?;
    Ok(Reply::no_content())
}

pub(crate) fn list(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let (marker, max_items) = paging(r)?;
    let state = c.state();
    let (page, next) = cf::list_policies(&state, marker, max_items);
    let items: Vec<Node> = page
        .iter()
        .map(|p| output::structure([("ContinuousDeploymentPolicy", output::policy(p))]))
        .collect();
    let mut list = output::structure([
        ("MaxItems", output::text(max_items.to_string())),
        // The number of items in this page, as every other CloudFront wrapper counts (the
        // model's documentation speaks of the account's total; clients read the items).
        ("Quantity", output::text(items.len().to_string())),
    ]);
    if !items.is_empty() {
        list.set("Items", Node::List(items));
    }
    if let Some(next) = next {
        list.set("NextMarker", output::text(next));
    }
    Ok(Reply::ok(
        document::render(
            "ContinuousDeploymentPolicyList",
            "ContinuousDeploymentPolicyList",
            &list,
        ),
        None,
    ))
}
