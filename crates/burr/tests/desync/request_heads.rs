//! The request-side vectors of the desync corpus about heads rather than body framing:
//! `Connection` naming framing fields, refused upgrades and pipelining, versions, methods and
//! request targets, `Host` fields, and the head limits. Written as [`super::requests`] writes
//! its vectors (`{TAG}` for the vector's tag, `/d/{TAG}/n` for the client's n-th request).

use super::requests::{CHUNKED_BODY, NEXT, SMUGGLED, post, v};
use super::{Expect, RequestVector};

/// `Connection` naming framing fields or `Host`: a proxy dropping the named field but not what
/// it framed forwards an ambiguous request (issue 13 item 1).
pub(crate) fn connection_nominated(all: &mut Vec<RequestVector>) {
    let cl_body = SMUGGLED;
    for (label, connection) in [
        ("content-length", "Content-Length"),
        ("content-length-lowercase", "content-length"),
        ("close-content-length", "close, Content-Length"),
        ("keep-alive-content-length", "keep-alive,content-length"),
    ] {
        all.push(v(
            format!("connection/{label}"),
            post(
                &format!(
                    "Connection: {connection}\r\nContent-Length: {}\r\n",
                    cl_body.len()
                ),
                cl_body.as_bytes(),
            ),
            Expect::Refused,
        ));
    }
    // The reproduction: a GET whose body is the start of another request.
    let inner = "GET /x/{TAG}/admin/delete-everything HTTP/1.1\r\nX-Ignore: ";
    all.push(v(
        "connection/issue-13-reproduction",
        format!(
            "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nConnection: Content-Length\r\nContent-Length: {}\r\n\r\n{inner}",
            inner.len()
        ),
        Expect::Refused,
    ));
    all.push(v(
        "connection/second-field-content-length",
        post(
            &format!(
                "Connection: keep-alive\r\nConnection: Content-Length\r\nContent-Length: {}\r\n",
                cl_body.len()
            ),
            cl_body.as_bytes(),
        ),
        Expect::Refused,
    ));
    for (label, connection) in [
        ("transfer-encoding", "Transfer-Encoding"),
        ("close-transfer-encoding", "close, transfer-encoding"),
    ] {
        all.push(v(
            format!("connection/{label}"),
            post(
                &format!("Connection: {connection}\r\nTransfer-Encoding: chunked\r\n"),
                format!("{CHUNKED_BODY}{NEXT}").as_bytes(),
            ),
            Expect::Refused,
        ));
    }
    for (label, connection) in [("host", "Host"), ("keep-alive-host", "keep-alive, host")] {
        all.push(v(
            format!("connection/{label}"),
            format!(
                "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nConnection: {connection}\r\n\r\n"
            ),
            Expect::Refused,
        ));
    }
    for (label, fields, expect) in [
        ("close", "Connection: close\r\n", Expect::Forwarded(1)),
        (
            "custom-hop",
            "Connection: X-Hop\r\nX-Hop: secret\r\n",
            Expect::Forwarded(2),
        ),
        (
            "te-trailers",
            "Connection: TE\r\nTE: trailers\r\n",
            Expect::Forwarded(2),
        ),
        (
            "keep-alive-field",
            "Keep-Alive: timeout=5\r\n",
            Expect::Forwarded(2),
        ),
        (
            "proxy-connection",
            "Proxy-Connection: keep-alive\r\n",
            Expect::Forwarded(2),
        ),
        (
            "connection-empty-elements",
            "Connection: ,, ,keep-alive\r\n",
            Expect::Forwarded(2),
        ),
        (
            "trailer-names-content-length",
            "Trailer: Content-Length\r\n",
            Expect::Forwarded(2),
        ),
    ] {
        all.push(v(
            format!("connection/{label}"),
            format!("GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n{fields}\r\n{NEXT}"),
            expect,
        ));
    }
}

/// Upgrades the target refuses (no 101), then requests that must still be checked; requests
/// pipelined after a refused one.
pub(crate) fn upgrade_and_pipelining(all: &mut Vec<RequestVector>) {
    let upgrade = "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let cl_te_body = format!("0\r\n\r\n{SMUGGLED}");
    let after = [
        (
            "cl-te",
            format!(
                "POST /d/{{TAG}}/2 HTTP/1.1\r\nHost: d.test\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{cl_te_body}",
                cl_te_body.len()
            ),
        ),
        (
            "duplicate-cl",
            format!(
                "POST /d/{{TAG}}/2 HTTP/1.1\r\nHost: d.test\r\nContent-Length: 5\r\nContent-Length: {}\r\n\r\nhello{SMUGGLED}",
                5 + SMUGGLED.len()
            ),
        ),
        (
            "connection-content-length",
            format!(
                "POST /d/{{TAG}}/2 HTTP/1.1\r\nHost: d.test\r\nConnection: Content-Length\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
                SMUGGLED.len()
            ),
        ),
        (
            "invalid-chunk",
            "POST /d/{TAG}/2 HTTP/1.1\r\nHost: d.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                .to_string(),
        ),
        ("no-host", "GET /d/{TAG}/2 HTTP/1.1\r\n\r\n".to_string()),
    ];
    for (label, second) in &after {
        all.push(v(
            format!("upgrade-refused/then-{label}"),
            format!("{upgrade}{second}"),
            Expect::Forwarded(1),
        ));
        // The same bad request after an ordinary one: the first is served, the second refused.
        all.push(v(
            format!("pipeline/good-then-{label}-then-good"),
            format!(
                "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n{second}GET /d/{{TAG}}/3 HTTP/1.1\r\nHost: d.test\r\n\r\n"
            ),
            Expect::Forwarded(1),
        ));
    }
    for (label, request, expect) in [
        (
            "upgrade-without-connection",
            "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nUpgrade: websocket\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "connection-upgrade-without-upgrade",
            "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nConnection: Upgrade\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "h2c",
            "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
            Expect::Forwarded(2),
        ),
        (
            "upgrade-with-body",
            "POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 5\r\n\r\nhello",
            Expect::Any,
        ),
        (
            "expect-continue",
            "POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
            Expect::Forwarded(2),
        ),
        (
            "expect-continue-cl-te",
            "POST /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            Expect::Refused,
        ),
        (
            "expect-unknown",
            "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nExpect: x-unknown\r\n\r\n",
            Expect::Any,
        ),
    ] {
        // `Forwarded(2)`: the request and the pipelined one after it.
        let bytes = if matches!(expect, Expect::Forwarded(2)) {
            format!("{request}{NEXT}")
        } else {
            request.to_string()
        };
        all.push(v(format!("upgrade/{label}"), bytes, expect));
    }
    all.push(v(
        "pipeline/bad-first",
        format!("GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx{NEXT}"),
        Expect::Refused,
    ));
    all.push(v(
        "pipeline/garbage-line-between",
        format!("GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n\r\nGARBAGE\r\n\r\n{NEXT}"),
        Expect::Forwarded(1),
    ));
    let mut ten = String::new();
    for i in 1..=10 {
        ten.push_str(&format!(
            "GET /d/{{TAG}}/{i} HTTP/1.1\r\nHost: d.test\r\n\r\n"
        ));
    }
    all.push(v("pipeline/ten", ten, Expect::Forwarded(10)));
}

/// Versions, methods and request targets.
pub(crate) fn versions_methods_targets(all: &mut Vec<RequestVector>) {
    for (label, bytes, expect) in [
        (
            "http10-te",
            "POST /d/{TAG}/1 HTTP/1.0\r\nHost: d.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "http10-te-cl",
            format!("POST /d/{{TAG}}/1 HTTP/1.0\r\nHost: d.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 43\r\n\r\n0\r\n\r\n{SMUGGLED}"),
            Expect::Refused,
        ),
        (
            "http10-cl",
            "POST /d/{TAG}/1 HTTP/1.0\r\nHost: d.test\r\nContent-Length: 5\r\n\r\nhello".to_string(),
            Expect::Forwarded(1),
        ),
        (
            "http10-keep-alive-pipeline",
            format!("GET /d/{{TAG}}/1 HTTP/1.0\r\nHost: d.test\r\nConnection: keep-alive\r\n\r\n{NEXT}"),
            Expect::Any,
        ),
        (
            "http10-no-host",
            "GET /d/{TAG}/1 HTTP/1.0\r\n\r\n".to_string(),
            Expect::Any,
        ),
        ("http09", "GET /d/{TAG}/1\r\n\r\n".to_string(), Expect::Refused),
        (
            "http12",
            "GET /d/{TAG}/1 HTTP/1.2\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "http20-text",
            "GET /d/{TAG}/1 HTTP/2.0\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "lowercase-version",
            "GET /d/{TAG}/1 http/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "version-suffix",
            "GET /d/{TAG}/1 HTTP/1.1x\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "connect",
            "CONNECT d.test:443 HTTP/1.1\r\nHost: d.test:443\r\nX-Tag: {TAG}\r\n\r\n".to_string(),
            Expect::Status(405),
        ),
        (
            "connect-then-smuggled",
            format!("CONNECT d.test:443 HTTP/1.1\r\nHost: d.test:443\r\nX-Tag: {{TAG}}\r\n\r\n{SMUGGLED}"),
            Expect::Status(405),
        ),
        (
            "lowercase-method",
            format!("get /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n{NEXT}"),
            Expect::Any,
        ),
        (
            "unknown-method",
            format!("FROB /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n{NEXT}"),
            Expect::Forwarded(2),
        ),
        (
            "method-with-at",
            "G@T /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "method-missing",
            " /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Refused,
        ),
        (
            "options-asterisk",
            "OPTIONS * HTTP/1.1\r\nHost: d.test\r\nX-Tag: {TAG}\r\n\r\n".to_string(),
            Expect::Any,
        ),
        (
            "trace",
            format!("TRACE /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n{NEXT}"),
            Expect::Any,
        ),
        (
            "absolute-form",
            "GET http://a.example/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::ForwardedHost("a.example"),
        ),
        (
            "absolute-form-port",
            "GET http://a.example:8080/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::ForwardedHost("a.example:8080"),
        ),
        (
            "absolute-form-https",
            "GET https://a.example/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::ForwardedHost("a.example"),
        ),
        (
            "absolute-form-uppercase-scheme",
            "GET HTTP://a.example/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Any,
        ),
        (
            // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400, whatever its target.
            "absolute-form-no-host",
            "GET http://a.example/d/{TAG}/1 HTTP/1.1\r\n\r\n".to_string(),
            Expect::Status(400),
        ),
        (
            "absolute-form-userinfo",
            "GET http://u:p@a.example/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Any,
        ),
        (
            "absolute-form-query-only",
            "GET http://a.example?t={TAG} HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Any,
        ),
        (
            "absolute-form-smuggle",
            format!("GET http://a.example/d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}", 5 + SMUGGLED.len()),
            Expect::Refused,
        ),
        (
            "double-slash-target",
            "GET //evil.test/d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\n\r\n".to_string(),
            Expect::Any,
        ),
        (
            "authority-form-get",
            "GET d.test:80 HTTP/1.1\r\nHost: d.test\r\nX-Tag: {TAG}\r\n\r\n".to_string(),
            Expect::Any,
        ),
    ] {
        all.push(v(format!("line/{label}"), bytes, expect));
    }
}

/// Missing, duplicate and odd `Host` fields (RFC 9112 §3.2: exactly one).
pub(crate) fn hosts(all: &mut Vec<RequestVector>) {
    for (label, fields, expect) in [
        ("missing", "", Expect::Status(400)),
        (
            "duplicate-same",
            "Host: d.test\r\nHost: d.test\r\n",
            Expect::Status(400),
        ),
        (
            "duplicate-different",
            "Host: d.test\r\nHost: evil.test\r\n",
            Expect::Status(400),
        ),
        (
            "duplicate-case",
            "Host: d.test\r\nhost: evil.test\r\n",
            Expect::Status(400),
        ),
        ("empty", "Host:\r\n", Expect::Any),
        ("list", "Host: d.test, evil.test\r\n", Expect::Any),
        ("space-inside", "Host: d.test evil.test\r\n", Expect::Any),
        ("userinfo", "Host: evil.test@d.test\r\n", Expect::Any),
        ("slash", "Host: d.test/evil\r\n", Expect::Any),
        ("port", "Host: d.test:8080\r\n", Expect::Forwarded(1)),
        ("ipv6", "Host: [::1]:8080\r\n", Expect::Forwarded(1)),
        ("trailing-dot", "Host: d.test.\r\n", Expect::Forwarded(1)),
        (
            "long",
            &format!("Host: {}.test\r\n", "a".repeat(4000)),
            Expect::Any,
        ),
    ] {
        all.push(v(
            format!("host/{label}"),
            format!("GET /d/{{TAG}}/1 HTTP/1.1\r\n{fields}\r\n"),
            expect,
        ));
    }
}

/// Heads at and past the configured limits (`max_header_bytes` 65,536, `max_headers` 100).
pub(crate) fn limits(all: &mut Vec<RequestVector>) {
    /// A GET head of exactly `size` bytes (CRLF CRLF included), padded by one field.
    fn head_of(size: usize) -> Vec<u8> {
        let start = "GET /d/{TAG}/1 HTTP/1.1\r\nHost: d.test\r\nX-Pad: ";
        // `{TAG}` becomes a tag of the same length, so the size holds.
        let fixed = start.len() + 4;
        let mut head = start.as_bytes().to_vec();
        head.extend(std::iter::repeat_n(b'p', size - fixed));
        head.extend_from_slice(b"\r\n\r\n");
        head
    }
    all.push(v(
        "limits/head-65536",
        head_of(65_536),
        Expect::Forwarded(1),
    ));
    all.push(v("limits/head-65537", head_of(65_537), Expect::Status(431)));
    all.push(v("limits/head-65600", head_of(65_600), Expect::Status(431)));
    all.push(v(
        "limits/head-100000",
        head_of(100_000),
        Expect::Status(431),
    ));
    let fields = |n: usize| -> String { (0..n).map(|i| format!("X-F{i}: v\r\n")).collect() };
    all.push(v(
        "limits/fields-100",
        format!(
            "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n{}\r\n",
            fields(99)
        ),
        Expect::Forwarded(1),
    ));
    all.push(v(
        "limits/fields-101",
        format!(
            "GET /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n{}\r\n",
            fields(100)
        ),
        Expect::Status(431),
    ));
    all.push(v(
        "limits/fields-101-with-cl-te",
        format!(
            "POST /d/{{TAG}}/1 HTTP/1.1\r\nHost: d.test\r\n{}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            fields(98)
        ),
        Expect::Refused,
    ));
}
