//! The wire form of ELBv2 listener actions (`DefaultActions` / `Actions`) and rule conditions
//! (`Conditions`): decoding the query parameters into [`routing::Action`] and
//! [`routing::Condition`], and writing them back as the botocore model's `Action` and
//! `RuleCondition` shapes.
//!
//! Only the wire is handled here: what the parameters mean, which combinations the model
//! allows, and numbers that must fit their type. The limits on values (lengths, characters,
//! counts per rule) are `burr_model::routing`'s, checked when the operation validates the state.
//! Target group ARNs are turned into pool keys (and back) by closures the caller passes, so this
//! module needs nothing of the store.
//!
//! burr takes one action per rule: the routing action (`forward`, `fixed-response` or
//! `redirect`). It does not authenticate, so `authenticate-oidc`, `authenticate-cognito` and
//! `jwt-validation` are refused with `InvalidLoadBalancerAction`, the code AWS gives an action
//! it cannot take; so is a second routing action (AWS: "exactly one of the following routing
//! actions").

use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::routing::{
    Action, Cidr, Condition, FixedResponse, Forward, GROUP_STICKINESS_SECS, HeaderCondition,
    MAX_FORWARD_WEIGHT, QueryPair, Redirect, RedirectStatus, WeightedPool,
};

/// Turns a target group ARN into the pool key a forward action names (`TargetGroupNotFound`
/// and malformed ARNs are the caller's errors).
pub type ResolveGroup<'a> = &'a dyn Fn(&str) -> Result<String, ApiError>;
/// Turns a pool key back into its target group ARN.
pub type GroupArn<'a> = &'a dyn Fn(&str) -> String;

/// `Order` bounds (`ActionOrder` in the model).
pub const ORDER_RANGE: (i64, i64) = (1, 50_000);

/// The action types of the model; burr takes the first three.
const ROUTING_TYPES: [&str; 3] = ["forward", "fixed-response", "redirect"];
const AUTH_TYPES: [&str; 3] = [
    "authenticate-oidc",
    "authenticate-cognito",
    "jwt-validation",
];

/// The `Config` member each action type owns; given with another type it is refused, as the
/// model says "specify only when Type is …".
const ACTION_CONFIGS: [(&str, &str); 6] = [
    ("forward", "ForwardConfig"),
    ("fixed-response", "FixedResponseConfig"),
    ("redirect", "RedirectConfig"),
    ("authenticate-oidc", "AuthenticateOidcConfig"),
    ("authenticate-cognito", "AuthenticateCognitoConfig"),
    ("jwt-validation", "JwtValidationConfig"),
];

/// The condition fields, each with its `*Config` member.
const CONDITION_CONFIGS: [(&str, &str); 6] = [
    ("host-header", "HostHeaderConfig"),
    ("path-pattern", "PathPatternConfig"),
    ("http-header", "HttpHeaderConfig"),
    ("http-request-method", "HttpRequestMethodConfig"),
    ("query-string", "QueryStringConfig"),
    ("source-ip", "SourceIpConfig"),
];

/// Whether the request carries `name`, as a value or as a structure or list (an empty list is
/// sent as a bare `name=`).
pub fn given(p: &Params, name: &str) -> bool {
    p.get(name).is_some() || p.has_scope(name)
}

fn invalid_action(message: String) -> ApiError {
    ApiError::new("InvalidLoadBalancerAction", 400, message)
}

/// An integer parameter that must lie in `lo..=hi`.
fn int_in(p: &Params, field: &str, param: &str, lo: i64, hi: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = p.get(field) else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::invalid(format!(
            "{param}: {text:?} is not allowed: must be an integer between {lo} and {hi}"
        ))),
    }
}

/// The actions of the list `name` (`DefaultActions` or `Actions`): `None` when the request
/// does not carry it, else the one routing action.
pub fn decode_actions(
    p: &Params,
    name: &str,
    resolve: ResolveGroup<'_>,
) -> Result<Option<Action>, ApiError> {
    if !given(p, name) {
        return Ok(None);
    }
    let members = p.structures(name);
    if members.is_empty() {
        return Err(ApiError::invalid(format!(
            "{name}: [] is not allowed: give exactly one action of type {}",
            ROUTING_TYPES.join(", ")
        )));
    }
    // Read every member's type and order first, so an authentication action is reported as
    // such wherever it sits in the list.
    let mut routing = None;
    let mut orders = Vec::new();
    for (i, action) in members.iter().enumerate() {
        let param = format!("{name}.member.{}", i + 1);
        let kind = action
            .get("Type")
            .ok_or_else(|| ApiError::missing(&format!("{param}.Type")))?;
        if AUTH_TYPES.contains(&kind) {
            return Err(invalid_action(format!(
                "{param}.Type: {kind:?} is not allowed: burr does not authenticate requests; \
                 use one of {}",
                ROUTING_TYPES.join(", ")
            )));
        }
        if !ROUTING_TYPES.contains(&kind) {
            return Err(ApiError::invalid(format!(
                "{param}.Type: {kind:?} is not allowed: must be one of {}",
                ROUTING_TYPES.join(", ")
            )));
        }
        let order = int_in(
            action,
            "Order",
            &format!("{param}.Order"),
            ORDER_RANGE.0,
            ORDER_RANGE.1,
        )?;
        if let Some(order) = order {
            if orders.contains(&order) {
                return Err(invalid_action(format!(
                    "{param}.Order: {order} is not allowed: another action has this order; \
                     orders must be unique"
                )));
            }
            orders.push(order);
        }
        if let Some((first, _)) = &routing {
            return Err(invalid_action(format!(
                "{param}.Type: {kind:?} is not allowed: {first} already routes the request; \
                 a rule takes exactly one of {}",
                ROUTING_TYPES.join(", ")
            )));
        }
        routing = Some((param, action));
    }
    let (param, action) = routing.expect("one member at least");
    decode_action(action, &param, resolve).map(Some)
}

/// One routing action, its type already known to be one of [`ROUTING_TYPES`].
fn decode_action(p: &Params, param: &str, resolve: ResolveGroup<'_>) -> Result<Action, ApiError> {
    let kind = p.get("Type").unwrap_or_default();
    for (owner, config) in ACTION_CONFIGS {
        if owner != kind && given(p, config) {
            return Err(ApiError::invalid(format!(
                "{param}.{config}: is not allowed with Type {kind:?}: give it only with Type \
                 {owner:?}"
            )));
        }
    }
    if kind != "forward" && given(p, "TargetGroupArn") {
        return Err(ApiError::invalid(format!(
            "{param}.TargetGroupArn: is not allowed with Type {kind:?}: give it only with Type \
             \"forward\""
        )));
    }
    match kind {
        "forward" => decode_forward(p, param, resolve).map(Action::Forward),
        "fixed-response" => decode_fixed_response(
            &p.scope("FixedResponseConfig"),
            &format!("{param}.FixedResponseConfig"),
        )
        .map(Action::FixedResponse),
        _ => decode_redirect(
            &p.scope("RedirectConfig"),
            &format!("{param}.RedirectConfig"),
        )
        .map(Action::Redirect),
    }
}

fn decode_forward(p: &Params, param: &str, resolve: ResolveGroup<'_>) -> Result<Forward, ApiError> {
    let config = p.scope("ForwardConfig");
    let cparam = format!("{param}.ForwardConfig");
    let mut pools = Vec::new();
    for (i, group) in config.structures("TargetGroups").iter().enumerate() {
        let gparam = format!("{cparam}.TargetGroups.member.{}", i + 1);
        let arn = group
            .get("TargetGroupArn")
            .ok_or_else(|| ApiError::missing(&format!("{gparam}.TargetGroupArn")))?;
        let weight = int_in(
            group,
            "Weight",
            &format!("{gparam}.Weight"),
            0,
            i64::from(MAX_FORWARD_WEIGHT),
        )?;
        pools.push(WeightedPool {
            pool: resolve(arn)?,
            // AWS's default weight, as in the TOML file.
            weight: weight.map_or(1, |w| w as u32),
        });
    }
    let stickiness_secs = stickiness(&config.scope("TargetGroupStickinessConfig"), &cparam)?;
    let pool = match p.get("TargetGroupArn") {
        None if pools.is_empty() => {
            return Err(ApiError::invalid(format!(
                "{param}: a forward action without a target group is not allowed: give \
                 TargetGroupArn or ForwardConfig.TargetGroups"
            )));
        }
        None => None,
        Some(arn) => {
            let key = resolve(arn)?;
            // AWS: with both, ForwardConfig names exactly the one group of TargetGroupArn.
            match pools.as_slice() {
                [] => {}
                [only] if only.pool == key => pools.clear(),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "{cparam}.TargetGroups: {} target groups are not allowed with \
                         {param}.TargetGroupArn {arn:?}: with both, ForwardConfig must name \
                         only that target group",
                        pools.len()
                    )));
                }
            }
            Some(key)
        }
    };
    Ok(Forward {
        pool,
        pools,
        stickiness_secs,
    })
}

/// `TargetGroupStickinessConfig`: the duration when enabled (then required), else `None`.
fn stickiness(p: &Params, cparam: &str) -> Result<Option<u32>, ApiError> {
    let sparam = format!("{cparam}.TargetGroupStickinessConfig");
    let enabled = p
        .bool("Enabled")
        .map_err(|e| rename(e, "Enabled", &sparam))?;
    let (lo, hi) = GROUP_STICKINESS_SECS;
    let duration = int_in(
        p,
        "DurationSeconds",
        &format!("{sparam}.DurationSeconds"),
        i64::from(lo),
        i64::from(hi),
    )?;
    match (enabled, duration) {
        (Some(true), Some(secs)) => Ok(Some(secs as u32)),
        (Some(true), None) => Err(ApiError::invalid(format!(
            "{sparam}.DurationSeconds: (missing) is not allowed: give it (between {lo} and {hi} \
             seconds) when enabling target group stickiness"
        ))),
        // Disabled: a duration given with it has nothing to act on, as in AWS.
        _ => Ok(None),
    }
}

/// A `Params` error about a field of a structure, renamed with the structure's full name.
fn rename(mut error: ApiError, field: &str, prefix: &str) -> ApiError {
    error.message = format!("{prefix}.{}", error.message);
    debug_assert!(error.message[prefix.len() + 1..].starts_with(field));
    error
}

fn decode_fixed_response(p: &Params, param: &str) -> Result<FixedResponse, ApiError> {
    let code = p
        .get("StatusCode")
        .ok_or_else(|| ApiError::missing(&format!("{param}.StatusCode")))?;
    // The model's pattern `^(2|4|5)\d\d$`.
    let status = match code.as_bytes() {
        [b'2' | b'4' | b'5', b'0'..=b'9', b'0'..=b'9'] => code.parse::<u16>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::invalid(format!(
            "{param}.StatusCode: {code:?} is not allowed: must be a 2XX, 4XX or 5XX status"
        ))
    })?;
    Ok(FixedResponse {
        status,
        content_type: p.get("ContentType").map(str::to_string),
        body: p.get("MessageBody").map(str::to_string),
    })
}

fn decode_redirect(p: &Params, param: &str) -> Result<Redirect, ApiError> {
    let code = p
        .get("StatusCode")
        .ok_or_else(|| ApiError::missing(&format!("{param}.StatusCode")))?;
    let status = match code {
        "HTTP_301" => RedirectStatus::Permanent,
        "HTTP_302" => RedirectStatus::Temporary,
        _ => {
            return Err(ApiError::invalid(format!(
                "{param}.StatusCode: {code:?} is not allowed: must be HTTP_301 or HTTP_302"
            )));
        }
    };
    let field = |name: &str| p.get(name).map(str::to_string);
    Ok(Redirect {
        protocol: field("Protocol"),
        host: field("Host"),
        port: field("Port"),
        path: field("Path"),
        query: field("Query"),
        status,
    })
}

/// The conditions of the list `name` (`Conditions`): `None` when the request does not carry
/// it. An empty list is returned as such; the model refuses a rule without conditions.
pub fn decode_conditions(p: &Params, name: &str) -> Result<Option<Vec<Condition>>, ApiError> {
    if !given(p, name) {
        return Ok(None);
    }
    p.structures(name)
        .iter()
        .enumerate()
        .map(|(i, c)| decode_condition(c, &format!("{name}.member.{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn decode_condition(p: &Params, param: &str) -> Result<Condition, ApiError> {
    let field = p
        .get("Field")
        .ok_or_else(|| ApiError::missing(&format!("{param}.Field")))?;
    let Some(&(_, own)) = CONDITION_CONFIGS.iter().find(|(f, _)| *f == field) else {
        let fields: Vec<&str> = CONDITION_CONFIGS.iter().map(|(f, _)| *f).collect();
        return Err(ApiError::invalid(format!(
            "{param}.Field: {field:?} is not allowed: must be one of {}",
            fields.join(", ")
        )));
    };
    for (owner, config) in CONDITION_CONFIGS {
        if owner != field && given(p, config) {
            return Err(ApiError::invalid(format!(
                "{param}.{config}: is not allowed with Field {field:?}: give it only with Field \
                 {owner:?}"
            )));
        }
    }
    for regex in ["RegexValues".to_string(), format!("{own}.RegexValues")] {
        if given(p, &regex) {
            return Err(ApiError::invalid(format!(
                "{param}.{regex}: is not allowed: burr matches wildcard patterns (Values), not \
                 regular expressions"
            )));
        }
    }
    let config = p.scope(own);
    let cparam = format!("{param}.{own}");
    let legacy = given(p, "Values");
    // Host and path take their values in the legacy `Values` or in the config. Both may come,
    // agreeing: that is how burr (and AWS) describe a rule, so a rule read back is accepted.
    let patterns = || -> Result<Vec<String>, ApiError> {
        match (legacy, given(&config, "Values")) {
            (true, true) if p.list("Values") != config.list("Values") => {
                Err(ApiError::invalid(format!(
                    "{param}.Values: {:?} is not allowed with {cparam}.Values {:?}: give the \
                     values once, or the same in both",
                    p.list("Values"),
                    config.list("Values")
                )))
            }
            (true, _) => Ok(p.list("Values")),
            (false, _) => required_values(&config, &cparam),
        }
    };
    if legacy && !matches!(field, "host-header" | "path-pattern") {
        return Err(ApiError::invalid(format!(
            "{param}.Values: is not allowed with Field {field:?}: give the values in {cparam}"
        )));
    }
    Ok(match field {
        "host-header" => Condition::HostHeader(patterns()?),
        "path-pattern" => Condition::PathPattern(patterns()?),
        "http-header" => Condition::HttpHeader(HeaderCondition {
            name: config
                .get("HttpHeaderName")
                .ok_or_else(|| ApiError::missing(&format!("{cparam}.HttpHeaderName")))?
                .to_string(),
            values: required_values(&config, &cparam)?,
        }),
        "http-request-method" => Condition::HttpRequestMethod(required_values(&config, &cparam)?),
        "query-string" => {
            if !given(&config, "Values") {
                return Err(ApiError::missing(&format!("{cparam}.Values")));
            }
            let pairs = config.structures("Values");
            let pairs = pairs.iter().enumerate().map(|(i, pair)| {
                let value = pair.get("Value").ok_or_else(|| {
                    ApiError::missing(&format!("{cparam}.Values.member.{}.Value", i + 1))
                })?;
                Ok(QueryPair {
                    key: pair.get("Key").map(str::to_string),
                    value: value.to_string(),
                })
            });
            Condition::QueryString(pairs.collect::<Result<_, ApiError>>()?)
        }
        _ => {
            if let Some(kind) = config.get("IpAddressType") {
                return Err(ApiError::invalid(format!(
                    "{cparam}.IpAddressType: {kind:?} is not allowed: burr matches source \
                     addresses by CIDR (Values) only"
                )));
            }
            let values = required_values(&config, &cparam)?;
            let cidrs = values.iter().enumerate().map(|(i, v)| {
                v.parse::<Cidr>().map_err(|rule| {
                    ApiError::invalid(format!(
                        "{cparam}.Values.member.{}: {v:?} is not allowed: {rule}",
                        i + 1
                    ))
                })
            });
            Condition::SourceIp(cidrs.collect::<Result<_, _>>()?)
        }
    })
}

/// `Values` of a condition config, which must be given (an empty list is the model's to
/// refuse, with its limits).
fn required_values(config: &Params, cparam: &str) -> Result<Vec<String>, ApiError> {
    if !given(config, "Values") {
        return Err(ApiError::missing(&format!("{cparam}.Values")));
    }
    Ok(config.list("Values"))
}

/// Writes `<{name}><member>…</member></{name}>` for the one action burr keeps, as AWS returns
/// it: `Order` 1, and for a forward action both `TargetGroupArn` (when it names one group) and
/// `ForwardConfig` (always).
pub fn write_actions(x: &mut Xml, name: &str, action: &Action, arn: GroupArn<'_>) {
    x.members(name, std::slice::from_ref(action), |x, action| {
        write_action(x, action, arn)
    });
}

fn write_action(x: &mut Xml, action: &Action, arn: GroupArn<'_>) {
    x.text("Type", action.type_name());
    x.text("Order", "1");
    match action {
        Action::Forward(forward) => {
            let groups: Vec<(&str, u32)> = forward.groups().collect();
            if let [(pool, _)] = groups.as_slice() {
                x.text("TargetGroupArn", &arn(pool));
            }
            x.element("ForwardConfig", |x| {
                x.members("TargetGroups", &groups, |x, (pool, weight)| {
                    x.text("TargetGroupArn", &arn(pool));
                    x.text("Weight", &weight.to_string());
                });
                x.element("TargetGroupStickinessConfig", |x| {
                    x.text("Enabled", &forward.stickiness_secs.is_some().to_string());
                    if let Some(secs) = forward.stickiness_secs {
                        x.text("DurationSeconds", &secs.to_string());
                    }
                });
            });
        }
        Action::FixedResponse(fixed) => x.element("FixedResponseConfig", |x| {
            if let Some(body) = &fixed.body {
                x.text("MessageBody", body);
            }
            x.text("StatusCode", &fixed.status.to_string());
            if let Some(content_type) = &fixed.content_type {
                x.text("ContentType", content_type);
            }
        }),
        // AWS returns every part, the unchanged ones as their keywords.
        Action::Redirect(redirect) => x.element("RedirectConfig", |x| {
            x.text("Protocol", redirect.protocol());
            x.text("Port", redirect.port());
            x.text("Host", redirect.host());
            x.text("Path", redirect.path());
            x.text("Query", redirect.query());
            let status = match redirect.status {
                RedirectStatus::Permanent => "HTTP_301",
                RedirectStatus::Temporary => "HTTP_302",
            };
            x.text("StatusCode", status);
        }),
    }
}

/// Writes `<{name}>` with each condition's `Field`, the legacy `Values` (host-header and
/// path-pattern) and its `*Config`.
pub fn write_conditions(x: &mut Xml, name: &str, conditions: &[Condition]) {
    x.members(name, conditions, |x, condition| {
        x.text("Field", condition.field_name());
        match condition {
            Condition::HostHeader(values) => {
                x.string_members("Values", values);
                x.element("HostHeaderConfig", |x| x.string_members("Values", values));
            }
            Condition::PathPattern(values) => {
                x.string_members("Values", values);
                x.element("PathPatternConfig", |x| x.string_members("Values", values));
            }
            Condition::HttpHeader(header) => x.element("HttpHeaderConfig", |x| {
                x.text("HttpHeaderName", &header.name);
                x.string_members("Values", &header.values);
            }),
            Condition::HttpRequestMethod(values) => {
                x.element("HttpRequestMethodConfig", |x| {
                    x.string_members("Values", values)
                });
            }
            Condition::QueryString(pairs) => x.element("QueryStringConfig", |x| {
                x.members("Values", pairs, |x, pair| {
                    if let Some(key) = &pair.key {
                        x.text("Key", key);
                    }
                    x.text("Value", &pair.value);
                });
            }),
            Condition::SourceIp(cidrs) => x.element("SourceIpConfig", |x| {
                let values: Vec<String> = cidrs.iter().map(Cidr::to_string).collect();
                x.string_members("Values", &values);
            }),
        }
    });
}

#[cfg(test)]
mod tests;
