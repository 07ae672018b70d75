//! Validation of listener rules and actions on their own (no other objects): every AWS limit the
//! parent module's doc lists — priorities, conditions per rule, values and wildcards, value
//! syntax, forward weights and group stickiness, fixed-response and redirect fields. Rules that
//! need other objects (the pools an action names) are `State::validate`'s.

use super::*;
use crate::error::{Errors, FieldPath};
use std::collections::HashSet;

/// Checks a listener's rules and default action on their own (no other objects): every limit
/// in the module doc. `path` is the listener's.
pub(crate) fn validate_rules(
    rules: &[Rule],
    default_action: Option<&Action>,
    https_listener: bool,
    path: &FieldPath,
    errors: &mut Errors,
) {
    if rules.len() > MAX_RULES_PER_LISTENER {
        errors.push(
            path.field("rule"),
            format!("{} rules", rules.len()),
            format!("a listener may have at most {MAX_RULES_PER_LISTENER} rules"),
        );
    }
    let mut priorities = HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let rpath = path.field("rule").index(i);
        let (lo, hi) = PRIORITY_RANGE;
        errors.range(rpath.field("priority"), rule.priority, lo, hi, "");
        if !priorities.insert(rule.priority) {
            errors.push(
                rpath.field("priority"),
                rule.priority,
                "is used by another rule of this listener; priorities must be unique",
            );
        }
        validate_conditions(&rule.conditions, &rpath.field("conditions"), errors);
        validate_action(&rule.action, https_listener, &rpath.field("action"), errors);
    }
    if let Some(action) = default_action {
        validate_action(
            action,
            https_listener,
            &path.field("default_action"),
            errors,
        );
    }
}

fn validate_conditions(conditions: &[Condition], path: &FieldPath, errors: &mut Errors) {
    if conditions.is_empty() {
        errors.push(
            path.clone(),
            "[]",
            "a rule needs at least one condition (the default action has none)",
        );
        return;
    }
    let mut seen = HashSet::new();
    let mut evaluations = 0;
    let mut wildcard_total = 0;
    for (i, condition) in conditions.iter().enumerate() {
        let cpath = path.index(i);
        if condition.once_per_rule() && !seen.insert(condition.toml_name()) {
            errors.push(
                cpath.field(condition.toml_name()),
                format!("a second {} condition", condition.field_name()),
                format!(
                    "a rule may have at most one {} condition (only http-header and \
                     query-string may repeat)",
                    condition.field_name()
                ),
            );
        }
        let count = condition.value_count();
        evaluations += count;
        wildcard_total += condition.wildcard_count();
        let max = if matches!(condition, Condition::SourceIp(_)) {
            MAX_SOURCE_IP_VALUES
        } else {
            MAX_VALUES_PER_CONDITION
        };
        let vpath = cpath.field(condition.toml_name());
        if count == 0 || count > max {
            errors.push(
                vpath.clone(),
                format!("{count} values"),
                format!(
                    "a {} condition takes between 1 and {max} values",
                    condition.field_name()
                ),
            );
        }
        validate_condition_values(condition, &vpath, errors);
    }
    if evaluations > MAX_MATCH_EVALUATIONS_PER_RULE {
        errors.push(
            path.clone(),
            format!("{evaluations} match evaluations"),
            format!(
                "a rule may have at most {MAX_MATCH_EVALUATIONS_PER_RULE} match evaluations \
                 (condition values, counted over all its conditions)"
            ),
        );
    }
    if wildcard_total > MAX_WILDCARDS_PER_RULE {
        errors.push(
            path.clone(),
            format!("{wildcard_total} wildcards"),
            format!("a rule may have at most {MAX_WILDCARDS_PER_RULE} wildcards (* and ?)"),
        );
    }
}

fn check_length(value: &str, max: usize, path: &FieldPath, errors: &mut Errors) -> bool {
    let chars = value.chars().count();
    if chars == 0 || chars > max {
        errors.push(
            path.clone(),
            format!("{value:?}"),
            format!("must be between 1 and {max} characters long"),
        );
        return false;
    }
    true
}

fn check_chars(
    value: &str,
    allowed: impl Fn(char) -> bool,
    what: &str,
    path: &FieldPath,
    errors: &mut Errors,
) {
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        errors.push(
            path.clone(),
            format!("{value:?}"),
            format!("{bad:?} is not allowed; {what}"),
        );
    }
}

fn validate_condition_values(condition: &Condition, path: &FieldPath, errors: &mut Errors) {
    match condition {
        Condition::HostHeader(values) => {
            for (i, v) in values.iter().enumerate() {
                let p = path.index(i);
                if !check_length(v, MAX_VALUE_CHARS, &p, errors) {
                    continue;
                }
                check_chars(
                    v,
                    |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | '?'),
                    "a host name may contain A-Z, a-z, 0-9, - . and the wildcards * ?",
                    &p,
                    errors,
                );
                match v.rsplit_once('.') {
                    Some((_, last)) if last.chars().all(|c| c.is_ascii_alphabetic()) => {}
                    _ => errors.push(
                        p,
                        format!("{v:?}"),
                        "a host name must contain a \".\" and only letters after the last one",
                    ),
                }
            }
        }
        Condition::PathPattern(values) => {
            for (i, v) in values.iter().enumerate() {
                let p = path.index(i);
                if check_length(v, MAX_VALUE_CHARS, &p, errors) {
                    check_chars(
                        v,
                        |c| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c),
                        "a path pattern may contain A-Z, a-z, 0-9, _ - . $ / ~ \" ' @ : + & \
                         and the wildcards * ?",
                        &p,
                        errors,
                    );
                }
            }
        }
        Condition::HttpHeader(header) => {
            let np = path.field("name");
            if check_length(&header.name, MAX_NAME_CHARS, &np, errors) {
                check_chars(
                    &header.name,
                    |c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c),
                    "a header name is an RFC 7230 token, without wildcards",
                    &np,
                    errors,
                );
                if header.name.eq_ignore_ascii_case("host") {
                    errors.push(
                        np,
                        format!("{:?}", header.name),
                        "use a host_header condition for the Host header",
                    );
                }
            }
            for (i, v) in header.values.iter().enumerate() {
                let p = path.field("values").index(i);
                if check_length(v, MAX_VALUE_CHARS, &p, errors) {
                    check_chars(
                        v,
                        |c| c.is_ascii_graphic() || c == ' ',
                        "a value may contain visible ASCII characters and spaces",
                        &p,
                        errors,
                    );
                }
            }
        }
        Condition::HttpRequestMethod(values) => {
            for (i, v) in values.iter().enumerate() {
                let p = path.index(i);
                if check_length(v, MAX_NAME_CHARS, &p, errors) {
                    check_chars(
                        v,
                        |c| c.is_ascii_uppercase() || c == '-' || c == '_',
                        "a method name may contain A-Z, - and _ (it is compared exactly)",
                        &p,
                        errors,
                    );
                }
            }
        }
        Condition::QueryString(pairs) => {
            for (i, pair) in pairs.iter().enumerate() {
                let p = path.index(i);
                if let Some(key) = &pair.key
                    && check_length(key, MAX_VALUE_CHARS, &p.field("key"), errors)
                {
                    check_chars(
                        key,
                        |c| c.is_ascii_graphic() || c == ' ',
                        "a key may contain visible ASCII characters and spaces",
                        &p.field("key"),
                        errors,
                    );
                }
                let vp = p.field("value");
                if check_length(&pair.value, MAX_VALUE_CHARS, &vp, errors) {
                    check_chars(
                        &pair.value,
                        |c| c.is_ascii_graphic() || c == ' ',
                        "a value may contain visible ASCII characters and spaces",
                        &vp,
                        errors,
                    );
                }
            }
        }
        // CIDRs are checked when parsed.
        Condition::SourceIp(_) => {}
    }
}

fn validate_action(action: &Action, https_listener: bool, path: &FieldPath, errors: &mut Errors) {
    match action {
        Action::Forward(forward) => {
            let fpath = path.field("forward");
            match (&forward.pool, forward.pools.len()) {
                (Some(_), 0) => {}
                (Some(pool), _) => errors.push(
                    fpath.field("pool"),
                    format!("{pool:?}"),
                    "give either pool or pools, not both",
                ),
                (None, 0) => errors.push(
                    fpath.field("pools"),
                    "(missing)",
                    "a forward action needs pool, or pools with 1 to 5 weighted pools",
                ),
                (None, n) if n > MAX_FORWARD_POOLS => errors.push(
                    fpath.field("pools"),
                    format!("{n} pools"),
                    format!("a forward action takes between 1 and {MAX_FORWARD_POOLS} pools"),
                ),
                _ => {}
            }
            let mut names = HashSet::new();
            for (i, weighted) in forward.pools.iter().enumerate() {
                let wpath = fpath.field("pools").index(i);
                errors.range(
                    wpath.field("weight"),
                    weighted.weight,
                    0,
                    MAX_FORWARD_WEIGHT,
                    "",
                );
                if !names.insert(weighted.pool.as_str()) {
                    errors.push(
                        wpath.field("pool"),
                        format!("{:?}", weighted.pool),
                        "is named twice in this forward action",
                    );
                }
            }
            if let Some(secs) = forward.stickiness_secs {
                let (lo, hi) = GROUP_STICKINESS_SECS;
                errors.range(fpath.field("stickiness_secs"), secs, lo, hi, "seconds");
            }
        }
        Action::FixedResponse(fixed) => {
            let fpath = path.field("fixed_response");
            if !matches!(fixed.status, 200..=299 | 400..=499 | 500..=599) {
                errors.push(
                    fpath.field("status"),
                    fixed.status,
                    "must be a 2XX, 4XX or 5XX status (200-299, 400-599)",
                );
            }
            if let Some(ct) = &fixed.content_type
                && !FIXED_CONTENT_TYPES.contains(&ct.as_str())
            {
                errors.push(
                    fpath.field("content_type"),
                    format!("{ct:?}"),
                    format!("must be one of {}", FIXED_CONTENT_TYPES.join(", ")),
                );
            }
            if let Some(body) = &fixed.body {
                let chars = body.chars().count();
                if chars > MAX_FIXED_BODY_CHARS {
                    errors.push(
                        fpath.field("body"),
                        format!("{chars} characters"),
                        format!("must be between 0 and {MAX_FIXED_BODY_CHARS} characters long"),
                    );
                }
            }
        }
        Action::Redirect(redirect) => {
            validate_redirect(redirect, https_listener, &path.field("redirect"), errors)
        }
    }
}

/// Keywords a redirect field may contain.
fn check_keywords(value: &str, allowed: &[&str], path: &FieldPath, errors: &mut Errors) {
    let mut rest = value;
    while let Some(at) = rest.find("#{") {
        let tail = &rest[at..];
        match allowed.iter().find(|k| tail.starts_with(**k)) {
            Some(k) => rest = &tail[k.len()..],
            None => {
                errors.push(
                    path.clone(),
                    format!("{value:?}"),
                    format!("may use only the keywords {}", allowed.join(", ")),
                );
                return;
            }
        }
    }
}

fn validate_redirect(
    redirect: &Redirect,
    https_listener: bool,
    path: &FieldPath,
    errors: &mut Errors,
) {
    const ALL: [&str; 5] = ["#{protocol}", "#{host}", "#{port}", "#{path}", "#{query}"];
    if let Some(protocol) = &redirect.protocol {
        if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
            errors.push(
                path.field("protocol"),
                format!("{protocol:?}"),
                "must be HTTP, HTTPS or #{protocol}",
            );
        } else if https_listener && protocol == "HTTP" {
            errors.push(
                path.field("protocol"),
                format!("{protocol:?}"),
                "an https listener may redirect to HTTPS only (HTTPS to HTTP is refused)",
            );
        }
    }
    if let Some(port) = &redirect.port
        && port != "#{port}"
    {
        match port.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) && !port.starts_with('+') => {}
            _ => errors.push(
                path.field("port"),
                format!("{port:?}"),
                "must be between 1 and 65535, or #{port}",
            ),
        }
    }
    if let Some(host) = &redirect.host
        && check_length(host, 128, &path.field("host"), errors)
    {
        check_keywords(host, &["#{host}"], &path.field("host"), errors);
    }
    if let Some(p) = &redirect.path
        && check_length(p, 128, &path.field("path"), errors)
    {
        if !p.starts_with('/') {
            errors.push(
                path.field("path"),
                format!("{p:?}"),
                "must be an absolute path starting with \"/\"",
            );
        }
        check_keywords(
            p,
            &["#{host}", "#{path}", "#{port}"],
            &path.field("path"),
            errors,
        );
    }
    if let Some(query) = &redirect.query {
        let chars = query.chars().count();
        if chars > 128 {
            errors.push(
                path.field("query"),
                format!("{query:?}"),
                "must be between 0 and 128 characters long",
            );
        } else if query.starts_with('?') {
            errors.push(
                path.field("query"),
                format!("{query:?}"),
                "is written without its leading \"?\"",
            );
        }
        check_keywords(query, &ALL, &path.field("query"), errors);
    }
    if !redirect.changes_something() {
        errors.push(
            path.clone(),
            "(a redirect to the same URL)",
            "a redirect must change at least one of protocol, host, port or path (a loop \
             otherwise)",
        );
    }
}
