//! burr's own HTTP/2 server side (the h2 crate driven by burr, `http::h2::serve`), through the
//! real binary on loopback: what hyper's server did for burr before and burr now does itself.
//! An upload larger than the flow-control window arrives whole (the window is given back as the
//! target reads), a stream the client resets before its answer gives up its target connection,
//! a response without `Date` gets one and burr's own answers carry `Date` and
//! `content-length`, the connection's limits are the ones documented, and an upload (the h2
//! crate's request stream) reaches HTTPS targets and PROXY-protocol pools (hyper's client) whole.

mod common;

use bytes::Bytes;
use common::raw_http::{Scripted, Step, ok, reply};
use common::*;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

type H2Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn burr_before(target: SocketAddr, extra_pool: &str) -> (Burr, u16) {
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(target, 1)], "", extra_pool));
    (burr, port)
}

async fn h2(port: u16) -> hyper::client::conn::http2::SendRequest<H2Body> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    h2_over(stream).await
}

fn request(method: &str, port: u16, path: &str, body: H2Body) -> http::Request<H2Body> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://burr.test:{port}{path}"))
        .body(body)
        .unwrap()
}

/// An h2c connection to burr with the h2 crate's own client, for what hyper's client does not
/// show (the server's settings) or will not send (userinfo in `:authority`); its connection
/// future is the caller's to drive.
async fn h2_crate_client(
    port: u16,
) -> (
    h2::client::SendRequest<Bytes>,
    h2::client::Connection<tokio::net::TcpStream, Bytes>,
) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    h2::client::handshake(stream).await.unwrap()
}

fn empty() -> H2Body {
    http_body_util::Empty::new().boxed()
}

/// A GET of `path` on `sender`'s connection, answered in full.
async fn get(
    sender: &mut hyper::client::conn::http2::SendRequest<H2Body>,
    port: u16,
    path: &str,
) -> Answer {
    let response = sender
        .send_request(request("GET", port, path, empty()))
        .await
        .unwrap();
    collect(response).await
}

/// The `date` field of `headers`, parsed, and how far it is from now.
fn date_skew(headers: &http::HeaderMap) -> Duration {
    let value = headers.get(http::header::DATE).expect("a date field");
    let date = httpdate::parse_http_date(value.to_str().unwrap()).expect("an HTTP date");
    let now = SystemTime::now();
    now.duration_since(date).unwrap_or_else(|e| e.duration())
}

#[tokio::test]
async fn an_upload_larger_than_the_flow_control_window_arrives_whole() {
    // Three times burr's 1 MiB receive window: without WINDOW_UPDATEs as the target reads,
    // the client stops after the first MiB.
    const UPLOAD: usize = 3 << 20;
    let target = Scripted::start(|_| ok(b"got it")).await;
    let (_burr, port) = burr_before(target.addr, "");
    let body: Vec<u8> = (0..UPLOAD).map(|i| (i % 251) as u8).collect();
    let req = request(
        "POST",
        port,
        "/upload",
        http_body_util::Full::new(Bytes::from(body.clone())).boxed(),
    );
    let response = tokio::time::timeout(Duration::from_secs(20), h2(port).await.send_request(req))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = target.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].body == body, "the upload arrived changed");
}

#[tokio::test]
async fn a_stream_reset_before_its_answer_gives_up_its_target_connection() {
    let gate = Arc::new(Notify::new());
    let held = gate.clone();
    let target = Scripted::start(move |r| match r.path() {
        "/slow" => {
            let mut steps = vec![Step::WaitFor(held.clone())];
            steps.extend(ok(b"late"));
            steps
        }
        _ => ok(format!("answer {}", r.connection).as_bytes()),
    })
    .await;
    let (burr, port) = burr_before(target.addr, "");
    let mut sender = h2(port).await;
    let waiting = sender.send_request(request("GET", port, "/slow", empty()));
    // The request reaches the target, then the client gives up on it: RST_STREAM (CANCEL).
    let waiting = tokio::spawn(waiting);
    assert!(eventually(Duration::from_secs(5), || target.received().len() == 1).await);
    waiting.abort();
    // Well within the 5 s the target holds its answer back (common::raw_http's WAIT).
    assert!(
        in_flight_drops_to_zero(&burr, target.addr, Duration::from_secs(2)).await,
        "the reset stream still holds its target connection"
    );
    // The next request goes on a new connection: the one the reset stream had is closed, not
    // back in the pool waiting to deliver the late answer.
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        sender.send_request(request("GET", port, "/next", empty())),
    )
    .await
    .expect("an answer within 5 s")
    .unwrap();
    let a = collect(next).await;
    assert_eq!((a.status, a.body.as_str()), (200, "answer 2"));
    gate.notify_one();
}

#[tokio::test]
async fn a_response_without_date_gets_one_and_burr_s_own_answers_have_date_and_length() {
    const DATED: &[u8] = b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
        Content-Length: 2\r\n\r\nok";
    let target = Scripted::start(|r| match r.path() {
        "/dated" => reply(DATED.to_vec()),
        "/silent" => vec![Step::Pause(Duration::from_secs(5))],
        _ => reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()),
    })
    .await;
    let (_burr, port) = burr_before(target.addr, "[pool.upstream]\nresponse_timeout_secs = 1");
    let mut sender = h2(port).await;

    let undated = get(&mut sender, port, "/undated").await;
    assert_eq!((undated.status, undated.body.as_str()), (200, "ok"));
    assert!(date_skew(&undated.headers) < Duration::from_secs(5));

    // A target's own Date is the one that goes out.
    let dated = get(&mut sender, port, "/dated").await;
    assert_eq!(dated.headers["date"], "Sun, 06 Nov 1994 08:49:37 GMT");

    // burr's own answer (504 after the response timeout): Date, and the body's length.
    let timed_out = get(&mut sender, port, "/silent").await;
    assert_eq!(timed_out.status, 504);
    assert!(date_skew(&timed_out.headers) < Duration::from_secs(5));
    assert_eq!(
        timed_out.headers["content-length"],
        timed_out.body.len().to_string()
    );
}

#[tokio::test]
async fn the_connection_allows_200_concurrent_streams() {
    let target = Scripted::start(|_| ok(b"ok")).await;
    let (_burr, port) = burr_before(target.addr, "");
    let (mut client, mut connection) = h2_crate_client(port).await;
    let req = http::Request::get(format!("http://burr.test:{port}/"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(req, true).unwrap();
    // The connection is driven here, so that its settings can be read afterwards.
    let response = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::select! {
            response = response => response.unwrap(),
            ended = &mut connection => panic!("the connection ended: {ended:?}"),
        }
    })
    .await
    .expect("an answer within 5 s");
    assert_eq!(response.status(), 200);
    assert_eq!(connection.max_concurrent_send_streams(), 200);
}

/// An HTTP/2 upload reaches an HTTPS target (burr's raw upstream path over TLS) and a
/// PROXY-protocol pool's target (hyper's client, fed the h2 crate's request stream) whole, and
/// each answer comes back.
#[tokio::test]
async fn an_h2_upload_reaches_https_and_proxy_protocol_targets() {
    let body = "0123456789".repeat(10_000);
    for (behavior, extra_listener, extra_pool) in [
        (
            Behavior {
                tls: true,
                ..Behavior::default()
            },
            "instance_protocol = \"https\"",
            "",
        ),
        (
            Behavior {
                proxy_protocol: true,
                ..Behavior::default()
            },
            "",
            "[pool.upstream]\nproxy_protocol = true",
        ),
    ] {
        let backend = Backend::start("b", behavior).await;
        let port = free_port();
        let _burr = Burr::start(&config(
            port,
            "round_robin",
            &[(backend.addr, 1)],
            extra_listener,
            extra_pool,
        ));
        let mut sender = h2(port).await;
        for _ in 0..2 {
            let req = request(
                "POST",
                port,
                "/up",
                http_body_util::Full::new(Bytes::from(body.clone())).boxed(),
            );
            let a = collect(sender.send_request(req).await.unwrap()).await;
            assert_eq!(a.status, 200, "{extra_listener} {extra_pool}: {}", a.body);
            assert_eq!(a.json()["body"], body.as_str());
        }
        let after = get(&mut sender, port, "/after").await;
        assert_eq!(after.json()["path"], "/after");
        assert_eq!(backend.hits.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}

/// burr's own 400 (userinfo in `:authority`) reaches an HTTP/2 client as a 400, without the
/// `Connection: close` it carries for HTTP/1.x (a field HTTP/2 forbids: sent, the stream would
/// be reset instead).
#[tokio::test]
async fn burr_s_own_400_is_answered_on_http2_without_its_connection_field() {
    let target = Scripted::start(|_| ok(b"ok")).await;
    let (_burr, port) = burr_before(target.addr, "");
    let (mut client, connection) = h2_crate_client(port).await;
    tokio::spawn(connection);
    let req = http::Request::get(format!("http://someone@burr.test:{port}/"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(req, true).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("an answer within 5 s")
        .expect("an answer, not a reset");
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("connection").is_none());
    assert!(target.received().is_empty());
}
