//! Crash safety under load, through the real binary and its real SQLite store: 20 rounds of
//! `kill -9` while several clients write through the AWS API at once. After every restart,
//! every acknowledged write is there, and a target that was draining before the first kill
//! still drains to the same deadline: its sticky session is honoured, the deadline burr shows
//! is the stored one, and at the end the session moves exactly when the deadline passes.
//!
//! burr runs with `--manual-clock` so the end of the drain is found by moving its clock, not by
//! waiting 300 s; its clock starts at the wall clock on every start, so a restart sees the
//! deadline with the time that really passed taken off.

mod common;

use common::api::{api_call, api_credentials};
use common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;
const WRITERS: usize = 4;
/// The drain (`ConnectionDraining.Timeout`), seconds.
const DRAIN: u64 = 300;

/// `(status, body)` of `action`, which must succeed.
fn call(burr: &Burr, action: &str, params: &[(&str, &str)]) -> String {
    let (status, body) = api_call(burr.api, &api_credentials(burr), action, params)
        .unwrap_or_else(|| panic!("{action}: no answer: {}", burr.stderr_text()));
    assert_eq!(status, 200, "{action}: {body}");
    body
}

/// The value of tag `key` of balancer `web`, as the running burr describes it.
fn tag(burr: &Burr, key: &str) -> Option<u64> {
    let body = call(
        burr,
        "DescribeTags",
        &[("LoadBalancerNames.member.1", "web")],
    );
    let at = body.find(&format!("<Key>{key}</Key>"))?;
    let rest = &body[at..];
    let value = &rest[rest.find("<Value>")? + 7..];
    value[..value.find("</Value>")?].parse().ok()
}

/// The `AWSELB` cookie (`name=value`) of an answer.
fn session_cookie(a: &Answer) -> String {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("AWSELB="))
        .and_then(|v| v.split(';').next())
        .expect("an AWSELB cookie")
        .to_string()
}

/// The drain deadline burr shows for `target` of the listener on `port` (pool `web-<port>`).
fn drain_deadline(burr: &Burr, port: u16, target: SocketAddr) -> Option<u64> {
    metric(
        &burr.metrics(),
        &format!("burr_target_drain_deadline_seconds{{pool=\"web-{port}\",target=\"{target}\"}}"),
    )
    .map(|v| v as u64)
}

/// One writer's progress: the last value burr acknowledged, and the last one it sent.
#[derive(Default)]
struct Progress {
    acknowledged: AtomicU64,
    sent: AtomicU64,
    acknowledged_writes: AtomicU64,
}

/// Writes tag `w<i>` = 1, 2, 3, … (one `AddTags` at a time) until a write gets no answer.
fn write_until_killed(
    api: SocketAddr,
    credentials: burr_api::sigv4::Credentials,
    key: String,
    progress: Arc<Progress>,
) {
    loop {
        let next = progress.sent.load(Ordering::SeqCst) + 1;
        progress.sent.store(next, Ordering::SeqCst);
        let value = next.to_string();
        let answer = api_call(
            api,
            &credentials,
            "AddTags",
            &[
                ("LoadBalancerNames.member.1", "web"),
                ("Tags.member.1.Key", &key),
                ("Tags.member.1.Value", &value),
            ],
        );
        match answer {
            Some((200, _)) => {
                progress.acknowledged.store(next, Ordering::SeqCst);
                progress.acknowledged_writes.fetch_add(1, Ordering::SeqCst);
            }
            Some((status, body)) => panic!("AddTags {key}={value}: {status} {body}"),
            None => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_and_a_drain_deadline_survive_20_kill_9_rounds() {
    let started = Instant::now();
    let b1 = Backend::start("b1", Behavior::default()).await;
    let b2 = Backend::start("b2", Behavior::default()).await;
    let port = free_port();
    let mut burr = Burr::try_start("", &["--manual-clock"]).unwrap();
    let port_text = port.to_string();
    call(
        &burr,
        "CreateLoadBalancer",
        &[
            ("LoadBalancerName", "web"),
            ("Listeners.member.1.Protocol", "HTTP"),
            ("Listeners.member.1.LoadBalancerPort", &port_text),
            ("Listeners.member.1.InstancePort", "80"),
            ("AvailabilityZones.member.1", "us-east-1a"),
        ],
    );
    let (id1, id2) = (b1.addr.to_string(), b2.addr.to_string());
    call(
        &burr,
        "RegisterInstancesWithLoadBalancer",
        &[
            ("LoadBalancerName", "web"),
            ("Instances.member.1.InstanceId", &id1),
            ("Instances.member.2.InstanceId", &id2),
        ],
    );
    call(
        &burr,
        "CreateLBCookieStickinessPolicy",
        &[
            ("LoadBalancerName", "web"),
            ("PolicyName", "sticky"),
            ("CookieExpirationPeriod", "3600"),
        ],
    );
    call(
        &burr,
        "SetLoadBalancerPoliciesOfListener",
        &[
            ("LoadBalancerName", "web"),
            ("LoadBalancerPort", &port_text),
            ("PolicyNames.member.1", "sticky"),
        ],
    );
    let drain = DRAIN.to_string();
    call(
        &burr,
        "ModifyLoadBalancerAttributes",
        &[
            ("LoadBalancerName", "web"),
            ("LoadBalancerAttributes.ConnectionDraining.Enabled", "true"),
            ("LoadBalancerAttributes.ConnectionDraining.Timeout", &drain),
        ],
    );

    // A session pinned to one target, which is then deregistered: it drains for DRAIN s.
    let first = get(port, "/").await;
    let cookie = session_cookie(&first);
    let (drained, drained_addr) = if first.backend() == "b1" {
        ("b1", b1.addr)
    } else {
        ("b2", b2.addr)
    };
    let before = burr.clock_now();
    call(
        &burr,
        "DeregisterInstancesFromLoadBalancer",
        &[
            ("LoadBalancerName", "web"),
            ("Instances.member.1.InstanceId", &drained_addr.to_string()),
        ],
    );
    let after = burr.clock_now();
    let window = (before + DRAIN, after + DRAIN);
    let stored = drain_deadline(&burr, port, drained_addr).expect("the drain is shown");
    assert!(
        (window.0..=window.1).contains(&stored),
        "{stored} vs {window:?}"
    );

    let progress: Vec<Arc<Progress>> = (0..WRITERS).map(|_| Arc::default()).collect();
    for round in 0..ROUNDS {
        let credentials = api_credentials(&burr);
        let writers: Vec<_> = progress
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (api, credentials, p) = (burr.api, credentials.clone(), p.clone());
                std::thread::spawn(move || write_until_killed(api, credentials, format!("w{i}"), p))
            })
            .collect();
        // Kill at a different moment of the writes each round: 40 to 230 ms in.
        std::thread::sleep(Duration::from_millis(40 + (round as u64 * 67) % 191));
        burr.kill();
        for w in writers {
            w.join().unwrap();
        }
        burr.restart();
        for (i, p) in progress.iter().enumerate() {
            let (acknowledged, sent) = (
                p.acknowledged.load(Ordering::SeqCst),
                p.sent.load(Ordering::SeqCst),
            );
            let found = tag(&burr, &format!("w{i}")).unwrap_or(0);
            // Every acknowledged value is there; the one in flight at the kill may or may not be.
            assert!(
                (acknowledged..=sent).contains(&found),
                "round {round}: w{i} = {found}, acknowledged {acknowledged}, sent {sent}"
            );
            p.sent.store(found, Ordering::SeqCst);
            p.acknowledged.store(found, Ordering::SeqCst);
        }
        assert_eq!(
            drain_deadline(&burr, port, drained_addr),
            Some(stored),
            "round {round}: the drain deadline changed"
        );
        let a = Client::connect(port)
            .await
            .get("/", &[("cookie", &cookie)])
            .await;
        assert_eq!(a.backend(), drained, "round {round}: the drain is honoured");
    }
    let acknowledged: u64 = progress
        .iter()
        .map(|p| p.acknowledged_writes.load(Ordering::SeqCst))
        .sum();
    assert!(
        acknowledged >= ROUNDS as u64,
        "only {acknowledged} writes were acknowledged"
    );

    // What is left of the drain: expected from the stored deadline, measured by moving burr's
    // clock to one second before it, then a second at a time until the session moves.
    let now = burr.clock_now();
    let expected_remaining = stored - now;
    let mut advanced = expected_remaining - 1;
    burr.advance_clock(Duration::from_secs(advanced));
    let mut client = Client::connect(port).await;
    assert_eq!(
        client.get("/", &[("cookie", &cookie)]).await.backend(),
        drained,
        "honoured until a second before the deadline"
    );
    loop {
        burr.advance_clock(Duration::from_secs(1));
        advanced += 1;
        if client.get("/", &[("cookie", &cookie)]).await.backend() != drained {
            break;
        }
        assert!(
            advanced <= expected_remaining + 1,
            "still honoured after the deadline"
        );
    }
    let measured_remaining = advanced;
    assert!(
        measured_remaining.abs_diff(expected_remaining) <= 1,
        "remaining {measured_remaining} s, expected {expected_remaining} s"
    );
    eprintln!(
        "crash safety: {ROUNDS} kill -9 rounds, {acknowledged} acknowledged writes, 0 lost; \
         drain deadline after the restarts: {} s after the change (window {window:?}, stored \
         {stored}); remaining expected {expected_remaining} s, measured {measured_remaining} s; \
         {:.1} s in all",
        DRAIN,
        started.elapsed().as_secs_f64()
    );
}
