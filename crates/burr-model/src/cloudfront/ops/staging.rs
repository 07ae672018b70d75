//! Staging distributions: `CopyDistribution` (a new distribution with a primary's config) and
//! `UpdateDistributionWithStagingConfig` (the promote: the primary takes the staging config and
//! its policy is disabled).

use super::distribution::{check_caller_reference, distribution, new_identity};
use super::policy::disable_policy;
use super::{Fresh, check_if_match, precondition_failed, unquote};
use crate::State;
use crate::cloudfront::{CfError, CfErrorCode, Context, Distribution, Node};
use std::collections::BTreeMap;

/// `CopyDistribution`: a new distribution (a staging one when `staging`) with the primary's
/// config, `caller_reference`, `Enabled` as given (default true) and no policy. `if_match` is the
/// primary's ETag. Returns the new id.
pub fn copy_distribution(
    state: &mut State,
    primary_id: &str,
    if_match: Option<&str>,
    staging: bool,
    caller_reference: &str,
    enabled: Option<bool>,
    ctx: &Context,
) -> Result<String, CfError> {
    let primary = distribution(state, primary_id)?;
    check_if_match(if_match, &primary.etag, "primary distribution")?;
    if caller_reference.is_empty() {
        return Err(super::invalid(
            "CallerReference",
            "(missing)",
            "is required: a unique text that makes the request idempotent",
        ));
    }
    check_caller_reference(state, caller_reference)?;
    let mut config = primary.config.clone();
    let text = |t: &str| Node::Text(t.to_string());
    config.set("CallerReference", text(caller_reference));
    config.set(
        "Enabled",
        text(if enabled.unwrap_or(true) {
            "true"
        } else {
            "false"
        }),
    );
    config.set("Staging", text(if staging { "true" } else { "false" }));
    config.remove("ContinuousDeploymentPolicyId");
    let mut fresh = Fresh::new(ctx, caller_reference);
    let (id, address, domain_name) = new_identity(state, &mut fresh, ctx)?;
    let copy = Distribution {
        id: id.clone(),
        domain_name,
        address,
        ports: ctx.ports,
        etag: fresh.e_id(),
        last_modified_ms: ctx.now_ms,
        config,
        tags: BTreeMap::new(),
        origin: crate::Origin::Api,
    };
    crate::cloudfront::check_front_end(state, &copy)?;
    state.distributions.insert(id.clone(), copy);
    Ok(id)
}

/// `UpdateDistributionWithStagingConfig`: `if_match` is the raw header, `"<primary ETag>,
/// <staging ETag>"` in that order. The primary takes the staging config but keeps its own
/// `CallerReference`, `Aliases` and `ContinuousDeploymentPolicyId` and stays a primary; the
/// policy is disabled (sessions reset).
pub fn promote_staging(
    state: &mut State,
    primary_id: &str,
    staging_id: &str,
    if_match: Option<&str>,
    ctx: &Context,
) -> Result<(), CfError> {
    let primary = distribution(state, primary_id)?;
    let staging = distribution(state, staging_id)?;
    let header = if_match.unwrap_or("");
    let etags: Vec<&str> = header.split(',').map(unquote).collect();
    let [primary_etag, staging_etag] = etags[..] else {
        return Err(CfError::new(
            CfErrorCode::InvalidIfMatchVersion,
            format!(
                "The If-Match version {header:?} is missing or not valid: send \"<primary \
                 ETag>, <staging ETag>\""
            ),
        ));
    };
    if primary_etag.is_empty() || staging_etag.is_empty() {
        return Err(CfError::new(
            CfErrorCode::InvalidIfMatchVersion,
            format!(
                "The If-Match version {header:?} is missing or not valid: send \"<primary \
                 ETag>, <staging ETag>\""
            ),
        ));
    }
    if primary_etag != primary.etag {
        return Err(precondition_failed(primary_etag, "primary distribution"));
    }
    if staging_etag != staging.etag {
        return Err(precondition_failed(staging_etag, "staging distribution"));
    }
    let policy = primary
        .policy_id()
        .and_then(|id| state.deployment_policies.get(id));
    let Some(policy) = policy.filter(|p| p.names_staging(&staging.domain_name)) else {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "StagingDistributionId: {staging_id} is not the staging distribution of the \
                 continuous deployment policy attached to distribution {primary_id}"
            ),
        ));
    };
    let policy_id = policy.id.clone();
    let mut config = staging.config.clone();
    config.set(
        "CallerReference",
        Node::Text(primary.caller_reference().into()),
    );
    match primary.config.get("Aliases") {
        Some(aliases) => config.set("Aliases", aliases.clone()),
        None => {
            config.remove("Aliases");
        }
    }
    config.set(
        "ContinuousDeploymentPolicyId",
        Node::Text(policy_id.clone()),
    );
    config.set("Staging", Node::Text("false".into()));
    let mut next = primary.clone();
    next.config = config;
    crate::cloudfront::check_front_end(state, &next)?;
    next.etag = Fresh::new(ctx, &primary.etag).etag_other_than(&primary.etag);
    next.last_modified_ms = ctx.now_ms;
    state.distributions.insert(primary_id.to_string(), next);
    disable_policy(state, &policy_id, ctx);
    Ok(())
}
