//! A stream's way out in burr's HTTP/2 server: its handler polled until it has a response, the
//! response head encoded (HPACK, no field of the connection's, `date` where it has none,
//! `content-length` where the body's length is known), then the body sent as DATA within the
//! stream's and the connection's windows, one body frame held at most, so a client that stops
//! reading stops the reads from the target. The window the request body's reader gave back
//! goes back to the client from here too.

use super::frame::{self, ErrorCode, flag, kind};
use super::hpack;
use super::request::connection_specific;
use super::streams::{CREDIT_AT, Handling, Phase, Sending, Stream};
use super::{OUT_HIGH, Server};
use crate::http::body::ClientBody;
use crate::http::body::ProxyBody;
use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, header};
use http_body::Body;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};

/// Where a stream's body stands after a turn.
enum Turn {
    /// Waits for its target (its waker will queue it).
    Waiting,
    /// Waits for window.
    Blocked,
    /// Stopped because the output is full; to be run again once it is written.
    Yielded,
    /// Its last frame is out.
    Done,
    /// The body failed: the stream is reset.
    Failed,
}

impl<I, S> Server<I, S>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: FnMut(Request<ClientBody>) -> Handling,
{
    /// Polls the streams that can move; true if there were any.
    pub(super) fn run_streams(&mut self) -> bool {
        let mut runnable = std::mem::take(&mut self.runnable);
        let mut queued = std::mem::take(&mut self.queued);
        self.streams.ready.take(&mut queued);
        runnable.append(&mut queued);
        self.queued = queued;
        if runnable.is_empty() {
            self.runnable = runnable;
            return false;
        }
        let mut ran = 0;
        for &slot in &runnable {
            if self.pending_out() >= OUT_HIGH || self.ending == super::Ending::Now {
                break;
            }
            self.run_stream(slot);
            ran += 1;
        }
        // What the full output held back runs after the next write.
        runnable.drain(..ran);
        runnable.append(&mut self.runnable);
        self.runnable = runnable;
        true
    }

    fn run_stream(&mut self, slot: usize) {
        self.streams.unqueue(slot);
        let entry = &mut self.streams.slots[slot];
        let Some(stream) = entry.stream.as_mut() else {
            return; // ended since it was queued
        };
        let mut cx = Context::from_waker(&entry.waker);
        if let Phase::Handling(handling) = &mut stream.phase {
            let Poll::Ready(Ok(response)) = handling.as_mut().poll(&mut cx) else {
                self.collect_credit(slot);
                return;
            };
            let (parts, body) = response.into_parts();
            let ended = body.is_end_stream();
            encode_head(&parts, &body, ended, &mut self.head_block);
            frame::write_header_block(
                &mut self.out,
                stream.id,
                &self.head_block,
                ended,
                frame::MAX_FRAME,
            );
            if ended {
                drop(body);
                self.finish(slot);
                return;
            }
            stream.phase = Phase::Sending(Sending {
                body,
                held: Bytes::new(),
                last: false,
            });
        }
        let turn = pump(
            stream,
            &mut cx,
            &mut self.out,
            &mut self.send_window,
            &mut self.head_block,
        );
        match turn {
            Turn::Waiting => self.collect_credit(slot),
            Turn::Blocked => {
                if !stream.blocked {
                    stream.blocked = true;
                    self.blocked.push(slot);
                }
                self.collect_credit(slot);
            }
            Turn::Yielded => {
                self.runnable.push(slot);
                self.collect_credit(slot);
            }
            Turn::Done => self.finish(slot),
            Turn::Failed => {
                let id = stream.id;
                self.reset(id, ErrorCode::INTERNAL_ERROR);
            }
        }
    }

    /// The response is out: the stream ends. If the client is still sending, it is told to
    /// stop (RST_STREAM NO_ERROR, RFC 9113 §8.1).
    fn finish(&mut self, slot: usize) {
        let stream = self.streams.slots[slot].stream.as_ref().expect("open");
        if stream.recv_closed {
            self.recv_credit += self.streams.remove(slot);
        } else {
            let id = stream.id;
            self.reset(id, ErrorCode::NO_ERROR);
        }
    }

    /// Gives back the window of what the stream's request body reader took: to the
    /// connection's credit, and to the stream once half its window is taken.
    fn collect_credit(&mut self, slot: usize) {
        let Some(stream) = self.streams.slots[slot].stream.as_mut() else {
            return;
        };
        let Some(recv) = &stream.recv else {
            return;
        };
        let taken = recv.take_credit().min(stream.charged);
        if taken == 0 {
            return;
        }
        stream.charged -= taken;
        self.recv_credit += taken;
        stream.taken += taken;
        if !stream.recv_closed && stream.taken >= CREDIT_AT {
            frame::write_window_update(&mut self.out, stream.id, stream.taken as u32);
            stream.recv_window += stream.taken as i64;
            stream.taken = 0;
        }
    }
}

/// Sends what `stream`'s body has, within the windows.
fn pump(
    stream: &mut Stream,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
    conn_window: &mut i64,
    block: &mut Vec<u8>,
) -> Turn {
    let Phase::Sending(sending) = &mut stream.phase else {
        return Turn::Waiting;
    };
    loop {
        if !sending.held.is_empty() {
            let window = stream.send_window.min(*conn_window).max(0) as usize;
            let n = sending.held.len().min(window).min(frame::MAX_FRAME);
            if n == 0 {
                return Turn::Blocked;
            }
            let end = sending.last && n == sending.held.len();
            let flags = if end { flag::END_STREAM } else { 0 };
            frame::write_head(out, n, kind::DATA, flags, stream.id);
            out.extend_from_slice(&sending.held[..n]);
            sending.held.advance(n);
            stream.send_window -= n as i64;
            *conn_window -= n as i64;
            if end {
                return Turn::Done;
            }
            if out.len() >= OUT_HIGH {
                return Turn::Yielded;
            }
            continue;
        }
        match Pin::new(&mut sending.body).poll_frame(cx) {
            Poll::Pending => return Turn::Waiting,
            Poll::Ready(None) => {
                frame::write_head(out, 0, kind::DATA, flag::END_STREAM, stream.id);
                return Turn::Done;
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(%error, "HTTP/2 response body ended early");
                return Turn::Failed;
            }
            Poll::Ready(Some(Ok(body_frame))) => match body_frame.into_data() {
                Ok(data) => {
                    sending.last = sending.body.is_end_stream();
                    sending.held = data;
                    if sending.held.is_empty() && sending.last {
                        frame::write_head(out, 0, kind::DATA, flag::END_STREAM, stream.id);
                        return Turn::Done;
                    }
                }
                Err(body_frame) => {
                    if let Ok(trailers) = body_frame.into_trailers() {
                        encode_fields(&trailers, block);
                        frame::write_header_block(out, stream.id, block, true, frame::MAX_FRAME);
                        return Turn::Done;
                    }
                }
            },
        }
    }
}

/// Encodes a response head into `block`.
fn encode_head(parts: &http::response::Parts, body: &ProxyBody, ended: bool, block: &mut Vec<u8>) {
    block.clear();
    hpack::encode_status(parts.status.as_u16(), block);
    let (has_date, has_length) = encode_regular(&parts.headers, block);
    if !has_date {
        hpack::encode_field(b"date", super::super::date::date().as_bytes(), false, block);
    }
    if !ended
        && !has_length
        && let Some(length) = body.size_hint().exact()
    {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(length).as_bytes();
        hpack::encode_field(b"content-length", digits, false, block);
    }
}

/// Trailers: fields only.
fn encode_fields(fields: &HeaderMap, block: &mut Vec<u8>) {
    block.clear();
    encode_regular(fields, block);
}

/// Encodes `fields` but the connection's (RFC 9113 §8.2.2: a target's went through the
/// proxy's filters already; of burr's own answers only the 400 has one, `Connection: close`);
/// returns whether `date` and `content-length` were among them.
fn encode_regular(fields: &HeaderMap, block: &mut Vec<u8>) -> (bool, bool) {
    let (mut has_date, mut has_length) = (false, false);
    for (name, value) in fields {
        if connection_specific(name) {
            continue;
        }
        match *name {
            header::DATE => has_date = true,
            header::CONTENT_LENGTH => has_length = true,
            _ => {}
        }
        hpack::encode_field(
            name.as_str().as_bytes(),
            value.as_bytes(),
            value.is_sensitive(),
            block,
        );
    }
    (has_date, has_length)
}
