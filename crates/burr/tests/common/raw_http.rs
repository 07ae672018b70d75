//! A raw HTTP/1.1 client that reads responses strictly ([`Conn`]) and a scripted raw-TCP target
//! ([`Scripted`]) that answers each request with the bytes a test scripts: for tests that must see
//! exactly the bytes burr sends, or need responses the harness backend cannot give (every framing,
//! interim responses, connections closed at chosen moments); and a recording raw-TCP target
//! ([`Recorder`]) that keeps the exact bytes it receives and judges them with the strict parser
//! (`strict.rs`), for the desync corpus.

use super::strict;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
/// The bound of every single wait on a socket in this file.
pub const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Bytes and header fields

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `name: value` lines (after the start line) as pairs, values trimmed.
pub fn fields<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad field {l:?}"));
            (name.to_string(), value.trim().to_string())
        })
        .collect()
}

/// The values of field `name` (any case), in order.
pub fn values<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A request: `method path HTTP/1.1`, `Host`, the `extra` header lines (each ending in CRLF),
/// `Content-Length` when there is a body, then the body.
pub fn request(method: &str, path: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let mut r =
        format!("{method} {path} HTTP/1.1\r\nHost: burr.test\r\n{extra}{length}\r\n").into_bytes();
    r.extend_from_slice(body);
    r
}

/// A response: `HTTP/1.1 status`, the `extra` header lines, `Content-Length`, then the body.
pub fn with_length(status: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// `len` reproducible bytes of every value (xorshift).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// FNV-1a, 64 bits.
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// The client side: a raw connection reading responses strictly

/// A response as the client read it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    /// The body was delimited by burr closing the connection.
    pub until_close: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        values(&self.headers, name).first().copied()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The harness backend's JSON echo.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// A raw TCP connection to burr that frames responses as RFC 9112 says, so that a byte too many
/// or too few from burr shows up as a broken next response or a timeout.
pub struct Conn {
    pub stream: TcpStream,
    /// Read and not yet used.
    pub buf: Vec<u8>,
}

impl Conn {
    pub async fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// A body-less GET and its response.
    pub async fn get(&mut self, path: &str) -> Response {
        self.send(&request("GET", path, "", b"")).await;
        self.response(false).await
    }

    /// Reads once more; 0 at end of stream (a reset counts as one). Panics after [`WAIT`].
    pub async fn fill(&mut self) -> usize {
        match tokio::time::timeout(WAIT, self.stream.read_buf(&mut self.buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => 0,
            Err(_) => panic!(
                "nothing from burr within {WAIT:?}; unused so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// The next `n` bytes.
    pub async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(
                self.fill().await > 0,
                "closed {} bytes short",
                n - self.buf.len()
            );
        }
        self.buf.drain(..n).collect()
    }

    /// The next line, without its CRLF.
    pub async fn line(&mut self) -> String {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return line;
            }
            assert!(self.fill().await > 0, "closed mid-line: {:?}", self.buf);
        }
    }

    /// Reads the next response (an interim one too); `to_head`: it answers a HEAD request.
    pub async fn response(&mut self, to_head: bool) -> Response {
        let status_line = self.line().await;
        let status: u16 = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let headers = fields(lines.iter().map(String::as_str));
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            trailers: Vec::new(),
            until_close: false,
        };
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().ends_with("chunked"));
        let length = response.header("content-length").map(|v| {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("bad Content-Length {v:?}"))
        });
        if to_head || status < 200 || status == 204 || status == 304 {
            // No body.
        } else if chunked {
            self.read_chunked(&mut response).await;
        } else if let Some(n) = length {
            response.body = self.take(n).await;
        } else {
            while self.fill().await > 0 {}
            response.body = std::mem::take(&mut self.buf);
            response.until_close = true;
        }
        response
    }

    pub async fn read_chunked(&mut self, response: &mut Response) {
        loop {
            let line = self.line().await;
            let size = line.split(';').next().unwrap().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            if size == 0 {
                break;
            }
            let data = self.take(size).await;
            response.body.extend_from_slice(&data);
            assert_eq!(self.take(2).await, b"\r\n", "chunk not followed by CRLF");
        }
        let mut trailer_lines = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            trailer_lines.push(line);
        }
        response.trailers = fields(trailer_lines.iter().map(String::as_str));
    }

    /// Asserts that burr closes the connection, sending nothing more.
    pub async fn expect_close(&mut self) {
        let n = self.fill().await;
        assert!(
            n == 0,
            "bytes after the last response instead of a close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The target side: a scripted raw-TCP target

/// A request as a scripted target received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// Which accepted connection it came on (from 1).
    pub connection: usize,
    /// Its place on that connection (from 1).
    pub nth: usize,
    /// The request line, e.g. `GET / HTTP/1.1`.
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn method(&self) -> &str {
        self.line.split(' ').next().unwrap()
    }

    pub fn path(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or_default()
    }
}

/// One step of a scripted answer.
pub enum Step {
    Write(Vec<u8>),
    Pause(Duration),
    /// Waits until the test opens the gate (at most [`WAIT`]).
    WaitFor(Arc<Notify>),
    /// Closes the connection now (without reading another request).
    Close,
    /// Resets the connection now (an RST, as a crashed target's kernel sends).
    Reset,
}

/// A whole answer in one write.
pub fn reply(bytes: Vec<u8>) -> Vec<Step> {
    vec![Step::Write(bytes)]
}

/// `200 OK` with `body` and a `Content-Length`, the connection kept.
pub fn ok(body: &[u8]) -> Vec<Step> {
    reply(with_length("200 OK", "", body))
}

/// `pieces` written one by one, `pause` apart.
pub fn trickle(pieces: Vec<Vec<u8>>, pause: Duration) -> Vec<Step> {
    let mut steps = Vec::new();
    for piece in pieces {
        if !steps.is_empty() {
            steps.push(Step::Pause(pause));
        }
        steps.push(Step::Write(piece));
    }
    steps
}

pub type Script = dyn Fn(&Received) -> Vec<Step> + Send + Sync;

/// A raw-TCP target on 127.0.0.1 that reads requests (head and `Content-Length` body) and
/// answers each with the steps its script gives, keeping the connection unless told to close.
/// Stops (listener and connections) when dropped.
pub struct Scripted {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Scripted {
    pub async fn start(
        script: impl Fn(&Received) -> Vec<Step> + Send + Sync + 'static,
    ) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script: Arc<Script> = Arc::new(script);
        let accepted = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let (count, log, registry) = (accepted.clone(), received.clone(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let connection = count.fetch_add(1, Ordering::SeqCst) + 1;
                let task = tokio::spawn(play(stream, connection, script.clone(), log.clone()));
                registry.lock().unwrap().push(task.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Scripted {
            addr,
            accepted,
            received,
            tasks,
        }
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The requests received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Plays `steps` on a target's connection; false when the connection is done (closed, reset or
/// broken), true when it may read the next request.
async fn perform(stream: &mut TcpStream, steps: Vec<Step>) -> bool {
    for step in steps {
        match step {
            Step::Write(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return false;
                }
            }
            Step::Pause(pause) => tokio::time::sleep(pause).await,
            Step::WaitFor(gate) => {
                let _ = tokio::time::timeout(WAIT, gate.notified()).await;
            }
            Step::Close => return false,
            Step::Reset => {
                let _ = stream.set_zero_linger();
                return false;
            }
        }
    }
    true
}

/// Serves one connection of a scripted target.
pub async fn play(
    mut stream: TcpStream,
    connection: usize,
    script: Arc<Script>,
    log: Arc<Mutex<Vec<Received>>>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    for nth in 1.. {
        let Some((line, headers, body)) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let request = Received {
            connection,
            nth,
            line,
            headers,
            body,
        };
        log.lock().unwrap().push(request.clone());
        if !perform(&mut stream, script(&request)).await {
            return;
        }
    }
}

/// Reads one request: its line, its header fields and its `Content-Length` body. `None` when
/// the connection ends first.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap().to_string();
    let headers = fields(lines);
    let length: usize = values(&headers, "content-length")
        .first()
        .map_or(0, |v| v.parse().expect("a Content-Length burr forwarded"));
    while buf.len() < end + length {
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
    let body = buf[end..end + length].to_vec();
    buf.drain(..end + length);
    Some((line, headers, body))
}

// ---------------------------------------------------------------------------------------------
// The target side: a recording raw-TCP target that parses strictly

/// What a [`Recorder`] saw on one of its connections, with the exact bytes.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A request that parsed strictly (see `strict.rs`); it was answered.
    Request {
        /// `<recorder>.<connection>.<nth>`, sent back in the answer's `X-Target` header.
        id: String,
        message: strict::Message,
        raw: Vec<u8>,
    },
    /// Bytes that are not one unambiguous request: answered 400, connection closed.
    Invalid {
        connection: usize,
        reason: String,
        raw: Vec<u8>,
    },
    /// The connection ended with these bytes of a request still incomplete.
    Truncated { connection: usize, raw: Vec<u8> },
}

impl Seen {
    /// The bytes this entry is about.
    pub fn raw(&self) -> &[u8] {
        match self {
            Seen::Request { raw, .. } | Seen::Invalid { raw, .. } | Seen::Truncated { raw, .. } => {
                raw
            }
        }
    }
}

pub type Answer = dyn Fn(&strict::Message, &str) -> Vec<Step> + Send + Sync;

/// A raw-TCP target on 127.0.0.1 that records every byte it receives, parses requests with the
/// strict parser, and answers each valid one with the steps `answer` gives (called with the
/// request and its id). Bytes that do not parse strictly are recorded as [`Seen::Invalid`] and
/// answered `400` with `Connection: close`. Stops when dropped.
pub struct Recorder {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Recorder {
    pub async fn start(
        name: &str,
        answer: impl Fn(&strict::Message, &str) -> Vec<Step> + Send + Sync + 'static,
    ) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer: Arc<Answer> = Arc::new(answer);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let (log, registry, name) = (seen.clone(), tasks.clone(), name.to_string());
        let accept = tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                connection += 1;
                let task = tokio::spawn(record(
                    stream,
                    format!("{name}.{connection}"),
                    connection,
                    answer.clone(),
                    log.clone(),
                ));
                registry.lock().unwrap().push(task.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Recorder { addr, seen, tasks }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Serves one connection of a [`Recorder`].
async fn record(
    mut stream: TcpStream,
    prefix: String,
    connection: usize,
    answer: Arc<Answer>,
    log: Arc<Mutex<Vec<Seen>>>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut nth = 0;
    loop {
        let message = match strict::request(&buf) {
            strict::Parsed::Complete(m) => m,
            strict::Parsed::Incomplete => {
                if matches!(stream.read_buf(&mut buf).await, Ok(0) | Err(_)) {
                    if !buf.is_empty() {
                        log.lock().unwrap().push(Seen::Truncated {
                            connection,
                            raw: buf,
                        });
                    }
                    return;
                }
                continue;
            }
            strict::Parsed::Invalid(reason) => {
                // Whatever else is already on its way belongs to the same bytes.
                let _ = tokio::time::timeout(Duration::from_millis(20), stream.read_buf(&mut buf))
                    .await;
                log.lock().unwrap().push(Seen::Invalid {
                    connection,
                    reason,
                    raw: buf,
                });
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 400 Bad Request\r\nX-Target-Refused: yes\r\n\
                          Content-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                return;
            }
        };
        nth += 1;
        let id = format!("{prefix}.{nth}");
        let raw: Vec<u8> = buf.drain(..message.len).collect();
        let steps = answer(&message, &id);
        log.lock().unwrap().push(Seen::Request { id, message, raw });
        if !perform(&mut stream, steps).await {
            return;
        }
    }
}
