//! The response body burr sends to clients: either a target's body streamed through, which
//! hands the upstream connection back to its pool when it ends, or a short local message.

use crate::upstream::Lease;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

pub enum ProxyBody {
    Upstream { body: Incoming, lease: Lease },
    Local(Option<Bytes>),
}

impl ProxyBody {
    /// Wraps a target's response body; a body that is already complete frees its connection now.
    pub fn upstream(body: Incoming, mut lease: Lease) -> Self {
        if body.is_end_stream() {
            lease.release_connection();
        }
        Self::Upstream { body, lease }
    }

    pub fn text(text: impl Into<Bytes>) -> Self {
        Self::Local(Some(text.into()))
    }

    pub fn empty() -> Self {
        Self::Local(None)
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Upstream { body, lease } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    // hyper's server stops polling once `is_end_stream` is true, so release as
                    // soon as the last frame is out, not only on `None`.
                    Poll::Ready(None) => lease.release_connection(),
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => lease.release_connection(),
                    _ => {}
                }
                polled
            }
            Self::Local(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Upstream { body, .. } => body.is_end_stream(),
            Self::Local(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Upstream { body, .. } => body.size_hint(),
            Self::Local(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
