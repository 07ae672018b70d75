//! The model's checks of listener rules and default actions (`routing::validate_rules`), with
//! each problem named by the AWS parameter it comes from rather than the TOML field: the model
//! says `conditions[1].host_header[0]`, a client sent `Conditions.member.2.HostHeaderConfig
//! .Values.member.1`.

use super::{ErrorCode, V2Error, translate};
use crate::State;
use crate::error::{Errors, FieldPath, PathSegment};
use crate::routing::{self, Action};

/// Runs the model's checks of one listener's rules and default action alone, and reports the
/// first problem with the AWS parameter it comes from (`Conditions.member.2.HostHeaderConfig
/// .Values.member.1`, `DefaultActions.member.1.RedirectConfig.Port`).
pub(crate) fn check_routing(
    rules: &[routing::Rule],
    default_action: Option<&Action>,
    https: bool,
) -> Result<(), V2Error> {
    let mut errors = Errors::default();
    routing::validate_rules(
        rules,
        default_action,
        https,
        &FieldPath::root(),
        &mut errors,
    );
    match errors.0.first() {
        None => Ok(()),
        Some(e) => Err(V2Error::parameter(
            &aws_parameter(&e.path),
            &e.value,
            &e.rule,
        )),
    }
}

/// The AWS parameter for a path of `routing::validate_rules` (rooted at the listener): the
/// model's field names become the wire's, list indexes `.member.N`.
fn aws_parameter(path: &FieldPath) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut segments = path.0.iter().peekable();
    while let Some(segment) = segments.next() {
        let part = match segment {
            PathSegment::Index(i) => format!("member.{}", i + 1),
            PathSegment::Field("rule") => {
                // One rule is checked at a time: its index is not a parameter.
                if matches!(segments.peek(), Some(PathSegment::Index(_))) {
                    segments.next();
                }
                continue;
            }
            PathSegment::Field(field) => match *field {
                "default_action" => "DefaultActions.member.1".into(),
                "action" => "Actions.member.1".into(),
                "priority" => "Priority".into(),
                "conditions" => "Conditions".into(),
                "host_header" => "HostHeaderConfig.Values".into(),
                "path_pattern" => "PathPatternConfig.Values".into(),
                "http_header" => "HttpHeaderConfig".into(),
                "http_request_method" => "HttpRequestMethodConfig.Values".into(),
                "query_string" => "QueryStringConfig.Values".into(),
                "source_ip" => "SourceIpConfig.Values".into(),
                "name" => "HttpHeaderName".into(),
                "values" => "Values".into(),
                "key" => "Key".into(),
                "value" => "Value".into(),
                "forward" => "ForwardConfig".into(),
                "pools" => "TargetGroups".into(),
                "pool" => "TargetGroupArn".into(),
                "weight" => "Weight".into(),
                "stickiness_secs" => "TargetGroupStickinessConfig.DurationSeconds".into(),
                "fixed_response" => "FixedResponseConfig".into(),
                "status" => "StatusCode".into(),
                "content_type" => "ContentType".into(),
                "body" => "MessageBody".into(),
                "redirect" => "RedirectConfig".into(),
                "protocol" => "Protocol".into(),
                "host" => "Host".into(),
                "port" => "Port".into(),
                "path" => "Path".into(),
                "query" => "Query".into(),
                other => other.to_string(),
            },
            // Balancer, listener and pool segments do not occur under the root path.
            other => FieldPath(vec![other.clone()]).to_string(),
        };
        parts.push(part);
    }
    // A lone forward target is the action's own `TargetGroupArn`.
    parts
        .join(".")
        .replace("ForwardConfig.TargetGroupArn", "TargetGroupArn")
}

/// Runs the model's validation of the whole state (as [`super::finish`]) after a change to a
/// listener's actions or rules. A problem in a rule or default action that only other objects
/// reveal (a target group with stickiness in a weighted forward without group stickiness) is
/// `InvalidConfigurationRequest` named by the AWS parameter; anything else as `finish` says.
pub(crate) fn finish_routing(
    state: &State,
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let Err(errors) = state.validate(listen_host) else {
        return Ok(());
    };
    let error = &errors[0];
    let segments = &error.path.0;
    let routing_at = segments.iter().position(|s| {
        matches!(
            s,
            PathSegment::Field("rule") | PathSegment::Field("default_action")
        )
    });
    let under_listener = |at: usize| {
        segments[..at]
            .iter()
            .any(|s| matches!(s, PathSegment::Listener(_)))
    };
    match routing_at {
        Some(at) if under_listener(at) => {
            let parameter = aws_parameter(&FieldPath(segments[at..].to_vec()));
            let rule = error
                .rule
                .replace(
                    "stickiness_secs",
                    "ForwardConfig.TargetGroupStickinessConfig.DurationSeconds",
                )
                .replace("pool \"", "target group \"")
                .replace("several pools", "several target groups");
            Err(V2Error::new(
                ErrorCode::InvalidConfigurationRequest,
                format!("{parameter}: {} is not allowed: {rule}", error.value),
            ))
        }
        _ => Err(translate(error)),
    }
}

/// Puts `listener` in the balancer under `key` (at `index`, or as a new one), then validates the
/// whole state with [`finish_routing`]; when that refuses, the old listener is put back, so a
/// refused operation leaves the state as it was even before the store discards its copy.
pub(crate) fn commit_listener(
    state: &mut State,
    key: &str,
    index: Option<usize>,
    listener: crate::Listener,
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let b = super::load_balancer_mut(state, key)?;
    let old = match index {
        Some(i) => Some(std::mem::replace(&mut b.listeners[i], listener)),
        None => {
            b.listeners.push(listener);
            None
        }
    };
    let checked = finish_routing(state, listen_host);
    if checked.is_err() {
        let b = super::load_balancer_mut(state, key)?;
        match (index, old) {
            (Some(i), Some(old)) => b.listeners[i] = old,
            _ => {
                b.listeners.pop();
            }
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Condition, Forward, HeaderCondition, Rule, WeightedPool};

    fn refusal(rule: Rule) -> String {
        check_routing(&[rule], None, false).unwrap_err().message
    }

    #[test]
    fn model_paths_become_aws_parameters() {
        let rule = |conditions, action| Rule {
            priority: 1,
            conditions,
            action,
            elbv2: None,
        };
        let header = Condition::HttpHeader(HeaderCondition {
            name: "Host".into(),
            values: vec!["x".into()],
        });
        assert!(
            refusal(rule(vec![header], Action::forward_to("a")))
                .starts_with("Conditions.member.1.HttpHeaderConfig.HttpHeaderName: \"Host\""),
        );
        let weighted = Action::Forward(Forward {
            pool: None,
            pools: vec![
                WeightedPool {
                    pool: "a".into(),
                    weight: 1,
                },
                WeightedPool {
                    pool: "a".into(),
                    weight: 1000,
                },
            ],
            stickiness_secs: Some(0),
        });
        let path = || vec![Condition::PathPattern(vec!["/x".into()])];
        assert_eq!(
            refusal(rule(path(), weighted)),
            "Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight: 1000 is not allowed: \
             must be between 0 and 999"
        );
        let both = Action::Forward(Forward {
            pool: Some("a".into()),
            pools: vec![WeightedPool {
                pool: "b".into(),
                weight: 1,
            }],
            stickiness_secs: None,
        });
        assert!(refusal(rule(path(), both)).starts_with("Actions.member.1.TargetGroupArn: \"a\""));
        let sticky = Action::Forward(Forward {
            pool: Some("a".into()),
            pools: vec![],
            stickiness_secs: Some(0),
        });
        assert!(refusal(rule(path(), sticky)).starts_with(
            "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds: 0"
        ));
        let mut late = rule(path(), Action::forward_to("a"));
        late.priority = 0;
        assert!(refusal(late).starts_with("Priority: 0 is not allowed"));
    }
}
