//! The client side of the desync corpus: sending a vector's bytes to burr and reading back
//! what it sends, one final response at a time, strictly parsed; the echo request and the
//! probe that check a connection is still in step after a vector.

use super::common::raw_http::{self, Recorder, Seen};
use super::common::strict::{self, Message, Parsed};
use super::{WAIT, show};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a client read for one request.
pub(crate) enum Read {
    Complete(Message),
    /// Closed before any byte.
    Closed,
    /// Closed after a complete head, inside a body whose framing shows it is cut.
    CutShort(Vec<u8>),
    Invalid(String),
}

/// Reads one final response (interim ones are skipped, checked all the same).
pub(crate) async fn read_final(stream: &mut TcpStream, buf: &mut Vec<u8>, to_head: bool) -> Read {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut eof = false;
        if buf.is_empty() || matches!(strict::response(buf, to_head, false), Parsed::Incomplete) {
            match tokio::time::timeout_at(deadline, stream.read_buf(buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => eof = true,
                Ok(Ok(_)) => continue,
                Err(_) => {
                    return Read::Invalid(format!(
                        "no complete response within {WAIT:?}; got {}",
                        show(buf)
                    ));
                }
            }
        }
        if eof && buf.is_empty() {
            return Read::Closed;
        }
        match strict::response(buf, to_head, eof) {
            Parsed::Complete(m) => {
                buf.drain(..m.len);
                if m.status() < 200 && m.status() != 101 {
                    continue;
                }
                return Read::Complete(m);
            }
            Parsed::Incomplete if eof => {
                return if raw_http::find(buf, b"\r\n\r\n").is_some() {
                    Read::CutShort(std::mem::take(buf))
                } else {
                    Read::Invalid(format!("closed inside a response head: {}", show(buf)))
                };
            }
            Parsed::Incomplete => {}
            Parsed::Invalid(reason) => {
                return Read::Invalid(format!("{reason}; bytes {}", show(buf)));
            }
        }
    }
}

/// Sends `bytes`, half-closes, and reads everything burr sends until it closes.
pub(crate) async fn exchange(port: u16, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    // burr may answer and close before reading everything (431, 400): a failed write is fine,
    // what it sent is still read below.
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut received)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(received),
            Ok(Ok(_)) => {}
            Err(_) => {
                return Err(format!(
                    "burr neither answered nor closed within {WAIT:?}; got {}",
                    show(&received)
                ));
            }
        }
    }
}

/// A GET on `stream` that the target must answer with its echo of `path`; `Ok(false)` when
/// burr had closed the connection (allowed only where `may_close`).
pub(crate) async fn echo_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    path: &str,
    recorder: &Recorder,
    may_close: bool,
) -> Result<bool, String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: d.test\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() && may_close {
        return Ok(false);
    }
    match read_final(stream, buf, false).await {
        Read::Closed if may_close => Ok(false),
        Read::Complete(m) => {
            if m.header("x-smuggled").is_some() {
                return Err(format!("{path} got the smuggled response: {m:?}"));
            }
            let Some(id) = m.header("x-target") else {
                return Err(format!(
                    "{path} not answered by the target: {} {}",
                    m.start,
                    show(&m.body)
                ));
            };
            if m.body != path.as_bytes() {
                return Err(format!(
                    "{path} got the answer to another request: {} (X-Target {id}) body {}",
                    m.start,
                    show(&m.body)
                ));
            }
            let seen = recorder.seen();
            let matches = seen.iter().any(|s| {
                matches!(s, Seen::Request { id: i, message, .. } if *i == id && message.target() == path)
            });
            if !matches {
                return Err(format!("{path}: X-Target {id} is not a request for {path}"));
            }
            Ok(true)
        }
        Read::Closed => Err(format!(
            "{path}: burr closed the connection without answering"
        )),
        Read::CutShort(b) => Err(format!("{path}: answer cut short: {}", show(&b))),
        Read::Invalid(e) => Err(format!("{path}: {e}")),
    }
}

/// A fresh client's probe after a vector.
pub(crate) async fn probe(port: u16, tag: &str, recorder: &Recorder) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("probe connect: {e}"))?;
    let mut buf = Vec::new();
    echo_request(&mut stream, &mut buf, &format!("/p/{tag}"), recorder, false)
        .await
        .map(|_| ())
        .map_err(|e| format!("probe from another client: {e}"))
}
