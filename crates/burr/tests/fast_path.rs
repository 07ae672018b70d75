//! burr's HTTP/1.1 fast path (`burr-proxy/src/http/h1`) through the real binary, with real
//! sockets on loopback: pipelined requests, `Content-Length` request bodies, every response
//! framing (length, chunked with trailers, until close, none for HEAD, 204 and 304), interim
//! responses, upstream keep-alive and upstream connections the target closed, the client's
//! `Connection: close`, the fallback to hyper (HTTP/1.0, chunked uploads), the request-head
//! timeout, conflicting response framing and the rewriting of response heads. Clients are raw TCP
//! with a strict response reader ([`Conn`]); responses the harness backend cannot give come from
//! [`Scripted`], a raw-TCP target that answers each request with the bytes a test scripts.

mod common;

use common::raw_http::*;
use common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// burr with one HTTP listener (and `extra_listener` settings) in front of `target` alone.
fn burr_before(target: SocketAddr, extra_listener: &str) -> (Burr, u16) {
    let port = free_port();
    let burr = Burr::start(&config(
        port,
        "round_robin",
        &[(target, 1)],
        extra_listener,
        "",
    ));
    (burr, port)
}

/// A scripted target and burr in front of it.
async fn scripted(
    script: impl Fn(&Received) -> Vec<Step> + Send + Sync + 'static,
) -> (Scripted, Burr, u16) {
    let target = Scripted::start(script).await;
    let (burr, port) = burr_before(target.addr, "");
    (target, burr, port)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn pipelined_requests_in_one_write_are_answered_in_order() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let mut conn = Conn::open(port).await;
    let paths = ["/one", "/two?x=2", "/three"];
    let pipeline: Vec<u8> = paths
        .iter()
        .flat_map(|p| request("GET", p, "", b""))
        .collect();
    conn.send(&pipeline).await;
    for path in paths {
        let r = conn.response(false).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.json()["path"], path, "answered out of order");
    }
    // Nothing more than the three responses, and the connection still serves.
    assert_eq!(conn.get("/four").await.json()["path"], "/four");
    assert_eq!(backends[0].hits(), 4);
    assert_eq!(backends[0].connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_large_request_body_reaches_the_target_intact_and_the_connection_serves_again() {
    let (target, _burr, port) = scripted(|r| match r.method() {
        "POST" => ok(format!("{} {:016x}", r.body.len(), checksum(&r.body)).as_bytes()),
        _ => ok(b"next"),
    })
    .await;
    let body = noise(200_000, 7);
    let message = request(
        "POST",
        "/upload",
        "Content-Type: application/octet-stream\r\n",
        &body,
    );
    let head_len = message.len() - body.len();
    let mut conn = Conn::open(port).await;
    // The head with a little of the body, then the rest in several writes.
    let (first, rest) = message.split_at(head_len + 1_000);
    conn.send(first).await;
    for piece in rest.chunks(49_750) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        conn.send(piece).await;
    }
    let r = conn.response(false).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), format!("200000 {:016x}", checksum(&body)));
    let next = conn.get("/after").await;
    assert_eq!((next.status, next.text().as_str()), (200, "next"));
    let received = target.received();
    assert_eq!(received.len(), 2);
    assert_eq!(values(&received[0].headers, "content-length"), ["200000"]);
    assert!(received[0].body == body, "body changed on the way");
    assert_eq!(received[1].line, "GET /after HTTP/1.1");
    assert_eq!(target.accepted(), 1);
}

#[tokio::test]
async fn a_chunked_response_with_trailer_is_relayed_intact_and_the_upstream_reused() {
    let big = noise(20_000, 3);
    let pieces = {
        let big = big.clone();
        move || {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                        Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n";
            // Cut inside a chunk, a chunk-size line, a chunk extension, a CRLF and the trailer.
            let mut p: Vec<Vec<u8>> = vec![
                format!("{head}5\r\nhel").into_bytes(),
                b"lo\r\n7;na".to_vec(),
                b"me=value\r\n, world\r\n4e".to_vec(),
                b"20\r\n".to_vec(),
            ];
            p[3].extend_from_slice(&big[..10_000]);
            let mut tail = big[10_000..].to_vec();
            tail.extend_from_slice(b"\r");
            p.push(tail);
            p.push(b"\n0\r\nX-Check".to_vec());
            p.push(b"sum: 1234\r\n\r".to_vec());
            p.push(b"\n".to_vec());
            p
        }
    };
    let (target, _burr, port) = scripted(move |r| match r.path() {
        "/chunked" => trickle(pieces(), Duration::from_millis(30)),
        _ => ok(b"next"),
    })
    .await;
    let mut conn = Conn::open(port).await;
    let r = conn.get("/chunked").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{r:?}");
    assert_eq!(r.header("content-length"), None);
    let mut expected = b"hello, world".to_vec();
    expected.extend_from_slice(&big);
    assert!(r.body == expected, "body changed: {} bytes", r.body.len());
    assert_eq!(values(&r.trailers, "x-checksum"), ["1234"]);
    let next = conn.get("/next").await;
    assert_eq!((next.status, next.text().as_str()), (200, "next"));
    assert_eq!(target.received().len(), 2);
    assert_eq!(target.accepted(), 1, "upstream connection not reused");
}

#[tokio::test]
async fn a_response_delimited_by_close_is_relayed_whole_then_the_client_is_closed() {
    let (part1, part2) = (noise(10_000, 1), noise(10_000, 2));
    let (a, b) = (part1.clone(), part2.clone());
    let (target, _burr, port) = scripted(move |_| {
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        head.extend_from_slice(&a);
        let mut steps = trickle(vec![head, b.clone()], Duration::from_millis(50));
        steps.push(Step::Close);
        steps
    })
    .await;
    let mut conn = Conn::open(port).await;
    // The reader reads this body until burr closes: the response ends only if burr closes.
    let r = conn.get("/stream").await;
    assert_eq!(r.status, 200);
    assert!(r.until_close, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.body.len(), 20_000);
    assert!(r.body == [part1, part2].concat(), "body changed");
    assert_eq!(target.received().len(), 1);
}

#[tokio::test]
async fn a_head_response_has_no_body_and_the_connection_serves_a_get() {
    let (target, _burr, port) = scripted(|r| match r.method() {
        "HEAD" => reply(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n".to_vec(),
        ),
        _ => ok(b"the document"),
    })
    .await;
    let mut conn = Conn::open(port).await;
    conn.send(&request("HEAD", "/doc", "", b"")).await;
    let head = conn.response(true).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("1000"));
    // Were there body bytes, they would be read here as the next response's status line.
    let get = conn.get("/doc").await;
    assert_eq!((get.status, get.text().as_str()), (200, "the document"));
    let received = target.received();
    assert_eq!(received[0].line, "HEAD /doc HTTP/1.1");
    assert_eq!(received[1].line, "GET /doc HTTP/1.1");
    assert_eq!(target.accepted(), 1);
}

#[tokio::test]
async fn responses_204_and_304_have_no_body_and_the_connection_stays_usable() {
    let (target, _burr, port) = scripted(|r| match r.path() {
        "/no-content" => reply(b"HTTP/1.1 204 No Content\r\nX-Done: yes\r\n\r\n".to_vec()),
        // A 304 may state the length the 200 would have had; there is still no body.
        "/not-modified" => reply(
            b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 9\r\n\r\n".to_vec(),
        ),
        _ => ok(b"ok"),
    })
    .await;
    let mut conn = Conn::open(port).await;
    let r = conn.get("/no-content").await;
    assert_eq!((r.status, r.header("x-done")), (204, Some("yes")));
    let r = conn.get("/not-modified").await;
    assert_eq!((r.status, r.header("etag")), (304, Some("\"v1\"")));
    let r = conn.get("/ok").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // And once more with the three pipelined: no stray body bytes between them.
    let pipeline = ["/no-content", "/not-modified", "/ok"]
        .iter()
        .flat_map(|p| request("GET", p, "", b""))
        .collect::<Vec<u8>>();
    conn.send(&pipeline).await;
    let statuses = [
        conn.response(false).await.status,
        conn.response(false).await.status,
        conn.response(false).await.status,
    ];
    assert_eq!(statuses, [204, 304, 200]);
    assert_eq!(target.received().len(), 6);
    assert_eq!(target.accepted(), 1);
}

#[tokio::test]
async fn an_early_hints_response_reaches_the_client_before_the_final_one() {
    let gate = Arc::new(Notify::new());
    let opened = gate.clone();
    let (_target, _burr, port) = scripted(move |_| {
        vec![
            Step::Write(
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
                    .to_vec(),
            ),
            // The final response is written only once the client has the 103.
            Step::WaitFor(opened.clone()),
            Step::Write(with_length(
                "200 OK",
                "Link: </style.css>; rel=preload; as=style\r\n",
                b"page",
            )),
        ]
    })
    .await;
    let mut conn = Conn::open(port).await;
    conn.send(&request("GET", "/page", "", b"")).await;
    let hints = conn.response(false).await;
    assert_eq!(hints.status, 103, "{hints:?}");
    assert_eq!(
        hints.header("link"),
        Some("</style.css>; rel=preload; as=style")
    );
    gate.notify_one();
    let page = conn.response(false).await;
    assert_eq!((page.status, page.text().as_str()), (200, "page"));
}

#[tokio::test]
async fn an_upstream_connection_the_target_closed_while_idle_is_not_used_again() {
    // Each connection answers one request (keep-alive by HTTP/1.1's default), then closes.
    let (target, _burr, port) = scripted(|r| {
        let mut steps = ok(format!("answer {}", r.connection).as_bytes());
        steps.push(Step::Close);
        steps
    })
    .await;
    let mut conn = Conn::open(port).await;
    let first = conn.get("/first").await;
    assert_eq!((first.status, first.text().as_str()), (200, "answer 1"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = conn.get("/second").await;
    assert_eq!((second.status, second.text().as_str()), (200, "answer 2"));
    assert_eq!(target.accepted(), 2);
    let paths: Vec<String> = target.received().iter().map(|r| r.path().into()).collect();
    assert_eq!(paths, ["/first", "/second"]);
}

#[tokio::test]
async fn a_get_the_target_dropped_unanswered_on_a_reused_connection_goes_again() {
    // The first connection closes, without answering, when its second request arrives: the
    // race of a target's keep-alive timeout with a new request.
    let (target, _burr, port) = scripted(|r| match (r.connection, r.nth) {
        (1, 2) => vec![Step::Close],
        _ => ok(format!("answer {}", r.connection).as_bytes()),
    })
    .await;
    let mut conn = Conn::open(port).await;
    assert_eq!(conn.get("/first").await.text(), "answer 1");
    let second = conn.get("/second").await;
    assert_eq!((second.status, second.text().as_str()), (200, "answer 2"));
    let seen: Vec<(usize, String)> = target
        .received()
        .iter()
        .map(|r| (r.connection, r.path().to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "/first".to_string()),
            (1, "/second".to_string()),
            (2, "/second".to_string())
        ]
    );
}

#[tokio::test]
async fn a_post_the_target_dropped_unanswered_is_not_sent_again() {
    // Once sent, a request that is not safe to repeat is never replayed (docs: Retries).
    let (target, _burr, port) = scripted(|r| match (r.connection, r.nth) {
        (1, 2) => vec![Step::Close],
        _ => ok(b"done"),
    })
    .await;
    let mut conn = Conn::open(port).await;
    assert_eq!(conn.get("/first").await.status, 200);
    conn.send(&request("POST", "/order", "", b"item=1")).await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 502, "{r:?}");
    let posts = target
        .received()
        .iter()
        .filter(|r| r.method() == "POST")
        .count();
    assert_eq!(posts, 1, "the POST was sent again");
    assert_eq!(target.accepted(), 1);
}

#[tokio::test]
async fn a_client_connection_close_gets_connection_close_then_eof() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let mut conn = Conn::open(port).await;
    conn.send(&request("GET", "/bye", "Connection: close\r\n", b""))
        .await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["path"], "/bye");
    assert!(!r.until_close, "expected a framed body: {r:?}");
    assert_eq!(r.header("connection"), Some("close"));
    conn.expect_close().await;
    assert_eq!(backends[0].hits(), 1);
}

#[tokio::test]
async fn http_1_0_and_chunked_uploads_are_served_by_the_fallback() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    // HTTP/1.0 without keep-alive: answered, then closed.
    let mut old = Conn::open(port).await;
    old.send(b"GET /old HTTP/1.0\r\nHost: burr.test\r\n\r\n")
        .await;
    let r = old.response(false).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["path"], "/old");
    if !r.until_close {
        old.expect_close().await;
    }
    // A chunked upload, then another request on the same connection.
    let mut conn = Conn::open(port).await;
    conn.send(
        b"POST /up HTTP/1.1\r\nHost: burr.test\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
    )
    .await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 200, "{r:?}");
    let echo = r.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/up");
    assert_eq!(echo["body"], "hello world");
    let after = conn.get("/after").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json()["path"], "/after");
    assert_eq!(backends[0].hits(), 3);
}

#[tokio::test]
async fn a_head_in_pieces_is_served_and_an_unfinished_one_gets_408() {
    let backend = Backend::start("b", Behavior::default()).await;
    let (_burr, port) = burr_before(backend.addr, "header_read_timeout_secs = 1");
    let mut conn = Conn::open(port).await;
    for piece in ["GET /sl", "ow HTTP/1.1\r\nHo", "st: burr.test\r\n\r\n"] {
        conn.send(piece.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = conn.response(false).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["path"], "/slow");

    let mut stuck = Conn::open(port).await;
    let started = Instant::now();
    stuck
        .send(b"GET /never HTTP/1.1\r\nHost: burr.test\r\n")
        .await;
    let r = stuck.response(false).await;
    let waited = started.elapsed();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "408 after {waited:?}"
    );
    assert_eq!(r.header("connection"), Some("close"));
    stuck.expect_close().await;
    assert_eq!(backend.hits(), 1);
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_times_out_from_its_first_byte() {
    let backend = Backend::start("b", Behavior::default()).await;
    let (_burr, port) = burr_before(backend.addr, "header_read_timeout_secs = 2");
    let mut conn = Conn::open(port).await;
    let started = Instant::now();
    // One byte every 100 ms for 1.7 s, then silence: timed from each byte, the 408 would come
    // 2 s after the last one (3.7 s); timed from the first byte, at 2 s.
    for byte in b"GET /trickle HTTP/1" {
        conn.send(&[*byte]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = conn.response(false).await;
    let waited = started.elapsed();
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(3),
        "408 after {waited:?}"
    );
    conn.expect_close().await;
    assert_eq!(backend.hits(), 0);
}

#[tokio::test]
async fn conflicting_content_lengths_from_the_target_give_502() {
    let (_target, _burr, port) = scripted(|r| match r.path() {
        "/conflict" => reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
        ),
        _ => ok(b"good"),
    })
    .await;
    let mut conn = Conn::open(port).await;
    let r = conn.get("/conflict").await;
    assert_eq!(r.status, 502, "{r:?}");
    assert!(!r.text().contains("hello"), "{r:?}");
    // burr's own 502 is whole: the connection serves on (over a new upstream connection).
    let next = conn.get("/good").await;
    assert_eq!((next.status, next.text().as_str()), (200, "good"));
}

#[tokio::test]
async fn set_cookie_fields_pass_unchanged_and_connection_listed_headers_are_dropped() {
    let cookies = [
        "session=abc123; Path=/; HttpOnly",
        "theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure",
    ];
    let extra = format!(
        "Set-Cookie: {}\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\
         Set-Cookie: {}\r\nX-Kept: yes\r\n",
        cookies[0], cookies[1]
    );
    let (_target, _burr, port) =
        scripted(move |_| reply(with_length("200 OK", &extra, b"cookies"))).await;
    let mut conn = Conn::open(port).await;
    let r = conn.get("/login").await;
    assert_eq!((r.status, r.text().as_str()), (200, "cookies"));
    assert_eq!(values(&r.headers, "set-cookie"), cookies);
    assert_eq!(r.header("x-hop"), None, "{r:?}");
    assert_eq!(r.header("keep-alive"), None, "{r:?}");
    assert_eq!(r.header("connection"), None, "{r:?}");
    assert_eq!(r.header("x-kept"), Some("yes"));
}

#[tokio::test]
async fn a_one_megabyte_response_arrives_intact() {
    let body = noise(1 << 20, 11);
    let sent = body.clone();
    let (target, _burr, port) = scripted(move |_| reply(with_length("200 OK", "", &sent))).await;
    let mut conn = Conn::open(port).await;
    for _ in 0..2 {
        let r = conn.get("/big").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), body.len());
        assert!(r.body == body, "body changed");
    }
    assert_eq!(target.accepted(), 1);
}

#[tokio::test]
async fn empty_lines_between_requests_start_no_head_timeout() {
    let backend = Backend::start("b", Behavior::default()).await;
    let (_burr, port) = burr_before(backend.addr, "header_read_timeout_secs = 1");
    let mut conn = Conn::open(port).await;
    let mut first = request("GET", "/a", "", b"");
    first.extend_from_slice(b"\r\n"); // a stray CRLF after the request (RFC 9112 §2.2)
    conn.send(&first).await;
    assert_eq!(conn.response(false).await.status, 200);
    // Longer than the head timeout: the empty line must not have started a head.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = conn.get("/b").await;
    assert_eq!((r.status, r.json()["path"].as_str()), (200, Some("/b")));
    assert_eq!(backend.hits(), 2);
}

#[tokio::test]
async fn a_transfer_coding_before_chunked_reaches_the_client() {
    let (_target, _burr, port) = scripted(|_| {
        reply(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n\
              Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let mut conn = Conn::open(port).await;
    let r = conn.get("/coded").await;
    assert_eq!(r.status, 200);
    // The body is relayed as it came, so the header naming its codings must come with it.
    assert_eq!(
        r.header("transfer-encoding"),
        Some("gzip, chunked"),
        "{r:?}"
    );
    assert_eq!(r.body, b"abc");
}

#[tokio::test]
async fn burrs_cookie_leaves_a_cookie_field_that_is_not_utf8_and_the_rest_stays() {
    let target = Scripted::start(|_| ok(b"ok")).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(target.addr, 1)],
        "",
        "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"classic\"\n",
    ));
    let mut conn = Conn::open(port).await;
    let first = conn.get("/").await;
    let set = first.header("set-cookie").expect("a new session's AWSELB");
    let awselb = set.split(';').next().unwrap().to_string();
    // The same field through the fast path (HTTP/1.1) and through hyper (HTTP/1.0).
    let mut field = b"Cookie: lang=\xe9t\xe9; ".to_vec();
    field.extend_from_slice(awselb.as_bytes());
    field.extend_from_slice(b"; x=1\r\n");
    for version in ["1.1", "1.0"] {
        let mut raw = format!("GET /{version} HTTP/{version}\r\nHost: t\r\n").into_bytes();
        raw.extend_from_slice(&field);
        raw.extend_from_slice(b"\r\n");
        let mut conn = Conn::open(port).await;
        conn.send(&raw).await;
        let r = conn.response(false).await;
        assert_eq!(r.status, 200, "HTTP/{version}: {r:?}");
        assert_eq!(r.header("set-cookie"), None, "a hit sets nothing: {r:?}");
    }
    let received = target.received();
    assert_eq!(received.len(), 3);
    for r in &received[1..] {
        // The target reads bytes lossily: each Latin-1 é shows as U+FFFD.
        assert_eq!(
            values(&r.headers, "cookie"),
            ["lang=\u{fffd}t\u{fffd}; x=1"],
            "{}",
            r.line
        );
    }
}

#[tokio::test]
async fn a_burst_above_the_old_idle_cap_leaves_its_upstream_connections_for_the_next() {
    // 150 requests at once to one slow target need 150 upstream connections. Released together,
    // all are kept (the fixed cap of 64 closed 86 of them), so a second burst opens none.
    const BURST: usize = 150;
    let target = Backend::start(
        "t",
        Behavior {
            delay: Duration::from_millis(300),
            ..Behavior::default()
        },
    )
    .await;
    let (_burr, port) = burr_before(target.addr, "");
    let mut clients = Vec::new();
    for _ in 0..BURST {
        clients.push(Conn::open(port).await);
    }
    for round in 0..2 {
        let mut running = tokio::task::JoinSet::new();
        for mut client in clients.drain(..) {
            running.spawn(async move {
                let status = client.get("/slow").await.status;
                (client, status)
            });
        }
        while let Some(done) = running.join_next().await {
            let (client, status) = done.unwrap();
            assert_eq!(status, 200);
            clients.push(client);
        }
        assert_eq!(
            target.connections.load(Ordering::SeqCst),
            BURST,
            "round {round}: the target saw new connections"
        );
    }
}
