//! Listener rules and actions (the ALB model): what a rule may say and every limit AWS puts on it.
//!
//! This module owns the *shapes* of [`Rule`], [`Condition`] and [`Action`] shared by the TOML file
//! and (later) the ELBv2 API, and their validation: value syntax, lengths, values per condition,
//! condition types per rule, match evaluations and wildcards per rule, priorities, rules per
//! listener, forward weights, fixed-response and redirect fields. Rules that need other objects
//! (the pools an action names, the listener's protocol) are checked by [`crate::State::validate`]
//! through [`Listener`](crate::Listener), which calls `validate_rules`.
//!
//! Evaluating rules against requests is not here: burr-proxy compiles them (`burr_proxy::routing`).
//!
//! Limits, from the botocore model `elbv2/2015-12-01` and the ALB guide (`listener-rules`,
//! `rule-condition-types`): priority 1–50000, unique per listener; at least one condition; each
//! of `host-header`, `http-request-method`, `path-pattern` and `source-ip` at most once per rule,
//! `http-header` and `query-string` any number of times; at most 3 values per condition (5 for
//! `source-ip`, as the model's `SourceIpConditionConfig` says); at most 5 match evaluations
//! (values, summed over the rule's conditions) and 5 wildcards per rule; 100 rules per listener
//! (the default quota); a forward action names 1–5 pools, weights 0–999; group stickiness
//! 1–604800 s; fixed-response status 2XX/4XX/5XX, AWS's five content types, body ≤ 1024
//! characters; redirect fields as the model's `RedirectActionConfig`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Lowest and highest rule priority (`RulePriority` in the model).
pub const PRIORITY_RANGE: (u32, u32) = (1, 50_000);
/// Rules per listener, not counting the default one (the ALB default quota).
pub const MAX_RULES_PER_LISTENER: usize = 100;
/// Values in one condition (`source-ip` takes [`MAX_SOURCE_IP_VALUES`]).
pub const MAX_VALUES_PER_CONDITION: usize = 3;
/// CIDRs in one `source-ip` condition ("less than, or equal to five").
pub const MAX_SOURCE_IP_VALUES: usize = 5;
/// Match evaluations (condition values, summed over the conditions) per rule.
pub const MAX_MATCH_EVALUATIONS_PER_RULE: usize = 5;
/// `*` and `?` wildcards per rule, over host, path, header and query-string values.
pub const MAX_WILDCARDS_PER_RULE: usize = 5;
/// Longest condition value.
pub const MAX_VALUE_CHARS: usize = 128;
/// Longest header name in an `http-header` condition, and longest method name.
pub const MAX_NAME_CHARS: usize = 40;
/// Pools in one forward action.
pub const MAX_FORWARD_POOLS: usize = 5;
/// Highest weight of a pool in a forward action.
pub const MAX_FORWARD_WEIGHT: u32 = 999;
/// Bounds of a forward action's group stickiness duration, seconds.
pub const GROUP_STICKINESS_SECS: (u32, u32) = (1, 604_800);
/// Longest fixed-response body, characters.
pub const MAX_FIXED_BODY_CHARS: usize = 1024;
/// Content types a fixed response may have.
pub const FIXED_CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

/// A listener rule: when every condition holds, the action is taken. Lower priorities first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// 1–50000, unique on the listener; the lowest matching priority wins.
    pub priority: u32,
    /// All must hold (AND); at least one.
    pub conditions: Vec<Condition>,
    pub action: Action,
    /// The rule's id and tags when it was made through the ELBv2 API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elbv2: Option<crate::elbv2::RuleIdentity>,
}

/// One condition of a rule. Several values in one condition: any may match (OR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Host names, case-insensitive, `*` and `?` wildcards; the port of the Host header is
    /// ignored.
    HostHeader(Vec<String>),
    /// Path patterns, case-sensitive, `*` and `?` wildcards, compared with the path only.
    PathPattern(Vec<String>),
    /// A header by name (case-insensitive) and value patterns (case-insensitive, wildcards).
    HttpHeader(HeaderCondition),
    /// Method names, exact and case-sensitive.
    HttpRequestMethod(Vec<String>),
    /// Key/value patterns on the URL-decoded query string, case-insensitive, wildcards
    /// (`\*` and `\?` are literal).
    QueryString(Vec<QueryPair>),
    /// Source address CIDRs, IPv4 or IPv6 (the peer address, never `X-Forwarded-For`).
    SourceIp(Vec<Cidr>),
}

/// The configuration of an `http-header` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderCondition {
    pub name: String,
    pub values: Vec<String>,
}

/// A `query-string` pattern: a value, and optionally the key it must belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryPair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
}

impl Condition {
    /// The AWS `Field` name.
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::HostHeader(_) => "host-header",
            Self::PathPattern(_) => "path-pattern",
            Self::HttpHeader(_) => "http-header",
            Self::HttpRequestMethod(_) => "http-request-method",
            Self::QueryString(_) => "query-string",
            Self::SourceIp(_) => "source-ip",
        }
    }

    /// The TOML key of this condition.
    fn toml_name(&self) -> &'static str {
        match self {
            Self::HostHeader(_) => "host_header",
            Self::PathPattern(_) => "path_pattern",
            Self::HttpHeader(_) => "http_header",
            Self::HttpRequestMethod(_) => "http_request_method",
            Self::QueryString(_) => "query_string",
            Self::SourceIp(_) => "source_ip",
        }
    }

    /// Number of values (match evaluations).
    pub fn value_count(&self) -> usize {
        match self {
            Self::HostHeader(v) | Self::PathPattern(v) | Self::HttpRequestMethod(v) => v.len(),
            Self::HttpHeader(h) => h.values.len(),
            Self::QueryString(q) => q.len(),
            Self::SourceIp(c) => c.len(),
        }
    }

    /// Whether this type may appear only once per rule.
    pub fn once_per_rule(&self) -> bool {
        !matches!(self, Self::HttpHeader(_) | Self::QueryString(_))
    }

    fn wildcard_count(&self) -> usize {
        match self {
            Self::HostHeader(v) | Self::PathPattern(v) => v.iter().map(|s| wildcards(s)).sum(),
            Self::HttpHeader(h) => h.values.iter().map(|s| wildcards(s)).sum(),
            Self::QueryString(q) => q
                .iter()
                .map(|p| wildcards(&p.value) + p.key.as_deref().map_or(0, wildcards))
                .sum(),
            Self::HttpRequestMethod(_) | Self::SourceIp(_) => 0,
        }
    }
}

/// Unescaped `*` and `?` in a pattern (`\*`, `\?` are literals in query-string patterns and are
/// counted as literals everywhere).
fn wildcards(pattern: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '*' | '?' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count
}

/// What a listener does with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Forward(Forward),
    FixedResponse(FixedResponse),
    Redirect(Redirect),
}

impl Action {
    /// Forward everything to one pool (a listener's behaviour without rules).
    pub fn forward_to(pool: impl Into<String>) -> Self {
        Self::Forward(Forward {
            pool: Some(pool.into()),
            pools: Vec::new(),
            stickiness_secs: None,
        })
    }

    /// The AWS `Type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Forward(_) => "forward",
            Self::FixedResponse(_) => "fixed-response",
            Self::Redirect(_) => "redirect",
        }
    }

    /// Names of the pools this action forwards to.
    pub fn pools(&self) -> impl Iterator<Item = &str> {
        let forward = match self {
            Self::Forward(f) => Some(f),
            _ => None,
        };
        forward.into_iter().flat_map(|f| f.groups().map(|(p, _)| p))
    }
}

/// Forward to one pool (`pool`) or to up to five weighted pools (`pools`, the AWS
/// `ForwardConfig`), with optional group stickiness (`AWSALBTG`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    /// One pool (the AWS `TargetGroupArn`). Give this or `pools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// 1–5 weighted pools (the AWS `ForwardConfig.TargetGroups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<WeightedPool>,
    /// Group stickiness: keep a client on the pool first chosen for this long, 1–604800 s
    /// (`TargetGroupStickinessConfig`); absent means disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_secs: Option<u32>,
}

impl Forward {
    /// Every (pool, weight); a lone `pool` has weight 1.
    pub fn groups(&self) -> impl Iterator<Item = (&str, u32)> {
        self.pool
            .as_deref()
            .map(|p| (p, 1))
            .into_iter()
            .chain(self.pools.iter().map(|w| (w.pool.as_str(), w.weight)))
    }
}

/// A pool of a weighted forward action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedPool {
    pub pool: String,
    /// 0–999 (default 1); a share of the action's traffic proportional to it.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// Answer the request from the balancer itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedResponse {
    /// A 2XX, 4XX or 5XX status.
    pub status: u16,
    /// One of [`FIXED_CONTENT_TYPES`]; absent: none is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// At most 1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Redirect status: 301 or 302 (the AWS `HTTP_301`, `HTTP_302`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RedirectStatus {
    #[serde(rename = "HTTP_301")]
    Permanent,
    #[serde(rename = "HTTP_302")]
    Temporary,
}

impl RedirectStatus {
    pub fn code(self) -> u16 {
        match self {
            Self::Permanent => 301,
            Self::Temporary => 302,
        }
    }
}

/// Redirect to a URL built from the request's parts. Absent fields keep the request's value
/// (`#{protocol}`, `#{host}`, `#{port}`, `/#{path}`, `#{query}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// 1–128 characters; may contain `#{host}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// 1–65535 or `#{port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// 1–128 characters starting with `/`; may contain `#{host}`, `#{path}` (without its leading
    /// `/`) and `#{port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 0–128 characters, without the leading `?`; may contain any keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status: RedirectStatus,
}

/// The parts of a request a redirect may reuse.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `HTTP` or `HTTPS` (as AWS substitutes them).
    pub protocol: &'a str,
    pub host: &'a str,
    pub port: u16,
    /// With its leading `/`.
    pub path: &'a str,
    /// Without the `?`; empty when there is none.
    pub query: &'a str,
}

impl Redirect {
    pub fn protocol(&self) -> &str {
        self.protocol.as_deref().unwrap_or("#{protocol}")
    }
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("#{host}")
    }
    pub fn port(&self) -> &str {
        self.port.as_deref().unwrap_or("#{port}")
    }
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or("/#{path}")
    }
    pub fn query(&self) -> &str {
        self.query.as_deref().unwrap_or("#{query}")
    }

    /// Whether the redirect changes the protocol, host, port or path (AWS refuses one that
    /// changes none of them: a redirect loop).
    pub fn changes_something(&self) -> bool {
        self.protocol() != "#{protocol}"
            || self.host() != "#{host}"
            || self.port() != "#{port}"
            || self.path() != "/#{path}"
    }

    /// The `Location` for a request: keywords substituted, the port left out when it is the
    /// protocol's default, `?query` only when the query is not empty.
    pub fn location(&self, request: &RequestParts<'_>) -> String {
        let port = request.port.to_string();
        let path_tail = request.path.strip_prefix('/').unwrap_or(request.path);
        let subst = |template: &str| -> String {
            let mut out = String::with_capacity(template.len() + 16);
            let mut rest = template;
            while let Some(at) = rest.find("#{") {
                out.push_str(&rest[..at]);
                let tail = &rest[at..];
                let (replacement, len) = [
                    ("#{protocol}", request.protocol),
                    ("#{host}", request.host),
                    ("#{port}", port.as_str()),
                    ("#{path}", path_tail),
                    ("#{query}", request.query),
                ]
                .iter()
                .find(|(k, _)| tail.starts_with(k))
                .map_or(("#{", 2), |(k, v)| (*v, k.len()));
                out.push_str(replacement);
                rest = &tail[len..];
            }
            out.push_str(rest);
            out
        };
        let protocol = subst(self.protocol()).to_ascii_uppercase();
        let host = subst(self.host());
        let port = subst(self.port());
        let path = subst(self.path());
        let query = subst(self.query());
        let default_port = if protocol == "HTTPS" { "443" } else { "80" };
        let mut location = format!("{}://{host}", protocol.to_ascii_lowercase());
        if port != default_port {
            location.push(':');
            location.push_str(&port);
        }
        location.push_str(&path);
        if !query.is_empty() {
            location.push('?');
            location.push_str(&query);
        }
        location
    }
}

/// An IPv4 or IPv6 network, written `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = &'static str;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const RULE: &str = "must be a CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32";
        let (address, prefix) = text.split_once('/').ok_or(RULE)?;
        let address: IpAddr = address.parse().map_err(|_| RULE)?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(RULE);
        }
        let prefix: u8 = prefix.parse().map_err(|_| RULE)?;
        if prefix > max {
            return Err(if max == 32 {
                "the prefix length of an IPv4 CIDR must be between 0 and 32"
            } else {
                "the prefix length of an IPv6 CIDR must be between 0 and 128"
            });
        }
        Ok(Self { address, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|rule| serde::de::Error::custom(format!("{text:?}: {rule}")))
    }
}

mod validate;
pub(crate) use validate::validate_rules;

#[cfg(test)]
mod tests;
