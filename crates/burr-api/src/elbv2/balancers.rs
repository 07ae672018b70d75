//! Load balancer actions: create, describe, delete, attributes, IP address type, subnets and
//! security groups.

use super::arn::{self, Kind};
use super::{attributes, change, context, write_attributes, write_page};
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::elbv2::{self, LoadBalancerRequest, LoadBalancerType, Resource};
use burr_model::{Balancer, State, region};

/// `LoadBalancerArn`, required, as the state's key.
pub(crate) fn required_key(
    c: &dyn ControlPlane,
    state: &State,
    p: &Params,
) -> Result<String, ApiError> {
    let text = p.required("LoadBalancerArn")?;
    match arn::resolve(c, state, "LoadBalancerArn", text, Kind::LoadBalancer)? {
        Resource::LoadBalancer(key) => Ok(key),
        _ => Err(ApiError::invalid(
            "LoadBalancerArn: must name a load balancer",
        )),
    }
}

pub fn create(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let name = p.required("Name")?;
    if name.contains('/') {
        return Err(ApiError::invalid(format!(
            "Name: {name:?} is not allowed: may contain only ASCII letters, digits and hyphens"
        )));
    }
    let kind_text = p.get("Type").unwrap_or("application");
    let kind = LoadBalancerType::parse(kind_text).ok_or_else(|| {
        ApiError::invalid(format!(
            "Type: {kind_text:?} is not allowed: burr serves application and network load \
             balancers (gateway is not supported)"
        ))
    })?;
    let mut subnets = p.list("Subnets");
    subnets.extend(
        p.structures("SubnetMappings")
            .iter()
            .filter_map(|m| m.get("SubnetId").map(str::to_string)),
    );
    let request = LoadBalancerRequest {
        kind,
        scheme: p.get("Scheme").map(str::to_string),
        ip_address_type: p.get("IpAddressType").map(str::to_string),
        subnets,
        security_groups: p.list("SecurityGroups"),
        tags: p.tags()?,
    };
    let key = c.key(name);
    let ctx = context(c);
    let (_, state) = change(c, |s| elbv2::create_load_balancer(s, &key, &request, ctx))?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    xml.members("LoadBalancers", &[b], |x, b| write_load_balancer(c, x, b));
    Ok(())
}

/// One `LoadBalancer`. `State` is always `active`: the listeners are bound before the change
/// is acknowledged (Terraform waits for `active` and fails without `State`).
pub fn write_load_balancer(c: &dyn ControlPlane, x: &mut Xml, b: &Balancer) {
    let Some(v2) = &b.aws.elbv2 else {
        return;
    };
    x.text("LoadBalancerArn", &arn::load_balancer(c, b));
    x.text("DNSName", &crate::elb::dns_name(c, b));
    x.text("CreatedTime", &crate::xml::timestamp(b.aws.created_at));
    x.text("LoadBalancerName", region::local_name(&b.name));
    x.text(
        "Scheme",
        b.aws.scheme.as_deref().unwrap_or("internet-facing"),
    );
    x.element("State", |x| x.text("Code", "active"));
    x.text("Type", v2.kind.as_str());
    write_zones(x, b);
    x.string_members("SecurityGroups", &b.aws.placement.security_groups);
    x.text("IpAddressType", &v2.ip_address_type);
}

pub fn describe(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let arns = p.list("LoadBalancerArns");
    let names = p.list("Names");
    if !arns.is_empty() && !names.is_empty() {
        return Err(ApiError::invalid(
            "LoadBalancerArns and Names cannot be given together",
        ));
    }
    let mut chosen: Vec<&Balancer> = Vec::new();
    for text in &arns {
        if let Resource::LoadBalancer(key) =
            arn::resolve(c, &state, "LoadBalancerArns", text, Kind::LoadBalancer)?
        {
            chosen.extend(state.balancers.get(&key));
        }
    }
    for name in &names {
        let key = c.key(name);
        let b = elbv2::load_balancer(&state, &key, None)?;
        chosen.push(b);
    }
    if arns.is_empty() && names.is_empty() {
        chosen.extend(
            state
                .balancers
                .values()
                .filter(|b| c.owns(&b.name) && b.aws.elbv2.is_some()),
        );
    }
    chosen.dedup_by(|a, b| a.name == b.name);
    write_page(p, xml, chosen, |x, shown| {
        x.members("LoadBalancers", shown, |x, b| write_load_balancer(c, x, b));
    })
}

pub fn delete(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    change(c, |s| elbv2::delete_load_balancer(s, &key))?;
    Ok(())
}

pub fn describe_attributes(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let state = c.state();
    let key = required_key(c, &state, p)?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    write_attributes(xml, &elbv2::load_balancer_attributes(b));
    Ok(())
}

pub fn modify_attributes(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let given = attributes(p)?;
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| {
        elbv2::modify_load_balancer_attributes(s, &key, &given, listen_host)
    })?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    write_attributes(xml, &elbv2::load_balancer_attributes(b));
    Ok(())
}

pub fn set_ip_address_type(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let value = p.required("IpAddressType")?.to_string();
    let (_, state) = change(c, |s| elbv2::set_ip_address_type(s, &key, &value))?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    xml.text(
        "IpAddressType",
        b.aws
            .elbv2
            .as_ref()
            .map_or("ipv4", |v| v.ip_address_type.as_str()),
    );
    Ok(())
}

pub fn set_subnets(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let mut subnets = p.list("Subnets");
    subnets.extend(
        p.structures("SubnetMappings")
            .iter()
            .filter_map(|m| m.get("SubnetId").map(str::to_string)),
    );
    let (_, state) = change(c, |s| elbv2::set_subnets(s, &key, &subnets))?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    write_zones(xml, b);
    if let Some(v2) = &b.aws.elbv2 {
        xml.text("IpAddressType", &v2.ip_address_type);
    }
    Ok(())
}

pub fn set_security_groups(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let key = required_key(c, &c.state(), p)?;
    let groups = p.list("SecurityGroups");
    let (_, state) = change(c, |s| elbv2::set_security_groups(s, &key, &groups))?;
    let b = elbv2::load_balancer(&state, &key, None)?;
    xml.string_members("SecurityGroupIds", &b.aws.placement.security_groups);
    Ok(())
}

/// `AvailabilityZones`: burr has no zones, so each subnet label gets a zone name of its own, in
/// order (`<region>a`, `<region>b`, …); Terraform reads the subnets back from here.
fn write_zones(x: &mut Xml, b: &Balancer) {
    let region = region::region_of(&b.name);
    let subnets: Vec<(usize, &String)> = b.aws.placement.subnets.iter().enumerate().collect();
    x.members("AvailabilityZones", &subnets, |x, (i, subnet)| {
        let letter = char::from(b'a' + (*i % 26) as u8);
        x.text("ZoneName", &format!("{region}{letter}"));
        x.text("SubnetId", subnet);
    });
}
