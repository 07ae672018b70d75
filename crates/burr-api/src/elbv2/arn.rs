//! ELBv2 ARNs: `arn:aws:elasticloadbalancing:<region>:<account>:` followed by
//! `loadbalancer/app|net/<name>/<id>`, `targetgroup/<name>/<id>`,
//! `listener/app|net/<lb name>/<lb id>/<id>` or `listener-rule/app|net/<lb name>/<lb id>/<listener
//! id>/<id>`. Built from the objects; parsed back into a [`Resource`] only when the region is the
//! request's, the account is burr's and every id matches the stored object.

use crate::control::ControlPlane;
use crate::error::ApiError;
use burr_model::elbv2::{self, Resource, V2Error};
use burr_model::{Balancer, Listener, Pool, State, region};

fn prefix(c: &dyn ControlPlane) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{}:{}:",
        c.region(),
        c.account_id()
    )
}

/// The balancer's `app/<name>/<id>` or `net/<name>/<id>`.
fn balancer_part(b: &Balancer) -> String {
    let v2 = b.aws.elbv2.as_ref();
    format!(
        "{}/{}/{}",
        v2.map_or("app", |v| v.kind.arn_segment()),
        region::local_name(&b.name),
        v2.map_or("", |v| v.id.as_str())
    )
}

pub fn load_balancer(c: &dyn ControlPlane, b: &Balancer) -> String {
    format!("{}loadbalancer/{}", prefix(c), balancer_part(b))
}

pub fn target_group(c: &dyn ControlPlane, pool: &Pool) -> String {
    format!(
        "{}targetgroup/{}/{}",
        prefix(c),
        region::local_name(&pool.name),
        pool.target_group.as_ref().map_or("", |t| t.id.as_str())
    )
}

/// The ARN of the target group stored under `key` (`key` itself when it is not one).
pub fn target_group_of_key(c: &dyn ControlPlane, state: &State, key: &str) -> String {
    state
        .pools
        .get(key)
        .map_or_else(|| key.to_string(), |p| target_group(c, p))
}

pub fn listener(c: &dyn ControlPlane, b: &Balancer, l: &Listener) -> String {
    format!(
        "{}listener/{}/{}",
        prefix(c),
        balancer_part(b),
        l.elbv2.as_ref().map_or("", |v| v.id.as_str())
    )
}

pub fn rule(c: &dyn ControlPlane, b: &Balancer, l: &Listener, rule_id: &str) -> String {
    format!(
        "{}listener-rule/{}/{}/{}",
        prefix(c),
        balancer_part(b),
        l.elbv2.as_ref().map_or("", |v| v.id.as_str()),
        rule_id
    )
}

/// What kind of object a parameter must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
    /// Any of the four (`AddTags`, `DescribeTags`, `RemoveTags`).
    Any,
}

/// The object `text` names, after checking the region, account and ids against the state.
/// A malformed ARN is `ValidationError`; a well-formed one naming nothing is the kind's
/// not-found error.
pub fn resolve(
    c: &dyn ControlPlane,
    state: &State,
    parameter: &str,
    text: &str,
    kind: Kind,
) -> Result<Resource, ApiError> {
    let malformed = || {
        ApiError::invalid(format!(
            "{parameter}: {text:?} is not allowed: must be an ELBv2 ARN \
             (arn:aws:elasticloadbalancing:<region>:<account>:<resource>)"
        ))
    };
    let rest = text
        .strip_prefix("arn:aws:elasticloadbalancing:")
        .ok_or_else(malformed)?;
    let mut head = rest.splitn(3, ':');
    let (Some(arn_region), Some(account), Some(resource)) = (head.next(), head.next(), head.next())
    else {
        return Err(malformed());
    };
    let parts: Vec<&str> = resource.split('/').collect();
    let found = |e: V2Error| -> ApiError { e.into() };
    let elsewhere = arn_region != c.region() || account != c.account_id();
    let resolved = match (parts.as_slice(), kind) {
        (["loadbalancer", t, name, id], Kind::LoadBalancer | Kind::Any) if is_type(t) => {
            let key = c.key(name);
            if elsewhere {
                return Err(found(V2Error::no_load_balancer(text)));
            }
            elbv2::load_balancer(state, &key, Some(id))
                .map_err(|_| V2Error::no_load_balancer(text))
                .map_err(found)?;
            Resource::LoadBalancer(key)
        }
        (["targetgroup", name, id], Kind::TargetGroup | Kind::Any) => {
            let key = c.key(name);
            if elsewhere {
                return Err(found(V2Error::no_target_group(text)));
            }
            elbv2::target_group(state, &key, Some(id))
                .map_err(|_| V2Error::no_target_group(text))
                .map_err(found)?;
            Resource::TargetGroup(key)
        }
        (["listener", t, name, lb_id, id], Kind::Listener | Kind::Any) if is_type(t) => {
            let key = c.key(name);
            let missing = || found(V2Error::no_listener(text));
            if elsewhere {
                return Err(missing());
            }
            let b = elbv2::load_balancer(state, &key, Some(lb_id)).map_err(|_| missing())?;
            elbv2::listener_index(b, id).map_err(|_| missing())?;
            Resource::Listener(key, id.to_string())
        }
        (["listener-rule", t, name, lb_id, listener_id, id], Kind::Rule | Kind::Any)
            if is_type(t) =>
        {
            let key = c.key(name);
            let missing = || found(V2Error::no_rule(text));
            if elsewhere {
                return Err(missing());
            }
            let b = elbv2::load_balancer(state, &key, Some(lb_id)).map_err(|_| missing())?;
            let l = &b.listeners[elbv2::listener_index(b, listener_id).map_err(|_| missing())?];
            let is_default = l.elbv2.as_ref().is_some_and(|v| v.default_rule_id == *id);
            let is_rule = l
                .rules
                .iter()
                .any(|r| r.elbv2.as_ref().is_some_and(|i| i.id == *id));
            if !is_default && !is_rule {
                return Err(missing());
            }
            Resource::Rule(key, listener_id.to_string(), id.to_string())
        }
        _ => return Err(malformed()),
    };
    Ok(resolved)
}

fn is_type(segment: &str) -> bool {
    segment == "app" || segment == "net"
}

/// The ARN of a resolved object.
pub fn of(c: &dyn ControlPlane, state: &State, resource: &Resource) -> String {
    match resource {
        Resource::LoadBalancer(key) => state
            .balancers
            .get(key)
            .map_or_else(String::new, |b| load_balancer(c, b)),
        Resource::TargetGroup(key) => target_group_of_key(c, state, key),
        Resource::Listener(key, id) | Resource::Rule(key, id, _) => {
            let Some(b) = state.balancers.get(key) else {
                return String::new();
            };
            let Ok(index) = elbv2::listener_index(b, id) else {
                return String::new();
            };
            match resource {
                Resource::Rule(_, _, rule_id) => rule(c, b, &b.listeners[index], rule_id),
                _ => listener(c, b, &b.listeners[index]),
            }
        }
    }
}
