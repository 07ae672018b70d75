//! What a balancer carries only for the AWS API's sake: tags, named policies and the attributes
//! that have no effect of their own in burr, all stored with the balancer and returned as given.

use super::policy::{self, check_attributes};
use super::{DESYNC_MITIGATION_MODE, MAX_POLICIES, MAX_TAGS, MAX_TIMESTAMP};
use crate::HealthCheck;
use crate::Listener;
use crate::error::{Errors, FieldPath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A policy created on a balancer (`CreateLoadBalancerPolicy` and the two stickiness calls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPolicy {
    pub name: String,
    /// A name from [`POLICY_TYPES`](super::POLICY_TYPES), e.g. `LBCookieStickinessPolicyType`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// (attribute name, value), in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<(String, String)>,
}

impl NamedPolicy {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The policies enabled for one instance port (`SetLoadBalancerPoliciesForBackendServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendPolicies {
    pub instance_port: u16,
    pub policies: Vec<String>,
}

/// The `AccessLog` attribute: stored and returned; burr writes its own access log instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AccessLogSettings {
    pub enabled: bool,
    pub s3_bucket_name: Option<String>,
    /// Minutes: 5 or 60.
    pub emit_interval: Option<u32>,
    pub s3_bucket_prefix: Option<String>,
}

/// The AWS-only properties of a balancer. Empty for a balancer declared in TOML until an API
/// call sets something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AwsProperties {
    /// UTC seconds at creation (`CreatedTime`).
    #[serde(skip_serializing_if = "is_zero")]
    pub created_at: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<NamedPolicy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_policies: Vec<BackendPolicies>,
    /// `CrossZoneLoadBalancing.Enabled`: stored; burr has no zones, every target is eligible.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cross_zone: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogSettings>,
    /// `ConnectionDraining.Timeout` remembered while draining is disabled (the pools then hold 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draining_timeout_secs: Option<u32>,
    /// `AdditionalAttributes` by key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_attributes: BTreeMap<String, String>,
    /// Instance ids as registered through the API (`10.0.0.5`, `10.0.0.5:9001`, an alias), so
    /// they are reported and carried to new listeners exactly as given; the pools hold the
    /// targets they stand for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
    /// `Scheme`: `internal`, or `internet-facing` when absent. Stored and returned; burr binds
    /// the balancer's own address either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `AvailabilityZones`, `Subnets` and `SecurityGroups`: labels, stored and returned exactly
    /// as given (burr has no zones, subnets or security groups; every target is reachable).
    #[serde(skip_serializing_if = "Placement::is_empty")]
    pub placement: Placement,
    /// What the balancer holds while it has no listener (see [`Detached`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached: Option<Detached>,
    /// Present on application and network load balancers (the ELBv2 API); absent on Classic
    /// ones and on balancers declared in TOML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elbv2: Option<crate::elbv2::V2Balancer>,
}

/// Where a balancer sits on AWS: availability zones, subnets and security groups. burr keeps
/// them as labels, in the order given, without duplicates, so clients that declare them (as
/// Terraform does) read back what they wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Placement {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub availability_zones: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
}

impl Placement {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// On AWS, the health check, connection draining and the idle timeout belong to the balancer; in
/// burr they live in its listeners and their pools. A balancer whose last listener is deleted
/// keeps them here, and its next listener takes them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detached {
    pub health_check: HealthCheck,
    pub deregistration_delay_secs: u32,
    pub idle_timeout_secs: u32,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl AwsProperties {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks what a configuration file may have declared, by the rules the API applies when
    /// it sets the same things (`path` is the balancer's `aws` table).
    pub(crate) fn validate_into(
        &self,
        path: &FieldPath,
        listeners: &[Listener],
        errors: &mut Errors,
    ) {
        if self.created_at > MAX_TIMESTAMP {
            errors.push(
                path.field("created_at"),
                self.created_at,
                format!("must be at most {MAX_TIMESTAMP} (9999-12-31T23:59:59Z)"),
            );
        }
        if self.tags.len() > MAX_TAGS {
            errors.push(
                path.field("tags"),
                format!("{} tags", self.tags.len()),
                format!("a balancer holds at most {MAX_TAGS} tags"),
            );
        }
        for (key, value) in &self.tags {
            if let Err((field, rule)) = check_tag(key, value) {
                let shown = if field == "Key" { key } else { value };
                errors.push(path.field("tags"), format!("{shown:?}"), rule);
            }
        }
        if self.policies.len() > MAX_POLICIES {
            errors.push(
                path.field("policies"),
                format!("{} policies", self.policies.len()),
                format!("a balancer holds at most {MAX_POLICIES} policies"),
            );
        }
        for (i, p) in self.policies.iter().enumerate() {
            let ppath = path.field("policies").index(i);
            if self.policies[..i].iter().any(|o| o.name == p.name) {
                errors.push(
                    ppath.field("name"),
                    format!("{:?}", p.name),
                    "is declared twice",
                );
            }
            if let Err(e) = check_attributes(p) {
                errors.push(ppath.clone(), format!("{:?}", p.name), e.message);
            }
            if p.type_name == policy::LB_COOKIE
                && p.attribute("CookieExpirationPeriod")
                    .is_some_and(|v| v.parse::<u32>().is_err())
            {
                errors.push(
                    ppath.field("attributes"),
                    format!(
                        "{:?}",
                        p.attribute("CookieExpirationPeriod").unwrap_or_default()
                    ),
                    "CookieExpirationPeriod must be between 0 and 4294967295 seconds",
                );
            }
        }
        let named = listeners
            .iter()
            .flat_map(|l| l.policies.iter())
            .chain(self.backend_policies.iter().flat_map(|b| b.policies.iter()));
        for name in named {
            if self.policy(name).is_none() {
                errors.push(
                    path.field("policies"),
                    format!("{name:?}"),
                    "is enabled on a listener or instance port but not declared in aws.policies",
                );
            }
        }
        for (field, labels) in [
            ("availability_zones", &self.placement.availability_zones),
            ("subnets", &self.placement.subnets),
            ("security_groups", &self.placement.security_groups),
        ] {
            for label in labels {
                if let Err(rule) = check_label(label) {
                    errors.push(
                        path.field("placement").field(field),
                        format!("{label:?}"),
                        rule,
                    );
                }
            }
        }
        if let Some(scheme) = &self.scheme
            && scheme != "internal"
            && scheme != "internet-facing"
        {
            errors.push(
                path.field("scheme"),
                format!("{scheme:?}"),
                "must be internet-facing or internal",
            );
        }
        if let Some(minutes) = self.access_log.as_ref().and_then(|a| a.emit_interval)
            && minutes != 5
            && minutes != 60
        {
            errors.push(
                path.field("access_log").field("emit_interval"),
                minutes,
                "must be 5 or 60 minutes",
            );
        }
        for (key, value) in &self.additional_attributes {
            if key != DESYNC_MITIGATION_MODE {
                errors.push(
                    path.field("additional_attributes"),
                    format!("{key:?}"),
                    format!("the one additional attribute is {DESYNC_MITIGATION_MODE}"),
                );
            } else if !["monitor", "defensive", "strictest"].contains(&value.as_str()) {
                errors.push(
                    path.field("additional_attributes"),
                    format!("{value:?}"),
                    "must be monitor, defensive or strictest",
                );
            }
        }
    }

    pub fn policy(&self, name: &str) -> Option<&NamedPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }

    pub fn backend_policies(&self, instance_port: u16) -> &[String] {
        self.backend_policies
            .iter()
            .find(|b| b.instance_port == instance_port)
            .map_or(&[], |b| &b.policies)
    }
}

/// Longest availability zone, subnet or security group label.
pub const MAX_LABEL_LEN: usize = 255;

/// Checks an availability zone, subnet or security group label: 1–255 printable ASCII
/// characters without spaces (AWS's are `us-east-1a`, `subnet-0abc…`, `sg-0abc…`).
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty()
        || label.len() > MAX_LABEL_LEN
        || !label.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "must be 1 to {MAX_LABEL_LEN} printable ASCII characters without spaces"
        ));
    }
    Ok(())
}

/// Checks a tag by the AWS rule: key 1–128 characters not starting with `aws:`, value at most
/// 256, both of letters, digits, spaces and `_ . : / = + - @`. Returns the failing part (`Key`
/// or `Value`) and the rule.
pub fn check_tag(key: &str, value: &str) -> Result<(), (&'static str, String)> {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    let keys = key.chars().count();
    if keys == 0 || keys > 128 || key.starts_with("aws:") || !key.chars().all(allowed) {
        return Err((
            "Key",
            "must be 1 to 128 letters, digits, spaces or _ . : / = + - @, not beginning with \"aws:\""
                .into(),
        ));
    }
    if value.chars().count() > 256 || !value.chars().all(allowed) {
        return Err((
            "Value",
            "must be at most 256 letters, digits, spaces or _ . : / = + - @".into(),
        ));
    }
    Ok(())
}
