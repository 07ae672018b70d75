//! The endpoint on the `--api` address: `GET /healthz` (200 once burr is serving) and
//! `GET /metrics` (Prometheus text), unauthenticated; the console under `/ui` and `/api/`
//! ([`crate::console`], with its own access rules); every other request goes to the
//! AWS-compatible API, which verifies its Signature V4. Loopback by default; plain HTTP.
//!
//! A client gets [`LIMITS`]`.head` to send a request head (the first one counted from the
//! connect, so a connection that sends nothing, or half an HTTP/2 preface, is closed too; on
//! HTTP/1.1 each later one as well) and `.body` to send the body of an API request, which may be
//! at most `.max_body` bytes.
//!
//! HTTP/1.1 requests pass the data plane's framing guard first (`burr_proxy::framing`), so the
//! endpoint refuses what the listeners refuse (both `Content-Length` and `Transfer-Encoding`,
//! duplicate lengths, a missing or doubled `Host`, `Connection` naming a framing header) rather
//! than hyper's lenient reading of it; methods other than GET and POST are answered 405.

use burr_api::{Api, SignedRequest, cloudfront};
use burr_proxy::DataPlane;
use burr_proxy::framing::{FramingGuard, UpgradeGate};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What a client of the endpoint may take, in time and in bytes.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// To send a request head: the first from the connect; on HTTP/1.1, later ones from the
    /// end of the previous response (so an idle keep-alive connection is closed after it too).
    head: Duration,
    /// To send an API request's body once its head has arrived; then 408.
    body: Duration,
    /// Largest API request body (AWS SDK requests are a few kilobytes); larger is 413.
    max_body: usize,
    /// Connections served at once; one more is closed at once, so clients that never finish
    /// cannot exhaust the process's descriptors or threads.
    max_connections: usize,
}

/// The limits burr serves with.
/// How much longer than `Limits::head` the timers that close a connection without a word wait,
/// so that a head begun but late gets the framing guard's 408 first.
const HEAD_GRACE: Duration = Duration::from_secs(1);

/// Largest HTTP/1.1 request head, and most header fields, the endpoint reads (AWS SDK requests
/// have a dozen fields in well under 4 KiB).
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;

const LIMITS: Limits = Limits {
    head: Duration::from_secs(30),
    body: Duration::from_secs(30),
    max_body: 1 << 20,
    max_connections: 1024,
};

pub struct Admin {
    pub dataplane: Arc<DataPlane>,
    pub api: Arc<Api>,
    pub console: crate::console::Console,
    pub ready: AtomicBool,
}

/// The address of the client that sent a request (a request extension the console's network
/// check reads).
#[derive(Debug, Clone, Copy)]
struct Peer(std::net::SocketAddr);

/// Serves the endpoint on an already bound listener, forever.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>) {
    accept(listener, LIMITS, move |req| {
        let admin = admin.clone();
        async move { route(&admin, req, LIMITS).await }
    })
    .await;
}

/// Accepts connections forever, serving each with `handler` within `limits`.
async fn accept<H, F>(listener: TcpListener, limits: Limits, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut backoff = burr_proxy::limits::Backoff::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(e) => {
                // Out of descriptors (EMFILE) repeats at once; retrying at once would spin.
                if burr_proxy::limits::AcceptFailure::of(&e).backs_off() {
                    tokio::time::sleep(backoff.next_pause()).await;
                }
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, limits, handler).await;
            drop(slot);
        });
    }
}

/// One connection, HTTP/1.1 or HTTP/2 (prior knowledge), until either side closes it or a
/// request head takes longer than `limits.head`.
async fn serve_connection<H, F>(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    limits: Limits,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let first_request = Arc::new(Notify::new());
    let arrived = first_request.clone();
    let gate = UpgradeGate::new();
    let held_upgrades = gate.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        arrived.notify_one();
        req.extensions_mut().insert(Peer(peer));
        // The endpoint never switches protocols: the guard may go on reading as HTTP.
        if req.headers().contains_key(hyper::header::UPGRADE) {
            held_upgrades.answered(false);
        }
        let answer = handler(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let connection = async move {
        if burr_proxy::starts_with_h2_preface(&stream, limits.head).await {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        } else {
            let guarded = FramingGuard::new(stream, MAX_HEAD, MAX_HEADERS, limits.head, gate);
            // The guard answers a head begun but late with 408 after `limits.head`; hyper's
            // timer, a second longer so the guard's answer goes first, closes a keep-alive
            // connection on which no next head begins.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head + HEAD_GRACE)
                .half_close(true)
                .serve_connection(TokioIo::new(guarded), service)
                .await;
        }
    };
    tokio::pin!(connection);
    // Until a first request arrives the builder is still reading bytes to tell HTTP/1.1 from
    // HTTP/2, which nothing times: a client silent after connecting, or stalled within the
    // HTTP/2 preface, would hold the connection forever. Dropping the future closes it.
    tokio::select! {
        _ = &mut connection => return,
        () = first_request.notified() => {}
        () = tokio::time::sleep(limits.head + HEAD_GRACE) => return,
    }
    let _ = connection.await;
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

async fn route(
    admin: &Arc<Admin>,
    req: Request<Incoming>,
    limits: Limits,
) -> Response<Full<Bytes>> {
    if crate::console::owns(req.uri().path()) {
        let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
        // HTTP/2 names the host in the :authority, HTTP/1.1 in Host.
        let host = req.uri().authority().map(|a| a.as_str()).or_else(|| {
            // A Host that is not text names nothing the console answers to.
            req.headers()
                .get(hyper::header::HOST)
                .map(|h| h.to_str().unwrap_or(""))
        });
        let answer =
            admin
                .console
                .answer(req.method(), req.uri().path(), host, req.headers(), peer);
        // A body sent to the read-only console is never read.
        return if req.method() == Method::GET || req.method() == Method::HEAD {
            answer
        } else {
            closing(answer, req.version())
        };
    }
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
        // Only with --manual-clock (tests); otherwise the path is the API's like any other.
        (&Method::POST, "/test/clock") if admin.dataplane.clock().is_manual() => {
            advance_clock(admin, req.uri().query().unwrap_or(""))
        }
        (&Method::GET | &Method::POST, _) => api(admin, req, limits).await,
        // CloudFront's REST API also updates with PUT and deletes with DELETE.
        (&Method::PUT | &Method::DELETE, path) if path.starts_with(cloudfront::PATH_PREFIX) => {
            api(admin, req, limits).await
        }
        (method, _) => {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "method {method} is not allowed: the API takes GET and POST (and PUT and \
                     DELETE under {})\n",
                    cloudfront::PATH_PREFIX
                ),
            );
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("GET, POST"),
            );
            // Its body, if any, is never read.
            closing(r, req.version())
        }
    }
}

/// Longest single advance of the manual clock: a year.
const MAX_ADVANCE_MS: u64 = 365 * 86_400 * 1000;

/// `POST /test/clock?advance_ms=N` (with `--manual-clock` only): moves the data plane's clock
/// forward by N ms (0 reads it) and answers with its time after the move.
fn advance_clock(admin: &Admin, query: &str) -> Response<Full<Bytes>> {
    let value = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "advance_ms")
        .map(|(_, v)| v.into_owned());
    let advance = value
        .as_deref()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms <= MAX_ADVANCE_MS);
    let Some(advance) = advance else {
        return text(
            StatusCode::BAD_REQUEST,
            format!(
                "advance_ms: {:?} is not allowed: must be an integer between 0 and \
                 {MAX_ADVANCE_MS} (milliseconds)\n",
                value.unwrap_or_else(|| "(missing)".into())
            ),
        );
    };
    let clock = admin.dataplane.clock();
    if let Err(e) = clock.advance(Duration::from_millis(advance)) {
        return text(StatusCode::CONFLICT, format!("{e}\n"));
    }
    text(
        StatusCode::OK,
        format!(
            "unix_secs {}\nmonotonic_ms {}\n",
            clock.unix_now(),
            clock.now_ms()
        ),
    )
}

/// Hands a request to the AWS-compatible API, off the async threads (a change waits for SQLite
/// to sync).
async fn api(admin: &Arc<Admin>, req: Request<Incoming>, limits: Limits) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, limits).await {
        Ok(body) => body,
        Err(refusal) => return closing(refusal, parts.version),
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
        // Recent changes (the console) name the API action that made them.
        let action = action_name(&request);
        crate::changes::with_origin(crate::changes::Source::Api, action, || {
            admin.api.handle(&request, &request_id())
        })
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
            for (name, value) in answer.headers {
                // The API writes these values itself (ids, ETags, URLs), never from raw input
                // that could hold a line break; one that is not a valid header is dropped.
                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                    r.headers_mut().insert(name, value);
                }
            }
            r
        }
        Err(e) => {
            tracing::error!("API handler failed: {e}");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// The API action a request asks for: `Action=` of a Query API request (in the query string or
/// the form body), the operation of a JSON one (ACM's `X-Amz-Target: CertificateManager.X`),
/// otherwise (CloudFront's REST API) its method and path.
fn action_name(request: &SignedRequest<'_>) -> String {
    let named = |text: &[u8]| {
        form_urlencoded::parse(text)
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned())
    };
    let target = || {
        let (_, value) = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))?;
        let value = std::str::from_utf8(value).ok()?;
        Some(value.rsplit('.').next().unwrap_or(value).to_string())
    };
    named(request.query.as_bytes())
        .or_else(|| named(request.body))
        .or_else(target)
        .filter(|a| !a.is_empty() && a.len() <= 128)
        .unwrap_or_else(|| format!("{} {}", request.method, request.path))
}

/// The whole body, or the answer refusing it: 413 past `limits.max_body` bytes, 408 if it has
/// not all arrived within `limits.body`, 400 if the client broke it off.
async fn read_body(body: Incoming, limits: Limits) -> Result<Bytes, Response<Full<Bytes>>> {
    let collect = Limited::new(body, limits.max_body).collect();
    match tokio::time::timeout(limits.body, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {} bytes\n", limits.max_body),
        )),
        Ok(Err(_)) => Err(text(
            StatusCode::BAD_REQUEST,
            "request body cut short\n".into(),
        )),
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s\n",
                limits.body.as_secs_f64()
            ),
        )),
    }
}

/// `answer`, closing an HTTP/1 connection after it: the rest of a refused body is never read.
/// (HTTP/2 has no `Connection` header; a refused stream is reset without touching the rest.)
fn closing(mut answer: Response<Full<Bytes>>, version: hyper::Version) -> Response<Full<Bytes>> {
    if version < hyper::Version::HTTP_2 {
        answer.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    answer
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

/// The connection limits, at a fraction of a second so a test can watch them act. The end-to-end
/// tests (`tests/api_endpoint.rs`) check the real binary at its real limits.
#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SHORT: Limits = Limits {
        head: Duration::from_millis(300),
        body: Duration::from_millis(300),
        max_body: 64,
        max_connections: 4,
    };

    /// An endpoint with [`SHORT`] limits whose every request reads its body as the API does and
    /// answers with its length.
    async fn start() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(accept(
            listener,
            SHORT,
            |req: Request<Incoming>| async move {
                let (parts, body) = req.into_parts();
                match read_body(body, SHORT).await {
                    Ok(body) => text(StatusCode::OK, format!("{} bytes\n", body.len())),
                    Err(refusal) => closing(refusal, parts.version),
                }
            },
        ));
        addr
    }

    /// Connects, sends each part in turn (`pause` apart), then reads until the server closes:
    /// what came back, and how long after the last part it closed (`None`: not within 5 s).
    async fn exchange(
        addr: SocketAddr,
        parts: &[&[u8]],
        pause: Duration,
    ) -> (String, Option<Duration>) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            stream.write_all(part).await.unwrap();
        }
        let sent = Instant::now();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                out.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        let closed = read.is_ok().then(|| sent.elapsed());
        (String::from_utf8_lossy(&out).into_owned(), closed)
    }

    fn assert_closed_by_the_head_timeout(what: &str, closed: Option<Duration>) {
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after 5 s"));
        assert!(
            closed >= SHORT.head - Duration::from_millis(100),
            "{what}: closed after {closed:?}, before the timeout"
        );
    }

    #[test]
    fn a_change_is_named_by_its_api_action() {
        let request =
            |method, path, query, headers: &'static [(&'static str, &'static [u8])], body| {
                SignedRequest {
                    method,
                    path,
                    query,
                    headers,
                    body,
                }
            };
        let form = request(
            "POST",
            "/",
            "",
            &[],
            b"Version=2012-06-01&Action=CreateLoadBalancer",
        );
        assert_eq!(action_name(&form), "CreateLoadBalancer");
        let query = request("GET", "/", "Action=DescribeTags&Version=x", &[], b"");
        assert_eq!(action_name(&query), "DescribeTags");
        let json = request(
            "POST",
            "/",
            "",
            &[("X-Amz-Target", b"CertificateManager.ImportCertificate")],
            b"{}",
        );
        assert_eq!(action_name(&json), "ImportCertificate");
        let rest = request("DELETE", "/2020-05-31/distribution/E1", "", &[], b"");
        assert_eq!(action_name(&rest), "DELETE /2020-05-31/distribution/E1");
    }

    #[tokio::test]
    async fn half_a_request_head_then_silence_is_closed() {
        let addr = start().await;
        let (answer, closed) = exchange(
            addr,
            &[b"POST / HTTP/1.1\r\nHost: burr\r\nContent-Le"],
            Duration::ZERO,
        )
        .await;
        assert_closed_by_the_head_timeout("half a head", closed);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    }

    #[tokio::test]
    async fn connections_beyond_the_limit_are_closed_until_a_slot_frees() {
        let addr = start().await;
        let mut held = Vec::new();
        for _ in 0..SHORT.max_connections {
            held.push(TcpStream::connect(addr).await.unwrap());
        }
        // Let the accept loop take them all.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (answer, closed) = exchange(
            addr,
            &[b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"],
            Duration::ZERO,
        )
        .await;
        assert_eq!(answer, "", "served beyond the limit");
        assert!(
            closed.is_some_and(|c| c < SHORT.head),
            "not closed at once: {closed:?}"
        );
        // The held connections time out; then a request is served again.
        drop(held);
        tokio::time::sleep(SHORT.head + Duration::from_millis(200)).await;
        let (answer, _) = exchange(
            addr,
            &[b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"],
            Duration::ZERO,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed() {
        let addr = start().await;
        let (answer, closed) = exchange(addr, &[], Duration::ZERO).await;
        assert_closed_by_the_head_timeout("silent", closed);
        assert_eq!(answer, "");
    }

    #[tokio::test]
    async fn half_an_http2_preface_then_silence_is_closed() {
        let addr = start().await;
        let (answer, closed) = exchange(addr, &[b"PRI * HTTP/2.0\r\n"], Duration::ZERO).await;
        assert_closed_by_the_head_timeout("half a preface", closed);
        assert_eq!(answer, "");
    }

    #[tokio::test]
    async fn a_head_sent_in_pieces_within_the_limit_is_served_and_idle_keep_alive_closed() {
        let addr = start().await;
        let head: [&[u8]; 3] = [
            b"POST / HTTP/1.1\r\n",
            b"Host: burr\r\nContent-Length: 3\r\n",
            b"\r\nabc",
        ];
        let (answer, closed) = exchange(addr, &head, Duration::from_millis(100)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n3 bytes\n"), "{answer}");
        // Then idle on a keep-alive connection: the next head is late too.
        assert_closed_by_the_head_timeout("idle keep-alive", closed);
    }

    #[tokio::test]
    async fn a_stalled_body_is_408_and_closes_the_connection() {
        let addr = start().await;
        let request = b"POST / HTTP/1.1\r\nHost: burr\r\nContent-Length: 10\r\n\r\nabc";
        let (answer, closed) = exchange(addr, &[request], Duration::ZERO).await;
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n"),
            "{answer}"
        );
        assert!(
            answer.ends_with("request body not received within 0.3 s\n"),
            "{answer}"
        );
        let closed = closed.expect("closed after the 408");
        assert!(
            closed >= SHORT.body - Duration::from_millis(100),
            "{closed:?}"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_and_closes_the_connection() {
        let addr = start().await;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: burr\r\nContent-Length: 65\r\n\r\n{}",
            "a".repeat(65)
        );
        let (answer, closed) = exchange(addr, &[request.as_bytes()], Duration::ZERO).await;
        assert!(
            answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
            "{answer}"
        );
        assert!(
            answer.ends_with("request body larger than 64 bytes\n"),
            "{answer}"
        );
        assert!(
            closed.expect("closed after the 413") < SHORT.head,
            "{closed:?}"
        );
        // At the limit exactly, it is served.
        let request = format!(
            "POST / HTTP/1.1\r\nHost: burr\r\nContent-Length: 64\r\nConnection: close\r\n\r\n{}",
            "a".repeat(64)
        );
        let (answer, _) = exchange(addr, &[request.as_bytes()], Duration::ZERO).await;
        assert!(answer.ends_with("\r\n\r\n64 bytes\n"), "{answer}");
    }
}
