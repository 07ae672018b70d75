//! The endpoint on the `--api` address: `GET /healthz` (200 once burr is serving) and
//! `GET /metrics` (Prometheus text), unauthenticated; every other request goes to the
//! AWS-compatible API, which verifies its Signature V4. Loopback by default.

use burr_api::{Api, SignedRequest};
use burr_proxy::DataPlane;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

/// Largest API request body; AWS SDK requests are a few kilobytes.
const MAX_API_BODY: usize = 1 << 20;

pub struct Admin {
    pub dataplane: Arc<DataPlane>,
    pub api: Arc<Api>,
    pub ready: AtomicBool,
}

/// Serves the endpoint on an already bound listener, forever.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let admin = admin.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(route(&admin, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static"),
    );
    r
}

async fn route(admin: &Arc<Admin>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") if admin.ready.load(Ordering::Acquire) => {
            text(StatusCode::OK, "ok\n".into())
        }
        (&Method::GET, "/healthz") => text(StatusCode::SERVICE_UNAVAILABLE, "starting\n".into()),
        (&Method::GET, "/metrics") => {
            let mut r = text(StatusCode::OK, admin.dataplane.render_metrics());
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8"
                    .parse()
                    .expect("static"),
            );
            r
        }
        (_, "/healthz" | "/metrics") => text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".into()),
        _ => api(admin, req).await,
    }
}

/// Hands a request to the AWS-compatible API, off the async threads (a change waits for SQLite
/// to sync).
async fn api(admin: &Arc<Admin>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_API_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {MAX_API_BODY} bytes, or cut short\n"),
            );
        }
    };
    let admin = admin.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut headers: Vec<(&str, &[u8])> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        // HTTP/2 carries the host as the :authority, which SigV4 signs as `host`.
        let authority = parts.uri.authority().map(|a| a.as_str().to_string());
        if !parts.headers.contains_key(hyper::header::HOST)
            && let Some(a) = &authority
        {
            headers.push(("host", a.as_bytes()));
        }
        let request = SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        admin.api.handle(&request, &request_id())
    })
    .await;
    match answer {
        Ok(answer) => {
            let mut r = Response::new(Full::new(Bytes::from(answer.body)));
            *r.status_mut() =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                answer.content_type.parse().expect("static"),
            );
            r
        }
        Err(e) => {
            tracing::error!("API handler failed: {e}");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// A random request id in the UUID form AWS uses.
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
