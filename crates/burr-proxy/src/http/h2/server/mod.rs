//! burr's own HTTP/2 server (RFC 9113), the default (`burr serve --http2-codec burr`): one task
//! per client connection reads frames, decodes header blocks ([`hpack`]), runs each stream's
//! handler (the same `http::handle` as every other request) inside the connection's task, and
//! writes responses as frames into one output buffer, written once per round of work. What the
//! h2 crate did with a task per stream, a shared lock, frame queues and header maps built twice
//! is here a slot per stream ([`streams`]) and a byte buffer.
//!
//! The connection's rules are in [`frames`] (what each frame does, and which errors end a stream
//! or the connection), a request's in [`request`], a response's way out in [`response`]. The
//! limits are hyper's former ones, which burr served with: 200 concurrent streams, 1 MiB
//! windows, 16 KiB frames, a header list of the listener's `max_header_bytes`, 1,024 streams
//! reset for the client's errors. A client that resets more than half of its streams, past 100,
//! is told ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). Output is bounded: past 64 KiB not
//! yet written, no frame is read and no body polled until the client reads.

mod frames;
mod request;
mod response;
pub(crate) mod streams;

use super::frame::{self, ErrorCode, PREFACE, setting};
use super::hpack;
use crate::byte_count::CountedIo;
use crate::http::Connection;
use crate::http::body::ClientBody;
use crate::idle::Activity;
use bytes::BytesMut;
use http::Request;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use streams::{Handling, Streams};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// The stream and connection windows burr gives clients.
const WINDOW: i64 = 1 << 20;
const MAX_CONCURRENT_STREAMS: usize = 200;
/// Output not yet written past which nothing more is read or produced.
const OUT_HIGH: usize = 64 * 1024;
/// Streams burr may reset for the client's errors before it ends the connection.
const MAX_LOCAL_RESETS: u32 = 1024;
/// Streams burr remembers having reset, whose frames still on their way are ignored (a
/// quarter of the concurrent streams; older ones get STREAM_CLOSED).
const RESET_MEMORY: usize = 64;
/// The least room a read is offered.
const READ_ROOM: usize = 4096;
/// The output buffer's capacity kept while no stream is open.
const IDLE_OUT: usize = 4096;
/// The HPACK dynamic table burr's decoder keeps (SETTINGS_HEADER_TABLE_SIZE's default).
const HEADER_TABLE: usize = 4096;

/// Serves HTTP/2 on `io` until the connection closes, fails, or has been idle for
/// `idle_timeout` (then GOAWAY, and the open streams finish). Bytes read and written are
/// counted on the listener.
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
    let start = move |request| -> Handling {
        // Made in its box: the handler's state is kilobytes, and this way it is not copied.
        let handling = Box::write(
            Box::new_uninit(),
            crate::http::handle(conn.clone(), request),
        );
        Box::into_pin(handling)
    };
    serve_with(io, start, activity, idle_timeout, max_head).await;
}

/// [`serve`], each stream's request handled by `start` (the fuzz target's handler is not
/// burr's).
pub(crate) async fn serve_with<I, S>(
    io: I,
    start: S,
    activity: &Activity,
    idle_timeout: Duration,
    max_head: usize,
) where
    I: AsyncRead + AsyncWrite + Unpin,
    S: FnMut(Request<ClientBody>) -> Handling,
{
    let mut server = Server::new(io, start, max_head);
    let idle = activity.idle_for(idle_timeout);
    tokio::pin!(idle);
    loop {
        match poll_fn(|cx| server.poll(cx, idle.as_mut())).await {
            Round::Ended => break,
            // Idle: GOAWAY, and the open streams finish; idle again before they have (the
            // client reads nothing more), the connection ends.
            Round::Idle if server.ending == Ending::No => server.go_away(ErrorCode::NO_ERROR),
            Round::Idle => break,
        }
        idle.set(activity.idle_for(idle_timeout));
    }
    // What the streams left: their handlers and bodies go before the connection's end.
    drop(std::mem::replace(&mut server.streams, Streams::new()));
    let _ = tokio::time::timeout(Duration::from_secs(1), server.io.shutdown()).await;
}

/// Why [`Server::poll`] returned.
enum Round {
    Ended,
    Idle,
}

/// How the connection ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Serving.
    No,
    /// GOAWAY sent: the open streams finish, no new one starts.
    Graceful,
    /// The client left, or an error ended the connection (its GOAWAY is in the output): only
    /// the output is written.
    Now,
}

pub(super) struct Server<I, S> {
    io: I,
    /// Starts a stream's handling.
    start: S,
    input: BytesMut,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    written: usize,
    /// Written, but the flush that pushes it out (TLS) still waits.
    unflushed: bool,
    decoder: hpack::Decoder,
    fields: request::Fields,
    /// Field values of the header block being decoded.
    values: BytesMut,
    /// A header block continued in CONTINUATION frames: its stream, its HEADERS' flags and
    /// the fragments so far.
    continuing: Option<(u32, u8, bool)>,
    block: Vec<u8>,
    /// A response head or trailers being encoded.
    head_block: Vec<u8>,
    streams: Streams,
    /// Slots to poll this round (queued by their wakers, or let out by a WINDOW_UPDATE).
    runnable: Vec<usize>,
    /// Slots taken from the ready queue (a buffer kept between rounds).
    queued: Vec<usize>,
    /// Streams waiting for a WINDOW_UPDATE.
    blocked: Vec<usize>,
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.5.2).
    peer_initial_window: i64,
    /// The connection's windows: what burr may send, what the client may send.
    send_window: i64,
    recv_window: i64,
    /// Bytes received and consumed, not yet given back to the client's connection window.
    recv_credit: usize,
    /// The highest stream id the client opened (or, after GOAWAY, the last one served).
    last_stream: u32,
    preface_read: bool,
    settings_read: bool,
    ending: Ending,
    /// Recently reset by burr: frames already on their way for them are ignored.
    reset_recently: [u32; RESET_MEMORY],
    /// Streams reset by burr so far (where the next goes in `reset_recently`).
    resets: usize,
    /// Streams reset for the client's errors (bounded by MAX_LOCAL_RESETS).
    error_resets: u32,
    opened: u32,
    reset_by_client: u32,
    max_head: usize,
}

impl<I, S> Server<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: FnMut(Request<ClientBody>) -> Handling,
{
    fn new(io: I, start: S, max_head: usize) -> Self {
        let mut out = Vec::with_capacity(IDLE_OUT);
        frame::write_settings(
            &mut out,
            &[
                (
                    setting::MAX_CONCURRENT_STREAMS,
                    MAX_CONCURRENT_STREAMS as u32,
                ),
                (setting::INITIAL_WINDOW_SIZE, WINDOW as u32),
                (
                    setting::MAX_HEADER_LIST_SIZE,
                    u32::try_from(max_head).unwrap_or(u32::MAX),
                ),
            ],
        );
        frame::write_window_update(&mut out, 0, (WINDOW - frame::DEFAULT_WINDOW) as u32);
        Self {
            io,
            start,
            input: BytesMut::new(),
            out,
            written: 0,
            unflushed: false,
            decoder: hpack::Decoder::new(HEADER_TABLE),
            fields: request::Fields::new(),
            values: BytesMut::new(),
            continuing: None,
            block: Vec::new(),
            head_block: Vec::new(),
            streams: Streams::new(),
            runnable: Vec::new(),
            queued: Vec::new(),
            blocked: Vec::new(),
            peer_initial_window: frame::DEFAULT_WINDOW,
            send_window: frame::DEFAULT_WINDOW,
            recv_window: WINDOW,
            recv_credit: 0,
            last_stream: 0,
            preface_read: false,
            settings_read: false,
            ending: Ending::No,
            reset_recently: [0; RESET_MEMORY],
            resets: 0,
            error_resets: 0,
            opened: 0,
            reset_by_client: 0,
            max_head,
        }
    }

    fn pending_out(&self) -> usize {
        self.out.len() - self.written
    }

    /// One round: read and act on what the client sent, poll the streams that can move, write.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        idle: Pin<&mut impl Future<Output = ()>>,
    ) -> Poll<Round> {
        self.streams.ready.register(cx.waker());
        if idle.poll(cx).is_ready() {
            return Poll::Ready(Round::Idle);
        }
        loop {
            let mut progress = false;
            // Past OUT_HIGH nothing is read or run: a client that does not read holds up no
            // more than that; once the output drains, the round goes on.
            let mut held_back = false;
            if self.ending != Ending::Now {
                if self.pending_out() < OUT_HIGH {
                    progress |= self.poll_input(cx).is_ready();
                } else {
                    held_back = true;
                }
            }
            if self.ending != Ending::Now && self.pending_out() < OUT_HIGH {
                progress |= self.run_streams();
            }
            self.give_back_window();
            match self.poll_output(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(Round::Ended),
                Poll::Pending => {}
            }
            let flushed = self.pending_out() == 0;
            if self.ending != Ending::Now
                && self.pending_out() < OUT_HIGH
                && (held_back || !self.runnable.is_empty())
            {
                progress = true;
            }
            if flushed && self.streams.open == 0 && self.out.capacity() > IDLE_OUT {
                // An idle connection keeps little (the HTTP/1.x path shrinks its buffers too).
                self.out.shrink_to(IDLE_OUT);
            }
            match self.ending {
                Ending::Now if flushed => return Poll::Ready(Round::Ended),
                Ending::Graceful if flushed && self.streams.open == 0 => {
                    return Poll::Ready(Round::Ended);
                }
                _ => {}
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Reads once and handles every whole frame read; ready when something was read.
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Room for the frame under way (up to 16 KiB), or for a read of small frames.
        let frame_left = if self.input.len() >= 3 {
            (frame::HEAD_LEN + frame::Head::length(&self.input)).saturating_sub(self.input.len())
        } else {
            0
        };
        let want = frame_left.clamp(READ_ROOM, frame::HEAD_LEN + frame::MAX_FRAME);
        if self.input.capacity() - self.input.len() < want {
            self.input.reserve(want);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.input) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                // The client left: nothing more can arrive, and nothing sent would be read.
                self.ending = Ending::Now;
                self.drop_streams();
                return Poll::Ready(());
            }
            Poll::Ready(Ok(_)) => {}
        }
        if !self.preface_read {
            if self.input.len() < PREFACE.len() {
                if !PREFACE.starts_with(&self.input) {
                    self.ending = Ending::Now;
                }
                return Poll::Ready(());
            }
            if &self.input[..PREFACE.len()] != PREFACE {
                self.fail(ErrorCode::PROTOCOL_ERROR);
                return Poll::Ready(());
            }
            let _ = self.input.split_to(PREFACE.len());
            self.preface_read = true;
        }
        let mut input = std::mem::take(&mut self.input);
        // The length comes first: a frame too large is refused without waiting for the rest
        // of its header.
        if input.len() >= 3 && frame::Head::length(&input) > frame::MAX_FRAME {
            self.fail(ErrorCode::FRAME_SIZE_ERROR);
        }
        while input.len() >= frame::HEAD_LEN && self.ending != Ending::Now {
            let head = frame::Head::parse(input[..frame::HEAD_LEN].try_into().expect("9 bytes"));
            if head.len > frame::MAX_FRAME {
                self.fail(ErrorCode::FRAME_SIZE_ERROR);
                break;
            }
            if input.len() < frame::HEAD_LEN + head.len {
                break;
            }
            let result = if head.kind == frame::kind::DATA {
                let data = input.split_to(frame::HEAD_LEN + head.len).freeze();
                self.on_data(head, data)
            } else {
                let result = self.on_frame(head, &input[frame::HEAD_LEN..][..head.len]);
                bytes::Buf::advance(&mut input, frame::HEAD_LEN + head.len);
                result
            };
            if let Err(fault) = result {
                self.on_fault(fault);
            }
        }
        self.input = input;
        Poll::Ready(())
    }

    /// Writes what the output holds; ready when it is all written (or the write failed).
    fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending_out() == 0 {
            if !self.unflushed {
                return Poll::Ready(Ok(()));
            }
            let flushed = Pin::new(&mut self.io).poll_flush(cx);
            self.unflushed = flushed.is_pending();
            return flushed;
        }
        while self.written < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {
                    // What is left moves to the front, so the buffer's length is what waits
                    // (the bound the streams check before adding to it).
                    self.out.drain(..self.written);
                    self.written = 0;
                    return Poll::Pending;
                }
            }
        }
        self.out.clear();
        self.written = 0;
        // TLS holds what was written until flushed (plain TCP flushes nothing); a flush that
        // waits is taken up again on the next round, output or not.
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        self.unflushed = flushed.is_pending();
        flushed
    }

    /// Sends GOAWAY: with NO_ERROR the open streams finish; with an error the connection ends
    /// once the output is written.
    fn go_away(&mut self, code: ErrorCode) {
        frame::write_goaway(&mut self.out, self.last_stream, code);
        if code == ErrorCode::NO_ERROR {
            self.ending = Ending::Graceful;
        } else {
            self.ending = Ending::Now;
            self.drop_streams();
        }
    }

    /// A connection error (RFC 9113 §5.4.1).
    fn fail(&mut self, code: ErrorCode) {
        if self.ending != Ending::Now {
            tracing::debug!(code = code.0, "HTTP/2 connection error");
            self.go_away(code);
        }
    }

    fn drop_streams(&mut self) {
        for slot in 0..self.streams.slots.len() {
            self.streams.remove(slot);
        }
        self.blocked.clear();
    }

    /// Gives the client back the connection window its consumed DATA used, once that is half
    /// the window (so a steady upload never waits for it).
    fn give_back_window(&mut self) {
        if self.recv_credit >= streams::CREDIT_AT {
            frame::write_window_update(&mut self.out, 0, self.recv_credit as u32);
            self.recv_window += self.recv_credit as i64;
            self.recv_credit = 0;
        }
    }
}
