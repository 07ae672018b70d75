//! The CloudFront API, version 2020-05-31 (REST-XML): the front door of distributions, staging
//! distributions and continuous-deployment policies. It owns the wire side only: routing a
//! request by method and path ([`routes`]), reading its headers (`If-Match`, `Staging`), query
//! (`Marker`, `MaxItems`, `Resource`) and XML body ([`document`]), running the model's operation
//! (`burr_model::cloudfront`) durably through the [`ControlPlane`], and writing the answer:
//! status 201/200/204, the `ETag` and `Location` headers, the XML body, or CloudFront's error
//! envelope. Rules live in the model, not here.
//!
//! CloudFront is global: whatever region a request is signed for, distributions and policies are
//! stored unqualified.

pub mod document;

mod arn;
mod distributions;
mod output;
mod policies;
mod request;
mod routes;
mod tags;
#[cfg(test)]
mod tests;

use crate::control::{ControlPlane, apply_change};
use crate::error::ApiError;
use crate::service::Answer;
use crate::sigv4::SignedRequest;
use burr_model::State;
use burr_model::cloudfront::{CfError, Context};
use request::Request;
use routes::Route;
use std::cell::Cell;
use std::sync::Arc;

/// Every path of the API starts with its version.
pub const PATH_PREFIX: &str = "/2020-05-31/";
/// The namespace of request and answer bodies.
pub const NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
/// Where `Location` headers point, as AWS writes them (clients only echo it).
const LOCATION_BASE: &str = "https://cloudfront.amazonaws.com/2020-05-31/";

impl From<CfError> for ApiError {
    fn from(e: CfError) -> Self {
        Self::new(e.code.as_str(), e.status(), e.message)
    }
}

/// A successful answer before it becomes an [`Answer`].
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl Reply {
    /// 200 with a body and the object's `ETag`.
    pub fn ok(body: Vec<u8>, etag: Option<&str>) -> Self {
        Self {
            status: 200,
            body,
            etag: etag.map(str::to_string),
            location: None,
        }
    }

    /// 201: a new object, its `Location` (under [`LOCATION_BASE`]) and `ETag`.
    pub fn created(body: Vec<u8>, etag: &str, path: String) -> Self {
        Self {
            status: 201,
            body,
            etag: Some(etag.to_string()),
            location: Some(format!("{LOCATION_BASE}{path}")),
        }
    }

    /// 204, no body.
    pub fn no_content() -> Self {
        Self {
            status: 204,
            ..Self::default()
        }
    }
}

/// Answers one CloudFront request whose signature has been verified.
pub fn handle(control: &dyn ControlPlane, signed: &SignedRequest<'_>, request_id: &str) -> Answer {
    let request = Request::new(signed);
    let result = match routes::route(&request) {
        Some(route) => run(control, &route, &request),
        None => Err(ApiError::new(
            burr_model::cloudfront::CfErrorCode::NoSuchResource.as_str(),
            404,
            format!(
                "burr's CloudFront API has no operation for {} {}{}",
                signed.method,
                signed.path,
                if signed.query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", signed.query)
                }
            ),
        )),
    };
    match result {
        Ok(reply) => {
            // boto3 reads a REST API's request id from this header.
            let mut headers = vec![("x-amz-request-id", request_id.to_string())];
            if let Some(etag) = reply.etag {
                headers.push(("etag", etag));
            }
            if let Some(location) = reply.location {
                headers.push(("location", location));
            }
            Answer {
                status: reply.status,
                content_type: "text/xml",
                body: reply.body,
                headers,
            }
        }
        Err(error) => error_answer(&error, request_id),
    }
}

/// CloudFront's error envelope: `<ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error>
/// <RequestId/></ErrorResponse>`, never an empty body (boto3 would then only see the status).
pub fn error_answer(error: &ApiError, request_id: &str) -> Answer {
    Answer {
        status: error.status,
        content_type: "text/xml",
        body: crate::xml::error(NAMESPACE, request_id, error),
        headers: vec![("x-amz-request-id", request_id.to_string())],
    }
}

fn run(control: &dyn ControlPlane, route: &Route<'_>, r: &Request<'_>) -> Result<Reply, ApiError> {
    match route {
        Route::CreatePolicy => policies::create(control, r),
        Route::ListPolicies => policies::list(control, r),
        Route::GetPolicy(id) => policies::get(control, id),
        Route::GetPolicyConfig(id) => policies::get_config(control, id),
        Route::UpdatePolicy(id) => policies::update(control, r, id),
        Route::DeletePolicy(id) => policies::delete(control, r, id),
        Route::CreateDistribution => distributions::create(control, r, false),
        Route::CreateDistributionWithTags => distributions::create(control, r, true),
        Route::ListDistributions => distributions::list(control, r),
        Route::GetDistribution(id) => distributions::get(control, id),
        Route::GetDistributionConfig(id) => distributions::get_config(control, id),
        Route::UpdateDistribution(id) => distributions::update(control, r, id),
        Route::DeleteDistribution(id) => distributions::delete(control, r, id),
        Route::CopyDistribution(id) => distributions::copy(control, r, id),
        Route::PromoteStagingConfig(id) => distributions::promote(control, r, id),
        Route::TagResource => tags::tag(control, r),
        Route::UntagResource => tags::untag(control, r),
        Route::ListTagsForResource => tags::list(control, r),
    }
}

/// The context CloudFront operations take, with fresh randomness for new ids and ETags.
pub(crate) fn context(c: &dyn ControlPlane) -> Context<'_> {
    Context {
        listen_host: c.listen_host(),
        address_pool: c.address_pool(),
        ports: c.cloudfront_ports(),
        now_ms: c.now_ms(),
        fresh: rand::random(),
    }
}

/// Runs a CloudFront operation durably; its refusal is answered with its own code. What the
/// control plane itself refuses after the operation succeeded (the resulting state breaks a rule
/// shared with other front doors, e.g. a port clash, or a listener cannot bind) comes in another
/// API's terms and is restated as CloudFront's `InvalidArgument`; a storage failure stays a 500.
pub(crate) fn change<T>(
    c: &dyn ControlPlane,
    op: impl FnMut(&mut State) -> Result<T, CfError>,
) -> Result<(T, Arc<State>), ApiError> {
    let refused_by_model = Cell::new(false);
    apply_change(c, op, |e| {
        refused_by_model.set(true);
        ApiError::from(e)
    })
    .map_err(|e| {
        if refused_by_model.get() || e.status >= 500 {
            e
        } else {
            ApiError::new(
                burr_model::cloudfront::CfErrorCode::InvalidArgument.as_str(),
                400,
                e.message,
            )
        }
    })
}

/// The body of a request that needs one, or `MissingBody`.
pub(crate) fn body<'r>(r: &'r Request<'_>, root: &str) -> Result<&'r [u8], ApiError> {
    if r.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            burr_model::cloudfront::CfErrorCode::MissingBody.as_str(),
            400,
            format!("This operation requires a body: the {root} element"),
        ));
    }
    Ok(r.body)
}

/// `MaxItems` (default 100, 1–1000) and `Marker` of a list request.
pub(crate) fn paging<'r>(r: &'r Request<'_>) -> Result<(Option<&'r str>, usize), ApiError> {
    const DEFAULT: usize = 100;
    const MAX: usize = 1000;
    let max_items = match r.query("MaxItems") {
        None => DEFAULT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX).contains(n))
            .ok_or_else(|| {
                ApiError::from(CfError::invalid(format!(
                    "MaxItems: {text:?} is not allowed: must be an integer between 1 and {MAX}"
                )))
            })?,
    };
    let marker = r.query("Marker").filter(|m| !m.is_empty());
    Ok((marker, max_items))
}

/// `LastModifiedTime`: ISO-8601 UTC with milliseconds.
pub(crate) fn timestamp_ms(ms: u64) -> String {
    let ms = ms.min(burr_model::classic::MAX_TIMESTAMP.saturating_mul(1000));
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(time).to_string()
}
