//! The Classic ELB API, version 2012-06-01: one handler per action. A handler reads its
//! parameters, runs the model's Classic operation through the [`ControlPlane`] (mutations) or
//! reads the state (descriptions), and writes the result's fields. Rules live in
//! `burr_model::classic`, not here.

mod change;
mod describe;
pub use describe::dns_name;
mod placement;

use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::classic::ListenerRequest;

pub const VERSION: &str = "2012-06-01";
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/";

type Handler = fn(&dyn ControlPlane, &Params, &mut Xml) -> Result<(), ApiError>;

/// Every action of the 2012-06-01 API burr serves, by name.
pub const ACTIONS: &[(&str, Handler)] = &[
    ("CreateLoadBalancer", change::create_load_balancer),
    ("DeleteLoadBalancer", change::delete_load_balancer),
    ("CreateLoadBalancerListeners", change::create_listeners),
    ("DeleteLoadBalancerListeners", change::delete_listeners),
    (
        "RegisterInstancesWithLoadBalancer",
        change::register_instances,
    ),
    (
        "DeregisterInstancesFromLoadBalancer",
        change::deregister_instances,
    ),
    ("ConfigureHealthCheck", change::configure_health_check),
    (
        "CreateLBCookieStickinessPolicy",
        change::create_lb_cookie_policy,
    ),
    (
        "CreateAppCookieStickinessPolicy",
        change::create_app_cookie_policy,
    ),
    ("CreateLoadBalancerPolicy", change::create_policy),
    ("DeleteLoadBalancerPolicy", change::delete_policy),
    (
        "SetLoadBalancerPoliciesOfListener",
        change::set_listener_policies,
    ),
    (
        "SetLoadBalancerPoliciesForBackendServer",
        change::set_backend_policies,
    ),
    (
        "SetLoadBalancerListenerSSLCertificate",
        change::set_listener_certificate,
    ),
    ("ModifyLoadBalancerAttributes", change::modify_attributes),
    (
        "EnableAvailabilityZonesForLoadBalancer",
        placement::enable_zones,
    ),
    (
        "DisableAvailabilityZonesForLoadBalancer",
        placement::disable_zones,
    ),
    ("AttachLoadBalancerToSubnets", placement::attach_subnets),
    ("DetachLoadBalancerFromSubnets", placement::detach_subnets),
    (
        "ApplySecurityGroupsToLoadBalancer",
        placement::apply_security_groups,
    ),
    ("AddTags", change::add_tags),
    ("RemoveTags", change::remove_tags),
    ("DescribeLoadBalancers", describe::load_balancers),
    ("DescribeInstanceHealth", describe::instance_health),
    ("DescribeLoadBalancerPolicies", describe::policies),
    ("DescribeLoadBalancerPolicyTypes", describe::policy_types),
    ("DescribeLoadBalancerAttributes", describe::attributes),
    ("DescribeTags", describe::tags),
    ("DescribeAccountLimits", describe::account_limits),
];

/// The handler of `action`, or `InvalidAction` naming what is wrong.
pub fn handler(action: &str) -> Result<Handler, ApiError> {
    if let Some((_, h)) = ACTIONS.iter().find(|(name, _)| *name == action) {
        return Ok(*h);
    }
    Err(ApiError::new(
        "InvalidAction",
        400,
        format!("Could not find operation {action} for version {VERSION}"),
    ))
}

/// The state's key for the balancer a client names in `field`: the name within the region the
/// request was signed for. A `/` never appears in an AWS name; refusing it keeps a client from
/// reaching into another region's namespace.
fn balancer_key(c: &dyn ControlPlane, field: &str, name: &str) -> Result<String, ApiError> {
    if name.contains('/') {
        return Err(ApiError::invalid(format!(
            "{field}: {name:?} is not allowed: may contain only ASCII letters, digits and hyphens"
        )));
    }
    Ok(c.key(name))
}

/// `LoadBalancerName`, required, as the state's key.
fn required_balancer(c: &dyn ControlPlane, params: &Params) -> Result<String, ApiError> {
    balancer_key(c, "LoadBalancerName", params.required("LoadBalancerName")?)
}

/// `LoadBalancerNames.member.N` as the state's keys.
fn balancer_keys(c: &dyn ControlPlane, params: &Params) -> Result<Vec<String>, ApiError> {
    params
        .list("LoadBalancerNames")
        .iter()
        .map(|n| balancer_key(c, "LoadBalancerNames", n))
        .collect()
}

/// `Listeners.member.N.*` as listener requests.
fn listener_requests(params: &Params) -> Result<Vec<ListenerRequest>, ApiError> {
    params
        .structures("Listeners")
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = |name: &str| format!("Listeners.member.{}.{name}", i + 1);
            Ok(ListenerRequest {
                protocol: l
                    .get("Protocol")
                    .ok_or_else(|| ApiError::missing(&field("Protocol")))?
                    .to_string(),
                load_balancer_port: l
                    .int("LoadBalancerPort")?
                    .ok_or_else(|| ApiError::missing(&field("LoadBalancerPort")))?,
                instance_protocol: l.get("InstanceProtocol").map(str::to_string),
                instance_port: l
                    .int("InstancePort")?
                    .ok_or_else(|| ApiError::missing(&field("InstancePort")))?,
                ssl_certificate_id: l.get("SSLCertificateId").map(str::to_string),
            })
        })
        .collect()
}

/// `Instances.member.N.InstanceId`, required (registering and deregistering name instances).
fn required_instance_ids(params: &Params) -> Result<Vec<String>, ApiError> {
    if !params.has_scope("Instances") && params.get("Instances").is_none() {
        return Err(ApiError::missing("Instances"));
    }
    instance_ids(params)
}

/// `Instances.member.N.InstanceId`, possibly none.
fn instance_ids(params: &Params) -> Result<Vec<String>, ApiError> {
    params
        .structures("Instances")
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.get("InstanceId")
                .map(str::to_string)
                .ok_or_else(|| ApiError::missing(&format!("Instances.member.{}.InstanceId", i + 1)))
        })
        .collect()
}

/// `Instances` in a result.
fn write_instances(xml: &mut Xml, ids: &[String]) {
    xml.members("Instances", ids, |x, id| x.text("InstanceId", id));
}
