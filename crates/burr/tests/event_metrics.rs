//! The metrics of events around requests, read from the real binary's `/metrics`: upstream
//! connect times (one observation per new upstream connection, whichever path opened it), TCP
//! relays by how they ended, client TLS handshakes by result on https and ssl listeners, health
//! checks by result with their times, and sticky-cookie token opens by outcome.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::Duration;

/// The sum of every sample of `name` whose labels contain `labels` (e.g. `result="ok"`).
fn sum_of(metrics: &str, name: &str, labels: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A listener's `burr_tls_handshakes_total` for `result`.
fn handshakes(metrics: &str, port: u16, result: &str) -> f64 {
    metric(
        metrics,
        &format!("burr_tls_handshakes_total{{balancer=\"t\",port=\"{port}\",result=\"{result}\"}}"),
    )
    .unwrap_or(-1.0)
}

#[tokio::test]
async fn the_connect_histogram_counts_each_new_upstream_connection_and_relays_count_their_end() {
    let a = Backend::start("a", Behavior::default()).await;
    let b = Backend::start("b", Behavior::default()).await;
    let (http_port, tcp_port) = (free_port(), free_port());
    let text = config(
        http_port,
        "round_robin",
        &[(a.addr, 1), (b.addr, 1)],
        "",
        "",
    )
    .replacen(
        "[[pool]]",
        &format!(
            "[[balancer.listener]]\nport = {tcp_port}\nprotocol = \"tcp\"\npool = \"p\"\n\
             idle_timeout_secs = 1\n\n[[pool]]"
        ),
        1,
    );
    let burr = Burr::start(&text);

    // The HTTP/1.1 fast path, keeping its upstream connections for reuse: four requests on
    // one client connection and two on fresh ones need at most two upstream connections.
    let mut client = Client::connect(http_port).await;
    for _ in 0..4 {
        assert_eq!(client.get("/", &[]).await.status, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(http_port, "/").await.status, 200);
    }
    // The general path (HTTP/1.0 goes to hyper), and a TCP relay, each opening its own.
    let answer = raw(
        http_port,
        b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let relayed = raw(
        tcp_port,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(relayed.starts_with("HTTP/1.1 200"), "{relayed}");
    // A relay whose client says nothing: it opens its upstream connection, then idles out.
    let silent = tokio::net::TcpStream::connect(("127.0.0.1", tcp_port))
        .await
        .unwrap();

    let opened = || {
        a.connections.load(std::sync::atomic::Ordering::SeqCst)
            + b.connections.load(std::sync::atomic::Ordering::SeqCst)
    };
    let mut metrics = String::new();
    let settled = eventually(Duration::from_secs(5), || {
        metrics = burr.metrics();
        let counted = sum_of(
            &metrics,
            "burr_target_connect_duration_seconds_count",
            "pool=\"p\"",
        );
        counted == opened() as f64
            && sum_of(&metrics, "burr_tcp_relays_total", "end=\"closed\"") == 1.0
            && sum_of(&metrics, "burr_tcp_relays_total", "end=\"idle_timeout\"") == 1.0
    })
    .await;
    assert!(
        settled,
        "{} upstream connections opened:\n{metrics}",
        opened()
    );
    drop(silent);
    // Two on the fast path at most, one for hyper, one per relay; fewer than requests.
    assert!((4..=5).contains(&opened()), "{}", opened());
    for target in [a.addr, b.addr] {
        let labels = format!("pool=\"p\",target=\"{target}\"");
        let count = sum_of(
            &metrics,
            "burr_target_connect_duration_seconds_count",
            &labels,
        );
        let inf = metric(
            &metrics,
            &format!("burr_target_connect_duration_seconds_bucket{{{labels},le=\"+Inf\"}}"),
        );
        assert_eq!(inf, Some(count), "{metrics}");
        let sum = sum_of(
            &metrics,
            "burr_target_connect_duration_seconds_sum",
            &labels,
        );
        assert_eq!(count > 0.0, sum > 0.0, "{metrics}");
    }
    for end in ["target_retired", "no_target"] {
        assert_eq!(
            sum_of(&metrics, "burr_tcp_relays_total", &format!("end=\"{end}\"")),
            0.0,
            "{metrics}"
        );
    }
    assert_eq!(sum_of(&metrics, "burr_target_tls_failures_total", ""), 0.0);
}

#[tokio::test]
async fn client_tls_handshakes_count_ok_failed_and_timeout_on_https_and_ssl_listeners() {
    let backend = Backend::start("a", Behavior::default()).await;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(certs.path());
    let tls = format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}");
    let (https, ssl) = (free_port(), free_port());
    let text = config(https, "round_robin", &[(backend.addr, 1)], &tls, "")
        .replacen("protocol = \"http\"", "protocol = \"https\"", 1)
        .replacen(
            "[[pool]]",
            &format!(
                "[[balancer.listener]]\nport = {ssl}\nprotocol = \"ssl\"\npool = \"p\"\n{tls}\n\
                 header_read_timeout_secs = 1\n\n[[pool]]"
            ),
            1,
        );
    let burr = Burr::start(&text);

    // https: one good handshake (and a request over it), one client speaking plain HTTP.
    let stream = tls_connect_trusting(https, &trusted, &[b"http/1.1"]).await;
    drop(stream);
    let plain = raw(
        https,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");
    // ssl: one good handshake, one client that says nothing past the listener's 1 s.
    drop(tls_connect_trusting(ssl, &trusted, &[]).await);
    let silent = tokio::net::TcpStream::connect(("127.0.0.1", ssl))
        .await
        .unwrap();

    let want = [
        (https, "ok", 1.0),
        (https, "failed", 1.0),
        (https, "timeout", 0.0),
        (ssl, "ok", 1.0),
        (ssl, "failed", 0.0),
        (ssl, "timeout", 1.0),
    ];
    let mut metrics = String::new();
    let counted = eventually(Duration::from_secs(5), || {
        metrics = burr.metrics();
        want.iter()
            .all(|(port, result, n)| handshakes(&metrics, *port, result) == *n)
    })
    .await;
    assert!(counted, "{metrics}");
    drop(silent);
    // Only successful handshakes are timed, and a handshake takes some time.
    for port in [https, ssl] {
        let series = |part: &str| {
            let labels = format!("balancer=\"t\",port=\"{port}\"");
            metric(
                &metrics,
                &format!("burr_tls_handshake_duration_seconds_{part}{{{labels}}}"),
            )
        };
        assert_eq!(series("count"), Some(1.0), "{metrics}");
        assert!(series("sum").is_some_and(|s| s > 0.0), "{metrics}");
    }
}

#[tokio::test]
async fn health_checks_count_each_result_and_time_every_check() {
    let healthy = Backend::start("ok", Behavior::default()).await;
    let failing = Behavior::default();
    failing
        .unhealthy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mismatch = Backend::start("503", failing).await;
    let refusing: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let port = free_port();
    let targets = [(healthy.addr, 1), (mismatch.addr, 1), (refusing, 1)];
    // The first check runs as soon as burr starts; the next only 5 s later.
    let text = config(port, "round_robin", &targets, "", "").replace(
        "[pool.health_check]\nenabled = false",
        "[pool.health_check]\nprotocol = \"http\"\npath = \"/health\"\ninterval_secs = 5\n\
         timeout_secs = 2\nunhealthy_threshold = 2\nhealthy_threshold = 2",
    );
    let burr = Burr::start(&text);
    let checks = |metrics: &str, target: SocketAddr, result: &str| {
        sum_of(
            metrics,
            "burr_health_checks_total",
            &format!("target=\"{target}\",result=\"{result}\""),
        )
    };
    let mut metrics = String::new();
    let counted = eventually(Duration::from_secs(4), || {
        metrics = burr.metrics();
        let all = sum_of(&metrics, "burr_health_checks_total", "pool=\"p\"");
        checks(&metrics, healthy.addr, "healthy") >= 1.0
            && checks(&metrics, mismatch.addr, "response_code_mismatch") >= 1.0
            && checks(&metrics, refusing, "connection_failed") >= 1.0
            && metric(
                &metrics,
                "burr_health_check_duration_seconds_count{pool=\"p\"}",
            ) == Some(all)
    })
    .await;
    assert!(counted, "{metrics}");
    // Each target's checks all have the one result it deserves.
    for (target, result) in [
        (healthy.addr, "healthy"),
        (mismatch.addr, "response_code_mismatch"),
        (refusing, "connection_failed"),
    ] {
        let labels = format!("target=\"{target}\"");
        assert_eq!(
            sum_of(&metrics, "burr_health_checks_total", &labels),
            checks(&metrics, target, result),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn token_opens_count_good_tampered_and_malformed_cookies() {
    let (_b, burr, port) = setup_with(
        2,
        "round_robin",
        "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 600\n",
    )
    .await;
    let first = get(port, "/").await;
    let cookie = first
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("AWSALB="))
        .expect("AWSALB set")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut forged = cookie.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let mut client = Client::connect(port).await;
    for sent in [cookie.as_str(), &cookie, &forged, "AWSALB=not-a-token"] {
        assert_eq!(client.get("/", &[("cookie", sent)]).await.status, 200);
    }
    let metrics = burr.metrics();
    let opens = |outcome: &str| {
        metric(
            &metrics,
            &format!("burr_token_opens_total{{pool=\"p\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(opens("ok"), Some(2.0), "{metrics}");
    assert_eq!(opens("tampered"), Some(1.0), "{metrics}");
    assert_eq!(opens("malformed"), Some(1.0), "{metrics}");
    // The first request had no cookie: nothing to open.
    assert_eq!(
        sum_of(&metrics, "burr_token_opens_total", ""),
        4.0,
        "{metrics}"
    );
}

/// A pool told to speak TLS to a target that answers in plain HTTP: each failed upstream
/// handshake is counted on the target, and no opening is timed.
#[tokio::test]
async fn a_failed_upstream_tls_handshake_is_counted_and_not_timed() {
    let plain = Backend::start("plain", Behavior::default()).await;
    let port = free_port();
    let burr = Burr::start(&config(
        port,
        "round_robin",
        &[(plain.addr, 1)],
        "instance_protocol = \"https\"",
        "",
    ));
    let status = get(port, "/").await.status;
    assert!(status >= 500, "{status}");
    let metrics = burr.metrics();
    let labels = format!("pool=\"p\",target=\"{}\"", plain.addr);
    assert_eq!(
        metric(
            &metrics,
            &format!("burr_target_tls_failures_total{{{labels}}}")
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sum_of(
            &metrics,
            "burr_target_connect_duration_seconds_count",
            &labels
        ),
        0.0,
        "{metrics}"
    );
}
