//! Reverse-proxy semantics through the real binary: hop-by-hop headers, `X-Forwarded-*`, `Host`,
//! strict request framing, header limits, WebSocket-style upgrades, HTTP/2 with prior knowledge.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test]
async fn hop_by_hop_headers_are_removed_and_forwarded_headers_added() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let mut client = Client::connect(port).await;
    let a = client
        .get(
            "/p?q=1",
            &[
                ("connection", "keep-alive, x-secret"),
                ("x-secret", "dropped"),
                ("keep-alive", "timeout=9"),
                ("te", "trailers"),
                ("proxy-authorization", "Basic eA=="),
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-port", "1"),
                ("x-kept", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["path"], "/p?q=1");
    for gone in [
        "connection",
        "x-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
    ] {
        assert!(a.seen(gone).is_empty(), "{gone} reached the target");
    }
    assert_eq!(a.seen("x-kept"), ["yes"]);
    assert_eq!(a.seen("host"), ["burr.test"], "Host must be preserved");
    assert_eq!(a.seen("x-forwarded-for"), ["203.0.113.7, 127.0.0.1"]);
    assert_eq!(a.seen("x-forwarded-proto"), ["http"]);
    assert_eq!(a.seen("x-forwarded-port"), [port.to_string()]);
    // Response direction: the backend's Connection-listed and Keep-Alive headers are dropped.
    assert!(a.headers.get("x-hop").is_none());
    assert!(a.headers.get("keep-alive").is_none());
    assert_eq!(a.headers["x-backend"], "b1");
    assert_eq!(backends[0].hits(), 1);
}

#[tokio::test]
async fn keep_alive_reuses_the_upstream_connection() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let mut client = Client::connect(port).await;
    for _ in 0..20 {
        assert_eq!(client.get("/", &[]).await.status, 200);
    }
    assert_eq!(backends[0].hits(), 20);
    assert_eq!(
        backends[0]
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "upstream connection not reused"
    );
}

/// A request that frames its body two ways, or ambiguously, is refused with 400 and the
/// connection closed; the target never sees it.
#[tokio::test]
async fn ambiguous_framing_is_refused_and_never_forwarded() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let cases: [(&[u8], &str); 6] = [
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "more than one Content-Length"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc", "invalid Content-Length"),
        // A body found malformed midway: hyper, which has the request, answers it (once).
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "malformed request body"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc", "must end with chunked"),
    ];
    for (request, reason) in cases {
        let answer = raw(port, request, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{reason}: {answer}");
        assert!(answer.contains(reason), "{reason}: {answer}");
        assert!(
            answer.ends_with("<EOF>"),
            "{reason}: connection not closed: {answer}"
        );
    }
    assert_eq!(
        backends[0].hits(),
        0,
        "a refused request reached the target"
    );
}

#[tokio::test]
async fn requests_before_a_refused_one_are_answered() {
    let (backends, _burr, port) = setup(1, "round_robin").await;
    let pipeline = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = raw(port, pipeline, Duration::from_secs(5)).await;
    let first = answer.find("HTTP/1.1 200").expect("first request answered");
    let refused = answer.find("HTTP/1.1 400").expect("second refused");
    assert!(first < refused, "{answer}");
    assert_eq!(backends[0].hits(), 1);
}

#[tokio::test]
async fn well_framed_bodies_pass_in_both_framings() {
    let (_backends, _burr, port) = setup(1, "round_robin").await;
    let chunked = raw(
        port,
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(chunked.starts_with("HTTP/1.1 200"), "{chunked}");
    assert!(chunked.contains("\"body\":\"hello world\""), "{chunked}");
    let sized = raw(
        port,
        b"POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        Duration::from_secs(5),
    )
    .await;
    assert!(sized.contains("\"body\":\"abc\""), "{sized}");
}

#[tokio::test]
async fn oversized_heads_get_431_and_close() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "max_header_bytes = 8192\nmax_headers = 10",
        "",
    ));
    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let answer = raw(port, big.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.ends_with("<EOF>"), "{answer}");
    let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 0..12 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw(port, many.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(backend.hits(), 0);
}

#[tokio::test]
async fn upgrade_relays_bytes_only_after_101() {
    let backend = Backend::start(
        "ws",
        Behavior {
            upgrade: true,
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let _burr = Burr::start(&config(port, "round_robin", &[(backend.addr, 1)], "", ""));
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    s.write_all(b"ping over the tunnel").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"PING OVER THE TUNNEL");
}

#[tokio::test]
async fn a_refused_upgrade_stays_http() {
    let backend = Backend::start(
        "plain",
        Behavior {
            refuse_upgrade: true,
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let _burr = Burr::start(&config(port, "round_robin", &[(backend.addr, 1)], "", ""));
    let mut client = Client::connect(port).await;
    let a = client
        .get(
            "/chat",
            &[("connection", "upgrade"), ("upgrade", "websocket")],
        )
        .await;
    assert_eq!(a.status, 200);
    // The connection is still plain HTTP: another request works on it.
    assert_eq!(client.get("/again", &[]).await.status, 200);
}

#[tokio::test]
async fn http2_prior_knowledge_is_served_and_cookies_are_joined() {
    let (_backends, _burr, port) = setup(1, "round_robin").await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut sender = h2_over(stream).await;
    let req = http::Request::get(format!("http://burr.test:{port}/h2"))
        .header("cookie", "a=1")
        .header("cookie", "b=2")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let a = collect(sender.send_request(req).await.unwrap()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.seen("cookie"), ["a=1; b=2"]);
    assert_eq!(a.seen("host"), [format!("burr.test:{port}")]);
}
