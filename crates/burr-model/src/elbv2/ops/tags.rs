//! Tags on load balancers, target groups, listeners and rules (`AddTags`, `RemoveTags`).

use super::*;
use crate::elbv2::MAX_TAGS;
use std::collections::BTreeMap;

/// The tags of a resource.
pub fn tags_of<'s>(
    state: &'s State,
    resource: &Resource,
) -> Result<&'s BTreeMap<String, String>, V2Error> {
    Ok(match resource {
        Resource::LoadBalancer(key) => &load_balancer(state, key, None)?.aws.tags,
        Resource::TargetGroup(key) => match &target_group(state, key, None)?.target_group {
            Some(group) => &group.tags,
            None => return Err(V2Error::no_target_group(key)),
        },
        Resource::Listener(key, id) => match &listener(state, key, id)?.elbv2 {
            Some(l) => &l.tags,
            None => return Err(V2Error::no_listener(id)),
        },
        Resource::Rule(key, listener_id, rule_id) => {
            let l = listener(state, key, listener_id)?;
            match l
                .rules
                .iter()
                .find_map(|r| r.elbv2.as_ref().filter(|i| &i.id == rule_id))
            {
                Some(identity) => &identity.tags,
                None => match l.elbv2.as_ref().filter(|v| &v.default_rule_id == rule_id) {
                    Some(v) => &v.default_rule_tags,
                    None => return Err(V2Error::no_rule(rule_id)),
                },
            }
        }
    })
}

fn tags_mut<'s>(
    state: &'s mut State,
    resource: &Resource,
) -> Result<&'s mut BTreeMap<String, String>, V2Error> {
    Ok(match resource {
        Resource::LoadBalancer(key) => &mut load_balancer_mut(state, key)?.aws.tags,
        Resource::TargetGroup(key) => match &mut target_group_mut(state, key)?.target_group {
            Some(group) => &mut group.tags,
            None => return Err(V2Error::no_target_group(key)),
        },
        Resource::Listener(key, id) | Resource::Rule(key, id, _) => {
            let b = load_balancer_mut(state, key)?;
            let index = listener_index(b, id)?;
            let l = &mut b.listeners[index];
            match resource {
                Resource::Rule(_, _, rule_id) => {
                    if let Some(identity) = l
                        .rules
                        .iter_mut()
                        .find_map(|r| r.elbv2.as_mut().filter(|i| &i.id == rule_id))
                    {
                        &mut identity.tags
                    } else {
                        match l.elbv2.as_mut().filter(|v| &v.default_rule_id == rule_id) {
                            Some(v) => &mut v.default_rule_tags,
                            None => return Err(V2Error::no_rule(rule_id)),
                        }
                    }
                }
                _ => match l.elbv2.as_mut() {
                    Some(v) => &mut v.tags,
                    None => return Err(V2Error::no_listener(id)),
                },
            }
        }
    })
}

/// `AddTags`: every resource must exist; an existing key takes the new value.
pub fn add_tags(
    state: &mut State,
    resources: &[Resource],
    tags: &[(String, String)],
) -> Result<(), V2Error> {
    check_tags(tags)?;
    for resource in resources {
        let current = tags_of(state, resource)?;
        let count = current.len()
            + tags
                .iter()
                .filter(|(k, _)| !current.contains_key(k))
                .count();
        if count > MAX_TAGS {
            return Err(V2Error::new(
                ErrorCode::TooManyTags,
                format!("the resource would have {count} tags; at most {MAX_TAGS}"),
            ));
        }
    }
    for resource in resources {
        let target = tags_mut(state, resource)?;
        for (key, value) in tags {
            target.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

/// `RemoveTags`: keys that are not set are ignored.
pub fn remove_tags(
    state: &mut State,
    resources: &[Resource],
    keys: &[String],
) -> Result<(), V2Error> {
    for resource in resources {
        tags_of(state, resource)?;
    }
    for resource in resources {
        let target = tags_mut(state, resource)?;
        for key in keys {
            target.remove(key);
        }
    }
    Ok(())
}
