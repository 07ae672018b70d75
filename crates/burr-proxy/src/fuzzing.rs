//! Entry points for the fuzz targets in `fuzz/` (cargo fuzz, libFuzzer), not an API: the parsers
//! client and target bytes reach live in private modules, and this module is the one door the
//! fuzzers use to call them. It owns no logic of its own beyond driving the framing guard over
//! a scripted byte stream, split into reads as the fuzzer chooses, the way hyper would read it.

use crate::framing::FramingGuard;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use crate::framing::{BodyFraming, ChunkedBody, Scan, parse_content_length, request_body};
pub use crate::http::h1::request::{Forwarded, Head, NotFast, header_slots, parse as parse_request};
pub use crate::http::h1::response::{
    ResponseBody, ResponseHead, end_head, parse as parse_response,
};

/// What the framing guard let through and what it answered for one byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    /// The bytes handed on to hyper, in order.
    pub delivered: Vec<u8>,
    /// What the guard wrote to the client itself (a 400 naming the violation), if anything.
    pub answer: Vec<u8>,
}

/// Feeds `pieces` through a [`FramingGuard`] as successive reads of the client's socket
/// (hyper's reads take at most `read_size` bytes), then shuts the connection down as hyper
/// does, and returns what was delivered and answered. The head timeout never fires: every
/// read is ready at once.
pub fn framing_guard(
    pieces: &[&[u8]],
    read_size: usize,
    max_head: usize,
    max_headers: usize,
) -> Guarded {
    // The guard arms a tokio timer while it holds an incomplete head, which needs a runtime
    // with a time driver to be entered (never driven: no read here waits).
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds")
    });
    let _entered = runtime.enter();
    let written = Rc::new(RefCell::new(Vec::new()));
    let script = Script {
        pieces: pieces.iter().map(|p| p.to_vec()).collect(),
        written: Rc::clone(&written),
    };
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let mut guard = FramingGuard::new(script, max_head, max_headers, Duration::from_secs(30));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut delivered = Vec::new();
    let mut buffer = vec![0u8; read_size.max(1)];
    // Each read delivers at least one byte or ends the stream, so this bound is never reached
    // unless the guard stops making progress, which is a bug to report.
    for _ in 0..=total + pieces.len() + 2 {
        let mut buf = ReadBuf::new(&mut buffer);
        match Pin::new(&mut guard).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                let shutdown = Pin::new(&mut guard).poll_shutdown(&mut cx);
                assert!(
                    matches!(shutdown, Poll::Ready(Ok(()))),
                    "shutdown: {shutdown:?}"
                );
                let answer = written.take();
                return Guarded { delivered, answer };
            }
            Poll::Ready(Ok(())) => delivered.extend_from_slice(buf.filled()),
            other => panic!("the scripted stream never fails or waits: {other:?}"),
        }
    }
    panic!("the framing guard made no progress over {total} bytes");
}

/// Scans `pieces` of one chunked body in order with one [`ChunkedBody`]; positions in the
/// answer count from the start of the first piece, so it can be compared across splits.
pub fn chunked_scan(pieces: &[&[u8]], max_trailer_line: usize) -> Scan {
    let mut body = ChunkedBody::new(max_trailer_line);
    let mut offset = 0;
    for piece in pieces {
        match body.scan(piece) {
            Scan::More => offset += piece.len(),
            Scan::End(n) => return Scan::End(offset + n),
            Scan::Bad { at, reason } => {
                return Scan::Bad {
                    at: offset + at,
                    reason,
                };
            }
        }
    }
    Scan::More
}

/// A client socket that yields scripted reads and records what is written to it.
struct Script {
    pieces: VecDeque<Vec<u8>>,
    written: Rc<RefCell<Vec<u8>>>,
}

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Empty pieces are skipped: a read of zero bytes would mean end-of-stream.
        while let Some(piece) = self.pieces.front_mut() {
            if piece.is_empty() {
                self.pieces.pop_front();
                continue;
            }
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            piece.drain(..n);
            break;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Script {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.borrow_mut().extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
