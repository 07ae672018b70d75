//! Slow start (ALB `slow_start.duration_seconds`) observed through the proxy, on burr's manual
//! clock: targets in service when slow start is turned on keep their share; a target registered
//! afterwards gets nothing at 0 % of its window, the share of a target of half its weight at
//! 50 %, and its full share once the window has passed; sessions already bound to a ramping
//! target stay on it.

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

fn count(counts: &HashMap<String, usize>, name: &str) -> usize {
    counts.get(name).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_new_target_ramps_linearly_over_the_window_and_targets_in_service_do_not() {
    let mut backends = Vec::new();
    for name in ["b1", "b2", "b3"] {
        backends.push(Backend::start(name, Behavior::default()).await);
    }
    let addrs: Vec<(SocketAddr, u32)> = backends.iter().map(|b| (b.addr, 1)).collect();
    let port = free_port();
    let burr = Burr::start_with_manual_clock(&config(port, "round_robin", &addrs[..2], "", ""));
    let slow = "slow_start_secs = 100";

    // Turned on over targets in service: nobody ramps, round robin stays exact.
    burr.reload(&config(port, "round_robin", &addrs[..2], "", slow));
    let counts = tally(port, 300).await;
    assert_eq!((count(&counts, "b1"), count(&counts, "b2")), (150, 150));

    // b3 registered: 0 % into its window, it gets nothing.
    burr.reload(&config(port, "round_robin", &addrs, "", slow));
    let counts = tally(port, 300).await;
    assert_eq!(count(&counts, "b3"), 0, "{counts:?}");
    assert_eq!((count(&counts, "b1"), count(&counts, "b2")), (150, 150));

    // 50 %: b3 takes each of its turns with probability 1/2, so it serves like a target of
    // weight 1/2 beside two of weight 1: share 0.5 / 2.5 = 0.2. Its count varies less than
    // Binomial(n, 0.2) (see burr-affinity's slow start tests), so 5σ of that binomial bounds
    // it: n = 900 gives 180 ± 60, which excludes the full share (300) and none (0).
    burr.advance_clock(Duration::from_secs(50));
    let n = 900;
    let counts = tally(port, n).await;
    let (p, b3) = (0.2, count(&counts, "b3") as f64);
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (b3 - n as f64 * p).abs() <= 5.0 * sigma,
        "b3 served {b3} of {n}, expected {} ± {:.0}: {counts:?}",
        n as f64 * p,
        5.0 * sigma
    );

    // 100 %: the window is over, round robin is exact again.
    burr.advance_clock(Duration::from_secs(50));
    let counts = tally(port, 900).await;
    for name in ["b1", "b2", "b3"] {
        assert_eq!(count(&counts, name), 300, "{counts:?}");
    }
}

/// A pool's first targets have nothing to ramp against (ALB: targets registered into an empty
/// target group do not enter slow start), so they serve fully at once and the next target
/// registered ramps beside them.
#[tokio::test]
async fn the_first_targets_of_a_pool_do_not_ramp_and_anchor_the_next_ones() {
    let b1 = Backend::start("b1", Behavior::default()).await;
    let b2 = Backend::start("b2", Behavior::default()).await;
    let port = free_port();
    let slow = "slow_start_secs = 600";
    let burr =
        Burr::start_with_manual_clock(&config(port, "round_robin", &[(b1.addr, 1)], "", slow));
    assert_eq!(count(&tally(port, 20).await, "b1"), 20);
    let both = [(b1.addr, 1), (b2.addr, 1)];
    burr.reload(&config(port, "round_robin", &both, "", slow));
    // Had b1 been ramping since the start (0 % in), b2 would have found no target to ramp
    // against and taken everything; had both ramped, they would split evenly.
    let counts = tally(port, 100).await;
    assert_eq!(
        (count(&counts, "b1"), count(&counts, "b2")),
        (100, 0),
        "{counts:?}"
    );
}

/// Sticky sessions already bound to a ramping target keep reaching it on every request: slow
/// start shapes only the choice of a target for new sessions.
#[tokio::test]
async fn sessions_bound_to_a_ramping_target_stay_on_it() {
    let b1 = Backend::start("b1", Behavior::default()).await;
    let b2 = Backend::start("b2", Behavior::default()).await;
    let port = free_port();
    let sticky = "slow_start_secs = 100\n[pool.stickiness]\ntype = \"lb_cookie\"\n\
                  duration_secs = 600";
    let burr =
        Burr::start_with_manual_clock(&config(port, "round_robin", &[(b1.addr, 1)], "", sticky));
    let both = [(b1.addr, 1), (b2.addr, 1)];
    burr.reload(&config(port, "round_robin", &both, "", sticky));
    // 10 % into b2's window: new sessions land there one time in ~11; find one.
    burr.advance_clock(Duration::from_secs(10));
    let mut client = Client::connect(port).await;
    let mut cookie = None;
    for _ in 0..500 {
        let a = client.get("/", &[]).await;
        if a.backend() == "b2" {
            let set = a.headers.get("set-cookie").expect("a new session's cookie");
            cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_string());
            break;
        }
    }
    let cookie = cookie.expect("one new session of 500 on b2");
    for _ in 0..100 {
        let a = client.get("/", &[("cookie", &cookie)]).await;
        assert_eq!(a.backend(), "b2");
    }
}
