//! Strict HTTP/1.x request framing, enforced on the raw bytes before hyper sees them.
//!
//! hyper follows RFC 9112 §6.3 leniently: given both `Content-Length` and `Transfer-Encoding` it
//! drops the length and reads chunked, and it folds identical duplicate lengths into one. A load
//! balancer in front of other HTTP software should refuse such requests outright (they are the
//! raw material of request smuggling), so [`FramingGuard`] follows the byte stream: it holds back
//! each request head until it is complete, checks its framing headers, then tracks the body
//! (length-delimited or chunked, validating every chunk-size line) to find where the next head
//! starts. On a violation the offending head is never delivered: hyper reads end-of-stream just
//! before it, finishes what it had, and when it shuts the connection down the guard writes
//! `400 Bad Request` with a short reason and closes.
//!
//! The guard also owns the request-head timeout: the clock starts at a head's first byte (not
//! when a keep-alive connection goes idle, which is the idle timeout's business) and a head still
//! incomplete when it runs out is answered `408 Request Timeout`. A head that arrives whole in one
//! read costs no timer at all.
//!
//! The guard stands down (passes bytes through untouched) for HTTP/2 prior-knowledge
//! connections, after a request asking for an upgrade or CONNECT, and for heads it cannot parse
//! or that exceed the size limit, all of which hyper itself rejects or handles.

use http::StatusCode;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

mod chunked;

pub use chunked::{ChunkedBody, Scan};

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
    /// Not checking anymore; bytes pass through.
    Off,
}

/// What a complete head says about the body that follows.
enum HeadVerdict {
    Next(Phase),
    Violation(&'static str),
}

/// An I/O wrapper enforcing strict request framing (see the module documentation).
pub struct FramingGuard<T> {
    inner: T,
    phase: Phase,
    /// Bytes of an incomplete head, held back from hyper; always begins at a head's start.
    held: Vec<u8>,
    /// Checked bytes waiting to be handed to hyper (only after a head was reassembled).
    out: Vec<u8>,
    /// Largest head accepted before standing down (hyper then answers 431).
    max_head: usize,
    max_headers: usize,
    /// Set once a violation is found: reads report end-of-stream and the reason is written as a
    /// 400 response when the connection shuts down.
    rejection: Option<Rejection>,
    head_timeout: Duration,
    /// Running while an incomplete head is held.
    head_deadline: Option<Pin<Box<Sleep>>>,
}

struct Rejection {
    response: Vec<u8>,
    written: usize,
}

impl<T> FramingGuard<T> {
    pub fn new(inner: T, max_head: usize, max_headers: usize, head_timeout: Duration) -> Self {
        Self {
            inner,
            phase: Phase::Head,
            held: Vec::new(),
            out: Vec::new(),
            max_head,
            max_headers,
            rejection: None,
            head_timeout,
            head_deadline: None,
        }
    }

    fn reject(&mut self, reason: &'static str) {
        self.refuse(StatusCode::BAD_REQUEST, "bad request", reason);
    }

    /// Ends the request stream here; `status` is written when the connection shuts down.
    fn refuse(&mut self, status: StatusCode, summary: &str, reason: &str) {
        let mut response = Vec::new();
        plain_response(
            &mut response,
            status,
            &format!("{summary}: {reason}\n"),
            true,
        );
        self.rejection = Some(Rejection {
            response,
            written: 0,
        });
        self.phase = Phase::Off;
        self.held.clear();
    }

    /// Scans `data` (new bytes in stream order, starting where the previous scan stopped, or at
    /// a held head's start). Returns how many leading bytes may be delivered now. Bytes after
    /// that are either kept in `held` (an incomplete head) or dropped (a violation was found).
    fn scan(&mut self, data: &[u8]) -> usize {
        let mut i = 0;
        while i < data.len() {
            match self.phase {
                Phase::Off => return data.len(),
                Phase::Head => {
                    let rest = &data[i..];
                    match head_end(rest) {
                        Some(end) => {
                            match check_head(&rest[..end], self.max_head, self.max_headers) {
                                HeadVerdict::Violation(reason) => {
                                    self.reject(reason);
                                    return i;
                                }
                                HeadVerdict::Next(phase) => {
                                    self.phase = phase;
                                    i += end;
                                }
                            }
                        }
                        None if rest.len() > self.max_head => {
                            // Too large to check; hyper refuses it with 431.
                            self.phase = Phase::Off;
                            return data.len();
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
                        Phase::Head
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
                        self.phase = Phase::Head;
                        i += n;
                    }
                    Scan::Bad { at, reason } => {
                        self.reject(reason);
                        return i + at;
                    }
                },
            }
        }
        data.len()
    }
}

/// Writes a short plain-text response of burr's own into `out` (cleared first), with
/// `Connection: close` when `close`: the guard's refusals and the fast path's errors.
pub fn plain_response(out: &mut Vec<u8>, status: StatusCode, text: &str, close: bool) {
    use std::io::Write;
    out.clear();
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{}\r\n{}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        text.len(),
        if close { "connection: close\r\n" } else { "" },
        text
    );
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
    if head
        .iter()
        .skip_while(|&&b| b == b'\r' || b == b'\n')
        .take(14)
        .eq(b"PRI * HTTP/2.0".iter())
    {
        return HeadVerdict::Next(Phase::Off);
    }
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
        // Malformed or over the limit: hyper parses the same bytes and answers 400/431 itself.
        _ => return HeadVerdict::Next(Phase::Off),
    }
    let upgrade = request.method == Some("CONNECT")
        || request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let next = match request_body(request.version, request.headers) {
        Err(reason) => return HeadVerdict::Violation(reason),
        Ok(BodyFraming::None | BodyFraming::Length(0)) => Phase::Head,
        Ok(BodyFraming::Length(n)) => Phase::Fixed { remaining: n },
        Ok(BodyFraming::Chunked) => Phase::Chunked(ChunkedBody::new(max_head)),
    };
    // After an upgrade or CONNECT the bytes may stop being HTTP; hyper takes it from here.
    HeadVerdict::Next(if upgrade { Phase::Off } else { next })
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// The framing of a request with `version` (httparse's minor version) and `headers`, or why
/// it is ambiguous and must be refused: both `Content-Length` and `Transfer-Encoding`, more
/// than one `Content-Length`, an invalid length, a transfer coding not ending in `chunked`, or
/// `Transfer-Encoding` in HTTP/1.0.
pub fn request_body(
    version: Option<u8>,
    headers: &[httparse::Header<'_>],
) -> Result<BodyFraming, &'static str> {
    let mut content_length: Option<&[u8]> = None;
    let mut chunked: Option<bool> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            if content_length.is_some() {
                return Err("more than one Content-Length header");
            }
            content_length = Some(h.value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last field counts; an empty field changes nothing.
            if let Some(last) = last_coding(h.value) {
                chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            } else if chunked.is_none() {
                chunked = Some(false);
            }
        }
    }
    match (content_length, chunked) {
        (Some(_), Some(_)) => Err("both Content-Length and Transfer-Encoding are present"),
        (Some(value), None) => parse_content_length(value)
            .map(BodyFraming::Length)
            .ok_or("invalid Content-Length"),
        (None, Some(_)) if version != Some(1) => {
            Err("Transfer-Encoding is not allowed in HTTP/1.0")
        }
        (None, Some(true)) => Ok(BodyFraming::Chunked),
        (None, Some(false)) => Err("Transfer-Encoding must end with chunked"),
        (None, None) => Ok(BodyFraming::None),
    }
}

/// The last non-empty coding of a `Transfer-Encoding` value.
fn last_coding(value: &[u8]) -> Option<&[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .rfind(|c| !c.is_empty())
}

/// A Content-Length value: 1 to 19 ASCII digits, nothing else.
pub fn parse_content_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
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
                        let reason =
                            format!("request head not received within {} s", timeout.as_secs());
                        this.refuse(StatusCode::REQUEST_TIMEOUT, "request timeout", &reason);
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
            if this.held.is_empty() {
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
        FramingGuard::new((), 65_536, 100, Duration::from_secs(30))
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
            &b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
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
                &b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"[..],
                "more than one",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
                "invalid Content-Length",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
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
        let mut head = b"POST / HTTP/1.1\r\n".to_vec();
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
    fn refuses_bad_chunk_size_lines() {
        for (body, why) in [
            (&b"zz\r\n"[..], "invalid chunk size"),
            (b"\r\n", "invalid chunk size"),
            (b"3 x\r\nabc\r\n", "invalid chunk size"),
            (b"12345678901234567\r\n", "too large"),
            (b"3\nabc\r\n0\r\n\r\n", "invalid chunk size"),
            (b"3\r\nabcX\r\n", "not followed by CRLF"),
        ] {
            let head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
            let stream = [&head[..], body].concat();
            let (delivered, reason) = run(&[&stream]);
            assert!(delivered.len() < stream.len(), "{why}");
            assert!(
                reason.as_deref().unwrap_or("").contains(why),
                "{why}: {reason:?}"
            );
        }
    }

    #[test]
    fn stands_down_for_upgrades_and_h2_preface() {
        let upgrade = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello-not-http";
        assert_eq!(run(&[upgrade]), (upgrade.to_vec(), None));
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00";
        assert_eq!(run(&[preface]), (preface.to_vec(), None));
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
