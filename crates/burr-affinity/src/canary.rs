//! The staged-rollout split of a CloudFront continuous-deployment policy: which arm (the
//! primary distribution or its staging copy) a request goes to, and the session cookie
//! `x-amz-continuous-deployment-state` that keeps a viewer on the arm it landed on.
//!
//! `SingleWeight` draws staging with probability `Weight` (a 64-bit threshold compared with a
//! uniform random number the caller brings). With `SessionStickinessConfig` the draw is made
//! once per session: the cookie carries one of burr's sealed tokens ([`crate::token`]) naming
//! the policy by [`PoolId::of`] its id, target 0, the arm (1 primary, 2 staging), the policy's
//! generation, the session's start (`issued_at`), its last renewal (`last_seen`) and its end
//! `min(issued_at + MaximumTTL, last_seen + IdleTTL)`. A token holds while it opens, names
//! this policy at this generation and `now < expires_at`; anything else is a new session with
//! a new draw. Renewal re-seals only when the second changed, since the token counts whole
//! seconds: requests within one second cost no sealing. `SingleHeader` sends to staging exactly
//! the requests carrying the header with the configured value; no cookie.

use crate::cookies;
use crate::sticky::SetCookies;
use crate::token::{KeyRing, SESSION_BITS, TokenBody, TokenText};
use burr_model::{PoolId, TargetId};

/// The session cookie's name (CloudFront's).
pub const COOKIE: &str = "x-amz-continuous-deployment-state";
/// As a list, for stripping from the `Cookie` header targets see.
pub const COOKIES: &[&str] = &[COOKIE];

/// Which distribution serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    Primary = 1,
    Staging = 2,
}

impl Arm {
    /// The value of the arm header, and the metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Staging => "staging",
        }
    }

    /// Index into per-arm counters.
    pub fn index(self) -> usize {
        self as usize - 1
    }

    fn of(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Primary),
            2 => Some(Self::Staging),
            _ => None,
        }
    }
}

/// `SessionStickinessConfig`, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sticky {
    pub idle_ttl_secs: u32,
    pub maximum_ttl_secs: u32,
}

/// How a session decision went (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A token held: the viewer stays on its arm.
    Kept,
    /// No cookie: a new session.
    New,
    /// A cookie that no longer holds (idle, too old, another generation or policy, or not a
    /// token at all): a new session.
    Expired,
    /// No stickiness (each request drawn) or header routing.
    Stateless,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Self::Kept, Self::New, Self::Expired];

    pub fn name(self) -> &'static str {
        match self {
            Self::Kept => "kept",
            Self::New => "new",
            Self::Expired => "expired",
            Self::Stateless => "stateless",
        }
    }

    /// Index into [`Decision::ALL`]; `None` for stateless.
    pub fn index(self) -> Option<usize> {
        Self::ALL.iter().position(|d| *d == self)
    }
}

/// The arm of a request, and the token to seal into its response's cookie when one is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub arm: Arm,
    pub decision: Decision,
    /// Set: the response carries a cookie with this body sealed.
    pub reseal: Option<TokenBody>,
}

/// The staging share as a threshold on a uniform `u64`: `weight × 2^64`, saturating (a weight
/// of 0 or less is 0, so nothing is ever below it).
pub fn threshold(weight: f64) -> u64 {
    // `as` saturates, and maps NaN to 0.
    (weight * 18_446_744_073_709_551_616.0) as u64
}

/// A `SingleWeight` policy compiled for request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightSplit {
    /// `PoolId::of(policy id)`: binds tokens to the policy.
    pub pool: PoolId,
    pub generation: u32,
    /// Staging iff `random < threshold`.
    pub threshold: u64,
    pub sticky: Option<Sticky>,
}

impl WeightSplit {
    pub fn new(policy_id: &str, generation: u32, weight: f64, sticky: Option<Sticky>) -> Self {
        Self {
            pool: PoolId::of(policy_id),
            generation,
            threshold: threshold(weight),
            sticky,
        }
    }

    /// The arm a draw of `random` picks.
    pub fn draw(&self, random: u64) -> Arm {
        if random < self.threshold {
            Arm::Staging
        } else {
            Arm::Primary
        }
    }

    /// Whether `token` keeps a session of this policy at `now`.
    pub fn holds(&self, token: &TokenBody, now: u64) -> bool {
        token.pool == self.pool
            && token.target == TargetId(0)
            && token.policy_generation == self.generation
            && Arm::of(token.arm).is_some()
            && now < token.expires_at
    }

    /// The session token in the `Cookie` field `field` that holds at `now`, if any.
    pub fn held_in(&self, ring: &KeyRing, field: &[u8], now: u64) -> Option<TokenBody> {
        self.look(ring, field, now).1
    }

    /// One pass over the `Cookie` field `field`: whether it carries the session cookie at all
    /// ([`presents`]), and the token in it that holds at `now` ([`WeightSplit::held_in`]).
    pub fn look(&self, ring: &KeyRing, field: &[u8], now: u64) -> (bool, Option<TokenBody>) {
        let mut presented = false;
        let held = cookies::segments(field)
            .filter_map(cookies::pair)
            .filter(|(name, _)| *name == COOKIE.as_bytes())
            .inspect(|_| presented = true)
            .filter_map(|(_, value)| ring.open(value, now).ok())
            .find(|token| self.holds(token, now));
        (presented, held)
    }

    /// The arm for a request. `held`: the token [`WeightSplit::held_in`] found; `presented`:
    /// whether the request had the cookie at all; `random` draws the arm and `session` (random
    /// too) names a new session.
    pub fn choose(
        &self,
        held: Option<TokenBody>,
        presented: bool,
        now: u64,
        random: u64,
        session: u64,
    ) -> Choice {
        let Some(sticky) = self.sticky else {
            return Choice {
                arm: self.draw(random),
                decision: Decision::Stateless,
                reseal: None,
            };
        };
        let end = |issued_at: u64, last_seen: u64| {
            (issued_at + u64::from(sticky.maximum_ttl_secs))
                .min(last_seen + u64::from(sticky.idle_ttl_secs))
        };
        if let Some(token) = held
            && let Some(arm) = Arm::of(token.arm)
        {
            // Whole seconds: within the same second the presented token is as good as new.
            let reseal = (token.last_seen != now).then(|| TokenBody {
                last_seen: now,
                expires_at: end(token.issued_at, now),
                ..token
            });
            return Choice {
                arm,
                decision: Decision::Kept,
                reseal,
            };
        }
        let arm = self.draw(random);
        Choice {
            arm,
            decision: if presented {
                Decision::Expired
            } else {
                Decision::New
            },
            reseal: Some(TokenBody {
                pool: self.pool,
                target: TargetId(0),
                home: TargetId(0),
                issued_at: now,
                last_seen: now,
                expires_at: end(now, now),
                policy_generation: self.generation,
                arm: arm as u8,
                session: session & ((1 << SESSION_BITS) - 1),
            }),
        }
    }
}

/// Whether the `Cookie` field `field` carries the session cookie (so it needs stripping).
pub fn presents(field: &[u8]) -> bool {
    cookies::segments(field)
        .filter_map(cookies::pair)
        .any(|(name, _)| name == COOKIE.as_bytes())
}

/// `SingleHeader`: staging iff one of the header's values is exactly `expected` (values compare
/// case-sensitively, as CloudFront's; the caller finds the header by name in any case).
pub fn header_arm<'a>(values: impl IntoIterator<Item = &'a [u8]>, expected: &[u8]) -> Arm {
    if values.into_iter().any(|v| v == expected) {
        Arm::Staging
    } else {
        Arm::Primary
    }
}

/// Writes the session cookie: a browser-session cookie (the token carries its own end),
/// `Secure` on HTTPS listeners only, so plain-HTTP viewers keep it.
pub fn set_cookie(token: &TokenText, secure: bool, out: &mut impl SetCookies) {
    let secure: &[u8] = if secure { b"; Secure" } else { b"" };
    out.set_cookie(&[
        COOKIE.as_bytes(),
        b"=",
        token.as_ref(),
        b"; Path=/; HttpOnly",
        secure,
    ]);
}

/// Seals `body` (fresh `nonce`).
pub fn seal(ring: &KeyRing, body: &TokenBody, nonce: [u8; crate::token::NONCE_BYTES]) -> TokenText {
    ring.seal(body, nonce)
}

#[cfg(test)]
mod tests;
