//! Serving client connections over HTTP: TLS termination, protocol choice (HTTP/1.1, h2c with
//! prior knowledge, h2 by ALPN), per-connection limits and timeouts, and the request handler that
//! counts, forwards and logs.

mod body;
mod headers;
mod proxy;
mod upgrade;

use crate::access_log::{AccessLog, Entry};
use crate::framing::FramingGuard;
use crate::idle::{Activity, ActivityIo};
use crate::listeners::ListenerSlot;
use body::ProxyBody;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What every request on one client connection shares.
struct Connection {
    slot: Arc<ListenerSlot>,
    client: SocketAddr,
    access_log: Option<AccessLog>,
}

/// Serves one accepted client connection until it closes, idles out or breaks the protocol.
pub async fn serve(
    stream: TcpStream,
    client: SocketAddr,
    slot: Arc<ListenerSlot>,
    access_log: Option<AccessLog>,
) {
    let listener = slot.current();
    let spec = &listener.spec;
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = ActivityIo::new(stream, activity.clone());
    let idle_timeout = Duration::from_secs(u64::from(spec.idle_timeout_secs));
    let head_timeout = Duration::from_secs(u64::from(spec.header_read_timeout_secs));
    let max_head = spec.max_header_bytes as usize;
    let max_headers = spec.max_headers as usize;
    let tls = listener.tls.clone();
    drop(listener);
    let conn = Arc::new(Connection {
        slot,
        client,
        access_log,
    });
    let Some(tls) = tls else {
        let io = FramingGuard::new(io, max_head, max_headers, head_timeout);
        run(
            io,
            conn,
            Protocols::Auto,
            &activity,
            idle_timeout,
            max_head,
            max_headers,
        )
        .await;
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let Ok(Ok(stream)) = tokio::time::timeout(head_timeout, acceptor.accept(io)).await else {
        return; // handshake failed or too slow: nothing to answer in HTTP
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        run(
            stream,
            conn,
            Protocols::Http2,
            &activity,
            idle_timeout,
            max_head,
            max_headers,
        )
        .await;
    } else {
        let io = FramingGuard::new(stream, max_head, max_headers, head_timeout);
        run(
            io,
            conn,
            Protocols::Http1,
            &activity,
            idle_timeout,
            max_head,
            max_headers,
        )
        .await;
    }
}

enum Protocols {
    /// HTTP/1.1, or HTTP/2 when the client opens with the h2 preface.
    Auto,
    Http1,
    Http2,
}

/// Serves HTTP on `io`. The request-head timeout is the framing guard's (hyper's own would start
/// as soon as a keep-alive connection goes idle and so cut it short of the idle timeout).
async fn run<I>(
    io: I,
    conn: Arc<Connection>,
    protocols: Protocols,
    activity: &Activity,
    idle_timeout: Duration,
    max_head: usize,
    max_headers: usize,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // A request the framing guard refuses ends the read side early; half-close lets hyper
        // still answer the requests before it (then the guard's 400 follows).
        .half_close(true)
        // One flattened `send` per write instead of `writev`: the socket path is shorter in the
        // kernel, and the copy of a response head is cheaper than the difference (measured).
        .writev(false)
        .max_buf_size(max_head.max(8192))
        .max_headers(max_headers);
    builder.http2().max_header_list_size(max_head as u32);
    let builder = match protocols {
        Protocols::Auto => builder,
        Protocols::Http1 => builder.http1_only(),
        Protocols::Http2 => builder.http2_only(),
    };
    let service = hyper::service::service_fn(move |req| handle(conn.clone(), req));
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.idle_for(idle_timeout) => {
            // Idle: close between requests (HTTP/1.1) or with GOAWAY (HTTP/2).
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Handles one request: count it, forward it, log it.
async fn handle(
    conn: Arc<Connection>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let started = conn.access_log.as_ref().map(|_| Instant::now());
    let listener = conn.slot.current();
    listener
        .stats
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log_line = conn.access_log.as_ref().map(|_| {
        (
            req.method().clone(),
            req.uri()
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.to_string()),
            req.version(),
        )
    });
    let (response, target) = match proxy::forward(req, conn.client, &listener).await {
        Ok(forwarded) => (forwarded.response, forwarded.target),
        Err(error) => {
            tracing::debug!(listener = %listener.key, %error, "request failed");
            (error.into_response(&listener.pool.spec.name), None)
        }
    };
    listener.stats.count_response(response.status().as_u16());
    if let (Some(log), Some((method, path, version)), Some(started)) =
        (&conn.access_log, log_line, started)
    {
        log.write(Entry {
            client: conn.client,
            listener: &listener.key,
            method: &method,
            path: &path,
            version,
            status: response.status().as_u16(),
            target: target.as_deref(),
            elapsed: started.elapsed(),
        });
    }
    Ok(response)
}
