//! The actions that change the configuration. Each runs one Classic operation through
//! [`ControlPlane::apply`], which writes it durably and puts it in service before the answer.

use super::{listener_requests, required_instance_ids, write_instances};
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::classic::{
    self, AccessLogSettings, AttributeChanges, HealthCheckNumbers, NamedPolicy,
};
use burr_model::{State, region};

fn name(c: &dyn ControlPlane, params: &Params) -> Result<String, ApiError> {
    super::required_balancer(c, params)
}

pub fn create_load_balancer(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    if !p.has_scope("Listeners") && p.get("Listeners").is_none() {
        return Err(ApiError::missing("Listeners"));
    }
    let listeners = listener_requests(p)?;
    let tags = p.tags()?;
    let scheme = p.get("Scheme");
    let placement = super::placement::requested(p);
    let context = c.context();
    let state = c.apply(&mut |s| {
        classic::create_load_balancer(s, &lb, &listeners, scheme, &tags, &placement, context)
    })?;
    let balancer = classic::balancer(&state, &lb)?;
    xml.text("DNSName", &super::describe::dns_name(c, balancer));
    Ok(())
}

pub fn delete_load_balancer(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    c.apply(&mut |s| classic::delete_load_balancer(s, &lb))?;
    Ok(())
}

pub fn create_listeners(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let listeners = listener_requests(p)?;
    if listeners.is_empty() {
        return Err(ApiError::missing("Listeners"));
    }
    let context = c.context();
    c.apply(&mut |s| classic::create_listeners(s, &lb, &listeners, context))?;
    Ok(())
}

pub fn delete_listeners(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    if !p.has_scope("LoadBalancerPorts") && p.get("LoadBalancerPorts").is_none() {
        return Err(ApiError::missing("LoadBalancerPorts"));
    }
    let ports = p
        .list("LoadBalancerPorts")
        .iter()
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::invalid(format!(
                    "LoadBalancerPorts: {v:?} is not allowed: must be an integer"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    c.apply(&mut |s| classic::delete_listeners(s, &lb, &ports))?;
    Ok(())
}

pub fn register_instances(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let ids = required_instance_ids(p)?;
    let context = c.context();
    let state = c.apply(&mut |s| classic::register_instances(s, &lb, &ids, context))?;
    write_current_instances(&state, &lb, xml)
}

pub fn deregister_instances(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let ids = required_instance_ids(p)?;
    let context = c.context();
    let state = c.apply(&mut |s| classic::deregister_instances(s, &lb, &ids, context))?;
    write_current_instances(&state, &lb, xml)
}

/// The balancer's instances as the change left them.
fn write_current_instances(state: &State, lb: &str, xml: &mut Xml) -> Result<(), ApiError> {
    let balancer = classic::balancer(state, lb)?;
    write_instances(xml, &classic::instances_of(balancer, state));
    Ok(())
}

pub fn configure_health_check(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let h = p.scope("HealthCheck");
    let need = |field: &str| {
        h.int(field)
            .map_err(|e| ApiError {
                message: format!("HealthCheck.{}", e.message),
                ..e
            })?
            .ok_or_else(|| ApiError::missing(&format!("HealthCheck.{field}")))
    };
    let target = h
        .get("Target")
        .ok_or_else(|| ApiError::missing("HealthCheck.Target"))?
        .to_string();
    let numbers = HealthCheckNumbers {
        interval: need("Interval")?,
        timeout: need("Timeout")?,
        healthy_threshold: need("HealthyThreshold")?,
        unhealthy_threshold: need("UnhealthyThreshold")?,
    };
    let context = c.context();
    let state =
        c.apply(&mut |s| classic::configure_health_check(s, &lb, &target, numbers, context))?;
    super::describe::write_health_check(xml, classic::balancer(&state, &lb)?, &state);
    Ok(())
}

pub fn create_lb_cookie_policy(
    c: &dyn ControlPlane,
    p: &Params,
    _: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let policy =
        classic::lb_cookie_policy(p.required("PolicyName")?, p.int("CookieExpirationPeriod")?)?;
    add_policy(c, &lb, policy)
}

pub fn create_app_cookie_policy(
    c: &dyn ControlPlane,
    p: &Params,
    _: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let policy = classic::app_cookie_policy(p.required("PolicyName")?, p.required("CookieName")?)?;
    add_policy(c, &lb, policy)
}

pub fn create_policy(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let attributes = p
        .structures("PolicyAttributes")
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = a.get("AttributeName").ok_or_else(|| {
                ApiError::missing(&format!("PolicyAttributes.member.{}.AttributeName", i + 1))
            })?;
            Ok((
                name.to_string(),
                a.get("AttributeValue").unwrap_or_default().to_string(),
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let policy = NamedPolicy {
        name: p.required("PolicyName")?.to_string(),
        type_name: p.required("PolicyTypeName")?.to_string(),
        attributes,
    };
    add_policy(c, &lb, policy)
}

fn add_policy(c: &dyn ControlPlane, lb: &str, policy: NamedPolicy) -> Result<(), ApiError> {
    c.apply(&mut |s| classic::create_policy(s, lb, policy.clone()))?;
    Ok(())
}

pub fn delete_policy(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let policy = p.required("PolicyName")?.to_string();
    c.apply(&mut |s| classic::delete_policy(s, &lb, &policy))?;
    Ok(())
}

/// `PolicyNames`: required, though it may be the empty list (`PolicyNames=`).
fn policy_names(p: &Params) -> Result<Vec<String>, ApiError> {
    let names = p.list("PolicyNames");
    if names.is_empty() && p.get("PolicyNames").is_none() {
        return Err(ApiError::missing("PolicyNames"));
    }
    Ok(names)
}

pub fn set_listener_policies(
    c: &dyn ControlPlane,
    p: &Params,
    _: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let port = p.required_int("LoadBalancerPort")?;
    let names = policy_names(p)?;
    let context = c.context();
    c.apply(&mut |s| classic::set_listener_policies(s, &lb, port, &names, context))?;
    Ok(())
}

pub fn set_backend_policies(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let port = p.required_int("InstancePort")?;
    let names = policy_names(p)?;
    let context = c.context();
    c.apply(&mut |s| classic::set_backend_policies(s, &lb, port, &names, context))?;
    Ok(())
}

pub fn set_listener_certificate(
    c: &dyn ControlPlane,
    p: &Params,
    _: &mut Xml,
) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let port = p.required_int("LoadBalancerPort")?;
    let certificate = p.required("SSLCertificateId")?.to_string();
    let context = c.context();
    c.apply(&mut |s| classic::set_listener_certificate(s, &lb, port, &certificate, context))?;
    Ok(())
}

pub fn modify_attributes(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let lb = name(c, p)?;
    let a = p.scope("LoadBalancerAttributes");
    let draining = a.scope("ConnectionDraining");
    let access = a.scope("AccessLog");
    let changes = AttributeChanges {
        connection_draining: match draining.bool("Enabled")? {
            Some(enabled) => Some((enabled, draining.int("Timeout")?)),
            None if draining.get("Timeout").is_some() => {
                return Err(ApiError::missing(
                    "LoadBalancerAttributes.ConnectionDraining.Enabled",
                ));
            }
            None => None,
        },
        idle_timeout: a.scope("ConnectionSettings").int("IdleTimeout")?,
        cross_zone: required_enabled(&a, "CrossZoneLoadBalancing")?,
        access_log: match required_enabled(&a, "AccessLog")? {
            Some(enabled) => Some(AccessLogSettings {
                enabled,
                s3_bucket_name: access.get("S3BucketName").map(str::to_string),
                emit_interval: match access.int("EmitInterval")? {
                    Some(m) => Some(u32::try_from(m).map_err(|_| {
                        ApiError::invalid(format!(
                            "AccessLog.EmitInterval: {m} is not allowed: must be 5 or 60 minutes"
                        ))
                    })?),
                    None => None,
                },
                s3_bucket_prefix: access.get("S3BucketPrefix").map(str::to_string),
            }),
            None => None,
        },
        additional: a
            .structures("AdditionalAttributes")
            .iter()
            .map(|kv| {
                (
                    kv.get("Key").unwrap_or_default().to_string(),
                    kv.get("Value").unwrap_or_default().to_string(),
                )
            })
            .collect(),
    };
    if changes == AttributeChanges::default() {
        return Err(ApiError::missing("LoadBalancerAttributes"));
    }
    let context = c.context();
    let state = c.apply(&mut |s| classic::modify_attributes(s, &lb, &changes, context))?;
    xml.text("LoadBalancerName", region::local_name(&lb));
    let given = super::describe::AttributeSelection {
        cross_zone: changes.cross_zone.is_some(),
        access_log: changes.access_log.is_some(),
        connection_draining: changes.connection_draining.is_some(),
        connection_settings: changes.idle_timeout.is_some(),
        additional: !changes.additional.is_empty(),
    };
    super::describe::write_attributes(xml, &state, classic::balancer(&state, &lb)?, given);
    Ok(())
}

/// `<group>.Enabled` of an attribute group, required when the group is given at all.
fn required_enabled(attributes: &Params, group: &str) -> Result<Option<bool>, ApiError> {
    let fields = attributes.scope(group);
    match fields.bool("Enabled")? {
        None if attributes.has_scope(group) => Err(ApiError::missing(&format!(
            "LoadBalancerAttributes.{group}.Enabled"
        ))),
        enabled => Ok(enabled),
    }
}

fn names(c: &dyn ControlPlane, p: &Params) -> Result<Vec<String>, ApiError> {
    let names = super::balancer_keys(c, p)?;
    if names.is_empty() {
        return Err(ApiError::missing("LoadBalancerNames"));
    }
    Ok(names)
}

pub fn add_tags(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let names = names(c, p)?;
    let tags = p.tags()?;
    if tags.is_empty() {
        return Err(ApiError::missing("Tags"));
    }
    c.apply(&mut |s| classic::add_tags(s, &names, &tags))?;
    Ok(())
}

pub fn remove_tags(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let names = names(c, p)?;
    let keys: Vec<String> = p.tags()?.into_iter().map(|(k, _)| k).collect();
    if keys.is_empty() {
        return Err(ApiError::missing("Tags"));
    }
    c.apply(&mut |s| classic::remove_tags(s, &names, &keys))?;
    Ok(())
}
