//! The engine against whole campaigns of genuine tokens that must not be honoured (cross-pool,
//! expired, retired-key), and the pinned policy generations that tokens carry.

use super::tests::{T0, View, lb_alb, policy, request, ring};
use super::*;

/// Figure (the engine's half; `token/tests.rs` attacks the bytes): 0 of 10^5 cross-pool,
/// expired (idle limit, absolute limit, application cookie's end, settings changed) or
/// retired-key tokens are honoured. Each is genuine, sealed by this very ring, so only the
/// engine's checks stand between it and a hit; half are version 1, and half are opened the full
/// way (by a copy of the ring, which shares no memo entries).
fn honoured_out_of(cases: usize, seed: u64) -> usize {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let alb = lb_alb(600);
    let classic = policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.flavour = CookieFlavour::Classic;
        s.duration_secs = Some(60);
    });
    let app = policy(|s| {
        s.kind = StickinessKind::AppCookie;
        s.flavour = CookieFlavour::Classic;
        s.cookie_name = Some("JSESSIONID".into());
    });
    let mut sealer = KeyRing::generate(T0 - 10_000, [5; 32], 3600);
    let retired_sealer = sealer.clone();
    sealer.rotate(T0 - 3600, [6; 32]); // key 1 is past its grace from T0 on
    let full_opener = KeyRing::from_bytes(&sealer.to_bytes()).expect("a ring");
    let view = View::new(&[(7, Standing::Available)]);
    let mut honoured = 0;
    for case in 0..cases {
        let now = T0 + rng.random_range(0..1_000_000);
        let p = match case % 6 {
            2 => &classic,
            3 => &app,
            _ => &alb,
        };
        let mut body = TokenBody {
            pool: p.pool,
            target: TargetId(7),
            home: TargetId(7),
            issued_at: now - rng.random_range(0..60),
            last_seen: now,
            expires_at: 0,
            policy_generation: p.generation,
            arm: 0,
            // Every kind of case in both formats and through both openers.
            session: rng.random::<u64>() >> if (case / 6) % 2 == 0 { 0 } else { 16 },
        };
        let late = rng.random_range(0..100_000);
        match case % 6 {
            0 => body.pool = PoolId(rng.random_range(1..u64::MAX).wrapping_add(p.pool.0)),
            1 => {
                body.last_seen = now - 600 - late;
                body.issued_at = body.last_seen - rng.random_range(0..1000);
            }
            2 => body.issued_at = now - 60 - late,
            3 => body.expires_at = now - late.min(now - 1),
            4 => body.policy_generation = p.generation.wrapping_add(rng.random_range(1..u32::MAX)),
            _ => {}
        }
        let ring = if case % 6 == 5 {
            &retired_sealer
        } else {
            &sealer
        };
        let value = ring.seal(&body, rng.random());
        let opener = if (case / 12) % 2 == 0 {
            &sealer
        } else {
            &full_opener
        };
        let engine = Engine {
            policy: p,
            ring: opener,
        };
        let decision = engine.decide(&request(value.as_str()), &view, now);
        if decision.reason == Reason::Hit {
            honoured += 1;
        }
    }
    honoured
}

#[test]
fn no_cross_pool_expired_or_retired_token_is_honoured_in_100_000_attempts() {
    assert_eq!(honoured_out_of(100_000, 1), 0);
}

#[test]
#[ignore = "long run: 10^6 attempts, reported in docs/performance.md"]
fn no_cross_pool_expired_or_retired_token_is_honoured_in_1_000_000_attempts() {
    assert_eq!(honoured_out_of(1_000_000, 2), 0);
}

/// The campaign above is not vacuous: the same tokens with nothing wrong are hits.
#[test]
fn the_campaigns_genuine_tokens_are_hits() {
    let p = lb_alb(600);
    let r = ring();
    let copy = KeyRing::from_bytes(&r.to_bytes()).unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    for (session, opener) in [(0x42, &r), (u64::MAX, &r), (0x42, &copy), (u64::MAX, &copy)] {
        let body = TokenBody {
            pool: p.pool,
            target: TargetId(7),
            home: TargetId(7),
            issued_at: T0 - 700,
            last_seen: T0 - 599,
            expires_at: 0,
            policy_generation: p.generation,
            arm: 0,
            session,
        };
        let value = r.seal(&body, [3; 24]);
        let engine = Engine {
            policy: &p,
            ring: opener,
        };
        assert_eq!(
            engine.decide(&request(value.as_str()), &view, T0).reason,
            Reason::Hit
        );
    }
}

/// The policy generation of each mode, pinned: tokens carry it, so a change here ends every
/// live session of that mode. These are the values burr computed before the encoding was made
/// explicit (so sessions issued before it stayed valid); a deliberate change of encoding bumps
/// `POLICY_ENCODING_VERSION` and these values together.
#[test]
fn policy_generations_are_pinned() {
    let name = |s: &str| s.to_string();
    let golden: [(Mode, u32); 8] = [
        (Mode::LbCookieClassic { period_secs: 0 }, GOLDEN[0]),
        (Mode::LbCookieClassic { period_secs: 3600 }, GOLDEN[1]),
        (Mode::LbCookieAlb { duration_secs: 1 }, GOLDEN[2]),
        (
            Mode::LbCookieAlb {
                duration_secs: 86_400,
            },
            GOLDEN[3],
        ),
        (
            Mode::AppCookieClassic {
                app_cookie: name("JSESSIONID"),
            },
            GOLDEN[4],
        ),
        (
            Mode::AppCookieClassic {
                app_cookie: name("a'b!#$%&*+-.^_`|~9"),
            },
            GOLDEN[5],
        ),
        (
            Mode::AppCookieAlb {
                app_cookie: name("session"),
                duration_secs: 600,
            },
            GOLDEN[6],
        ),
        (
            Mode::AppCookieAlb {
                app_cookie: name("session"),
                duration_secs: 604_800,
            },
            GOLDEN[7],
        ),
    ];
    assert_eq!(POLICY_ENCODING_VERSION, 1);
    for (mode, generation) in golden {
        assert_eq!(policy_generation(&mode), generation, "{mode:?}");
    }
    // Through the model, as the data plane compiles it.
    assert_eq!(
        lb_alb(600).generation,
        policy_generation(&Mode::LbCookieAlb { duration_secs: 600 })
    );
}

/// Computed with burr 0.1's `xxh3_64(format!("{mode:?}"))` (the Debug text) before the change.
const GOLDEN: [u32; 8] = [
    974_225_786,
    3_226_623_100,
    11_215_207,
    411_079_808,
    3_808_733_075,
    1_904_351_334,
    2_463_804_175,
    3_717_265_859,
];
