//! The canary split's rules at explicit instants.

use super::*;
use crate::token::{KeyRing, NONCE_BYTES};

const IDLE: u32 = 300;
const MAX: u32 = 600;

fn ring() -> KeyRing {
    KeyRing::generate(0, [7; 32], 60)
}

fn split(generation: u32) -> WeightSplit {
    WeightSplit::new(
        "policy-a",
        generation,
        0.15,
        Some(Sticky {
            idle_ttl_secs: IDLE,
            maximum_ttl_secs: MAX,
        }),
    )
}

/// A `Cookie` field carrying `body` sealed.
fn cookie(ring: &KeyRing, body: &TokenBody) -> String {
    format!("a=1; {COOKIE}={}", seal(ring, body, [5; NONCE_BYTES]))
}

/// What a request with the `Cookie` field `field` at `now` gets (random 0: staging if drawn).
fn visit(split: &WeightSplit, ring: &KeyRing, field: &str, now: u64) -> Choice {
    let held = split.held_in(ring, field.as_bytes(), now);
    split.choose(held, presents(field.as_bytes()), now, u64::MAX, 42)
}

/// A session begun at `start` on the primary (random u64::MAX never draws staging).
fn begin(split: &WeightSplit, start: u64) -> TokenBody {
    let choice = split.choose(None, false, start, u64::MAX, 9);
    assert_eq!(choice.decision, Decision::New);
    assert_eq!(choice.arm, Arm::Primary);
    choice.reseal.expect("a new session seals")
}

#[test]
fn a_new_session_binds_the_policy_generation_and_arm() {
    let s = split(3);
    let choice = s.choose(None, false, 1000, 0, 0xffff_ffff_ffff_ffff);
    assert_eq!(choice.arm, Arm::Staging);
    let body = choice.reseal.unwrap();
    assert_eq!(body.pool, PoolId::of("policy-a"));
    assert_eq!((body.target, body.home), (TargetId(0), TargetId(0)));
    assert_eq!(body.policy_generation, 3);
    assert_eq!(body.arm, 2);
    assert_eq!((body.issued_at, body.last_seen), (1000, 1000));
    assert_eq!(body.expires_at, 1000 + u64::from(IDLE));
    assert_eq!(body.session >> SESSION_BITS, 0);
}

#[test]
fn idle_just_under_idle_ttl_keeps_just_over_draws_again() {
    let (s, ring) = (split(1), ring());
    let body = begin(&s, 1000);
    let field = cookie(&ring, &body);
    let under = visit(&s, &ring, &field, 1000 + u64::from(IDLE) - 1);
    assert_eq!(under.decision, Decision::Kept);
    assert_eq!(under.arm, Arm::Primary);
    let over = visit(&s, &ring, &field, 1000 + u64::from(IDLE) + 1);
    assert_eq!(over.decision, Decision::Expired);
    // Exactly IdleTTL idle: the session has ended (now < expires_at no longer holds).
    let at = visit(&s, &ring, &field, 1000 + u64::from(IDLE));
    assert_eq!(at.decision, Decision::Expired);
}

#[test]
fn renewal_slides_the_idle_end_and_keeps_issued_at() {
    let (s, ring) = (split(1), ring());
    let body = begin(&s, 1000);
    let renewed = visit(&s, &ring, &cookie(&ring, &body), 1200)
        .reseal
        .expect("the second changed");
    assert_eq!((renewed.issued_at, renewed.last_seen), (1000, 1200));
    assert_eq!(renewed.expires_at, 1200 + u64::from(IDLE));
    assert_eq!(renewed.session, body.session);
    // 299 s after the renewal (499 after the start) it still holds.
    let later = visit(&s, &ring, &cookie(&ring, &renewed), 1499);
    assert_eq!(later.decision, Decision::Kept);
}

#[test]
fn no_reseal_within_the_same_second() {
    let (s, ring) = (split(1), ring());
    let body = begin(&s, 1000);
    let same = visit(&s, &ring, &cookie(&ring, &body), 1000);
    assert_eq!(same.decision, Decision::Kept);
    assert_eq!(same.reseal, None);
}

#[test]
fn maximum_ttl_ends_an_active_session() {
    let (s, ring) = (split(1), ring());
    let mut body = begin(&s, 1000);
    let mut now = 1000;
    // A request every 250 s: never idle, yet the session ends at issued_at + MaximumTTL.
    while now + 250 < 1000 + u64::from(MAX) {
        now += 250;
        let choice = visit(&s, &ring, &cookie(&ring, &body), now);
        assert_eq!(choice.decision, Decision::Kept, "at {now}");
        body = choice.reseal.unwrap();
    }
    assert_eq!(
        body.expires_at,
        1000 + u64::from(MAX),
        "capped by MaximumTTL"
    );
    let at_max = visit(&s, &ring, &cookie(&ring, &body), 1000 + u64::from(MAX));
    assert_eq!(at_max.decision, Decision::Expired);
    let fresh = at_max.reseal.unwrap();
    assert_eq!(fresh.issued_at, 1000 + u64::from(MAX));
}

#[test]
fn a_generation_bump_ends_every_session() {
    let ring = ring();
    let body = begin(&split(1), 1000);
    let field = cookie(&ring, &body);
    assert_eq!(
        visit(&split(1), &ring, &field, 1001).decision,
        Decision::Kept
    );
    let bumped = visit(&split(2), &ring, &field, 1001);
    assert_eq!(bumped.decision, Decision::Expired);
    assert_eq!(bumped.reseal.unwrap().policy_generation, 2);
}

#[test]
fn a_token_of_another_policy_or_a_group_token_does_not_hold() {
    let ring = ring();
    let other = WeightSplit::new("policy-b", 1, 0.15, split(1).sticky);
    let body = begin(&other, 1000);
    let field = cookie(&ring, &body);
    assert_eq!(
        visit(&split(1), &ring, &field, 1001).decision,
        Decision::Expired
    );
    // A target token of a pool that happens to share the id (target ≠ 0) does not either.
    let target = TokenBody {
        target: TargetId(5),
        ..begin(&split(1), 1000)
    };
    let field = cookie(&ring, &target);
    assert_eq!(
        visit(&split(1), &ring, &field, 1001).decision,
        Decision::Expired
    );
    // Nor an arm other than 1 and 2.
    let armless = TokenBody {
        arm: 0,
        ..begin(&split(1), 1000)
    };
    let field = cookie(&ring, &armless);
    assert_eq!(
        visit(&split(1), &ring, &field, 1001).decision,
        Decision::Expired
    );
}

#[test]
fn a_tampered_or_foreign_token_is_a_new_draw() {
    let ring = ring();
    let s = split(1);
    let token = seal(&ring, &begin(&s, 1000), [5; NONCE_BYTES]);
    let mut text = token.as_str().as_bytes().to_vec();
    let i = text.len() / 2;
    text[i] = if text[i] == b'A' { b'B' } else { b'A' };
    let field = format!("{COOKIE}={}", String::from_utf8(text).unwrap());
    assert_eq!(visit(&s, &ring, &field, 1001).decision, Decision::Expired);
    let field = format!("{COOKIE}=garbage");
    assert_eq!(visit(&s, &ring, &field, 1001).decision, Decision::Expired);
    let other_ring = KeyRing::generate(0, [8; 32], 60);
    let field = format!("{COOKIE}={token}");
    assert_eq!(
        visit(&s, &other_ring, &field, 1001).decision,
        Decision::Expired
    );
    assert_eq!(visit(&s, &ring, "b=2", 1001).decision, Decision::New);
}

#[test]
fn weight_zero_never_draws_staging() {
    let s = WeightSplit::new("p", 0, 0.0, None);
    assert_eq!(s.threshold, 0);
    for r in [0, 1, u64::MAX / 2, u64::MAX] {
        assert_eq!(s.draw(r), Arm::Primary);
    }
    // Without stickiness: no token.
    let c = s.choose(None, false, 5, 0, 0);
    assert_eq!(
        (c.arm, c.decision, c.reseal),
        (Arm::Primary, Decision::Stateless, None)
    );
}

#[test]
fn the_threshold_is_weight_times_two_to_the_64() {
    assert_eq!(threshold(0.5), 1 << 63);
    assert_eq!(threshold(0.25), 1 << 62);
    assert_eq!(threshold(1.5), u64::MAX);
    assert_eq!(threshold(-0.1), 0);
    let s = WeightSplit::new("p", 0, 0.25, None);
    assert_eq!(s.draw((1 << 62) - 1), Arm::Staging);
    assert_eq!(s.draw(1 << 62), Arm::Primary);
}

#[test]
fn header_routing_is_exact() {
    assert_eq!(header_arm([&b"yes"[..]], b"yes"), Arm::Staging);
    assert_eq!(header_arm([&b"Yes"[..]], b"yes"), Arm::Primary);
    assert_eq!(header_arm([&b"yes "[..]], b"yes"), Arm::Primary);
    assert_eq!(header_arm(std::iter::empty(), b"yes"), Arm::Primary);
    assert_eq!(header_arm([&b"no"[..], b"yes"], b"yes"), Arm::Staging);
}

#[test]
fn writes_a_session_cookie() {
    struct Lines(Vec<String>);
    impl SetCookies for Lines {
        fn set_cookie(&mut self, pieces: &[&[u8]]) {
            self.0.push(String::from_utf8(pieces.concat()).unwrap());
        }
    }
    let ring = ring();
    let token = seal(&ring, &begin(&split(1), 1), [1; NONCE_BYTES]);
    let mut lines = Lines(Vec::new());
    set_cookie(&token, false, &mut lines);
    set_cookie(&token, true, &mut lines);
    assert_eq!(
        lines.0,
        [
            format!("{COOKIE}={token}; Path=/; HttpOnly"),
            format!("{COOKIE}={token}; Path=/; HttpOnly; Secure"),
        ]
    );
}
