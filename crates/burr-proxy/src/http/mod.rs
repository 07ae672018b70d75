//! Serving client connections over HTTP: TLS termination, protocol choice (HTTP/1.1, h2c with
//! prior knowledge, h2 by ALPN), per-connection limits and timeouts. HTTP/1.1 starts on burr's
//! own fast path ([`h1`]); HTTP/2 by the h2 crate driven from [`h2::serve`], and HTTP/1.x from
//! the first request the fast path leaves by hyper, each request with the handler here that
//! counts, evaluates the listener's rules, forwards (or answers a fixed response or redirect)
//! and logs.

pub(crate) mod body;
pub mod h1;
pub(crate) mod h2;
mod headers;
mod observe;
mod proxy;
mod rewind;
mod upgrade;

pub(crate) use headers::strip_cookies;

use crate::access_log::AccessLog;
use crate::actions::Outcome;
use crate::byte_count::CountedIo;
use crate::framing::{FramingGuard, UpgradeGate};
use crate::idle::{Activity, ActivityIo};
use crate::listeners::ListenerSlot;
use crate::proxy_protocol::ClientTls;
use crate::upstream::PrivateConnections;
use body::{ClientBody, ProxyBody};
use headers::ForwardedValues;
use http::{Request, Response, header};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use observe::{LogHead, RequestEnd, Times};
use rewind::Rewind;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What every request on one client connection shares.
struct Connection {
    slot: Arc<ListenerSlot>,
    client: SocketAddr,
    /// The address the client connected to.
    local: SocketAddr,
    forwarded: ForwardedValues,
    /// The same for the HTTP/1.1 fast path, as header lines.
    fast_forwarded: h1::Forwarded,
    /// What redirects substitute of the connection (`#{protocol}`, `#{port}`).
    request_context: crate::actions::RequestContext,
    access_log: Option<AccessLog>,
    /// Requests feed the latency histograms (`--latency-histograms`).
    histograms: bool,
    /// Upstream connections that began with a PROXY header naming this client, made on first
    /// use by a pool with `upstream.proxy_protocol`.
    private: OnceLock<Arc<PrivateConnections>>,
    /// Tells the framing guard how each request asking for an upgrade was answered.
    upgrade_gate: Arc<UpgradeGate>,
    /// What the TLS handshake told of the client (https listeners), for PROXY header TLVs.
    client_tls: OnceLock<Arc<ClientTls>>,
}

impl Connection {
    fn private_connections(&self) -> &Arc<PrivateConnections> {
        self.private.get_or_init(|| {
            Arc::new(PrivateConnections::new(
                self.client,
                self.local,
                self.client_tls.get().map(|tls| ClientTls::clone(tls)),
            ))
        })
    }
}

/// The HTTP/2 server burr serves HTTP/2 clients with (`burr serve --http2-codec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Http2Codec {
    /// The h2 crate, driven by `h2::serve`: the fallback.
    H2Crate,
    /// burr's own (`h2::server`).
    #[default]
    Burr,
}

/// Serves one accepted client connection until it closes, idles out or breaks the protocol.
pub async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    slot: Arc<ListenerSlot>,
    access_log: Option<AccessLog>,
    histograms: bool,
    http2_codec: Http2Codec,
) {
    let listener = slot.current();
    let local = crate::listeners::accepted_on(&stream, listener.bind);
    let _ = stream.set_nodelay(true);
    // A front proxy's PROXY header comes before anything else, TLS included; its client is the
    // one X-Forwarded-For, stickiness, rules and the access log name.
    let Some((client, local)) =
        crate::proxy_protocol::inbound::connection_addresses(&mut stream, peer, local, &listener)
            .await
    else {
        return;
    };
    let spec = &listener.spec;
    let activity = Activity::new();
    let io = ActivityIo::new(stream, activity.clone());
    let idle_timeout = Duration::from_secs(u64::from(spec.idle_timeout_secs));
    let head_timeout = Duration::from_secs(u64::from(spec.header_read_timeout_secs));
    let max_head = spec.max_header_bytes as usize;
    let max_headers = spec.max_headers as usize;
    let tls = listener.tls.clone();
    let forwarded = ForwardedValues::new(client.ip(), tls.is_some(), listener.key.port);
    let fast_forwarded = h1::Forwarded::new(client.ip(), tls.is_some(), listener.key.port);
    drop(listener);
    let conn = Arc::new(Connection {
        slot,
        client,
        local,
        forwarded,
        fast_forwarded,
        request_context: crate::actions::RequestContext {
            https: tls.is_some(),
            port: local.port(),
        },
        access_log,
        histograms,
        private: OnceLock::new(),
        upgrade_gate: UpgradeGate::new(),
        client_tls: OnceLock::new(),
    });
    // Each path is boxed so a connection's task holds only the state of the protocol it speaks
    // (one future holding every path's state measured 5.7 KiB per connection).
    let Some(tls) = tls else {
        // Plain listeners speak HTTP/1.1, or HTTP/2 to clients that open with its preface.
        if starts_with_h2_preface(io.get_ref(), head_timeout).await {
            Box::pin(serve_h2(
                io,
                conn,
                &activity,
                idle_timeout,
                max_head,
                http2_codec,
            ))
            .await;
        } else {
            let limits = Http1Limits {
                idle_timeout,
                head_timeout,
                max_head,
                max_headers,
            };
            Box::pin(serve_http1(io, conn, &activity, limits)).await;
        }
        return;
    };
    Box::pin(serve_tls(
        io,
        tls,
        conn,
        &activity,
        head_timeout,
        idle_timeout,
        max_head,
        max_headers,
        http2_codec,
    ))
    .await;
}

/// HTTP/2 with the chosen server.
async fn serve_h2<I>(
    io: I,
    conn: Arc<Connection>,
    activity: &Activity,
    idle_timeout: Duration,
    max_head: usize,
    codec: Http2Codec,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match codec {
        Http2Codec::H2Crate => {
            h2::serve::serve(io, conn, activity, idle_timeout, max_head).await;
        }
        Http2Codec::Burr => {
            h2::server::serve(io, conn, activity, idle_timeout, max_head).await;
        }
    }
}

/// TLS termination, then HTTP/2 or HTTP/1.1 as negotiated by ALPN.
#[allow(clippy::too_many_arguments)]
async fn serve_tls(
    io: ActivityIo<TcpStream>,
    tls: Arc<rustls::ServerConfig>,
    conn: Arc<Connection>,
    activity: &Activity,
    head_timeout: Duration,
    idle_timeout: Duration,
    max_head: usize,
    max_headers: usize,
    http2_codec: Http2Codec,
) {
    let stats = conn.slot.current().stats.clone();
    let Some(stream) = crate::tls::accept_counted(tls, io, head_timeout, &stats.events).await
    else {
        return; // handshake failed or too slow: nothing to answer in HTTP
    };
    let _ = conn
        .client_tls
        .set(Arc::new(ClientTls::of(stream.get_ref().1)));
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        serve_h2(stream, conn, activity, idle_timeout, max_head, http2_codec).await;
    } else {
        let limits = Http1Limits {
            idle_timeout,
            head_timeout,
            max_head,
            max_headers,
        };
        serve_http1(stream, conn, activity, limits).await;
    }
}

/// An HTTP/1.x connection's limits.
#[derive(Clone, Copy)]
struct Http1Limits {
    idle_timeout: Duration,
    head_timeout: Duration,
    max_head: usize,
    max_headers: usize,
}

/// Serves HTTP/1.x: burr's fast path first; from the first request it leaves to hyper, hyper
/// behind the framing guard, with the bytes already read put back in front.
async fn serve_http1<I>(io: I, conn: Arc<Connection>, activity: &Activity, limits: Http1Limits)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    // A plain client socket lets the fast path splice bodies.
    CountedIo<I>: crate::splice::ClientSocket,
{
    // Counted after TLS, so the listener's byte counters are HTTP's bytes on either path.
    let io = CountedIo::new(io, conn.slot.current().stats.clone());
    let flags = h1::Flags::default();
    let fast_limits = h1::Limits {
        head_timeout: limits.head_timeout,
        max_head: limits.max_head,
        max_headers: limits.max_headers,
    };
    let ending = {
        let served = h1::serve(io, &conn, &flags, fast_limits);
        tokio::pin!(served);
        tokio::select! {
            ending = served.as_mut() => ending,
            _ = activity.idle_for(limits.idle_timeout) => {
                if !flags.busy() {
                    return; // idle between requests: close
                }
                // Idle in the middle of an exchange: close once it is done.
                flags.close_after_exchange();
                served.await
            }
        }
    };
    if let h1::Ending::Fallback { io, buffered } = ending {
        let io = FramingGuard::new(
            Rewind::new(buffered, io),
            limits.max_head,
            limits.max_headers,
            limits.head_timeout,
            conn.upgrade_gate.clone(),
        );
        serve_h1(
            io,
            conn,
            activity,
            limits.idle_timeout,
            limits.max_head,
            limits.max_headers,
        )
        .await;
    }
}

const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Peeks at the first bytes: true if they are the HTTP/2 connection preface. hyper's
/// auto-detecting server does the same but costs ~4 KiB more per idle connection.
pub async fn starts_with_h2_preface(stream: &TcpStream, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 24];
    loop {
        let peeked = tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await;
        let n = match peeked {
            Ok(Ok(n)) if n > 0 => n,
            _ => return false, // closed, failed or silent: the HTTP/1 path reports it
        };
        if buf[..n] != H2_PREFACE[..n] {
            return false;
        }
        if n == H2_PREFACE.len() {
            return true;
        }
        // A prefix of the preface so far: wait briefly for the rest (it is one packet in
        // practice), within the head timeout.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Serves HTTP/1.1 until the connection closes or has been idle for `idle_timeout`. The
/// request-head timeout is the framing guard's: hyper's own would start as soon as a keep-alive
/// connection goes idle and so cut it short of the idle timeout.
async fn serve_h1<I>(
    io: I,
    conn: Arc<Connection>,
    activity: &Activity,
    idle_timeout: Duration,
    max_head: usize,
    max_headers: usize,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        handle(conn.clone(), req.map(ClientBody::Hyper))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // A request the framing guard refuses ends the read side early; half-close lets hyper
        // still answer the requests before it (then the guard's 400 follows).
        .half_close(true)
        // One flattened `send` per write instead of `writev`: the socket path is shorter in the
        // kernel, and copying a response head costs less than the difference (measured).
        .writev(false)
        // The guard enforces the exact head limit; hyper's buffer only needs room for a head
        // of that size and what follows it in the same read.
        .max_buf_size(max_head + 16 * 1024)
        .max_headers(max_headers)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.idle_for(idle_timeout) => {
            // Idle: close now if between requests, else after the current response.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Handles one request: count it, forward it, and (when timed or logged) have its response
/// body record it once the response has gone out.
async fn handle(
    conn: Arc<Connection>,
    mut req: Request<ClientBody>,
) -> Result<Response<ProxyBody>, Infallible> {
    let mut times = Times::start(&conn);
    let listener = conn.slot.current();
    let mut log_head = None;
    // On HTTP/1.x the framing guard holds everything after a request asking for an upgrade
    // until it learns whether the answer switched protocols.
    let asks_upgrade = req.version() <= http::Version::HTTP_11
        && req.headers().contains_key(http::header::UPGRADE);
    let mut client_upgrade = asks_upgrade.then(|| hyper::upgrade::on(&mut req));
    let mut error_reason = None;
    let mut body_counted = None;
    // Read only when the request is timed or logged (see `bodiless` below).
    let is_head = times.received.is_some() && req.method() == http::Method::HEAD;
    let (response, target) = if let Some(refused) = proxy::refusal(&req) {
        if conn.access_log.is_some() {
            log_head = Some(Box::new(request_log_head(&req, &listener, None)));
        }
        listener
            .stats
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (refused.into_response(""), None)
    } else {
        let routed = proxy::route(&req, &conn, &listener);
        listener
            .stats
            .count_request(routed.kind, routed.priority.is_some());
        if conn.access_log.is_some() {
            log_head = Some(Box::new(request_log_head(&req, &listener, Some(&routed))));
        }
        match routed.outcome {
            // The request body is not read: hyper closes an HTTP/1.x connection whose request
            // body it could not drain, and resets an HTTP/2 stream's.
            Outcome::Answer(answer) => {
                let mut response = answer.into_response();
                if let Some(mark) = &routed.mark {
                    mark.write_headers(response.headers_mut());
                }
                (response.map(ProxyBody::text), None)
            }
            Outcome::Forward { pool, group } => {
                let extras = crate::canary::Extras {
                    strip: routed.strip,
                    group: group.as_ref(),
                    mark: routed.mark.as_ref(),
                };
                // An undeclared body length (chunked, HTTP/2 without `content-length`) is counted
                // as the body is read, for the access log only.
                if log_head.is_some() && req.body().size_hint().exact().is_none() {
                    body_counted = Some(Arc::new(std::sync::atomic::AtomicU64::new(0)));
                }
                // HTTP/2 streams go over burr's own upstream connections, as the fast path's
                // requests do; PROXY-protocol pools keep hyper's client (private connections).
                let raw = req.version() == http::Version::HTTP_2
                    && !pool.spec.upstream.proxy_protocol
                    && h2::fits(&req);
                let req = req.map(|body| body::RequestBody::new(body, body_counted.clone()));
                let forwarding = if raw {
                    h2::forward(req, &conn, &listener, pool, extras, &mut times).await
                } else {
                    // Boxed: hyper's client's state would otherwise be part of every HTTP/2
                    // stream's future (kilobytes more to allocate and fill per stream).
                    let forwarding = proxy::forward(
                        req,
                        &conn,
                        &listener,
                        pool,
                        extras,
                        &mut client_upgrade,
                        &mut times,
                    );
                    Box::pin(forwarding).await
                };
                match forwarding {
                    Ok(forwarded) => (forwarded.response, Some(forwarded.target)),
                    Err(error) => {
                        tracing::debug!(listener = %listener.key, %error, "request failed");
                        if log_head.is_some() {
                            error_reason = observe::error_reason(&error);
                        }
                        (error.into_response(&pool.spec.name), None)
                    }
                }
            }
        }
    };
    let status = response.status();
    if asks_upgrade {
        conn.upgrade_gate
            .answered(status == http::StatusCode::SWITCHING_PROTOCOLS);
    }
    if let Some(refused) = client_upgrade {
        tokio::spawn(upgrade::close_after_refused(refused));
    }
    listener.stats.count_response(status.as_u16());
    if times.received.is_none() {
        return Ok(response);
    }
    // The response head starts out to the client once hyper has it (ELB's end of
    // `response_processing`); taken only for the access log.
    times.response_start();
    let end = RequestEnd {
        head_bytes: if log_head.is_some() {
            proxy::head_size(&response) as u64
        } else {
            0
        },
        conn,
        listener,
        times,
        target,
        status: status.as_u16(),
        log: log_head,
        error_reason,
        upgraded: status == http::StatusCode::SWITCHING_PROTOCOLS,
        body_counted,
        bodiless: is_head
            || status == http::StatusCode::NO_CONTENT
            || status == http::StatusCode::NOT_MODIFIED,
    };
    Ok(response.map(|body| body.ending_with(Box::new(end))))
}

/// What the access log records of a request as hyper parsed it. The byte count is the head as
/// HTTP/1.1 text plus the declared body length (hyper keeps neither the raw head nor, for
/// HTTP/2, anything like it); a body of undeclared length is counted as it is read
/// (`RequestEnd::body_counted`).
fn request_log_head(
    req: &Request<ClientBody>,
    listener: &crate::runtime::ListenerRuntime,
    routed: Option<&crate::actions::Routed<'_>>,
) -> LogHead {
    let uri = req.uri();
    // An absolute-form target is logged as sent; HTTP/2's URI always carries the authority,
    // but what the client sent as `:path` is the path and query.
    let absolute;
    let target = if req.version() < http::Version::HTTP_2 && uri.scheme().is_some() {
        absolute = uri.to_string();
        absolute.as_str()
    } else {
        uri.path_and_query().map_or("/", |p| p.as_str())
    };
    let field = |name| LogHead::text(req.headers().get(name).map(|v| v.as_bytes()));
    let fields: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    let head = req.method().as_str().len() + 1 + target.len() + " HTTP/1.1\r\n".len() + fields + 2;
    let body = http_body::Body::size_hint(req.body()).exact().unwrap_or(0);
    let host = match uri.authority() {
        Some(a) => Some(std::borrow::Cow::Borrowed(a.as_str())),
        None => field(header::HOST),
    };
    let user_agent = field(header::USER_AGENT);
    let parts = observe::HeadParts {
        method: req.method().as_str(),
        uri: target,
        host: host.as_deref(),
        user_agent: user_agent.as_deref(),
        version: req.version(),
        received_bytes: head as u64 + body,
    };
    LogHead::new(listener, parts, routed)
}
