//! The fast path's input buffer: bytes read from a connection and not yet used, kept in one
//! allocation that is reused from request to request. Reads go into its spare capacity, so
//! nothing is zeroed and an idle connection's buffer costs only the pages a request touched.
//!
//! It adapts to bulk bodies relayed through it ([`InputBuffer::fill_bulk`]): a read that fills
//! it shows a sustained transfer, so it grows (up to [`BULK_MAX`]) and reads again at once
//! while bytes are ready, so each write that follows carries more; the connection gives the
//! room back when the exchange ends ([`InputBuffer::shrink`]), so an idle keep-alive connection
//! holds what it held before.

use std::future::Future;
use std::io;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Smallest room offered to a read; less, and the buffer is compacted or grown first.
const MIN_READ: usize = 2048;

/// Largest a buffer grows to on a sustained transfer: 16 TLS records, and with a loopback or
/// LAN peer most of what a socket holds at once.
pub const BULK_MAX: usize = 256 * 1024;

pub struct InputBuffer {
    data: Vec<u8>,
    /// Bytes before this were used.
    start: usize,
}

impl InputBuffer {
    pub fn new(capacity: usize) -> Self {
        Self {
            data: Vec::with_capacity(capacity),
            start: 0,
        }
    }

    /// The bytes read and not yet used.
    pub fn available(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.data.len()
    }

    /// Marks the first `n` available bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Reads once from `from`, appending to the available bytes; `Ok(0)` at end of stream.
    /// tokio's read future itself, not an `async fn` around it: one state machine fewer to
    /// poll on every read of every request.
    pub fn fill<'a, R: AsyncRead + Unpin>(
        &'a mut self,
        from: &'a mut R,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        if self.data.capacity() - self.data.len() < MIN_READ {
            if self.start > 0 {
                self.data.drain(..self.start);
                self.start = 0;
            }
            self.data.reserve(MIN_READ);
        }
        from.read_buf(&mut self.data)
    }

    /// Reads once from `from` like [`fill`](Self::fill); while a read fills all the room there
    /// is and fewer than `wanted` bytes are available, grows the buffer (×4, up to
    /// [`BULK_MAX`]) and reads again without waiting, for as long as bytes are ready. `Ok(0)` at
    /// end of stream (only when nothing was read).
    pub async fn fill_bulk<R: AsyncRead + Unpin>(
        &mut self,
        from: &mut R,
        wanted: u64,
    ) -> io::Result<usize> {
        let mut total = self.fill(from).await?;
        while total > 0
            && self.data.len() == self.data.capacity()
            && (self.available().len() as u64) < wanted
            && self.grow()
        {
            match ready_now(from.read_buf(&mut self.data)) {
                Some(Ok(0)) | None => break, // the end shows at the next fill
                Some(Ok(read)) => total += read,
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Makes room for more bytes: the used ones dropped, capacity ×4 up to [`BULK_MAX`]; false
    /// when it is that large already.
    fn grow(&mut self) -> bool {
        let capacity = self.data.capacity();
        if capacity >= BULK_MAX {
            return false;
        }
        if self.start > 0 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        let target = (capacity.max(MIN_READ) * 4).min(BULK_MAX);
        self.data.reserve_exact(target - self.data.len());
        true
    }

    /// Gives back room beyond `capacity` a bulk transfer took, keeping the unused bytes.
    /// Called after every exchange: inline, so the common case costs one comparison.
    #[inline]
    pub fn shrink(&mut self, capacity: usize) {
        if self.data.capacity() > capacity {
            self.shrink_now(capacity);
        }
    }

    #[cold]
    fn shrink_now(&mut self, capacity: usize) {
        self.data.drain(..self.start);
        self.start = 0;
        self.data.shrink_to(capacity);
    }

    /// The room the buffer holds.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// The unused bytes, giving the buffer up.
    pub fn into_rest(mut self) -> Vec<u8> {
        self.data.drain(..self.start);
        self.data
    }
}

/// Polls `future` once without a waker: its output if it is ready now. For a read, readiness
/// the runtime already knows of is used and nothing is waited for; the next real poll installs
/// the task's waker again.
fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_unused_bytes_across_reads_and_compacts() {
        let mut buf = InputBuffer::new(16);
        let mut source: &[u8] = &[7u8; 5000];
        let mut total = 0;
        while total < 5000 {
            let n = buf.fill(&mut source).await.unwrap();
            total += n;
            buf.consume(buf.available().len().saturating_sub(3)); // always keep 3 unused
        }
        assert_eq!(buf.available(), &[7, 7, 7]);
        assert_eq!(buf.fill(&mut source).await.unwrap(), 0);
        assert_eq!(buf.into_rest(), vec![7, 7, 7]);
    }

    #[tokio::test]
    async fn grows_on_a_sustained_transfer_reads_what_is_ready_and_shrinks_back() {
        let mut buf = InputBuffer::new(8192);
        let body = vec![5u8; 600 * 1024];
        let mut source: &[u8] = &body;
        // One wait, then reads without waiting while bytes are ready, up to the largest size.
        let read = buf.fill_bulk(&mut source, u64::MAX).await.unwrap();
        assert_eq!(read, BULK_MAX);
        assert_eq!(buf.capacity(), BULK_MAX);
        buf.consume(read);
        // Never more than wanted once that many are in.
        let mut small = InputBuffer::new(8192);
        let mut source2: &[u8] = &body;
        let read = small.fill_bulk(&mut source2, 10_000).await.unwrap();
        assert!((10_000..=32 * 1024).contains(&read), "read {read}");
        // Unused bytes survive shrinking; the room goes back.
        let mut rest: &[u8] = b"GET / HTTP/1.1";
        buf.fill(&mut rest).await.unwrap();
        buf.consume(4);
        buf.shrink(4096);
        assert!(buf.capacity() < 8192, "capacity {}", buf.capacity());
        assert_eq!(buf.available(), b"/ HTTP/1.1");
    }
}
