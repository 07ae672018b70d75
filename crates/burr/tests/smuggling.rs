//! Request smuggling and response splitting, tried as an attacker would: raw requests through the
//! real binary on loopback to a scripted raw-TCP target that records every request it receives.
//! Each defect of the hardening issue has a test here, on both HTTP/1.1 paths where both can see
//! it: the fast path, and the general path (hyper behind the framing guard), reached by sending
//! first a request the fast path leaves to hyper ([`TO_GENERAL_PATH`]); from then on the whole
//! connection is hyper's.

mod common;

use common::raw_http::*;
use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A request the fast path hands to hyper (it asks for `100-continue`), answered like any other:
/// after it, the rest of the connection takes the general path.
const TO_GENERAL_PATH: &[u8] =
    b"POST /general HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n";

/// The two HTTP/1.1 paths, by what opens the connection.
const PATHS: [(&str, &[u8]); 2] = [("fast path", b""), ("general path", TO_GENERAL_PATH)];

/// burr (one HTTP listener, `extra_listener` and `extra_pool` settings) before `target` alone.
fn burr_before(target: SocketAddr, extra_listener: &str, extra_pool: &str) -> (Burr, u16) {
    let port = free_port();
    let config = config(
        port,
        "round_robin",
        &[(target, 1)],
        extra_listener,
        extra_pool,
    );
    (Burr::start(&config), port)
}

/// A target answering every request `200` with its path as the body.
async fn echo_paths() -> Scripted {
    Scripted::start(|r| ok(r.path().as_bytes())).await
}

/// Opens a connection on `path`'s side: after the opening request (if any) was answered 200.
async fn open_on(port: u16, opening: &[u8]) -> Conn {
    let mut conn = Conn::open(port).await;
    if !opening.is_empty() {
        conn.send(opening).await;
        let r = conn.response(false).await;
        assert_eq!(r.status, 200, "the opening request: {r:?}");
    }
    conn
}

/// The requests the target received, other than the openers, as their request lines.
fn lines_received(target: &Scripted) -> Vec<String> {
    target
        .received()
        .into_iter()
        .filter(|r| r.path() != "/general")
        .map(|r| r.line)
        .collect()
}

#[tokio::test]
async fn the_reported_smuggle_is_refused_and_the_next_client_gets_its_own_answer() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (path, opening) in PATHS {
        for named in [
            "Content-Length",
            "close, content-length",
            "Transfer-Encoding",
        ] {
            let mut attacker = open_on(port, opening).await;
            let smuggled = b"GET /admin/delete-everything HTTP/1.1\r\nX-Ignore: ";
            let attack = format!(
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: {named}\r\nContent-Length: {}\r\n\r\n",
                smuggled.len()
            );
            attacker.send(&[attack.as_bytes(), smuggled].concat()).await;
            let refused = attacker.response(false).await;
            assert_eq!(refused.status, 400, "{path}, Connection: {named}");
            assert!(refused.text().contains("Connection names"), "{refused:?}");
            attacker.expect_close().await;

            let mut victim = Conn::open(port).await;
            let answer = victim.get("/victim").await;
            assert_eq!(
                (answer.status, answer.text().as_str()),
                (200, "/victim"),
                "{path}, Connection: {named}: the victim got another request's answer"
            );
        }
    }
    // Nothing of any attack reached the target; every victim's request did, alone.
    assert_eq!(lines_received(&target), vec!["GET /victim HTTP/1.1"; 6]);
}

#[tokio::test]
async fn host_is_never_dropped_must_be_single_and_is_required_in_http_1_1() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (path, opening) in PATHS {
        for (request, reason) in [
            (
                &b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: Host\r\n\r\n"[..],
                "Connection names Host",
            ),
            (b"GET /b HTTP/1.1\r\n\r\n", "missing Host header"),
            (
                b"GET /c HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
                "more than one Host header",
            ),
            (
                b"GET /d HTTP/1.1\r\nHost: a b\r\n\r\n",
                "invalid Host header",
            ),
        ] {
            let mut conn = open_on(port, opening).await;
            conn.send(request).await;
            let r = conn.response(false).await;
            assert_eq!(
                r.status,
                400,
                "{path}: {}",
                String::from_utf8_lossy(request)
            );
            assert!(r.text().contains(reason), "{path}: {r:?}");
            conn.expect_close().await;
        }
    }
    assert!(lines_received(&target).is_empty());
    // HTTP/1.0 may leave Host out.
    let mut conn = Conn::open(port).await;
    conn.send(b"GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(conn.response(false).await.text(), "/old");
}

#[tokio::test]
async fn an_absolute_form_target_replaces_host_with_its_authority() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (_, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        conn.send(b"GET http://a.example:8080/x?y=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
            .await;
        assert_eq!(conn.response(false).await.status, 200);
    }
    let received: Vec<_> = target
        .received()
        .into_iter()
        .filter(|r| r.path() != "/general")
        .collect();
    assert_eq!(received.len(), 2);
    for r in received {
        assert_eq!(r.line, "GET /x?y=1 HTTP/1.1");
        assert_eq!(values(&r.headers, "host"), ["a.example:8080"]);
    }
}

#[tokio::test]
async fn connect_is_answered_405_with_allow_and_reaches_no_target() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        conn.send(b"CONNECT internal.example:22 HTTP/1.1\r\nHost: internal.example:22\r\n\r\n")
            .await;
        let r = conn.response(false).await;
        assert_eq!(r.status, 405, "{path}");
        assert!(
            r.header("allow").is_some_and(|a| a.contains("GET")),
            "{r:?}"
        );
        conn.expect_close().await;
    }
    assert!(lines_received(&target).is_empty());
}

/// A target that answers an upgrade request 200 (refusing to switch) and echoes paths.
async fn refusing_upgrades() -> Scripted {
    Scripted::start(|r| ok(r.path().as_bytes())).await
}

const UPGRADE: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";

#[tokio::test]
async fn after_an_upgrade_answered_without_101_every_request_is_still_checked() {
    let target = refusing_upgrades().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    let mut conn = Conn::open(port).await;
    conn.send(UPGRADE).await;
    assert_eq!(conn.response(false).await.text(), "/ws");
    // Still HTTP, and still strict: an ambiguous request is refused, not forwarded.
    conn.send(
        b"POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 400, "{r:?}");
    conn.expect_close().await;
    assert_eq!(lines_received(&target), ["GET /ws HTTP/1.1"]);

    // Requests pipelined behind the upgrade request are served as HTTP once it is refused.
    let mut conn = Conn::open(port).await;
    conn.send(&[UPGRADE, b"GET /behind HTTP/1.1\r\nHost: x\r\n\r\n"].concat())
        .await;
    assert_eq!(conn.response(false).await.text(), "/ws");
    assert_eq!(conn.response(false).await.text(), "/behind");
}

#[tokio::test]
async fn after_an_upgrade_answered_without_101_the_head_timeout_still_runs() {
    let target = refusing_upgrades().await;
    let (_burr, port) = burr_before(target.addr, "header_read_timeout_secs = 1", "");
    let mut conn = Conn::open(port).await;
    conn.send(UPGRADE).await;
    assert_eq!(conn.response(false).await.text(), "/ws");
    // A slowloris head: one byte at a time, never finished.
    let started = Instant::now();
    let trickle = async {
        for byte in b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle() {
            if conn.stream.try_write(&[*byte]).is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(4) {
                break;
            }
        }
    };
    trickle.await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 408, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(4), "not timed out");
}

#[tokio::test]
async fn a_response_whose_connection_names_its_framing_is_502_and_the_next_is_served() {
    let target = Scripted::start(|r| match r.path() {
        "/bad-length" => reply(
            b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"
                .to_vec(),
        ),
        "/bad-coding" => reply(
            b"HTTP/1.1 200 OK\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        ),
        path => ok(path.as_bytes()),
    })
    .await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        for bad in ["/bad-length", "/bad-coding"] {
            let r = conn.get(bad).await;
            // The fast path refuses it; hyper reads the body by its framing and burr re-frames
            // it (the nominated header is dropped): either way the client sees one framing.
            match path {
                "fast path" => assert_eq!(r.status, 502, "{path} {bad}"),
                _ => assert_eq!(
                    (r.status, r.text().as_str()),
                    (200, "hello"),
                    "{path} {bad}"
                ),
            }
            let next = conn.get("/next").await;
            assert_eq!(
                (next.status, next.text().as_str()),
                (200, "/next"),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn a_response_with_both_framings_is_relayed_chunked_without_length_and_never_reused() {
    let target = Scripted::start(|r| match r.path() {
        "/both" => reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        ),
        "/both-gzip" => vec![
            Step::Write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\nabcdef"
                    .to_vec(),
            ),
            Step::Close,
        ],
        path => ok(path.as_bytes()),
    })
    .await;
    let (_burr, port) = burr_before(target.addr, "", "");
    // A coding other than chunked beside a length: which one frames the body is a guess.
    let mut conn = Conn::open(port).await;
    assert_eq!(conn.get("/both-gzip").await.status, 502);
    let mut conn = Conn::open(port).await;
    let r = conn.get("/both").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_eq!(r.header("content-length"), None, "{r:?}");
    let next = conn.get("/next").await;
    assert_eq!(next.text(), "/next");
    // The ambiguous response's connection was not used again.
    assert_eq!(target.accepted(), 3);
}

#[tokio::test]
async fn an_invalid_chunked_response_before_any_byte_is_502() {
    let target = Scripted::start(|r| match r.path() {
        "/bad-chunk" => reply(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        ),
        path => ok(path.as_bytes()),
    })
    .await;
    let (_burr, port) = burr_before(target.addr, "", "");
    let mut conn = Conn::open(port).await;
    let r = conn.get("/bad-chunk").await;
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(conn.get("/next").await.text(), "/next");
}

#[tokio::test]
async fn a_flood_of_interim_responses_is_cut_at_100_with_a_502() {
    let target = Scripted::start(|r| match r.path() {
        "/flood" => reply(
            [
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".repeat(150),
                with_length("200 OK", "", b"late"),
            ]
            .concat(),
        ),
        "/hundred" => reply(
            [
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".repeat(100),
                with_length("200 OK", "", b"in time"),
            ]
            .concat(),
        ),
        path => ok(path.as_bytes()),
    })
    .await;
    let (_burr, port) = burr_before(target.addr, "", "");
    let mut conn = Conn::open(port).await;
    conn.send(&request("GET", "/hundred", "", b"")).await;
    for _ in 0..100 {
        assert_eq!(conn.response(false).await.status, 103);
    }
    assert_eq!(conn.response(false).await.text(), "in time");
    conn.send(&request("GET", "/flood", "", b"")).await;
    for _ in 0..100 {
        assert_eq!(conn.response(false).await.status, 103);
    }
    assert_eq!(conn.response(false).await.status, 502);
    assert_eq!(conn.get("/next").await.text(), "/next");
}

/// A request head of exactly `len` bytes (request line to the empty line).
fn head_of(len: usize, path: &str) -> Vec<u8> {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Pad: ").into_bytes();
    head.resize(len - 4, b'p');
    head.extend_from_slice(b"\r\n\r\n");
    head
}

#[tokio::test]
async fn max_header_bytes_is_exact_on_both_paths() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        conn.send(&head_of(65_536, "/exact")).await;
        let r = conn.response(false).await;
        assert_eq!((r.status, r.text().as_str()), (200, "/exact"), "{path}");
        conn.send(&head_of(65_537, "/over")).await;
        let r = conn.response(false).await;
        assert_eq!(r.status, 431, "{path}");
        conn.expect_close().await;
    }
    assert_eq!(lines_received(&target), vec!["GET /exact HTTP/1.1"; 2]);
}

#[tokio::test]
async fn a_malformed_chunked_request_body_gets_exactly_one_400() {
    let target = echo_paths().await;
    let (_burr, port) = burr_before(target.addr, "", "");
    let mut conn = Conn::open(port).await;
    conn.send(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let r = conn.response(false).await;
    assert_eq!(r.status, 400, "{r:?}");
    // One answer, then the connection closes: no second response, nothing smuggled.
    conn.expect_close().await;
    assert!(
        target.received().iter().all(|r| r.path() != "/smuggled"),
        "{:?}",
        target.received()
    );
}

#[tokio::test]
async fn a_targets_own_sticky_cookie_never_reaches_the_client_beside_burrs() {
    let target = Scripted::start(|_| {
        reply(with_length(
            "200 OK",
            "Set-Cookie: AWSALB=forged-by-the-target; Path=/\r\nSet-Cookie: app=1\r\n",
            b"ok",
        ))
    })
    .await;
    let (_burr, port) = burr_before(
        target.addr,
        "",
        "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 600\n",
    );
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        let r = conn.get("/page").await;
        let cookies = values(&r.headers, "set-cookie");
        let awsalb: Vec<_> = cookies
            .iter()
            .filter(|c| c.starts_with("AWSALB="))
            .collect();
        assert_eq!(awsalb.len(), 1, "{path}: {cookies:?}");
        assert!(!awsalb[0].contains("forged"), "{path}: {cookies:?}");
        assert!(cookies.contains(&"app=1"), "{path}: {cookies:?}");
    }
}
