//! Application and network load balancers: create and delete them, their attributes, IP
//! address type, subnets and security groups (labels, as for Classic).

use super::*;
use crate::classic::{Placement, check_label, check_tag};
use crate::elbv2::attributes::{check_keys, described};
use crate::elbv2::{
    Context, LOAD_BALANCER_ATTRIBUTES, LoadBalancerType, MAX_LOAD_BALANCERS, MAX_TAGS, V2Balancer,
};
use crate::{Origin, region};

/// `CreateLoadBalancer` as the API gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerRequest {
    pub kind: LoadBalancerType,
    /// `internet-facing` (the default) or `internal`.
    pub scheme: Option<String>,
    /// `ipv4` (the default), `dualstack` or `dualstack-without-public-ipv4`.
    pub ip_address_type: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub tags: Vec<(String, String)>,
}

const IP_ADDRESS_TYPES: [&str; 3] = ["ipv4", "dualstack", "dualstack-without-public-ipv4"];

/// `CreateLoadBalancer`. Creating one that exists with the same settings answers it unchanged,
/// as on AWS; with other settings (or a Classic balancer of that name) it is
/// `DuplicateLoadBalancerName`.
pub fn create_load_balancer(
    state: &mut State,
    key: &str,
    request: &LoadBalancerRequest,
    context: Context,
) -> Result<(), V2Error> {
    let name = region::local_name(key);
    check_resource_name("Name", name)?;
    if name.starts_with("internal-") {
        return Err(V2Error::parameter(
            "Name",
            format!("{name:?}"),
            "must not begin with \"internal-\"",
        ));
    }
    let scheme = request.scheme.as_deref().unwrap_or("internet-facing");
    if scheme != "internet-facing" && scheme != "internal" {
        return Err(V2Error::new(
            ErrorCode::InvalidScheme,
            format!("Scheme: {scheme:?} is not allowed: must be internet-facing or internal"),
        ));
    }
    let ip_address_type = check_ip_address_type(request.ip_address_type.as_deref())?;
    let placement = placement_of(&request.subnets, &request.security_groups, &[])?;
    check_tags(&request.tags)?;
    if let Some(existing) = state.balancers.get(key) {
        let same = existing
            .aws
            .elbv2
            .as_ref()
            .is_some_and(|v| v.kind == request.kind && v.ip_address_type == ip_address_type)
            && existing.aws.scheme.as_deref().unwrap_or("internet-facing") == scheme
            && existing.aws.placement.subnets == placement.subnets;
        if same {
            return Ok(());
        }
        return Err(V2Error::new(
            ErrorCode::DuplicateLoadBalancerName,
            format!("A load balancer with the name '{name}' already exists"),
        ));
    }
    let region = region::region_of(key);
    let in_region = state
        .balancers
        .iter()
        .filter(|(k, b)| region::region_of(k) == region && b.aws.elbv2.is_some())
        .count();
    if in_region >= MAX_LOAD_BALANCERS {
        return Err(V2Error::new(
            ErrorCode::TooManyLoadBalancers,
            format!(
                "The maximum number of load balancers has been reached: burr holds at most \
                 {MAX_LOAD_BALANCERS} application and network load balancers per region"
            ),
        ));
    }
    let mut created = Balancer::new(key);
    created.origin = Origin::Api;
    created.aws.created_at = context.now;
    created.aws.scheme = (scheme == "internal").then(|| scheme.to_string());
    created.aws.placement = placement;
    created.aws.tags = request.tags.iter().cloned().collect();
    created.aws.elbv2 = Some(V2Balancer {
        kind: request.kind,
        id: context.new_id(&format!("loadbalancer/{key}")),
        ip_address_type,
        attributes: Default::default(),
    });
    created.address = context
        .address_pool
        .allocate(state, context.listen_host)
        .map_err(V2Error::conflict)?;
    state.balancers.insert(key.to_string(), created);
    finish(state, context.listen_host)
}

/// `DeleteLoadBalancer`: the balancer and its listeners and rules go; its target groups stay.
/// Refused while `deletion_protection.enabled` is true.
pub fn delete_load_balancer(state: &mut State, key: &str) -> Result<(), V2Error> {
    let b = load_balancer(state, key, None)?;
    if b.aws
        .elbv2
        .as_ref()
        .and_then(|v| v.attributes.get("deletion_protection.enabled"))
        .is_some_and(|v| v == "true")
    {
        return Err(V2Error::new(
            ErrorCode::OperationNotPermitted,
            format!(
                "Load balancer '{}' cannot be deleted because deletion protection is enabled",
                region::local_name(key)
            ),
        ));
    }
    state.balancers.remove(key);
    Ok(())
}

/// `DescribeLoadBalancerAttributes`: every key of the balancer's type, as set or by default.
pub fn load_balancer_attributes(b: &Balancer) -> Vec<(String, String)> {
    let Some(v2) = &b.aws.elbv2 else {
        return Vec::new();
    };
    described(
        LOAD_BALANCER_ATTRIBUTES,
        v2.kind == LoadBalancerType::Network,
        &v2.attributes,
    )
}

/// `ModifyLoadBalancerAttributes`. `idle_timeout.timeout_seconds` sets every listener's idle
/// timeout (1–4000 s); `deletion_protection.enabled` guards `DeleteLoadBalancer`; the other keys
/// are stored and returned.
pub fn modify_load_balancer_attributes(
    state: &mut State,
    key: &str,
    given: &[(String, String)],
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let network = load_balancer(state, key, None)?
        .aws
        .elbv2
        .as_ref()
        .is_some_and(|v| v.kind == LoadBalancerType::Network);
    check_keys(LOAD_BALANCER_ATTRIBUTES, network, given)?;
    for (k, value) in given {
        let bool_key = k.ends_with(".enabled");
        if bool_key && value != "true" && value != "false" {
            return Err(V2Error::parameter(
                &format!("Attribute {k}"),
                format!("{value:?}"),
                "must be true or false",
            ));
        }
        if k == "idle_timeout.timeout_seconds" {
            number_in(k, value.parse().unwrap_or(-1), 1, 4000)?;
        }
        if k == "client_keep_alive.seconds" {
            number_in(k, value.parse().unwrap_or(-1), 60, 604_800)?;
        }
        if k == "routing.http.desync_mitigation_mode"
            && !["monitor", "defensive", "strictest"].contains(&value.as_str())
        {
            return Err(V2Error::parameter(
                &format!("Attribute {k}"),
                format!("{value:?}"),
                "must be monitor, defensive or strictest",
            ));
        }
    }
    let b = load_balancer_mut(state, key)?;
    for (k, value) in given {
        if k == "idle_timeout.timeout_seconds"
            && let Ok(secs) = value.parse::<u32>()
        {
            for listener in &mut b.listeners {
                listener.idle_timeout_secs = secs;
            }
        }
        if let Some(v2) = b.aws.elbv2.as_mut() {
            v2.attributes.insert(k.clone(), value.clone());
        }
    }
    finish(state, listen_host)
}

/// `SetIpAddressType`.
pub fn set_ip_address_type(state: &mut State, key: &str, value: &str) -> Result<(), V2Error> {
    let checked = check_ip_address_type(Some(value))?;
    let b = load_balancer_mut(state, key)?;
    if let Some(v2) = b.aws.elbv2.as_mut() {
        v2.ip_address_type = checked;
    }
    Ok(())
}

/// `SetSubnets`: the balancer's subnet labels become `subnets`.
pub fn set_subnets(state: &mut State, key: &str, subnets: &[String]) -> Result<(), V2Error> {
    if subnets.is_empty() {
        return Err(V2Error::parameter(
            "Subnets",
            "(empty)",
            "at least one subnet is required",
        ));
    }
    let placement = placement_of(subnets, &[], &[])?;
    let b = load_balancer_mut(state, key)?;
    b.aws.placement.subnets = placement.subnets;
    Ok(())
}

/// `SetSecurityGroups`: the balancer's security group labels become `groups`.
pub fn set_security_groups(state: &mut State, key: &str, groups: &[String]) -> Result<(), V2Error> {
    let placement = placement_of(&[], groups, &[])?;
    let b = load_balancer_mut(state, key)?;
    b.aws.placement.security_groups = placement.security_groups;
    Ok(())
}

fn check_ip_address_type(value: Option<&str>) -> Result<String, V2Error> {
    let value = value.unwrap_or("ipv4");
    if IP_ADDRESS_TYPES.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(V2Error::parameter(
            "IpAddressType",
            format!("{value:?}"),
            format!("must be one of {}", IP_ADDRESS_TYPES.join(", ")),
        ))
    }
}

/// Labels checked as for Classic (1–255 printable ASCII), in order, repeats dropped.
fn placement_of(
    subnets: &[String],
    security_groups: &[String],
    zones: &[String],
) -> Result<Placement, V2Error> {
    let labels = |parameter: &str, given: &[String]| -> Result<Vec<String>, V2Error> {
        let mut out: Vec<String> = Vec::new();
        for label in given {
            check_label(label)
                .map_err(|rule| V2Error::parameter(parameter, format!("{label:?}"), rule))?;
            if !out.contains(label) {
                out.push(label.clone());
            }
        }
        Ok(out)
    };
    Ok(Placement {
        availability_zones: labels("AvailabilityZones", zones)?,
        subnets: labels("Subnets", subnets)?,
        security_groups: labels("SecurityGroups", security_groups)?,
    })
}

/// Checks tags as given at creation or by `AddTags`: no key twice, AWS's key and value rules,
/// at most [`MAX_TAGS`].
pub fn check_tags(tags: &[(String, String)]) -> Result<(), V2Error> {
    for (i, (key, value)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(V2Error::new(
                ErrorCode::DuplicateTagKeys,
                format!("Tags: the key {key:?} is given more than once"),
            ));
        }
        if let Err((field, rule)) = check_tag(key, value) {
            let shown = if field == "Key" { key } else { value };
            return Err(V2Error::parameter(
                &format!("Tags.{field}"),
                format!("{shown:?}"),
                rule,
            ));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(V2Error::new(
            ErrorCode::TooManyTags,
            format!(
                "{} tags given; a resource holds at most {MAX_TAGS}",
                tags.len()
            ),
        ));
    }
    Ok(())
}
