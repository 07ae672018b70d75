//! The response-side vectors of the desync corpus: what a target answers, as data. The
//! recording target writes a vector's pieces when asked for `/r/<index>/<tag>`; a vector whose
//! framing hides a second response puts [`SMUGGLED`] there, so that a proxy which reads the
//! framing differently from the client relays it as the answer to someone else's request.

use super::{Piece, ResponseExpect, ResponseVector};

/// A complete response hidden in another one's framing.
const SMUGGLED: &str = "HTTP/1.1 200 OK\r\nX-Smuggled: yes\r\nContent-Length: 8\r\n\r\nsmuggled";

fn r(name: &str, bytes: impl AsRef<[u8]>, expect: ResponseExpect) -> ResponseVector {
    ResponseVector {
        name: format!("response/{name}"),
        pieces: vec![Piece::Bytes(bytes.as_ref().to_vec())],
        head_request: false,
        expect,
        settle_ms: 0,
    }
}

/// As [`r`], the target closing the connection after the bytes.
fn r_close(name: &str, bytes: impl AsRef<[u8]>, expect: ResponseExpect) -> ResponseVector {
    ResponseVector {
        pieces: vec![Piece::Bytes(bytes.as_ref().to_vec()), Piece::Close],
        ..r(name, bytes, expect)
    }
}

/// Every response-side vector.
pub fn all() -> Vec<ResponseVector> {
    use ResponseExpect::{BadGateway, Either, Relay};
    let chunked = "5\r\nhello\r\n0\r\n\r\n";
    let mut all = vec![
        // Both framings: Transfer-Encoding wins (RFC 9112 §6.3), or 502.
        r(
            "te-cl/length-short",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n{chunked}"
            ),
            Either,
        ),
        r(
            "cl-te/length-short",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
            ),
            Either,
        ),
        r(
            "te-cl/smuggled-after-chunks",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}{SMUGGLED}",
                chunked.len() + SMUGGLED.len()
            ),
            Either,
        ),
        r(
            "te-cl/smuggled-in-chunk",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n",
                SMUGGLED.len()
            ),
            Either,
        ),
        r(
            "te-identity-cl",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        // Two lengths.
        r(
            "cl-cl/same",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r(
            "cl-cl/different",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: {}\r\n\r\nhello{SMUGGLED}",
                5 + SMUGGLED.len()
            ),
            Either,
        ),
        r(
            "cl/list-same",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
            Either,
        ),
        r(
            "cl/list-different",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 5, {}\r\n\r\nhello{SMUGGLED}",
                5 + SMUGGLED.len()
            ),
            Either,
        ),
        // The framing field named in Connection (issue 13 item 3).
        r(
            "connection-content-length",
            format!(
                "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        r(
            "connection-transfer-encoding",
            format!(
                "HTTP/1.1 200 OK\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}{SMUGGLED}"
            ),
            Either,
        ),
        r(
            "connection-close-content-length",
            format!(
                "HTTP/1.1 200 OK\r\nConnection: close, Content-Length\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        // Transfer codings.
        r(
            "te/uppercase",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n{chunked}"),
            Relay,
        ),
        r(
            "te/gzip-chunked",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{chunked}"),
            Either,
        ),
        r_close(
            "te/chunked-identity",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n{chunked}"),
            Either,
        ),
        r_close(
            "te/gzip-until-close",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot really gzip",
            Either,
        ),
        r_close(
            "te/xchunked",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n{chunked}"),
            Either,
        ),
        r(
            "te/two-fields",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
            ),
            Either,
        ),
        r(
            "te/space-before-colon",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        r(
            "te/folded",
            format!(
                "HTTP/1.1 200 OK\r\nX-A: b\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        // Invalid chunked bodies (issue 13 item 3: 502 before any byte was relayed).
        r_close(
            "chunk/bad-size",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            BadGateway,
        ),
        r_close(
            "chunk/size-overflow",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
            BadGateway,
        ),
        r_close(
            "chunk/negative",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
            BadGateway,
        ),
        r_close(
            "chunk/data-no-crlf",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
            Either,
        ),
        r_close(
            "chunk/bare-lf-size",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
            Either,
        ),
        r(
            "chunk/extension",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n",
            Relay,
        ),
        r(
            "chunk/trailer",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
            Relay,
        ),
        r(
            "chunk/smuggled-after-last",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}{SMUGGLED}"),
            Either,
        ),
        r_close(
            "chunk/cut-short",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            Either,
        ),
        // Bodies longer or shorter than their length.
        r(
            "cl/extra-bytes",
            format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"),
            Either,
        ),
        r_close(
            "cl/cut-short",
            "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello",
            Either,
        ),
        r(
            "cl/negative",
            format!("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{SMUGGLED}"),
            BadGateway,
        ),
        r(
            "cl/plus",
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
            BadGateway,
        ),
        r(
            "cl/hex",
            "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
            BadGateway,
        ),
        r(
            "cl/huge",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello",
            BadGateway,
        ),
        r(
            "cl/space-before-colon",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length : 50\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}"
            ),
            Either,
        ),
        // Interim responses (issue 13 item 3: a flood is capped).
        r(
            "interim/one-100",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            Relay,
        ),
        r(
            "interim/103-early-hints",
            "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            Relay,
        ),
        r(
            "interim/ten",
            format!(
                "{}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                "HTTP/1.1 100 Continue\r\n\r\n".repeat(10)
            ),
            Relay,
        ),
        r(
            "interim/flood-1000",
            format!(
                "{}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                "HTTP/1.1 100 Continue\r\n\r\n".repeat(1000)
            ),
            Either,
        ),
        r(
            "interim/with-length",
            format!(
                "HTTP/1.1 100 Continue\r\nContent-Length: {}\r\n\r\n{SMUGGLED}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                SMUGGLED.len()
            ),
            Either,
        ),
        r(
            "interim/101-unasked",
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n{SMUGGLED}"
            ),
            BadGateway,
        ),
        // Statuses without a body that come with one.
        r(
            "no-body/204-with-length",
            "HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\nsmuggled",
            Either,
        ),
        r(
            "no-body/204-chunked",
            "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            Either,
        ),
        r(
            "no-body/304-with-body",
            format!("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n{SMUGGLED}"),
            Either,
        ),
        // Heads burr cannot or must not relay as they are.
        r_close(
            "head/oversized-70k",
            format!(
                "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 5\r\n\r\nhello",
                "b".repeat(70_000)
            ),
            BadGateway,
        ),
        r(
            "head/bare-lf",
            "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
            Either,
        ),
        r(
            "head/bare-lf-one-line",
            "HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r_close(
            "head/bare-cr",
            "HTTP/1.1 200 OK\r\nX-A: b\rContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r(
            "head/obs-fold",
            "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r_close(
            "head/nul-in-value",
            "HTTP/1.1 200 OK\r\nX-A: b\x00c\r\nContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r_close(
            "head/no-colon",
            "HTTP/1.1 200 OK\r\nX-A b\r\nContent-Length: 5\r\n\r\nhello",
            Either,
        ),
        r_close(
            "status/four-digits",
            "HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello",
            BadGateway,
        ),
        r_close(
            "status/two-digits",
            "HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nhello",
            BadGateway,
        ),
        r(
            "status/no-reason",
            "HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello",
            Relay,
        ),
        r(
            "status/http10-keep-alive",
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello",
            Relay,
        ),
        r_close(
            "status/http10-until-close",
            "HTTP/1.0 200 OK\r\n\r\nuntil the close",
            Relay,
        ),
        r_close(
            "status/icy",
            "ICY 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            BadGateway,
        ),
        r_close("status/http09", "just a body", BadGateway),
        r_close(
            "status/599",
            "HTTP/1.1 599 Odd\r\nContent-Length: 5\r\n\r\nhello",
            Relay,
        ),
        r_close("close/before-any-byte", "", BadGateway),
        r_close(
            "close/mid-head",
            "HTTP/1.1 200 OK\r\nContent-Len",
            BadGateway,
        ),
        // A second response, unasked for, arriving while the upstream connection is idle (the
        // client waits before its next request): it must not answer the next request.
        ResponseVector {
            name: "response/unsolicited-while-idle".into(),
            pieces: vec![
                Piece::Bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec()),
                Piece::Pause(30),
                Piece::Bytes(SMUGGLED.as_bytes().to_vec()),
            ],
            head_request: false,
            expect: Relay,
            settle_ms: 150,
        },
        // No answer within the response timeout: 504.
        ResponseVector {
            name: "response/stall".into(),
            pieces: vec![Piece::Pause(1_500)],
            head_request: false,
            expect: ResponseExpect::Status(504),
            settle_ms: 0,
        },
        // A pause inside the head.
        ResponseVector {
            name: "response/head-in-pieces".into(),
            pieces: vec![
                Piece::Bytes(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
                Piece::Pause(20),
                Piece::Bytes(b"ngth: 5\r\n\r\nhello".to_vec()),
            ],
            head_request: false,
            expect: Relay,
            settle_ms: 0,
        },
    ];
    // HEAD: the target wrongly sends a body; it must not become the next response.
    for (name, bytes) in [
        (
            "head-request/length-with-body",
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
        ),
        (
            "head-request/chunked-with-body",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n",
                SMUGGLED.len()
            ),
        ),
        (
            "head-request/correct",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_string(),
        ),
    ] {
        all.push(ResponseVector {
            head_request: true,
            ..r(name, bytes, Either)
        });
    }
    all
}
