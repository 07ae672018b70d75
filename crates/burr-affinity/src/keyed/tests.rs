//! Key stickiness on a fake clock and a fake pool: placement by the hash, the idle limit to
//! the second, failover that stays, strict, fail-back, draining, and the table's bounds.

use super::*;
use crate::balance::Candidate;
use burr_model::{Origin, Stickiness};
use std::collections::HashSet;

const T0: u64 = 1_800_000_000;
const IDLE: u64 = 600;

/// A pool of targets with ids 1..=n, all available unless changed.
struct View(Vec<Standing>);

impl PoolView for View {
    fn find(&self, id: TargetId) -> Option<(usize, Standing)> {
        let index = (id.0 as usize).checked_sub(1)?;
        self.0.get(index).map(|s| (index, *s))
    }
    fn standing_at(&self, index: usize) -> Option<Standing> {
        self.0.get(index).copied()
    }
}

fn id(index: usize) -> TargetId {
    TargetId(index as u64 + 1)
}

fn engine(n: usize, configure: impl FnOnce(&mut KeyedPolicy)) -> KeyedEngine {
    let mut policy = KeyedPolicy {
        source: KeySource::Header("x-user".into()),
        idle_secs: IDLE,
        on_target_down: OnTargetDown::Repin,
        fail_back: false,
        drain_mode: DrainMode::Honour,
        balance: Balance::Hash,
    };
    configure(&mut policy);
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| Candidate {
            id: id(i),
            weight: 1,
        })
        .collect();
    KeyedEngine::new(policy, &candidates, None)
}

/// Decides and, unless refused, records the answer as served (what the proxy does).
fn request(engine: &KeyedEngine, view: &View, key: u64, now: u64) -> KeyedDecision {
    let decision = engine.decide(Some(key), view, now);
    if let Route::Pinned(i) = decision.route {
        engine.served(&decision, id(i), now);
    }
    decision
}

#[test]
fn policy_follows_the_model() {
    let mut pool = Pool::new("web");
    pool.stickiness = Stickiness {
        kind: StickinessKind::Header,
        header_name: Some("X-User".into()),
        ..Stickiness::default()
    };
    pool.origin = Origin::File;
    let policy = KeyedPolicy::of(&pool).unwrap();
    assert_eq!(policy.source, KeySource::Header("x-user".into()));
    assert_eq!(policy.idle_secs, 1200, "native default: 20 minutes");
    pool.stickiness.kind = StickinessKind::SourceIp;
    assert_eq!(
        KeyedPolicy::of(&pool).unwrap().source,
        KeySource::ClientAddress
    );
    pool.stickiness.kind = StickinessKind::LbCookie;
    assert!(KeyedPolicy::of(&pool).is_none());
}

#[test]
fn a_request_without_a_key_is_left_to_the_algorithm() {
    let e = engine(3, |_| {});
    let d = e.decide(None, &View(vec![Standing::Available; 3]), T0);
    assert_eq!((d.route, d.reason), (Route::Choose, Reason::New));
}

#[test]
fn new_keys_follow_the_hash_and_spread_by_weight() {
    let e = engine(4, |_| {});
    let view = View(vec![Standing::Available; 4]);
    let mut counts = [0u32; 4];
    for k in 0..4000u64 {
        let key = hash_key(&k.to_le_bytes());
        let d = e.decide(Some(key), &view, T0);
        assert_eq!(d.reason, Reason::New);
        let Route::Pinned(i) = d.route else {
            panic!("{d:?}")
        };
        assert_eq!(
            Some(i),
            e.place(key, &|_| true, &view),
            "placement is the hash's"
        );
        counts[i] += 1;
    }
    // Each share is Binomial(4000, 1/4) around the table's (≤ 1% off) weight: 1000 ± 4.5σ
    // (σ = 27.4) plus 1% for the table.
    for c in counts {
        assert!((866..=1134).contains(&c), "{counts:?}");
    }
}

#[test]
fn a_session_lasts_until_exactly_its_idle_limit() {
    let e = engine(3, |_| {});
    let view = View(vec![Standing::Available; 3]);
    let first = request(&e, &view, 42, T0);
    assert_eq!(first.reason, Reason::New);
    let again = request(&e, &view, 42, T0 + IDLE - 1);
    assert_eq!((again.route, again.reason), (first.route, Reason::Hit));
    // Renewed at T0 + IDLE - 1: alive until one second before T0 + 2·IDLE - 1.
    let late = e.decide(Some(42), &view, T0 + 2 * IDLE - 2);
    assert_eq!(late.reason, Reason::Hit);
    let lapsed = e.decide(Some(42), &view, T0 + 2 * IDLE - 1);
    assert_eq!(lapsed.reason, Reason::Expired);
}

#[test]
fn failover_stays_on_the_new_target_after_recovery() {
    let e = engine(3, |_| {});
    let mut view = View(vec![Standing::Available; 3]);
    let Route::Pinned(home) = request(&e, &view, 7, T0).route else {
        panic!()
    };
    view.0[home] = Standing::Down;
    let moved = request(&e, &view, 7, T0 + 1);
    assert_eq!(moved.reason, Reason::TargetDown);
    let Route::Pinned(new) = moved.route else {
        panic!()
    };
    assert_ne!(new, home);
    view.0[home] = Standing::Available;
    let after = request(&e, &view, 7, T0 + 2);
    assert_eq!(
        (after.route, after.reason),
        (Route::Pinned(new), Reason::Hit)
    );
}

#[test]
fn fail_back_returns_home_once_healthy() {
    let e = engine(3, |p| p.fail_back = true);
    let mut view = View(vec![Standing::Available; 3]);
    let Route::Pinned(home) = request(&e, &view, 9, T0).route else {
        panic!()
    };
    view.0[home] = Standing::Down;
    let Route::Pinned(away) = request(&e, &view, 9, T0 + 1).route else {
        panic!()
    };
    assert_eq!(request(&e, &view, 9, T0 + 2).route, Route::Pinned(away));
    view.0[home] = Standing::Available;
    let back = request(&e, &view, 9, T0 + 3);
    assert_eq!(
        (back.route, back.reason),
        (Route::Pinned(home), Reason::FailBack)
    );
    let settled = request(&e, &view, 9, T0 + 4);
    assert_eq!(
        (settled.route, settled.reason),
        (Route::Pinned(home), Reason::Hit)
    );
}

#[test]
fn strict_refuses_and_keeps_the_binding() {
    let e = engine(3, |p| p.on_target_down = OnTargetDown::Strict);
    let mut view = View(vec![Standing::Available; 3]);
    let Route::Pinned(home) = request(&e, &view, 5, T0).route else {
        panic!()
    };
    view.0[home] = Standing::Down;
    let refused = request(&e, &view, 5, T0 + 1);
    assert_eq!(
        (refused.route, refused.reason),
        (Route::Refuse, Reason::Strict503)
    );
    view.0[home] = Standing::Available;
    assert_eq!(request(&e, &view, 5, T0 + 2).route, Route::Pinned(home));
    let pinned = e.decide(Some(5), &view, T0 + 3);
    assert_eq!(e.target_down(pinned).route, Route::Refuse);
}

#[test]
fn draining_honours_until_the_deadline_or_reroutes_at_once() {
    for mode in [DrainMode::Honour, DrainMode::Reroute] {
        let e = engine(3, |p| p.drain_mode = mode);
        let mut view = View(vec![Standing::Available; 3]);
        let Route::Pinned(home) = request(&e, &view, 11, T0).route else {
            panic!()
        };
        view.0[home] = Standing::Draining {
            deadline: Some(T0 + 100),
        };
        let during = request(&e, &view, 11, T0 + 99);
        match mode {
            DrainMode::Honour => assert_eq!(during.route, Route::Pinned(home)),
            DrainMode::Reroute => {
                assert_eq!(during.reason, Reason::Draining);
                assert_ne!(during.route, Route::Pinned(home));
            }
        }
        let after = request(&e, &view, 11, T0 + 100);
        if mode == DrainMode::Honour {
            assert_eq!(after.reason, Reason::Draining);
        }
        assert_ne!(after.route, Route::Pinned(home));
    }
}

#[test]
fn a_deregistered_target_re_places_its_keys() {
    let e = engine(3, |_| {});
    let view = View(vec![Standing::Available; 3]);
    let Route::Pinned(home) = request(&e, &view, 13, T0).route else {
        panic!()
    };
    // The pool shrinks to the targets before `home`: its id is gone.
    let smaller = View(vec![Standing::Available; home]);
    let d = e.decide(Some(13), &smaller, T0 + 1);
    assert_eq!(d.reason, Reason::UnknownTarget);
}

#[test]
fn sessions_carry_over_only_when_the_key_keeps_its_meaning() {
    let candidates = [Candidate {
        id: id(0),
        weight: 1,
    }];
    let a = engine(1, |_| {});
    let view = View(vec![Standing::Available]);
    request(&a, &view, 1, T0);
    let same = KeyedEngine::new(a.policy.clone(), &candidates, Some(&a));
    assert_eq!(same.decide(Some(1), &view, T0 + 1).reason, Reason::Hit);
    let mut other = a.policy.clone();
    other.source = KeySource::Header("x-tenant".into());
    let renamed = KeyedEngine::new(other, &candidates, Some(&a));
    assert_eq!(renamed.decide(Some(1), &view, T0 + 1).reason, Reason::New);
}

#[test]
fn live_sessions_are_counted_per_target_and_lapse() {
    let e = engine(2, |_| {});
    let view = View(vec![Standing::Available; 2]);
    let mut expected: HashMap<TargetId, u64> = HashMap::new();
    for key in 0..100u64 {
        let Route::Pinned(i) = request(&e, &view, hash_key(&key.to_le_bytes()), T0).route else {
            panic!()
        };
        *expected.entry(id(i)).or_default() += 1;
    }
    assert_eq!(e.sessions.live_sessions(T0 + IDLE - 1), expected);
    assert!(e.sessions.live_sessions(T0 + IDLE).is_empty());
}

#[test]
fn a_full_table_still_places_by_the_hash() {
    let table = SessionTable::new(IDLE);
    // Fill one shard (keys sharing the top 6 bits) to its share of the capacity.
    let per_shard = (SESSION_TABLE_CAPACITY / SHARDS) as u64;
    for k in 0..per_shard {
        table.record(k, id(0), id(0), T0);
    }
    table.record(per_shard, id(1), id(1), T0);
    assert_eq!(table.get(per_shard, T0), Ok(None), "full: not remembered");
    // Once the old entries lapse, the next insert sweeps them.
    table.record(per_shard, id(1), id(1), T0 + IDLE);
    assert_eq!(
        table.get(per_shard, T0 + IDLE).map(|e| e.map(|e| e.target)),
        Ok(Some(id(1)))
    );
    assert_eq!(table.live_sessions(T0 + IDLE).len(), 1);
}

/// Places `clients` source addresses (as a TCP relay would: decide, then record) on `engine`.
fn place_clients(
    engine: &KeyedEngine,
    view: &View,
    clients: impl Iterator<Item = u32>,
) -> HashMap<u32, usize> {
    clients
        .map(|c| {
            let key = crate::balance::hash_ip(std::net::Ipv4Addr::from(c).into());
            let Route::Pinned(i) = request(engine, view, key, T0).route else {
                panic!("no target")
            };
            (c, i)
        })
        .collect()
}

fn source_ip_engine(n: usize, balance: Balance) -> KeyedEngine {
    engine(n, |p| {
        p.source = KeySource::ClientAddress;
        p.balance = balance;
    })
}

/// The placement figure: 10^6 source addresses over 100 targets, max/avg ≤ 1.01. By
/// construction of the bound (share + max(1%, √share) = 10,000 + 100 at the end) it cannot be
/// exceeded; the hash alone would give about 1.03 (the largest of 100 Binomial(10^6, 1/100)
/// counts is ≈ 2.5σ = 2.5% above the mean, plus the table's up to 0.9%).
#[test]
fn a_million_source_addresses_over_100_targets_stay_within_one_percent() {
    let e = source_ip_engine(100, Balance::Sessions);
    let view = View(vec![Standing::Available; 100]);
    let placed = place_clients(&e, &view, (0..1_000_000u32).map(|c| 0x0a00_0000 + c));
    let mut counts = [0u64; 100];
    let mut on_hash = 0u64;
    for (&c, &i) in &placed {
        counts[i] += 1;
        let key = crate::balance::hash_ip(std::net::Ipv4Addr::from(c).into());
        on_hash += u64::from(e.placement.as_ref().unwrap().lookup(key) == i);
    }
    let max = *counts.iter().max().unwrap() as f64;
    let ratio = max / 10_000.0;
    println!(
        "max/avg {ratio:.4}; {:.2}% of clients on their hashed target",
        on_hash as f64 / 1e4
    );
    assert!(ratio <= 1.01, "max/avg {ratio}");
    // Counts the engine keeps are the sessions' own.
    let live = e.sessions.live_sessions(T0);
    for (i, &count) in counts.iter().enumerate() {
        assert_eq!(live.get(&id(i)).copied().unwrap_or(0), count);
        assert_eq!(e.loads[i].load(Ordering::Relaxed), count);
    }
}

/// Bounded placement keeps the hash's answer for most clients, so two nodes (or burr before
/// and after a restart) that see the same clients in different orders agree on those. A client
/// leaves its hashed target only when that target is at least a standard deviation of the
/// hash's spread above its share when the client arrives, which a Binomial count is with
/// probability 1 − Φ(1) ≈ 16%: at least 84% of clients stay on their hashed target (the figure
/// is ≈ 98%), and two orders agree on every client both leave there.
#[test]
fn placement_hardly_depends_on_the_order_clients_arrive_in() {
    let view = View(vec![Standing::Available; 100]);
    let clients: Vec<u32> = (0..100_000u32).map(|c| 0xc0a8_0000 + c * 7).collect();
    let run = |order: Vec<u32>| {
        let e = source_ip_engine(100, Balance::Sessions);
        let placed = place_clients(&e, &view, order.into_iter());
        let table = e.placement.clone().unwrap();
        let on_hash: HashSet<u32> = placed
            .iter()
            .filter(|(c, i)| {
                table.lookup(crate::balance::hash_ip(
                    std::net::Ipv4Addr::from(**c).into(),
                )) == **i
            })
            .map(|(c, _)| *c)
            .collect();
        (placed, on_hash)
    };
    let (forward, forward_on_hash) = run(clients.clone());
    let (backward, backward_on_hash) = run(clients.iter().rev().copied().collect());
    for on_hash in [&forward_on_hash, &backward_on_hash] {
        assert!(
            on_hash.len() >= 84_000,
            "{} on their hashed target",
            on_hash.len()
        );
    }
    let agree = forward.iter().filter(|(c, i)| backward[c] == **i).count();
    let both = forward_on_hash.intersection(&backward_on_hash).count();
    println!(
        "on hash: {} and {}; agree {agree}",
        forward_on_hash.len(),
        backward_on_hash.len()
    );
    assert!(
        agree >= both,
        "{agree} agree, {both} on the hash in both orders"
    );
}

#[test]
fn least_connections_placement_bounds_open_connections_not_sessions() {
    /// Target 0 holds many open connections; the others none.
    struct Busy(View);
    impl PoolView for Busy {
        fn find(&self, id: TargetId) -> Option<(usize, Standing)> {
            self.0.find(id)
        }
        fn standing_at(&self, index: usize) -> Option<Standing> {
            self.0.standing_at(index)
        }
        fn connections_at(&self, index: usize) -> u64 {
            if index == 0 { 1000 } else { 0 }
        }
    }
    let busy = Busy(View(vec![Standing::Available; 4]));
    let by_connections = source_ip_engine(4, Balance::Connections);
    let by_sessions = source_ip_engine(4, Balance::Sessions);
    let mut to_busy = (0, 0);
    for c in 0..400u32 {
        let key = crate::balance::hash_ip(std::net::Ipv4Addr::from(c).into());
        to_busy.0 +=
            usize::from(by_connections.decide(Some(key), &busy, T0).route == Route::Pinned(0));
        to_busy.1 += usize::from(request(&by_sessions, &busy.0, key, T0).route == Route::Pinned(0));
    }
    assert_eq!(
        to_busy.0, 0,
        "target 0 is far above its share of connections"
    );
    // Sessions: a quarter each, Binomial(400, 1/4) = 100 ± 4.5σ (σ ≈ 8.7) and the bound.
    assert!((60..=140).contains(&to_busy.1), "{to_busy:?}");
}

#[test]
fn a_new_persistence_timeout_keeps_the_sessions_and_applies_to_them() {
    let a = engine(2, |p| p.idle_secs = 600);
    let view = View(vec![Standing::Available; 2]);
    let first = request(&a, &view, 7, T0).route;
    let candidates: Vec<Candidate> = (0..2)
        .map(|i| Candidate {
            id: id(i),
            weight: 1,
        })
        .collect();
    let mut longer = a.policy.clone();
    longer.idle_secs = 3600;
    let b = KeyedEngine::new(longer, &candidates, Some(&a));
    let d = b.decide(Some(7), &view, T0 + 1000);
    assert_eq!(
        (d.route, d.reason),
        (first, Reason::Hit),
        "kept, and alive past 600 s"
    );
    let mut shorter = b.policy.clone();
    shorter.idle_secs = 60;
    let c = KeyedEngine::new(shorter, &candidates, Some(&b));
    assert_eq!(c.decide(Some(7), &view, T0 + 61).reason, Reason::Expired);
}

#[test]
fn touch_renews_a_session_but_never_pulls_back_one_that_moved() {
    let table = SessionTable::new(IDLE);
    table.record(9, id(0), id(0), T0);
    table.touch(9, id(0), T0 + IDLE - 1);
    assert_eq!(
        table.get(9, T0 + 2 * IDLE - 2).map(|e| e.map(|e| e.target)),
        Ok(Some(id(0)))
    );
    // The session moved to 1 (its target failed) while an old flow on 0 went on.
    table.record(9, id(1), id(0), T0 + IDLE);
    table.touch(9, id(0), T0 + IDLE + 1);
    let entry = table.get(9, T0 + IDLE + 1).unwrap().unwrap();
    assert_eq!(
        (entry.target, entry.home),
        (id(1), id(0)),
        "stays where it moved"
    );
    // Once it lapsed, the traffic that went on binds it again.
    table.touch(9, id(0), T0 + 3 * IDLE);
    let entry = table.get(9, T0 + 3 * IDLE).unwrap().unwrap();
    assert_eq!((entry.target, entry.home), (id(0), id(0)));
    assert_eq!(
        table.live_sessions(T0 + 3 * IDLE),
        HashMap::from([(id(0), 1)])
    );
}

/// Under source-IP sessions round_robin ignores weights (as it does without sessions) and
/// weighted_round_robin follows them: with weights 9 and 1, shares of 1/2 or 9/10 of 2,000
/// clients, each within its bound (share + max(1%, √share)), far apart.
#[test]
fn unweighted_algorithms_place_source_ip_sessions_as_if_weights_were_equal() {
    let candidates = [
        Candidate {
            id: id(0),
            weight: 9,
        },
        Candidate {
            id: id(1),
            weight: 1,
        },
    ];
    let view = View(vec![Standing::Available; 2]);
    for (algorithm, share) in [
        (burr_model::Algorithm::RoundRobin, 1000.0f64),
        (burr_model::Algorithm::WeightedRoundRobin, 1800.0),
    ] {
        let mut pool = Pool::new("p");
        pool.algorithm = algorithm;
        pool.stickiness.kind = StickinessKind::SourceIp;
        let e = KeyedEngine::for_pool(&pool, &candidates, None).unwrap();
        let placed = place_clients(&e, &view, 0..2000u32);
        let heavy = placed.values().filter(|&&i| i == 0).count() as f64;
        let bound = share + (0.01 * share).max(share.sqrt());
        assert!(heavy <= bound, "{algorithm}: {heavy} > {bound}");
        // The light target is held to its bound too, so the heavy one takes the rest.
        let light_share = 2000.0 - share;
        let light_bound = light_share + (0.01 * light_share).max(light_share.sqrt());
        assert!(2000.0 - heavy <= light_bound, "{algorithm}: {heavy}");
    }
}
