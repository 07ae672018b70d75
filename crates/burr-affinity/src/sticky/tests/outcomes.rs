//! The outcome the engine reports for each token it opens (`burr_token_opens_total`), with the
//! helpers of the engine's tests.

use super::*;

/// Every token tried is reported once with why it held or not; the engine stops at the first
/// that holds, and a rotated-out key's grace opens are told apart from the active key's.
#[test]
fn each_token_opened_is_observed_with_its_outcome() {
    let p = lb_alb(600);
    let mut r = ring();
    let engine = Engine {
        policy: &p,
        ring: &r,
    };
    let token = value_of(&first_response(&engine, &[], T0), "AWSALB")
        .unwrap()
        .to_string();
    let mut flipped = token.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let view = View::new(&[(7, Standing::Available)]);
    let outcomes = |policy: &Policy, ring: &KeyRing, tokens: Vec<&str>, now| {
        let mut seen = Vec::new();
        Engine { policy, ring }.decide_observing(
            &RequestCookies {
                tokens: tokens.into_iter().collect(),
                app_cookie_present: false,
                others_present: false,
            },
            &view,
            now,
            |o| seen.push(o),
        );
        seen
    };
    use TokenOutcome::*;
    assert_eq!(outcomes(&p, &r, vec![], T0), vec![]);
    assert_eq!(
        outcomes(&p, &r, vec!["garbage", &flipped, &token, &token], T0),
        vec![Malformed, Tampered, Ok]
    );
    assert_eq!(outcomes(&p, &r, vec![&token], T0 + 600), vec![Expired]);
    assert_eq!(
        outcomes(&lb_alb(1800), &r, vec![&token], T0),
        vec![PolicyChanged]
    );
    r.rotate(T0 + 10, [7; 32]);
    assert_eq!(outcomes(&p, &r, vec![&token], T0 + 20), vec![OkPreviousKey]);
    assert_eq!(
        outcomes(&p, &r, vec![&token], T0 + 10 + 3600),
        vec![KeyRetired]
    );
    // A ring that dropped key 1 (rotated out twice, past its grace): the token names a key
    // it does not hold.
    let mut stranger = KeyRing::generate(T0 - 100, [1; 32], 10);
    stranger.rotate(T0 - 50, [2; 32]);
    stranger.rotate(T0, [3; 32]);
    assert_eq!(outcomes(&p, &stranger, vec![&token], T0), vec![UnknownKey]);
}
