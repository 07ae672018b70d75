//! Sticky sessions through the real binary: each cookie mode against real targets, tampered
//! tokens, failover that stays on the new target, strict pools, draining, and cookies that
//! survive a restart of burr.
//!
//! Rules about time (the passive-down window after a refused connect, fail-back once it ends,
//! drain deadlines, across a restart too) run burr with `--manual-clock` and move its clock
//! through the admin endpoint, so they neither sleep nor depend on the machine's speed.

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

/// How long a target that refused a connection is left out (burr's `PASSIVE_DOWN_MS`).
const PASSIVE_DOWN: Duration = Duration::from_secs(10);

/// Starts `n` backends and burr with `--manual-clock` in front of them.
async fn setup_manual_clock(n: usize, extra_pool: &str) -> (Vec<Backend>, Burr, u16) {
    let b = backends(n, Behavior::default()).await;
    let port = free_port();
    let burr =
        Burr::start_with_manual_clock(&config(port, "round_robin", &targets(&b), "", extra_pool));
    (b, burr, port)
}

/// The `name=value` of cookie `name` among the response's `Set-Cookie` headers.
fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Just `name=value` of a `Set-Cookie` line.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn backends(n: usize, behavior: Behavior) -> Vec<Backend> {
    let mut all = Vec::new();
    for i in 1..=n {
        all.push(Backend::start(&format!("b{i}"), behavior.clone()).await);
    }
    all
}

fn targets(backends: &[Backend]) -> Vec<(SocketAddr, u32)> {
    backends.iter().map(|b| (b.addr, 1)).collect()
}

const ALB_LB_COOKIE: &str =
    "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 600\n";

async fn spread(port: u16, requests: usize, cookie: Option<&str>) -> HashMap<String, usize> {
    let mut client = Client::connect(port).await;
    let mut counts = HashMap::new();
    for _ in 0..requests {
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", *c)).collect();
        let a = client.get("/", &headers).await;
        assert_eq!(a.status, 200, "{}", a.body);
        *counts.entry(a.backend()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn alb_lb_cookie_pins_a_client_and_hides_the_target() {
    let (b, burr, port) = setup_with(3, "round_robin", ALB_LB_COOKIE).await;

    let first = get(port, "/").await;
    let alb = set_cookie(&first, "AWSALB").expect("AWSALB set");
    let cors = set_cookie(&first, "AWSALBCORS").expect("AWSALBCORS set");
    assert!(
        alb.contains("; Expires=") && alb.contains("; Path=/"),
        "{alb}"
    );
    assert!(cors.ends_with("; SameSite=None; Secure"), "{cors}");
    for backend in &b {
        for needle in [backend.addr.to_string(), backend.addr.port().to_string()] {
            assert!(!alb.contains(&needle), "the cookie reveals {needle}: {alb}");
        }
    }
    let pinned = first.backend();

    // 100 requests with the cookie land on one target; burr's cookie does not reach it, the
    // application's does.
    let cookie = format!("app=1; {}", pair(&alb));
    let mut client = Client::connect(port).await;
    for _ in 0..100 {
        let a = client.get("/", &[("cookie", &cookie)]).await;
        assert_eq!(a.backend(), pinned);
        assert_eq!(a.seen("cookie"), ["app=1"]);
        assert!(
            set_cookie(&a, "AWSALB").is_some(),
            "ALB renews on every response"
        );
    }
    // Only burr's cookie: no Cookie header reaches the target; a nameless cookie survives.
    let a = client.get("/", &[("cookie", &pair(&alb))]).await;
    assert_eq!(a.backend(), pinned);
    assert!(a.seen("cookie").is_empty(), "{:?}", a.seen("cookie"));
    let a = client
        .get("/", &[("cookie", &format!("bare; {}", pair(&alb)))])
        .await;
    assert_eq!(a.seen("cookie"), ["bare"]);
    // Without it: the algorithm's spread (round robin: exactly even).
    let counts = spread(port, 30, None).await;
    assert_eq!(
        counts.values().copied().collect::<HashSet<_>>(),
        HashSet::from([10])
    );
    let metrics = burr.metrics();
    assert!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"hit\"}"
        )
        .unwrap()
            >= 100.0
    );
    // Live sessions: the pinned client's plus the 30 cookieless requests, each of which began
    // a session (10 per target). Linear counting at n ≈ 11 of 1024 registers: σ ≈ 0.25.
    for backend in &b {
        let expected = if backend.name == pinned { 11.0 } else { 10.0 };
        let live = sticky_sessions(&metrics, backend.addr);
        assert!((live - expected).abs() <= 1.0, "{}: {live}", backend.name);
    }
}

/// The `burr_target_sticky_sessions` gauge of pool `p`'s target at `addr`.
fn sticky_sessions(metrics: &str, addr: SocketAddr) -> f64 {
    metric(
        metrics,
        &format!("burr_target_sticky_sessions{{pool=\"p\",target=\"{addr}\"}}"),
    )
    .unwrap_or_else(|| panic!("no session gauge for {addr}"))
}

#[tokio::test]
async fn tampered_and_expired_tokens_are_repinned_with_a_fresh_cookie() {
    let (b, burr, port) = setup_with(2, "round_robin", ALB_LB_COOKIE).await;
    let first = get(port, "/").await;
    let alb = pair(&set_cookie(&first, "AWSALB").unwrap());
    let mut forged = alb.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let mut client = Client::connect(port).await;
    let a = client.get("/", &[("cookie", &forged)]).await;
    assert_eq!(a.status, 200);
    let fresh = set_cookie(&a, "AWSALB").expect("a fresh cookie");
    assert_ne!(pair(&fresh), forged);
    let metrics = burr.metrics();
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"tampered\"}"
        ),
        Some(1.0)
    );
    // A policy change (another duration) retires earlier tokens: counted as expired.
    burr.reload(&config(
        port,
        "round_robin",
        &targets(&b),
        "",
        &ALB_LB_COOKIE.replace("600", "900"),
    ));
    let a = client.get("/", &[("cookie", &alb)]).await;
    assert!(set_cookie(&a, "AWSALB").is_some());
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"expired\"}"
        ),
        Some(1.0)
    );
}

/// Without fail-back, a session re-pinned off a down target stays where it went, even once the
/// old target is back and available again (the clock moved past its passive-down window, and
/// new sessions reach it).
#[tokio::test]
async fn failover_repins_and_stays_on_the_new_target_after_the_old_one_returns() {
    let (b, burr, port) = setup_manual_clock(3, ALB_LB_COOKIE).await;
    let first = get(port, "/").await;
    let cookie = pair(&set_cookie(&first, "AWSALB").unwrap());
    let old = b.iter().find(|x| x.name == first.backend()).unwrap();
    old.stop().await;

    let moved = Client::connect(port)
        .await
        .get("/", &[("cookie", &cookie)])
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_ne!(moved.backend(), old.name);
    let new_cookie = pair(&set_cookie(&moved, "AWSALB").unwrap());
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"target_down\"}"
        ),
        Some(1.0)
    );

    // The old target comes back on its address and its passive-down window ends: it is
    // available again (new sessions reach it), yet the session stays on the new one.
    let _back = Backend::start_at(&old.name, Behavior::default(), old.addr).await;
    burr.advance_clock(PASSIVE_DOWN + Duration::from_secs(1));
    let fresh = spread(port, 30, None).await;
    assert_eq!(
        fresh.get(&old.name),
        Some(&10),
        "back in service: {fresh:?}"
    );
    let mut client = Client::connect(port).await;
    for _ in 0..20 {
        let a = client.get("/", &[("cookie", &new_cookie)]).await;
        assert_eq!(a.backend(), moved.backend());
    }
    let metrics = burr.metrics();
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"fail_back\"}"
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn strict_pools_answer_503_instead_of_repinning() {
    let strict = format!("{ALB_LB_COOKIE}on_target_down = \"strict\"\n");
    let (b, burr, port) = setup_with(2, "round_robin", &strict).await;
    let first = get(port, "/").await;
    let cookie = pair(&set_cookie(&first, "AWSALB").unwrap());
    let home = b.iter().find(|x| x.name == first.backend()).unwrap();
    home.stop().await;
    for _ in 0..3 {
        let a = Client::connect(port)
            .await
            .get("/", &[("cookie", &cookie)])
            .await;
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.body.contains("session"), "{}", a.body);
        assert!(
            set_cookie(&a, "AWSALB").is_none(),
            "the session is kept, not re-pinned"
        );
    }
    // Clients without a session are still served.
    assert_eq!(get(port, "/").await.status, 200);
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"strict_503\"}"
        ),
        Some(3.0)
    );
}

/// fail_back: re-pinned while the first target is down, back to it once it is available again.
/// Health checks are off, so the passive-down mark (10 s after a refused connect) is what
/// keeps it out: the session stays away while the mark lasts, even though the target answers
/// again, and returns once burr's clock has moved past it.
#[tokio::test]
async fn fail_back_returns_the_session_to_its_first_target() {
    let fail_back = format!("{ALB_LB_COOKIE}fail_back = true\n");
    let (b, burr, port) = setup_manual_clock(2, &fail_back).await;
    let first = get(port, "/").await;
    let cookie = pair(&set_cookie(&first, "AWSALB").unwrap());
    let home = b.iter().find(|x| x.name == first.backend()).unwrap();
    home.stop().await;
    let moved = Client::connect(port)
        .await
        .get("/", &[("cookie", &cookie)])
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_ne!(moved.backend(), home.name);
    let moved_cookie = pair(&set_cookie(&moved, "AWSALB").unwrap());
    let _home_again = Backend::start_at(&home.name, Behavior::default(), home.addr).await;
    // Within the passive-down window: still away from home.
    burr.advance_clock(PASSIVE_DOWN - Duration::from_secs(1));
    let away = Client::connect(port)
        .await
        .get("/", &[("cookie", &moved_cookie)])
        .await;
    assert_eq!(away.backend(), moved.backend(), "home is still marked down");
    burr.advance_clock(Duration::from_secs(2));
    let back = Client::connect(port)
        .await
        .get("/", &[("cookie", &moved_cookie)])
        .await;
    assert_eq!(back.backend(), home.name);
    let home_cookie = pair(&set_cookie(&back, "AWSALB").unwrap());
    let again = Client::connect(port)
        .await
        .get("/", &[("cookie", &home_cookie)])
        .await;
    assert_eq!(again.backend(), home.name);
    let metrics = burr.metrics();
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"fail_back\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn classic_app_cookie_follows_the_application_session() {
    let b = backends(
        3,
        Behavior {
            set_cookie: Some("JSESSIONID=s1; Path=/; HttpOnly; Max-Age=300".into()),
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let app = "[pool.stickiness]\ntype = \"app_cookie\"\nflavour = \"classic\"\ncookie_name = \"JSESSIONID\"\n";
    let _burr = Burr::start(&config(port, "round_robin", &targets(&b), "", app));
    let first = get(port, "/").await;
    let elb = set_cookie(&first, "AWSELB").expect("AWSELB follows the app cookie");
    assert!(elb.ends_with("; Path=/; HttpOnly; Max-Age=300"), "{elb}");
    assert!(
        set_cookie(&first, "JSESSIONID").is_some(),
        "the app cookie passes untouched"
    );
    let both = format!("JSESSIONID=s1; {}", pair(&elb));
    let mut client = Client::connect(port).await;
    for _ in 0..30 {
        let a = client.get("/", &[("cookie", &both)]).await;
        assert_eq!(a.backend(), first.backend());
        assert!(
            set_cookie(&a, "AWSELB").is_none(),
            "Classic does not refresh"
        );
    }
    // burr's cookie without the application's: not sticky.
    let counts = spread(port, 30, Some(&pair(&elb))).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
}

#[tokio::test]
async fn alb_app_cookie_needs_both_cookies() {
    let b = backends(
        3,
        Behavior {
            set_cookie: Some("session=abc; Max-Age=5".into()),
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let app = "[pool.stickiness]\ntype = \"app_cookie\"\ncookie_name = \"session\"\nduration_secs = 600\n";
    let _burr = Burr::start(&config(port, "round_robin", &targets(&b), "", app));
    let first = get(port, "/").await;
    let albapp = set_cookie(&first, "AWSALBAPP").expect("AWSALBAPP issued");
    assert!(
        albapp.contains("; Expires=") && !albapp.contains("Max-Age"),
        "{albapp}"
    );
    let both = format!("session=abc; {}", pair(&albapp));
    let mut client = Client::connect(port).await;
    for _ in 0..30 {
        let a = client.get("/", &[("cookie", &both)]).await;
        assert_eq!(a.backend(), first.backend());
        assert_eq!(a.seen("cookie"), ["session=abc"]);
    }
    let counts = spread(port, 30, Some(&pair(&albapp))).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
}

#[tokio::test]
async fn draining_honours_sessions_until_the_deadline_and_reroute_moves_them() {
    let (b, burr, port) = setup_with(2, "round_robin", ALB_LB_COOKIE).await;
    let first = get(port, "/").await;
    let cookie = pair(&set_cookie(&first, "AWSALB").unwrap());
    let pinned = b.iter().position(|x| x.name == first.backend()).unwrap();
    let other = &b[1 - pinned];
    // Deregister the pinned target (default drain: 300 s, honour).
    burr.reload(&config(
        port,
        "round_robin",
        &[(other.addr, 1)],
        "",
        ALB_LB_COOKIE,
    ));
    let mut client = Client::connect(port).await;
    for _ in 0..10 {
        assert_eq!(
            client.get("/", &[("cookie", &cookie)]).await.backend(),
            first.backend()
        );
    }
    for _ in 0..10 {
        assert_eq!(
            get(port, "/").await.backend(),
            other.name,
            "no new sessions"
        );
    }
    // Reroute: moved at once.
    let reroute = format!("{ALB_LB_COOKIE}\n[pool.draining]\nmode = \"reroute\"\n");
    burr.reload(&config(
        port,
        "round_robin",
        &[(other.addr, 1)],
        "",
        &reroute,
    ));
    let a = client.get("/", &[("cookie", &cookie)]).await;
    assert_eq!(a.backend(), other.name);
}

/// Burr's default `deregistration_delay_secs`.
const DRAIN: u64 = 300;

/// A client pinned to a target, the target deregistered (by a reload) at a known time of
/// burr's clock: the cookie, the drained backend's name, the other backend, and the window
/// `[first, last]` of UTC seconds within which the drain's deadline must fall.
async fn pin_then_deregister(
    b: &[Backend],
    burr: &Burr,
    port: u16,
) -> (String, String, String, (u64, u64)) {
    let first = get(port, "/").await;
    let cookie = pair(&set_cookie(&first, "AWSALB").unwrap());
    let pinned = b.iter().position(|x| x.name == first.backend()).unwrap();
    let other = &b[1 - pinned];
    let before = burr.clock_now();
    burr.reload_async(&config(
        port,
        "round_robin",
        &[(other.addr, 1)],
        "",
        ALB_LB_COOKIE,
    ))
    .await;
    let after = burr.clock_now();
    (
        cookie,
        first.backend(),
        other.name.clone(),
        (before + DRAIN, after + DRAIN),
    )
}

/// The drain deadline as burr's metrics show it for `backend`.
fn drain_deadline(burr: &Burr, backend: &Backend) -> Option<u64> {
    metric(
        &burr.metrics(),
        &format!(
            "burr_target_drain_deadline_seconds{{pool=\"p\",target=\"{}\"}}",
            backend.addr
        ),
    )
    .map(|v| v as u64)
}

/// Moves burr's clock to one second before `deadline_window.0` and checks the session is still
/// honoured; then a second at a time until it moves off the drained target (at most 3 steps
/// past the window). Returns the UTC second at which it moved.
async fn step_to_the_end_of_the_drain(
    burr: &Burr,
    port: u16,
    cookie: &str,
    drained: &str,
    window: (u64, u64),
) -> u64 {
    let now = burr.clock_now();
    assert!(
        now < window.0 - 1,
        "the drain already ended: {now} vs {window:?}"
    );
    let mut now = burr.advance_clock(Duration::from_secs(window.0 - 1 - now));
    let mut client = Client::connect(port).await;
    assert_eq!(
        client.get("/", &[("cookie", cookie)]).await.backend(),
        drained,
        "honoured until the deadline (clock {now}, deadline in {window:?})"
    );
    while now <= window.1 + 1 {
        now = burr.advance_clock(Duration::from_secs(1));
        let a = client.get("/", &[("cookie", cookie)]).await;
        if a.backend() != drained {
            return now;
        }
    }
    panic!("still on {drained} at {now}, after the deadline window {window:?}");
}

/// A deregistered target's sessions are honoured until the drain deadline, and move at it.
#[tokio::test]
async fn draining_sessions_move_at_the_deadline() {
    let (b, burr, port) = setup_manual_clock(2, ALB_LB_COOKIE).await;
    let (cookie, drained, other, window) = pin_then_deregister(&b, &burr, port).await;
    let drained_backend = b.iter().find(|x| x.name == drained).unwrap();
    let shown = drain_deadline(&burr, drained_backend).expect("a drain deadline metric");
    assert!(
        (window.0..=window.1).contains(&shown),
        "{shown} vs {window:?}"
    );
    let moved_at = step_to_the_end_of_the_drain(&burr, port, &cookie, &drained, window).await;
    assert!(
        (window.0..=window.1).contains(&moved_at),
        "{moved_at} vs {window:?}"
    );
    let a = get(port, "/").await;
    assert_eq!(a.backend(), other);
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"draining\"}"
        ),
        Some(1.0)
    );
}

/// The drain deadline is part of the stored change: after a `kill -9` and a restart in the
/// middle of the drain, the session is still honoured until the same deadline (not moved at
/// once, not given a fresh 300 s), and the metric shows the stored deadline.
#[tokio::test]
async fn a_restart_mid_drain_honours_the_remaining_deadline() {
    let (b, mut burr, port) = setup_manual_clock(2, ALB_LB_COOKIE).await;
    let (cookie, drained, _, window) = pin_then_deregister(&b, &burr, port).await;
    let drained_backend = b.iter().find(|x| x.name == drained).unwrap();
    let stored = drain_deadline(&burr, drained_backend).expect("a drain deadline metric");
    burr.restart();
    // The manual clock starts again at the wall clock: what is left of the drain is the stored
    // deadline minus the time since the change, not a fresh DRAIN.
    assert_eq!(drain_deadline(&burr, drained_backend), Some(stored));
    let a = Client::connect(port)
        .await
        .get("/", &[("cookie", &cookie)])
        .await;
    assert_eq!(a.backend(), drained, "honoured after the restart");
    let moved_at = step_to_the_end_of_the_drain(&burr, port, &cookie, &drained, window).await;
    assert!(
        (window.0..=window.1).contains(&moved_at),
        "{moved_at} vs {window:?}"
    );
    // Once ended, the drain leaves the stored state at the next change (a reload of the same
    // file is one: it removes the ended drain, so the generation moves).
    let same = config(
        port,
        "round_robin",
        &b.iter()
            .filter(|x| x.name != drained)
            .map(|x| (x.addr, 1))
            .collect::<Vec<_>>(),
        "",
        ALB_LB_COOKIE,
    );
    burr.reload_async(&same).await;
    assert_eq!(drain_deadline(&burr, drained_backend), None);
}

#[tokio::test]
async fn issued_cookies_stay_valid_across_a_restart() {
    let (_b, mut burr, port) = setup_with(3, "round_robin", ALB_LB_COOKIE).await;
    let mut pins = Vec::new();
    for _ in 0..3 {
        let a = get(port, "/").await;
        pins.push((pair(&set_cookie(&a, "AWSALB").unwrap()), a.backend()));
    }
    burr.restart();
    for (cookie, backend) in &pins {
        let a = Client::connect(port)
            .await
            .get("/", &[("cookie", cookie)])
            .await;
        assert_eq!(&a.backend(), backend);
    }
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"hit\"}"
        ),
        Some(3.0)
    );
}

const HEADER_STICKINESS: &str =
    "[pool.stickiness]\ntype = \"header\"\nheader_name = \"X-User\"\nduration_secs = 600\n";

#[tokio::test]
async fn header_stickiness_binds_each_value_to_one_target_and_stays_after_failover() {
    let (b, burr, port) = setup_manual_clock(3, HEADER_STICKINESS).await;
    // Each user lands on one target, over fresh connections (round robin would rotate them).
    let mut home = HashMap::new();
    for user in 0..30 {
        let user = format!("user-{user}");
        let mut seen = HashSet::new();
        for _ in 0..5 {
            let a = Client::connect(port)
                .await
                .get("/", &[("x-user", &user)])
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            assert_eq!(
                a.seen("x-user"),
                std::slice::from_ref(&user),
                "the header is forwarded"
            );
            assert!(
                a.headers.get("set-cookie").is_none(),
                "no cookie in this mode"
            );
            seen.insert(a.backend());
        }
        assert_eq!(seen.len(), 1, "{user} went to {seen:?}");
        home.insert(user, seen.into_iter().next().unwrap());
    }
    // 30 users over 3 equal targets by the hash: all on one target has probability 3·3^-30.
    assert!(home.values().collect::<HashSet<_>>().len() >= 2, "{home:?}");
    // Without the header: the pool's algorithm (round robin: exactly even).
    let counts = spread(port, 30, None).await;
    assert_eq!(
        counts.values().copied().collect::<HashSet<_>>(),
        HashSet::from([10]),
        "{counts:?}"
    );

    // alice's target goes away: she moves, and stays moved when it comes back and its
    // passive-down window has ended.
    let alice = &home["user-0"];
    let old = b.iter().find(|x| &x.name == alice).unwrap();
    old.stop().await;
    let moved = Client::connect(port)
        .await
        .get("/", &[("x-user", "user-0")])
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_ne!(&moved.backend(), alice);
    let _back = Backend::start_at(&old.name, Behavior::default(), old.addr).await;
    burr.advance_clock(PASSIVE_DOWN + Duration::from_secs(1));
    let mut client = Client::connect(port).await;
    for _ in 0..20 {
        let a = client.get("/", &[("x-user", "user-0")]).await;
        assert_eq!(a.backend(), moved.backend());
    }
    let metrics = burr.metrics();
    let count = |reason: &str| {
        metric(
            &metrics,
            &format!("burr_sticky_decisions_total{{pool=\"p\",reason=\"{reason}\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(
        count("new"),
        30.0 + 30.0,
        "30 users + 30 requests without the header"
    );
    assert_eq!(count("target_down"), 1.0);
    assert_eq!(count("hit"), 30.0 * 4.0 + 20.0);
    // The session table knows every user exactly, user-0 now on its new target.
    let mut expected: HashMap<String, f64> = HashMap::new();
    for (user, target) in &home {
        let now_on = if user == "user-0" {
            moved.backend()
        } else {
            target.clone()
        };
        *expected.entry(now_on).or_default() += 1.0;
    }
    for backend in &b {
        assert_eq!(
            sticky_sessions(&metrics, backend.addr),
            expected.get(&backend.name).copied().unwrap_or(0.0),
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn source_ip_stickiness_binds_each_client_address() {
    let (_b, _burr, port) = setup_with(
        3,
        "least_connections",
        "[pool.stickiness]\ntype = \"source_ip\"\nduration_secs = 300\n",
    )
    .await;
    let mut homes = HashSet::new();
    for host in 2..=31u8 {
        let source = std::net::Ipv4Addr::new(127, 0, 0, host);
        let mut seen = HashSet::new();
        for _ in 0..4 {
            let a = Client::connect_from(port, source).await.get("/", &[]).await;
            assert_eq!(a.status, 200, "{}", a.body);
            assert_eq!(a.seen("x-forwarded-for"), [source.to_string()]);
            seen.insert(a.backend());
        }
        assert_eq!(seen.len(), 1, "{source} went to {seen:?}");
        homes.extend(seen);
    }
    // 30 addresses on one of 3 equal targets: probability 3·3^-30.
    assert!(homes.len() >= 2, "{homes:?}");
}

#[tokio::test]
async fn stickiness_changes_apply_live_on_open_connections() {
    let (b, burr, port) = setup_with(3, "round_robin", "").await;
    // One keep-alive connection across every change: it must never be dropped.
    let mut client = Client::connect(port).await;
    let plain = client.get("/", &[]).await;
    assert!(set_cookie(&plain, "AWSALB").is_none(), "not sticky yet");

    burr.reload(&config(
        port,
        "round_robin",
        &targets(&b),
        "",
        ALB_LB_COOKIE,
    ));
    let first = client.get("/", &[]).await;
    let cookie = pair(&set_cookie(&first, "AWSALB").expect("sticky after the reload"));
    for _ in 0..10 {
        let a = client.get("/", &[("cookie", &cookie)]).await;
        assert_eq!(a.backend(), first.backend());
    }

    // Another duration is another policy: the old cookie lapses (counted as expired) and a
    // fresh one is issued, on the same connection.
    burr.reload(&config(
        port,
        "round_robin",
        &targets(&b),
        "",
        "[pool.stickiness]\ntype = \"lb_cookie\"\nflavour = \"alb\"\nduration_secs = 900\n",
    ));
    let after = client.get("/", &[("cookie", &cookie)]).await;
    assert_eq!(after.status, 200);
    assert!(set_cookie(&after, "AWSALB").is_some());
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_sticky_decisions_total{pool=\"p\",reason=\"expired\"}"
        ),
        Some(1.0)
    );

    // Off again: no cookies, round robin, the connection still open.
    burr.reload(&config(port, "round_robin", &targets(&b), "", ""));
    let counts: HashSet<String> = {
        let mut seen = HashSet::new();
        for _ in 0..3 {
            let a = client.get("/", &[("cookie", &cookie)]).await;
            assert!(set_cookie(&a, "AWSALB").is_none());
            seen.insert(a.backend());
        }
        seen
    };
    assert_eq!(counts.len(), 3, "round robin over 3 targets: {counts:?}");
    assert!(!client.is_closed());
}
