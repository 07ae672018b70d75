//! The fast path's input buffer: bytes read from a connection and not yet used, kept in one
//! allocation that is reused from request to request. Reads go into its spare capacity, so
//! nothing is zeroed and an idle connection's buffer costs only the pages a request touched.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Smallest room offered to a read; less, and the buffer is compacted or grown first.
const MIN_READ: usize = 2048;

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
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, from: &mut R) -> io::Result<usize> {
        if self.data.capacity() - self.data.len() < MIN_READ {
            if self.start > 0 {
                self.data.drain(..self.start);
                self.start = 0;
            }
            self.data.reserve(MIN_READ);
        }
        from.read_buf(&mut self.data).await
    }

    /// The unused bytes, giving the buffer up.
    pub fn into_rest(mut self) -> Vec<u8> {
        self.data.drain(..self.start);
        self.data
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
}
