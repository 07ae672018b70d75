//! A strict HTTP/1.1 message parser for tests: what "well-framed" and "unambiguous" mean when a
//! test judges the exact bytes burr sent to a target or to a client.
//!
//! A message parses only if every line ends in CRLF (no bare CR or LF anywhere in the head),
//! no field is folded (obs-fold), every field name is a token followed at once by `:`, every
//! field value holds only SP, HTAB, visible ASCII and obs-text (no NUL or other control), and
//! its framing is single: at most one `Content-Length` (digits only), at most one
//! `Transfer-Encoding` and never both, no `Connection` naming a framing field. A request must
//! also have an origin-form (or `*`) target, exactly one `Host` with a valid (possibly empty) value and `HTTP/1.1`; a chunked
//! body must follow the grammar exactly (hex size of at most 16 digits, token extensions without
//! whitespace, CRLF after each chunk, trailers without framing fields). Anything else is
//! [`Parsed::Invalid`] with the reason: a lenient server and a strict one could read such bytes
//! as different requests.
//!
//! Shared by the end-to-end desync corpus (`crates/burr/tests/desync.rs`) and the in-process
//! differential test of burr-proxy (`crates/burr-proxy/tests/differential.rs`), so it depends on
//! nothing but std.

#![allow(dead_code)] // each test binary uses part of it

/// The outcome of parsing the start of a byte stream.
#[derive(Debug)]
pub enum Parsed<M> {
    /// A whole message of `len` bytes.
    Complete(M),
    /// Valid so far; more bytes are needed.
    Incomplete,
    /// These bytes are not one unambiguous message.
    Invalid(String),
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    /// A response read until the connection closes.
    UntilClose,
}

/// A parsed message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The start line, without its CRLF.
    pub start: String,
    /// Field names as sent and values without surrounding whitespace.
    pub fields: Vec<(String, Vec<u8>)>,
    pub framing: Framing,
    /// The head's length, CRLF CRLF included.
    pub head_len: usize,
    /// The body's content (chunks decoded).
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
    /// The whole message's length on the wire.
    pub len: usize,
}

impl Message {
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.values(name)
            .next()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn method(&self) -> &str {
        self.start.split(' ').next().unwrap_or_default()
    }

    pub fn target(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    /// A response's status code (0 if the start line is a request's).
    pub fn status(&self) -> u16 {
        self.start
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Largest head this parser waits for before calling the bytes invalid.
const MAX_HEAD: usize = 1 << 20;

pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_value_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
    format!("{text:?}")
}

/// The next line at `at` without its CRLF, and where the line after it starts.
fn line(bytes: &[u8], at: usize) -> Parsed<(&[u8], usize)> {
    let rest = &bytes[at..];
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        // A CR that is not the last byte must be followed by LF.
        if let Some(cr) = rest.iter().position(|&b| b == b'\r')
            && cr + 1 < rest.len()
        {
            return Parsed::Invalid(format!("bare CR in {}", show(rest)));
        }
        return Parsed::Incomplete;
    };
    if lf == 0 || rest[lf - 1] != b'\r' {
        return Parsed::Invalid(format!("bare LF after {}", show(&rest[..lf])));
    }
    let content = &rest[..lf - 1];
    if content.contains(&b'\r') {
        return Parsed::Invalid(format!("bare CR in {}", show(content)));
    }
    Parsed::Complete((content, at + lf + 1))
}

macro_rules! next_line {
    ($bytes:expr, $at:expr) => {
        match line($bytes, $at) {
            Parsed::Complete(l) => l,
            Parsed::Incomplete => return Parsed::Incomplete,
            Parsed::Invalid(e) => return Parsed::Invalid(e),
        }
    };
}

/// Header (or trailer) fields: names as sent, values trimmed.
pub type Fields = Vec<(String, Vec<u8>)>;

/// Field lines from `at` up to and including the empty line; returns the fields and the offset
/// after the empty line.
fn field_lines(bytes: &[u8], mut at: usize) -> Parsed<(Fields, usize)> {
    let mut fields = Vec::new();
    loop {
        if at > MAX_HEAD {
            return Parsed::Invalid(format!("head longer than {MAX_HEAD} bytes"));
        }
        let (content, next) = next_line!(bytes, at);
        at = next;
        if content.is_empty() {
            return Parsed::Complete((fields, at));
        }
        if content[0] == b' ' || content[0] == b'\t' {
            return Parsed::Invalid(format!("obs-fold line {}", show(content)));
        }
        let Some(colon) = content.iter().position(|&b| b == b':') else {
            return Parsed::Invalid(format!("field line without a colon: {}", show(content)));
        };
        let name = &content[..colon];
        if !is_token(name) {
            return Parsed::Invalid(format!("invalid field name {}", show(name)));
        }
        let value = content[colon + 1..].trim_ascii();
        if let Some(&bad) = value.iter().find(|&&b| !is_value_byte(b)) {
            return Parsed::Invalid(format!("byte 0x{bad:02x} in the value of {}", show(name)));
        }
        fields.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
}

/// The comma-separated, trimmed, non-empty elements of a list value.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
}

/// The framing named by `fields`, the rules common to requests and responses checked.
fn framing_fields(fields: &[(String, Vec<u8>)]) -> Result<Option<Framing>, String> {
    let named = |n: &'static str| {
        fields
            .iter()
            .filter(move |(f, _)| f.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_slice())
    };
    for value in named("connection") {
        for token in list(value) {
            if !is_token(token) {
                return Err(format!("Connection token {} is not a token", show(token)));
            }
            for framing in ["content-length", "transfer-encoding", "host"] {
                if token.eq_ignore_ascii_case(framing.as_bytes()) {
                    return Err(format!("Connection names {framing}"));
                }
            }
        }
    }
    let lengths: Vec<&[u8]> = named("content-length").collect();
    let codings: Vec<&[u8]> = named("transfer-encoding").collect();
    if lengths.len() > 1 {
        return Err(format!("{} Content-Length fields", lengths.len()));
    }
    if codings.len() > 1 {
        return Err(format!("{} Transfer-Encoding fields", codings.len()));
    }
    match (lengths.first(), codings.first()) {
        (Some(_), Some(_)) => Err("both Content-Length and Transfer-Encoding".into()),
        (Some(cl), None) => {
            if cl.is_empty() || cl.len() > 19 || !cl.iter().all(u8::is_ascii_digit) {
                return Err(format!("Content-Length {}", show(cl)));
            }
            Ok(Some(Framing::Length(
                std::str::from_utf8(cl).unwrap().parse().unwrap(),
            )))
        }
        (None, Some(te)) => {
            let codings: Vec<&[u8]> = list(te).collect();
            if codings.is_empty() || !codings.iter().all(|c| is_token(c)) {
                return Err(format!("Transfer-Encoding {}", show(te)));
            }
            let chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
            if codings[..codings.len() - 1].iter().any(chunked) {
                return Err(format!("chunked is not the last coding: {}", show(te)));
            }
            Ok(Some(if codings.last().is_some_and(chunked) {
                Framing::Chunked
            } else {
                Framing::UntilClose
            }))
        }
        (None, None) => Ok(None),
    }
}

/// A chunked body from `at`: the decoded content, the trailers and the offset after it.
type ChunkedParts = (Vec<u8>, Fields, usize);

fn chunked(bytes: &[u8], mut at: usize) -> Parsed<ChunkedParts> {
    let mut body = Vec::new();
    loop {
        let (content, next) = next_line!(bytes, at);
        at = next;
        let digits = content.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 16 {
            return Parsed::Invalid(format!("chunk size line {}", show(content)));
        }
        let mut ext = &content[digits..];
        while !ext.is_empty() {
            // `;name` or `;name=token` or `;name="quoted"`, no whitespace.
            let Some(rest) = ext.strip_prefix(b";") else {
                return Parsed::Invalid(format!("chunk extension {}", show(content)));
            };
            let name_len = rest.iter().take_while(|&&b| is_tchar(b)).count();
            if name_len == 0 {
                return Parsed::Invalid(format!("chunk extension {}", show(content)));
            }
            ext = &rest[name_len..];
            if let Some(value) = ext.strip_prefix(b"=") {
                let value_len = if value.first() == Some(&b'"') {
                    match value[1..].iter().position(|&b| b == b'"') {
                        Some(close) if !value[1..=close].contains(&b'\\') => close + 2,
                        _ => return Parsed::Invalid(format!("chunk extension {}", show(content))),
                    }
                } else {
                    value.iter().take_while(|&&b| is_tchar(b)).count()
                };
                if value_len == 0 {
                    return Parsed::Invalid(format!("chunk extension {}", show(content)));
                }
                ext = &value[value_len..];
            }
        }
        let size = u64::from_str_radix(std::str::from_utf8(&content[..digits]).unwrap(), 16)
            .unwrap_or(u64::MAX);
        if size == 0 {
            let (trailers, end) = match field_lines(bytes, at) {
                Parsed::Complete(t) => t,
                Parsed::Incomplete => return Parsed::Incomplete,
                Parsed::Invalid(e) => return Parsed::Invalid(format!("trailer: {e}")),
            };
            for (name, _) in &trailers {
                for framing in ["content-length", "transfer-encoding", "host"] {
                    if name.eq_ignore_ascii_case(framing) {
                        return Parsed::Invalid(format!("{name} in a trailer"));
                    }
                }
            }
            return Parsed::Complete((body, trailers, end));
        }
        let size = match usize::try_from(size) {
            Ok(s) if s <= (1 << 30) => s,
            _ => return Parsed::Invalid(format!("chunk of {size} bytes")),
        };
        if bytes.len() < at + size + 2 {
            return Parsed::Incomplete;
        }
        body.extend_from_slice(&bytes[at..at + size]);
        if &bytes[at + size..at + size + 2] != b"\r\n" {
            return Parsed::Invalid("chunk data not followed by CRLF".into());
        }
        at += size + 2;
    }
}

/// The body after a head of `head_len` bytes framed as `framing`; `at_eof`: no more bytes will
/// come (an until-close body ends there).
fn body(
    bytes: &[u8],
    start: String,
    fields: Vec<(String, Vec<u8>)>,
    head_len: usize,
    framing: Framing,
    at_eof: bool,
) -> Parsed<Message> {
    let (body, trailers, len) = match framing {
        Framing::None => (Vec::new(), Vec::new(), head_len),
        Framing::Length(n) => {
            let Some(end) = usize::try_from(n)
                .ok()
                .and_then(|n| head_len.checked_add(n))
            else {
                return Parsed::Invalid(format!("Content-Length {n}"));
            };
            if bytes.len() < end {
                return Parsed::Incomplete;
            }
            (bytes[head_len..end].to_vec(), Vec::new(), end)
        }
        Framing::Chunked => match chunked(bytes, head_len) {
            Parsed::Complete(parts) => parts,
            Parsed::Incomplete => return Parsed::Incomplete,
            Parsed::Invalid(e) => return Parsed::Invalid(e),
        },
        Framing::UntilClose => {
            if !at_eof {
                return Parsed::Incomplete;
            }
            (bytes[head_len..].to_vec(), Vec::new(), bytes.len())
        }
    };
    Parsed::Complete(Message {
        start,
        fields,
        framing,
        head_len,
        body,
        trailers,
        len,
    })
}

/// A valid `Host` value: a host name, IPv4 or bracketed IPv6 address, with an optional port,
/// or empty (RFC 9112 §3.2); nothing that could name two hosts or carry whitespace.
fn valid_host(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+;=:[]".contains(&b))
}

/// The request at the start of `bytes`.
pub fn request(bytes: &[u8]) -> Parsed<Message> {
    let (start, at) = next_line!(bytes, 0);
    let parts: Vec<&[u8]> = start.split(|&b| b == b' ').collect();
    let [method, target, version] = parts[..] else {
        return Parsed::Invalid(format!("request line {}", show(start)));
    };
    if !is_token(method) {
        return Parsed::Invalid(format!("method {}", show(method)));
    }
    if version != b"HTTP/1.1" {
        return Parsed::Invalid(format!("version {}", show(version)));
    }
    let origin_form = target.first() == Some(&b'/');
    if !(origin_form || (target == b"*" && method == b"OPTIONS")) {
        return Parsed::Invalid(format!("target {} is not in origin form", show(target)));
    }
    if let Some(&bad) = target
        .iter()
        .find(|&&b| !(0x21..=0x7e).contains(&b) || b == b'#')
    {
        return Parsed::Invalid(format!("byte 0x{bad:02x} in the target"));
    }
    let (fields, head_len) = match field_lines(bytes, at) {
        Parsed::Complete(f) => f,
        Parsed::Incomplete => return Parsed::Incomplete,
        Parsed::Invalid(e) => return Parsed::Invalid(e),
    };
    let hosts: Vec<&[u8]> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_slice())
        .collect();
    match hosts[..] {
        [host] if valid_host(host) => {}
        [host] => return Parsed::Invalid(format!("Host {}", show(host))),
        _ => return Parsed::Invalid(format!("{} Host fields", hosts.len())),
    }
    let framing = match framing_fields(&fields) {
        Ok(Some(Framing::UntilClose)) => {
            return Parsed::Invalid("a request Transfer-Encoding not ending in chunked".into());
        }
        Ok(f) => f.unwrap_or(Framing::None),
        Err(e) => return Parsed::Invalid(e),
    };
    let start = String::from_utf8_lossy(start).into_owned();
    body(bytes, start, fields, head_len, framing, false)
}

/// The response at the start of `bytes`; `to_head`: it answers a HEAD request; `at_eof`: the
/// connection has closed after these bytes.
pub fn response(bytes: &[u8], to_head: bool, at_eof: bool) -> Parsed<Message> {
    let (start, at) = next_line!(bytes, 0);
    let valid_start = start.len() >= 12
        && (start.starts_with(b"HTTP/1.1 ") || start.starts_with(b"HTTP/1.0 "))
        && start[9..12].iter().all(u8::is_ascii_digit)
        && (start.len() == 12 || start[12] == b' ')
        && start[9] != b'0'
        && start.iter().skip(12).all(|&b| is_value_byte(b));
    if !valid_start {
        return Parsed::Invalid(format!("status line {}", show(start)));
    }
    let status: u16 = std::str::from_utf8(&start[9..12]).unwrap().parse().unwrap();
    let (fields, head_len) = match field_lines(bytes, at) {
        Parsed::Complete(f) => f,
        Parsed::Incomplete => return Parsed::Incomplete,
        Parsed::Invalid(e) => return Parsed::Invalid(e),
    };
    let declared = match framing_fields(&fields) {
        Ok(f) => f,
        Err(e) => return Parsed::Invalid(e),
    };
    let no_body = to_head || status < 200 || status == 204 || status == 304;
    if (status < 200 || status == 204) && declared.is_some() {
        return Parsed::Invalid(format!("framing fields in a {status} response"));
    }
    let framing = if no_body {
        Framing::None
    } else {
        declared.unwrap_or(Framing::UntilClose)
    };
    let start = String::from_utf8_lossy(start).into_owned();
    body(bytes, start, fields, head_len, framing, at_eof)
}

/// Every response in `stream`, which ended with the connection closing: well-framed means the
/// stream is exactly a sequence of valid responses (interim ones included), nothing left over.
/// `to_head(i)`: the `i`-th final response answers a HEAD request.
pub fn responses(stream: &[u8], to_head: impl Fn(usize) -> bool) -> Result<Vec<Message>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut finals = 0;
    while at < stream.len() {
        match response(&stream[at..], to_head(finals), true) {
            Parsed::Complete(m) => {
                at += m.len;
                if m.status() >= 200 || m.status() == 101 {
                    finals += 1;
                }
                out.push(m);
            }
            Parsed::Incomplete => {
                return Err(format!(
                    "response {} cut short at the close: {}",
                    out.len() + 1,
                    show(&stream[at..])
                ));
            }
            Parsed::Invalid(e) => {
                return Err(format!("response {}: {e}", out.len() + 1));
            }
        }
    }
    Ok(out)
}
