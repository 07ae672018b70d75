//! The stored CloudFront objects: distributions (primary or staging) and continuous-deployment
//! policies, and what an operation needs besides the state ([`Context`]).

use super::Node;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Lowest and highest `SingleWeightConfig.Weight`.
pub const WEIGHT_RANGE: (f64, f64) = (0.0, 0.15);
/// Bounds of `IdleTTL` and `MaximumTTL`, seconds.
pub const SESSION_TTL_SECS: (u32, u32) = (300, 3600);
/// What a `SingleHeaderConfig.Header` must start with.
pub const HEADER_PREFIX: &str = "aws-cf-cd-";
/// Most continuous-deployment policies (and staging distributions) per account.
pub const MAX_POLICIES: usize = 20;

/// The ports a distribution's front end listens on: CloudFront's 80 and 443 unless `burr
/// serve` was told otherwise (unprivileged ports for tests and non-root runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontEndPorts {
    pub http: u16,
    pub https: u16,
}

impl Default for FrontEndPorts {
    fn default() -> Self {
        Self {
            http: 80,
            https: 443,
        }
    }
}

/// A distribution: CloudFront's identity and the configuration as given. What burr serves is
/// derived from `config` ([`Distribution::front_end`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// `E` and 13 upper-case letters and digits.
    pub id: String,
    /// `DomainName`: the front end's address as text (what the balancers' `DNSName` is), the
    /// name a continuous-deployment policy's `StagingDistributionDnsNames` uses.
    pub domain_name: String,
    /// The address the front end binds; absent with `--listen-host` (every listener binds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(default)]
    pub ports: FrontEndPorts,
    /// The version clients must name in `If-Match`; new on every change.
    pub etag: String,
    /// `LastModifiedTime`, UTC milliseconds.
    pub last_modified_ms: u64,
    /// The `DistributionConfig`, checked against the botocore shapes.
    pub config: Node,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Which front door declared it (kept by the store, not written in files).
    #[serde(skip)]
    pub origin: crate::Origin,
}

impl Distribution {
    pub fn caller_reference(&self) -> &str {
        self.config.text_at(&["CallerReference"]).unwrap_or("")
    }

    pub fn enabled(&self) -> bool {
        self.config.flag_at(&["Enabled"])
    }

    /// `Staging`: a staging distribution, reachable only through its primary's policy.
    pub fn is_staging(&self) -> bool {
        self.config.flag_at(&["Staging"])
    }

    /// `ContinuousDeploymentPolicyId` (on a primary), when not empty.
    pub fn policy_id(&self) -> Option<&str> {
        self.config
            .text_at(&["ContinuousDeploymentPolicyId"])
            .filter(|id| !id.is_empty())
    }

    /// `Aliases.Items`.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.config
            .items_at(&["Aliases", "Items"])
            .iter()
            .filter_map(Node::text)
    }
}

/// A continuous-deployment policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentPolicy {
    /// A UUID.
    pub id: String,
    pub etag: String,
    pub last_modified_ms: u64,
    /// `StagingDistributionDnsNames.Items`: the staging distribution's `DomainName` (AWS allows
    /// one).
    pub staging_dns_names: Vec<String>,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficConfig>,
    /// Bumped whenever AWS resets every session (the policy enabled or disabled, stickiness
    /// turned on or off): session tokens of an older generation no longer hold.
    #[serde(default)]
    pub generation: u32,
    /// burr only (TOML): name of a response header saying which arm served (`primary` or
    /// `staging`), for debugging. Absent: responses do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_header: Option<String>,
    /// burr only (TOML): forward the `SingleHeader` routing header to origins (by default it is
    /// removed, as it only serves the split).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward_routing_header: bool,
    /// Which front door declared it (kept by the store, not written in files).
    #[serde(skip)]
    pub origin: crate::Origin,
}

/// `TrafficConfig`: how the primary splits its viewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TrafficConfig {
    /// `SingleWeight`: a share of viewers goes to staging.
    SingleWeight {
        weight: Weight,
        /// `SessionStickinessConfig`: keep a viewer on its arm (a cookie).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_stickiness: Option<SessionStickiness>,
    },
    /// `SingleHeader`: requests with this header and value go to staging.
    SingleHeader { header: String, value: String },
}

/// `SessionStickinessConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionStickiness {
    /// `IdleTTL`: a session with no request for longer ends, 300–3600.
    pub idle_ttl_secs: u32,
    /// `MaximumTTL`: a session older than this ends, 300–3600, at least `idle_ttl_secs`.
    pub maximum_ttl_secs: u32,
}

/// `Weight`, the share of viewers sent to staging: a decimal 0–0.15, kept as given so it is
/// written back as it was read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weight(pub f64);

impl PartialEq for Weight {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Weight {}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a CloudFront operation needs besides the state.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `--listen-host`: every listener binds it, so distributions get no address of their own.
    pub listen_host: Option<IpAddr>,
    /// `--address-pool`: where a new distribution's address comes from.
    pub address_pool: &'a crate::classic::AddressPool,
    /// The ports new distributions listen on.
    pub ports: FrontEndPorts,
    /// UTC milliseconds.
    pub now_ms: u64,
    /// Fresh randomness from the front door, from which new ids and ETags are made.
    pub fresh: u64,
}
