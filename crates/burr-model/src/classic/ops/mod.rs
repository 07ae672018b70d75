//! The Classic ELB operations as changes to a [`State`]. Each takes the state to change (a copy
//! the store will write only if the operation succeeds), checks its input with the AWS error
//! codes, makes the change, and then runs the model's own validation so that every rule that
//! holds for TOML holds here too. This module holds what the operations share: their context,
//! lookups, the balancer-wide settings and the translation of model errors into AWS terms.

mod attributes;
mod lifecycle;
mod placement;
mod policies;
mod tags;
mod targets;

pub use attributes::*;
pub use lifecycle::*;
pub use placement::*;
pub use policies::*;
pub use tags::*;
pub use targets::*;

use super::policy::{self, enables_proxy_protocol, stickiness_policy};
use super::{
    AccessLogSettings, AddressPool, BackendPolicies, ClassicError, Detached, ErrorCode,
    MAX_INSTANCES, MAX_LISTENERS, MAX_LOAD_BALANCERS, MAX_POLICIES, MAX_TAGS, NamedPolicy,
    Placement, check_instance, instances_of, target_for_instance,
};
use crate::{
    Algorithm, Balancer, Listener, Origin, Pool, Protocol, State, Stickiness, Target,
    ValidationError,
};
use std::net::IpAddr;

/// What an operation needs besides the state: how burr was started, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `--listen-host`: every listener binds it, so balancers get no address of their own.
    pub listen_host: Option<IpAddr>,
    /// `--address-pool`: where a new balancer's address comes from.
    pub address_pool: &'a AddressPool,
    /// UTC seconds.
    pub now: u64,
}

/// The Classic (or TOML) balancer `name`; application and network load balancers are not
/// Classic's to see.
pub fn balancer<'s>(state: &'s State, name: &str) -> Result<&'s Balancer, ClassicError> {
    state
        .balancers
        .get(name)
        .filter(|b| b.aws.elbv2.is_none())
        .ok_or_else(|| ClassicError::no_balancer(name))
}

/// Where the balancer's listener on `port` is in its list, or `ListenerNotFound`.
fn listener_index(b: &Balancer, port: i64) -> Result<usize, ClassicError> {
    b.listeners
        .iter()
        .position(|l| i64::from(l.port) == port)
        .ok_or_else(|| {
            ClassicError::new(
                ErrorCode::ListenerNotFound,
                format!(
                    "There is no listener on port {port} of load balancer '{}'",
                    crate::region::local_name(&b.name)
                ),
            )
        })
}

fn balancer_mut<'s>(state: &'s mut State, name: &str) -> Result<&'s mut Balancer, ClassicError> {
    state
        .balancers
        .get_mut(name)
        .filter(|b| b.aws.elbv2.is_none())
        .ok_or_else(|| ClassicError::no_balancer(name))
}

/// The balancer-wide settings of the Classic API, which burr keeps in the listeners and their
/// pools (all alike), or in `aws.detached` while the balancer has no listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancerSettings {
    pub health_check: crate::HealthCheck,
    pub deregistration_delay_secs: u32,
    pub idle_timeout_secs: u32,
}

pub fn settings(state: &State, b: &Balancer) -> BalancerSettings {
    if let Some(l) = b.listeners.first() {
        let pool = state.pools.get(&l.pool);
        return BalancerSettings {
            health_check: pool.map(|p| p.health_check.clone()).unwrap_or_default(),
            deregistration_delay_secs: pool.map_or(0, |p| p.draining.deregistration_delay_secs),
            idle_timeout_secs: l.idle_timeout_secs,
        };
    }
    match &b.aws.detached {
        Some(d) => BalancerSettings {
            health_check: d.health_check.clone(),
            deregistration_delay_secs: d.deregistration_delay_secs,
            idle_timeout_secs: d.idle_timeout_secs,
        },
        None => BalancerSettings {
            health_check: crate::HealthCheck::default(),
            // Connection draining is off for a balancer created through the API.
            deregistration_delay_secs: match b.origin {
                Origin::Api => 0,
                Origin::File => crate::Draining::default().deregistration_delay_secs,
            },
            idle_timeout_secs: crate::balancer::defaults::idle_timeout_secs(),
        },
    }
}

/// The listener-less balancer's kept settings, made from the current ones when absent.
fn detached_mut<'s>(state: &'s mut State, name: &str) -> Result<&'s mut Detached, ClassicError> {
    let current = settings(state, balancer(state, name)?);
    let b = balancer_mut(state, name)?;
    Ok(b.aws.detached.get_or_insert(Detached {
        health_check: current.health_check,
        deregistration_delay_secs: current.deregistration_delay_secs,
        idle_timeout_secs: current.idle_timeout_secs,
    }))
}

/// Runs the model's validation and reports the first problem in AWS terms.
fn finish(state: &State, context: Context) -> Result<(), ClassicError> {
    state
        .validate(context.listen_host)
        .map_err(|errors| translate(&errors[0]))
}

/// A model validation error in the API's vocabulary: the AWS parameter name where there is one,
/// `InvalidConfigurationRequest` for a clash with other objects, `ValidationError` otherwise.
pub fn translate(error: &ValidationError) -> ClassicError {
    const NAMES: [(&str, &str); 9] = [
        ("interval_secs", "HealthCheck.Interval"),
        ("timeout_secs", "HealthCheck.Timeout"),
        ("healthy_threshold", "HealthCheck.HealthyThreshold"),
        ("unhealthy_threshold", "HealthCheck.UnhealthyThreshold"),
        ("idle_timeout_secs", "ConnectionSettings.IdleTimeout"),
        ("deregistration_delay_secs", "ConnectionDraining.Timeout"),
        ("duration_secs", "CookieExpirationPeriod"),
        ("cookie_name", "CookieName"),
        ("instance_protocol", "InstanceProtocol"),
    ];
    let leaf = error.path.leaf_field().unwrap_or("");
    let message = error.in_terms_of(&NAMES);
    if leaf == "certificate" {
        return ClassicError::new(
            ErrorCode::CertificateNotFound,
            message.replacen(&error.path.to_string(), "SSLCertificateId", 1),
        );
    }
    let clash = leaf == "port" || leaf == "protocol" || leaf == "instance_protocol";
    if clash {
        ClassicError::conflict(message)
    } else {
        ClassicError::invalid(message)
    }
}

fn number(parameter: &str, value: i64) -> Result<u32, ClassicError> {
    u32::try_from(value).map_err(|_| {
        ClassicError::invalid(format!(
            "{parameter}: {value} is not allowed: must be a positive number"
        ))
    })
}

fn number_in(parameter: &str, value: i64, lo: u32, hi: u32) -> Result<u32, ClassicError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| {
            ClassicError::invalid(format!(
                "{parameter}: {value} is not allowed: must be between {lo} and {hi} seconds"
            ))
        })
}

fn find_policies(b: &Balancer, names: &[String]) -> Result<Vec<NamedPolicy>, ClassicError> {
    names
        .iter()
        .map(|n| {
            b.aws.policy(n).cloned().ok_or_else(|| {
                ClassicError::new(
                    ErrorCode::PolicyNotFound,
                    format!(
                        "There is no policy named {n:?} on load balancer '{}'",
                        b.name
                    ),
                )
            })
        })
        .collect()
}

fn pool_of_mut<'s>(
    state: &'s mut State,
    listener: &Listener,
) -> Result<&'s mut Pool, ClassicError> {
    state.pools.get_mut(&listener.pool).ok_or_else(|| {
        ClassicError::conflict(format!(
            "listener {} forwards to pool {:?}, which does not exist",
            listener.port, listener.pool
        ))
    })
}

fn drop_pool_if_unused(state: &mut State, pool: &str) {
    let used = state.balancers.values().any(|b| {
        b.listeners.iter().any(|l| {
            // A rule's action may name the pool too (a file's ALB listener).
            l.pool == pool
                || l.rules
                    .iter()
                    .map(|r| &r.action)
                    .chain(&l.default_action)
                    .any(|a| a.pools().any(|p| p == pool))
        })
    });
    if !used
        && state
            .pools
            .get(pool)
            .is_some_and(|p| p.origin == Origin::Api)
    {
        state.pools.remove(pool);
    }
}
