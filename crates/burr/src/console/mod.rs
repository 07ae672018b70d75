//! The console on the `--api` address: the read-only page at `/ui` (HTML, script and style
//! compiled into the binary; no external asset, font or request) and the JSON document it
//! polls, `/api/v1/status` ([`crate::status`]). Everything under `/ui` and `/api/` is the
//! console's: an unknown path there is 404, never handed to the AWS API.
//!
//! Access, checked in this order before anything else is looked at:
//! - `--console off`: 404 for every console path, as if it did not exist;
//! - `--console-allow`: a peer outside the listed networks gets 403 with a body that says
//!   nothing about the console;
//! - `--console-auth basic`: a request needs `Authorization: Basic` with the API's access key
//!   id and secret access key (compared in constant time), else 401 with a
//!   `WWW-Authenticate` challenge;
//! - `--console-auth none`: the request must name the console by an IP address or `localhost`
//!   (its `Host` or `:authority`), else 403: a DNS-rebinding page could otherwise read it.

pub mod access;

use crate::status::sampler::Sampler;
use crate::status::{self, StatusSources};
use access::{Access, Verdict};
use burr_proxy::DataPlane;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{HeaderMap, Method, Response, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

const PAGE: &str = include_str!("app.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");
const ICON: &str = include_str!("favicon.svg");

/// The console: who may see it and what it shows.
pub struct Console {
    pub access: Access,
    pub dataplane: Arc<DataPlane>,
    pub applier: Arc<crate::apply::Applier>,
    pub sampler: Arc<Sampler>,
    pub started: Instant,
}

/// Whether `path` is the console's (so never the AWS API's).
pub fn owns(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/") || path == "/api" || path.starts_with("/api/")
}

impl Console {
    /// Answers a request for one of the console's paths ([`owns`]) from `peer`.
    pub fn answer(
        &self,
        method: &Method,
        path: &str,
        host: Option<&str>,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Response<Full<Bytes>> {
        match self.access.check(peer, host, headers) {
            Verdict::Allowed => {}
            Verdict::Off => return plain(StatusCode::NOT_FOUND, "not found\n"),
            Verdict::Forbidden => return plain(StatusCode::FORBIDDEN, "forbidden\n"),
            Verdict::Unauthorized => {
                let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
                r.headers_mut().insert(
                    hyper::header::WWW_AUTHENTICATE,
                    hyper::header::HeaderValue::from_static("Basic realm=\"burr console\""),
                );
                return r;
            }
        }
        let asset = |text: &'static str, content_type| Some((Some(text), content_type));
        let found = match path {
            "/ui" | "/ui/" => asset(PAGE, "text/html; charset=utf-8"),
            "/ui/app.js" => asset(SCRIPT, "text/javascript; charset=utf-8"),
            "/ui/app.css" => asset(STYLE, "text/css; charset=utf-8"),
            "/ui/favicon.svg" => asset(ICON, "image/svg+xml"),
            // Rendered below, once the method is known to be one that reads it.
            "/api/v1/status" => Some((None, "application/json")),
            _ => None,
        };
        let Some((asset, content_type)) = found else {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        };
        if method != Method::GET && method != Method::HEAD {
            let mut r = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "the console is read-only: use GET\n",
            );
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("GET, HEAD"),
            );
            return r;
        }
        let body = match asset {
            Some(text) => Bytes::from_static(text.as_bytes()),
            None => Bytes::from(status::render(&StatusSources {
                dataplane: &self.dataplane,
                sampler: &self.sampler,
                changes: &self.applier.changes,
                started: self.started,
            })),
        };
        with_headers(StatusCode::OK, body, content_type)
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    with_headers(
        status,
        Bytes::from_static(body.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

/// Every console answer carries the same guards: nothing loads from elsewhere, nothing frames
/// the page, nothing is sniffed or cached (the status changes every second and may be private).
fn with_headers(
    status: StatusCode,
    body: Bytes,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    use hyper::header::{self, HeaderValue};
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}
