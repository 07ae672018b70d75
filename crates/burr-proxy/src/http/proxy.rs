//! Forwarding one request: the listener's rules choose the pool ([`route`], shared with the
//! fast path through `crate::actions`), then choose a target (the sticky session's, else the pool's algorithm),
//! get a connection (retrying other targets when connecting fails, see `attempts.rs`), send the
//! rewritten request, and turn the answer or the failure into the client's response.

use super::Connection;
use super::body::{ClientBody, ProxyBody, RequestBody};
use super::headers::{self, ForwardedValues};
use super::observe::Times;
use super::upgrade;
use crate::actions;
use crate::affinity::{Affinity, client_hash};
use crate::attempts::{Attempts, Unavailable};
use crate::canary::Extras;
use crate::routing::RequestView;
use crate::runtime::{ListenerRuntime, PoolRuntime, TargetShared};
use crate::upstream::{self, Lease, Plan};
use burr_affinity::sticky::SetCookies;
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use hyper::upgrade::OnUpgrade;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What went wrong, and so what the client is told. The details are for logs only.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No target may take a request: 503.
    #[error("no target may take the request")]
    NoTarget,
    /// Every attempt to connect failed: 502.
    #[error("{tried} connect attempts failed, the last: {last}")]
    ConnectFailed { tried: usize, last: String },
    /// The target did not answer in time: 504.
    #[error("no response head within {0} s")]
    Timeout(u32),
    /// The target broke the exchange: 502.
    #[error("target error: {0}")]
    Upstream(String),
    /// The client's own request body was malformed: 400, and the connection closes.
    #[error("client request body error: {0}")]
    ClientBody(String),
    /// The session's target is down and the pool is strict: 503.
    #[error("the session's target is down and the pool does not re-pin")]
    SessionTargetDown,
    /// The request breaks one of burr's request rules (HTTP/2 `CONNECT`).
    #[error("refused: {}", .0.reason)]
    Refused(crate::framing::Refusal),
}

impl From<Unavailable> for ProxyError {
    fn from(unavailable: Unavailable) -> Self {
        match unavailable {
            Unavailable::NoTarget => Self::NoTarget,
            Unavailable::ConnectFailed { tried, last } => Self::ConnectFailed { tried, last },
            Unavailable::SessionTargetDown => Self::SessionTargetDown,
        }
    }
}

impl ProxyError {
    /// The status and the short text the client is told. Texts are deliberately vague about
    /// targets: no address leaves the proxy.
    pub fn status_and_text(self, pool: &str) -> (StatusCode, String) {
        match self {
            Self::NoTarget => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("service unavailable: no healthy target in pool \"{pool}\"\n"),
            ),
            Self::ConnectFailed { tried, .. } => (
                StatusCode::BAD_GATEWAY,
                format!(
                    "bad gateway: could not connect to a target of pool \"{pool}\" ({tried} tried)\n"
                ),
            ),
            Self::Timeout(secs) => (
                StatusCode::GATEWAY_TIMEOUT,
                format!("gateway timeout: the target did not answer within {secs} s\n"),
            ),
            Self::Upstream(_) => (
                StatusCode::BAD_GATEWAY,
                "bad gateway: the target closed or broke the connection\n".to_string(),
            ),
            Self::ClientBody(_) => (
                StatusCode::BAD_REQUEST,
                "bad request: malformed request body\n".to_string(),
            ),
            Self::SessionTargetDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("service unavailable: the session's target in pool \"{pool}\" is down\n"),
            ),
            Self::Refused(refusal) => (
                refusal.status,
                format!(
                    "{}: {}\n",
                    refusal
                        .status
                        .canonical_reason()
                        .unwrap_or("refused")
                        .to_ascii_lowercase(),
                    refusal.reason
                ),
            ),
        }
    }

    pub fn into_response(self, pool: &str) -> Response<ProxyBody> {
        let (status, text) = self.status_and_text(pool);
        let close = status == StatusCode::BAD_REQUEST;
        let mut response = Response::new(ProxyBody::text(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(
                header::ALLOW,
                HeaderValue::from_static(crate::framing::rules::ALLOWED_METHODS),
            );
        }
        response
    }
}

/// The outcome worth logging besides the status: which target answered.
pub struct Forwarded {
    pub response: Response<ProxyBody>,
    pub target: Arc<TargetShared>,
}

/// Rewrites the request for the target: origin-form URI, HTTP/1.1, `Host` kept, or replaced by
/// the authority of an absolute-form target (RFC 9112 §3.2.2) or of HTTP/2's `:authority`,
/// hop-by-hop headers dropped, `X-Forwarded-*` added.
fn prepare<B: http_body::Body>(req: &mut Request<B>, forwarded: &ForwardedValues, upgrading: bool) {
    if let Some(host) = req
        .uri()
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, host);
    } else if !req.headers().contains_key(header::HOST) {
        // An HTTP/1.0 request without Host goes on as HTTP/1.1, which needs one: empty, as for
        // a target without authority (RFC 9112 §3.2).
        req.headers_mut()
            .insert(header::HOST, HeaderValue::from_static(""));
    }
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        let origin_form = match req.uri().path_and_query().map(|p| p.as_str()) {
            Some(p) if p.starts_with('/') => Uri::try_from(p),
            // `http://a.example?q` has an empty path: the origin form is `/?q`.
            Some(p) => Uri::try_from(format!("/{p}")),
            None => Ok(Uri::from_static("/")),
        };
        if let Ok(uri) = origin_form {
            *req.uri_mut() = uri;
        }
    }
    let isolate = matches!(*req.method(), http::Method::GET | http::Method::HEAD)
        && !http_body::Body::is_end_stream(req.body());
    if req.version() == Version::HTTP_2 {
        headers::join_cookies(req.headers_mut());
    }
    *req.version_mut() = Version::HTTP_11;
    let h = req.headers_mut();
    headers::strip_hop_by_hop(h, upgrading);
    headers::add_forwarded(h, forwarded);
    if isolate {
        // See `framing::rules::body_without_meaning`: hyper's client keeps no connection that
        // carried `Connection: close`.
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// What no listener serves, whatever its rules: HTTP/2 `CONNECT` (HTTP/1.x's never gets here,
/// the framing guard answers it) and userinfo in the target.
pub fn refusal(req: &Request<ClientBody>) -> Option<ProxyError> {
    if req.method() == http::Method::CONNECT {
        return Some(ProxyError::Refused(crate::framing::rules::CONNECT_REFUSAL));
    }
    if req
        .uri()
        .authority()
        .is_some_and(|a| a.as_str().contains('@'))
    {
        // RFC 9110 §4.2.4: userinfo in an http(s) target is an error; as Host it would name
        // something no target expects.
        return Some(ProxyError::Refused(crate::framing::Refusal::bad_request(
            "userinfo in the request target",
        )));
    }
    None
}

/// The listener's rules' decision for `req` (the same as the fast path's, from hyper's view of
/// the request: HTTP/2's `:authority` or the absolute-form authority is the host, else `Host`).
pub fn route<'l>(
    req: &Request<ClientBody>,
    conn: &Connection,
    listener: &'l ListenerRuntime,
) -> actions::Routed<'l> {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().as_bytes())
        .or_else(|| req.headers().get(header::HOST).map(HeaderValue::as_bytes));
    let view = RequestView {
        method: req.method().as_str().as_bytes(),
        host,
        path: req.uri().path().as_bytes(),
        query: req.uri().query().map(str::as_bytes),
        headers: req.headers(),
        source: conn.client.ip(),
    };
    crate::canary::route(listener, &view, &conn.request_context)
}

/// Forwards `req` to a target of `pool` (the one the listener's rules chose), without what
/// `extras` strips and with its cookies and arm header on the response. `client_upgrade` is the
/// client connection's side of an upgrade the request asks for: taken when a 101 is relayed.
pub async fn forward(
    mut req: Request<RequestBody>,
    conn: &Connection,
    listener: &ListenerRuntime,
    pool: &PoolRuntime,
    extras: Extras<'_>,
    client_upgrade: &mut Option<OnUpgrade>,
    times: &mut Times,
) -> Result<Forwarded, ProxyError> {
    let upgrading = client_upgrade.is_some()
        && req.version() == Version::HTTP_11
        && headers::wants_upgrade(req.headers());
    let client_hash = client_hash(pool, conn.client.ip());
    let session = Affinity::begin(pool, req.headers(), client_hash);
    prepare(&mut req, &conn.forwarded, upgrading);
    if let Some(session) = &session {
        session.strip_own_cookies(req.headers_mut());
    }
    extras.strip.apply(req.headers_mut());
    let mut attempts = Attempts::new(pool, session, client_hash)?;

    let settings = &pool.spec.upstream;
    let plan = Plan {
        connect_timeout_ms: settings.connect_timeout_ms,
        tls: listener.spec.target_protocol().is_tls(),
        private: settings
            .proxy_protocol
            .then(|| conn.private_connections().clone()),
        proxy_protocol_version: settings.proxy_protocol_version().unwrap_or(1),
        proxy_tlvs: settings.proxy_tlvs(),
    };
    loop {
        let index = attempts.next()?;
        let target = &pool.targets[index].shared;
        let mut checkout = match upstream::checkout(target, &plan).await {
            Ok(c) => c,
            Err(e) => {
                // The request has not been touched yet, so any request may go to another target.
                attempts.connect_failed(index, &e)?;
                continue;
            }
        };
        target.mark_connect_success();
        let mut lease = Lease::new(target.clone());
        let timeout = Duration::from_secs(u64::from(settings.response_timeout_secs));
        // hyper writes the head once the request is handed over: as close to t1 as this path
        // can see.
        times.sent_upstream();
        let sent = tokio::time::timeout(timeout, checkout.sender.try_send_request(req)).await;
        let response = match sent {
            Err(_) => {
                pool.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                return Err(ProxyError::Timeout(settings.response_timeout_secs));
            }
            Ok(Ok(response)) => {
                times.response_head();
                response
            }
            Ok(Err(mut e)) => match e.take_message() {
                // The pooled connection was closed by the target before the request left: the
                // request is intact, send it again to the same target on a fresh connection.
                Some(returned) if checkout.reused => {
                    req = returned;
                    attempts.again(index);
                    continue;
                }
                _ => {
                    let error = e.into_error();
                    return Err(if error.is_user() {
                        ProxyError::ClientBody(error.to_string())
                    } else {
                        ProxyError::Upstream(error.to_string())
                    });
                }
            },
        };
        if head_size(&response) > crate::framing::MAX_RESPONSE_HEAD {
            // hyper's own bound is its read buffer's; this is the fast path's, exactly.
            return Err(ProxyError::Upstream(format!(
                "response head larger than {} bytes",
                crate::framing::MAX_RESPONSE_HEAD
            )));
        }
        let target_name = target.clone();
        let mut response = response;
        let mut set_cookies = SetCookieValues(Vec::new());
        attempts.served(
            target,
            response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
            &mut set_cookies,
        );
        extras.write_response(&mut set_cookies);
        drop_own_cookies(response.headers_mut(), attempts.own_cookie_names());
        for value in set_cookies.0 {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        if let Some(mark) = extras.mark {
            mark.write_arm_header(response.headers_mut());
        }
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_upgrade) = client_upgrade.take().filter(|_| upgrading) else {
                // The target switched protocols unasked: what follows on its connection is not
                // HTTP, and nothing of it may reach the client as if it were.
                return Err(ProxyError::Upstream(
                    "101 without an upgrade request".into(),
                ));
            };
            return Ok(Forwarded {
                response: upgrade::relay(response, client_upgrade, lease),
                target: target_name,
            });
        }
        lease.hold(checkout);
        let (mut parts, body) = response.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, false);
        return Ok(Forwarded {
            response: Response::from_parts(parts, ProxyBody::upstream(body, lease)),
            target: target_name,
        });
    }
}

/// The size of `response`'s head as sent on the wire: `HTTP/1.1 200 OK`, each field as
/// `name: value` with its CRLF, the final CRLF. hyper does not keep the raw head; its fields are
/// what the target sent, so the size is exact unless the target padded its lines.
pub(super) fn head_size<B>(response: &Response<B>) -> usize {
    let reason = response.status().canonical_reason().unwrap_or("").len();
    let fields: usize = response
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    "HTTP/1.1 200 ".len() + reason + 2 + fields + 2
}

/// Removes a target's own `Set-Cookie` fields of the names burr's session sets (`own`), so the
/// client never holds two cookies of one name: burr's is the one that keeps the session.
fn drop_own_cookies(headers: &mut http::HeaderMap, own: &[&str]) {
    let sets_own = |v: &HeaderValue| crate::affinity::sets_one_of(own, v.as_bytes());
    if own.is_empty() || !headers.get_all(header::SET_COOKIE).iter().any(sets_own) {
        return;
    }
    tracing::debug!("dropped the target's own Set-Cookie of a name burr sets");
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !sets_own(v))
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for value in kept {
        headers.append(header::SET_COOKIE, value);
    }
}

/// The session's `Set-Cookie` values as header values, gathered while the response's own
/// headers are read and appended after.
pub(super) struct SetCookieValues(pub Vec<HeaderValue>);

impl SetCookies for SetCookieValues {
    fn set_cookie(&mut self, pieces: &[&[u8]]) {
        // burr's pieces are valid field text, and so is what it copies from a target's header.
        if let Ok(value) = HeaderValue::from_bytes(&pieces.concat()) {
            self.0.push(value);
        }
    }
}
