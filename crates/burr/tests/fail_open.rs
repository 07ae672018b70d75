//! Fail-open routing (ALB/NLB `unhealthy_state_routing.minimum_healthy_targets`): a pool with
//! too few healthy targets routes to all of them, sticky sessions included; a pool without the
//! rule (Classic ELB, plain TOML) still answers 503 when none is healthy.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Three backends, those of `sick` failing `GET /health` from the start, behind a pool checked
/// every 5 s (thresholds 2) with `extra_pool` added to its table.
async fn setup_checked(sick: &[bool], extra_pool: &str) -> (Vec<Backend>, Burr, u16) {
    let mut backends = Vec::new();
    for (i, sick) in sick.iter().enumerate() {
        let behavior = Behavior::default();
        behavior.unhealthy.store(*sick, Ordering::SeqCst);
        backends.push(Backend::start(&format!("b{}", i + 1), behavior).await);
    }
    let port = free_port();
    let targets: Vec<_> = backends.iter().map(|b| (b.addr, 1)).collect();
    let text = config(port, "round_robin", &targets, "", extra_pool).replace(
        "[pool.health_check]\nenabled = false",
        "[pool.health_check]\nprotocol = \"http\"\npath = \"/health\"\ninterval_secs = 5\n\
         timeout_secs = 2\nunhealthy_threshold = 2\nhealthy_threshold = 2",
    );
    (backends, Burr::start(&text), port)
}

/// Waits until every backend of `sick` is marked unhealthy by the checks (two probes 5 s
/// apart; three intervals allowed).
async fn wait_unhealthy(burr: &Burr, backends: &[Backend], sick: &[bool]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = burr.metrics();
        let done = backends.iter().zip(sick).all(|(b, &sick)| {
            let state = metric(
                &text,
                &format!(
                    "burr_target_health_state{{pool=\"p\",target=\"{}\"}}",
                    b.addr
                ),
            );
            !sick || state == Some(2.0)
        });
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "targets never turned unhealthy:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Which backends answer `n` fresh requests, by name.
async fn spread(port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let answer = get(port, "/").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        *seen.entry(answer.backend()).or_insert(0) += 1;
    }
    seen
}

#[tokio::test]
async fn a_pool_whose_targets_all_fail_their_checks_serves_from_all_of_them() {
    let sick = [true, true, true];
    let (backends, burr, port) = setup_checked(
        &sick,
        "[pool.fail_open]\n\n[pool.stickiness]\ntype = \"lb_cookie\"\nduration_secs = 600",
    )
    .await;
    wait_unhealthy(&burr, &backends, &sick).await;
    assert_eq!(
        metric(&burr.metrics(), "burr_pool_failing_open{pool=\"p\"}"),
        Some(1.0)
    );
    let seen = spread(port, 9).await;
    assert_eq!(seen.len(), 3, "round robin over all three: {seen:?}");

    // A sticky session on an unhealthy target stays there while the pool fails open.
    let mut client = Client::connect(port).await;
    let first = client.get("/", &[]).await;
    let cookie = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(cookie.starts_with("AWSALB="), "{cookie}");
    for _ in 0..6 {
        let again = client.get("/", &[("cookie", &cookie)]).await;
        assert_eq!(again.backend(), first.backend(), "the session moved");
    }
}

#[tokio::test]
async fn with_two_required_and_one_healthy_all_three_serve() {
    let sick = [false, true, true];
    let (backends, burr, port) =
        setup_checked(&sick, "[pool.fail_open]\nmin_healthy_count = 2").await;
    wait_unhealthy(&burr, &backends, &sick).await;
    let seen = spread(port, 9).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        metric(&burr.metrics(), "burr_pool_failing_open{pool=\"p\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_pool_without_the_rule_answers_503_when_no_target_is_healthy() {
    let sick = [true, true];
    let (backends, burr, port) = setup_checked(&sick, "").await;
    wait_unhealthy(&burr, &backends, &sick).await;
    for _ in 0..3 {
        assert_eq!(get(port, "/").await.status, 503);
    }
    assert!(!burr.metrics().contains("burr_pool_failing_open{"));
    // With one target of two healthy, the default rule (one required) does not fail open.
    let sick = [false, true];
    let (backends, burr, port) = setup_checked(&sick, "[pool.fail_open]").await;
    wait_unhealthy(&burr, &backends, &sick).await;
    let seen = spread(port, 6).await;
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["b1"], "{seen:?}");
    assert_eq!(
        metric(&burr.metrics(), "burr_pool_failing_open{pool=\"p\"}"),
        Some(0.0)
    );
}
