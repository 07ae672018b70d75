//! Moving the bytes of an exchange on the fast path once its heads are settled: a request
//! body to the target (or to nowhere, when burr answered itself), the response's head and body
//! to the client by its framing, and the one way every message is written ([`send`]).

use super::buffer::InputBuffer;
use super::response::ResponseBody;
use super::{COALESCE, Failure, RawConnection};
use crate::framing::{ChunkedBody, MAX_RESPONSE_HEAD, Scan};
use crate::http::proxy::ProxyError;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

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

/// Copies the rest of a `Content-Length` request body from the client to the target.
pub(super) async fn relay_request_body<I, U>(
    io: &mut I,
    input: &mut InputBuffer,
    upstream: &mut U,
    mut left: u64,
) -> Result<(), Failure>
where
    I: AsyncRead + Unpin,
    U: AsyncWrite + Unpin,
{
    while left > 0 {
        if input.is_empty() {
            match input.fill(io).await {
                Ok(n) if n > 0 => {}
                _ => return Err(Failure::Broken), // the client gave up mid-body
            }
        }
        let take = (left.min(input.available().len() as u64)) as usize;
        if let Err(e) = send(upstream, &input.available()[..take]).await {
            return Err(Failure::Reply(ProxyError::Upstream(e.to_string())));
        }
        input.consume(take);
        left -= take as u64;
    }
    Ok(())
}

/// Writes the response head in `out` and relays the body; true when the body ended where its
/// framing says (so the upstream connection may serve again). Adds what it writes to `sent`.
pub(super) async fn relay_response<I: AsyncWrite + Unpin>(
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
        match upstream.input.fill(&mut upstream.stream).await {
            Ok(0) if body == ResponseBody::UntilClose => return Ok(false),
            Ok(n) if n > 0 => {}
            _ => return Err(Failure::Broken), // cut short: the client must not wait for more
        }
    }
}

/// Writes all of `bytes` and flushes (a TLS stream may hold records back until flushed; for
/// TCP the flush is free).
pub(super) async fn send<W: AsyncWrite + Unpin>(to: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    to.write_all(bytes).await?;
    to.flush().await
}
