//! Continuous-deployment policies: reading a `ContinuousDeploymentPolicyConfig` into a
//! [`DeploymentPolicy`] (every rule of aws_api.md §3.3), writing it back, and the five policy
//! operations.
//!
//! Idempotent create: CloudFront answers `ContinuousDeploymentPolicyAlreadyExists` 409 when a
//! create repeats a policy that exists. burr's rule: a create whose config is identical (same
//! staging names, `Enabled` and traffic) to an existing policy's is that repetition; one that
//! differs but names a staging distribution another policy already names is
//! `StagingDistributionInUse` 409.

use super::{Fresh, check_if_match, invalid};
use crate::State;
use crate::cloudfront::{
    CfError, CfErrorCode, Context, DeploymentPolicy, HEADER_PREFIX, MAX_POLICIES, Node,
    SESSION_TTL_SECS, SessionStickiness, TrafficConfig, WEIGHT_RANGE, Weight,
};
use std::collections::BTreeMap;

/// Longest `SingleHeaderConfig.Header` and `Value` (the CloudFormation schema's limits).
pub const MAX_HEADER_CHARS: usize = 256;
pub const MAX_HEADER_VALUE_CHARS: usize = 1783;

/// The members of a `ContinuousDeploymentPolicyConfig` burr acts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PolicyConfig {
    pub staging_dns_names: Vec<String>,
    pub enabled: bool,
    pub traffic: Option<TrafficConfig>,
}

/// Reads a `ContinuousDeploymentPolicyConfig`, checking the rules that need no other object.
pub(crate) fn read_policy_config(config: &Node) -> Result<PolicyConfig, CfError> {
    let names = config.get("StagingDistributionDnsNames").ok_or_else(|| {
        invalid(
            "StagingDistributionDnsNames",
            "(missing)",
            "is required: the DomainName of the staging distribution",
        )
    })?;
    let staging_dns_names: Vec<String> = names
        .items_at(&["Items"])
        .iter()
        .map(|item| {
            item.text()
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    invalid(
                        "StagingDistributionDnsNames.Items.DnsName",
                        "(empty)",
                        "must be a staging distribution's DomainName",
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    check_quantity_of(
        names,
        "StagingDistributionDnsNames",
        staging_dns_names.len(),
    )?;
    // The API documents "the CloudFront domain name of the staging distribution" (one); a
    // second name would have no meaning in burr's split. Unverified whether AWS refuses it.
    if staging_dns_names.len() != 1 {
        return Err(invalid(
            "StagingDistributionDnsNames.Quantity",
            staging_dns_names.len(),
            "must be 1: a policy names exactly one staging distribution",
        ));
    }
    let enabled = boolean(config, "Enabled")?
        .ok_or_else(|| invalid("Enabled", "(missing)", "is required: true or false"))?;
    let traffic = match config.get("TrafficConfig") {
        None => None,
        Some(traffic) => Some(read_traffic(traffic)?),
    };
    Ok(PolicyConfig {
        staging_dns_names,
        enabled,
        traffic,
    })
}

/// `Quantity` of a list wrapper against the number of items.
pub(crate) fn check_quantity_of(wrapper: &Node, member: &str, items: usize) -> Result<(), CfError> {
    let quantity = wrapper.text_at(&["Quantity"]).unwrap_or("");
    match quantity.parse::<usize>() {
        Ok(q) if q == items => Ok(()),
        Ok(q) => Err(CfError::new(
            CfErrorCode::InconsistentQuantities,
            format!("{member}.Quantity: {q} does not match the {items} items given"),
        )),
        Err(_) => Err(invalid(
            &format!("{member}.Quantity"),
            format!("{quantity:?}"),
            "must be a whole number, the number of Items",
        )),
    }
}

/// A boolean member: `true` or `false`, or absent.
pub(crate) fn boolean(node: &Node, member: &str) -> Result<Option<bool>, CfError> {
    match node.get(member) {
        None => Ok(None),
        Some(value) => match value.text() {
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            other => Err(invalid(
                member,
                format!("{:?}", other.unwrap_or("(not text)")),
                "must be true or false",
            )),
        },
    }
}

fn read_traffic(traffic: &Node) -> Result<TrafficConfig, CfError> {
    let kind = traffic.text_at(&["Type"]).unwrap_or("");
    let weight = traffic.get("SingleWeightConfig");
    let header = traffic.get("SingleHeaderConfig");
    match (kind, weight, header) {
        ("SingleWeight", Some(config), None) => read_single_weight(config),
        ("SingleHeader", None, Some(config)) => read_single_header(config),
        ("SingleWeight" | "SingleHeader", _, _) => Err(invalid(
            "TrafficConfig.Type",
            kind,
            &format!(
                "a {kind} policy needs {kind}Config and no other traffic config (remove the \
                 settings of the other type)"
            ),
        )),
        _ => Err(invalid(
            "TrafficConfig.Type",
            format!("{kind:?}"),
            "must be SingleWeight or SingleHeader",
        )),
    }
}

fn read_single_weight(config: &Node) -> Result<TrafficConfig, CfError> {
    const MEMBER: &str = "TrafficConfig.SingleWeightConfig.Weight";
    let text = config.text_at(&["Weight"]).unwrap_or("");
    let (lo, hi) = WEIGHT_RANGE;
    let weight: f64 = text
        .trim()
        .parse()
        .map_err(|_| invalid(MEMBER, format!("{text:?}"), "must be a decimal number"))?;
    if !weight.is_finite() || !(lo..=hi).contains(&weight) {
        return Err(invalid(
            MEMBER,
            text,
            &format!("must be a decimal number between {lo} and {hi}"),
        ));
    }
    let session_stickiness = match config.get("SessionStickinessConfig") {
        None => None,
        Some(sticky) => {
            let ttl = |member: &str| -> Result<u32, CfError> {
                let path =
                    format!("TrafficConfig.SingleWeightConfig.SessionStickinessConfig.{member}");
                let text = sticky.text_at(&[member]).unwrap_or("");
                let (lo, hi) = SESSION_TTL_SECS;
                text.parse::<u32>()
                    .ok()
                    .filter(|v| (lo..=hi).contains(v))
                    .ok_or_else(|| {
                        invalid(
                            &path,
                            format!("{text:?}"),
                            &format!("must be between {lo} and {hi} seconds"),
                        )
                    })
            };
            let idle = ttl("IdleTTL")?;
            let maximum = ttl("MaximumTTL")?;
            if idle > maximum {
                return Err(invalid(
                    "TrafficConfig.SingleWeightConfig.SessionStickinessConfig.IdleTTL",
                    idle,
                    &format!("must be less than or equal to MaximumTTL ({maximum})"),
                ));
            }
            Some(SessionStickiness {
                idle_ttl_secs: idle,
                maximum_ttl_secs: maximum,
            })
        }
    };
    Ok(TrafficConfig::SingleWeight {
        weight: Weight(weight),
        session_stickiness,
    })
}

fn read_single_header(config: &Node) -> Result<TrafficConfig, CfError> {
    let header = config.text_at(&["Header"]).unwrap_or("").to_string();
    let value = config.text_at(&["Value"]).unwrap_or("").to_string();
    check_header(&header, &value)?;
    Ok(TrafficConfig::SingleHeader { header, value })
}

/// The rules on a `SingleHeaderConfig`'s header name and value.
pub(crate) fn check_header(header: &str, value: &str) -> Result<(), CfError> {
    const HEADER: &str = "TrafficConfig.SingleHeaderConfig.Header";
    if !header.to_ascii_lowercase().starts_with(HEADER_PREFIX) {
        return Err(invalid(
            HEADER,
            format!("{header:?}"),
            &format!("must start with {HEADER_PREFIX:?}"),
        ));
    }
    let valid_name = header
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if header.len() > MAX_HEADER_CHARS || !valid_name {
        return Err(invalid(
            HEADER,
            format!("{header:?}"),
            &format!(
                "must be 1 to {MAX_HEADER_CHARS} characters of an HTTP header name (letters, \
                 digits, and !#$%&'*+-.^_`|~)"
            ),
        ));
    }
    let printable = value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
    if value.is_empty() || value.chars().count() > MAX_HEADER_VALUE_CHARS || !printable {
        return Err(invalid(
            "TrafficConfig.SingleHeaderConfig.Value",
            format!("{value:?}"),
            &format!("must be 1 to {MAX_HEADER_VALUE_CHARS} printable ASCII characters"),
        ));
    }
    Ok(())
}

/// The rules between a policy (`id`, absent for a new one) and the other objects: each staging
/// name is a staging distribution's `DomainName`, named by no other policy.
pub(crate) fn check_staging_names(
    state: &State,
    id: Option<&str>,
    names: &[String],
) -> Result<(), CfError> {
    for name in names {
        // AWS's exact answer for a name that is no staging distribution is unverified;
        // InvalidArgument is the only validation error the model lists for Create/Update.
        let staging = state
            .distributions
            .values()
            .find(|d| d.domain_name.eq_ignore_ascii_case(name));
        match staging {
            None => {
                return Err(invalid(
                    "StagingDistributionDnsNames.Items.DnsName",
                    format!("{name:?}"),
                    "must be the DomainName of a staging distribution (make one with \
                     CopyDistribution and Staging: true)",
                ));
            }
            Some(d) if !d.is_staging() => {
                return Err(invalid(
                    "StagingDistributionDnsNames.Items.DnsName",
                    format!("{name:?}"),
                    &format!(
                        "is the DomainName of distribution {}, which is not a staging \
                         distribution (Staging is false)",
                        d.id
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some(other) = state
            .deployment_policies
            .values()
            .find(|p| Some(p.id.as_str()) != id && p.names_staging(name))
        {
            return Err(CfError::new(
                CfErrorCode::StagingDistributionInUse,
                format!(
                    "StagingDistributionDnsNames: the staging distribution {name:?} is already \
                     named by continuous-deployment policy {}",
                    other.id
                ),
            ));
        }
    }
    Ok(())
}

fn no_such_policy(id: &str) -> CfError {
    CfError::new(
        CfErrorCode::NoSuchContinuousDeploymentPolicy,
        format!("The continuous deployment policy {id:?} does not exist"),
    )
}

/// `CreateContinuousDeploymentPolicy`: returns the new policy's id.
pub fn create_policy(state: &mut State, config: &Node, ctx: &Context) -> Result<String, CfError> {
    crate::cloudfront::schema_check("ContinuousDeploymentPolicyConfig", config)?;
    let read = read_policy_config(config)?;
    if let Some(same) = state.deployment_policies.values().find(|p| {
        p.staging_dns_names == read.staging_dns_names
            && p.enabled == read.enabled
            && p.traffic == read.traffic
    }) {
        return Err(CfError::new(
            CfErrorCode::ContinuousDeploymentPolicyAlreadyExists,
            format!(
                "A continuous deployment policy with this configuration already exists: {}",
                same.id
            ),
        ));
    }
    if state.deployment_policies.len() >= MAX_POLICIES {
        return Err(CfError::new(
            CfErrorCode::TooManyContinuousDeploymentPolicies,
            format!(
                "There are already {} continuous deployment policies; at most {MAX_POLICIES} \
                 are allowed",
                state.deployment_policies.len()
            ),
        ));
    }
    check_staging_names(state, None, &read.staging_dns_names)?;
    let mut fresh = Fresh::new(ctx, "policy");
    let id = loop {
        let id = fresh.uuid();
        if !state.deployment_policies.contains_key(&id) {
            break id;
        }
    };
    let policy = DeploymentPolicy {
        id: id.clone(),
        etag: fresh.e_id(),
        last_modified_ms: ctx.now_ms,
        staging_dns_names: read.staging_dns_names,
        enabled: read.enabled,
        traffic: read.traffic,
        generation: 0,
        arm_header: None,
        forward_routing_header: false,
        origin: crate::Origin::Api,
    };
    state.deployment_policies.insert(id.clone(), policy);
    Ok(id)
}

/// `GetContinuousDeploymentPolicy` (and `...Config`).
pub fn policy<'s>(state: &'s State, id: &str) -> Result<&'s DeploymentPolicy, CfError> {
    state
        .deployment_policies
        .get(id)
        .ok_or_else(|| no_such_policy(id))
}

/// `UpdateContinuousDeploymentPolicy`: full replacement of the config.
pub fn update_policy(
    state: &mut State,
    id: &str,
    if_match: Option<&str>,
    config: &Node,
    ctx: &Context,
) -> Result<(), CfError> {
    let old = policy(state, id)?;
    check_if_match(if_match, &old.etag, "continuous deployment policy")?;
    crate::cloudfront::schema_check("ContinuousDeploymentPolicyConfig", config)?;
    let read = read_policy_config(config)?;
    check_staging_names(state, Some(id), &read.staging_dns_names)?;
    let mut fresh = Fresh::new(ctx, &old.etag);
    let etag = fresh.etag_other_than(&old.etag);
    let policy = state
        .deployment_policies
        .get_mut(id)
        .expect("checked above");
    let resets = resets_sessions(policy, read.enabled, &read.traffic, &read.staging_dns_names);
    if resets {
        policy.generation = policy.generation.wrapping_add(1);
    }
    policy.staging_dns_names = read.staging_dns_names;
    policy.enabled = read.enabled;
    policy.traffic = read.traffic;
    policy.etag = etag;
    policy.last_modified_ms = ctx.now_ms;
    Ok(())
}

/// Whether a policy changed so that every session must end (its `generation` bumps): AWS
/// resets them when the policy is enabled or disabled and when stickiness is turned on or off;
/// burr also when the staging distribution changes (a session's arm would mean another one).
pub fn resets_sessions(
    old: &DeploymentPolicy,
    enabled: bool,
    traffic: &Option<TrafficConfig>,
    staging_dns_names: &[String],
) -> bool {
    old.enabled != enabled
        || sticky(&old.traffic) != sticky(traffic)
        || old.staging_dns_names != staging_dns_names
}

/// Whether the traffic config keeps viewers on one arm with a cookie.
fn sticky(traffic: &Option<TrafficConfig>) -> bool {
    matches!(
        traffic,
        Some(TrafficConfig::SingleWeight {
            session_stickiness: Some(_),
            ..
        })
    )
}

/// Disables `id` (the promote does this): a new ETag and a generation bump when it was on.
pub(crate) fn disable_policy(state: &mut State, id: &str, ctx: &Context) {
    if let Some(policy) = state.deployment_policies.get_mut(id) {
        if policy.enabled {
            policy.generation = policy.generation.wrapping_add(1);
        }
        policy.enabled = false;
        policy.etag = Fresh::new(ctx, &policy.etag).etag_other_than(&policy.etag);
        policy.last_modified_ms = ctx.now_ms;
    }
}

/// `DeleteContinuousDeploymentPolicy`.
pub fn delete_policy(state: &mut State, id: &str, if_match: Option<&str>) -> Result<(), CfError> {
    let old = policy(state, id)?;
    check_if_match(if_match, &old.etag, "continuous deployment policy")?;
    if let Some(primary) = state
        .distributions
        .values()
        .find(|d| d.policy_id() == Some(id))
    {
        return Err(CfError::new(
            CfErrorCode::ContinuousDeploymentPolicyInUse,
            format!(
                "The continuous deployment policy {id} is attached to distribution {}; remove \
                 its ContinuousDeploymentPolicyId first",
                primary.id
            ),
        ));
    }
    state.deployment_policies.remove(id);
    Ok(())
}

/// `ListContinuousDeploymentPolicies`: by id, starting after `marker` (the `NextMarker` of the
/// previous page, the last id it held); `NextMarker` is given when more remain. `max_items` is
/// the request's `MaxItems`, whose form and range the front door checks (the model gives none).
pub fn list_policies<'s>(
    state: &'s State,
    marker: Option<&str>,
    max_items: usize,
) -> (Vec<&'s DeploymentPolicy>, Option<String>) {
    page(&state.deployment_policies, marker, max_items, |p| &p.id)
}

/// One page of `map` after `marker`, and the marker of the next page.
pub(crate) fn page<'s, T>(
    map: &'s BTreeMap<String, T>,
    marker: Option<&str>,
    max_items: usize,
    id: impl Fn(&T) -> &String,
) -> (Vec<&'s T>, Option<String>) {
    let mut rest = map
        .iter()
        .filter(|(key, _)| marker.is_none_or(|m| m.is_empty() || key.as_str() > m))
        .map(|(_, value)| value);
    let items: Vec<&T> = rest.by_ref().take(max_items).collect();
    let next = if rest.next().is_some() {
        items.last().map(|last| id(last).clone())
    } else {
        None
    };
    (items, next)
}

impl DeploymentPolicy {
    /// Whether the policy names `domain_name` as its staging distribution (domain names are
    /// case-insensitive).
    pub fn names_staging(&self, domain_name: &str) -> bool {
        self.staging_dns_names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(domain_name))
    }

    /// The `ContinuousDeploymentPolicyConfig` as a [`Node`].
    pub fn config_node(&self) -> Node {
        let text = |t: String| Node::Text(t);
        let mut names = Node::structure();
        names.set("Quantity", text(self.staging_dns_names.len().to_string()));
        names.set(
            "Items",
            Node::List(self.staging_dns_names.iter().cloned().map(text).collect()),
        );
        let mut config = Node::structure();
        config.set("StagingDistributionDnsNames", names);
        config.set("Enabled", text(self.enabled.to_string()));
        if let Some(traffic) = &self.traffic {
            let mut node = Node::structure();
            match traffic {
                TrafficConfig::SingleWeight {
                    weight,
                    session_stickiness,
                } => {
                    node.set("Type", text("SingleWeight".into()));
                    let mut single = Node::structure();
                    single.set("Weight", text(weight.to_string()));
                    if let Some(s) = session_stickiness {
                        let mut sticky = Node::structure();
                        sticky.set("IdleTTL", text(s.idle_ttl_secs.to_string()));
                        sticky.set("MaximumTTL", text(s.maximum_ttl_secs.to_string()));
                        single.set("SessionStickinessConfig", sticky);
                    }
                    node.set("SingleWeightConfig", single);
                }
                TrafficConfig::SingleHeader { header, value } => {
                    node.set("Type", text("SingleHeader".into()));
                    let mut single = Node::structure();
                    single.set("Header", text(header.clone()));
                    single.set("Value", text(value.clone()));
                    node.set("SingleHeaderConfig", single);
                }
            }
            config.set("TrafficConfig", node);
        }
        config
    }
}
