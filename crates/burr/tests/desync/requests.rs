//! The request-side vectors of the desync corpus: what a client sends, as data. `{TAG}` in the
//! bytes stands for the vector's tag (put in every path so the target's log says whose request
//! it saw); `/d/{TAG}/n` is the client's n-th request as the vector means it, `/x/{TAG}` a request
//! smuggled inside another. Families are generated combinatorially where they vary along
//! independent axes (every `Transfer-Encoding` spelling × field-name spelling × placement
//! against `Content-Length`); the rest are listed one by one with a name saying what they try.

use super::{Expect, RequestVector};

/// A request smuggled inside another one's framing.
pub(crate) const SMUGGLED: &str = "GET /x/{TAG} HTTP/1.1\r\nHost: d.test\r\n\r\n";
/// A well-formed request following the one under test on the same connection.
pub(crate) const NEXT: &str = "GET /d/{TAG}/2 HTTP/1.1\r\nHost: d.test\r\n\r\n";
/// A valid chunked body.
pub(crate) const CHUNKED_BODY: &str = "5\r\nhello\r\n0\r\n\r\n";

pub(crate) fn v(name: impl Into<String>, bytes: impl AsRef<[u8]>, expect: Expect) -> RequestVector {
    RequestVector {
        name: name.into(),
        bytes: bytes.as_ref().to_vec(),
        expect,
        head: false,
    }
}

/// `POST /d/{TAG}/1` with `fields` (each ending in CRLF), then `rest` (body and what follows).
pub(crate) fn post(fields: &str, rest: &[u8]) -> Vec<u8> {
    let mut r = format!("POST /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n{fields}\r\n").into_bytes();
    r.extend_from_slice(rest);
    r
}

fn post_bytes(fields: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut r = b"POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n".to_vec();
    r.extend_from_slice(fields);
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(rest);
    r
}

/// A chunk carrying the smuggled request, then the last chunk: the body a TE.CL attack uses.
fn chunk_with_smuggled() -> String {
    format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len())
}

/// Every request-side vector.
pub fn all() -> Vec<RequestVector> {
    let mut all = Vec::new();
    transfer_encoding_matrix(&mut all);
    content_length(&mut all);
    chunk_lines(&mut all);
    line_endings_and_bytes(&mut all);
    super::request_heads::connection_nominated(&mut all);
    super::request_heads::upgrade_and_pipelining(&mut all);
    super::request_heads::versions_methods_targets(&mut all);
    super::request_heads::hosts(&mut all);
    super::request_heads::limits(&mut all);
    all
}

/// `Transfer-Encoding` values an attacker spells to be read as chunked by one parser and not by
/// another. The bytes are the whole value after `: `.
const TE_VALUES: &[(&str, &[u8])] = &[
    ("chunked", b"chunked"),
    ("Chunked", b"Chunked"),
    ("CHUNKED", b"CHUNKED"),
    ("mixed-case", b"cHuNkEd"),
    ("trailing-space", b"chunked "),
    ("leading-tab", b"\tchunked"),
    ("twice", b"chunked, chunked"),
    ("identity-chunked", b"identity, chunked"),
    ("gzip-chunked", b"gzip, chunked"),
    ("chunked-identity", b"chunked, identity"),
    ("chunked-gzip", b"chunked, gzip"),
    ("identity", b"identity"),
    ("gzip", b"gzip"),
    ("xchunked", b"xchunked"),
    ("chunkedx", b"chunkedx"),
    ("chunk", b"chunk"),
    ("semicolon", b"chunked;"),
    ("parameter", b"chunked; q=1"),
    ("quoted", b"\"chunked\""),
    ("leading-comma", b",chunked"),
    ("trailing-comma", b"chunked,"),
    ("vertical-tab", b"chunked\x0b"),
    ("form-feed", b"\x0cchunked"),
    ("nul", b"chunked\x00"),
    ("kelvin-sign", "chun\u{212a}ed".as_bytes()),
    ("empty", b""),
    ("space-inside", b"chun ked"),
];

/// Spellings of the field name: the real one, and ones a lenient parser might also take.
const TE_NAMES: &[(&str, &[u8])] = &[
    ("name", b"Transfer-Encoding"),
    ("lowercase-name", b"transfer-encoding"),
    ("space-before-colon", b"Transfer-Encoding "),
    ("tab-before-colon", b"Transfer-Encoding\t"),
    ("underscore-name", b"Transfer_Encoding"),
    // A continuation line: folded into the previous field by RFC 2616, a field of its own to
    // a lenient parser.
    ("folded", b"X-Folded: x\r\n Transfer-Encoding"),
];

/// Each TE spelling × name spelling × placement. Placements: TE alone (valid chunked body,
/// then a pipelined request); CL then TE with a CL-sized body hiding a request after the last
/// chunk (CL.TE); TE then CL with a chunk hiding a request past CL bytes (TE.CL); and a valid
/// `Transfer-Encoding: chunked` followed by the spelled one (TE.TE). Only the real field name
/// is tried in all four placements; the other names in the first two.
fn transfer_encoding_matrix(all: &mut Vec<RequestVector>) {
    for &(name_label, name) in TE_NAMES {
        for &(value_label, value) in TE_VALUES {
            let field = [name, b": ", value, b"\r\n"].concat();
            let label = format!("te/{name_label}/{value_label}");
            all.push(v(
                format!("{label}/alone"),
                post_bytes(&field, format!("{CHUNKED_BODY}{NEXT}").as_bytes()),
                Expect::Any,
            ));
            let cl_te_body = format!("0\r\n\r\n{SMUGGLED}");
            all.push(v(
                format!("{label}/cl-te"),
                post_bytes(
                    &[
                        format!("Content-Length: {}\r\n", cl_te_body.len()).as_bytes(),
                        &field,
                    ]
                    .concat(),
                    cl_te_body.as_bytes(),
                ),
                if name_label == "name" || name_label == "lowercase-name" {
                    Expect::Refused
                } else {
                    Expect::Any
                },
            ));
            if name_label != "name" {
                continue;
            }
            let te_cl_body = chunk_with_smuggled();
            let size_line = te_cl_body.find("\r\n").unwrap() + 2;
            all.push(v(
                format!("{label}/te-cl"),
                post_bytes(
                    &[
                        &field[..],
                        format!("Content-Length: {size_line}\r\n").as_bytes(),
                    ]
                    .concat(),
                    te_cl_body.as_bytes(),
                ),
                Expect::Refused,
            ));
            all.push(v(
                format!("{label}/te-te"),
                post_bytes(
                    &[&b"Transfer-Encoding: chunked\r\n"[..], &field].concat(),
                    format!("{CHUNKED_BODY}{NEXT}").as_bytes(),
                ),
                Expect::Any,
            ));
        }
    }
}

/// Content-Length values and names, each with the body `hello` and a request smuggled after it.
fn content_length(all: &mut Vec<RequestVector>) {
    let rest = format!("hello{SMUGGLED}");
    for (label, value) in [
        ("list-same", "5, 5"),
        ("list-no-space", "5,5"),
        ("list-different", "5, 6"),
        ("two-numbers", "5 5"),
        ("plus", "+5"),
        ("minus", "-5"),
        ("hex", "0x5"),
        ("leading-zero", "05"),
        ("decimal", "5.0"),
        ("exponent", "5e0"),
        ("empty", ""),
        ("letters", "abc"),
        ("u64-max", "18446744073709551615"),
        ("u64-overflow", "18446744073709551616"),
        ("u64-wrap-to-5", "18446744073709551621"),
        ("u32-wrap-to-5", "4294967301"),
        ("twenty-digits", "99999999999999999999"),
        ("semicolon", "5;"),
        ("arabic-digit", "\u{665}"),
        ("fullwidth-digit", "\u{ff15}"),
        ("trailing-tab", "5\t"),
    ] {
        all.push(v(
            format!("cl/value/{label}"),
            post(&format!("Content-Length: {value}\r\n"), rest.as_bytes()),
            match label {
                // Read as a length larger than the body: burr waits for the rest, the client
                // gives up.
                "leading-zero" | "trailing-tab" | "u32-wrap-to-5" => Expect::Any,
                _ => Expect::Refused,
            },
        ));
    }
    for (label, value) in [("nul", &b"5\x00"[..]), ("vertical-tab", b"\x0b5")] {
        all.push(v(
            format!("cl/value/{label}"),
            post_bytes(
                &[b"Content-Length: ", value, b"\r\n"].concat(),
                rest.as_bytes(),
            ),
            Expect::Refused,
        ));
    }
    for (label, fields) in [
        (
            "duplicate-same",
            "Content-Length: 5\r\nContent-Length: 5\r\n",
        ),
        (
            "duplicate-different",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
        ),
        (
            "duplicate-zero-first",
            "Content-Length: 0\r\nContent-Length: 5\r\n",
        ),
        (
            "duplicate-case",
            "Content-Length: 5\r\ncontent-length: 43\r\n",
        ),
        (
            "duplicate-apart",
            "Content-Length: 5\r\nX-Between: 1\r\nContent-Length: 43\r\n",
        ),
    ] {
        all.push(v(
            format!("cl/{label}"),
            post(fields, rest.as_bytes()),
            Expect::Refused,
        ));
    }
    for (label, name) in [
        ("space-before-colon", "Content-Length "),
        ("tab-before-colon", "Content-Length\t"),
        ("underscore", "Content_Length"),
        ("suffix", "Content-Lengthx"),
        ("folded", "X-Folded: x\r\n Content-Length"),
        ("leading-space-first-field", " Content-Length"),
    ] {
        all.push(v(
            format!("cl/name/{label}"),
            post(&format!("{name}: 5\r\n"), rest.as_bytes()),
            Expect::Any,
        ));
    }
    // A body shorter than its length (the client gives up: burr sees the end of the stream).
    all.push(v(
        "cl/body-short",
        post("Content-Length: 50\r\n", b"hello"),
        Expect::Any,
    ));
    // GET and HEAD with bodies are framed like any other request.
    all.push(v(
        "cl/get-with-body",
        format!(
            "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nContent-Length: 5\r\n\r\nhello{NEXT}"
        ),
        Expect::Forwarded(2),
    ));
    all.push(v(
        "cl/get-zero-then-request",
        format!("GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nContent-Length: 0\r\n\r\n{NEXT}"),
        Expect::Forwarded(2),
    ));
    all.push(RequestVector {
        head: true,
        ..v(
            "cl/head-with-body",
            format!(
                "HEAD /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
            Expect::Forwarded(1),
        )
    });
    all.push(v(
        "cl/valid-body-then-request",
        post("Content-Length: 5\r\n", format!("hello{NEXT}").as_bytes()),
        Expect::Forwarded(2),
    ));
}

/// Chunked bodies with odd size lines, extensions, data and trailers; each followed by a
/// pipelined request.
fn chunk_lines(all: &mut Vec<RequestVector>) {
    let te = "Transfer-Encoding: chunked\r\n";
    let long_extension = format!("5;x={}\r\nhello\r\n0\r\n\r\n", "a".repeat(5000));
    for (label, body, expect) in [
        ("valid", CHUNKED_BODY, Expect::Forwarded(2)),
        (
            "uppercase-hex",
            "A\r\n0123456789\r\n0\r\n\r\n",
            Expect::Forwarded(2),
        ),
        ("leading-zeros", "0005\r\nhello\r\n0\r\n\r\n", Expect::Any),
        (
            "many-leading-zeros",
            "00000000000000000005\r\nhello\r\n0\r\n\r\n",
            Expect::Any,
        ),
        (
            "size-overflow-16",
            "ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        (
            "size-overflow-17",
            "10000000000000005\r\nhello\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        ("size-negative", "-5\r\nhello\r\n0\r\n\r\n", Expect::Refused),
        ("size-0x", "0x5\r\nhello\r\n0\r\n\r\n", Expect::Refused),
        (
            "size-trailing-space",
            "5 \r\nhello\r\n0\r\n\r\n",
            Expect::Any,
        ),
        (
            "size-leading-space",
            " 5\r\nhello\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        ("size-empty", "\r\nhello\r\n0\r\n\r\n", Expect::Refused),
        ("size-letters", "zz\r\nhello\r\n0\r\n\r\n", Expect::Refused),
        (
            "extension",
            "5;ext\r\nhello\r\n0\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "extension-value",
            "5;ext=v\r\nhello\r\n0\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "extension-quoted",
            "5;ext=\"a b\"\r\nhello\r\n0\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "extension-space",
            "5 ;ext\r\nhello\r\n0\r\n\r\n",
            Expect::Any,
        ),
        (
            "extension-bare-lf",
            "5;ext=\"a\nb\"\r\nhello\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        (
            "extension-bare-cr",
            "5;e\rx\r\nhello\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        ("extension-long", &long_extension, Expect::Any),
        ("size-bare-lf", "5\nhello\r\n0\r\n\r\n", Expect::Refused),
        ("data-bare-lf", "5\r\nhello\n0\r\n\r\n", Expect::Refused),
        ("data-longer", "5\r\nhello!\r\n0\r\n\r\n", Expect::Refused),
        ("data-shorter", "5\r\nhell\r\n0\r\n\r\n", Expect::Refused),
        ("data-no-crlf", "5\r\nhello0\r\n\r\n", Expect::Refused),
        (
            "last-chunk-extension",
            "5\r\nhello\r\n0;x=1\r\n\r\n",
            Expect::Forwarded(2),
        ),
        ("last-chunk-zeros", "5\r\nhello\r\n000\r\n\r\n", Expect::Any),
        (
            "trailer",
            "5\r\nhello\r\n0\r\nX-Trailer: v\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "trailer-content-length",
            "5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n",
            Expect::Any,
        ),
        (
            "trailer-transfer-encoding",
            "5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
            Expect::Any,
        ),
        (
            "trailer-folded",
            "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n",
            Expect::Any,
        ),
        (
            "trailer-no-colon",
            "5\r\nhello\r\n0\r\nX-T\r\n\r\n",
            Expect::Any,
        ),
        ("last-chunk-bare-lf", "5\r\nhello\r\n0\n\n", Expect::Any),
        ("missing-final-crlf", "5\r\nhello\r\n0\r\n", Expect::Any),
        (
            "smuggled-after-last-chunk",
            "5\r\nhello\r\n0\r\n\r\nGET /x/{TAG} HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Any,
        ),
        (
            "data-with-nul",
            "5\r\nhe\x00lo\r\n0\r\n\r\n",
            Expect::Forwarded(2),
        ),
    ] {
        all.push(v(
            format!("chunk/{label}"),
            post(te, format!("{body}{NEXT}").as_bytes()),
            expect,
        ));
    }
}

/// Line endings other than CRLF, control bytes and whitespace where a parser might take or
/// drop them.
fn line_endings_and_bytes(all: &mut Vec<RequestVector>) {
    let cases: &[(&str, &[u8], Expect)] = &[
        (
            "lf-only",
            b"GET /d/{TAG}/1 HTTP/1.1\nHost: d.test\n\n",
            Expect::Any,
        ),
        (
            "lf-one-field",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\nX-A: b\r\n\r\n",
            Expect::Any,
        ),
        (
            "lf-end-of-head",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\n",
            Expect::Any,
        ),
        (
            "lf-smuggles-cl",
            b"POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\nContent-Length: 38\r\n\r\nGET /x/{TAG} HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Any,
        ),
        (
            "cr-only",
            b"GET /d/{TAG}/1 HTTP/1.1\rHost: d.test\r\r",
            Expect::Forwarded(0),
        ),
        (
            "cr-in-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\rb\r\n\r\n",
            Expect::Refused,
        ),
        (
            "cr-hides-cl",
            b"POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\rContent-Length: 38\r\n\r\nGET /x/{TAG} HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "cr-in-name",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX\rA: b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "cr-cr-lf",
            b"GET /d/{TAG}/1 HTTP/1.1\r\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "lf-cr-lf-end",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\n\r\n",
            Expect::Any,
        ),
        (
            "nul-in-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\x00b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "nul-in-name",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-\x00A: b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "nul-in-target",
            b"GET /d/{TAG}/1\x00 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "nul-in-method",
            b"G\x00T /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "nul-before-head",
            b"\x00GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "del-in-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\x7fb\r\n\r\n",
            Expect::Refused,
        ),
        (
            "soh-in-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\x01b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "obs-text-in-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: caf\xc3\xa9 \xff\r\n\r\n",
            Expect::Forwarded(1),
        ),
        (
            "high-byte-in-name",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-\xffA: b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "empty-name",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n: b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "no-colon",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "space-in-name",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX A: b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "space-before-colon",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A : b\r\n\r\n",
            Expect::Refused,
        ),
        (
            "host-space-before-colon",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost : d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "obs-fold-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\r\n b\r\n\r\n",
            Expect::Any,
        ),
        (
            "obs-fold-tab",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A: a\r\n\tb\r\n\r\n",
            Expect::Any,
        ),
        (
            "obs-fold-host",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n evil.test\r\n\r\n",
            Expect::Any,
        ),
        (
            "obs-fold-first-line",
            b"GET /d/{TAG}/1 HTTP/1.1\r\n Host: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "obs-fold-empty-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A:\r\n b\r\n\r\n",
            Expect::Any,
        ),
        (
            "empty-value",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A:\r\n\r\n",
            Expect::Forwarded(1),
        ),
        (
            "value-only-spaces",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-A:    \r\n\r\n",
            Expect::Forwarded(1),
        ),
        (
            "blank-lines-before",
            b"\r\n\r\nGET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Forwarded(1),
        ),
        (
            "space-before-request-line",
            b" GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "two-spaces-in-request-line",
            b"GET  /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "tab-in-request-line",
            b"GET\t/d/{TAG}/1\tHTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "trailing-space-after-version",
            b"GET /d/{TAG}/1 HTTP/1.1 \r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "space-in-target",
            b"GET /d/{TAG}/1 x HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Refused,
        ),
        (
            "fragment-in-target",
            b"GET /d/{TAG}/1#frag HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Any,
        ),
        (
            "utf8-in-target",
            b"GET /d/{TAG}/caf\xc3\xa9 HTTP/1.1\r\nHost: d.test\r\n\r\n",
            Expect::Any,
        ),
        (
            "incomplete-head",
            b"GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n",
            Expect::Forwarded(0),
        ),
        (
            "request-line-only",
            b"GET /d/{TAG}/1 HTTP/1.1\r\n\r\n",
            Expect::Refused,
        ),
        (
            "garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03{TAG}",
            Expect::Forwarded(0),
        ),
    ];
    for (label, bytes, expect) in cases {
        all.push(v(format!("bytes/{label}"), bytes, *expect));
    }
}
