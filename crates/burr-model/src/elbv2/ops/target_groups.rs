//! Target groups: create, modify (health check), delete, and their attributes. A target group is
//! a pool; its health check, stickiness, draining and algorithm are the pool's own settings.

use super::*;
use crate::elbv2::attributes::apply_target_group_attributes;
use crate::elbv2::{Context, MAX_TARGET_GROUPS, TargetGroup, TargetType, V2Protocol};
use crate::{CookieFlavour, HealthCheck, HealthCheckProtocol, Origin, region};

/// The health-check members of `CreateTargetGroup` and `ModifyTargetGroup`; absent members keep
/// their value (or take the default at creation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheckRequest {
    pub protocol: Option<String>,
    /// `traffic-port` or a port number.
    pub port: Option<String>,
    pub enabled: Option<bool>,
    pub path: Option<String>,
    pub interval_secs: Option<i64>,
    pub timeout_secs: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    /// `Matcher.HttpCode`.
    pub http_codes: Option<String>,
    /// `Matcher.GrpcCode`.
    pub grpc_codes: Option<String>,
}

/// `CreateTargetGroup` as the API gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupRequest {
    pub protocol: Option<String>,
    pub protocol_version: Option<String>,
    pub port: Option<i64>,
    pub vpc_id: Option<String>,
    pub target_type: Option<String>,
    pub ip_address_type: Option<String>,
    pub health_check: HealthCheckRequest,
    pub tags: Vec<(String, String)>,
}

fn protocol(parameter: &str, text: &str) -> Result<V2Protocol, V2Error> {
    V2Protocol::parse(text).ok_or_else(|| {
        V2Error::parameter(
            parameter,
            format!("{text:?}"),
            "must be one of HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP",
        )
    })
}

/// `CreateTargetGroup`. The same name with the same protocol, port, VPC and target type
/// answers the existing group, as on AWS; other settings are `DuplicateTargetGroupName`.
pub fn create_target_group(
    state: &mut State,
    key: &str,
    request: &TargetGroupRequest,
    context: Context,
) -> Result<(), V2Error> {
    let name = region::local_name(key);
    check_resource_name("Name", name)?;
    let target_type = match request.target_type.as_deref().unwrap_or("instance") {
        "instance" => TargetType::Instance,
        "ip" => TargetType::Ip,
        other => {
            return Err(V2Error::parameter(
                "TargetType",
                format!("{other:?}"),
                "burr takes instance or ip targets (lambda and alb targets are not supported)",
            ));
        }
    };
    let proto_text = request.protocol.as_deref().ok_or_else(|| {
        V2Error::invalid("Protocol: a protocol is required for instance and ip target groups")
    })?;
    let proto = protocol("Protocol", proto_text)?;
    let port = number_in(
        "Port",
        request.port.ok_or_else(|| {
            V2Error::invalid("Port: a port is required for instance and ip target groups")
        })?,
        1,
        65535,
    )? as u16;
    let protocol_version = match (&request.protocol_version, proto.is_application()) {
        (Some(v), true) if v.is_empty() => Some("HTTP1".to_string()),
        (Some(v), true) if ["HTTP1", "HTTP2", "GRPC"].contains(&v.as_str()) => Some(v.clone()),
        (Some(v), true) => {
            return Err(V2Error::parameter(
                "ProtocolVersion",
                format!("{v:?}"),
                "must be HTTP1, HTTP2 or GRPC",
            ));
        }
        (None, true) => Some("HTTP1".to_string()),
        (Some(v), false) if !v.is_empty() => {
            return Err(V2Error::parameter(
                "ProtocolVersion",
                format!("{v:?}"),
                "applies only to HTTP and HTTPS target groups",
            ));
        }
        _ => None,
    };
    check_tags(&request.tags)?;
    if let Some(existing) = state.pools.get(key) {
        let same = existing.target_group.as_ref().is_some_and(|t| {
            t.protocol == proto
                && t.port == port
                && t.vpc_id == request.vpc_id
                && t.target_type == target_type
        });
        if same {
            return Ok(());
        }
        return Err(V2Error::new(
            ErrorCode::DuplicateTargetGroupName,
            format!(
                "A target group with the same name '{name}' exists, but with different settings"
            ),
        ));
    }
    let region = region::region_of(key);
    let in_region = state
        .pools
        .iter()
        .filter(|(k, p)| region::region_of(k) == region && p.target_group.is_some())
        .count();
    if in_region >= MAX_TARGET_GROUPS {
        return Err(V2Error::new(
            ErrorCode::TooManyTargetGroups,
            format!("burr holds at most {MAX_TARGET_GROUPS} target groups per region"),
        ));
    }
    let mut pool = Pool::new(key);
    pool.origin = Origin::Api;
    pool.stickiness.flavour = CookieFlavour::Alb;
    pool.health_check = default_health_check(proto);
    let mut group = TargetGroup {
        id: context.new_id(&format!("targetgroup/{key}")),
        protocol: proto,
        protocol_version,
        port,
        vpc_id: request.vpc_id.clone(),
        target_type,
        ip_address_type: request.ip_address_type.clone(),
        health_check_protocol: if proto.is_application() {
            proto
        } else {
            V2Protocol::Tcp
        },
        grpc_codes: None,
        attributes: Default::default(),
        registrations: Vec::new(),
        tags: request.tags.iter().cloned().collect(),
    };
    apply_health_check(&mut pool.health_check, &mut group, &request.health_check)?;
    pool.target_group = Some(group);
    apply_target_group_attributes(&mut pool, &[])?;
    state.pools.insert(key.to_string(), pool);
    finish(state, context.listen_host)
}

/// The ELBv2 defaults: HTTP(S) groups check `/` over their own protocol every 30 s with a 5 s
/// timeout; TCP, TLS, UDP and TCP_UDP groups connect over TCP every 30 s with a 10 s timeout (a
/// UDP group's targets need a TCP, HTTP or HTTPS check port, as on NLB, which has no UDP
/// check); 5 healthy, 2 unhealthy.
fn default_health_check(protocol: V2Protocol) -> HealthCheck {
    let application = protocol.is_application();
    HealthCheck {
        enabled: true,
        protocol: match protocol {
            V2Protocol::Http => HealthCheckProtocol::Http,
            V2Protocol::Https => HealthCheckProtocol::Https,
            _ => HealthCheckProtocol::Tcp,
        },
        port: None,
        path: "/".into(),
        interval_secs: 30,
        timeout_secs: if application { 5 } else { 10 },
        healthy_threshold: 5,
        unhealthy_threshold: 2,
        success_codes: if application { "200" } else { "200-399" }.into(),
        udp_payload: None,
        udp_expect: None,
    }
}

/// Sets the given health-check members on `check` (and what only the API keeps on `group`).
fn apply_health_check(
    check: &mut HealthCheck,
    group: &mut TargetGroup,
    request: &HealthCheckRequest,
) -> Result<(), V2Error> {
    if let Some(text) = &request.protocol {
        let p = protocol("HealthCheckProtocol", text)?;
        let allowed = if group.protocol.is_application() {
            p.is_application()
        } else {
            matches!(p, V2Protocol::Http | V2Protocol::Https | V2Protocol::Tcp)
        };
        if !allowed {
            // AWS's words for UDP, TCP_UDP and TLS on a network group: "Health check protocol
            // 'UDP' is not supported", with what is.
            return Err(V2Error::conflict(format!(
                "HealthCheckProtocol: {text:?} is not allowed for a target group with the {} \
                 protocol: use {}",
                group.protocol.as_str(),
                if group.protocol.is_application() {
                    "HTTP or HTTPS"
                } else {
                    "TCP, HTTP or HTTPS"
                }
            )));
        }
        group.health_check_protocol = p;
        check.protocol = match p {
            V2Protocol::Http => HealthCheckProtocol::Http,
            V2Protocol::Https => HealthCheckProtocol::Https,
            _ => HealthCheckProtocol::Tcp,
        };
    }
    if let Some(port) = &request.port {
        check.port = match port.as_str() {
            "traffic-port" => None,
            text => {
                Some(number_in("HealthCheckPort", text.parse().unwrap_or(-1), 1, 65535)? as u16)
            }
        };
    }
    if request.enabled == Some(false) {
        return Err(V2Error::parameter(
            "HealthCheckEnabled",
            "false",
            "health checks of instance and ip target groups cannot be disabled",
        ));
    }
    if let Some(path) = &request.path {
        if !(1..=1024).contains(&path.len()) {
            return Err(V2Error::parameter(
                "HealthCheckPath",
                format!("{path:?}"),
                "must be 1 to 1024 characters",
            ));
        }
        check.path = path.clone();
    }
    let numbers = [
        (request.interval_secs, "HealthCheckIntervalSeconds", 5, 300),
        (request.timeout_secs, "HealthCheckTimeoutSeconds", 2, 120),
        (request.healthy_threshold, "HealthyThresholdCount", 2, 10),
        (
            request.unhealthy_threshold,
            "UnhealthyThresholdCount",
            2,
            10,
        ),
    ];
    for (i, (value, parameter, lo, hi)) in numbers.into_iter().enumerate() {
        if let Some(v) = value {
            let v = number_in(parameter, v, lo, hi)?;
            match i {
                0 => check.interval_secs = v,
                1 => check.timeout_secs = v,
                2 => check.healthy_threshold = v,
                _ => check.unhealthy_threshold = v,
            }
        }
    }
    if check.timeout_secs >= check.interval_secs {
        return Err(V2Error::parameter(
            "HealthCheckTimeoutSeconds",
            check.timeout_secs,
            format!(
                "must be smaller than HealthCheckIntervalSeconds ({})",
                check.interval_secs
            ),
        ));
    }
    if let Some(codes) = &request.http_codes {
        check.success_codes = codes.clone();
    }
    if let Some(codes) = &request.grpc_codes {
        group.grpc_codes = Some(codes.clone());
    }
    Ok(())
}

/// `ModifyTargetGroup`: the health check members given change; the rest stay.
pub fn modify_target_group(
    state: &mut State,
    key: &str,
    request: &HealthCheckRequest,
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let pool = target_group_mut(state, key)?;
    let mut check = pool.health_check.clone();
    let Some(mut group) = pool.target_group.clone() else {
        return Err(V2Error::no_target_group(region::local_name(key)));
    };
    apply_health_check(&mut check, &mut group, request)?;
    pool.health_check = check;
    pool.target_group = Some(group);
    finish(state, listen_host)
}

/// `DeleteTargetGroup`: refused while a listener or rule forwards to it; deleting one that does
/// not exist succeeds, as on AWS.
pub fn delete_target_group(state: &mut State, key: &str) -> Result<(), V2Error> {
    if target_group(state, key, None).is_err() {
        return Ok(());
    }
    if let Some(user) = balancers_using(state, key).first() {
        return Err(V2Error::new(
            ErrorCode::ResourceInUse,
            format!(
                "Target group '{}' is currently in use by a listener or a rule of load balancer \
                 '{}'",
                region::local_name(key),
                region::local_name(user)
            ),
        ));
    }
    state.pools.remove(key);
    Ok(())
}

/// `ModifyTargetGroupAttributes`.
pub fn modify_target_group_attributes(
    state: &mut State,
    key: &str,
    given: &[(String, String)],
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let pool = target_group_mut(state, key)?;
    apply_target_group_attributes(pool, given)?;
    finish(state, listen_host)
}
