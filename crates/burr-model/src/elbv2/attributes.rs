//! The attribute keys of target groups, load balancers and listeners: which keys exist, their
//! defaults, their allowed values, and — for the target-group keys with behaviour — how they set
//! the pool (stickiness, draining, algorithm, slow start, PROXY protocol v2, fail-open routing).
//!
//! Every key of the botocore model's documentation is accepted and returned, whether burr acts
//! on it or only stores it (Terraform cannot recover from a refused target-group key); the ones
//! burr only stores are listed as such in `docs/api-compatibility.md`.

use super::{TargetGroup, V2Error, V2Protocol};
use crate::{Algorithm, CookieFlavour, Pool, StickinessKind};
use std::collections::BTreeMap;

/// What values a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Bool,
    /// A whole number in the range.
    Number(u64, u64),
    /// 0, or a whole number in the range (slow start).
    ZeroOr(u64, u64),
    /// `off`, or a whole number in the range (target group health thresholds).
    OffOr(u64, u64),
    OneOf(&'static [&'static str]),
    /// Free text (checked by the pool's own rules where it has behaviour).
    Text,
}

impl Values {
    fn check(self, key: &str, value: &str) -> Result<(), V2Error> {
        let number = |lo: u64, hi: u64| value.parse::<u64>().is_ok_and(|n| (lo..=hi).contains(&n));
        let (ok, rule) = match self {
            Self::Bool => (
                value == "true" || value == "false",
                "must be true or false".into(),
            ),
            Self::Number(lo, hi) => (number(lo, hi), format!("must be between {lo} and {hi}")),
            Self::ZeroOr(lo, hi) => (
                value == "0" || number(lo, hi),
                format!("must be 0 or between {lo} and {hi}"),
            ),
            Self::OffOr(lo, hi) => (
                value == "off" || number(lo, hi),
                format!("must be off or between {lo} and {hi}"),
            ),
            Self::OneOf(allowed) => (
                allowed.contains(&value),
                format!("must be one of {}", allowed.join(", ")),
            ),
            Self::Text => (
                value.len() <= 1024,
                "must be at most 1024 characters".into(),
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(V2Error::conflict(format!(
                "Attribute {key}: {value:?} is not allowed: {rule}"
            )))
        }
    }
}

/// Which target groups a key's default is reported for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    /// HTTP and HTTPS groups (application load balancers).
    Application,
    /// TCP, TLS, UDP and TCP_UDP groups (network load balancers).
    Network,
}

/// One target-group attribute key.
#[derive(Debug, Clone, Copy)]
pub struct TargetGroupAttribute {
    pub key: &'static str,
    values: Values,
    scope: Scope,
    /// Reported when the client never set it.
    default: &'static str,
    /// Whether burr acts on it (otherwise it is stored and returned).
    pub honoured: bool,
}

const fn attr(
    key: &'static str,
    values: Values,
    scope: Scope,
    default: &'static str,
    honoured: bool,
) -> TargetGroupAttribute {
    TargetGroupAttribute {
        key,
        values,
        scope,
        default,
        honoured,
    }
}

const COUNT: Values = Values::OffOr(1, 1_000_000);
const PERCENT: Values = Values::OffOr(1, 100);
const CROSS_ZONE: Values = Values::OneOf(&["true", "false", "use_load_balancer_configuration"]);
const FAILOVER: Values = Values::OneOf(&["rebalance", "no_rebalance"]);

/// Every target-group attribute key of the botocore model's `TargetGroupAttribute.Key`
/// documentation (gateway-balancer and lambda keys included, stored only).
#[rustfmt::skip]
pub const TARGET_GROUP_ATTRIBUTES: &[TargetGroupAttribute] = &[
    attr("deregistration_delay.timeout_seconds", Values::Number(0, 3600), Scope::All, "300", true),
    attr("stickiness.enabled", Values::Bool, Scope::All, "false", true),
    attr("stickiness.type", Values::OneOf(&["lb_cookie", "app_cookie", "source_ip", "source_ip_dest_ip", "source_ip_dest_ip_proto"]), Scope::All, "", true),
    attr("stickiness.lb_cookie.duration_seconds", Values::Number(1, 604_800), Scope::Application, "86400", true),
    attr("stickiness.app_cookie.cookie_name", Values::Text, Scope::Application, "", true),
    attr("stickiness.app_cookie.duration_seconds", Values::Number(1, 604_800), Scope::Application, "86400", true),
    attr("load_balancing.algorithm.type", Values::OneOf(&["round_robin", "least_outstanding_requests", "weighted_random"]), Scope::Application, "round_robin", true),
    attr("load_balancing.algorithm.anomaly_mitigation", Values::OneOf(&["on", "off"]), Scope::Application, "off", false),
    attr("slow_start.duration_seconds", Values::ZeroOr(30, 900), Scope::Application, "0", true),
    attr("lambda.multi_value_headers.enabled", Values::Bool, Scope::Application, "false", false),
    attr("load_balancing.cross_zone.enabled", CROSS_ZONE, Scope::All, "use_load_balancer_configuration", false),
    attr("target_group_health.dns_failover.minimum_healthy_targets.count", COUNT, Scope::All, "1", false),
    attr("target_group_health.dns_failover.minimum_healthy_targets.percentage", PERCENT, Scope::All, "off", false),
    attr("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", COUNT, Scope::All, "1", true),
    attr("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", PERCENT, Scope::All, "off", true),
    attr("deregistration_delay.connection_termination.enabled", Values::Bool, Scope::Network, "false", false),
    attr("preserve_client_ip.enabled", Values::Bool, Scope::Network, "false", false),
    attr("proxy_protocol_v2.enabled", Values::Bool, Scope::Network, "false", true),
    attr("target_health_state.unhealthy.connection_termination.enabled", Values::Bool, Scope::Network, "true", false),
    attr("target_health_state.unhealthy.draining_interval_seconds", Values::Number(0, 360_000), Scope::Network, "0", false),
    attr("target_failover.on_deregistration", FAILOVER, Scope::Network, "no_rebalance", false),
    attr("target_failover.on_unhealthy", FAILOVER, Scope::Network, "no_rebalance", false),
];

/// Load balancer attribute keys with their defaults by type (`None`: the key does not apply).
/// `deletion_protection.enabled` and `idle_timeout.timeout_seconds` have behaviour; the rest are
/// stored and returned.
pub const LOAD_BALANCER_ATTRIBUTES: &[(&str, Option<&str>, Option<&str>)] = &[
    // (key, application default, network default)
    ("access_logs.s3.enabled", Some("false"), Some("false")),
    ("access_logs.s3.bucket", Some(""), Some("")),
    ("access_logs.s3.prefix", Some(""), Some("")),
    ("connection_logs.s3.enabled", Some("false"), None),
    ("connection_logs.s3.bucket", Some(""), None),
    ("connection_logs.s3.prefix", Some(""), None),
    ("health_check_logs.s3.enabled", Some("false"), None),
    ("health_check_logs.s3.bucket", Some(""), None),
    ("health_check_logs.s3.prefix", Some(""), None),
    ("client_keep_alive.seconds", Some("3600"), None),
    ("deletion_protection.enabled", Some("false"), Some("false")),
    (
        "dns_record.client_routing_policy",
        None,
        Some("any_availability_zone"),
    ),
    ("idle_timeout.timeout_seconds", Some("60"), None),
    ("ipv6.deny_all_igw_traffic", Some("false"), Some("false")),
    (
        "load_balancing.cross_zone.enabled",
        Some("true"),
        Some("false"),
    ),
    (
        "routing.http.desync_mitigation_mode",
        Some("defensive"),
        None,
    ),
    (
        "routing.http.drop_invalid_header_fields.enabled",
        Some("false"),
        None,
    ),
    (
        "routing.http.preserve_host_header.enabled",
        Some("false"),
        None,
    ),
    (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        Some("false"),
        None,
    ),
    ("routing.http.xff_client_port.enabled", Some("false"), None),
    (
        "routing.http.xff_header_processing.mode",
        Some("append"),
        None,
    ),
    ("routing.http2.enabled", Some("true"), None),
    ("secondary_ips.auto_assigned.per_subnet", None, Some("0")),
    ("waf.fail_open.enabled", Some("false"), None),
    ("zonal_shift.config.enabled", Some("false"), Some("false")),
];

/// Listener attribute keys with their defaults (application, network); stored and returned.
pub const LISTENER_ATTRIBUTES: &[(&str, Option<&str>, Option<&str>)] = &[
    ("tcp.idle_timeout.seconds", None, Some("350")),
    ("routing.http.response.server.enabled", Some("true"), None),
];

fn applies(scope: Scope, protocol: V2Protocol) -> bool {
    match scope {
        Scope::All => true,
        Scope::Application => protocol.is_application(),
        Scope::Network => !protocol.is_application(),
    }
}

/// The attributes `DescribeTargetGroupAttributes` reports: each key that applies to the
/// group's protocol, with the value set or its default, then any other key the client set.
pub fn target_group_attributes(group: &TargetGroup) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = TARGET_GROUP_ATTRIBUTES
        .iter()
        .filter(|a| applies(a.scope, group.protocol) || group.attributes.contains_key(a.key))
        .map(|a| {
            let value = group
                .attributes
                .get(a.key)
                .cloned()
                .unwrap_or_else(|| default_of(a, group.protocol).to_string());
            (a.key.to_string(), value)
        })
        .collect();
    for (key, value) in &group.attributes {
        if !out.iter().any(|(k, _)| k == key) {
            out.push((key.clone(), value.clone()));
        }
    }
    out
}

fn default_of(attribute: &TargetGroupAttribute, protocol: V2Protocol) -> &'static str {
    if attribute.key == "stickiness.type" {
        return if protocol.is_application() {
            "lb_cookie"
        } else {
            "source_ip"
        };
    }
    let datagram_default = DATAGRAM_DEFAULTS
        .iter()
        .find(|(k, _)| protocol.carries_datagrams() && *k == attribute.key);
    if let Some((_, value)) = datagram_default {
        return value;
    }
    attribute.default
}

/// Keys whose default differs on UDP and TCP_UDP groups (botocore's `TargetGroupAttribute.Key`
/// documentation): client addresses are always preserved, flows end with the deregistration
/// delay, and unhealthy targets' flows are never cut.
const DATAGRAM_DEFAULTS: [(&str, &str); 3] = [
    ("preserve_client_ip.enabled", "true"),
    (
        "deregistration_delay.connection_termination.enabled",
        "true",
    ),
    (
        "target_health_state.unhealthy.connection_termination.enabled",
        "false",
    ),
];

/// Values UDP and TCP_UDP groups refuse, with AWS's reason: the key, the refused value, why.
const DATAGRAM_REFUSALS: [(&str, &str, &str); 2] = [
    (
        "preserve_client_ip.enabled",
        "false",
        "client IP preservation cannot be disabled for UDP and TCP_UDP target groups",
    ),
    (
        "target_health_state.unhealthy.connection_termination.enabled",
        "true",
        "connection termination of unhealthy targets cannot be enabled for UDP and TCP_UDP \
         target groups",
    ),
];

/// `ModifyTargetGroupAttributes`: checks every key and value, merges them into the group's
/// stored attributes and sets the pool's behaviour from the result. On error the pool is
/// unchanged.
pub fn apply_target_group_attributes(
    pool: &mut Pool,
    given: &[(String, String)],
) -> Result<(), V2Error> {
    let Some(group) = pool.target_group.as_ref() else {
        return Err(V2Error::no_target_group(&pool.name));
    };
    let mut merged = group.attributes.clone();
    for (key, value) in given {
        let Some(known) = TARGET_GROUP_ATTRIBUTES.iter().find(|a| a.key == key) else {
            return Err(V2Error::invalid(format!(
                "Attributes: attribute key '{key}' is not recognized; target groups take {}",
                TARGET_GROUP_ATTRIBUTES
                    .iter()
                    .map(|a| a.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        known.values.check(key, value)?;
        let refused = DATAGRAM_REFUSALS
            .iter()
            .find(|(k, v, _)| k == key && v == value && group.protocol.carries_datagrams());
        if let Some((_, _, why)) = refused {
            return Err(V2Error::conflict(format!(
                "Attribute {key}: {value:?} is not allowed: {why}"
            )));
        }
        merged.insert(key.clone(), value.clone());
    }
    let protocol = group.protocol;
    let mut next = pool.clone();
    set_behaviour(&mut next, protocol, &merged)?;
    if let Some(group) = next.target_group.as_mut() {
        group.attributes = merged;
    }
    *pool = next;
    Ok(())
}

/// Sets the pool's stickiness, draining, algorithm, slow start, PROXY protocol and fail-open
/// routing from the
/// attributes (stored values, else the defaults), with AWS's rules on which stickiness a
/// protocol takes.
fn set_behaviour(
    pool: &mut Pool,
    protocol: V2Protocol,
    attributes: &BTreeMap<String, String>,
) -> Result<(), V2Error> {
    let get = |key: &str| -> String {
        attributes.get(key).cloned().unwrap_or_else(|| {
            TARGET_GROUP_ATTRIBUTES
                .iter()
                .find(|a| a.key == key)
                .map(|a| default_of(a, protocol).to_string())
                .unwrap_or_default()
        })
    };
    let number = |key: &str| get(key).parse::<u32>().unwrap_or(0);
    pool.draining.deregistration_delay_secs = number("deregistration_delay.timeout_seconds");
    pool.slow_start_secs = number("slow_start.duration_seconds");
    // NLB's PROXY protocol is version 2; `proxy_protocol_v2.enabled=false` turns it off.
    let proxy_v2 = get("proxy_protocol_v2.enabled") == "true";
    pool.upstream.proxy_protocol = proxy_v2;
    pool.upstream.proxy_protocol_version = proxy_v2.then_some(2);
    // Every target group fails open (AWS); `off` is no requirement of that kind.
    let routing = "target_group_health.unhealthy_state_routing.minimum_healthy_targets";
    pool.fail_open = Some(crate::FailOpen {
        min_healthy_count: get(&format!("{routing}.count")).parse().unwrap_or(0),
        min_healthy_percent: get(&format!("{routing}.percentage")).parse().ok(),
    });
    if protocol.is_application() {
        pool.algorithm = match get("load_balancing.algorithm.type").as_str() {
            "least_outstanding_requests" => Algorithm::LeastOutstandingRequests,
            "weighted_random" => Algorithm::Random,
            _ => Algorithm::RoundRobin,
        };
    }
    let enabled = get("stickiness.enabled") == "true";
    let kind = get("stickiness.type");
    let stickiness = &mut pool.stickiness;
    stickiness.flavour = CookieFlavour::Alb;
    stickiness.cookie_name = None;
    stickiness.duration_secs = None;
    if !enabled {
        stickiness.kind = StickinessKind::None;
        return Ok(());
    }
    let refuse = |kind: &str| {
        V2Error::conflict(format!(
            "Stickiness type '{kind}' is not supported for target groups with the {} protocol",
            protocol.as_str()
        ))
    };
    match kind.as_str() {
        _ if protocol == V2Protocol::Tls => {
            return Err(V2Error::conflict(
                "You cannot enable stickiness on target groups with the TLS protocol",
            ));
        }
        "lb_cookie" if protocol.is_application() => {
            stickiness.kind = StickinessKind::LbCookie;
            stickiness.duration_secs = Some(number("stickiness.lb_cookie.duration_seconds"));
        }
        "app_cookie" if protocol.is_application() => {
            let name = get("stickiness.app_cookie.cookie_name");
            if name.is_empty() {
                return Err(V2Error::conflict(
                    "You must set an application cookie name to enable stickiness of type \
                     'app_cookie'",
                ));
            }
            stickiness.kind = StickinessKind::AppCookie;
            stickiness.cookie_name = Some(name);
            stickiness.duration_secs = Some(number("stickiness.app_cookie.duration_seconds"));
        }
        "source_ip" if !protocol.is_application() => stickiness.kind = StickinessKind::SourceIp,
        "lb_cookie" | "app_cookie" | "source_ip" => return Err(refuse(&kind)),
        other => {
            return Err(V2Error::invalid(format!(
                "Attribute stickiness.type: {other:?} is not allowed: 'Stickiness type' must be \
                 one of [app_cookie, lb_cookie, source_ip]"
            )));
        }
    }
    Ok(())
}

/// Checks `ModifyLoadBalancerAttributes` / `ModifyListenerAttributes` keys against a table;
/// `network` picks the column. Unknown or inapplicable keys are `ValidationError` with the
/// wording Terraform recognises ("attribute key 'k' is not recognized") to drop them and retry.
pub fn check_keys(
    table: &[(&str, Option<&str>, Option<&str>)],
    network: bool,
    given: &[(String, String)],
) -> Result<(), V2Error> {
    for (key, value) in given {
        let known = table.iter().find(|(k, _, _)| k == key);
        let applies = known.is_some_and(|(_, app, net)| if network { net } else { app }.is_some());
        if !applies {
            return Err(V2Error::invalid(format!(
                "Attributes: attribute key '{key}' is not recognized for a {} load balancer",
                if network { "network" } else { "application" }
            )));
        }
        if value.len() > 1024 {
            return Err(V2Error::invalid(format!(
                "Attribute {key}: value is not allowed: must be at most 1024 characters"
            )));
        }
    }
    Ok(())
}

/// Every key of `table` that applies, with the value set (from `stored`) or its default.
pub fn described(
    table: &[(&str, Option<&str>, Option<&str>)],
    network: bool,
    stored: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    table
        .iter()
        .filter_map(|(key, app, net)| {
            let default = if network { net } else { app };
            default.map(|d| {
                let value = stored.get(*key).map_or(d, |v| v.as_str());
                (key.to_string(), value.to_string())
            })
        })
        .collect()
}
