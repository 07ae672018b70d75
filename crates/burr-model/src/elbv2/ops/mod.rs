//! The ELBv2 operations as changes to a [`State`]. Each takes the state to change (a copy the
//! store writes only if the operation succeeds), checks its input with the ELBv2 error codes,
//! makes the change, and ends with the model's own validation so every rule that holds for TOML
//! holds here too. This module holds what they share: lookups by key and id, tags, and the
//! translation of model errors into the API's terms.

mod balancers;
mod listeners;
mod parameters;
mod rules;
mod tags;
mod target_groups;
mod targets;

pub use balancers::*;
pub use listeners::*;
pub use rules::*;
pub use tags::*;
pub use target_groups::*;
pub use targets::*;

use super::{ErrorCode, V2Error};
use crate::{Balancer, Listener, Pool, State, ValidationError};

/// An ELBv2 object, found from the name and id its ARN carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A load balancer by its key in `state.balancers`.
    LoadBalancer(String),
    /// A target group by its key in `state.pools`.
    TargetGroup(String),
    /// A listener: its balancer's key and its id.
    Listener(String, String),
    /// A rule: its balancer's key, its listener's id and its own id.
    Rule(String, String, String),
}

/// The application or network load balancer stored under `key`, if its id is `id` (any id when
/// `id` is `None`).
pub fn load_balancer<'s>(
    state: &'s State,
    key: &str,
    id: Option<&str>,
) -> Result<&'s Balancer, V2Error> {
    state
        .balancers
        .get(key)
        .filter(|b| {
            b.aws
                .elbv2
                .as_ref()
                .is_some_and(|v| id.is_none_or(|id| v.id == id))
        })
        .ok_or_else(|| V2Error::no_load_balancer(crate::region::local_name(key)))
}

pub(crate) fn load_balancer_mut<'s>(
    state: &'s mut State,
    key: &str,
) -> Result<&'s mut Balancer, V2Error> {
    state
        .balancers
        .get_mut(key)
        .filter(|b| b.aws.elbv2.is_some())
        .ok_or_else(|| V2Error::no_load_balancer(crate::region::local_name(key)))
}

/// The target group stored under `key`, if its id is `id` (any id when `None`).
pub fn target_group<'s>(
    state: &'s State,
    key: &str,
    id: Option<&str>,
) -> Result<&'s Pool, V2Error> {
    state
        .pools
        .get(key)
        .filter(|p| {
            p.target_group
                .as_ref()
                .is_some_and(|t| id.is_none_or(|id| t.id == id))
        })
        .ok_or_else(|| V2Error::no_target_group(crate::region::local_name(key)))
}

pub(crate) fn target_group_mut<'s>(
    state: &'s mut State,
    key: &str,
) -> Result<&'s mut Pool, V2Error> {
    state
        .pools
        .get_mut(key)
        .filter(|p| p.target_group.is_some())
        .ok_or_else(|| V2Error::no_target_group(crate::region::local_name(key)))
}

/// The index of the listener with id `id` in its balancer's list.
pub fn listener_index(balancer: &Balancer, id: &str) -> Result<usize, V2Error> {
    balancer
        .listeners
        .iter()
        .position(|l| l.elbv2.as_ref().is_some_and(|v| v.id == id))
        .ok_or_else(|| V2Error::no_listener(id))
}

/// The listener `id` of the balancer under `key`.
pub fn listener<'s>(state: &'s State, key: &str, id: &str) -> Result<&'s Listener, V2Error> {
    let b = load_balancer(state, key, None)?;
    Ok(&b.listeners[listener_index(b, id)?])
}

/// The keys of the balancers whose listeners forward to the target group `pool`.
pub fn balancers_using(state: &State, pool: &str) -> Vec<String> {
    state
        .balancers
        .iter()
        .filter(|(_, b)| b.listeners.iter().any(|l| listener_uses(l, pool)))
        .map(|(key, _)| key.clone())
        .collect()
}

/// Whether `listener` forwards to `pool`, by default or by a rule.
pub fn listener_uses(listener: &Listener, pool: &str) -> bool {
    listener.pool == pool
        || listener
            .default_action
            .iter()
            .chain(listener.rules.iter().map(|r| &r.action))
            .any(|a| a.pools().any(|p| p == pool))
}

/// Runs the model's validation and reports the first problem in ELBv2 terms.
pub fn finish(state: &State, listen_host: Option<std::net::IpAddr>) -> Result<(), V2Error> {
    state
        .validate(listen_host)
        .map_err(|errors| translate(&errors[0]))
}

/// A model validation error in the API's vocabulary: the AWS parameter name where there is
/// one; `InvalidConfigurationRequest` for a clash with other objects (a port taken on the
/// address), `ValidationError` otherwise.
pub fn translate(error: &ValidationError) -> V2Error {
    const NAMES: [(&str, &str); 10] = [
        ("interval_secs", "HealthCheckIntervalSeconds"),
        ("timeout_secs", "HealthCheckTimeoutSeconds"),
        ("healthy_threshold", "HealthyThresholdCount"),
        ("unhealthy_threshold", "UnhealthyThresholdCount"),
        ("path", "HealthCheckPath"),
        (
            "deregistration_delay_secs",
            "deregistration_delay.timeout_seconds",
        ),
        ("duration_secs", "stickiness duration_seconds"),
        ("cookie_name", "stickiness.app_cookie.cookie_name"),
        ("success_codes", "Matcher.HttpCode"),
        ("slow_start_secs", "slow_start.duration_seconds"),
    ];
    let message = error.in_terms_of(&NAMES);
    match error.path.leaf_field().unwrap_or("") {
        "port" | "protocol" => V2Error::conflict(message),
        "certificate" | "sni_certificates" => V2Error::new(ErrorCode::CertificateNotFound, message),
        _ => V2Error::invalid(message),
    }
}

/// Checks a target group or load balancer name: 1–32 letters, digits and hyphens, not
/// beginning or ending with a hyphen (and, for load balancers, not beginning with
/// `internal-`).
pub fn check_resource_name(parameter: &str, name: &str) -> Result<(), V2Error> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if name.is_empty()
        || name.len() > super::MAX_TARGET_GROUP_NAME
        || !ok_chars
        || name.starts_with('-')
        || name.ends_with('-')
    {
        return Err(V2Error::parameter(
            parameter,
            format!("{name:?}"),
            "must be 1 to 32 letters, digits and hyphens, not beginning or ending with a hyphen",
        ));
    }
    Ok(())
}

/// Parses a whole number parameter within a range.
pub fn number_in(parameter: &str, value: i64, lo: u32, hi: u32) -> Result<u32, V2Error> {
    u32::try_from(value)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| {
            V2Error::parameter(parameter, value, format!("must be between {lo} and {hi}"))
        })
}
