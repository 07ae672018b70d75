//! A raw HTTP/2 client for the conformance suite (`http2_conformance.rs`): frames built by hand
//! (the 9-byte header and the payload, RFC 9113 §4.1), request header blocks encoded by hand
//! (HPACK literals without indexing, raw strings, RFC 7541 §6.2.2), and the server's frames read
//! back with a bounded wait, their header blocks decoded by an independent HPACK decoder
//! (`loona-hpack`), not burr's nor the h2 crate's. Every expectation names the codec under test
//! and the case, so a failure says which rule which codec broke.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound of every single read from the server.
pub const READ_WAIT: Duration = Duration::from_secs(3);
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (§6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;
/// A type no extension defines: receivers must ignore it (§4.1, §5.5).
pub const UNKNOWN: u8 = 0xfa;

// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

// Settings (§6.5.2).
pub const ENABLE_PUSH: u16 = 0x2;
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const MAX_FRAME_SIZE: u16 = 0x5;

// Error codes (§7).
pub const NO_ERROR: u32 = 0x0;
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const STREAM_CLOSED: u32 = 0x5;
pub const FRAME_SIZE_ERROR: u32 = 0x6;
pub const REFUSED_STREAM: u32 = 0x7;
pub const COMPRESSION_ERROR: u32 = 0x9;

/// `code`'s name, for messages.
pub fn code_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        _ => return format!("0x{code:x}"),
    };
    name.to_string()
}

// ---------------------------------------------------------------------------------------------
// Building frames

/// A whole frame: length (24 bits), type, flags, stream (31 bits), payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A SETTINGS payload.
pub fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, value) in pairs {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&value.to_be_bytes());
    }
    p
}

/// A priority block (HEADERS' with [`PRIORITY_FLAG`], or PRIORITY's payload).
pub fn priority(depends_on: u32, exclusive: bool, weight: u8) -> Vec<u8> {
    let mut p = (depends_on | if exclusive { 1 << 31 } else { 0 })
        .to_be_bytes()
        .to_vec();
    p.push(weight);
    p
}

/// A GOAWAY payload.
pub fn goaway(last_stream: u32, code: u32) -> Vec<u8> {
    let mut p = last_stream.to_be_bytes().to_vec();
    p.extend_from_slice(&code.to_be_bytes());
    p
}

/// `content` with a pad-length octet of `pad` before it and `pad` zeros after it.
pub fn padded(pad: u8, content: &[u8]) -> Vec<u8> {
    let mut p = vec![pad];
    p.extend_from_slice(content);
    p.extend(std::iter::repeat_n(0, usize::from(pad)));
    p
}

/// An HPACK integer (RFC 7541 §5.1) with a `prefix`-bit prefix, `first` holding the bits above.
fn hpack_int(out: &mut Vec<u8>, first: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// A header block of literals without indexing, new names, raw (not Huffman) strings.
pub fn block<N: AsRef<str>, V: AsRef<str>>(fields: &[(N, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        for s in [name.as_ref(), value.as_ref()] {
            hpack_int(&mut out, 0x00, 7, s.len());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// A request's pseudo-header fields (`http`, authority `burr.test`) and then `extra`.
pub fn request(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = vec![
        (":method".to_string(), method.to_string()),
        (":scheme".to_string(), "http".to_string()),
        (":authority".to_string(), "burr.test".to_string()),
        (":path".to_string(), path.to_string()),
    ];
    fields.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    fields
}

// ---------------------------------------------------------------------------------------------
// Reading frames

/// A frame from the server; a HEADERS frame comes with its CONTINUATIONs joined and its block
/// decoded in `fields`.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
    pub fields: Vec<(String, String)>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY.
    pub fn code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }

    fn describe(&self) -> String {
        match self.kind {
            RST_STREAM => format!("RST_STREAM({}) on {}", code_name(self.code()), self.stream),
            GOAWAY => format!("GOAWAY({})", code_name(self.code())),
            kind => format!(
                "frame type {kind} flags 0x{:x} on {} ({} bytes)",
                self.flags,
                self.stream,
                self.payload.len()
            ),
        }
    }
}

/// What one bounded read gave.
#[derive(Debug)]
pub enum Event {
    Frame(Frame),
    /// The server closed (or reset) the connection.
    Closed,
    /// Nothing within [`READ_WAIT`].
    Quiet,
}

/// How the server answered something it had to refuse.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Refusal {
    /// RST_STREAM with this code: a stream error.
    Reset(u32),
    /// GOAWAY with this code: a connection error.
    GoAway(u32),
    /// An HTTP response with this (4xx) status.
    Status(u16),
}

/// A response as read from the wire.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    /// How many DATA frames carried the body.
    pub data_frames: usize,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/2 connection to burr.
pub struct H2 {
    stream: TcpStream,
    buf: Vec<u8>,
    decoder: loona_hpack::Decoder<'static>,
    /// The codec under test, named in every message.
    pub codec: String,
    /// The case under test, named in every message.
    pub case: String,
    /// The server's SETTINGS (the first frame it sent).
    pub server_settings: Vec<(u16, u32)>,
    /// The bound of each read ([`READ_WAIT`] unless a test waits for quiet).
    pub wait: Duration,
}

impl H2 {
    /// A TCP connection, nothing sent yet.
    pub async fn connect(port: u16, codec: &str) -> H2 {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        H2 {
            stream,
            buf: Vec::new(),
            decoder: loona_hpack::Decoder::new(),
            codec: codec.to_string(),
            case: String::new(),
            server_settings: Vec::new(),
            wait: READ_WAIT,
        }
    }

    /// A connection past its preface: the client's preface and SETTINGS (`ours`) sent, the
    /// server's SETTINGS received (its first frame) and acknowledged, and ours acknowledged.
    pub async fn open_with(port: u16, codec: &str, case: &str, ours: &[(u16, u32)]) -> H2 {
        let mut c = H2::connect(port, codec).await;
        c.case = case.to_string();
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &settings(ours)));
        c.send(&hello).await;
        let first = c.frame().await;
        c.check(
            first.kind == SETTINGS && first.flags & ACK == 0 && first.stream == 0,
            &format!(
                "the server's first frame is SETTINGS, not {}",
                first.describe()
            ),
        );
        c.server_settings = first
            .payload
            .chunks(6)
            .map(|s| {
                (
                    u16::from_be_bytes([s[0], s[1]]),
                    u32::from_be_bytes(s[2..6].try_into().unwrap()),
                )
            })
            .collect();
        c.send_frame(SETTINGS, ACK, 0, &[]).await;
        c.settings_ack().await;
        c
    }

    pub async fn open(port: u16, codec: &str, case: &str) -> H2 {
        H2::open_with(port, codec, case, &[]).await
    }

    /// Names the next case on this connection.
    pub fn case(&mut self, case: &str) {
        self.case = case.to_string();
    }

    pub fn check(&self, ok: bool, what: &str) {
        assert!(ok, "[codec {}] {}: {what}", self.codec, self.case);
    }

    pub fn fail(&self, what: &str) -> ! {
        panic!("[codec {}] {}: {what}", self.codec, self.case)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        // A write can fail once the server has closed: what follows reads that.
        let _ = self.stream.write_all(bytes).await;
    }

    pub async fn send_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        self.send(&frame(kind, flags, stream, payload)).await;
    }

    /// HEADERS with `fields` in one frame (END_HEADERS), END_STREAM when `end`.
    pub async fn headers(&mut self, stream: u32, fields: &[(String, String)], end: bool) {
        let flags = END_HEADERS | if end { END_STREAM } else { 0 };
        self.send_frame(HEADERS, flags, stream, &block(fields))
            .await;
    }

    /// A GET of `path` on `stream`, no body.
    pub async fn get(&mut self, stream: u32, path: &str) {
        self.headers(stream, &request("GET", path, &[]), true).await;
    }

    pub async fn ping(&mut self, data: [u8; 8]) {
        self.send_frame(PING, 0, 0, &data).await;
    }

    /// One frame within [`READ_WAIT`], a header block whole and decoded.
    pub async fn next(&mut self) -> Event {
        let mut head = match self.raw().await {
            Event::Frame(f) => f,
            other => return other,
        };
        if head.kind != HEADERS {
            return Event::Frame(head);
        }
        let mut fragment = strip(&head.payload, head.flags);
        while head.flags & END_HEADERS == 0 {
            match self.raw().await {
                Event::Frame(c) if c.kind == CONTINUATION && c.stream == head.stream => {
                    fragment.extend_from_slice(&c.payload);
                    head.flags |= c.flags & END_HEADERS;
                }
                Event::Frame(other) => {
                    self.fail(&format!("{} inside a header block", other.describe()))
                }
                _ => self.fail("the connection ended inside a header block"),
            }
        }
        match self.decoder.decode(&fragment) {
            Ok(fields) => {
                head.fields = fields
                    .into_iter()
                    .map(|(n, v)| {
                        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
                        (text(n), text(v))
                    })
                    .collect()
            }
            Err(e) => self.fail(&format!("the server's header block does not decode: {e:?}")),
        }
        Event::Frame(head)
    }

    /// One frame, undecoded.
    async fn raw(&mut self) -> Event {
        loop {
            if self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let f: Vec<u8> = self.buf.drain(..9 + len).collect();
                    return Event::Frame(Frame {
                        kind: f[3],
                        flags: f[4],
                        stream: u32::from_be_bytes(f[5..9].try_into().unwrap()) & 0x7fff_ffff,
                        payload: f[9..].to_vec(),
                        fields: Vec::new(),
                    });
                }
            }
            match tokio::time::timeout(self.wait, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Event::Quiet,
                Ok(Ok(0)) | Ok(Err(_)) => return Event::Closed,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next frame; the connection must stay open and not go quiet.
    pub async fn frame(&mut self) -> Frame {
        match self.next().await {
            Event::Frame(f) => f,
            Event::Closed => self.fail("the connection closed where a frame was expected"),
            Event::Quiet => self.fail(&format!("no frame within {READ_WAIT:?}")),
        }
    }

    /// Reads until the server's SETTINGS ACK.
    pub async fn settings_ack(&mut self) {
        loop {
            let f = self.frame().await;
            match f.kind {
                SETTINGS if f.flags & ACK != 0 => return,
                GOAWAY | RST_STREAM => self.fail(&format!(
                    "{} where a SETTINGS ACK was expected",
                    f.describe()
                )),
                _ => {}
            }
        }
    }

    /// Reads until a GOAWAY, which must carry `code`; a RST_STREAM or the end first fails.
    pub async fn expect_goaway(&mut self, code: u32) {
        match self.refusal(None).await {
            Refusal::GoAway(c) if c == code => {}
            other => self.fail(&format!(
                "expected GOAWAY({}), got {}",
                code_name(code),
                describe(other)
            )),
        }
    }

    /// Reads until a GOAWAY, which must carry one of `codes` (a connection error where the
    /// RFC names two codes that apply); the code.
    pub async fn expect_goaway_in(&mut self, codes: &[u32]) -> u32 {
        match self.refusal(None).await {
            Refusal::GoAway(c) if codes.contains(&c) => c,
            other => self.fail(&format!(
                "expected GOAWAY with {:?}, got {}",
                codes.iter().map(|&c| code_name(c)).collect::<Vec<_>>(),
                describe(other)
            )),
        }
    }

    /// Reads until a RST_STREAM on `stream`, which must carry `code` (not a GOAWAY).
    pub async fn expect_rst(&mut self, stream: u32, code: u32) {
        match self.refusal(Some(stream)).await {
            Refusal::Reset(c) if c == code => {}
            other => self.fail(&format!(
                "expected RST_STREAM({}) on {stream}, got {}",
                code_name(code),
                describe(other)
            )),
        }
    }

    /// A stream error on `stream` or a connection error, with one of `codes` (RFC 9113 §5.4: an
    /// endpoint may treat a stream error as a connection error). Which one it was.
    pub async fn expect_goaway_or_rst(&mut self, stream: u32, codes: &[u32]) -> Refusal {
        let got = self.refusal(Some(stream)).await;
        match got {
            Refusal::Reset(c) | Refusal::GoAway(c) if codes.contains(&c) => got,
            other => self.fail(&format!(
                "expected RST_STREAM on {stream} or GOAWAY with {:?}, got {}",
                codes.iter().map(|&c| code_name(c)).collect::<Vec<_>>(),
                describe(other)
            )),
        }
    }

    /// A malformed request on `stream` (§8.1.1): a stream error PROTOCOL_ERROR (or the
    /// connection error it may be raised to), or an HTTP 4xx answer before the stream ends.
    pub async fn expect_malformed(&mut self, stream: u32) -> Refusal {
        let got = self.refusal(Some(stream)).await;
        match got {
            Refusal::Reset(PROTOCOL_ERROR) | Refusal::GoAway(PROTOCOL_ERROR) => got,
            Refusal::Status(s) if (400..500).contains(&s) => got,
            other => self.fail(&format!(
                "a malformed request: expected PROTOCOL_ERROR (stream or connection) or a 4xx, \
                 got {}",
                describe(other)
            )),
        }
    }

    /// The first refusal: a GOAWAY, a RST_STREAM on `stream` (any stream when `None`), or a
    /// response's status on `stream`. The end of the connection without a GOAWAY, or quiet,
    /// fails.
    pub async fn refusal(&mut self, stream: Option<u32>) -> Refusal {
        loop {
            let f = match self.next().await {
                Event::Frame(f) => f,
                Event::Closed => self.fail("the connection closed without a GOAWAY"),
                Event::Quiet => self.fail(&format!("no error from the server in {READ_WAIT:?}")),
            };
            let ours = stream.is_none_or(|s| s == f.stream);
            match f.kind {
                GOAWAY => return Refusal::GoAway(f.code()),
                RST_STREAM if ours => return Refusal::Reset(f.code()),
                HEADERS if ours && stream.is_some() => {
                    let status = status_of(&f.fields);
                    if !(100..200).contains(&status) {
                        return Refusal::Status(status);
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads until the response on `stream` is complete (END_STREAM); other streams' frames
    /// and the connection's own are passed over, a reset or GOAWAY fails.
    pub async fn response(&mut self, stream: u32) -> Answer {
        let mut answer = Answer::default();
        self.response_into(stream, &mut answer).await;
        answer
    }

    /// As [`H2::response`], adding to what `answer` has so far.
    pub async fn response_into(&mut self, stream: u32, answer: &mut Answer) {
        loop {
            let f = self.frame().await;
            if self.take(f, stream, answer) {
                return;
            }
        }
    }

    /// What comes on `stream` until the server has sent nothing for `quiet`, added to
    /// `answer`; whether the stream ended.
    pub async fn partial(&mut self, stream: u32, quiet: Duration, answer: &mut Answer) -> bool {
        self.wait = quiet;
        let ended = loop {
            match self.next().await {
                Event::Frame(f) => {
                    if self.take(f, stream, answer) {
                        break true;
                    }
                }
                Event::Quiet => break false,
                Event::Closed => self.fail("the connection closed during a response"),
            }
        };
        self.wait = READ_WAIT;
        ended
    }

    /// `f` into `answer` if it is `stream`'s; whether it ended the stream.
    fn take(&self, f: Frame, stream: u32, answer: &mut Answer) -> bool {
        if f.kind == GOAWAY && f.code() == NO_ERROR {
            return false; // a graceful GOAWAY: the stream still finishes
        }
        if f.kind == GOAWAY || (f.kind == RST_STREAM && f.stream == stream) {
            self.fail(&format!(
                "{} before stream {stream}'s answer ended",
                f.describe()
            ));
        }
        if f.stream != stream {
            return false;
        }
        match f.kind {
            HEADERS if answer.status == 0 || (100..200).contains(&answer.status) => {
                answer.status = status_of(&f.fields);
                answer.headers = f.fields;
            }
            HEADERS => answer.trailers = f.fields,
            DATA => {
                answer.body.extend(strip(&f.payload, f.flags));
                answer.data_frames += 1;
            }
            _ => return false,
        }
        f.flags & END_STREAM != 0
    }

    /// Reads until the server closes the connection: a connection error without a GOAWAY, or
    /// with a GOAWAY carrying `code` (RFC 9113 §5.4.1: the GOAWAY is a SHOULD); a reset, a
    /// GOAWAY with another code, or silence fails.
    pub async fn expect_closed(&mut self, code: u32) {
        loop {
            match self.next().await {
                Event::Closed => return,
                Event::Quiet => {
                    self.fail(&format!("the connection still open after {READ_WAIT:?}"))
                }
                Event::Frame(f)
                    if f.kind == RST_STREAM || (f.kind == GOAWAY && f.code() != code) =>
                {
                    self.fail(&format!("{} where the connection should end", f.describe()))
                }
                Event::Frame(_) => {}
            }
        }
    }

    /// Every byte the server sends until it closes the connection (each read bounded).
    pub async fn bytes_to_close(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buf);
        loop {
            match tokio::time::timeout(READ_WAIT, self.stream.read_buf(&mut all)).await {
                Err(_) => self.fail(&format!("the connection still open after {READ_WAIT:?}")),
                Ok(Ok(0)) | Ok(Err(_)) => return all,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The connection is still up and sound: a PING is answered with its ACK and nothing
    /// else of note comes first (no GOAWAY, no reset).
    pub async fn expect_alive(&mut self) {
        let data = *b"alive?!!";
        self.ping(data).await;
        loop {
            let f = self.frame().await;
            match f.kind {
                PING if f.flags & ACK != 0 && f.payload == data => return,
                GOAWAY | RST_STREAM => self.fail(&format!(
                    "{} where the connection should go on",
                    f.describe()
                )),
                _ => {}
            }
        }
    }
}

/// A DATA or HEADERS payload without its padding (and a HEADERS' priority block).
fn strip(payload: &[u8], flags: u8) -> Vec<u8> {
    let (mut start, mut end) = (0, payload.len());
    if flags & PADDED != 0 {
        start = 1;
        end -= usize::from(payload[0]);
    }
    if flags & PRIORITY_FLAG != 0 && payload.len() >= start + 5 {
        start += 5;
    }
    payload[start..end].to_vec()
}

fn status_of(fields: &[(String, String)]) -> u16 {
    fields
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// `refusal` in words, e.g. `RST_STREAM(PROTOCOL_ERROR)`.
pub fn describe(refusal: Refusal) -> String {
    match refusal {
        Refusal::Reset(c) => format!("RST_STREAM({})", code_name(c)),
        Refusal::GoAway(c) => format!("GOAWAY({})", code_name(c)),
        Refusal::Status(s) => format!("a {s} response"),
    }
}
