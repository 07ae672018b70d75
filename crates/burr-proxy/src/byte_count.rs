//! Counting the bytes a client connection moves into its listener's `received_bytes` and
//! `sent_bytes` (`burr_received_bytes_total`, `burr_sent_bytes_total`).
//!
//! [`CountedIo`] wraps the client side of an HTTP connection (after TLS, so it counts HTTP's
//! bytes) and of a TCP/SSL relay on the copy path; the splice path of `tcp_pump` adds its
//! chunks itself. Each read or write that moves bytes costs one relaxed atomic add and no system
//! call: the counts come from what the call returned anyway.

use crate::metrics::ListenerStats;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A client connection whose bytes count on its listener.
pub(crate) struct CountedIo<T> {
    inner: T,
    stats: Arc<ListenerStats>,
}

impl<T> CountedIo<T> {
    pub(crate) fn new(inner: T, stats: Arc<ListenerStats>) -> Self {
        Self { inner, stats }
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The counters bytes moved around this wrapper (spliced) must be added to.
    pub(crate) fn stats(&self) -> &ListenerStats {
        &self.stats
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CountedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.stats
                .received_bytes
                .fetch_add(read as u64, Ordering::Relaxed);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CountedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = result {
            self.count_sent(n);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result {
            self.count_sent(n);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T> CountedIo<T> {
    fn count_sent(&self, n: usize) {
        if n > 0 {
            self.stats.sent_bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}
