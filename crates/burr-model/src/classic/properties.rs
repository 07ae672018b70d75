//! What a balancer carries only for the AWS API's sake: tags, named policies and the attributes
//! that have no effect of their own in burr, all stored with the balancer and returned as given.

use crate::HealthCheck;
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
    /// `Scheme`: `internal`, or `internet-facing` when absent. Stored and returned; burr binds
    /// the balancer's own address either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// What the balancer holds while it has no listener (see [`Detached`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached: Option<Detached>,
}

/// On AWS, instances, the health check, connection draining and the idle timeout belong to the
/// balancer; in burr they live in its listeners and their pools. A balancer whose last listener
/// is deleted keeps them here, and its next listener takes them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detached {
    /// Instance ids as registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
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
