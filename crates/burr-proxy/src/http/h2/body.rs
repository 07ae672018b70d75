//! A target's response body read straight from burr's raw upstream connection and handed to
//! hyper's HTTP/2 server as frames: by `Content-Length`, until the target closes, or chunked
//! (decoded: HTTP/2 has no transfer coding, so only the chunks' data goes on). It owns the
//! upstream connection for the rest of the exchange and gives it back to the target's idle list
//! only when the body ended exactly where its framing said and the target keeps the connection;
//! dropped early (the client reset the stream), it closes the connection instead.
//!
//! Reads go into one buffer and leave it as `Bytes` split off it, without another copy. It is
//! read only when hyper asks for the next frame, which it does only when the stream has room
//! in its flow-control window: a client that stops reading stops the reads from the target.

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
    /// Bytes read from the target and not yet handed on.
    buf: BytesMut,
    /// Chunk data decoded and held back one step, so the last piece leaves marked as the end
    /// when the end of the body came in the same read.
    pending: Option<Bytes>,
    finished: bool,
    /// The target keeps the connection and nothing about the request forbids reusing it.
    reusable: bool,
    _lease: Lease,
}

impl UpstreamBody {
    /// The body that follows the response head already consumed from `upstream`'s input.
    pub fn new(
        mut upstream: RawConnection,
        body: ResponseBody,
        target: Arc<TargetShared>,
        tls: bool,
        reusable: bool,
        lease: Lease,
    ) -> Self {
        let early = upstream.input.available();
        let buf = BytesMut::from(early);
        let len = early.len();
        upstream.input.consume(len);
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
            buf,
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
            && self.buf.is_empty()
        {
            h1::release(&self.target, upstream, self.tls);
        }
    }

    /// The next frame from what is buffered, if any can be made without reading.
    fn next_buffered(&mut self) -> Result<Option<Bytes>, BoxError> {
        match &mut self.framing {
            Framing::Length { left } => {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let take = (*left).min(self.buf.len() as u64);
                *left -= take;
                let piece = self.buf.split_to(take as usize).freeze();
                if *left == 0 {
                    self.finish();
                }
                Ok(Some(piece))
            }
            Framing::UntilClose => Ok((!self.buf.is_empty()).then(|| self.buf.split().freeze())),
            Framing::Chunked(chunks) => {
                while !self.buf.is_empty() {
                    match chunks.decode(&self.buf) {
                        Decoded::Data(range) => {
                            self.buf.advance(range.start);
                            let piece = self.buf.split_to(range.len()).freeze();
                            if let Some(previous) = self.pending.replace(piece) {
                                return Ok(Some(previous));
                            }
                        }
                        Decoded::More => self.buf.clear(),
                        Decoded::End(n) => {
                            self.buf.advance(n);
                            self.finish();
                            return Ok(self.pending.take());
                        }
                        Decoded::Bad { reason, .. } => {
                            return Err(format!("invalid chunked response body: {reason}").into());
                        }
                    }
                }
                // Nothing more to decode without reading: what is decoded goes now.
                Ok(self.pending.take())
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
