//! Strict HTTP/1.x request framing, enforced on the raw bytes before hyper sees them.
//!
//! hyper follows RFC 9112 §6.3 leniently: given both `Content-Length` and `Transfer-Encoding` it
//! drops the length and reads chunked, and it folds identical duplicate lengths into one. A load
//! balancer in front of other HTTP software should refuse such requests outright (they are the
//! raw material of request smuggling), so [`FramingGuard`] follows the byte stream: it holds back
//! each request head until it is complete, checks it against the rules of [`rules`] (framing,
//! `Host`, `Connection`, `CONNECT`) and the size limit, then tracks the body (length-delimited or
//! chunked, validating every chunk-size line) to find where the next head starts. On a refused
//! head nothing of it is delivered: hyper reads end-of-stream just before it, finishes what it
//! had, and when it shuts the connection down the guard writes the refusal (400, 405 or 431 with
//! a short reason) and closes. A chunked body found malformed midway ends the stream there too;
//! hyper then answers that request itself (its body is cut short: 400), so the guard adds
//! nothing, and the client gets exactly one answer to it.
//!
//! The guard also owns the request-head timeout: the clock starts at a head's first byte (not
//! when a keep-alive connection goes idle, which is the idle timeout's business) and a head still
//! incomplete when it runs out is answered `408 Request Timeout`. A head that arrives whole in one
//! read costs no timer at all.
//!
//! A request asking for an upgrade may turn the connection into something other than HTTP, but
//! only if the target agrees: after such a request the guard delivers nothing more until the
//! request handler has told the [`UpgradeGate`] how it was answered. After a relayed 101 the
//! guard stands down (bytes pass untouched); after any other answer it goes on checking, and
//! timing, every request as before.

use http::StatusCode;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

mod chunked;
pub mod rules;

pub use chunked::{ChunkedBody, Decoded, Scan};
pub use rules::{BodyFraming, Refusal, parse_content_length};

/// Longest response head accepted from a target, on both HTTP/1.1 paths; a longer one is a 502.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Header slots parsed on the stack before falling back to the heap.
const STACK_HEADERS: usize = 64;

/// Where the guard is in the request stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Expecting (more of) a request head.
    Head,
    /// Inside a body of known length.
    Fixed { remaining: u64 },
    /// Inside a chunked body.
    Chunked(ChunkedBody),
    /// A request asking for an upgrade was delivered whole: nothing more is delivered until the
    /// [`UpgradeGate`] says how it was answered.
    AwaitingUpgrade,
    /// Not checking anymore (a 101 was relayed): bytes pass through.
    Off,
}

/// What a complete head says about the body that follows.
enum HeadVerdict {
    /// The phase after the head, and whether the request asks for an upgrade.
    Next {
        phase: Phase,
        upgrade: bool,
    },
    Violation(Refusal),
}

/// How a request asking for an upgrade was answered, passed from the request handler to the
/// guard of the same connection. The guard delivers nothing after such a request until it is
/// told, so at most one answer is awaited at a time.
#[derive(Default)]
pub struct UpgradeGate {
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// `Some(true)` once answered 101, `Some(false)` once answered otherwise.
    switched: Option<bool>,
    waker: Option<Waker>,
}

impl UpgradeGate {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The handler answered a request carrying `Upgrade`; `switched` when with 101.
    pub fn answered(&self, switched: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.switched = Some(switched);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// The answer, once given (taken: the next upgrade request waits for its own).
    fn poll_answer(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.switched.take() {
            Some(switched) => Poll::Ready(switched),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// An I/O wrapper enforcing strict request framing (see the module documentation).
pub struct FramingGuard<T> {
    inner: T,
    phase: Phase,
    /// The request whose body is being followed asks for an upgrade: await its answer after it.
    upgrade_after_body: bool,
    gate: Arc<UpgradeGate>,
    /// Bytes held back from hyper: an incomplete head (always from its start), or whatever
    /// follows a request awaiting its upgrade answer.
    held: Vec<u8>,
    /// Checked bytes waiting to be handed to hyper (only after a head was reassembled).
    out: Vec<u8>,
    /// Largest head accepted, in bytes from the request line to the empty line (exact).
    max_head: usize,
    max_headers: usize,
    /// Set once a head is refused: reads report end-of-stream and the refusal is written when
    /// the connection shuts down.
    rejection: Option<Rejection>,
    head_timeout: Duration,
    /// Running while an incomplete head is held.
    head_deadline: Option<Pin<Box<Sleep>>>,
}

struct Rejection {
    /// Empty when hyper answers the request itself (its body was cut short).
    response: Vec<u8>,
    written: usize,
}

impl<T> FramingGuard<T> {
    pub fn new(
        inner: T,
        max_head: usize,
        max_headers: usize,
        head_timeout: Duration,
        gate: Arc<UpgradeGate>,
    ) -> Self {
        Self {
            inner,
            phase: Phase::Head,
            upgrade_after_body: false,
            gate,
            held: Vec::new(),
            out: Vec::new(),
            max_head,
            max_headers,
            rejection: None,
            head_timeout,
            head_deadline: None,
        }
    }

    /// Ends the request stream here; `refusal` is written when the connection shuts down.
    fn refuse(&mut self, refusal: Refusal) {
        let mut response = Vec::new();
        refusal_response(&mut response, refusal);
        self.end_stream(response);
    }

    /// Ends the request stream in the middle of a body: hyper, which has the request, answers.
    fn cut_body(&mut self) {
        self.end_stream(Vec::new());
    }

    fn end_stream(&mut self, response: Vec<u8>) {
        self.rejection = Some(Rejection {
            response,
            written: 0,
        });
        self.phase = Phase::Off;
        self.held.clear();
    }

    /// The phase after a request's head or body: the next head, or the upgrade answer.
    fn after_request(&mut self) -> Phase {
        if std::mem::take(&mut self.upgrade_after_body) {
            self.head_deadline = None;
            Phase::AwaitingUpgrade
        } else {
            Phase::Head
        }
    }

    /// Scans `data` (new bytes in stream order, starting where the previous scan stopped, or at
    /// a held head's start). Returns how many leading bytes may be delivered now. Bytes after
    /// that are either kept in `held` (an incomplete head, or bytes after a request awaiting its
    /// upgrade answer) or dropped (a head was refused).
    fn scan(&mut self, data: &[u8]) -> usize {
        let mut i = 0;
        while i < data.len() {
            match self.phase {
                Phase::Off => return data.len(),
                Phase::AwaitingUpgrade => {
                    self.held.extend_from_slice(&data[i..]);
                    return i;
                }
                Phase::Head => {
                    let rest = &data[i..];
                    let blank = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    match head_end(rest) {
                        Some(end) if end - blank > self.max_head => {
                            self.refuse(self.too_large());
                            return i;
                        }
                        Some(end) => {
                            match check_head(&rest[..end], self.max_head, self.max_headers) {
                                HeadVerdict::Violation(refusal) => {
                                    self.refuse(refusal);
                                    return i;
                                }
                                HeadVerdict::Next { phase, upgrade } => {
                                    self.upgrade_after_body = upgrade;
                                    self.phase = if phase == Phase::Head {
                                        self.after_request()
                                    } else {
                                        phase
                                    };
                                    i += end;
                                }
                            }
                        }
                        None if rest.len() - blank > self.max_head || blank > self.max_head => {
                            self.refuse(self.too_large());
                            return i;
                        }
                        None => {
                            self.held.extend_from_slice(rest);
                            return i;
                        }
                    }
                }
                Phase::Fixed { remaining } => {
                    let take = remaining.min((data.len() - i) as u64);
                    i += take as usize;
                    let left = remaining - take;
                    self.phase = if left == 0 {
                        self.after_request()
                    } else {
                        Phase::Fixed { remaining: left }
                    };
                }
                Phase::Chunked(mut body) => match body.scan(&data[i..]) {
                    Scan::More => {
                        self.phase = Phase::Chunked(body);
                        return data.len();
                    }
                    Scan::End(n) => {
                        self.phase = self.after_request();
                        i += n;
                    }
                    Scan::Bad { at, reason } => {
                        tracing::debug!(reason, "malformed chunked request body");
                        self.cut_body();
                        return i + at;
                    }
                },
            }
        }
        data.len()
    }

    fn too_large(&self) -> Refusal {
        Refusal {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            reason: "request head larger than max_header_bytes",
        }
    }
}

/// Writes a short plain-text response of burr's own into `out` (cleared first), with
/// `Connection: close` when `close`: the guard's refusals and the fast path's errors.
pub fn plain_response(out: &mut Vec<u8>, status: StatusCode, text: &str, close: bool) {
    use std::io::Write;
    out.clear();
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{}{}\r\n{}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        text.len(),
        if status == StatusCode::METHOD_NOT_ALLOWED {
            // RFC 9110 §15.5.6: a 405 lists what is allowed.
            format!("allow: {}\r\n", rules::ALLOWED_METHODS)
        } else {
            String::new()
        },
        if close { "connection: close\r\n" } else { "" },
        text
    );
}

/// The refusal of a request head, as sent: its status, a short text with the reason, and
/// `Connection: close` (the stream cannot be trusted past a refused head).
pub fn refusal_response(out: &mut Vec<u8>, refusal: Refusal) {
    let summary = refusal
        .status
        .canonical_reason()
        .unwrap_or("refused")
        .to_ascii_lowercase();
    let text = format!("{summary}: {}\n", refusal.reason);
    plain_response(out, refusal.status, &text, true);
}

/// Index just past the blank line ending a request head, skipping leading empty lines as
/// servers must (RFC 9112 §2.2).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    // Only line ends matter: jump from one to the next (memchr scans a word or vector at a
    // time), rather than looking at every byte of long header values such as cookies.
    memchr::memchr_iter(b'\n', &buf[start..])
        .map(|at| start + at)
        .find_map(|i| match (buf.get(i + 1), buf.get(i + 2)) {
            (Some(b'\n'), _) => Some(i + 2),
            (Some(b'\r'), Some(b'\n')) => Some(i + 3),
            _ => None,
        })
}

/// Decides what follows a complete head, or why it must be refused.
fn check_head(head: &[u8], max_head: usize, max_headers: usize) -> HeadVerdict {
    // Most heads fit the stack array; larger ones (up to the configured limit) take the heap, so
    // no head escapes the check by carrying many headers.
    let mut on_stack =
        [const { std::mem::MaybeUninit::<httparse::Header>::uninit() }; STACK_HEADERS];
    let mut on_heap = Vec::new();
    let mut request = httparse::Request::new(&mut []);
    let mut parsed = request.parse_with_uninit_headers(head, &mut on_stack);
    if matches!(parsed, Err(httparse::Error::TooManyHeaders)) && max_headers > STACK_HEADERS {
        on_heap.resize(max_headers, httparse::EMPTY_HEADER);
        request = httparse::Request::new(&mut on_heap);
        parsed = request.parse(head);
    }
    match parsed {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => {
            return HeadVerdict::Violation(Refusal {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                reason: "more header fields than max_headers",
            });
        }
        // Malformed (an HTTP/2 preface in the middle of HTTP/1.1 too): never handed on.
        _ => return HeadVerdict::Violation(Refusal::bad_request("malformed request head")),
    }
    if request.headers.len() > max_headers {
        return HeadVerdict::Violation(Refusal {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            reason: "more header fields than max_headers",
        });
    }
    let method = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let framing = match rules::check_request(method, target, request.version, request.headers) {
        Ok(framing) => framing,
        Err(refusal) => return HeadVerdict::Violation(refusal),
    };
    let upgrade = request
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let phase = match framing {
        BodyFraming::None | BodyFraming::Length(0) => Phase::Head,
        BodyFraming::Length(n) => Phase::Fixed { remaining: n },
        BodyFraming::Chunked => Phase::Chunked(ChunkedBody::new(max_head)),
    };
    HeadVerdict::Next { phase, upgrade }
}

impl<T: AsyncRead + Unpin> AsyncRead for FramingGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            // Checked bytes first: they come before any refused head.
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.drain(..n);
                if this.out.is_empty() {
                    this.out = Vec::new(); // give the memory back while idle
                }
                return Poll::Ready(Ok(()));
            }
            if this.rejection.is_some() {
                return Poll::Ready(Ok(())); // end-of-stream just before the refused head
            }
            if this.phase == Phase::AwaitingUpgrade {
                // Nothing is read meanwhile: what the client sends waits in the socket.
                let switched = std::task::ready!(this.gate.poll_answer(cx));
                let after = std::mem::take(&mut this.held);
                if switched {
                    this.phase = Phase::Off;
                    this.out = after;
                } else {
                    // Still HTTP: what followed the request is the next head, checked anew.
                    this.phase = Phase::Head;
                    let mut after = after;
                    let deliver = this.scan(&after);
                    after.truncate(deliver);
                    this.out = after;
                }
                continue;
            }
            if this.held.is_empty() {
                // Common case: read straight into hyper's buffer and scan in place.
                let before = buf.filled().len();
                std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                let after = buf.filled().len();
                if after == before || this.phase == Phase::Off {
                    return Poll::Ready(Ok(()));
                }
                let deliver = this.scan(&buf.filled()[before..after]);
                buf.set_filled(before + deliver);
                if deliver > 0 {
                    return Poll::Ready(Ok(()));
                }
                // Everything read so far is an incomplete head (now held) or was refused.
                continue;
            }
            // A head arrived in pieces: reassemble it, then scan it from its start, within the
            // head timeout.
            let timeout = this.head_timeout;
            let deadline = this
                .head_deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            let mut scratch = [0u8; 8192];
            let mut piece = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut piece) {
                Poll::Pending => {
                    if deadline.as_mut().poll(cx).is_ready() {
                        this.refuse(Refusal {
                            status: StatusCode::REQUEST_TIMEOUT,
                            reason: "request head not received within the head timeout",
                        });
                        continue;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(result) => result?,
            }
            if piece.filled().is_empty() {
                this.held = Vec::new(); // the client gave up mid-head
                return Poll::Ready(Ok(()));
            }
            let mut combined = std::mem::take(&mut this.held);
            combined.extend_from_slice(piece.filled());
            let deliver = this.scan(&combined);
            combined.truncate(deliver);
            this.out = combined;
            if this.held.is_empty() || this.phase == Phase::AwaitingUpgrade {
                this.head_deadline = None;
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FramingGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// hyper shuts the connection down once it has answered everything before the refused
    /// head; that is when the 400 goes out.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(rejection) = &mut this.rejection {
            while rejection.written < rejection.response.len() {
                let n = std::task::ready!(
                    Pin::new(&mut this.inner)
                        .poll_write(cx, &rejection.response[rejection.written..])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                rejection.written += n;
            }
            std::task::ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> FramingGuard<()> {
        FramingGuard::new((), 65_536, 100, Duration::from_secs(30), UpgradeGate::new())
    }

    /// Feeds `chunks` as successive reads; returns the delivered bytes and the rejection reason.
    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Option<String>) {
        let mut g = guard();
        let mut delivered = Vec::new();
        for chunk in chunks {
            if g.rejection.is_some() {
                break;
            }
            if g.held.is_empty() {
                let n = g.scan(chunk);
                delivered.extend_from_slice(&chunk[..n]);
            } else {
                let mut combined = std::mem::take(&mut g.held);
                combined.extend_from_slice(chunk);
                let n = g.scan(&combined);
                delivered.extend_from_slice(&combined[..n]);
            }
        }
        let reason = g.rejection.map(|r| String::from_utf8(r.response).unwrap());
        (delivered, reason)
    }

    const GOOD: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    const CHUNKED: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n";

    #[test]
    fn passes_well_framed_pipelines_in_any_split() {
        let stream = [GOOD, CHUNKED, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
        for split in 1..stream.len() {
            let (delivered, reason) = run(&[&stream[..split], &stream[split..]]);
            assert_eq!(reason, None, "split at {split}");
            assert_eq!(delivered, stream, "split at {split}");
        }
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(&bytewise), (stream.clone(), None));
    }

    #[test]
    fn refuses_cl_with_te_in_either_order_and_delivers_nothing_of_it() {
        for head in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ] {
            let stream = [GOOD, head, b"0\r\n\r\n"].concat();
            let (delivered, reason) = run(&[&stream]);
            assert_eq!(
                delivered, GOOD,
                "only the request before the bad head goes through"
            );
            assert!(
                reason
                    .unwrap()
                    .contains("both Content-Length and Transfer-Encoding")
            );
        }
    }

    #[test]
    fn refuses_duplicate_and_invalid_lengths() {
        for (head, why) in [
            (
                &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
                    [..],
                "more than one",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                "must end with chunked",
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.0",
            ),
        ] {
            let (delivered, reason) = run(&[head]);
            assert!(delivered.is_empty(), "{why}");
            assert!(
                reason.as_deref().unwrap_or("").contains(why),
                "{why}: {reason:?}"
            );
        }
    }

    #[test]
    fn many_headers_do_not_escape_the_check() {
        let mut head = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..90 {
            head.extend_from_slice(format!("X-Filler-{i}: x\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        let (delivered, reason) = run(&[&head]);
        assert!(delivered.is_empty());
        assert!(
            reason
                .unwrap()
                .contains("both Content-Length and Transfer-Encoding")
        );
    }

    #[test]
    fn a_bad_chunk_cuts_the_stream_and_leaves_the_answer_to_hyper() {
        for body in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"3 x\r\nabc\r\n",
            b"12345678901234567\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcX\r\n",
        ] {
            let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
            let stream = [&head[..], body, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
            let (delivered, reason) = run(&[&stream]);
            let shown = String::from_utf8_lossy(body);
            assert!(delivered.starts_with(head), "{shown}");
            assert!(delivered.len() < head.len() + body.len(), "{shown}");
            // hyper has the request and answers it (its body ends early): no second answer.
            assert_eq!(reason.as_deref(), Some(""), "{shown}");
        }
    }

    #[test]
    fn an_upgrade_request_holds_what_follows_until_it_is_answered() {
        let upgrade =
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
        let after = b"\x81\x05hello-not-http";
        let mut g = guard();
        let stream = [&upgrade[..], after].concat();
        assert_eq!(g.scan(&stream), upgrade.len());
        assert_eq!(g.phase, Phase::AwaitingUpgrade);
        assert_eq!(g.held, after);
    }

    #[test]
    fn refuses_an_h2_preface_on_http_1_and_heads_over_the_limit_exactly() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00";
        let (delivered, reason) = run(&[preface]);
        assert!(delivered.is_empty());
        assert!(reason.unwrap().starts_with("HTTP/1.1 400 "));
        let head_of = |len: usize| {
            let mut head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
            head.resize(len - 4, b'p');
            head.extend_from_slice(b"\r\n\r\n");
            head
        };
        let exact = head_of(65_536);
        let with_blank = [&b"\r\n"[..], &exact].concat();
        assert_eq!(run(&[&with_blank]), (with_blank.clone(), None));
        let over = head_of(65_537);
        let (delivered, reason) = run(&[&over]);
        assert!(delivered.is_empty());
        assert!(reason.unwrap().starts_with("HTTP/1.1 431 "));
        // An unfinished head is refused as soon as it is over the limit.
        let (_, reason) = run(&[&head_of(70_000)[..65_537]]);
        assert!(reason.unwrap().starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn finds_the_end_of_a_head_with_any_line_ending() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nrest"), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\r\n"), Some(22));
        // Empty lines before the request line are skipped, not taken for its end.
        assert_eq!(head_end(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"), Some(22));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r"), None);
        assert_eq!(head_end(b"\r\n\r\n"), None);
    }

    #[test]
    fn holds_incomplete_heads_back() {
        let mut g = guard();
        let part = b"GET / HTTP/1.1\r\nHost: a\r\n";
        assert_eq!(g.scan(part), 0);
        assert_eq!(g.held, part);
    }
}
