//! One API request, start to finish, without sockets: verify the signature, decode the
//! parameters, pick the action by `Action` and `Version`, run it, and write the XML answer or
//! error. The binary hands it the request's parts and sends back what it returns. ACM requests
//! (JSON, `X-Amz-Target: CertificateManager.*`) go to [`crate::acm`], IAM ones (signed for `iam`
//! or `Version=2010-05-08`) to [`crate::iam`], CloudFront ones (signed for `cloudfront`, or under
//! `/2020-05-31/`) to [`crate::cloudfront`].

use crate::control::{ControlPlane, Regional};
use crate::error::ApiError;
use crate::query::Params;
use crate::sigv4::{self, Credentials, SignedRequest};
use crate::xml::Response;
use crate::{acm, cloudfront, ec2, elb, elbv2, iam};
use burr_model::FieldPath;
use std::sync::Arc;

/// The services whose signatures the endpoint accepts.
const SERVICES: [&str; 5] = ["elasticloadbalancing", "cloudfront", "ec2", "acm", "iam"];

/// An answer to send: status, content type, body and any further response headers (CloudFront's
/// `ETag` and `Location`; the query APIs send none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// The AWS-compatible endpoint.
pub struct Api {
    control: Arc<dyn ControlPlane>,
    credentials: Credentials,
}

impl Api {
    pub fn new(control: Arc<dyn ControlPlane>, credentials: Credentials) -> Self {
        Self {
            control,
            credentials,
        }
    }

    /// Answers one request. `request_id` is the id reported in the answer.
    pub fn handle(&self, request: &SignedRequest<'_>, request_id: &str) -> Answer {
        let now = i64::try_from(self.control.now()).unwrap_or(i64::MAX);
        let acm_target = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .filter(|target| target.starts_with(acm::TARGET_PREFIX));
        let cloudfront_path = request.path.starts_with(cloudfront::PATH_PREFIX);
        let refuse = |error: &ApiError| match acm_target {
            Some(_) => acm_answer(error.status, acm::auth_error_body(error)),
            None if cloudfront_path => cloudfront::error_answer(error, request_id),
            None => error_answer(error, request_id),
        };
        let signed = match sigv4::verify(request, &self.credentials, &SERVICES, now) {
            Ok(signed) => signed,
            Err(e) => {
                let error = ApiError::new(e.code(), e.http_status(), e.message());
                return refuse(&error);
            }
        };
        // The region names a namespace of the state, so it must be a name the state can hold.
        if let Err(e) = burr_model::region::validate_region(FieldPath::root(), &signed.region) {
            let error = ApiError::new(
                "IncompleteSignature",
                403,
                format!(
                    "Credential scope region: {} is not allowed: {}",
                    e.value, e.rule
                ),
            );
            return refuse(&error);
        }
        let regional = Regional {
            control: &*self.control,
            region: &signed.region,
        };
        // CloudFront is global: the region a client signs with names nothing, so its objects
        // are stored unqualified and any region is accepted.
        if signed.service == "cloudfront" || cloudfront_path {
            return cloudfront::handle(&*self.control, request, request_id);
        }
        if let Some(target) = acm_target {
            let (status, body) = acm::handle(&regional, target, request.body, &signed.region);
            return acm_answer(status, body);
        }
        let params = match Params::decode(request.query, request.body) {
            Ok(params) => params,
            Err(error) => return error_answer(&error, request_id),
        };
        if signed.service == "iam" || params.get("Version") == Some(iam::VERSION) {
            return match iam::run(&*self.control, &params, request_id) {
                Ok(body) => Answer {
                    status: 200,
                    content_type: "text/xml",
                    body,
                    headers: Vec::new(),
                },
                Err(error) => Answer {
                    status: error.status,
                    content_type: "text/xml",
                    body: iam::error_body(request_id, &error),
                    headers: Vec::new(),
                },
            };
        }
        if params.get("Version") == Some(ec2::VERSION) {
            let action = params.get("Action").unwrap_or_default();
            return match ec2::run(action, &params, request_id) {
                Ok(body) => Answer {
                    status: 200,
                    content_type: "text/xml",
                    body,
                    headers: Vec::new(),
                },
                Err(error) => Answer {
                    status: error.status,
                    content_type: "text/xml",
                    body: crate::xml::ec2_error(request_id, &error),
                    headers: Vec::new(),
                },
            };
        }
        match run(&regional, &params, request_id) {
            Ok(body) => Answer {
                status: 200,
                content_type: "text/xml",
                body,
                headers: Vec::new(),
            },
            Err(error) if params.get("Version") == Some(elbv2::VERSION) => Answer {
                status: error.status,
                content_type: "text/xml",
                body: crate::xml::error(elbv2::NAMESPACE, request_id, &error),
                headers: Vec::new(),
            },
            Err(error) => error_answer(&error, request_id),
        }
    }
}

/// Runs the action `params` name against the state as `control`'s region sees it.
fn run(control: &Regional<'_>, params: &Params, request_id: &str) -> Result<Vec<u8>, ApiError> {
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::new("MissingAction", 400, "The request must name an Action"))?;
    let version = params.required("Version")?;
    let (handler, namespace) = match version {
        elb::VERSION => (elb::handler(action)?, elb::NAMESPACE),
        elbv2::VERSION => (elbv2::handler(action)?, elbv2::NAMESPACE),
        _ => {
            return Err(ApiError::new(
                "InvalidAction",
                400,
                format!(
                    "Could not find operation {action} for version {version}; burr serves \
                     versions {} and {}",
                    elb::VERSION,
                    elbv2::VERSION
                ),
            ));
        }
    };
    let mut response = Response::start(action, namespace);
    handler(control, params, response.body())?;
    Ok(response.finish(request_id))
}

fn acm_answer(status: u16, body: Vec<u8>) -> Answer {
    Answer {
        status,
        content_type: acm::CONTENT_TYPE,
        body,
        headers: Vec::new(),
    }
}

fn error_answer(error: &ApiError, request_id: &str) -> Answer {
    Answer {
        status: error.status,
        content_type: "text/xml",
        body: crate::xml::error(elb::NAMESPACE, request_id, error),
        headers: Vec::new(),
    }
}
