//! HTTP/2 client connections, served with the h2 crate directly (framing, HPACK, flow control,
//! stream states and their limits are the h2 crate's): each stream's request goes to the same
//! handler as every request hyper parses (`http::handle`), and its response goes back through
//! [`send`], the part of a server that hyper's HTTP/2 server used to be. Serving streams here
//! saves what hyper added per stream (its request body wrapper, its stream task's state
//! machine, a scan and lookups of every response's fields) and lets the stream's future be
//! built where it lives: with the boxed upstream body, 39,190 → 36,949 instructions a request
//! (docs/performance.md).
//!
//! Kept as hyper's server did it: its settings (below), a client's reset cancels the stream's
//! handling, a response body goes out as the window allows with at most one chunk held, no
//! field of the connection's goes out (RFC 9113 §8.2.2), `Date` is added where the response
//! has none and `content-length` where the body's length is known.

use super::super::body::{ClientBody, ProxyBody};
use super::super::{Connection, handle};
use super::body::BoxError;
use crate::byte_count::CountedIo;
use crate::framing::rules;
use crate::idle::Activity;
use bytes::Bytes;
use h2::server::{Builder, SendResponse};
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderValue, Request, Response, header};
use http_body::{Body, Frame, SizeHint};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// hyper's HTTP/2 server defaults, which burr served with until it served HTTP/2 itself: 1 MiB
/// receive windows (stream and connection), 200 concurrent streams, up to 400 KiB of response
/// data buffered per stream, and 1,024 streams the server may reset for a client's errors before
/// it ends the connection (a bound on rapid-reset style abuse, with the h2 crate's own bound of
/// 20 streams reset by the client before they are accepted).
fn builder(max_head: usize) -> Builder {
    let mut builder = Builder::new();
    builder
        .initial_window_size(1 << 20)
        .initial_connection_window_size(1 << 20)
        .max_frame_size(16 * 1024)
        .max_concurrent_streams(200)
        .max_send_buffer_size(400 * 1024)
        .max_local_error_reset_streams(Some(1024))
        .max_header_list_size(u32::try_from(max_head).unwrap_or(u32::MAX));
    builder
}

/// Serves HTTP/2 on `io` until the connection closes or has been idle for `idle_timeout` (then
/// GOAWAY, and the open streams finish). Bytes read and written are counted on the listener.
pub(in crate::http) async fn serve<I>(
    io: I,
    conn: Arc<Connection>,
    activity: &Activity,
    idle_timeout: Duration,
    max_head: usize,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = CountedIo::new(io, conn.slot.current().stats.clone());
    let idle = activity.idle_for(idle_timeout);
    tokio::pin!(idle);
    let mut connection = tokio::select! {
        shaken = builder(max_head).handshake::<_, Bytes>(io) => match shaken {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%error, "HTTP/2 handshake failed");
                return;
            }
        },
        _ = &mut idle => return,
    };
    let mut closing = false;
    loop {
        tokio::select! {
            accepted = connection.accept() => match accepted {
                // A task per stream, as hyper did: a stream waiting on its target holds up no
                // other. Boxed, so that tokio moves a pointer, not the stream's state (kilobytes),
                // as the task is made, started and ended; the box is allocated first and the
                // future made in it, so not even that move copies the whole state.
                Some(Ok((request, respond))) => {
                    let boxed = Box::new_uninit();
                    let future = Box::write(boxed, stream(conn.clone(), request, respond));
                    tokio::spawn(Box::into_pin(future));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "HTTP/2 connection ended");
                    return;
                }
                None => return,
            },
            _ = &mut idle, if !closing => {
                closing = true;
                connection.graceful_shutdown();
            }
        }
    }
}

/// One stream: its request handled, unless the client resets it first (then the handling is
/// dropped, which gives up its target connection), and the response sent.
async fn stream(
    conn: Arc<Connection>,
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| rules::parse_content_length(v.as_bytes()));
    let request = request.map(|body| ClientBody::H2(StreamBody::new(body, declared)));
    // In a block of its own, so the handler's state (kilobytes) is gone before the response is
    // sent and the stream's future need not hold both.
    let answered = {
        let handled = handle(conn, request);
        tokio::pin!(handled);
        poll_fn(|cx| {
            if let Poll::Ready(Ok(response)) = handled.as_mut().poll(cx) {
                return Poll::Ready(Some(response));
            }
            respond.poll_reset(cx).map(|_| None)
        })
        .await
    };
    if let Some(response) = answered {
        send(response, respond).await;
    }
}

/// Sends `response` on the stream: its head, then its body as the client's window allows.
async fn send(response: Response<ProxyBody>, mut respond: SendResponse<Bytes>) {
    // No field of the connection's goes out on HTTP/2 (RFC 9113 §8.2.2; the h2 crate would
    // refuse the head and the stream would be reset): a target's fields went through the
    // proxy's response filters already, and of burr's own answers only the 400 has one, the
    // `Connection: close` that ends an HTTP/1.x connection after it.
    let (mut parts, mut body) = response.into_parts();
    parts.headers.remove(header::CONNECTION);
    parts
        .headers
        .entry(header::DATE)
        .or_insert_with(super::date::date);
    let ended = body.is_end_stream();
    if !ended && let Some(len) = body.size_hint().exact() {
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(len));
    }
    let mut sender = match respond.send_response(Response::from_parts(parts, ()), ended) {
        Ok(sender) => sender,
        Err(error) => {
            tracing::debug!(%error, "HTTP/2 response head refused");
            respond.send_reset(Reason::INTERNAL_ERROR);
            return;
        }
    };
    if !ended && let Err(error) = pipe(&mut body, &mut sender).await {
        tracing::debug!(%error, "HTTP/2 response body ended early");
    }
}

/// Relays `body` to `sender`: a frame is taken from the body only once the previous one is
/// handed to the h2 crate, which holds it until the window lets it out (within
/// `max_send_buffer_size`), so a client that stops reading stops the body. A reset by the
/// client ends it.
async fn pipe(body: &mut ProxyBody, sender: &mut SendStream<Bytes>) -> Result<(), BoxError> {
    loop {
        let frame = poll_fn(|cx| {
            if let Poll::Ready(reset) = sender.poll_reset(cx) {
                return Poll::Ready(Err(reset_error(reset)));
            }
            Pin::new(&mut *body).poll_frame(cx).map(Ok)
        })
        .await?;
        let frame = match frame {
            None => {
                sender.send_data(Bytes::new(), true)?;
                return Ok(());
            }
            Some(Ok(frame)) => frame,
            Some(Err(error)) => {
                sender.send_reset(Reason::INTERNAL_ERROR);
                return Err(error);
            }
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    sender.reserve_capacity(0);
                    sender.send_trailers(trailers)?;
                    return Ok(());
                }
                continue;
            }
        };
        let ended = body.is_end_stream();
        // The last chunk needs no wait: nothing more is read after it, so what the h2 crate
        // holds for the window is this one chunk, and the claim is its length.
        if !data.is_empty() && !ended {
            // A claim of one byte, not the chunk's length (hyper #4003): a stream waiting for
            // its next chunk must not hold connection window another stream could use. The
            // h2 crate raises the claim to what `send_data` buffers.
            sender.reserve_capacity(1);
            poll_fn(|cx| wait_capacity(sender, cx)).await?;
        }
        sender.send_data(data, ended)?;
        if ended {
            return Ok(());
        }
    }
}

/// Ready once `sender` has window for at least one byte, or with the reason it never will.
fn wait_capacity(
    sender: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), BoxError>> {
    loop {
        if let Poll::Ready(reset) = sender.poll_reset(cx) {
            return Poll::Ready(Err(reset_error(reset)));
        }
        if sender.capacity() > 0 {
            return Poll::Ready(Ok(()));
        }
        match ready!(sender.poll_capacity(cx)) {
            Some(Ok(_)) => {}
            Some(Err(error)) => return Poll::Ready(Err(error.into())),
            None => return Poll::Ready(Err("the stream closed".into())),
        }
    }
}

fn reset_error(reset: Result<Reason, h2::Error>) -> BoxError {
    match reset {
        Ok(reason) => format!("the client reset the stream ({reason})").into(),
        Err(error) => error.into(),
    }
}

/// An HTTP/2 stream's request body. The window is given back as each chunk is taken, so a
/// target that reads slowly holds the client back by flow control.
pub struct StreamBody {
    stream: RecvStream,
    /// The declared `content-length` still to come (the h2 crate refuses a stream whose DATA
    /// does not add up to it).
    remaining: Option<u64>,
    data_done: bool,
}

impl StreamBody {
    fn new(stream: RecvStream, declared: Option<u64>) -> Self {
        Self {
            stream,
            remaining: declared,
            data_done: false,
        }
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.data_done {
            match ready!(this.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = this.stream.flow_control().release_capacity(data.len());
                    if let Some(remaining) = &mut this.remaining {
                        *remaining = remaining.saturating_sub(data.len() as u64);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                None => this.data_done = true,
            }
        }
        match ready!(this.stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(error) => Poll::Ready(Some(Err(error.into()))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            _ if self.stream.is_end_stream() => SizeHint::with_exact(0),
            Some(remaining) => SizeHint::with_exact(remaining),
            None => SizeHint::default(),
        }
    }
}
