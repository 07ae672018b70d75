//! Targets of a target group: register and deregister them. A registration is an id (an IP
//! address for `ip` groups; an address, host name or `[[alias]]` for `instance` groups) and a
//! port; the pool holds the address it stands for, at the same index.

use super::*;
use crate::elbv2::{MAX_TARGETS, Registration, TargetType};
use crate::{Target, TargetAddress, region};
use std::net::IpAddr;

/// One target of `RegisterTargets` / `DeregisterTargets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRequest {
    pub id: String,
    pub port: Option<i64>,
    pub availability_zone: Option<String>,
}

/// The registration and address a requested target stands for in `pool`.
pub fn resolve_target(
    state: &State,
    pool: &Pool,
    request: &TargetRequest,
) -> Result<(Registration, TargetAddress), V2Error> {
    let Some(group) = &pool.target_group else {
        return Err(V2Error::no_target_group(region::local_name(&pool.name)));
    };
    let port = match request.port {
        Some(p) => number_in("Targets.Port", p, 1, 65535)? as u16,
        None => group.port,
    };
    let invalid = |rule: String| {
        V2Error::new(
            ErrorCode::InvalidTarget,
            format!("Targets.Id: {:?} is not allowed: {rule}", request.id),
        )
    };
    let address_text = match group.target_type {
        TargetType::Ip => {
            request.id.parse::<IpAddr>().map_err(|_| {
                invalid("an ip target group takes IPv4 or IPv6 addresses".to_string())
            })?;
            request.id.as_str()
        }
        TargetType::Instance => {
            let resolved = crate::classic::resolve_instance(state, &request.id);
            if resolved.starts_with("i-")
                && resolved.len() > 2
                && resolved[2..].bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(invalid(
                    "looks like an EC2 instance id, which burr cannot resolve; register an \
                     address or host name, or declare an [[alias]] for it in the configuration \
                     file"
                        .to_string(),
                ));
            }
            resolved
        }
    };
    let address = TargetAddress::parse(address_text, Some(port))
        .map_err(|e| invalid(format!("is not a target burr can reach: {e}")))?
        .with_port(port);
    Ok((
        Registration {
            id: request.id.clone(),
            port,
            availability_zone: request.availability_zone.clone(),
        },
        address,
    ))
}

/// `RegisterTargets`: targets already registered (same id and port) are left as they are.
pub fn register_targets(
    state: &mut State,
    key: &str,
    targets: &[TargetRequest],
    listen_host: Option<IpAddr>,
) -> Result<(), V2Error> {
    let pool = target_group(state, key, None)?.clone();
    let mut resolved = Vec::new();
    for t in targets {
        resolved.push(resolve_target(state, &pool, t)?);
    }
    let pool = target_group_mut(state, key)?;
    for (registration, address) in resolved {
        let Some(group) = pool.target_group.as_mut() else {
            continue;
        };
        let known = group
            .registrations
            .iter()
            .any(|r| r.id == registration.id && r.port == registration.port);
        if known || pool.targets.iter().any(|t| t.address == address) {
            continue;
        }
        group.registrations.push(registration);
        pool.targets.push(Target { address, weight: 1 });
    }
    if pool.targets.len() > MAX_TARGETS {
        return Err(V2Error::new(
            ErrorCode::TooManyTargets,
            format!(
                "target group '{}' would have {} targets; burr allows at most {MAX_TARGETS}",
                region::local_name(key),
                pool.targets.len()
            ),
        ));
    }
    finish(state, listen_host)
}

/// `DeregisterTargets`: the targets leave the pool and drain for the group's deregistration
/// delay; targets that are not registered are ignored.
pub fn deregister_targets(
    state: &mut State,
    key: &str,
    targets: &[TargetRequest],
) -> Result<(), V2Error> {
    let pool = target_group(state, key, None)?.clone();
    let Some(group) = &pool.target_group else {
        return Err(V2Error::no_target_group(region::local_name(key)));
    };
    let mut leaving = Vec::new();
    for t in targets {
        let port = match t.port {
            Some(p) => number_in("Targets.Port", p, 1, 65535)? as u16,
            None => group.port,
        };
        if let Some(i) = group
            .registrations
            .iter()
            .position(|r| r.id == t.id && r.port == port)
        {
            leaving.push(i);
        }
    }
    let pool = target_group_mut(state, key)?;
    let Some(group) = pool.target_group.as_mut() else {
        return Ok(());
    };
    let keep = |i: usize| !leaving.contains(&i);
    let mut index = 0;
    group.registrations.retain(|_| {
        index += 1;
        keep(index - 1)
    });
    let mut index = 0;
    pool.targets.retain(|_| {
        index += 1;
        keep(index - 1)
    });
    Ok(())
}
