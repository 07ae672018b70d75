//! Target group stickiness: which pool of a weighted forward action (ALB's `ForwardConfig`
//! with several target groups) a request goes to, and the `AWSALBTG` cookie that keeps a client
//! on the pool first chosen for it.
//!
//! A request without a usable group cookie gets a pool drawn with probability proportional to
//! its weight (the caller brings the random number). A request with one goes back to the pool
//! the cookie names as long as that pool is still one of the action's, *even at weight 0*: ALB
//! documents weight 0 as "no new traffic", and group-sticky clients are not new. A cookie that
//! does not open, has expired, or names a pool the action no longer has, counts as no cookie.
//!
//! The cookie value is one of burr's sealed tokens ([`crate::token`]) naming the pool by its
//! [`PoolId`], with target 0 (no target token has it, so a target cookie's value is never taken
//! for a group's, nor the other way round) and `expires_at` the end of its duration: the server
//! checks expiry itself rather than trusting the browser to drop the cookie. Every response of
//! the action renews it (`Expires` = now + duration, ALB's sliding window), as `AWSALBTG` and as
//! `AWSALBTGCORS` (`SameSite=None; Secure`, for cross-origin requests, read alike).

use crate::cookies;
use crate::sticky::SetCookies;
use crate::token::{KeyRing, NONCE_BYTES, TokenBody, TokenText};
use burr_model::{PoolId, TargetId};

/// The group cookie, and its cross-origin twin.
pub const GROUP_COOKIE: &str = "AWSALBTG";
pub const GROUP_CORS_COOKIE: &str = "AWSALBTGCORS";
/// Both names, stripped from the `Cookie` header targets see.
pub const GROUP_COOKIES: &[&str] = &[GROUP_COOKIE, GROUP_CORS_COOKIE];

/// The pool a request goes to, as an index into the action's pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupChoice {
    pub index: usize,
    /// Chosen by a valid group cookie (false: drawn by weight).
    pub kept: bool,
}

/// The index drawn by weight: `random` reduced modulo the sum of the weights (at most 5 × 999,
/// so the modulo bias is below 2^-51); `None` when every weight is 0.
pub fn weighted_index(weights: impl Iterator<Item = u32> + Clone, random: u64) -> Option<usize> {
    let total: u64 = weights.clone().map(u64::from).sum();
    if total == 0 {
        return None;
    }
    let mut point = random % total;
    for (i, w) in weights.enumerate() {
        let w = u64::from(w);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    None // unreachable: point < total
}

/// The pool for a request whose `Cookie` fields are `cookie_fields`, among `pools` (id and
/// weight, the action's order); `None` when no cookie holds and every weight is 0.
pub fn choose<'a>(
    ring: &KeyRing,
    cookie_fields: impl IntoIterator<Item = &'a [u8]>,
    pools: &[(PoolId, u32)],
    now: u64,
    random: u64,
) -> Option<GroupChoice> {
    if let Some(index) = cookie_fields
        .into_iter()
        .find_map(|field| kept_index(ring, field, pools, now))
    {
        return Some(GroupChoice { index, kept: true });
    }
    weighted_index(pools.iter().map(|(_, w)| *w), random)
        .map(|index| GroupChoice { index, kept: false })
}

/// The pool a valid group cookie in the `Cookie` field `field` keeps the client on, if any:
/// [`choose`]'s first step, one field at a time, for callers that read fields through a
/// callback.
pub fn kept_index(
    ring: &KeyRing,
    field: &[u8],
    pools: &[(PoolId, u32)],
    now: u64,
) -> Option<usize> {
    cookies::segments(field)
        .filter_map(cookies::pair)
        .filter(|(name, _)| GROUP_COOKIES.iter().any(|n| n.as_bytes() == *name))
        .filter_map(|(_, value)| ring.open(value, now).ok())
        .filter(|token| token.target == TargetId(0) && now < token.expires_at)
        .find_map(|token| pools.iter().position(|(id, _)| *id == token.pool))
}

/// Whether a request carries a group cookie (so the `Cookie` header needs stripping).
pub fn has_group_cookie<'a>(cookie_fields: impl IntoIterator<Item = &'a [u8]>) -> bool {
    cookie_fields
        .into_iter()
        .flat_map(cookies::segments)
        .filter_map(cookies::pair)
        .any(|(name, _)| GROUP_COOKIES.iter().any(|n| n.as_bytes() == name))
}

/// The token for a client kept on `pool` for `duration_secs` from `now`.
pub fn seal(
    ring: &KeyRing,
    pool: PoolId,
    now: u64,
    duration_secs: u32,
    nonce: [u8; NONCE_BYTES],
) -> TokenText {
    let body = TokenBody {
        pool,
        target: TargetId(0),
        home: TargetId(0),
        issued_at: now,
        last_seen: now,
        expires_at: now + u64::from(duration_secs),
        policy_generation: 0,
        arm: 0,
        session: 0,
    };
    ring.seal(&body, nonce)
}

/// Writes both group cookies carrying `token`, expiring `duration_secs` after `now`.
pub fn set_cookies(token: &TokenText, now: u64, duration_secs: u32, out: &mut impl SetCookies) {
    let expires = cookies::HttpDate::of(now + u64::from(duration_secs));
    let expires = expires.as_ref();
    let token = token.as_ref();
    out.set_cookie(&[
        GROUP_COOKIE.as_bytes(),
        b"=",
        token,
        b"; Expires=",
        expires,
        b"; Path=/",
    ]);
    out.set_cookie(&[
        GROUP_CORS_COOKIE.as_bytes(),
        b"=",
        token,
        b"; Expires=",
        expires,
        b"; Path=/; SameSite=None; Secure",
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::generate(0, [3; 32], 60)
    }

    const A: PoolId = PoolId(11);
    const B: PoolId = PoolId(22);

    #[test]
    fn draws_by_weight_and_none_when_all_are_zero() {
        // Weights 1 and 3: the points 0 go to the first, 1..=3 to the second.
        let w = [1u32, 3];
        let picks: Vec<_> = (0..8)
            .map(|r| weighted_index(w.iter().copied(), r))
            .collect();
        let expected = [0, 1, 1, 1, 0, 1, 1, 1].map(Some);
        assert_eq!(picks, expected);
        assert_eq!(weighted_index([0u32, 0].iter().copied(), 5), None);
        assert_eq!(weighted_index([0u32, 7].iter().copied(), 5), Some(1));
    }

    #[test]
    fn a_valid_cookie_keeps_its_pool_even_at_weight_zero() {
        let ring = ring();
        let token = seal(&ring, B, 100, 60, [1; NONCE_BYTES]);
        let header = format!("x=1; AWSALBTG={token}");
        let pools = [(A, 5), (B, 0)];
        let got = choose(&ring, [header.as_bytes()], &pools, 120, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 1,
                kept: true
            })
        );
        // The CORS twin alone is read too.
        let header = format!("AWSALBTGCORS={token}");
        let got = choose(&ring, [header.as_bytes()], &pools, 120, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 1,
                kept: true
            })
        );
    }

    #[test]
    fn expired_foreign_or_removed_cookies_count_as_none() {
        let ring = ring();
        let token = seal(&ring, B, 100, 60, [1; NONCE_BYTES]);
        let header = format!("AWSALBTG={token}");
        // Expired (the server checks, whatever the browser does).
        let got = choose(&ring, [header.as_bytes()], &[(A, 1), (B, 1)], 160, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 0,
                kept: false
            })
        );
        // The pool is no longer in the action: drawn again by weight.
        let got = choose(&ring, [header.as_bytes()], &[(A, 1)], 120, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 0,
                kept: false
            })
        );
        // Another ring's token does not open.
        let other = KeyRing::generate(0, [4; 32], 60);
        let got = choose(&other, [header.as_bytes()], &[(A, 0), (B, 1)], 120, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 1,
                kept: false
            })
        );
        // Every weight 0 and no cookie: nowhere.
        assert_eq!(
            choose(&ring, [&b"y=2"[..]], &[(A, 0), (B, 0)], 120, 0),
            None
        );
    }

    #[test]
    fn a_target_token_is_not_a_group_token() {
        let ring = ring();
        let body = TokenBody {
            pool: B,
            target: TargetId(9),
            home: TargetId(9),
            issued_at: 100,
            last_seen: 100,
            expires_at: 0,
            policy_generation: 1,
            arm: 0,
            session: 1,
        };
        let token = ring.seal(&body, [2; NONCE_BYTES]);
        let header = format!("AWSALBTG={token}");
        let got = choose(&ring, [header.as_bytes()], &[(A, 1), (B, 0)], 120, 0);
        assert_eq!(
            got,
            Some(GroupChoice {
                index: 0,
                kept: false
            })
        );
    }

    #[test]
    fn writes_both_cookies_with_expires() {
        struct Lines(Vec<String>);
        impl SetCookies for Lines {
            fn set_cookie(&mut self, pieces: &[&[u8]]) {
                self.0.push(String::from_utf8(pieces.concat()).unwrap());
            }
        }
        let ring = ring();
        let token = seal(&ring, A, 0, 60, [1; NONCE_BYTES]);
        let mut lines = Lines(Vec::new());
        set_cookies(&token, 0, 60, &mut lines);
        assert_eq!(
            lines.0,
            [
                format!("AWSALBTG={token}; Expires=Thu, 01 Jan 1970 00:01:00 GMT; Path=/"),
                format!(
                    "AWSALBTGCORS={token}; Expires=Thu, 01 Jan 1970 00:01:00 GMT; Path=/; \
                     SameSite=None; Secure"
                ),
            ]
        );
        assert_eq!(token.as_str().len(), crate::token::TOKEN_CHARS);
    }
}
