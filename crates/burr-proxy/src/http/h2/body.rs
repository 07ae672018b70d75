//! A target's response body read straight from burr's raw upstream connection and handed to the
//! HTTP/2 sender (`serve::pipe`) as frames: by `Content-Length`, until the target closes, or
//! chunked (decoded: HTTP/2 has no transfer coding, so only the chunks' data goes on). It owns the
//! upstream connection for the rest of the exchange and gives it back to the target's idle list
//! only when the body ended exactly where its framing said and the target keeps the connection;
//! dropped early (the client reset the stream), it closes the connection instead.
//!
//! Reads go into one buffer and leave it as `Bytes` split off it, without another copy. It is
//! read only when the sender asks for the next frame, which it does only once the previous one
//! has been handed to the h2 crate within the stream's window: a client that stops reading
//! stops the reads from the target.

use crate::framing::{ChunkedBody, Decoded, MAX_RESPONSE_HEAD};
use crate::http::h1::response::ResponseBody;
use crate::http::h1::{self, RawConnection};
use crate::runtime::TargetShared;
use crate::upstream::Lease;
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// Room offered to each read: a body larger than what came with the head is read in pieces of
/// up to this much, each handed on whole (one frame per read, not per chunk of the target's).
const READ_SIZE: usize = 32 * 1024;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

enum Framing {
    Length { left: u64 },
    Chunked(ChunkedBody),
    UntilClose,
}

pub struct UpstreamBody {
    /// `None` once given back or closed.
    upstream: Option<RawConnection>,
    target: Arc<TargetShared>,
    tls: bool,
    framing: Framing,
    /// The body bytes that came with the response head, handed on before `buf`'s.
    early: Bytes,
    /// Bytes read from the target since, not yet handed on.
    buf: BytesMut,
    /// Chunk data decoded and held back one step, so the last piece leaves marked as the end
    /// when the end of the body came in the same read.
    pending: Option<Bytes>,
    finished: bool,
    /// The target keeps the connection and nothing about the request forbids reusing it.
    reusable: bool,
    _lease: Lease,
}

/// What the framing makes of the next buffered bytes: skip `skip` of them (framing), then
/// `data` bytes of content; `ended` when the body ends right after.
struct Step {
    skip: usize,
    data: usize,
    ended: bool,
}

impl UpstreamBody {
    /// The body whose first bytes are `early` (read with the head, which `upstream`'s input no
    /// longer holds).
    pub fn new(
        upstream: RawConnection,
        early: Bytes,
        body: ResponseBody,
        target: Arc<TargetShared>,
        tls: bool,
        reusable: bool,
        lease: Lease,
    ) -> Self {
        let (framing, finished) = match body {
            ResponseBody::None => (Framing::Length { left: 0 }, true),
            ResponseBody::Length(n) => (Framing::Length { left: n }, n == 0),
            ResponseBody::Chunked => (Framing::Chunked(ChunkedBody::new(MAX_RESPONSE_HEAD)), false),
            ResponseBody::UntilClose => (Framing::UntilClose, false),
        };
        let mut this = Self {
            upstream: Some(upstream),
            target,
            tls,
            framing,
            early,
            buf: BytesMut::new(),
            pending: None,
            finished: false,
            reusable,
            _lease: lease,
        };
        if finished {
            this.finish();
        }
        this
    }

    /// The body ended where its framing said: the connection serves again if it may and
    /// nothing was sent after the body.
    fn finish(&mut self) {
        self.finished = true;
        if let Some(upstream) = self.upstream.take()
            && self.reusable
            && self.early.is_empty()
            && self.buf.is_empty()
        {
            h1::release(&self.target, upstream, self.tls);
        }
    }

    /// What the framing makes of `available`, the next buffered bytes (not empty).
    fn step(framing: &mut Framing, available: &[u8]) -> Result<Step, BoxError> {
        Ok(match framing {
            Framing::Length { left } => {
                let data = (*left).min(available.len() as u64);
                *left -= data;
                Step {
                    skip: 0,
                    data: data as usize,
                    ended: *left == 0,
                }
            }
            Framing::UntilClose => Step {
                skip: 0,
                data: available.len(),
                ended: false,
            },
            Framing::Chunked(chunks) => match chunks.decode(available) {
                Decoded::Data(range) => Step {
                    skip: range.start,
                    data: range.len(),
                    ended: false,
                },
                Decoded::More => Step {
                    skip: available.len(),
                    data: 0,
                    ended: false,
                },
                Decoded::End(n) => Step {
                    skip: n,
                    data: 0,
                    ended: true,
                },
                Decoded::Bad { reason, .. } => {
                    return Err(format!("invalid chunked response body: {reason}").into());
                }
            },
        })
    }

    /// The next frame from what is buffered, if any can be made without reading.
    fn next_buffered(&mut self) -> Result<Option<Bytes>, BoxError> {
        loop {
            let piece = if !self.early.is_empty() {
                let step = Self::step(&mut self.framing, &self.early)?;
                self.early.advance(step.skip);
                let piece = self.early.split_to(step.data);
                (piece, step.ended)
            } else if !self.buf.is_empty() {
                let step = Self::step(&mut self.framing, &self.buf)?;
                self.buf.advance(step.skip);
                let piece = self.buf.split_to(step.data).freeze();
                (piece, step.ended)
            } else {
                // Nothing more without reading: what is decoded goes now.
                return Ok(self.pending.take());
            };
            let (piece, ended) = piece;
            let ready = if piece.is_empty() {
                None
            } else {
                self.pending.replace(piece)
            };
            if ended {
                self.finish();
                // `ready` (if any) goes first; the last piece waits in `pending`, which
                // `poll_frame` hands on once finished.
                return Ok(ready.or_else(|| self.pending.take()));
            }
            if ready.is_some() {
                return Ok(ready);
            }
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(this.pending.take().map(|d| Ok(Frame::data(d))));
            }
            match this.next_buffered() {
                Ok(Some(piece)) => return Poll::Ready(Some(Ok(Frame::data(piece)))),
                Ok(None) if this.finished => continue,
                Ok(None) => {}
                Err(e) => {
                    this.upstream = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            let Some(upstream) = this.upstream.as_mut() else {
                return Poll::Ready(Some(Err("upstream connection gone".into())));
            };
            if this.buf.capacity() - this.buf.len() < READ_SIZE / 4 {
                // Reclaims the buffer's own allocation when every piece split off it is gone.
                this.buf.reserve(READ_SIZE);
            }
            match ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut upstream.stream),
                cx,
                &mut this.buf
            )) {
                Ok(0) => {
                    this.upstream = None;
                    if matches!(this.framing, Framing::UntilClose) {
                        this.finished = true;
                        return Poll::Ready(None);
                    }
                    // Cut short: the client must learn the body is incomplete (a reset stream).
                    return Poll::Ready(Some(Err("the target closed mid-body".into())));
                }
                Ok(_) => {}
                Err(e) => {
                    this.upstream = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished && self.pending.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.framing {
            Framing::Length { left } => SizeHint::with_exact(*left),
            _ if self.is_end_stream() => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
