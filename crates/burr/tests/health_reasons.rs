//! Health-check success codes (ELBv2 `Matcher.HttpCode`) and why a check failed: one pool whose
//! HTTP check accepts "200-399", over targets that answer 200, answer 302, answer 503, accept
//! and never answer, and refuse connections. The real binary's health states and recorded
//! failure reasons are read from its metrics.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A target answering every request with `status` and closing; `None`: accepting and never
/// answering (connections are held open until the test ends).
async fn fixed_target(status: Option<u16>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let Some(status) = status else {
                held.push(stream);
                continue;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn success_codes_decide_health_and_each_failure_records_its_reason() {
    let ok = fixed_target(Some(200)).await;
    let redirect = fixed_target(Some(302)).await;
    let unavailable = fixed_target(Some(503)).await;
    let hanging = fixed_target(None).await;
    let refusing: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let targets = [ok, redirect, unavailable, hanging, refusing];
    let port = free_port();
    let text = config(port, "round_robin", &targets.map(|t| (t, 1)), "", "").replace(
        "[pool.health_check]\nenabled = false",
        "[pool.health_check]\nprotocol = \"http\"\npath = \"/health\"\ninterval_secs = 5\n\
         timeout_secs = 2\nunhealthy_threshold = 2\nhealthy_threshold = 2\n\
         success_codes = \"200-399\"",
    );
    let burr = Burr::start(&text);

    // Healthy (1) and unhealthy (2) are each decided by two checks 5 s apart.
    let want = [1.0, 1.0, 2.0, 2.0, 2.0];
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = burr.metrics();
        let states: Vec<Option<f64>> = targets
            .iter()
            .map(|t| health_state_of(&metrics, *t))
            .collect();
        if states.iter().zip(want).all(|(s, w)| *s == Some(w)) {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "states {states:?}, want {want:?}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health_failure_of(&metrics, ok), None, "{metrics}");
    assert_eq!(health_failure_of(&metrics, redirect), None, "{metrics}");
    assert_eq!(
        health_failure_of(&metrics, unavailable).as_deref(),
        Some("reason=\"response_code_mismatch\",code=\"503\""),
        "{metrics}"
    );
    assert_eq!(
        health_failure_of(&metrics, hanging).as_deref(),
        Some("reason=\"timeout\""),
        "{metrics}"
    );
    assert_eq!(
        health_failure_of(&metrics, refusing).as_deref(),
        Some("reason=\"connection_failed\""),
        "{metrics}"
    );
    // Traffic reaches only the healthy ones (which answer everything 200 or 302).
    for _ in 0..6 {
        let status = get(port, "/").await.status;
        assert!(status == 200 || status == 302, "{status}");
    }
}

/// Without `success_codes`, only 200 passes, as on Classic ELB: a 302 is a mismatch.
#[tokio::test]
async fn by_default_only_200_is_healthy() {
    let redirect = fixed_target(Some(302)).await;
    let ok = fixed_target(Some(200)).await;
    let port = free_port();
    let text = config(port, "round_robin", &[(redirect, 1), (ok, 1)], "", "").replace(
        "[pool.health_check]\nenabled = false",
        "[pool.health_check]\nprotocol = \"http\"\npath = \"/\"\ninterval_secs = 5\n\
         timeout_secs = 2\nunhealthy_threshold = 2\nhealthy_threshold = 2",
    );
    let burr = Burr::start(&text);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = burr.metrics();
        if health_state_of(&metrics, redirect) == Some(2.0)
            && health_state_of(&metrics, ok) == Some(1.0)
        {
            assert_eq!(
                health_failure_of(&metrics, redirect).as_deref(),
                Some("reason=\"response_code_mismatch\",code=\"302\"")
            );
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
