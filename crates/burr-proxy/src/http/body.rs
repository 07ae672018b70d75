//! The response body burr sends to clients: either a target's body streamed through, which
//! hands the upstream connection back to its pool when it ends (from hyper's client, or read
//! straight from a raw upstream connection for HTTP/2 streams, `h2::body`), or a short local
//! message. When
//! the request is timed or logged, the body also carries what the request records at its end
//! ([`RequestEnd`]): the body is the last thing of a request hyper lets go of, once the response
//! has been handed to the connection in full (or the client left). And the request body burr
//! sends to targets ([`RequestBody`]): the client's ([`ClientBody`]: hyper's for HTTP/1.x, the
//! h2 crate's stream for HTTP/2), counted for the access log when its length was not declared.

use super::h2::body::{BoxError, UpstreamBody};
use super::h2::serve::StreamBody;
use super::observe::RequestEnd;
use crate::upstream::Lease;
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

pub struct ProxyBody {
    inner: Inner,
    /// Recorded when the body is dropped; `None` when nothing is timed or logged. Boxed: the
    /// body is part of every HTTP/2 stream's future and is moved as its response is sent.
    end: Option<Box<RequestEnd>>,
    /// Body bytes handed to the client so far (counted only with `end`).
    sent: u64,
}

enum Inner {
    Upstream {
        body: Incoming,
        lease: Lease,
    },
    /// Read straight from burr's own upstream connection (HTTP/2 streams). Boxed: the response
    /// this body is part of is moved several times on its way to the h2 crate, and a pointer
    /// costs less to move than the body's 300 bytes (measured: fewer instructions per stream,
    /// allocation included).
    Raw(Box<UpstreamBody>),
    Local(Option<Bytes>),
}

impl ProxyBody {
    /// Wraps a target's response body; a body that is already complete frees its connection now.
    pub fn upstream(body: Incoming, mut lease: Lease) -> Self {
        if body.is_end_stream() {
            lease.release_connection();
        }
        Self::of(Inner::Upstream { body, lease })
    }

    /// Wraps a target's response body read from a raw upstream connection.
    pub fn raw(body: UpstreamBody) -> Self {
        Self::of(Inner::Raw(Box::new(body)))
    }

    pub fn text(text: impl Into<Bytes>) -> Self {
        Self::of(Inner::Local(Some(text.into())))
    }

    pub fn empty() -> Self {
        Self::of(Inner::Local(None))
    }

    fn of(inner: Inner) -> Self {
        Self {
            inner,
            end: None,
            sent: 0,
        }
    }

    /// Records `end` once this body has gone out (or been given up).
    pub(super) fn ending_with(mut self, end: Box<RequestEnd>) -> Self {
        self.end = Some(end);
        self
    }
}

/// A client's request body as the server that parsed it hands it over.
pub enum ClientBody {
    /// HTTP/1.x, parsed by hyper.
    Hyper(Incoming),
    /// An HTTP/2 stream's, from the h2 crate.
    H2(StreamBody),
    /// An HTTP/2 stream's, from burr's own HTTP/2 server.
    H2Burr(super::h2::server::streams::StreamBody),
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ClientBody::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            ClientBody::H2(body) => Pin::new(body).poll_frame(cx),
            ClientBody::H2Burr(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::Hyper(body) => body.is_end_stream(),
            ClientBody::H2(body) => body.is_end_stream(),
            ClientBody::H2Burr(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::Hyper(body) => body.size_hint(),
            ClientBody::H2(body) => body.size_hint(),
            ClientBody::H2Burr(body) => body.size_hint(),
        }
    }
}

/// A client's request body on its way to a target. Its bytes are counted (one relaxed add per
/// frame) only when the access log is on and the client declared no length (a chunked upload,
/// an HTTP/2 body without `content-length`): a declared length is the count already.
pub struct RequestBody {
    inner: ClientBody,
    counted: Option<Arc<AtomicU64>>,
}

impl RequestBody {
    pub fn new(inner: ClientBody, counted: Option<Arc<AtomicU64>>) -> Self {
        Self { inner, counted }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Some(counted) = &this.counted
            && let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            counted.fetch_add(data.remaining() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        if let Some(end) = self.end.take() {
            let complete = self.is_end_stream();
            end.finish(complete, self.sent);
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Inner::Upstream { body, lease } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    // The servers stop polling once `is_end_stream` is true, so release as
                    // soon as the last frame is out, not only on `None`.
                    Poll::Ready(None) => lease.release_connection(),
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => lease.release_connection(),
                    _ => {}
                }
                polled.map_err(Into::into)
            }
            Inner::Raw(body) => Pin::new(&mut **body).poll_frame(cx),
            Inner::Local(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        };
        if this.end.is_some()
            && let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.sent += data.remaining() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream { body, .. } => body.is_end_stream(),
            Inner::Raw(body) => body.is_end_stream(),
            Inner::Local(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream { body, .. } => body.size_hint(),
            Inner::Raw(body) => body.size_hint(),
            Inner::Local(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
