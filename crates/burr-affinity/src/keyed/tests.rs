//! Key stickiness on a fake clock and a fake pool: placement by the hash, the idle limit to
//! the second, failover that stays, strict, fail-back, draining, and the table's bounds.

use super::*;
use crate::balance::Candidate;
use burr_model::{Origin, Stickiness};

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
        assert_eq!(Some(i), e.place(key, &|_| true), "placement is the hash's");
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
