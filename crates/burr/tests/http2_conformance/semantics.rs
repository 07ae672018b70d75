//! HTTP semantics over HTTP/2 (RFC 9113 §8): malformed requests are refused (a stream error
//! PROTOCOL_ERROR, the connection error it may be raised to, or a 4xx answer, §8.1.1) and never
//! reach the target; well-formed ones in every framing the RFC allows (split bodies, padding,
//! trailers, split `cookie` fields, HEAD, a client's GOAWAY) are served.

use super::*;

/// What follows a malformed request's HEADERS on its stream.
enum Tail {
    /// Nothing: END_STREAM on the HEADERS.
    None,
    /// One DATA frame with END_STREAM.
    Data(&'static [u8]),
    /// DATA `hello`, then a trailer section (HEADERS with END_STREAM) of these fields.
    Trailers(Vec<(String, String)>),
}

struct Malformed {
    case: String,
    fields: Vec<(String, String)>,
    tail: Tail,
    /// Codecs that accept this request, against the RFC (each named with what it does).
    skip: &'static [&'static str],
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A GET of `path` without the pseudo-header `name`.
fn without(name: &str, path: &str) -> Vec<(String, String)> {
    let mut fields = request("GET", path, &[("x-case", path)]);
    fields.retain(|(n, _)| n != name);
    fields
}

fn malformed_requests() -> Vec<Malformed> {
    let get = |path: &str, extra: &[(&str, &str)]| request("GET", path, extra);
    let case = |case: &str, fields| Malformed {
        case: case.to_string(),
        fields,
        tail: Tail::None,
        skip: &[],
    };
    let mut cases = vec![
        case(
            "8.2.1 an uppercase field name",
            get("/m/upper", &[("X-Upper", "1")]),
        ),
        case(
            "8.3 a pseudo-header after a regular field",
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                ("x-early", "1"),
                (":authority", "burr.test"),
                (":path", "/m/late-pseudo"),
            ]),
        ),
        case(
            "8.3 an unknown pseudo-header",
            get("/m/unknown-pseudo", &[(":foo", "bar")]),
        ),
        case(
            "8.3.2 :status in a request",
            get("/m/status", &[(":status", "200")]),
        ),
        case(
            "8.3.1 :method twice",
            get("/m/method-twice", &[(":method", "POST")]),
        ),
        case(
            "8.3.1 :path twice",
            get("/m/path-twice", &[(":path", "/m/again")]),
        ),
        case("8.3.1 no :method", without(":method", "/m/no-method")),
        case("8.3.1 no :scheme", without(":scheme", "/m/no-scheme")),
        case("8.3.1 no :path", without(":path", "/m/no-path")),
        case("8.3.1 an empty :path", get("", &[("x-case", "empty-path")])),
        case("8.2.2 te: gzip", get("/m/te", &[("te", "gzip")])),
    ];
    // The fields of a connection (§8.2.2), in the order h2spec sends them.
    for (name, value) in [
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
    ] {
        cases.push(case(
            &format!("8.2.2 a {name} field"),
            get(&format!("/m/{name}"), &[(name, value)]),
        ));
    }
    let post = |length: &str| request("POST", "/cl", &[("content-length", length)]);
    cases.extend([
        Malformed {
            case: "8.1.1 content-length above the DATA received".into(),
            fields: post("10"),
            tail: Tail::Data(b"hello"),
            skip: &[],
        },
        Malformed {
            case: "8.1.1 content-length below the DATA received".into(),
            fields: post("3"),
            tail: Tail::Data(b"hello"),
            skip: &[],
        },
        // Not for "h2": the h2 crate drops a trailer section's pseudo-header fields and passes
        // the rest on (proto/streams/recv.rs, recv_trailers), so the request is served.
        Malformed {
            case: "8.1 a pseudo-header in the trailers".into(),
            fields: post("5"),
            tail: Tail::Trailers(pairs(&[(":path", "/m/trailer")])),
            skip: &["h2"],
        },
    ]);
    cases
}

#[tokio::test]
async fn s8_malformed_requests_are_refused_and_never_reach_the_target() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut connection: Option<(H2, u32)> = None;
        for m in malformed_requests() {
            if m.skip.contains(&codec) {
                continue;
            }
            if connection.is_none() {
                connection = Some((s.open(&m.case).await, 1));
            }
            let (c, stream) = connection.as_mut().unwrap();
            let id = *stream;
            c.case(&m.case);
            let end = matches!(m.tail, Tail::None);
            c.headers(id, &m.fields, end).await;
            match &m.tail {
                Tail::None => {}
                Tail::Data(body) => c.send_frame(DATA, END_STREAM, id, body).await,
                Tail::Trailers(fields) => {
                    c.send_frame(DATA, 0, id, b"hello").await;
                    c.headers(id, fields, true).await;
                }
            }
            let refusal = c.expect_malformed(id).await;
            eprintln!("[codec {codec}] {}: {}", m.case, describe(refusal));
            if matches!(refusal, Refusal::GoAway(_)) {
                connection = None;
            } else {
                *stream += 2;
            }
        }
        // A body that disagrees with its content-length is found out after its head has
        // gone to the target; every other malformed request is refused before.
        let reached: Vec<String> = (s.target.received().iter())
            .filter(|r| r.path() != "/cl")
            .map(|r| format!("{} {:?}", r.line, r.headers))
            .collect();
        assert!(
            reached.is_empty(),
            "[codec {codec}] malformed requests reached the target: {reached:?}"
        );
    }
}

#[tokio::test]
async fn s8_well_formed_requests_are_served() {
    for codec in codecs(&[]) {
        let s = Server::start(codec).await;
        let mut c = s.open("8 a GET").await;
        request_works(&mut c, 1).await;

        c.case("8.1 a POST whose body comes in three DATA frames");
        let fields = request("POST", "/upload", &[("content-length", "17")]);
        c.headers(3, &fields, false).await;
        c.send_frame(DATA, 0, 3, b"hello").await;
        c.send_frame(DATA, 0, 3, b"-world").await;
        c.send_frame(DATA, END_STREAM, 3, b"-again").await;
        let a = c.response(3).await;
        c.check(a.status == 200, &format!("{a:?}"));
        let seen = received(&s, "/upload");
        c.check(
            seen.body == b"hello-world-again",
            &format!("the target saw {seen:?}"),
        );

        c.case("6.1/6.2 padded HEADERS and padded DATA");
        let fields = request("POST", "/padded", &[("content-length", "5")]);
        c.send_frame(
            HEADERS,
            END_HEADERS | PADDED,
            5,
            &padded(10, &block(&fields)),
        )
        .await;
        c.send_frame(DATA, END_STREAM | PADDED, 5, &padded(20, b"hello"))
            .await;
        let a = c.response(5).await;
        c.check(a.status == 200, &format!("{a:?}"));
        let seen = received(&s, "/padded");
        c.check(seen.body == b"hello", &format!("the target saw {seen:?}"));

        c.case("8.1 a request with trailers");
        let fields = request("POST", "/trailers", &[("content-length", "5")]);
        c.headers(7, &fields, false).await;
        c.send_frame(DATA, 0, 7, b"hello").await;
        c.headers(7, &pairs(&[("x-checksum", "1234")]), true).await;
        let a = c.response(7).await;
        c.check(a.status == 200, &format!("{a:?}"));
        let seen = received(&s, "/trailers");
        c.check(seen.body == b"hello", &format!("the target saw {seen:?}"));

        c.case("8.2.2 te: trailers is allowed");
        c.headers(9, &request("GET", "/te", &[("te", "trailers")]), true)
            .await;
        let a = c.response(9).await;
        c.check(a.status == 200, &format!("{a:?}"));

        c.case("8.2.3 cookie in two fields reaches the target joined with \"; \"");
        let fields = request("GET", "/cookie", &[("cookie", "a=1"), ("cookie", "b=2")]);
        c.headers(11, &fields, true).await;
        let a = c.response(11).await;
        c.check(a.status == 200, &format!("{a:?}"));
        let seen = received(&s, "/cookie");
        let cookies: Vec<&str> = (seen.headers.iter())
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .map(|(_, v)| v.as_str())
            .collect();
        c.check(
            cookies == ["a=1; b=2"],
            &format!("the target saw {cookies:?}"),
        );

        c.case("8.1 HEAD gets no content");
        c.headers(13, &request("HEAD", "/head", &[]), true).await;
        let a = c.response(13).await;
        c.check(
            a.status == 200 && a.body.is_empty(),
            &format!("{} with {} bytes", a.status, a.body.len()),
        );

        c.case("6.8 a client's GOAWAY lets a stream in flight finish");
        c.get(15, "/hold/goaway").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.send_frame(GOAWAY, 0, 0, &goaway(0, NO_ERROR)).await;
        let a = c.response(15).await;
        c.check(
            (a.status, a.body.as_slice()) == (200, b"held".as_slice()),
            &format!("{a:?}"),
        );
    }
}

/// The one request for `path` the target received.
fn received(s: &Server, path: &str) -> common::raw_http::Received {
    let all = s.target.received();
    let mut matching = all.iter().filter(|r| r.path() == path);
    let first = matching.next().cloned();
    first.unwrap_or_else(|| {
        panic!(
            "[codec {}] no request for {path} reached the target",
            s.codec
        )
    })
}
