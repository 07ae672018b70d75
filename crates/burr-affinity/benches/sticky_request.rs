//! What the cookie engine costs per request of a returning client, end to end inside burr's
//! logic: read burr's cookie out of the `Cookie` header bytes, open the token (memoized, as for
//! a returning client), decide, and write the response's `Set-Cookie` lines. Classic (a hit sets
//! nothing) and ALB (both cookies renewed, echoed within the second). The proxy's CPU per
//! request is ~10 µs (docs/performance.md), so this is the share stickiness adds in user space;
//! the rest of the difference is the bytes the cookies add to requests and responses.

use burr_affinity::sticky::{
    Engine, Nonce, Policy, PoolView, Reason, RequestCookies, SetCookies, Standing, TokenOutcome,
};
use burr_affinity::token::{DEFAULT_GRACE_SECS, KeyRing};
use burr_model::{CookieFlavour, Pool, StickinessKind, Target, TargetAddress, TargetId};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

const NOW: u64 = 1_800_000_000;

/// Three available targets, found by a scan as the data plane does.
struct Three([TargetId; 3]);

impl PoolView for Three {
    fn find(&self, id: TargetId) -> Option<(usize, Standing)> {
        let index = self.0.iter().position(|&t| t == id)?;
        Some((index, Standing::Available))
    }
    fn standing_at(&self, index: usize) -> Option<Standing> {
        (index < 3).then_some(Standing::Available)
    }
}

/// Response head lines, as the fast path writes them.
struct Lines(Vec<u8>);

impl SetCookies for Lines {
    fn set_cookie(&mut self, pieces: &[&[u8]]) {
        self.0.extend_from_slice(b"Set-Cookie: ");
        for piece in pieces {
            self.0.extend_from_slice(piece);
        }
        self.0.extend_from_slice(b"\r\n");
    }
}

fn policy(flavour: CookieFlavour) -> Policy {
    let mut pool = Pool::new("web");
    pool.targets = (1..=3)
        .map(|i| Target {
            address: TargetAddress::parse(&format!("127.0.0.{i}:80"), None).expect("an address"),
            weight: 1,
        })
        .collect();
    pool.stickiness.kind = StickinessKind::LbCookie;
    pool.stickiness.flavour = flavour;
    Policy::of(&pool).expect("a cookie policy")
}

/// `count_opens`: decide as the proxy does, adding each token's outcome to a counter per
/// outcome (one relaxed atomic add, as `burr_token_opens_total` costs).
fn returning_client(c: &mut Criterion, name: &str, flavour: CookieFlavour, count_opens: bool) {
    let policy = policy(flavour);
    let ring = KeyRing::generate(NOW - 10, [5; 32], DEFAULT_GRACE_SECS);
    let engine = Engine {
        policy: &policy,
        ring: &ring,
    };
    let view = Three([TargetId(11), TargetId(22), TargetId(33)]);
    // The first response's cookie, as a browser returns it.
    let first = engine.decide(&RequestCookies::default(), &view, NOW);
    let mut lines = Lines(Vec::new());
    engine.response_cookies(
        &first,
        TargetId(22),
        [],
        NOW,
        &Nonce::fixed([1; 24]),
        &mut lines,
    );
    let set = String::from_utf8(lines.0).expect("ASCII");
    let pair = set
        .trim_start_matches("Set-Cookie: ")
        .split(';')
        .next()
        .expect("name=value");
    let header = pair.as_bytes().to_vec();
    let returning = RequestCookies::read(&policy, [&header[..]]);
    assert_eq!(engine.decide(&returning, &view, NOW).reason, Reason::Hit);
    let draw = || [7u8; 24];
    let mut out = Lines(Vec::with_capacity(1024));
    let opens: [AtomicU64; TokenOutcome::ALL.len()] = Default::default();
    c.bench_function(name, |b| {
        b.iter(|| {
            let cookies = RequestCookies::read(&policy, [black_box(&header[..])]);
            let decision = if count_opens {
                engine.decide_observing(&cookies, &view, NOW, |outcome| {
                    opens[outcome.index()].fetch_add(1, Ordering::Relaxed);
                })
            } else {
                engine.decide(&cookies, &view, NOW)
            };
            out.0.clear();
            let nonce = Nonce::new(&draw);
            engine.response_cookies(&decision, TargetId(22), [], NOW, &nonce, &mut out);
            black_box(out.0.len())
        })
    });
}

fn sticky_request(c: &mut Criterion) {
    returning_client(
        c,
        "returning client, Classic LB cookie",
        CookieFlavour::Classic,
        false,
    );
    returning_client(
        c,
        "returning client, Classic LB cookie, token opens counted",
        CookieFlavour::Classic,
        true,
    );
    returning_client(
        c,
        "returning client, ALB LB cookie",
        CookieFlavour::Alb,
        false,
    );
    returning_client(
        c,
        "returning client, ALB LB cookie, token opens counted",
        CookieFlavour::Alb,
        true,
    );
}

criterion_group!(benches, sticky_request);
criterion_main!(benches);
