//! The CloudFront part of [`State::validate`](crate::State::validate): every distribution and
//! policy obeys the rules the operations enforce, so one declared in a file (or loaded from an
//! older store) is held to the same rules as one made through the API. The front ends'
//! balancers and pools are checked by `State::validate` itself, with every other balancer.

use super::ops::{check_policy_attachment, check_staging_names, is_e_id, read_identity};
use super::{CfError, check_front_end, read_policy_config, viewer_certificate};
use crate::State;
use crate::error::{Errors, FieldPath, PathSegment};
use std::collections::BTreeMap;

/// A refused object as a validation error: an operation's message `Member: value is not
/// allowed: rule` is split so the value and rule read as every other validation error's, the
/// CloudFront member and code kept in the rule.
fn push(errors: &mut Errors, path: FieldPath, error: CfError) {
    let code = error.code.as_str();
    let parts = error.message.split_once(": ").and_then(|(member, rest)| {
        let (value, rule) = rest.split_once(" is not allowed: ")?;
        Some((member, value, rule))
    });
    match parts {
        Some((member, value, rule)) => {
            errors.push(path, value, format!("{rule} ({member}, {code})"))
        }
        None => errors.push(path, code, error.message.clone()),
    }
}

pub(crate) fn validate_into(state: &State, errors: &mut Errors) {
    let mut caller_references: BTreeMap<&str, &str> = BTreeMap::new();
    let mut domain_names: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, dist) in &state.distributions {
        let path = FieldPath::root().with(PathSegment::Distribution(key.clone()));
        if *key != dist.id || !is_e_id(&dist.id) {
            errors.push(
                path.field("id"),
                format!("{:?}", dist.id),
                "must be E and 12 to 14 upper-case letters and digits (and the key it is stored under)",
            );
        }
        if let Some(other) = domain_names.insert(&dist.domain_name, &dist.id) {
            errors.push(
                path.field("domain_name"),
                format!("{:?}", dist.domain_name),
                format!("is already the domain name of distribution {other}"),
            );
        }
        let config = path.field("config");
        if let Err(e) = crate::cloudfront::schema_check("DistributionConfig", &dist.config)
            .and_then(|()| read_identity(&dist.config))
        {
            push(errors, config, e);
            continue;
        }
        if let Some(other) = caller_references.insert(dist.caller_reference(), &dist.id) {
            errors.push(
                config.field("CallerReference"),
                format!("{:?}", dist.caller_reference()),
                format!("is already the CallerReference of distribution {other}"),
            );
        }
        if let Err(e) = check_policy_attachment(state, dist) {
            push(errors, config.field("ContinuousDeploymentPolicyId"), e);
        }
        match viewer_certificate(state, dist) {
            // A certificate lives in the store, not in a file: the rule starts as the listener
            // one does, so the file check can leave it to the running state.
            Err(e) => errors.push(
                config.field("ViewerCertificate"),
                e.code.as_str(),
                format!("names no certificate burr may use: {}", e.message),
            ),
            Ok(_) => {
                if let Err(e) = check_front_end(state, dist) {
                    push(errors, config, e);
                }
            }
        }
    }
    for (key, policy) in &state.deployment_policies {
        let path = FieldPath::root().with(PathSegment::DeploymentPolicy(key.clone()));
        if *key != policy.id || policy.id.is_empty() {
            errors.push(
                path.field("id"),
                format!("{:?}", policy.id),
                "must not be empty (and must be the key it is stored under)",
            );
        }
        // The config as the API would write it back must read as a valid one: the ranges of
        // weight, TTLs and header are those of Create and Update.
        if let Err(e) = read_policy_config(&policy.config_node()) {
            push(errors, path.field("traffic"), e);
        }
        if let Err(e) = check_staging_names(state, Some(key), &policy.staging_dns_names) {
            push(errors, path.field("staging_dns_names"), e);
        }
        if let Some(header) = &policy.arm_header {
            let ok = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !ok {
                errors.push(
                    path.field("arm_header"),
                    format!("{header:?}"),
                    "must be an HTTP header name (letters, digits, and !#$%&'*+-.^_`|~)",
                );
            }
        }
    }
}
