//! HTTP/2 streams forwarded over burr's own HTTP/1.1 upstream connections, through the real
//! binary with an h2c client (hyper's, prior knowledge) and real targets on loopback: the
//! request head the target sees (the same as for an HTTP/1.1 client), cookie joining,
//! stickiness, retries and stale-connection replays, every response framing (chunked decoded,
//! until close), request bodies with and without `content-length`, a stream the client resets
//! mid-body, the response timeout, and back-pressure from a stream that stops reading.

mod common;

use bytes::Bytes;
use common::raw_http::{Scripted, Step, ok, trickle};
use common::*;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A request body given in pieces, of no declared length (no `content-length` goes out).
struct Pieces(VecDeque<Bytes>);

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

type H2Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// An HTTP/2 (prior knowledge) connection to burr.
async fn h2(port: u16) -> hyper::client::conn::http2::SendRequest<H2Body> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    h2_over(stream).await
}

fn h2_request(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
) -> http::request::Builder {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://burr.test:{port}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req
}

fn empty() -> H2Body {
    http_body_util::Empty::new().boxed()
}

/// Sends `req` and reads the whole response, within 10 s.
async fn send(
    sender: &mut hyper::client::conn::http2::SendRequest<H2Body>,
    req: http::Request<H2Body>,
) -> Answer {
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("a response within 10 s")
        .expect("a response");
    collect(response).await
}

async fn h2_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Answer {
    let req = h2_request("GET", port, path, headers)
        .body(empty())
        .unwrap();
    send(&mut h2(port).await, req).await
}

fn burr_before(targets: &[SocketAddr], extra_pool: &str) -> (Burr, u16) {
    let port = free_port();
    let list: Vec<(SocketAddr, u32)> = targets.iter().map(|t| (*t, 1)).collect();
    let burr = Burr::start(&config(port, "round_robin", &list, "", extra_pool));
    (burr, port)
}

#[tokio::test]
async fn the_target_sees_the_same_head_from_an_h2_client_as_from_an_http1_client() {
    let (_backends, _burr, port) = setup(1, "round_robin").await;
    let fields = [
        ("proxy-authorization", "p"),
        ("x-forwarded-for", "1.1.1.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "1"),
        ("x-kept", "yes"),
    ];
    // `te: trailers` is the one hop-by-hop field an HTTP/2 request may carry (RFC 9113 §8.2.2).
    let with_te = [fields.as_slice(), &[("te", "trailers")]].concat();
    let over_h2 = h2_get(port, "/same?q=1", &with_te).await;
    let over_h1 = Client::connect(port).await.get("/same?q=1", &fields).await;
    assert_eq!(
        (over_h2.status, over_h1.status),
        (200, 200),
        "{}",
        over_h1.body
    );
    for name in [
        "te",
        "proxy-authorization",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-kept",
        "connection",
        "transfer-encoding",
    ] {
        assert_eq!(over_h2.seen(name), over_h1.seen(name), "{name}");
    }
    assert_eq!(over_h2.seen("x-forwarded-for"), ["1.1.1.1, 127.0.0.1"]);
    assert_eq!(over_h2.seen("x-forwarded-proto"), ["http"]);
    assert!(over_h2.seen("te").is_empty());
    assert_eq!(over_h2.seen("host"), [format!("burr.test:{port}")]);
    assert_eq!(over_h2.json()["path"], "/same?q=1");
    // The target's hop-by-hop fields (and those its Connection lists) stop at burr.
    for answer in [&over_h2, &over_h1] {
        assert!(answer.headers.get("x-hop").is_none());
        assert!(answer.headers.get("keep-alive").is_none());
        assert_eq!(answer.headers["x-backend"], "b1");
    }
    // The response carries the target's fields only, none of the request's (the h2 path builds
    // the response in the request's emptied field map).
    for name in ["x-kept", "proxy-authorization", "host", "te"] {
        assert!(
            over_h2.headers.get(name).is_none(),
            "{name} in the response"
        );
    }
}

#[tokio::test]
async fn split_cookie_fields_are_joined_and_the_sticky_cookie_is_set_and_honoured() {
    let sticky =
        "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 600\n";
    let (_backends, _burr, port) = setup_with(3, "round_robin", sticky).await;
    let mut sender = h2(port).await;
    let first = h2_request("GET", port, "/", &[("cookie", "a=1"), ("cookie", "b=2")])
        .body(empty())
        .unwrap();
    let first = send(&mut sender, first).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.seen("cookie"), ["a=1; b=2"]);
    let alb = first
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("AWSALB="))
        .expect("AWSALB set over HTTP/2")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for _ in 0..6 {
        let again = h2_request("GET", port, "/", &[("cookie", "a=1"), ("cookie", &alb)])
            .body(empty())
            .unwrap();
        let again = send(&mut sender, again).await;
        assert_eq!(again.backend(), first.backend(), "the session's target");
    }
}

#[tokio::test]
async fn a_dead_target_is_retried_on_another() {
    let alive = Backend::start("alive", Behavior::default()).await;
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (_burr, port) = burr_before(&[dead, alive.addr], "");
    let mut sender = h2(port).await;
    for _ in 0..4 {
        let req = h2_request("GET", port, "/", &[]).body(empty()).unwrap();
        let a = send(&mut sender, req).await;
        assert_eq!(
            (a.status, a.backend().as_str()),
            (200, "alive"),
            "{}",
            a.body
        );
    }
}

#[tokio::test]
async fn a_get_a_stale_connection_lost_goes_again_and_a_post_does_not() {
    // The first connection closes, without answering, when its second request arrives.
    let target = Scripted::start(|r| match (r.connection, r.nth) {
        (1, 2) | (2, 2) => vec![Step::Close],
        _ => ok(format!("answer {}", r.connection).as_bytes()),
    })
    .await;
    let (_burr, port) = burr_before(&[target.addr], "");
    let mut sender = h2(port).await;
    let get = |path: &str| h2_request("GET", port, path, &[]).body(empty()).unwrap();
    assert_eq!(send(&mut sender, get("/first")).await.body, "answer 1");
    let second = send(&mut sender, get("/second")).await;
    assert_eq!((second.status, second.body.as_str()), (200, "answer 2"));
    let post = h2_request("POST", port, "/order", &[])
        .body(empty())
        .unwrap();
    assert_eq!(send(&mut sender, post).await.status, 502);
    let seen: Vec<(usize, String)> = target
        .received()
        .iter()
        .map(|r| (r.connection, r.path().to_string()))
        .collect();
    let expected = [(1, "/first"), (1, "/second"), (2, "/second"), (2, "/order")];
    let expected: Vec<(usize, String)> =
        expected.iter().map(|(c, p)| (*c, p.to_string())).collect();
    assert_eq!(seen, expected, "the POST was sent once");
}

#[tokio::test]
async fn a_chunked_response_is_decoded_and_its_connection_reused() {
    let target = Scripted::start(|r| match r.path() {
        "/chunked" => trickle(
            vec![
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-App: 1\r\n\r\n5\r\nhel"
                    .to_vec(),
                b"lo\r\n6;ext=1\r\n world\r\n".to_vec(),
                b"0\r\nT: v\r\n\r\n".to_vec(),
            ],
            Duration::from_millis(5),
        ),
        _ => ok(b"after"),
    })
    .await;
    let (_burr, port) = burr_before(&[target.addr], "");
    let mut sender = h2(port).await;
    let req = h2_request("GET", port, "/chunked", &[])
        .body(empty())
        .unwrap();
    let a = send(&mut sender, req).await;
    assert_eq!((a.status, a.body.as_str()), (200, "hello world"));
    assert_eq!(a.headers["x-app"], "1");
    assert!(a.headers.get("transfer-encoding").is_none());
    let req = h2_request("GET", port, "/next", &[]).body(empty()).unwrap();
    assert_eq!(send(&mut sender, req).await.body, "after");
    assert_eq!(target.accepted(), 1, "the connection served again");
}

#[tokio::test]
async fn a_response_delimited_by_close_arrives_whole_and_its_connection_is_not_reused() {
    let target = Scripted::start(|r| match r.path() {
        "/close" => vec![
            Step::Write(b"HTTP/1.1 200 OK\r\n\r\nuntil ".to_vec()),
            Step::Pause(Duration::from_millis(5)),
            Step::Write(b"close".to_vec()),
            Step::Close,
        ],
        _ => ok(b"after"),
    })
    .await;
    let (_burr, port) = burr_before(&[target.addr], "");
    let mut sender = h2(port).await;
    let req = h2_request("GET", port, "/close", &[])
        .body(empty())
        .unwrap();
    assert_eq!(send(&mut sender, req).await.body, "until close");
    let req = h2_request("GET", port, "/next", &[]).body(empty()).unwrap();
    assert_eq!(send(&mut sender, req).await.body, "after");
    assert_eq!(target.accepted(), 2);
}

#[tokio::test]
async fn request_bodies_go_with_their_length_or_chunked() {
    let (_backends, _burr, port) = setup(1, "round_robin").await;
    let mut sender = h2(port).await;
    let with_length = h2_request("POST", port, "/up", &[])
        .body(http_body_util::Full::new(Bytes::from_static(b"abc")).boxed())
        .unwrap();
    let a = send(&mut sender, with_length).await;
    assert_eq!(a.json()["body"], "abc");
    assert_eq!(a.seen("content-length"), ["3"]);
    assert!(a.seen("transfer-encoding").is_empty());
    let pieces = Pieces(VecDeque::from([
        Bytes::from_static(b"abc"),
        Bytes::from_static(b"def"),
    ]));
    let without = h2_request("POST", port, "/up", &[])
        .body(pieces.boxed())
        .unwrap();
    let a = send(&mut sender, without).await;
    assert_eq!(a.json()["body"], "abcdef");
    assert_eq!(a.seen("transfer-encoding"), ["chunked"]);
    assert!(a.seen("content-length").is_empty());
}

#[tokio::test]
async fn a_stream_reset_mid_body_closes_its_upstream_connection_and_the_next_request_is_fine() {
    let gate = Arc::new(Notify::new());
    let held = gate.clone();
    let target = Scripted::start(move |r| match r.path() {
        "/half" => vec![
            Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst".to_vec()),
            Step::WaitFor(held.clone()),
            Step::Write(b"-rest".to_vec()),
        ],
        _ => ok(format!("answer {}", r.connection).as_bytes()),
    })
    .await;
    let (burr, port) = burr_before(&[target.addr], "");
    let mut sender = h2(port).await;
    let req = h2_request("GET", port, "/half", &[]).body(empty()).unwrap();
    let response = sender.send_request(req).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"first");
    drop(body); // RST_STREAM (CANCEL)
    assert!(
        in_flight_drops_to_zero(&burr, target.addr, Duration::from_secs(5)).await,
        "the lease was not given back"
    );
    // The next request reaches the target before the rest of the first body is sent: on the
    // first connection, had it been given back, it would get that rest as its response.
    let req = h2_request("GET", port, "/next", &[]).body(empty()).unwrap();
    let next = tokio::spawn(async move { send(&mut sender, req).await });
    assert!(eventually(Duration::from_secs(5), || target.received().len() == 2).await);
    gate.notify_one();
    let a = next.await.unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, "answer 2"));
}

#[tokio::test]
async fn a_target_silent_past_the_response_timeout_gets_504() {
    let target = Scripted::start(|_| vec![Step::Pause(Duration::from_secs(5))]).await;
    let (_burr, port) = burr_before(&[target.addr], "[pool.upstream]\nresponse_timeout_secs = 1");
    let started = Instant::now();
    let a = h2_get(port, "/", &[]).await;
    let took = started.elapsed();
    assert_eq!(a.status, 504, "{}", a.body);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

/// burr's resident memory in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_stream_that_stops_reading_does_not_make_burr_buffer_the_response() {
    const MIB: usize = 1 << 20;
    const BODY: usize = 64 * MIB;
    let target = Scripted::start(|_| {
        let mut steps = vec![Step::Write(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\n\r\n").into_bytes(),
        )];
        steps.extend((0..BODY / MIB).map(|_| Step::Write(vec![b'x'; MIB])));
        steps
    })
    .await;
    let (burr, port) = burr_before(&[target.addr], "");
    let before = rss_kib(burr.pid());
    let mut sender = h2(port).await;
    let req = h2_request("GET", port, "/huge", &[]).body(empty()).unwrap();
    let response = sender.send_request(req).await.unwrap();
    // Not reading: burr may fill the stream's flow-control window and its socket buffers, no
    // more. Watch its memory for a while (the target could send it all in well under this).
    let mut peak = before;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        peak = peak.max(rss_kib(burr.pid()));
    }
    assert!(
        peak < before + 16 * 1024,
        "burr grew from {before} KiB to {peak} KiB for a stream that does not read"
    );
    // Reading again, the whole body arrives.
    let body = tokio::time::timeout(Duration::from_secs(20), response.into_body().collect())
        .await
        .expect("the body within 20 s")
        .unwrap()
        .to_bytes();
    assert_eq!(body.len(), BODY);
}
