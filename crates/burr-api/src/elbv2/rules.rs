//! Rule actions: create, describe, modify, delete and reorder the rules of a listener. Each
//! listener also has its default rule (`Priority=default`, `IsDefault=true`, no conditions),
//! which is its default action.

use super::actions::{decode_actions, decode_conditions, given, write_actions, write_conditions};
use super::arn::{self, Kind};
use super::listeners::{group_key, required_listener};
use super::{change, context, write_page};
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::elbv2::{self, Resource, RulePriority, RuleRequest, RuleView};
use burr_model::{Balancer, Listener, State};

/// A rule ARN as (balancer key, listener id, rule id).
fn rule_key(
    c: &dyn ControlPlane,
    state: &State,
    parameter: &str,
    text: &str,
) -> Result<(String, String, String), ApiError> {
    match arn::resolve(c, state, parameter, text, Kind::Rule)? {
        Resource::Rule(key, listener_id, id) => Ok((key, listener_id, id)),
        _ => Err(ApiError::invalid(format!(
            "{parameter}: {text:?} is not allowed: must name a rule"
        ))),
    }
}

/// One `Rule`, in the botocore model's members.
fn write_rule(
    c: &dyn ControlPlane,
    state: &State,
    x: &mut Xml,
    (b, l, rule): &(&Balancer, &Listener, RuleView),
) {
    x.text("RuleArn", &arn::rule(c, b, l, &rule.id));
    let priority = rule
        .priority
        .map_or_else(|| "default".to_string(), |p| p.to_string());
    x.text("Priority", &priority);
    write_conditions(x, "Conditions", &rule.conditions);
    let group_arn = |key: &str| arn::target_group_of_key(c, state, key);
    write_actions(x, "Actions", &rule.action, &group_arn);
    x.text("IsDefault", &rule.is_default().to_string());
}

/// The rule `id` of the listener, as described.
fn view<'s>(
    state: &'s State,
    key: &str,
    listener_id: &str,
    id: &str,
) -> Result<(&'s Balancer, &'s Listener, RuleView), ApiError> {
    let b = elbv2::load_balancer(state, key, None)?;
    let l = elbv2::listener(state, key, listener_id)?;
    let rule = elbv2::rules_of(l)
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| elbv2::V2Error::no_rule(id))?;
    Ok((b, l, rule))
}

fn write_rules(
    c: &dyn ControlPlane,
    state: &State,
    x: &mut Xml,
    rules: &[(&Balancer, &Listener, RuleView)],
) {
    x.members("Rules", rules, |x, rule| write_rule(c, state, x, rule));
}

pub fn create(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let (key, listener_id) = required_listener(c, &state, p, "ListenerArn")?;
    let resolve = |text: &str| group_key(c, &state, text);
    let conditions =
        decode_conditions(p, "Conditions")?.ok_or_else(|| ApiError::missing("Conditions"))?;
    let action =
        decode_actions(p, "Actions", &resolve)?.ok_or_else(|| ApiError::missing("Actions"))?;
    let request = RuleRequest {
        priority: p.required_int("Priority")?,
        conditions,
        action,
        tags: p.tags()?,
    };
    let ctx = context(c);
    let (id, state) = change(c, |s| {
        elbv2::create_rule(s, &key, &listener_id, &request, ctx)
    })?;
    let rule = view(&state, &key, &listener_id, &id)?;
    write_rules(c, &state, xml, &[rule]);
    Ok(())
}

/// `DescribeRules`: by `ListenerArn` (by priority, the default rule last) or by `RuleArns`.
pub fn describe(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let arns = p.list("RuleArns");
    let chosen = match (p.get("ListenerArn"), arns.is_empty()) {
        (Some(_), false) => {
            return Err(ApiError::invalid(
                "ListenerArn and RuleArns cannot be given together",
            ));
        }
        (None, true) => {
            return Err(ApiError::invalid(
                "give ListenerArn or RuleArns: burr does not list every rule",
            ));
        }
        (Some(_), true) => {
            let (key, listener_id) = required_listener(c, &state, p, "ListenerArn")?;
            let b = elbv2::load_balancer(&state, &key, None)?;
            let l = elbv2::listener(&state, &key, &listener_id)?;
            elbv2::rules_of(l).into_iter().map(|r| (b, l, r)).collect()
        }
        (None, false) => {
            let mut chosen: Vec<(&Balancer, &Listener, RuleView)> = Vec::new();
            for text in &arns {
                let (key, listener_id, id) = rule_key(c, &state, "RuleArns", text)?;
                let rule = view(&state, &key, &listener_id, &id)?;
                if !chosen.iter().any(|(b, l, r)| {
                    b.name == rule.0.name && std::ptr::eq(*l, rule.1) && r.id == rule.2.id
                }) {
                    chosen.push(rule);
                }
            }
            chosen
        }
    };
    write_page(p, xml, chosen, |x, shown| {
        write_rules(c, &state, x, shown);
    })
}

pub fn modify(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let text = p.required("RuleArn")?;
    let (key, listener_id, id) = rule_key(c, &state, "RuleArn", text)?;
    let resolve = |text: &str| group_key(c, &state, text);
    let conditions = decode_conditions(p, "Conditions")?;
    let action = decode_actions(p, "Actions", &resolve)?;
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| {
        elbv2::modify_rule(
            s,
            &key,
            &listener_id,
            &id,
            conditions.as_deref(),
            action.as_ref(),
            listen_host,
        )
    })?;
    let rule = view(&state, &key, &listener_id, &id)?;
    write_rules(c, &state, xml, &[rule]);
    Ok(())
}

pub fn delete(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let text = p.required("RuleArn")?;
    let (key, listener_id, id) = rule_key(c, &state, "RuleArn", text)?;
    change(c, |s| elbv2::delete_rule(s, &key, &listener_id, &id))?;
    Ok(())
}

/// `SetRulePriorities`: every change or none; answers the rules changed.
pub fn set_priorities(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    if !given(p, "RulePriorities") {
        return Err(ApiError::missing("RulePriorities"));
    }
    let mut changes = Vec::new();
    for (i, item) in p.structures("RulePriorities").iter().enumerate() {
        let parameter = format!("RulePriorities.member.{}", i + 1);
        let text = item
            .get("RuleArn")
            .ok_or_else(|| ApiError::missing(&format!("{parameter}.RuleArn")))?;
        let (key, listener_id, rule_id) =
            rule_key(c, &state, &format!("{parameter}.RuleArn"), text)?;
        let priority = item
            .int("Priority")
            .map_err(|e| ApiError::invalid(format!("{parameter}.{}", e.message)))?
            .ok_or_else(|| ApiError::missing(&format!("{parameter}.Priority")))?;
        changes.push(RulePriority {
            key,
            listener_id,
            rule_id,
            priority,
        });
    }
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| elbv2::set_rule_priorities(s, &changes, listen_host))?;
    let mut rules = Vec::new();
    for change in &changes {
        rules.push(view(
            &state,
            &change.key,
            &change.listener_id,
            &change.rule_id,
        )?);
    }
    write_rules(c, &state, xml, &rules);
    Ok(())
}
