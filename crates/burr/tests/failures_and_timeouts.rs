//! What clients see when targets fail or are slow, and how burr bounds slow clients: retries on
//! connect failure, 502, 503, 504, the request-head timeout (408) and the idle timeout.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// An address on which nothing listens (connections are refused at once).
fn dead_target() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}

/// A refusing target is retried on another, then left out for the passive-down window (10 s of
/// burr's clock, moved by the test with `--manual-clock`), then tried again once.
#[tokio::test]
async fn a_refusing_target_is_retried_on_another() {
    let live = Backend::start("live", Behavior::default()).await;
    let port = free_port();
    let burr = Burr::start_with_manual_clock(&config(
        port,
        "round_robin",
        &[(dead_target(), 1), (live.addr, 1)],
        "",
        "",
    ));
    for _ in 0..6 {
        let a = get(port, "/").await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.backend(), "live");
    }
    let m = burr.metrics();
    assert_eq!(
        metric(
            &m,
            "burr_pool_failures_total{pool=\"p\",reason=\"connect_failed\"}"
        ),
        Some(1.0),
        "{m}"
    );
    // After its refusal the dead target is skipped rather than tried again on every request.
    assert!(
        m.contains(&format!(
            "burr_target_healthy{{pool=\"p\",target=\"127.0.0.1:{}\"}} 1",
            live.addr.port()
        )),
        "{m}"
    );
    let connect_failures = |burr: &Burr| {
        metric(
            &burr.metrics(),
            "burr_pool_failures_total{pool=\"p\",reason=\"connect_failed\"}",
        )
    };
    // Still within the window: not tried.
    burr.advance_clock(Duration::from_secs(9));
    for _ in 0..6 {
        assert_eq!(get(port, "/").await.backend(), "live");
    }
    assert_eq!(connect_failures(&burr), Some(1.0));
    // The window over: tried once more (it still refuses), then left out again.
    burr.advance_clock(Duration::from_secs(2));
    for _ in 0..6 {
        assert_eq!(get(port, "/").await.backend(), "live");
    }
    assert_eq!(connect_failures(&burr), Some(2.0));
}

#[tokio::test]
async fn retries_are_bounded_and_then_502() {
    let port = free_port();
    let targets = [
        (dead_target(), 1),
        (dead_target(), 1),
        (dead_target(), 1),
        (dead_target(), 1),
    ];
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &targets,
        "",
        "[pool.upstream]\nretries = 1",
    ));
    let a = get(port, "/").await;
    assert_eq!(a.status, 502);
    assert!(a.body.contains("2 tried"), "{}", a.body);
    assert!(
        !a.body.contains("127.0.0.1"),
        "error bodies must not reveal target addresses: {}",
        a.body
    );
}

#[tokio::test]
async fn no_usable_target_is_503() {
    let backend = Backend::start("b", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(port, "round_robin", &[(backend.addr, 0)], "", ""));
    let a = get(port, "/").await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.body.contains("no healthy target"), "{}", a.body);
    assert_eq!(backend.hits(), 0, "weight 0 must receive nothing");

    let empty_port = free_port();
    let _empty = Burr::start(&config(empty_port, "round_robin", &[], "", ""));
    assert_eq!(get(empty_port, "/").await.status, 503);
}

#[tokio::test]
async fn a_slow_target_is_504_after_the_response_timeout() {
    let slow = Backend::start(
        "slow",
        Behavior {
            delay: Duration::from_secs(5),
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(slow.addr, 1)],
        "",
        "[pool.upstream]\nresponse_timeout_secs = 1",
    ));
    let started = Instant::now();
    let a = get(port, "/").await;
    let took = started.elapsed();
    assert_eq!(a.status, 504, "{}", a.body);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_slow_request_head_gets_408_and_close() {
    let backend = Backend::start("b", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "header_read_timeout_secs = 1",
        "",
    ));
    let started = Instant::now();
    // Half a head, then silence.
    let answer = raw(
        port,
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.ends_with("<EOF>"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(backend.hits(), 0);
}

#[tokio::test]
async fn the_idle_timeout_closes_quiet_connections_but_not_before() {
    let backend = Backend::start("b", Behavior::default()).await;
    let port = free_port();
    // The head timeout (1 s) is shorter than the idle timeout (3 s): an idle keep-alive
    // connection must live by the idle timeout, not die by the head timeout.
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "idle_timeout_secs = 3\nheader_read_timeout_secs = 1",
        "",
    ));
    let mut client = Client::connect(port).await;
    assert_eq!(client.get("/", &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(
        client.get("/", &[]).await.status,
        200,
        "closed before the idle timeout"
    );
    let quiet_since = Instant::now();
    while !client.is_closed() && quiet_since.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = quiet_since.elapsed();
    assert!(client.is_closed(), "idle connection never closed");
    assert!(
        closed_after >= Duration::from_millis(2900) && closed_after < Duration::from_secs(5),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn malformed_clients_never_crash_burr() {
    let (backends, mut burr, port) = setup(1, "round_robin").await;
    let garbage: [&[u8]; 7] = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
    ];
    for g in garbage {
        let answer = raw(port, g, Duration::from_secs(3)).await;
        // Refused (4xx, or an HTTP/2 GOAWAY) and closed; never forwarded, never a 5xx.
        let what = String::from_utf8_lossy(g);
        assert!(
            !answer.starts_with("HTTP/1.1 2") && !answer.starts_with("HTTP/1.1 5"),
            "{what:?}: {answer}"
        );
        assert!(
            answer.starts_with("HTTP/1.1 4") || answer.ends_with("<EOF>"),
            "{what:?}: {answer}"
        );
    }
    assert!(burr.is_running());
    assert_eq!(get(port, "/").await.status, 200);
    assert_eq!(backends[0].hits(), 1);
}
