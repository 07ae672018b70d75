//! Listener rules of application load balancers: create, modify, delete and reorder them.
//!
//! A rule is the model's own [`routing::Rule`] in its listener's `rules`, with `elbv2` holding
//! its id and tags. Every listener also has a default rule, which is not stored as a rule: it is
//! the listener's default action, under the id `V2Listener.default_rule_id`. It has no
//! conditions and no priority, cannot be deleted or reordered, and `ModifyRule` changes its
//! actions only.

use super::listeners::{check_action, settle_target_protocol};
use super::parameters::{check_routing, commit_listener, finish_routing};
use super::*;
use crate::elbv2::{Context, MAX_TAGS, RuleIdentity, V2Protocol};
use crate::routing::{self, Action, Condition, MAX_RULES_PER_LISTENER, PRIORITY_RANGE};

/// `CreateRule` as the API gives it, target group ARNs already turned into pool keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRequest {
    pub priority: i64,
    pub conditions: Vec<Condition>,
    pub action: Action,
    pub tags: Vec<(String, String)>,
}

/// A rule as `DescribeRules` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    pub id: String,
    /// `None` for the default rule (`Priority=default`).
    pub priority: Option<u32>,
    pub conditions: Vec<Condition>,
    pub action: Action,
}

impl RuleView {
    pub fn is_default(&self) -> bool {
        self.priority.is_none()
    }
}

/// The rules of a listener as `DescribeRules` lists them: by priority, the default rule last.
pub fn rules_of(listener: &Listener) -> Vec<RuleView> {
    let mut rules: Vec<RuleView> = listener
        .rules
        .iter()
        .filter_map(|r| {
            r.elbv2.as_ref().map(|identity| RuleView {
                id: identity.id.clone(),
                priority: Some(r.priority),
                conditions: r.conditions.clone(),
                action: r.action.clone(),
            })
        })
        .collect();
    rules.sort_by_key(|r| r.priority);
    if let Some(v2) = &listener.elbv2 {
        rules.push(RuleView {
            id: v2.default_rule_id.clone(),
            priority: None,
            conditions: Vec::new(),
            action: listener.effective_default_action(),
        });
    }
    rules
}

/// Where a rule is: its listener's index, and its index in `rules` (`None`: the default rule).
fn locate(
    b: &Balancer,
    listener_id: &str,
    rule_id: &str,
) -> Result<(usize, Option<usize>), V2Error> {
    let index = listener_index(b, listener_id).map_err(|_| V2Error::no_rule(rule_id))?;
    let l = &b.listeners[index];
    if l.elbv2
        .as_ref()
        .is_some_and(|v| v.default_rule_id == rule_id)
    {
        return Ok((index, None));
    }
    l.rules
        .iter()
        .position(|r| r.elbv2.as_ref().is_some_and(|i| i.id == rule_id))
        .map(|i| (index, Some(i)))
        .ok_or_else(|| V2Error::no_rule(rule_id))
}

fn priority(parameter: &str, value: i64) -> Result<u32, V2Error> {
    number_in(parameter, value, PRIORITY_RANGE.0, PRIORITY_RANGE.1)
}

fn priority_in_use(priority: u32, listener: &Listener) -> V2Error {
    V2Error::new(
        ErrorCode::PriorityInUse,
        format!(
            "Priority: {priority} is not allowed: another rule of the listener on port {} has it",
            listener.port
        ),
    )
}

/// An HTTP or HTTPS listener: the only ones with rules.
fn check_takes_rules(listener: &Listener) -> Result<(), V2Error> {
    if listener.protocol.is_http() {
        return Ok(());
    }
    Err(V2Error::new(
        ErrorCode::UnsupportedProtocol,
        format!(
            "ListenerArn: a {} listener is not allowed: only HTTP and HTTPS listeners take rules",
            V2Protocol::of_listener(listener.protocol).as_str()
        ),
    ))
}

/// `CreateRule`; answers the new rule's id.
pub fn create_rule(
    state: &mut State,
    key: &str,
    listener_id: &str,
    request: &RuleRequest,
    context: Context,
) -> Result<String, V2Error> {
    let b = load_balancer(state, key, None)?;
    let index = listener_index(b, listener_id)?;
    let current = &b.listeners[index];
    check_takes_rules(current)?;
    let priority = priority("Priority", request.priority)?;
    if current.rules.iter().any(|r| r.priority == priority) {
        return Err(priority_in_use(priority, current));
    }
    if current.rules.len() >= MAX_RULES_PER_LISTENER {
        return Err(V2Error::new(
            ErrorCode::TooManyRules,
            format!(
                "the listener on port {} has {} rules; burr allows at most \
                 {MAX_RULES_PER_LISTENER}",
                current.port,
                current.rules.len()
            ),
        ));
    }
    check_rule_tags(&request.tags)?;
    let protocol = V2Protocol::of_listener(current.protocol);
    check_action(state, protocol, &request.action, "Actions")?;
    let id = context.new_id(&format!("listener-rule/{key}/{listener_id}/{priority}"));
    let rule = routing::Rule {
        priority,
        conditions: request.conditions.clone(),
        action: request.action.clone(),
        elbv2: Some(RuleIdentity {
            id: id.clone(),
            tags: request.tags.iter().cloned().collect(),
        }),
    };
    check_routing(
        std::slice::from_ref(&rule),
        None,
        current.protocol == crate::Protocol::Https,
    )?;
    let mut listener = current.clone();
    listener.rules.push(rule);
    settle_target_protocol(state, &mut listener, "Actions")?;
    commit_listener(state, key, Some(index), listener, context.listen_host)?;
    Ok(id)
}

fn check_rule_tags(tags: &[(String, String)]) -> Result<(), V2Error> {
    if tags.len() > MAX_TAGS {
        return Err(V2Error::new(
            ErrorCode::TooManyTags,
            format!(
                "Tags: {} tags are not allowed: at most {MAX_TAGS}",
                tags.len()
            ),
        ));
    }
    check_tags(tags)
}

/// `ModifyRule`: new conditions and/or actions. The default rule takes actions only (they are
/// the listener's default action).
pub fn modify_rule(
    state: &mut State,
    key: &str,
    listener_id: &str,
    rule_id: &str,
    conditions: Option<&[Condition]>,
    action: Option<&Action>,
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let b = load_balancer(state, key, None)?;
    let (index, rule_index) = locate(b, listener_id, rule_id)?;
    let mut listener = b.listeners[index].clone();
    let protocol = V2Protocol::of_listener(listener.protocol);
    let https = listener.protocol == crate::Protocol::Https;
    if let Some(action) = action {
        check_action(state, protocol, action, "Actions")?;
    }
    match rule_index {
        None => {
            if conditions.is_some() {
                return Err(V2Error::new(
                    ErrorCode::OperationNotPermitted,
                    "Conditions: the default rule has no conditions; it applies when no other \
                     rule does",
                ));
            }
            let Some(action) = action else {
                return Ok(());
            };
            // The default rule's actions are the listener's default action.
            let single = match action {
                Action::Forward(f) if f.groups().count() == 1 => f.groups().next().map(|(p, _)| p),
                _ => None,
            };
            listener.pool = single.unwrap_or_default().to_string();
            if listener.protocol.is_http() {
                check_routing(&[], Some(action), https).map_err(rename_default)?;
                listener.default_action = Some(action.clone());
            }
        }
        Some(i) => {
            let rule = &mut listener.rules[i];
            if let Some(conditions) = conditions {
                rule.conditions = conditions.to_vec();
            }
            if let Some(action) = action {
                rule.action = action.clone();
            }
            check_routing(std::slice::from_ref(rule), None, https)?;
        }
    }
    settle_target_protocol(state, &mut listener, "Actions")?;
    commit_listener(state, key, Some(index), listener, listen_host)
}

/// An error about the default action, named as the `Actions` of `ModifyRule`.
fn rename_default(mut error: V2Error) -> V2Error {
    error.message = error.message.replacen("DefaultActions.", "Actions.", 1);
    error
}

/// `DeleteRule`: the default rule cannot be deleted.
pub fn delete_rule(
    state: &mut State,
    key: &str,
    listener_id: &str,
    rule_id: &str,
) -> Result<(), V2Error> {
    let b = load_balancer(state, key, None)?;
    let (index, rule_index) = locate(b, listener_id, rule_id)?;
    let Some(i) = rule_index else {
        return Err(V2Error::new(
            ErrorCode::OperationNotPermitted,
            format!(
                "RuleArn: the default rule '{rule_id}' cannot be deleted; delete the listener, \
                 or change its actions with ModifyRule"
            ),
        ));
    };
    let b = load_balancer_mut(state, key)?;
    b.listeners[index].rules.remove(i);
    Ok(())
}

/// A rule named by `SetRulePriorities`: its balancer's key, listener id and own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePriority {
    pub key: String,
    pub listener_id: String,
    pub rule_id: String,
    pub priority: i64,
}

/// `SetRulePriorities`: all the new priorities, or none. Rules not named keep theirs; within a
/// listener every priority must stay unique (`PriorityInUse`). The default rule has none to set.
pub fn set_rule_priorities(
    state: &mut State,
    changes: &[RulePriority],
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let mut located = Vec::with_capacity(changes.len());
    for (n, change) in changes.iter().enumerate() {
        let parameter = format!("RulePriorities.member.{}", n + 1);
        let b = load_balancer(state, &change.key, None)
            .map_err(|_| V2Error::no_rule(&change.rule_id))?;
        let (index, rule_index) = locate(b, &change.listener_id, &change.rule_id)?;
        let Some(i) = rule_index else {
            return Err(V2Error::new(
                ErrorCode::OperationNotPermitted,
                format!(
                    "{parameter}.RuleArn: the default rule '{}' has no priority to set",
                    change.rule_id
                ),
            ));
        };
        let priority = priority(&format!("{parameter}.Priority"), change.priority)?;
        if located
            .iter()
            .any(|(key, l, r, _): &(&str, usize, usize, u32)| {
                *key == change.key && *l == index && *r == i
            })
        {
            return Err(V2Error::parameter(
                &format!("{parameter}.RuleArn"),
                format!("{:?}", change.rule_id),
                "is named twice",
            ));
        }
        located.push((change.key.as_str(), index, i, priority));
    }
    // Every listener's priorities as they would be, checked before anything changes.
    for (key, index, _, priority) in &located {
        let l = &load_balancer(state, key, None)?.listeners[*index];
        let after = |i: usize, r: &routing::Rule| {
            located
                .iter()
                .find(|(k, l, j, _)| k == key && l == index && *j == i)
                .map_or(r.priority, |(.., p)| *p)
        };
        let holders = l
            .rules
            .iter()
            .enumerate()
            .filter(|(i, r)| after(*i, r) == *priority)
            .count();
        if holders > 1 {
            return Err(priority_in_use(*priority, l));
        }
    }
    let mut previous = Vec::with_capacity(located.len());
    for (key, index, i, priority) in &located {
        let b = load_balancer_mut(state, key)?;
        let rule = &mut b.listeners[*index].rules[*i];
        previous.push(std::mem::replace(&mut rule.priority, *priority));
    }
    let checked = finish_routing(state, listen_host);
    if checked.is_err() {
        // Put every priority back: a refusal leaves the state as it was.
        for ((key, index, i, _), old) in located.iter().zip(previous) {
            load_balancer_mut(state, key)?.listeners[*index].rules[*i].priority = old;
        }
    }
    checked
}
