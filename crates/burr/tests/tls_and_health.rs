//! HTTPS listeners (TLS termination with h2 and HTTP/1.1 chosen by ALPN) and active health
//! checks steering traffic away from a failing target and back.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn https_listener_serves_h2_and_http1_by_alpn() {
    let backend = Backend::start("b", Behavior::default()).await;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(certs.path());
    let port = free_port();
    let text = config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        &format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}"),
        "",
    )
    .replace("protocol = \"http\"", "protocol = \"https\"");
    let _burr = Burr::start(&text);

    let h2 = tls_connect_trusting(port, &trusted, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut sender = h2_over(h2).await;
    let req = http::Request::get(format!("https://localhost:{port}/over-h2"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let a = collect(sender.send_request(req).await.unwrap()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.seen("x-forwarded-proto"), ["https"]);
    assert_eq!(a.seen("host"), [format!("localhost:{port}")]);

    let h1 = tls_connect_trusting(port, &trusted, &[b"http/1.1"]).await;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(h1))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("/over-h1")
        .header("host", "localhost")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let a = collect(sender.send_request(req).await.unwrap()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["path"], "/over-h1");
    assert_eq!(a.seen("x-forwarded-proto"), ["https"]);
}

fn healthy_gauge(burr: &Burr, target: std::net::SocketAddr) -> Option<f64> {
    metric(
        &burr.metrics(),
        &format!("burr_target_healthy{{pool=\"p\",target=\"{target}\"}}"),
    )
}

async fn wait_for_gauge(burr: &Burr, target: std::net::SocketAddr, want: f64) {
    // Two probes 5 s apart decide a transition; allow three intervals.
    let deadline = Instant::now() + Duration::from_secs(16);
    while healthy_gauge(burr, target) != Some(want) {
        assert!(
            Instant::now() < deadline,
            "target {target} never reached healthy={want}:\n{}",
            burr.metrics()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET /health` answering 503 twice takes a target out of rotation; answering 200 twice
/// brings it back (thresholds 2, interval 5 s, the minimum allowed).
#[tokio::test]
async fn health_checks_take_a_failing_target_out_and_bring_it_back() {
    let steady = Backend::start("steady", Behavior::default()).await;
    let flaky_behavior = Behavior::default();
    let flaky_switch = flaky_behavior.unhealthy.clone();
    let flaky = Backend::start("flaky", flaky_behavior).await;
    let port = free_port();
    let text = config(port, "round_robin", &[(steady.addr, 1), (flaky.addr, 1)], "", "").replace(
        "[pool.health_check]\nenabled = false",
        "[pool.health_check]\nprotocol = \"http\"\npath = \"/health\"\ninterval_secs = 5\ntimeout_secs = 2\nunhealthy_threshold = 2\nhealthy_threshold = 2",
    );
    let burr = Burr::start(&text);
    assert_eq!(healthy_gauge(&burr, flaky.addr), Some(1.0));

    flaky_switch.store(true, std::sync::atomic::Ordering::SeqCst);
    wait_for_gauge(&burr, flaky.addr, 0.0).await;
    let before = flaky.hits();
    for _ in 0..10 {
        assert_eq!(get(port, "/").await.backend(), "steady");
    }
    assert_eq!(flaky.hits(), before, "an unhealthy target received traffic");

    flaky_switch.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for_gauge(&burr, flaky.addr, 1.0).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(get(port, "/").await.backend());
    }
    assert!(names.contains(&"flaky".to_string()), "{names:?}");
}
