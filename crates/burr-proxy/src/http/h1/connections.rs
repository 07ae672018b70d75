//! The fast path's upstream connections: a stream to a target with the bytes read from it and
//! not yet used, kept in the target's per-worker idle lists between requests. The connection
//! counts itself in the target's open-connection gauge for as long as it lives. Also reading a
//! response head from one.

use super::buffer::InputBuffer;
use crate::framing::{self, MAX_RESPONSE_HEAD};
use crate::runtime::TargetShared;
use crate::target_stream::{self, ConnectError, Dial, TargetStream};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

/// Read buffer of an upstream connection (grown for a larger response head).
const UPSTREAM_BUFFER: usize = 8192;

pub struct RawConnection {
    pub stream: TargetStream,
    pub input: InputBuffer,
    /// Weak: idle connections live inside their target, which must not be kept alive by them.
    counted: Weak<TargetShared>,
}

impl Drop for RawConnection {
    fn drop(&mut self) {
        if let Some(target) = self.counted.upgrade() {
            target.stats.connections.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl RawConnection {
    /// False when the target has closed the idle connection or sent something unasked. When
    /// the socket has not become readable since the last response, this costs no system call:
    /// the runtime's readiness flag says so. (A TLS connection is trusted as it is; its
    /// readable bytes may be session tickets, and a stale one is retried, see `mod.rs`.)
    fn still_usable(&mut self) -> bool {
        let TargetStream::Plain(tcp) = &self.stream else {
            return true;
        };
        let mut cx = Context::from_waker(Waker::noop());
        match tcp.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }
}

/// An idle connection to `target` if one is usable (`true`: reused), else a new one.
pub async fn checkout(
    target: &Arc<TargetShared>,
    connect_timeout_ms: u32,
    tls: bool,
) -> Result<(RawConnection, bool), ConnectError> {
    if let Some(conn) = target.raw_idle.take(tls, RawConnection::still_usable) {
        return Ok((conn, true));
    }
    let dial = Dial {
        timeout_ms: connect_timeout_ms,
        tls,
        proxy_header: None,
    };
    // Boxed: connecting (TLS handshake included) is the rare case, and its state would
    // otherwise be part of every exchange's future, moved and held whether it connects or not.
    let stream = Box::pin(target_stream::open(target, dial)).await?;
    target.stats.connections.fetch_add(1, Ordering::Relaxed);
    let conn = RawConnection {
        stream,
        input: InputBuffer::new(UPSTREAM_BUFFER),
        counted: Arc::downgrade(target),
    };
    Ok((conn, false))
}

/// Gives `conn` back to `target`'s idle list after a complete exchange, with the room a bulk
/// response took given back, so an idle connection holds what it held before.
pub fn release(target: &TargetShared, mut conn: RawConnection, tls: bool) {
    conn.input.shrink(UPSTREAM_BUFFER);
    target.raw_idle.put(conn, tls);
}

/// Why a target gave no usable response head.
#[derive(Debug, thiserror::Error)]
pub(super) enum UpstreamHead {
    #[error("the target closed the connection before responding")]
    ClosedBeforeResponse,
    #[error("the target closed the connection mid-head")]
    ClosedMidHead,
    #[error("response head larger than {MAX_RESPONSE_HEAD} bytes")]
    TooLarge,
    #[error("reading the response failed: {0}")]
    Io(std::io::Error),
}

/// Reads until a complete response head is available.
pub(super) async fn read_response_head(
    upstream: &mut RawConnection,
) -> Result<usize, UpstreamHead> {
    loop {
        if let Some(end) = framing::head_end(upstream.input.available()) {
            return if end > MAX_RESPONSE_HEAD {
                Err(UpstreamHead::TooLarge)
            } else {
                Ok(end)
            };
        }
        if upstream.input.available().len() > MAX_RESPONSE_HEAD {
            return Err(UpstreamHead::TooLarge);
        }
        let was_empty = upstream.input.is_empty();
        match upstream.input.fill(&mut upstream.stream).await {
            Ok(0) if was_empty => return Err(UpstreamHead::ClosedBeforeResponse),
            Ok(0) => return Err(UpstreamHead::ClosedMidHead),
            Ok(_) => {}
            Err(e) if was_empty && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Err(UpstreamHead::ClosedBeforeResponse);
            }
            Err(e) => return Err(UpstreamHead::Io(e)),
        }
    }
}
