//! Instances and the health check: register and deregister instances in every listener's
//! pool, and configure the one health check all of them share.

use super::*;

/// `RegisterInstancesWithLoadBalancer`: each instance joins every listener's pool.
pub fn register_instances(
    state: &mut State,
    name: &str,
    ids: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    for id in ids {
        check_instance(state, id)?;
    }
    let registered = &mut balancer_mut(state, name)?.aws.instances;
    for id in ids {
        if !registered.contains(id) {
            registered.push(id.clone());
        }
    }
    for listener in &b.listeners {
        let mut targets = Vec::new();
        for id in ids {
            targets.push(target_for_instance(state, id, listener)?);
        }
        let pool = pool_of_mut(state, listener)?;
        for address in targets {
            if !pool.targets.iter().any(|t| t.address == address) {
                pool.targets.push(Target { address, weight: 1 });
            }
        }
    }
    let count = instances_of(balancer(state, name)?, state).len();
    if count > MAX_INSTANCES {
        return Err(ClassicError::conflict(format!(
            "load balancer '{shown}' would have {count} instances; burr allows at most {MAX_INSTANCES}",
            shown = crate::region::local_name(name)
        )));
    }
    finish(state, context)
}

/// `DeregisterInstancesFromLoadBalancer`: the instances leave every pool of the balancer and
/// drain as the pools' draining settings say.
pub fn deregister_instances(
    state: &mut State,
    name: &str,
    ids: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    let registered = instances_of(&b, state);
    for id in ids {
        let known = registered.contains(id)
            || b.listeners.iter().any(|l| {
                target_for_instance(state, id, l).is_ok_and(|t| {
                    state
                        .pools
                        .get(&l.pool)
                        .is_some_and(|p| p.targets.iter().any(|x| x.address == t))
                })
            });
        if !known {
            return Err(ClassicError::new(
                ErrorCode::InvalidInstance,
                format!(
                    "InstanceId: {id:?} is not registered with load balancer '{shown}'",
                    shown = crate::region::local_name(name)
                ),
            ));
        }
    }
    // A registered id that stands for the same target as a leaving id leaves with it
    // (`10.0.0.5:9001` goes with `10.0.0.5` on a listener whose instance port is 9001).
    let listeners = &b.listeners;
    let same_target = |x: &str, y: &str| same_target_behind_a_listener(state, listeners, x, y);
    let mut leaving: Vec<String> = ids.to_vec();
    for registered in &b.aws.instances {
        if !leaving.contains(registered) && ids.iter().any(|id| same_target(registered, id)) {
            leaving.push(registered.clone());
        }
    }
    for listener in &b.listeners {
        let targets: Vec<_> = leaving
            .iter()
            .filter_map(|id| target_for_instance(state, id, listener).ok())
            .collect();
        pool_of_mut(state, listener)?
            .targets
            .retain(|t| !targets.contains(&t.address));
    }
    balancer_mut(state, name)?
        .aws
        .instances
        .retain(|id| !leaving.contains(id));
    finish(state, context)
}

/// Whether ids `a` and `b` stand for the same target behind some listener.
fn same_target_behind_a_listener(state: &State, listeners: &[Listener], a: &str, b: &str) -> bool {
    listeners.iter().any(|l| {
        match (
            target_for_instance(state, a, l),
            target_for_instance(state, b, l),
        ) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    })
}

/// `ConfigureHealthCheck`: one check for every pool of the balancer.
pub fn configure_health_check(
    state: &mut State,
    name: &str,
    target: &str,
    numbers: HealthCheckNumbers,
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    let mut check = settings(state, &b).health_check;
    crate::classic::parse_health_check_target(target, &mut check)?;
    check.enabled = true;
    check.interval_secs = number("HealthCheck.Interval", numbers.interval)?;
    check.timeout_secs = number("HealthCheck.Timeout", numbers.timeout)?;
    check.healthy_threshold = number("HealthCheck.HealthyThreshold", numbers.healthy_threshold)?;
    check.unhealthy_threshold = number(
        "HealthCheck.UnhealthyThreshold",
        numbers.unhealthy_threshold,
    )?;
    check.check().map_err(|errors| translate(&errors[0]))?;
    for listener in &b.listeners {
        pool_of_mut(state, listener)?.health_check = check.clone();
    }
    if b.listeners.is_empty() {
        detached_mut(state, name)?.health_check = check;
    }
    finish(state, context)
}

/// The four numbers of `ConfigureHealthCheck`, as sent.
#[derive(Debug, Clone, Copy)]
pub struct HealthCheckNumbers {
    pub interval: i64,
    pub timeout: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
}
