//! Tagging (`/2020-05-31/tagging?Resource=<arn>`): `Operation=Tag` with a `Tags` body,
//! `Operation=Untag` with a `TagKeys` body (both 204), and the `GET` listing. Only distributions
//! carry tags in burr (AWS also tags streaming distributions, which burr does not have).

use super::request::Request;
use super::{Reply, arn, body, change, document, output};
use crate::control::ControlPlane;
use crate::error::ApiError;
use burr_model::cloudfront::{self as cf, CfError, Node};

/// The tagging API speaks of resources, not distributions: an unknown one is `NoSuchResource`.
fn as_resource(e: CfError) -> CfError {
    match e.code {
        cf::CfErrorCode::NoSuchDistribution => {
            CfError::new(cf::CfErrorCode::NoSuchResource, e.message)
        }
        _ => e,
    }
}

/// The `Resource` query parameter, as a distribution id.
fn resource<'r>(c: &dyn ControlPlane, r: &'r Request<'_>) -> Result<&'r str, ApiError> {
    let resource = r
        .query("Resource")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            CfError::invalid("Resource: the query parameter is required: the ARN of a distribution")
        })?;
    Ok(arn::distribution_id(c, resource)?)
}

/// Parses a `Tags` or `TagKeys` body. A key or value outside the model's bounds is the tagging
/// operations' `InvalidTagging`, not the generic `InvalidArgument` the schema answers.
pub(crate) fn parse(shape: &str, body: &[u8]) -> Result<Node, CfError> {
    document::parse(shape, body).map_err(as_tagging)
}

/// `InvalidArgument` about tags restated as `InvalidTagging`.
pub(crate) fn as_tagging(e: CfError) -> CfError {
    match e.code {
        cf::CfErrorCode::InvalidArgument => {
            CfError::new(cf::CfErrorCode::InvalidTagging, e.message)
        }
        _ => e,
    }
}

pub(crate) fn tag(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let id = resource(c, r)?;
    let tags = output::tag_map(Some(&parse("Tags", body(r, "Tags")?)?));
    change(c, |s| {
        cf::tag_distribution(s, id, tags.clone()).map_err(as_resource)
    })?;
    Ok(Reply::no_content())
}

pub(crate) fn untag(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let id = resource(c, r)?;
    let keys: Vec<String> = parse("TagKeys", body(r, "TagKeys")?)?
        .items_at(&["Items"])
        .iter()
        .filter_map(Node::text)
        .map(str::to_string)
        .collect();
    change(c, |s| {
        cf::untag_distribution(s, id, &keys).map_err(as_resource)
    })?;
    Ok(Reply::no_content())
}

pub(crate) fn list(c: &dyn ControlPlane, r: &Request<'_>) -> Result<Reply, ApiError> {
    let id = resource(c, r)?;
    let state = c.state();
    let d = cf::distribution(&state, id).map_err(as_resource)?;
    Ok(Reply::ok(
        document::render("Tags", "Tags", &output::tags(&d.tags)),
        None,
    ))
}
