//! Moving the bytes of an exchange on the fast path once its heads are settled: a request
//! body to the target (or to nowhere, when burr answered itself), the response's head and body
//! to the client by its framing, and the one way every message is written ([`send`]).
//!
//! Bodies burr does not look into (`Content-Length` request and response bodies, response
//! bodies that end at close) go socket → pipe → socket with `splice(2)` ([`crate::splice`])
//! when both the client and the target are plain TCP sockets and at least [`SPLICE_MIN`] bytes
//! remain: exactly the body's remaining length, never a byte past it, so the next response
//! on a kept upstream connection stays in its socket. Bytes already read into a buffer go out
//! by write first. Everything else (TLS on either side, chunked bodies, which are scanned for
//! their end, or splice refused) is copied through the connection's input buffer, which grows
//! while the transfer is sustained ([`InputBuffer::fill_bulk`]), so each write carries more.
//! Back-pressure holds either way: nothing is read while the previous bytes are unwritten, so
//! burr holds at most one buffer ([`super::buffer::BULK_MAX`]) or one pipe per direction.

use super::buffer::InputBuffer;
use super::response::ResponseBody;
use super::{COALESCE, Failure, RawConnection};
use crate::framing::{ChunkedBody, MAX_RESPONSE_HEAD, Scan};
use crate::http::proxy::ProxyError;
use crate::idle::Activity;
use crate::splice::{self, ClientSocket, Failed, Pipe, SPLICE_CHUNK};
use crate::target_stream::TargetStream;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Remaining body length from which a body is spliced rather than copied: below it, a body
/// ends within a read or two anyway, and stays on exactly the path small exchanges took.
pub(super) const SPLICE_MIN: u64 = 16 * 1024;

/// Reads and drops `left` body bytes of a request the balancer answered itself.
pub(super) async fn discard_body<I: AsyncRead + Unpin>(
    io: &mut I,
    input: &mut InputBuffer,
    mut left: u64,
) -> Result<(), ()> {
    while left > 0 {
        if input.is_empty() {
            match input.fill(io).await {
                Ok(n) if n > 0 => {}
                _ => return Err(()),
            }
        }
        let take = (left.min(input.available().len() as u64)) as usize;
        input.consume(take);
        left -= take as u64;
    }
    Ok(())
}

/// Relays the rest of a `Content-Length` request body from the client to the target.
pub(super) async fn relay_request_body<I>(
    io: &mut I,
    input: &mut InputBuffer,
    upstream: &mut TargetStream,
    mut left: u64,
) -> Result<(), Failure>
where
    I: AsyncRead + Unpin + ClientSocket,
{
    let upstream_failed = |e: std::io::Error| Failure::Reply(ProxyError::Upstream(e.to_string()));
    while left > 0 {
        if input.is_empty() {
            if left >= SPLICE_MIN
                && let (Some(client), TargetStream::Plain(target)) = (io.plain_socket(), &*upstream)
            {
                let ends = Ends {
                    from: client.socket,
                    to: target,
                    activity: client.activity,
                    counter: &client.stats.received_bytes,
                };
                let mut moved = 0;
                match Box::pin(splice_body(ends, Some(left), &mut moved)).await {
                    Ok(Spliced::Whole) => return Ok(()),
                    Ok(Spliced::Ended) | Err(Failed::From(_)) => return Err(Failure::Broken),
                    Ok(Spliced::Refused) => left -= moved, // the rest is copied
                    Err(Failed::To(e)) => return Err(upstream_failed(e)),
                }
            }
            match input.fill_bulk(io, left).await {
                Ok(n) if n > 0 => {}
                _ => return Err(Failure::Broken), // the client gave up mid-body
            }
        }
        let take = (left.min(input.available().len() as u64)) as usize;
        if let Err(e) = send(upstream, &input.available()[..take]).await {
            return Err(upstream_failed(e));
        }
        input.consume(take);
        left -= take as u64;
    }
    Ok(())
}

/// Writes the response head in `out` and relays the body; true when the body ended where its
/// framing says (so the upstream connection may serve again). Adds what it writes to `sent`.
pub(super) async fn relay_response<I: AsyncWrite + Unpin + ClientSocket>(
    io: &mut I,
    upstream: &mut RawConnection,
    body: ResponseBody,
    out: &mut Vec<u8>,
    sent: &mut u64,
) -> Result<bool, Failure> {
    let mut length_left = match body {
        ResponseBody::Length(n) => n,
        _ => 0,
    };
    let mut chunks = ChunkedBody::new(MAX_RESPONSE_HEAD);
    let mut first = true;
    // Tried once, after the head and the bytes read with it are out; if refused, or not worth
    // it, the rest is copied.
    let mut may_splice = matches!(body, ResponseBody::UntilClose | ResponseBody::Length(_));
    loop {
        // How much of what is buffered belongs to this body, and whether the body ends there.
        let available = upstream.input.available();
        let (take, ended) = match body {
            ResponseBody::None => (0, true),
            ResponseBody::Length(_) => {
                let take = length_left.min(available.len() as u64);
                length_left -= take;
                (take as usize, length_left == 0)
            }
            ResponseBody::Chunked => match chunks.scan(available) {
                Scan::More => (available.len(), false),
                Scan::End(n) => (n, true),
                // Nothing relayed yet: the client is told, as for any broken response.
                Scan::Bad { reason, .. } if first => {
                    return Err(Failure::Reply(ProxyError::Upstream(format!(
                        "invalid chunked response body: {reason}"
                    ))));
                }
                Scan::Bad { .. } => return Err(Failure::Broken),
            },
            ResponseBody::UntilClose => (available.len(), false),
        };
        let piece = &available[..take];
        let written = if first && out.len() + take <= COALESCE {
            out.extend_from_slice(piece);
            *sent += out.len() as u64;
            send(io, out).await
        } else if first {
            *sent += (out.len() + take) as u64;
            match send(io, out).await {
                Ok(()) => send(io, piece).await,
                err => err,
            }
        } else {
            *sent += take as u64;
            send(io, piece).await
        };
        written.map_err(|_| Failure::Broken)?;
        first = false;
        upstream.input.consume(take);
        if ended {
            return Ok(true);
        }
        if std::mem::take(&mut may_splice)
            && (body == ResponseBody::UntilClose || length_left >= SPLICE_MIN)
            && upstream.input.is_empty()
            && let (Some(client), TargetStream::Plain(target)) =
                (io.plain_socket(), &upstream.stream)
        {
            let ends = Ends {
                from: target,
                to: client.socket,
                activity: client.activity,
                counter: &client.stats.sent_bytes,
            };
            let before = *sent;
            let left = (body != ResponseBody::UntilClose).then_some(length_left);
            match Box::pin(splice_body(ends, left, sent)).await {
                Ok(Spliced::Whole) => return Ok(true),
                Ok(Spliced::Ended) if body == ResponseBody::UntilClose => return Ok(false),
                Ok(Spliced::Refused) => length_left = length_left.saturating_sub(*sent - before),
                // Cut short by the target, or the client left.
                Ok(Spliced::Ended) | Err(_) => return Err(Failure::Broken),
            }
        }
        let wanted = match body {
            ResponseBody::Length(_) => length_left,
            _ => u64::MAX,
        };
        match upstream.input.fill_bulk(&mut upstream.stream, wanted).await {
            Ok(0) if body == ResponseBody::UntilClose => return Ok(false),
            Ok(n) if n > 0 => {}
            _ => return Err(Failure::Broken), // cut short: the client must not wait for more
        }
    }
}

/// How [`splice_body`] ended.
enum Spliced {
    /// All the bytes asked for moved.
    Whole,
    /// The source reached end-of-stream first.
    Ended,
    /// The kernel refused to splice (before any byte of that chunk moved): the rest must be
    /// copied.
    Refused,
}

/// The sockets of a splice, and what must see the bytes: the client's idle stamp and the
/// listener's byte counter of the client's side (as the client's wrappers do for copied bytes).
struct Ends<'a> {
    from: &'a TcpStream,
    to: &'a TcpStream,
    activity: &'a Activity,
    counter: &'a AtomicU64,
}

/// Splices `left` bytes (or until end-of-stream, when `None`) from one end to the other, never
/// asking the source for more than remain; adds each chunk to `moved` as it goes out. No pipe
/// to be had counts as refused. Callers box it: one allocation per large body keeps its state
/// out of every exchange's future, which small exchanges would pay for.
async fn splice_body(
    ends: Ends<'_>,
    mut left: Option<u64>,
    moved: &mut u64,
) -> Result<Spliced, Failed> {
    let Ok(mut pipe) = Pipe::take() else {
        return Ok(Spliced::Refused);
    };
    loop {
        let len = left.map_or(SPLICE_CHUNK, |left| left.min(SPLICE_CHUNK as u64) as usize);
        let chunk =
            match splice::splice_once(ends.from, ends.to, &mut pipe, len, ends.activity).await? {
                None => return Ok(Spliced::Refused),
                Some(0) => return Ok(Spliced::Ended),
                Some(chunk) => chunk as u64,
            };
        ends.counter.fetch_add(chunk, Ordering::Relaxed);
        *moved += chunk;
        if let Some(left) = &mut left {
            *left -= chunk;
            if *left == 0 {
                return Ok(Spliced::Whole);
            }
        }
    }
}

/// Writes all of `bytes` and flushes (a TLS stream may hold records back until flushed; for
/// TCP the flush is free).
pub(super) async fn send<W: AsyncWrite + Unpin>(to: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    to.write_all(bytes).await?;
    to.flush().await
}
