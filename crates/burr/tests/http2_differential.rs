//! A differential test of burr's two HTTP/2 servers through the real binary: `--http2-codec h2`
//! (the h2 crate, the reference) and `--http2-codec burr` (burr's own codec), each in front of
//! its own recording target. Every generated request (methods incl. a custom token, origin-form
//! paths with percent escapes and queries, `:authority` or `host`, split cookies, obs-text and
//! empty values, a body in 1–5 DATA frames with or without `content-length`, trailers) goes to
//! both; the targets must receive the same bytes and the client the same answer (status, fields
//! but `date`, body, trailers). Normalised: `X-Forwarded-Port`'s value (the listener's port,
//! different for the two processes by construction), and what follows the timing of reads, not
//! the codec ([`Forwarded`]). A second test multiplexes 200 requests on one connection to each
//! codec and matches every answer to its request.

mod common;

use bytes::Bytes;
use common::raw_http::{Recorder, Seen, Step, checksum, noise};
use common::strict;
use common::{Burr, config, free_port};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// The bound of every single wait on burr in this file.
const WAIT: Duration = Duration::from_secs(5);

/// How a target answers the current case.
#[derive(Clone, Debug, Default)]
struct Reply {
    status: u16,
    fields: Vec<(&'static str, String)>,
    body: usize,
    chunked: bool,
    trailers: bool,
}

/// Where the request's authority travels.
#[derive(Clone, Copy, Debug)]
enum Authority {
    Pseudo,
    Host,
    Both,
}

#[derive(Clone, Debug)]
struct Case {
    method: String,
    path: String,
    host: &'static str,
    authority: Authority,
    fields: Vec<(String, Bytes)>,
    body: usize,
    seed: u64,
    /// DATA frame cuts (mod the body's length): 1–5 frames, none if nothing follows HEADERS.
    cuts: Vec<usize>,
    content_length: bool,
    trailers: Option<Vec<(String, Bytes)>>,
    reply: Reply,
}

fn method() -> impl Strategy<Value = String> {
    const KNOWN: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
    prop_oneof![
        4 => proptest::sample::select(KNOWN).prop_map(String::from),
        1 => "[A-Z][A-Z0-9!#$%&'*+.^_`|~-]{0,8}".prop_filter("a plain method", |m| {
            !["CONNECT", "PRI"].contains(&m.as_str())
        }),
    ]
}

fn path() -> impl Strategy<Value = String> {
    "/([a-zA-Z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,12}\
     (/([a-zA-Z0-9._~-]|%[0-9A-F]{2}){0,8}){0,3}\
     (\\?([a-zA-Z0-9=&._~/?:@-]|%[0-9A-F]{2}){0,16})?"
}

/// A field value: visible ASCII, obs-text and inner spaces (no whitespace at either end,
/// RFC 9113 §8.2.1), possibly empty.
fn value() -> impl Strategy<Value = Bytes> {
    let byte = prop_oneof![6 => 0x21u8..=0x7e, 1 => Just(b' '), 2 => 0x80u8..=0xff];
    prop::collection::vec(byte, 0..24).prop_map(|v| Bytes::copy_from_slice(v.trim_ascii()))
}

fn field_name() -> impl Strategy<Value = String> {
    // Connection-specific fields are malformed in HTTP/2; `host` and `content-length` are the
    // case's own choices.
    const RESERVED: &str = "connection keep-alive proxy-connection transfer-encoding upgrade te \
                            content-length host expect";
    prop_oneof![
        3 => Just("cookie".to_string()),
        1 => Just("user-agent".to_string()),
        1 => Just("accept".to_string()),
        2 => "x-custom-[a-z0-9-]{1,8}",
        2 => "[a-z][a-z0-9!#$%&'*+.^_`|~-]{0,10}"
            .prop_filter("a field of the request's own", |n| !RESERVED.split(' ').any(|r| r == n)),
    ]
}

const NAMES: &str = "x-multi set-cookie cache-control content-type x-answer";

prop_compose! {
    fn reply()(
        status in proptest::sample::select(&[200u16, 201, 204, 404][..]),
        mut fields in prop::collection::vec(
            (proptest::sample::select(NAMES.split(' ').collect::<Vec<_>>()),
             "[!-~]([ -~]{0,20}[!-~])?"), 0..6),
        body in prop_oneof![Just(0usize), 0..100usize, 0..=50_000usize],
        (chunked, trailers) in (any::<bool>(), any::<bool>()),
    ) -> Reply {
        fields.push(("set-cookie", "session=abc; Path=/; HttpOnly".into()));
        Reply { status, fields, body, chunked, trailers: chunked && trailers }
    }
}

const HOSTS: &[&str] = &["burr.test", "example.com:8443", "127.0.0.1", "[::1]:8080"];

prop_compose! {
    fn case()(
        (method, path, host) in (method(), path(), proptest::sample::select(HOSTS)),
        authority in prop_oneof![
            Just(Authority::Pseudo), Just(Authority::Host), Just(Authority::Both)],
        fields in prop::collection::vec((field_name(), value()), 0..=12),
        body in prop_oneof![Just(0usize), 0..100usize, 0..=100_000usize],
        (seed, content_length) in (any::<u64>(), any::<bool>()),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
        trailers in proptest::option::weighted(
            0.25, prop::collection::vec(("x-trailer-[a-z]{1,6}", value()), 1..3)),
        reply in reply(),
    ) -> Case {
        Case { method, path, host, authority, fields, body, seed, cuts, content_length, trailers,
               reply }
    }
}

/// The target's answer to `request` under `reply` (no body to a HEAD, no framing with a 204).
fn answer(reply: &Reply, request: &strict::Message) -> Vec<Step> {
    // HTTP/2 has no reason phrase.
    let mut out = format!("HTTP/1.1 {} Any Reason\r\n", reply.status).into_bytes();
    for (name, value) in &reply.fields {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    let body = noise(reply.body, reply.body as u64 + 7);
    let head = request.method() == "HEAD";
    if reply.status == 204 {
        out.extend_from_slice(b"\r\n");
    } else if reply.chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        if !head {
            for chunk in body.chunks(7_000) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            if reply.trailers {
                out.extend_from_slice(b"X-Checksum: 1234\r\nX-Other: a, b\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        if !head {
            out.extend_from_slice(&body);
        }
    }
    vec![Step::Write(out)]
}

/// One burr (one codec) and its recording target.
struct Side {
    port: u16,
    target: Recorder,
    _burr: Burr,
}

impl Side {
    async fn start(
        codec: &'static str,
        answer: impl Fn(&strict::Message, &str) -> Vec<Step> + Send + Sync + 'static,
    ) -> Side {
        let target = Recorder::start(codec, answer).await;
        let port = free_port();
        let config = config(port, "round_robin", &[(target.addr, 1)], "", "");
        let burr = Burr::try_start(&config, &["--http2-codec", codec])
            .unwrap_or_else(|e| panic!("burr --http2-codec {codec} did not start: {e}"));
        Side {
            port,
            target,
            _burr: burr,
        }
    }

    async fn client(&self) -> h2::client::SendRequest<Bytes> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let (client, connection) = tokio::time::timeout(WAIT, h2::client::handshake(stream))
            .await
            .expect("an HTTP/2 handshake within 5 s")
            .unwrap();
        tokio::spawn(connection);
        client
    }
}

/// What the target received: its head with `X-Forwarded-Port`'s value (the listener's port)
/// normalised, and its body decoded. Two things follow the timing of reads, not the codec, and
/// are normalised (two burrs with the h2 crate differ there too, with the client's writes
/// split differently):
/// - chunk sizes: each server hands on the data as it reads it, so the data, the framing and
///   the trailers are compared, not where chunks end;
/// - an empty body sent as DATA frames without `content-length`: burr forwards it without a body
///   if END_STREAM was read by the time the request is prepared (`http::h2::prepare`), else as
///   an empty chunked body (with `Connection: close` for a GET or HEAD). Seen with both codecs,
///   each way, depending on whether HEADERS and the DATA frames arrive in one read; both mean
///   the same empty content. The chunked form is written as the body-less one.
#[derive(Debug, PartialEq)]
struct Forwarded {
    head: Bytes,
    framing: String,
    /// The decoded body's length and FNV-1a checksum (all the bytes, when they did not parse).
    body: (usize, u64),
    trailers: Vec<(String, Bytes)>,
}

fn forwarded(seen: &Seen, port: u16) -> Forwarded {
    let raw = seen.raw();
    let (head_len, framing, body, trailers) = match seen {
        Seen::Request { message, .. } => (
            message.head_len,
            format!("{:?}", message.framing),
            &message.body[..],
            (message.trailers.iter())
                .map(|(n, v)| (n.clone(), Bytes::copy_from_slice(v)))
                .collect(),
        ),
        Seen::Invalid { reason, .. } => (raw.len(), format!("invalid: {reason}"), raw, Vec::new()),
        Seen::Truncated { .. } => (raw.len(), "truncated".into(), raw, Vec::new()),
    };
    let empty_chunked = framing == "Chunked" && body.is_empty() && trailers.is_empty();
    let framing = if empty_chunked { "None" } else { &framing }.to_string();
    let isolated = raw.starts_with(b"GET ") || raw.starts_with(b"HEAD ");
    let mut head = Vec::new();
    for line in raw[..head_len].split_inclusive(|&b| b == b'\n') {
        if empty_chunked
            && (line == b"Transfer-Encoding: chunked\r\n"
                || (isolated && line == b"Connection: close\r\n"))
        {
            continue;
        }
        let name = b"x-forwarded-port:";
        if line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name) {
            let value = String::from_utf8_lossy(&line[name.len()..]);
            assert_eq!(value.trim(), port.to_string(), "the listener's port");
            head.extend_from_slice(b"X-Forwarded-Port: <listener port>\r\n");
        } else {
            head.extend_from_slice(line);
        }
    }
    Forwarded {
        head: head.into(),
        framing,
        body: (body.len(), checksum(body)),
        trailers,
    }
}

/// What the client got: status, fields in order per name (without `date`), body, trailers; or
/// how the stream failed.
#[derive(Debug, PartialEq)]
enum Got {
    Answer {
        status: u16,
        fields: Vec<(String, Vec<Bytes>)>,
        body: (usize, u64),
        trailers: Option<Vec<(String, Vec<Bytes>)>>,
    },
    Failed(String),
}

/// The fields but `date`, by name, each name's values in order.
fn by_name(map: &http::HeaderMap) -> Vec<(String, Vec<Bytes>)> {
    let mut fields = Vec::new();
    for name in map.keys().filter(|n| *n != http::header::DATE) {
        let values = map.get_all(name).iter();
        let values = values.map(|v| Bytes::copy_from_slice(v.as_bytes()));
        fields.push((name.to_string(), values.collect()));
    }
    fields.sort();
    fields
}

fn failed(stage: &str, e: h2::Error) -> Got {
    Got::Failed(match e.reason() {
        Some(reason) => format!("{stage}: reset {reason:?}"),
        None => format!("{stage}: {e}"),
    })
}

/// Sends `case`'s body in DATA frames cut at its cuts, then its trailers.
fn send_body(
    stream: &mut h2::SendStream<Bytes>,
    case: &Case,
    body: Bytes,
) -> Result<(), h2::Error> {
    let mut cuts: Vec<usize> = case.cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let frames = cuts.len() + 1;
    let mut start = 0;
    for (i, end) in cuts.into_iter().chain([body.len()]).enumerate() {
        let last = i + 1 == frames && case.trailers.is_none();
        stream.send_data(body.slice(start..end), last)?;
        start = end;
    }
    if let Some(trailers) = &case.trailers {
        let mut map = http::HeaderMap::new();
        for (name, value) in trailers {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(
                name,
                http::HeaderValue::from_maybe_shared(value.clone()).unwrap(),
            );
        }
        stream.send_trailers(map)?;
    }
    Ok(())
}

/// A response body's data, its window given back as it is read.
async fn read_body(body: &mut h2::RecvStream) -> Result<Vec<u8>, h2::Error> {
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Sends `case` on a new connection to `side` and reads the whole answer.
async fn exchange(side: &Side, case: &Case) -> Got {
    let mut client = side.client().await;
    let uri = match case.authority {
        Authority::Host => case.path.clone(),
        _ => format!("http://{}{}", case.host, case.path),
    };
    let mut request = http::Request::builder().method(case.method.as_str());
    request = request.uri(uri);
    if let Authority::Host = case.authority {
        // A relative URI makes the h2 crate send no :authority (and :scheme http).
        request = request.version(http::Version::HTTP_11);
    }
    if !matches!(case.authority, Authority::Pseudo) {
        request = request.header("host", case.host);
    }
    for (name, value) in &case.fields {
        request = request.header(name.as_str(), value.as_ref());
    }
    let body = Bytes::from(noise(case.body, case.seed));
    if case.content_length {
        request = request.header("content-length", body.len());
    }
    let no_data = body.is_empty() && case.cuts.is_empty() && case.trailers.is_none();
    let (response, mut stream) = match client.send_request(request.body(()).unwrap(), no_data) {
        Ok(sent) => sent,
        Err(e) => return failed("request", e),
    };
    // The server may answer before the request's end and reset the rest (RFC 9113 §8.1), e.g.
    // once a `content-length: 0` request went to the target: what is left to send is then
    // refused by the client library, and only the answer counts.
    if !no_data {
        let _ = send_body(&mut stream, case, body);
    }
    let read = async {
        let response = response.await.map_err(|e| ("head", e))?;
        let status = response.status().as_u16();
        let fields = by_name(response.headers());
        let mut body = response.into_body();
        let data = read_body(&mut body).await.map_err(|e| ("data", e))?;
        let trailers = body.trailers().await.map_err(|e| ("trailers", e))?;
        let trailers = trailers.as_ref().map(by_name);
        Ok::<_, (&str, h2::Error)>(Got::Answer {
            status,
            fields,
            body: (data.len(), checksum(&data)),
            trailers,
        })
    };
    match tokio::time::timeout(WAIT, read).await {
        Ok(Ok(got)) => got,
        Ok(Err((stage, e))) => failed(stage, e),
        Err(_) => Got::Failed("no whole answer within 5 s".into()),
    }
}

/// Sends `case` to `side`: what the client got and what the target received meanwhile.
async fn run(side: &Side, case: &Case) -> (Got, Vec<Forwarded>) {
    let before = side.target.seen().len();
    let got = exchange(side, case).await;
    let seen = side.target.seen();
    let received = seen[before..].iter().map(|s| forwarded(s, side.port));
    (got, received.collect())
}

#[test]
fn both_http2_codecs_forward_and_answer_alike() {
    // One thread: the client library's writes of a case do not race its connection task.
    let mut builder = tokio::runtime::Builder::new_current_thread();
    let runtime = builder.enable_all().build().unwrap();
    let current = Arc::new(Mutex::new(Reply::default()));
    let sides = runtime.block_on(async {
        let mut sides = Vec::new();
        for codec in ["h2", "burr"] {
            let current = current.clone();
            let side = Side::start(codec, move |m, _| answer(&current.lock().unwrap(), m)).await;
            sides.push(side);
        }
        sides
    });
    let (h2, burr) = (&sides[0], &sides[1]);
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        max_shrink_iters: 400,
        ..ProptestConfig::default()
    };
    proptest!(config, |(case in case())| {
        *current.lock().unwrap() = case.reply.clone();
        let ((got_h2, to_h2), (got_burr, to_burr)) =
            runtime.block_on(async { tokio::join!(run(h2, &case), run(burr, &case)) });
        prop_assert!(
            to_h2.len() == 1 && matches!(got_h2, Got::Answer { .. }),
            "the reference (h2 crate) did not forward and answer: {got_h2:?} {to_h2:?}"
        );
        // left: burr's codec, right: the h2 crate.
        prop_assert_eq!(to_burr, to_h2, "the targets received different requests");
        prop_assert_eq!(got_burr, got_h2, "the clients got different answers");
    });
}

/// The sizes of request `id`'s body and of its answer's, in the multiplexing test.
fn sizes(id: u64) -> (usize, usize) {
    let r = u64::from_le_bytes(noise(8, id.wrapping_add(1_000)).try_into().unwrap());
    ((r % 40_000) as usize, ((r >> 32) % 30_000) as usize)
}

/// The multiplexing test's target: the request's `x-request-id` and body length echoed back in
/// fields, and a body whose length the id chooses, after a pause that keeps requests in flight
/// together.
fn echo(message: &strict::Message, _: &str) -> Vec<Step> {
    let id = message.header("x-request-id").and_then(|v| v.parse().ok());
    let id: u64 = id.unwrap_or(u64::MAX);
    let body = noise(sizes(id).1, id.wrapping_add(1));
    let head = format!("HTTP/1.1 200 OK\r\nX-Echo-Id: {id}\r\n");
    let head = format!("{head}X-Echo-Length: {}\r\n", message.body.len());
    let mut out = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    vec![Step::Pause(Duration::from_millis(50)), Step::Write(out)]
}

/// 200 requests (bodies of random sizes) multiplexed on one connection to `codec`; each answer
/// must be its own request's.
async fn multiplex(codec: &'static str) {
    let side = Side::start(codec, echo).await;
    let client = side.client().await;
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..200u64 {
        let client = client.clone();
        tasks.spawn(async move {
            let (up, down) = sizes(id);
            let mut client = client.ready().await.unwrap();
            let request = http::Request::post(format!("http://burr.test/m/{id}"))
                .header("x-request-id", id)
                .body(())
                .unwrap();
            let (response, mut stream) = client.send_request(request, false).unwrap();
            stream.send_data(noise(up, id).into(), true).unwrap();
            let response = response.await.unwrap();
            let field = |name: &str| response.headers()[name].to_str().unwrap().to_string();
            let echoed = (response.status(), field("x-echo-id"));
            let echoed = (echoed.0, echoed.1, field("x-echo-length"));
            let expected = (http::StatusCode::OK, id.to_string(), up.to_string());
            assert_eq!(echoed, expected, "request {id}: status, id, length");
            let data = read_body(&mut response.into_body()).await.unwrap();
            assert!(data == noise(down, id + 1), "request {id}'s answer body");
        });
    }
    let all = async {
        while let Some(done) = tasks.join_next().await {
            done.unwrap_or_else(|e| panic!("--http2-codec {codec}: {e}"));
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(15), all).await;
    done.unwrap_or_else(|_| panic!("--http2-codec {codec}: not all 200 answers within 15 s"));
    let received = side.target.seen().len();
    assert_eq!(received, 200, "--http2-codec {codec}: requests received");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_multiplexed_requests_each_get_their_own_answer() {
    tokio::join!(multiplex("h2"), multiplex("burr"));
}
