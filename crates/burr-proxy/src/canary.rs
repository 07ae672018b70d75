//! The staged-rollout split on the data plane: CloudFront front ends compiled into the runtime,
//! a primary's listener given its policy and the staging arm's rules ([`Canary`]), and the one
//! routing step both HTTP paths take ([`route`]): choose the arm, then evaluate that arm's rules
//! with [`actions::route`].
//!
//! The arm's decision leaves marks on the exchange ([`Extras`]): the session cookie
//! `x-amz-continuous-deployment-state` and the optional arm header on the response (forwarded
//! or answered by burr itself), and, on the request targets see, no session cookie and no
//! `SingleHeader` routing header unless the policy forwards it. Everything here is per
//! snapshot: a policy disabled, deleted or detached compiles to no [`Canary`], so the next
//! request on any connection, kept-alive ones included, goes to the primary.

use crate::actions::{self, ActionContext, CompiledRules, GroupCookie, RequestContext, Routed};
use crate::clock::Clock;
use crate::metrics::ListenerStats;
use crate::routing::{HeaderSource, RequestView};
use crate::runtime::{ListenerKey, ListenerRuntime, PoolRuntime};
use arc_swap::ArcSwap;
use burr_affinity::canary::{self as split, Arm, Sticky, WeightSplit};
use burr_affinity::groups;
use burr_affinity::sticky::SetCookies;
use burr_affinity::token::{KeyRing, TokenText};
use burr_model::State;
use burr_model::cloudfront::{self, DeploymentPolicy, TrafficConfig};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How a primary's listener splits.
enum Split {
    Weight(WeightSplit),
    /// `SingleHeader`: the header's name (lower case) and the exact value.
    Header {
        name: HeaderName,
        value: Vec<u8>,
    },
}

/// A continuous-deployment policy on a primary's listener.
pub struct Canary {
    pub policy_id: String,
    split: Split,
    /// The staging distribution's listener on the same port, compiled like the primary's.
    pub staging: CompiledRules,
    arm_header: Option<HeaderName>,
    forward_routing_header: bool,
    keys: Arc<ArcSwap<KeyRing>>,
    clock: Arc<Clock>,
}

/// What the request sent to a target loses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Strip<'l> {
    /// The `AWSALBTG*` group cookies (some action of the arm's rules keeps them).
    pub group_cookies: bool,
    /// The canary session cookie.
    pub canary_cookie: bool,
    /// The `SingleHeader` routing header.
    pub header: Option<&'l HeaderName>,
}

/// Every cookie name burr may strip, for a field that has both kinds.
const ALL_COOKIES: &[&str] = &[
    groups::GROUP_COOKIE,
    groups::GROUP_CORS_COOKIE,
    split::COOKIE,
];

impl Strip<'_> {
    /// The cookie names to remove from a `Cookie` field, when it carries one of them.
    pub fn cookies_in(&self, field: &[u8]) -> Option<&'static [&'static str]> {
        let group = self.group_cookies && groups::has_group_cookie([field]);
        let canary = self.canary_cookie && split::presents(field);
        match (group, canary) {
            (false, false) => None,
            (true, false) => Some(groups::GROUP_COOKIES),
            (false, true) => Some(split::COOKIES),
            (true, true) => Some(ALL_COOKIES),
        }
    }

    /// Applies the strip to hyper's request headers.
    pub fn apply(&self, headers: &mut HeaderMap) {
        match (self.group_cookies, self.canary_cookie) {
            (false, false) => {}
            (true, false) => crate::http::strip_cookies(headers, groups::GROUP_COOKIES),
            (false, true) => crate::http::strip_cookies(headers, split::COOKIES),
            (true, true) => crate::http::strip_cookies(headers, ALL_COOKIES),
        }
        if let Some(name) = self.header {
            headers.remove(name);
        }
    }
}

/// The arm's marks on the response.
pub struct ArmMark<'l> {
    pub arm: Arm,
    /// The session cookie to set (new session, or renewed in a new second).
    cookie: Option<TokenText>,
    /// `Secure` on the cookie (HTTPS listener).
    secure: bool,
    arm_header: Option<&'l HeaderName>,
}

impl ArmMark<'_> {
    fn write_set_cookie(&self, out: &mut impl SetCookies) {
        if let Some(token) = &self.cookie {
            split::set_cookie(token, self.secure, out);
        }
    }

    /// Cookie and arm header as HTTP/1.1 head lines into `out`.
    pub fn write_h1(&self, out: &mut Vec<u8>) {
        self.write_set_cookie(&mut crate::http::h1::SetCookieLines(out));
        self.write_arm_header_h1(out);
    }

    /// The arm header alone (the cookie goes with the other `Set-Cookie` lines).
    pub fn write_arm_header_h1(&self, out: &mut Vec<u8>) {
        if let Some(name) = self.arm_header {
            crate::http::h1::write_field(out, name.as_str().as_bytes(), self.arm.name().as_bytes());
        }
    }

    /// The arm header into hyper's response headers.
    pub fn write_arm_header(&self, headers: &mut HeaderMap) {
        if let Some(name) = self.arm_header {
            headers.insert(name.clone(), HeaderValue::from_static(self.arm.name()));
        }
    }

    /// Cookie and arm header into hyper's response headers.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        struct Values<'h>(&'h mut HeaderMap);
        impl SetCookies for Values<'_> {
            fn set_cookie(&mut self, pieces: &[&[u8]]) {
                if let Ok(value) = HeaderValue::from_bytes(&pieces.concat()) {
                    self.0.append(header::SET_COOKIE, value);
                }
            }
        }
        self.write_set_cookie(&mut Values(headers));
        self.write_arm_header(headers);
    }
}

/// What a forwarded exchange carries besides the pool: what the request loses and what the
/// response gains.
#[derive(Clone, Copy)]
pub struct Extras<'a> {
    pub strip: Strip<'a>,
    pub group: Option<&'a GroupCookie>,
    pub mark: Option<&'a ArmMark<'a>>,
}

impl Extras<'_> {
    /// burr's `Set-Cookie` values and the arm header, after the session's own.
    pub fn write_response(&self, out: &mut impl SetCookies) {
        if let Some(group) = self.group {
            group.write(out);
        }
        if let Some(mark) = self.mark {
            mark.write_set_cookie(out);
        }
    }
}

/// The rules' decision for a request on `listener`: with a policy, the arm is chosen first and
/// its rules decide; without one, the listener's own rules. Both HTTP paths call this.
pub fn route<'l, H: HeaderSource + ?Sized>(
    listener: &'l ListenerRuntime,
    request: &RequestView<'_, H>,
    context: &RequestContext,
) -> Routed<'l> {
    let Some(canary) = &listener.canary else {
        return actions::route(&listener.rules, request, context);
    };
    let (arm, cookie) = canary.choose(request, &listener.stats);
    let rules = match arm {
        Arm::Primary => &listener.rules,
        Arm::Staging => &canary.staging,
    };
    let mut routed = actions::route(rules, request, context);
    routed.strip.canary_cookie = matches!(&canary.split, Split::Weight(w) if w.sticky.is_some());
    if let Split::Header { name, .. } = &canary.split
        && !canary.forward_routing_header
    {
        routed.strip.header = Some(name);
    }
    routed.mark = Some(ArmMark {
        arm,
        cookie,
        secure: context.https,
        arm_header: canary.arm_header.as_ref(),
    });
    routed
}

impl Canary {
    /// The arm, and the session token to set, counting both.
    fn choose<H: HeaderSource + ?Sized>(
        &self,
        request: &RequestView<'_, H>,
        stats: &ListenerStats,
    ) -> (Arm, Option<TokenText>) {
        let (arm, cookie) = match &self.split {
            Split::Header { name, value } => {
                let mut arm = Arm::Primary;
                request.headers.any_value(name, |v| {
                    arm = split::header_arm([v], value);
                    arm == Arm::Staging
                });
                (arm, None)
            }
            Split::Weight(weight) => {
                if weight.sticky.is_none() {
                    (weight.draw(rand::random()), None)
                } else {
                    let ring = self.keys.load();
                    let now = self.clock.unix_now();
                    let (mut held, mut presented) = (None, false);
                    // Field by field through the callback: no list of fields is built.
                    request.headers.any_value(&header::COOKIE, |field| {
                        let (here, token) = weight.look(&ring, field, now);
                        presented |= here;
                        held = token;
                        held.is_some()
                    });
                    // A held session draws nothing: the random numbers (arm, new session id)
                    // are made only for a viewer who needs a new session.
                    let (random, session) = match held {
                        Some(_) => (0, 0),
                        None => (rand::random(), rand::random()),
                    };
                    let choice = weight.choose(held, presented, now, random, session);
                    if let Some(i) = choice.decision.index() {
                        stats.canary_sessions[i].fetch_add(1, Ordering::Relaxed);
                    }
                    let token = choice
                        .reseal
                        .map(|body| split::seal(&ring, &body, rand::random()));
                    (choice.arm, token)
                }
            }
        };
        stats.canary_arms[arm.index()].fetch_add(1, Ordering::Relaxed);
        (arm, cookie)
    }
}

/// The state with the CloudFront front ends added (their balancers and pools, compiled like any
/// other), and the splits to attach to the primaries' listeners.
pub struct FrontEnds<'s> {
    state: Cow<'s, State>,
    splits: Vec<cloudfront::Split>,
}

impl<'s> FrontEnds<'s> {
    pub fn of(state: &'s State) -> Self {
        let front = cloudfront::front_ends(state);
        let state = if front.balancers.is_empty() && front.pools.is_empty() {
            Cow::Borrowed(state)
        } else {
            let mut merged = state.clone();
            for balancer in front.balancers {
                merged.balancers.insert(balancer.name.clone(), balancer);
            }
            for pool in front.pools {
                merged.pools.insert(pool.name.clone(), pool);
            }
            Cow::Owned(merged)
        };
        Self {
            state,
            splits: front.splits,
        }
    }

    /// What the runtime compiles.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The canary of the listener `key`, if its balancer is a primary whose policy splits.
    pub fn canary(
        &self,
        key: &ListenerKey,
        pools: &HashMap<String, Arc<PoolRuntime>>,
        keys: &Arc<ArcSwap<KeyRing>>,
        clock: &Arc<Clock>,
    ) -> Result<Option<Canary>, String> {
        let Some(found) = self.splits.iter().find(|s| s.primary == key.balancer) else {
            return Ok(None);
        };
        let policy = &found.policy;
        let Some(split) = compile_split(policy)? else {
            return Ok(None);
        };
        // The staging front end's listener on the same port; else its first (a staging
        // distribution without a viewer certificate still serves a primary's HTTPS viewers).
        let listeners = &found.staging.listeners;
        let Some(listener) = listeners
            .iter()
            .find(|l| l.port == key.port)
            .or(listeners.first())
        else {
            return Ok(None);
        };
        let context = ActionContext { pools, keys, clock };
        let staging = CompiledRules::compile(listener, &context)
            .map_err(|e| format!("staging arm {}: {e}", found.staging.name))?;
        let arm_header = policy
            .arm_header
            .as_deref()
            .map(|h| HeaderName::from_bytes(h.as_bytes()))
            .transpose()
            .map_err(|e| format!("deployment policy {}: arm_header: {e}", policy.id))?;
        Ok(Some(Canary {
            policy_id: policy.id.clone(),
            split,
            staging,
            arm_header,
            forward_routing_header: policy.forward_routing_header,
            keys: keys.clone(),
            clock: clock.clone(),
        }))
    }
}

/// The policy's split; `None` when it does not split (disabled, or no traffic config).
fn compile_split(policy: &DeploymentPolicy) -> Result<Option<Split>, String> {
    if !policy.enabled {
        return Ok(None);
    }
    Ok(match &policy.traffic {
        None => None,
        Some(TrafficConfig::SingleWeight {
            weight,
            session_stickiness,
        }) => Some(Split::Weight(WeightSplit::new(
            &policy.id,
            policy.generation,
            weight.0,
            session_stickiness.map(|s| Sticky {
                idle_ttl_secs: s.idle_ttl_secs,
                maximum_ttl_secs: s.maximum_ttl_secs,
            }),
        ))),
        Some(TrafficConfig::SingleHeader { header, value }) => Some(Split::Header {
            name: HeaderName::from_bytes(header.as_bytes())
                .map_err(|e| format!("deployment policy {}: header {header:?}: {e}", policy.id))?,
            value: value.as_bytes().to_vec(),
        }),
    })
}

#[cfg(test)]
mod tests;
