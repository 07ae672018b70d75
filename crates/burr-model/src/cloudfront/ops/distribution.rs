//! Distributions: create (with tags), get, update (full replacement), delete and list, with
//! CloudFront's rules on `CallerReference`, `Staging`, `ContinuousDeploymentPolicyId`, `Enabled`
//! and ETags. Whether burr can serve a config (origins, behaviours, viewer certificate) is
//! checked by building its front end ([`crate::cloudfront::check_front_end`]) before anything
//! is stored.

use super::policy::boolean;
use super::tags::check_tags;
use super::{Fresh, check_if_match, invalid};
use crate::State;
use crate::cloudfront::{CfError, CfErrorCode, Context, Distribution, Node};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The members of a `DistributionConfig` the operations themselves check.
pub(crate) fn read_identity(config: &Node) -> Result<(String, bool), CfError> {
    let caller_reference = config.text_at(&["CallerReference"]).unwrap_or("");
    if caller_reference.is_empty() {
        return Err(invalid(
            "CallerReference",
            "(missing)",
            "is required: a unique text that makes the request idempotent",
        ));
    }
    if boolean(config, "Enabled")?.is_none() {
        return Err(invalid(
            "Enabled",
            "(missing)",
            "is required: true or false",
        ));
    }
    let staging = boolean(config, "Staging")?.unwrap_or(false);
    Ok((caller_reference.to_string(), staging))
}

pub(crate) fn no_such_distribution(id: &str) -> CfError {
    CfError::new(
        CfErrorCode::NoSuchDistribution,
        format!("The specified distribution {id:?} does not exist."),
    )
}

pub(crate) fn check_caller_reference(state: &State, caller_reference: &str) -> Result<(), CfError> {
    if let Some(existing) = state
        .distributions
        .values()
        .find(|d| d.caller_reference() == caller_reference)
    {
        return Err(CfError::new(
            CfErrorCode::DistributionAlreadyExists,
            format!(
                "The caller reference {caller_reference:?} is already used by distribution {}; \
                 use a new CallerReference",
                existing.id
            ),
        ));
    }
    Ok(())
}

/// A new distribution's id, address and domain name. `Err` when the address pool is used up.
pub(crate) fn new_identity(
    state: &State,
    fresh: &mut Fresh,
    ctx: &Context,
) -> Result<(String, Option<IpAddr>, String), CfError> {
    let id = loop {
        let id = fresh.e_id();
        if !state.distributions.contains_key(&id) {
            break id;
        }
    };
    let address = ctx
        .address_pool
        .allocate(state, ctx.listen_host)
        .map_err(|why| CfError::new(CfErrorCode::TooManyDistributions, why))?;
    let domain_name = match address {
        Some(address) => address.to_string(),
        // Every front end binds --listen-host: the data plane tells them apart by Host name.
        None => format!("{}.cloudfront.localhost", id.to_ascii_lowercase()),
    };
    Ok((id, address, domain_name))
}

/// `CreateDistribution` and `CreateDistributionWithTags`: returns the new id.
pub fn create_distribution(
    state: &mut State,
    config: &Node,
    tags: BTreeMap<String, String>,
    ctx: &Context,
) -> Result<String, CfError> {
    crate::cloudfront::schema_check("DistributionConfig", config)?;
    let (caller_reference, _) = read_identity(config)?;
    check_caller_reference(state, &caller_reference)?;
    // Terraform's documentation says a policy "cannot be associated to distribution on
    // creation"; AWS's code for trying is unverified: burr answers IllegalUpdate.
    if let Some(policy) = config
        .text_at(&["ContinuousDeploymentPolicyId"])
        .filter(|p| !p.is_empty())
    {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "ContinuousDeploymentPolicyId: {policy:?} is not allowed: a continuous \
                 deployment policy cannot be associated on creation; create the distribution, \
                 then update it with the policy id"
            ),
        ));
    }
    check_tags(&tags)?;
    let mut fresh = Fresh::new(ctx, &caller_reference);
    let (id, address, domain_name) = new_identity(state, &mut fresh, ctx)?;
    let distribution = Distribution {
        id: id.clone(),
        domain_name,
        address,
        ports: ctx.ports,
        etag: fresh.e_id(),
        last_modified_ms: ctx.now_ms,
        config: config.clone(),
        tags,
        origin: crate::Origin::Api,
    };
    crate::cloudfront::check_front_end(state, &distribution)?;
    state.distributions.insert(id.clone(), distribution);
    Ok(id)
}

/// `GetDistribution` (and `GetDistributionConfig`).
pub fn distribution<'s>(state: &'s State, id: &str) -> Result<&'s Distribution, CfError> {
    state
        .distributions
        .get(id)
        .ok_or_else(|| no_such_distribution(id))
}

/// `UpdateDistribution`: full replacement of the config.
pub fn update_distribution(
    state: &mut State,
    id: &str,
    if_match: Option<&str>,
    config: &Node,
    ctx: &Context,
) -> Result<(), CfError> {
    let old = distribution(state, id)?;
    check_if_match(if_match, &old.etag, "distribution")?;
    crate::cloudfront::schema_check("DistributionConfig", config)?;
    let (caller_reference, staging) = read_identity(config)?;
    if caller_reference != old.caller_reference() {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "CallerReference: {caller_reference:?} is not allowed: it cannot change (it is \
                 {:?})",
                old.caller_reference()
            ),
        ));
    }
    if staging != old.is_staging() {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "Staging: {staging} is not allowed: whether a distribution is a staging one \
                 cannot change (it is {})",
                old.is_staging()
            ),
        ));
    }
    let mut next = old.clone();
    next.config = config.clone();
    check_policy_attachment(state, &next)?;
    crate::cloudfront::check_front_end(state, &next)?;
    next.etag = Fresh::new(ctx, &old.etag).etag_other_than(&old.etag);
    next.last_modified_ms = ctx.now_ms;
    state.distributions.insert(id.to_string(), next);
    Ok(())
}

/// The rules on a distribution's `ContinuousDeploymentPolicyId`: the policy exists, the
/// distribution is a primary, no other primary names the policy, and no HTTP/3.
pub(crate) fn check_policy_attachment(state: &State, dist: &Distribution) -> Result<(), CfError> {
    let Some(policy_id) = dist.policy_id() else {
        return Ok(());
    };
    if !state.deployment_policies.contains_key(policy_id) {
        return Err(CfError::new(
            CfErrorCode::NoSuchContinuousDeploymentPolicy,
            format!(
                "ContinuousDeploymentPolicyId: the continuous deployment policy {policy_id:?} \
                 does not exist"
            ),
        ));
    }
    if dist.is_staging() {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "ContinuousDeploymentPolicyId: {policy_id:?} is not allowed on a staging \
                 distribution; attach the policy to the primary"
            ),
        ));
    }
    if let Some(other) = state
        .distributions
        .values()
        .find(|d| d.id != dist.id && d.policy_id() == Some(policy_id))
    {
        return Err(CfError::new(
            CfErrorCode::ContinuousDeploymentPolicyInUse,
            format!(
                "ContinuousDeploymentPolicyId: the continuous deployment policy {policy_id} is \
                 already attached to distribution {}",
                other.id
            ),
        ));
    }
    if let Some(version) = dist
        .config
        .text_at(&["HttpVersion"])
        .filter(|v| matches!(*v, "http3" | "http2and3"))
    {
        return Err(CfError::new(
            CfErrorCode::IllegalUpdate,
            format!(
                "HttpVersion: {version:?} is not allowed with a continuous deployment policy: \
                 continuous deployment does not support HTTP/3 (use http1.1 or http2)"
            ),
        ));
    }
    Ok(())
}

/// `DeleteDistribution`: only a disabled distribution that no policy names as its staging one.
pub fn delete_distribution(
    state: &mut State,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), CfError> {
    let old = distribution(state, id)?;
    check_if_match(if_match, &old.etag, "distribution")?;
    if old.enabled() {
        return Err(CfError::new(
            CfErrorCode::DistributionNotDisabled,
            format!(
                "The distribution {id} is enabled; update it with Enabled false before deleting it"
            ),
        ));
    }
    if let Some(policy) = state
        .deployment_policies
        .values()
        .find(|p| p.names_staging(&old.domain_name))
    {
        return Err(CfError::new(
            CfErrorCode::ResourceInUse,
            format!(
                "The staging distribution {id} is named by continuous deployment policy {}; \
                 delete the policy first",
                policy.id
            ),
        ));
    }
    state.distributions.remove(id);
    Ok(())
}

/// `ListDistributions`: by id, starting after `marker` (the previous page's `NextMarker`, the
/// id of its last distribution, as the model documents).
pub fn list_distributions<'s>(
    state: &'s State,
    marker: Option<&str>,
    max_items: usize,
) -> (Vec<&'s Distribution>, Option<String>) {
    super::policy::page(&state.distributions, marker, max_items, |d| &d.id)
}
