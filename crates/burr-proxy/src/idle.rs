//! Idle-timeout tracking for client connections, with the Classic ELB meaning: a connection on
//! which no byte has been read or written for the idle timeout is closed.
//!
//! [`ActivityIo`] stamps the real coarse clock ([`crate::clock::io_now_ms`]) on every read and write that moves bytes; the
//! connection's watchdog sleeps until the stamp plus the timeout and re-arms while traffic flows,
//! so an active connection costs one relaxed store per I/O call and one timer wake-up per timeout
//! period.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Last time (coarse clock, ms) bytes moved on a connection.
#[derive(Default)]
pub struct Activity(AtomicU64);

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(crate::clock::io_now_ms())))
    }

    pub(crate) fn touch(&self) {
        self.0.store(crate::clock::io_now_ms(), Ordering::Relaxed);
    }

    /// Resolves once the connection has been idle for `timeout`.
    pub async fn idle_for(&self, timeout: Duration) {
        let timeout_ms = timeout.as_millis() as u64;
        loop {
            let last = self.0.load(Ordering::Relaxed);
            let now = crate::clock::io_now_ms();
            let idle = now.saturating_sub(last);
            if idle >= timeout_ms {
                return;
            }
            tokio::time::sleep(Duration::from_millis(timeout_ms - idle) + crate::clock::RESOLUTION)
                .await;
        }
    }
}

/// Wraps a connection and records activity on it.
pub struct ActivityIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> ActivityIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// What bytes moved around this wrapper (spliced) must stamp.
    pub(crate) fn activity(&self) -> &Activity {
        &self.activity
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
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
