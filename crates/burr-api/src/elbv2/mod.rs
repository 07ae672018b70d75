//! The ELBv2 API, version 2015-12-01 (application and network load balancers): one handler per
//! action, on the same endpoint and signature as Classic, chosen by `Version`. A handler reads
//! its parameters, resolves ARNs ([`arn`]), runs the model's operation
//! (`burr_model::elbv2`) through the [`ControlPlane`] or reads the state, and writes the result
//! in the 2015-12-01 namespace. Rules live in the model, not here.

pub mod actions;
pub mod arn;
mod balancers;
mod limits;
mod listeners;
mod rules;
mod tags;
mod target_groups;

use crate::control::{ControlPlane, apply_change};
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::State;
use burr_model::elbv2::{Context, V2Error};
use std::sync::Arc;

pub const VERSION: &str = "2015-12-01";
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

type Handler = fn(&dyn ControlPlane, &Params, &mut Xml) -> Result<(), ApiError>;

/// Every action of the 2015-12-01 API burr serves, by name.
pub const ACTIONS: &[(&str, Handler)] = &[
    ("CreateLoadBalancer", balancers::create),
    ("DescribeLoadBalancers", balancers::describe),
    ("DeleteLoadBalancer", balancers::delete),
    (
        "DescribeLoadBalancerAttributes",
        balancers::describe_attributes,
    ),
    ("ModifyLoadBalancerAttributes", balancers::modify_attributes),
    ("SetIpAddressType", balancers::set_ip_address_type),
    ("SetSubnets", balancers::set_subnets),
    ("SetSecurityGroups", balancers::set_security_groups),
    ("CreateTargetGroup", target_groups::create),
    ("DescribeTargetGroups", target_groups::describe),
    ("ModifyTargetGroup", target_groups::modify),
    ("DeleteTargetGroup", target_groups::delete),
    (
        "DescribeTargetGroupAttributes",
        target_groups::describe_attributes,
    ),
    (
        "ModifyTargetGroupAttributes",
        target_groups::modify_attributes,
    ),
    ("RegisterTargets", target_groups::register),
    ("DeregisterTargets", target_groups::deregister),
    ("DescribeTargetHealth", target_groups::health),
    ("CreateListener", listeners::create),
    ("DescribeListeners", listeners::describe),
    ("ModifyListener", listeners::modify),
    ("DeleteListener", listeners::delete),
    ("DescribeListenerAttributes", listeners::describe_attributes),
    ("ModifyListenerAttributes", listeners::modify_attributes),
    ("AddListenerCertificates", listeners::add_certificates),
    ("RemoveListenerCertificates", listeners::remove_certificates),
    (
        "DescribeListenerCertificates",
        listeners::describe_certificates,
    ),
    ("CreateRule", rules::create),
    ("DescribeRules", rules::describe),
    ("ModifyRule", rules::modify),
    ("DeleteRule", rules::delete),
    ("SetRulePriorities", rules::set_priorities),
    ("AddTags", tags::add),
    ("RemoveTags", tags::remove),
    ("DescribeTags", tags::describe),
    ("DescribeAccountLimits", limits::account_limits),
    ("DescribeSSLPolicies", limits::ssl_policies),
];

/// The handler of `action`, or `InvalidAction`.
pub fn handler(action: &str) -> Result<Handler, ApiError> {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, h)| *h)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidAction",
                400,
                format!("Could not find operation {action} for version {VERSION}"),
            )
        })
}

/// The context ELBv2 operations take, with fresh randomness for new ids.
pub(crate) fn context(c: &dyn ControlPlane) -> Context<'_> {
    Context {
        listen_host: c.listen_host(),
        address_pool: c.address_pool(),
        now: c.now(),
        fresh: rand::random(),
    }
}

/// Runs an ELBv2 operation durably; its refusal is answered with its own code. What the control
/// plane itself refuses (a listener that cannot bind, a certificate file that cannot be read)
/// comes in Classic's terms and is restated in ELBv2's: `InvalidConfigurationRequest` is 400
/// here (409 on Classic), and the certificate is `Certificates`, not `SSLCertificateId`.
pub(crate) fn change<T>(
    c: &dyn ControlPlane,
    op: impl FnMut(&mut State) -> Result<T, V2Error>,
) -> Result<(T, Arc<State>), ApiError> {
    apply_change(c, op, ApiError::from).map_err(|mut e| {
        if e.code == "InvalidConfigurationRequest" {
            e.status = 400;
        }
        if let Some(rest) = e.message.strip_prefix("SSLCertificateId: ") {
            e.message = format!("Certificates: {rest}");
        }
        e
    })
}

/// Largest `PageSize`.
const MAX_PAGE_SIZE: i64 = 400;

/// `Marker` and `PageSize`: the items of the page (by position, the marker being the index of
/// the first item of the next page) and the next marker.
fn page<T>(p: &Params, items: Vec<T>) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = p.int("PageSize")?.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::invalid(format!(
            "PageSize: {size} is not allowed: must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let start = match p.get("Marker").filter(|m| !m.is_empty()) {
        Some(m) => m.parse::<usize>().map_err(|_| {
            ApiError::invalid(format!(
                "Marker: {m:?} is not allowed: not a marker burr gave"
            ))
        })?,
        None => 0,
    };
    let size = size as usize;
    let total = items.len();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((items.into_iter().skip(start).take(size).collect(), next))
}

/// Writes the page of `items` that `Marker`/`PageSize` choose with `write`, then `NextMarker`
/// when more follow.
pub(crate) fn write_page<T>(
    p: &Params,
    xml: &mut Xml,
    items: Vec<T>,
    write: impl FnOnce(&mut Xml, &[T]),
) -> Result<(), ApiError> {
    let (shown, next) = page(p, items)?;
    write(xml, &shown);
    if let Some(next) = next {
        xml.text("NextMarker", &next);
    }
    Ok(())
}

/// `Attributes.member.N.{Key,Value}`, required.
pub(crate) fn attributes(p: &Params) -> Result<Vec<(String, String)>, ApiError> {
    let given = p.structures("Attributes");
    if given.is_empty() {
        return Err(ApiError::missing("Attributes"));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let key = a
                .get("Key")
                .ok_or_else(|| ApiError::missing(&format!("Attributes.member.{}.Key", i + 1)))?;
            if key.is_empty()
                || key.len() > 256
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            {
                return Err(ApiError::invalid(format!(
                    "Attributes.member.{}.Key: {key:?} is not allowed: must be 1 to 256 letters, \
                     digits, '.' and '_'",
                    i + 1
                )));
            }
            Ok((
                key.to_string(),
                a.get("Value").unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub(crate) fn write_attributes(xml: &mut Xml, attributes: &[(String, String)]) {
    xml.members("Attributes", attributes, |x, (k, v)| {
        x.text("Key", k);
        x.text("Value", v);
    });
}
