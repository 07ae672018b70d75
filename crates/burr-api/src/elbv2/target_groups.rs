//! Target group actions: create, describe, modify, delete, attributes, targets and their health.

use super::arn::{self, Kind};
use super::{attributes, change, context, write_attributes, write_page};
use crate::control::{ControlPlane, TargetHealth, UnhealthyReason};
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::elbv2::{self, HealthCheckRequest, Resource, TargetGroupRequest, TargetRequest};
use burr_model::{HealthCheckProtocol, Pool, State, region};

/// `TargetGroupArn`, required, as the state's key.
pub(crate) fn required_key(
    c: &dyn ControlPlane,
    state: &State,
    p: &Params,
) -> Result<String, ApiError> {
    let text = p.required("TargetGroupArn")?;
    match arn::resolve(c, state, "TargetGroupArn", text, Kind::TargetGroup)? {
        Resource::TargetGroup(key) => Ok(key),
        _ => Err(ApiError::invalid(
            "TargetGroupArn: must name a target group",
        )),
    }
}

fn health_check_request(p: &Params) -> Result<HealthCheckRequest, ApiError> {
    Ok(HealthCheckRequest {
        protocol: p.get("HealthCheckProtocol").map(str::to_string),
        port: p.get("HealthCheckPort").map(str::to_string),
        enabled: p.bool("HealthCheckEnabled")?,
        path: p.get("HealthCheckPath").map(str::to_string),
        interval_secs: p.int("HealthCheckIntervalSeconds")?,
        timeout_secs: p.int("HealthCheckTimeoutSeconds")?,
        healthy_threshold: p.int("HealthyThresholdCount")?,
        unhealthy_threshold: p.int("UnhealthyThresholdCount")?,
        http_codes: p.get("Matcher.HttpCode").map(str::to_string),
        grpc_codes: p.get("Matcher.GrpcCode").map(str::to_string),
    })
}

pub fn create(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let name = p.required("Name")?;
    if name.contains('/') {
        return Err(ApiError::invalid(format!(
            "Name: {name:?} is not allowed: may contain only ASCII letters, digits and hyphens"
        )));
    }
    let request = TargetGroupRequest {
        protocol: p.get("Protocol").map(str::to_string),
        protocol_version: p.get("ProtocolVersion").map(str::to_string),
        port: p.int("Port")?,
        vpc_id: p.get("VpcId").map(str::to_string),
        target_type: p.get("TargetType").map(str::to_string),
        ip_address_type: p.get("IpAddressType").map(str::to_string),
        health_check: health_check_request(p)?,
        tags: p.tags()?,
    };
    let key = c.key(name);
    let ctx = context(c);
    let (_, state) = change(c, |s| elbv2::create_target_group(s, &key, &request, ctx))?;
    let pool = elbv2::target_group(&state, &key, None)?;
    xml.members("TargetGroups", &[pool], |x, pool| {
        write_target_group(c, &state, x, pool)
    });
    Ok(())
}

/// One `TargetGroup`, with every health-check member (Terraform rebuilds `health_check` from
/// them) and the balancers whose listeners forward to it.
fn write_target_group(c: &dyn ControlPlane, state: &State, x: &mut Xml, pool: &Pool) {
    let Some(group) = &pool.target_group else {
        return;
    };
    let check = &pool.health_check;
    x.text("TargetGroupArn", &arn::target_group(c, pool));
    x.text("TargetGroupName", region::local_name(&pool.name));
    x.text("Protocol", group.protocol.as_str());
    x.text("Port", &group.port.to_string());
    if let Some(vpc) = &group.vpc_id {
        x.text("VpcId", vpc);
    }
    x.text("HealthCheckProtocol", group.health_check_protocol.as_str());
    x.text(
        "HealthCheckPort",
        &check
            .port
            .map_or_else(|| "traffic-port".to_string(), |p| p.to_string()),
    );
    x.text(
        "HealthCheckEnabled",
        if check.enabled { "true" } else { "false" },
    );
    x.text(
        "HealthCheckIntervalSeconds",
        &check.interval_secs.to_string(),
    );
    x.text("HealthCheckTimeoutSeconds", &check.timeout_secs.to_string());
    x.text(
        "HealthyThresholdCount",
        &check.healthy_threshold.to_string(),
    );
    x.text(
        "UnhealthyThresholdCount",
        &check.unhealthy_threshold.to_string(),
    );
    let http_check = matches!(
        check.protocol,
        HealthCheckProtocol::Http | HealthCheckProtocol::Https
    );
    if http_check {
        x.text("HealthCheckPath", &check.path);
        x.element("Matcher", |x| {
            x.text("HttpCode", &check.success_codes);
            if let Some(grpc) = &group.grpc_codes {
                x.text("GrpcCode", grpc);
            }
        });
    }
    let users: Vec<String> = elbv2::balancers_using(state, &pool.name)
        .iter()
        .filter_map(|key| state.balancers.get(key))
        .map(|b| arn::load_balancer(c, b))
        .collect();
    x.string_members("LoadBalancerArns", &users);
    x.text("TargetType", group.target_type.as_str());
    if let Some(version) = &group.protocol_version {
        x.text("ProtocolVersion", version);
    }
    x.text(
        "IpAddressType",
        group.ip_address_type.as_deref().unwrap_or("ipv4"),
    );
}

pub fn describe(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let arns = p.list("TargetGroupArns");
    let names = p.list("Names");
    let balancer = p.get("LoadBalancerArn");
    let ways = usize::from(!arns.is_empty())
        + usize::from(!names.is_empty())
        + usize::from(balancer.is_some());
    if ways > 1 {
        return Err(ApiError::invalid(
            "LoadBalancerArn, TargetGroupArns and Names: give at most one of them",
        ));
    }
    let mut chosen: Vec<&Pool> = Vec::new();
    for text in &arns {
        if let Resource::TargetGroup(key) =
            arn::resolve(c, &state, "TargetGroupArns", text, Kind::TargetGroup)?
        {
            chosen.extend(state.pools.get(&key));
        }
    }
    for name in &names {
        chosen.push(elbv2::target_group(&state, &c.key(name), None)?);
    }
    if let Some(text) = balancer {
        let Resource::LoadBalancer(lb) =
            arn::resolve(c, &state, "LoadBalancerArn", text, Kind::LoadBalancer)?
        else {
            return Err(ApiError::invalid(
                "LoadBalancerArn: must name a load balancer",
            ));
        };
        chosen.extend(state.pools.values().filter(|pool| {
            pool.target_group.is_some() && elbv2::balancers_using(&state, &pool.name).contains(&lb)
        }));
    } else if ways == 0 {
        chosen.extend(
            state
                .pools
                .values()
                .filter(|pool| pool.target_group.is_some() && c.owns(&pool.name)),
        );
    }
    chosen.dedup_by(|a, b| a.name == b.name);
    write_page(p, xml, chosen, |x, shown| {
        x.members("TargetGroups", shown, |x, pool| {
            write_target_group(c, &state, x, pool)
        });
    })
}

pub fn modify(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let request = health_check_request(p)?;
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| {
        elbv2::modify_target_group(s, &key, &request, listen_host)
    })?;
    let pool = elbv2::target_group(&state, &key, None)?;
    xml.members("TargetGroups", &[pool], |x, pool| {
        write_target_group(c, &state, x, pool)
    });
    Ok(())
}

pub fn delete(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let text = p.required("TargetGroupArn")?;
    // Deleting a group that is gone succeeds, as on AWS; a malformed ARN does not.
    let key = match arn::resolve(c, &state, "TargetGroupArn", text, Kind::TargetGroup) {
        Ok(Resource::TargetGroup(key)) => key,
        Err(e) if e.code == "TargetGroupNotFound" => return Ok(()),
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(ApiError::invalid(
                "TargetGroupArn: must name a target group",
            ));
        }
    };
    change(c, |s| elbv2::delete_target_group(s, &key))?;
    Ok(())
}

pub fn describe_attributes(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let state = c.state();
    let key = required_key(c, &state, p)?;
    let pool = elbv2::target_group(&state, &key, None)?;
    if let Some(group) = &pool.target_group {
        write_attributes(xml, &elbv2::target_group_attributes(group));
    }
    Ok(())
}

pub fn modify_attributes(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let given = attributes(p)?;
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| {
        elbv2::modify_target_group_attributes(s, &key, &given, listen_host)
    })?;
    let pool = elbv2::target_group(&state, &key, None)?;
    if let Some(group) = &pool.target_group {
        write_attributes(xml, &elbv2::target_group_attributes(group));
    }
    Ok(())
}

/// `Targets.member.N.{Id,Port,AvailabilityZone}`.
fn targets(p: &Params) -> Result<Vec<TargetRequest>, ApiError> {
    p.structures("Targets")
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(TargetRequest {
                id: t
                    .get("Id")
                    .ok_or_else(|| ApiError::missing(&format!("Targets.member.{}.Id", i + 1)))?
                    .to_string(),
                port: t.int("Port")?,
                availability_zone: t.get("AvailabilityZone").map(str::to_string),
            })
        })
        .collect()
}

fn required_targets(p: &Params) -> Result<Vec<TargetRequest>, ApiError> {
    let given = targets(p)?;
    if given.is_empty() {
        return Err(ApiError::missing("Targets"));
    }
    Ok(given)
}

pub fn register(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let given = required_targets(p)?;
    let listen_host = c.listen_host();
    change(c, |s| elbv2::register_targets(s, &key, &given, listen_host))?;
    Ok(())
}

pub fn deregister(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let given = required_targets(p)?;
    change(c, |s| elbv2::deregister_targets(s, &key, &given))?;
    Ok(())
}

/// The reason code and description of an unhealthy target, in AWS's words.
fn unhealthy(reason: Option<UnhealthyReason>) -> (&'static str, String) {
    match reason {
        Some(UnhealthyReason::Timeout) => ("Target.Timeout", "Request timed out".to_string()),
        Some(UnhealthyReason::ResponseCodeMismatch(code)) => (
            "Target.ResponseCodeMismatch",
            format!("Health checks failed with these codes: [{code}]"),
        ),
        Some(UnhealthyReason::FailedHealthChecks) | None => (
            "Target.FailedHealthChecks",
            "Health checks failed".to_string(),
        ),
        Some(UnhealthyReason::UnexpectedReply { expected }) => (
            "Target.FailedHealthChecks",
            format!("Health checks failed: the UDP reply did not contain {expected:?}"),
        ),
    }
}

/// One row of `DescribeTargetHealth`.
struct HealthRow {
    id: String,
    port: u16,
    zone: Option<String>,
    health_check_port: String,
    state: &'static str,
    reason: Option<(&'static str, String)>,
}

/// `DescribeTargetHealth`: the registered targets (or the ones asked about), then the draining
/// ones, with AWS's states and reason codes.
pub fn health(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let key = required_key(c, &state, p)?;
    let pool = elbv2::target_group(&state, &key, None)?;
    let Some(group) = &pool.target_group else {
        return Ok(());
    };
    let in_use = !elbv2::balancers_using(&state, &key).is_empty();
    let check_port = |port: u16| pool.health_check.port.unwrap_or(port).to_string();
    let row_of =
        |id: &str, port: u16, zone: Option<String>, address: Option<&burr_model::TargetAddress>| {
            let (state_name, reason) = match address {
                None => (
                    "unused",
                    Some((
                        "Target.NotRegistered",
                        "Target is not registered to the target group".to_string(),
                    )),
                ),
                Some(_) if !in_use => (
                    "unused",
                    Some((
                        "Target.NotInUse",
                        "Target group is not configured to receive traffic from the load balancer"
                            .to_string(),
                    )),
                ),
                Some(address) => match c.health(&key, address) {
                    TargetHealth::Healthy => ("healthy", None),
                    TargetHealth::Unknown => (
                        "initial",
                        Some((
                            "Elb.RegistrationInProgress",
                            "Target registration is in progress".to_string(),
                        )),
                    ),
                    TargetHealth::Draining => (
                        "draining",
                        Some((
                            "Target.DeregistrationInProgress",
                            "Target deregistration is in progress".to_string(),
                        )),
                    ),
                    TargetHealth::Unhealthy(reason) => ("unhealthy", Some(unhealthy(reason))),
                },
            };
            HealthRow {
                id: id.to_string(),
                port,
                zone,
                health_check_port: check_port(port),
                state: state_name,
                reason,
            }
        };
    let asked = targets(p)?;
    let mut rows = Vec::new();
    if asked.is_empty() {
        for (registration, target) in group.registrations.iter().zip(&pool.targets) {
            rows.push(row_of(
                &registration.id,
                registration.port,
                registration.availability_zone.clone(),
                Some(&target.address),
            ));
        }
        for draining in &pool.draining_targets {
            let host = draining.address.to_string();
            let id = host
                .rsplit_once(':')
                .map_or(host.as_str(), |(h, _)| h)
                .trim_matches(['[', ']'])
                .to_string();
            let port = draining.address.port();
            rows.push(HealthRow {
                id,
                port,
                zone: None,
                health_check_port: check_port(port),
                state: "draining",
                reason: Some((
                    "Target.DeregistrationInProgress",
                    "Target deregistration is in progress".to_string(),
                )),
            });
        }
    } else {
        for t in &asked {
            let (registration, address) = elbv2::resolve_target(&state, pool, t)?;
            let registered = group
                .registrations
                .iter()
                .position(|r| r.id == registration.id && r.port == registration.port)
                .map(|i| &pool.targets[i].address);
            let draining = pool.draining_targets.iter().any(|d| d.address == address);
            if registered.is_none() && draining {
                rows.push(HealthRow {
                    id: registration.id.clone(),
                    port: registration.port,
                    zone: registration.availability_zone.clone(),
                    health_check_port: check_port(registration.port),
                    state: "draining",
                    reason: Some((
                        "Target.DeregistrationInProgress",
                        "Target deregistration is in progress".to_string(),
                    )),
                });
            } else {
                rows.push(row_of(
                    &registration.id,
                    registration.port,
                    registration.availability_zone.clone(),
                    registered,
                ));
            }
        }
    }
    xml.members("TargetHealthDescriptions", &rows, |x, row| {
        x.element("Target", |x| {
            x.text("Id", &row.id);
            x.text("Port", &row.port.to_string());
            if let Some(zone) = &row.zone {
                x.text("AvailabilityZone", zone);
            }
        });
        x.text("HealthCheckPort", &row.health_check_port);
        x.element("TargetHealth", |x| {
            x.text("State", row.state);
            if let Some((code, description)) = &row.reason {
                x.text("Reason", code);
                x.text("Description", description);
            }
        });
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unhealthy_reason_has_its_aws_code_and_words() {
        assert_eq!(
            unhealthy(Some(UnhealthyReason::ResponseCodeMismatch(503))),
            (
                "Target.ResponseCodeMismatch",
                "Health checks failed with these codes: [503]".to_string()
            )
        );
        assert_eq!(
            unhealthy(Some(UnhealthyReason::Timeout)),
            ("Target.Timeout", "Request timed out".to_string())
        );
        assert_eq!(
            unhealthy(Some(UnhealthyReason::UnexpectedReply {
                expected: "pong".into()
            })),
            (
                "Target.FailedHealthChecks",
                "Health checks failed: the UDP reply did not contain \"pong\"".to_string()
            )
        );
        for reason in [Some(UnhealthyReason::FailedHealthChecks), None] {
            assert_eq!(
                unhealthy(reason),
                (
                    "Target.FailedHealthChecks",
                    "Health checks failed".to_string()
                )
            );
        }
    }
}
