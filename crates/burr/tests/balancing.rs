//! The algorithms observed through the proxy: each backend answers with its name, so the
//! distribution the client sees is the one burr chose.

mod common;

use common::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

async fn tally(port: u16, requests: usize) -> HashMap<String, usize> {
    let mut client = Client::connect(port).await;
    let mut counts = HashMap::new();
    for _ in 0..requests {
        let a = client.get("/", &[]).await;
        assert_eq!(a.status, 200);
        *counts.entry(a.backend()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn round_robin_is_exactly_even() {
    let (_b, _burr, port) = setup(3, "round_robin").await;
    let counts = tally(port, 30).await;
    assert_eq!(
        counts,
        HashMap::from([("b1".into(), 10), ("b2".into(), 10), ("b3".into(), 10)])
    );
}

#[tokio::test]
async fn weighted_round_robin_is_exactly_proportional() {
    let mut targets = Vec::new();
    let mut backends = Vec::new();
    for (i, w) in [(1, 3u32), (2, 2), (3, 1), (4, 0)] {
        let b = Backend::start(&format!("b{i}"), Behavior::default()).await;
        targets.push((b.addr, w));
        backends.push(b);
    }
    let port = free_port();
    let _burr = Burr::start(&config(port, "weighted_round_robin", &targets, "", ""));
    let counts = tally(port, 60).await;
    assert_eq!(
        counts,
        HashMap::from([("b1".into(), 30), ("b2".into(), 20), ("b3".into(), 10)])
    );
    assert_eq!(backends[3].hits(), 0);
}

/// 3,000 requests over weights 1:2; each count is binomial(3000, p). Bound: 5σ (the normal
/// tail beyond 5σ is < 6·10⁻⁷), about ±129 on the heavier target's 2,000.
#[tokio::test]
async fn random_follows_weights_within_binomial_bounds() {
    let a = Backend::start("light", Behavior::default()).await;
    let b = Backend::start("heavy", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(port, "random", &[(a.addr, 1), (b.addr, 2)], "", ""));
    let n = 3000usize;
    let counts = tally(port, n).await;
    let heavy = counts.get("heavy").copied().unwrap_or(0) as f64;
    let (mean, sigma) = (
        n as f64 * 2.0 / 3.0,
        (n as f64 * (2.0 / 3.0) * (1.0 / 3.0)).sqrt(),
    );
    assert!(
        (heavy - mean).abs() <= 5.0 * sigma,
        "heavy got {heavy}, expected {mean:.0} ± {:.0}",
        5.0 * sigma
    );
}

#[tokio::test]
async fn least_outstanding_requests_avoids_a_busy_target() {
    let slow = Backend::start(
        "slow",
        Behavior {
            delay: Duration::from_secs(3),
            ..Default::default()
        },
    )
    .await;
    let fast = Backend::start("fast", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "least_outstanding_requests",
        &[(slow.addr, 1), (fast.addr, 1)],
        "",
        "",
    ));
    // Occupy the slow target with requests that stay in flight.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::spawn(async move { get(port, "/hold").await }));
    }
    while slow.hits() + fast.hits() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fast_before = fast.hits();
    let counts = tally(port, 20).await;
    assert_eq!(counts.get("fast"), Some(&20), "{counts:?}");
    assert_eq!(fast.hits(), fast_before + 20);
    for h in held {
        let _ = h.await;
    }
}

/// Each client address (127.0.0.x) must stick to one target; 40 addresses over 3 targets must
/// use all three (the chance that a uniform hash leaves one unused is 3·(2/3)⁴⁰ < 10⁻⁶).
#[tokio::test]
async fn source_ip_hash_sticks_each_client_to_one_target() {
    let (_b, _burr, port) = setup(3, "source_ip_hash").await;
    let mut seen = HashMap::new();
    for last in 2..42u8 {
        let source: SocketAddr = format!("127.0.0.{last}:0").parse().unwrap();
        let mut names = Vec::new();
        for _ in 0..5 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(source).unwrap();
            let stream = socket
                .connect(format!("127.0.0.1:{port}").parse().unwrap())
                .await
                .unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let req = http::Request::get("/")
                .header("host", "t")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            names.push(
                collect(sender.send_request(req).await.unwrap())
                    .await
                    .backend(),
            );
        }
        assert!(
            names.iter().all(|n| *n == names[0]),
            "client 127.0.0.{last} moved: {names:?}"
        );
        *seen.entry(names[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[tokio::test]
async fn selections_are_counted_per_target() {
    let (_b, burr, port) = setup(2, "round_robin").await;
    tally(port, 10).await;
    let m = burr.metrics();
    let selections: f64 = m
        .lines()
        .filter(|l| l.starts_with("burr_selections_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(selections, 10.0, "{m}");
    assert_eq!(metric(&m, "burr_requests_total"), Some(10.0), "{m}");
    assert_eq!(
        metric(&m, "burr_responses_total{balancer=\"t\",port=\""),
        Some(0.0),
        "1xx first: {m}"
    );
    assert!(
        m.contains(&format!(
            "burr_responses_total{{balancer=\"t\",port=\"{port}\",class=\"2xx\"}} 10"
        )),
        "{m}"
    );
}
