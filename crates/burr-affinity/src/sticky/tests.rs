//! The engine on a fake clock: every mode's cookies, lifetime edges (exactly at the idle and
//! absolute limits), failover, strict, fail-back, draining, rotation grace, and every reason.

use super::*;
use crate::token::KeyRing;
use burr_model::{Origin, Pool, Stickiness, Target};
use std::collections::HashMap;

pub(super) const T0: u64 = 1_800_000_000;

/// A pool view from a map: id → (index, standing).
pub(super) struct View(HashMap<TargetId, (usize, Standing)>);

impl View {
    pub(super) fn new(standings: &[(u64, Standing)]) -> Self {
        Self(
            standings
                .iter()
                .enumerate()
                .map(|(i, (id, s))| (TargetId(*id), (i, *s)))
                .collect(),
        )
    }
}

impl PoolView for View {
    fn find(&self, id: TargetId) -> Option<(usize, Standing)> {
        self.0.get(&id).copied()
    }
    fn standing_at(&self, index: usize) -> Option<Standing> {
        self.0.values().find(|(i, _)| *i == index).map(|(_, s)| *s)
    }
}

fn pool(configure: impl FnOnce(&mut Stickiness), origin: Origin) -> Pool {
    let mut p = Pool::new("web");
    p.origin = origin;
    p.targets = vec![Target {
        address: burr_model::TargetAddress::parse("127.0.0.1:1", None).unwrap(),
        weight: 1,
    }];
    configure(&mut p.stickiness);
    p
}

pub(super) fn policy(configure: impl FnOnce(&mut Stickiness)) -> Policy {
    Policy::of(&pool(configure, Origin::File)).expect("a cookie mode")
}

pub(super) fn lb_alb(secs: u32) -> Policy {
    policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.flavour = CookieFlavour::Alb;
        s.duration_secs = Some(secs);
    })
}

pub(super) fn ring() -> KeyRing {
    KeyRing::generate(T0 - 100, [42; 32], 3600)
}

/// The token value of cookie `name` among `set_cookies`.
fn value_of<'a>(set_cookies: &'a [String], name: &str) -> Option<&'a str> {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(name)?.strip_prefix('=')?.split(';').next())
}

/// First request without cookies, to target 7: the cookies the engine sets.
fn first_response(engine: &Engine<'_>, app_sets: &[&str], now: u64) -> Vec<String> {
    let view = View::new(&[(7, Standing::Available)]);
    let d = engine.decide(&RequestCookies::default(), &view, now);
    assert_eq!(d.route, Route::Choose);
    assert_eq!(d.reason, Reason::New);
    engine.cookies(
        &d,
        TargetId(7),
        app_sets.iter().copied(),
        now,
        &Nonce::fixed([1; 24]),
    )
}

impl SetCookies for Vec<String> {
    fn set_cookie(&mut self, pieces: &[&[u8]]) {
        self.push(String::from_utf8(pieces.concat()).expect("cookie text"));
    }
}

/// The engine's `Set-Cookie` values collected whole.
trait CollectCookies {
    fn cookies<'s>(
        &self,
        decision: &Decision,
        target: TargetId,
        app_set_cookies: impl IntoIterator<Item = &'s str>,
        now: u64,
        nonce: &Nonce<'_>,
    ) -> Vec<String>;
}

impl CollectCookies for Engine<'_> {
    fn cookies<'s>(
        &self,
        decision: &Decision,
        target: TargetId,
        app_set_cookies: impl IntoIterator<Item = &'s str>,
        now: u64,
        nonce: &Nonce<'_>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        self.response_cookies(decision, target, app_set_cookies, now, nonce, &mut out);
        out
    }
}

pub(super) fn request(token: &str) -> RequestCookies<'_> {
    RequestCookies {
        tokens: [token].into_iter().collect(),
        app_cookie_present: true,
        others_present: true,
    }
}

/// A cookie issued before token version 2 (a 136-character version-1 token with a 64-bit
/// session id) keeps its session, and the renewal moves it to a short version-2 token.
#[test]
fn a_version_1_cookie_keeps_its_session_and_is_renewed_as_version_2() {
    let p = lb_alb(600);
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let old = r.seal(
        &TokenBody {
            pool: p.pool,
            target: TargetId(8),
            home: TargetId(8),
            issued_at: T0 - 50,
            last_seen: T0 - 10,
            expires_at: 0,
            policy_generation: p.generation,
            arm: 0,
            session: 0xfeed_0000_0000_0042,
        },
        [9; 24],
    );
    assert_eq!(old.as_ref().len(), crate::token::V1_TOKEN_CHARS);
    let view = View::new(&[(7, Standing::Available), (8, Standing::Available)]);
    let hit = engine.decide(&request(old.as_str()), &view, T0);
    assert_eq!((hit.route, hit.reason), (Route::Pinned(1), Reason::Hit));
    let renewed = engine.cookies(&hit, TargetId(8), [], T0, &Nonce::fixed([2; 24]));
    let token = value_of(&renewed, "AWSALB").unwrap();
    assert_eq!(token.len(), crate::token::TOKEN_CHARS);
    let next = engine.decide(&request(token), &view, T0 + 1);
    assert_eq!((next.route, next.reason), (Route::Pinned(1), Reason::Hit));
    let session = next.session.unwrap();
    assert_eq!((session.issued_at, session.session), (T0 - 50, 0x42));
}

#[test]
fn alb_lb_cookie_is_set_on_every_response_and_lapses_exactly_at_its_idle_limit() {
    let p = lb_alb(600);
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let cookies = first_response(&engine, &[], T0);
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].starts_with("AWSALB="));
    assert!(cookies[0].contains("; Expires=") && cookies[0].contains("; Path=/"));
    assert!(cookies[1].starts_with("AWSALBCORS="));
    assert!(cookies[1].ends_with("; SameSite=None; Secure"));
    let token = value_of(&cookies, "AWSALB").unwrap().to_string();
    assert_eq!(value_of(&cookies, "AWSALBCORS"), Some(token.as_str()));

    let view = View::new(&[(7, Standing::Available), (8, Standing::Available)]);
    let hit = engine.decide(&request(&token), &view, T0 + 599);
    assert_eq!((hit.route, hit.reason), (Route::Pinned(0), Reason::Hit));
    let lapsed = engine.decide(&request(&token), &view, T0 + 600);
    assert_eq!(
        (lapsed.route, lapsed.reason),
        (Route::Choose, Reason::Expired)
    );

    // Each response renews: 599 s after the renewal it still holds.
    let renewed = engine.cookies(&hit, TargetId(7), [], T0 + 599, &Nonce::fixed([2; 24]));
    let token2 = value_of(&renewed, "AWSALB").unwrap();
    let again = engine.decide(&request(token2), &view, T0 + 599 + 599);
    assert_eq!(again.reason, Reason::Hit);
    assert_eq!(
        again.session.unwrap().issued_at,
        T0,
        "renewal keeps the pin time"
    );
    // Renewed again within the second it was renewed: the same value goes back, unsealed
    // (its contents would be identical); a second later it is sealed afresh.
    let same_second = engine.decide(&request(token2), &view, T0 + 599);
    let echoed = engine.cookies(
        &same_second,
        TargetId(7),
        [],
        T0 + 599,
        &Nonce::fixed([3; 24]),
    );
    assert_eq!(value_of(&echoed, "AWSALB"), Some(token2));
    assert_eq!(value_of(&echoed, "AWSALBCORS"), Some(token2));
    let resealed = engine.cookies(
        &again,
        TargetId(7),
        [],
        T0 + 599 + 599,
        &Nonce::fixed([3; 24]),
    );
    let token3 = value_of(&resealed, "AWSALB").unwrap();
    assert_ne!(token3, token2);
    assert_eq!(r.open(token3, T0).unwrap().last_seen, T0 + 599 + 599);
}

#[test]
fn classic_lb_cookie_is_set_once_with_max_age_and_lapses_exactly_at_its_period() {
    let p = policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.flavour = CookieFlavour::Classic;
        s.duration_secs = Some(60);
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let cookies = first_response(&engine, &[], T0);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("AWSELB="));
    assert!(
        cookies[0].ends_with("; Path=/; Max-Age=60"),
        "{}",
        cookies[0]
    );
    let token = value_of(&cookies, "AWSELB").unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    let hit = engine.decide(&request(token), &view, T0 + 59);
    assert_eq!(hit.reason, Reason::Hit);
    assert!(
        engine
            .cookies(&hit, TargetId(7), [], T0 + 59, &Nonce::fixed([3; 24]))
            .is_empty(),
        "Classic does not refresh its cookie"
    );
    assert_eq!(
        engine.decide(&request(token), &view, T0 + 60).reason,
        Reason::Expired
    );
}

#[test]
fn classic_period_zero_is_a_browser_session_cookie() {
    let p = policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.flavour = CookieFlavour::Classic;
        s.duration_secs = Some(0);
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let cookies = first_response(&engine, &[], T0);
    assert!(!cookies[0].contains("Max-Age") && !cookies[0].contains("Expires"));
    let token = value_of(&cookies, "AWSELB").unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    assert_eq!(
        engine
            .decide(&request(token), &view, T0 + 10_000_000)
            .reason,
        Reason::Hit
    );
}

#[test]
fn classic_app_cookie_follows_the_application_cookie() {
    let p = policy(|s| {
        s.kind = StickinessKind::AppCookie;
        s.flavour = CookieFlavour::Classic;
        s.cookie_name = Some("JSESSIONID".into());
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    // No app cookie in the response: nothing issued.
    assert!(first_response(&engine, &["other=1"], T0).is_empty());
    let cookies = first_response(
        &engine,
        &["JSESSIONID=abc; Path=/shop; HttpOnly; Max-Age=300; Priority=High"],
        T0,
    );
    assert_eq!(cookies.len(), 1);
    assert!(
        cookies[0].ends_with("; Path=/shop; HttpOnly; Max-Age=300"),
        "{}",
        cookies[0]
    );
    let token = value_of(&cookies, "AWSELB").unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    let hit = engine.decide(&request(token), &view, T0 + 299);
    assert_eq!(hit.reason, Reason::Hit);
    assert!(
        engine
            .cookies(&hit, TargetId(7), [], T0 + 299, &Nonce::fixed([0; 24]))
            .is_empty()
    );
    assert_eq!(
        engine.decide(&request(token), &view, T0 + 300).reason,
        Reason::Expired
    );
    // Without the application cookie the request is not sticky at all.
    let without_app = RequestCookies {
        tokens: [token].into_iter().collect(),
        app_cookie_present: false,
        others_present: false,
    };
    let d = engine.decide(&without_app, &view, T0 + 1);
    assert_eq!((d.route, d.reason), (Route::Choose, Reason::New));
}

#[test]
fn alb_app_cookie_lasts_seven_days_and_checks_the_duration_inside() {
    let p = policy(|s| {
        s.kind = StickinessKind::AppCookie;
        s.flavour = CookieFlavour::Alb;
        s.cookie_name = Some("session".into());
        s.duration_secs = Some(120);
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    assert!(first_response(&engine, &[], T0).is_empty());
    let cookies = first_response(&engine, &["session=xyz; Max-Age=5"], T0);
    assert_eq!(cookies.len(), 1);
    let expires = cookies::http_date(T0 + ALB_APP_COOKIE_SECS);
    assert!(cookies[0].starts_with("AWSALBAPP="));
    assert!(
        cookies[0].contains(&format!("; Expires={expires}")),
        "fixed 7 days, not copied"
    );
    assert!(!cookies[0].contains("Max-Age"));
    let token = value_of(&cookies, "AWSALBAPP").unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    let hit = engine.decide(&request(token), &view, T0 + 119);
    assert_eq!(hit.reason, Reason::Hit);
    let renewed = engine.cookies(&hit, TargetId(7), [], T0 + 119, &Nonce::fixed([0; 24]));
    assert_eq!(renewed.len(), 1, "every sticky response renews");
    let token2 = value_of(&renewed, "AWSALBAPP").unwrap();
    assert_ne!(token2, token);
    assert_eq!(
        engine.decide(&request(token), &view, T0 + 120).reason,
        Reason::Expired
    );
    // Renewed again within its second: sent back as it came; a second later, sealed afresh
    // and good for another 120 s.
    let same_second = engine.decide(&request(token2), &view, T0 + 119);
    let echoed = engine.cookies(
        &same_second,
        TargetId(7),
        [],
        T0 + 119,
        &Nonce::fixed([1; 24]),
    );
    assert_eq!(value_of(&echoed, "AWSALBAPP"), Some(token2));
    let later = engine.decide(&request(token2), &view, T0 + 120);
    assert_eq!(later.reason, Reason::Hit);
    let resealed = engine.cookies(&later, TargetId(7), [], T0 + 120, &Nonce::fixed([2; 24]));
    let token3 = value_of(&resealed, "AWSALBAPP").unwrap();
    assert_ne!(token3, token2);
    assert_eq!(r.open(token3, T0).unwrap().last_seen, T0 + 120);
}

#[test]
fn failover_repins_and_stays_on_the_new_target_after_recovery() {
    let p = lb_alb(3600);
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let down = View::new(&[(7, Standing::Down), (8, Standing::Available)]);
    let d = engine.decide(&request(&token), &down, T0 + 1);
    assert_eq!((d.route, d.reason), (Route::Choose, Reason::TargetDown));
    // The proxy chose target 8; the new cookie pins it.
    let moved = engine.cookies(&d, TargetId(8), [], T0 + 1, &Nonce::fixed([4; 24]));
    let token8 = value_of(&moved, "AWSALB").unwrap();
    let recovered = View::new(&[(7, Standing::Available), (8, Standing::Available)]);
    let d = engine.decide(&request(token8), &recovered, T0 + 2);
    assert_eq!((d.route, d.reason), (Route::Pinned(1), Reason::Hit));
    assert_eq!(
        d.session.unwrap().home,
        TargetId(7),
        "the first target is remembered"
    );
}

#[test]
fn fail_back_returns_to_the_first_target_once_healthy() {
    let p = policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.fail_back = true;
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let down = View::new(&[(7, Standing::Down), (8, Standing::Available)]);
    let d = engine.decide(&request(&token), &down, T0 + 1);
    let token8 = engine.cookies(&d, TargetId(8), [], T0 + 1, &Nonce::fixed([5; 24]));
    let token8 = value_of(&token8, "AWSALB").unwrap();
    // Still down: stays on 8.
    assert_eq!(
        engine.decide(&request(token8), &down, T0 + 2).reason,
        Reason::Hit
    );
    let recovered = View::new(&[(7, Standing::Available), (8, Standing::Available)]);
    let back = engine.decide(&request(token8), &recovered, T0 + 3);
    assert_eq!(
        (back.route, back.reason),
        (Route::Pinned(0), Reason::FailBack)
    );
    let home = engine.cookies(&back, TargetId(7), [], T0 + 3, &Nonce::fixed([6; 24]));
    let home = value_of(&home, "AWSALB").unwrap();
    assert_eq!(
        engine.decide(&request(home), &recovered, T0 + 4).reason,
        Reason::Hit
    );
}

#[test]
fn strict_pools_refuse_instead_of_repinning() {
    let p = policy(|s| {
        s.kind = StickinessKind::LbCookie;
        s.on_target_down = OnTargetDown::Strict;
    });
    let r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let down = View::new(&[(7, Standing::Down), (8, Standing::Available)]);
    let d = engine.decide(&request(&token), &down, T0 + 1);
    assert_eq!((d.route, d.reason), (Route::Refuse, Reason::Strict503));
    // A connect failure on the pinned target is the same.
    assert_eq!(engine.target_down(d.session).reason, Reason::Strict503);
}

#[test]
fn draining_targets_keep_sessions_until_the_deadline_or_reroute_at_once() {
    let honour = lb_alb(3600);
    let r = ring();
    let engine = Engine {
        policy: &honour,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let draining = View::new(&[
        (
            7,
            Standing::Draining {
                deadline: Some(T0 + 300),
            },
        ),
        (8, Standing::Available),
    ]);
    assert_eq!(
        engine.decide(&request(&token), &draining, T0 + 299).reason,
        Reason::Hit
    );
    assert_eq!(
        engine.decide(&request(&token), &draining, T0 + 300).reason,
        Reason::Draining
    );
    let weight_zero = View::new(&[(7, Standing::Draining { deadline: None })]);
    assert_eq!(
        engine
            .decide(&request(&token), &weight_zero, T0 + 10)
            .reason,
        Reason::Hit
    );

    let mut reroute = honour.clone();
    reroute.drain_mode = DrainMode::Reroute;
    let engine = Engine {
        policy: &reroute,
        ring: &r,
    };
    let d = engine.decide(&request(&token), &draining, T0 + 1);
    assert_eq!((d.route, d.reason), (Route::Choose, Reason::Draining));
}

#[test]
fn bad_tokens_are_no_cookie_with_their_reason_and_the_first_valid_copy_wins() {
    // A day-long session, so only the key, not the session, runs out in the rotation part.
    let p = lb_alb(86_400);
    let mut r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let view = View::new(&[(7, Standing::Available)]);
    let reason = |tokens: Vec<&str>, ring: &KeyRing, now| {
        Engine { policy: &p, ring }
            .decide(
                &RequestCookies {
                    tokens: tokens.into_iter().collect(),
                    app_cookie_present: false,
                    others_present: false,
                },
                &view,
                now,
            )
            .reason
    };
    let mut flipped = token.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(reason(vec![&flipped], &r, T0), Reason::Tampered);
    assert_eq!(reason(vec!["garbage"], &r, T0), Reason::Tampered);
    assert_eq!(reason(vec!["garbage", &token], &r, T0), Reason::Hit);
    assert_eq!(reason(vec![], &r, T0), Reason::New);
    // AWSALBCORS alone carries the session (a cross-origin request); AWSELB does not here.
    let read = |header: String| RequestCookies::read(&p, [header.as_bytes()]).tokens.len();
    assert_eq!(read(format!("x=1; AWSALBCORS={token}")), 1);
    assert_eq!(read(format!("AWSELB={token}")), 0);

    // Another pool's token, and a target no longer registered.
    let other = Policy::of(&{
        let mut other = pool(|s| s.kind = StickinessKind::LbCookie, Origin::File);
        other.name = "other".into();
        other
    })
    .unwrap();
    let foreign = Engine {
        policy: &other,
        ring: &r,
    }
    .cookies(
        &Decision {
            route: Route::Choose,
            reason: Reason::New,
            session: None,
            presented: None,
        },
        TargetId(7),
        [],
        T0,
        &Nonce::fixed([9; 24]),
    );
    let foreign = value_of(&foreign, "AWSALB").unwrap();
    assert_eq!(reason(vec![foreign], &r, T0), Reason::UnknownTarget);
    let gone = View::new(&[(8, Standing::Available)]);
    assert_eq!(
        engine.decide(&request(&token), &gone, T0).reason,
        Reason::UnknownTarget
    );

    // A policy change retires earlier tokens.
    let changed = lb_alb(1800);
    assert_eq!(
        Engine {
            policy: &changed,
            ring: &r,
        }
        .decide(&request(&token), &view, T0)
        .reason,
        Reason::Expired
    );

    // Rotation: the old key's tokens hold through the grace, then count as expired.
    r.rotate(T0 + 10, [7; 32]);
    assert_eq!(reason(vec![&token], &r, T0 + 10 + 3599), Reason::Hit);
    assert_eq!(reason(vec![&token], &r, T0 + 10 + 3600), Reason::Expired);
}

#[test]
fn every_reason_has_a_distinct_label() {
    let labels: std::collections::HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(labels.len(), Reason::ALL.len());
    for (i, r) in Reason::ALL.iter().enumerate() {
        assert_eq!(r.index(), i);
    }
}

#[test]
fn reading_cookies_notes_whether_anything_but_burrs_was_sent() {
    let p = lb_alb(60);
    let read = |header: &'static str| RequestCookies::read(&p, [header.as_bytes()]);
    assert!(!read("AWSALB=x").others_present);
    assert!(!read("AWSALB=x; AWSALBCORS=x").others_present);
    assert!(read("AWSALB=x; a=1").others_present);
    // A nameless cookie is sent as its bare value.
    assert!(read("AWSALB=x; bare").others_present);
    assert_eq!(read("a=1").tokens.len(), 0);
}
