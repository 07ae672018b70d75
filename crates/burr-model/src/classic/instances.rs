//! Instances are addresses: an `InstanceId` of `10.0.0.5` means that address on each listener's
//! instance port, `10.0.0.5:8080`, `[::1]:8080` or `backend.example:8080` that exact socket. An
//! alias declared in the configuration file stands for its address, and is what the API reports.

use super::{ClassicError, ErrorCode};
use crate::{Balancer, Listener, State, TargetAddress};

/// The address an instance id stands for: its alias's, or the id itself.
pub fn resolve_instance<'a>(state: &'a State, id: &'a str) -> &'a str {
    state.aliases.get(id).map_or(id, |a| a.address.as_str())
}

/// The target an instance id (an alias or an address) stands for behind `listener`.
pub fn target_for_instance(
    state: &State,
    id: &str,
    listener: &Listener,
) -> Result<TargetAddress, ClassicError> {
    let address = resolve_instance(state, id);
    if looks_like_ec2_id(address) {
        return Err(ClassicError::new(
            ErrorCode::InvalidInstance,
            format!(
                "InstanceId: {id:?} looks like an EC2 instance id, which burr cannot resolve; \
                 register an address (10.0.0.5, 10.0.0.5:8080, [::1]:8080) or a host name, or \
                 declare an [[alias]] for it in the configuration file"
            ),
        ));
    }
    target_for_address(id, address, listener)
}

fn target_for_address(
    id: &str,
    address: &str,
    listener: &Listener,
) -> Result<TargetAddress, ClassicError> {
    TargetAddress::parse(address, listener.instance_port).map_err(|e| {
        ClassicError::new(
            ErrorCode::InvalidInstance,
            format!(
                "InstanceId: {id:?} is not an instance burr can reach: {e}{}",
                if listener.instance_port.is_none() {
                    format!(
                        " (listener {} declares no instance port, so the id needs one)",
                        listener.port
                    )
                } else {
                    String::new()
                }
            ),
        )
    })
}

/// How a target of `listener`'s pool is reported as an instance id: without the port when it is
/// the listener's instance port.
pub fn instance_id_of(target: &TargetAddress, listener: &Listener) -> String {
    if listener.instance_port == Some(target.port()) {
        match target {
            TargetAddress::Ip(sock) => sock.ip().to_string(),
            TargetAddress::Host { host, .. } => host.clone(),
        }
    } else {
        target.to_string()
    }
}

/// The instances of a balancer: every target of its listeners' pools, as instance ids (the id
/// it was registered by, else the alias that stands for it), once each, in the order first
/// seen; without listeners, the ids registered.
pub fn instances_of(balancer: &Balancer, state: &State) -> Vec<String> {
    if balancer.listeners.is_empty() {
        return balancer.aws.instances.clone();
    }
    let mut ids: Vec<String> = Vec::new();
    for listener in &balancer.listeners {
        let Some(pool) = state.pools.get(&listener.pool) else {
            continue;
        };
        for target in &pool.targets {
            let stands_for = |id: &str| {
                target_for_instance(state, id, listener).is_ok_and(|t| t == target.address)
            };
            // As registered through the API, else by an alias, else by address.
            let id = if let Some(id) = balancer.aws.instances.iter().find(|id| stands_for(id)) {
                id.clone()
            } else if let Some(a) = state.aliases.values().find(|a| stands_for(&a.name)) {
                a.name.clone()
            } else {
                instance_id_of(&target.address, listener)
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The (pool, target) pairs an instance id stands for behind each listener of `balancer`, and
/// whether each is registered (in its pool now); `InvalidInstance` when the id is no address.
pub fn instance_targets(
    state: &State,
    balancer: &Balancer,
    id: &str,
) -> Result<Vec<(String, TargetAddress, bool)>, ClassicError> {
    if balancer.listeners.is_empty() {
        check_instance(state, id)?;
    }
    balancer
        .listeners
        .iter()
        .map(|l| {
            let target = target_for_instance(state, id, l)?;
            let registered = state
                .pools
                .get(&l.pool)
                .is_some_and(|p| p.targets.iter().any(|t| t.address == target));
            Ok((l.pool.clone(), target, registered))
        })
        .collect()
}

/// Checks an instance id's form when there is no listener to give it a port.
pub fn check_instance(state: &State, id: &str) -> Result<(), ClassicError> {
    let probe = Listener {
        instance_port: Some(1),
        ..Listener::new(1, crate::Protocol::Http, "")
    };
    target_for_instance(state, id, &probe).map(|_| ())
}

/// `i-` followed by 8 or 17 hex digits: an EC2 id, which is a valid host name but never one.
fn looks_like_ec2_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}
