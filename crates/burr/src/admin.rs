//! The admin endpoint on the `--api` address: `GET /healthz` (200 once burr is serving) and
//! `GET /metrics` (Prometheus text). Loopback by default; the AWS-compatible API will join it here.

use burr_proxy::DataPlane;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

pub struct Admin {
    pub dataplane: Arc<DataPlane>,
    pub ready: AtomicBool,
}

/// Serves the admin endpoint on an already bound listener, forever.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let admin = admin.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(route(&admin, &req)) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn route(admin: &Admin, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            "text/plain; charset=utf-8".parse().expect("static"),
        );
        r
    };
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
        (_, path) => text(StatusCode::NOT_FOUND, format!("no such endpoint: {path}\n")),
    }
}
