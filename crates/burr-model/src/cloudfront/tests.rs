//! Tests of the CloudFront operations and front ends: helpers shared by the test modules, and
//! the continuous-deployment policy operations (`distribution_tests.rs` has the distribution
//! ones, `front_end_tests.rs` the front ends).

use super::*;
use crate::State;
use crate::classic::AddressPool;
use serde_json::json;
use std::cell::Cell;
use std::collections::BTreeMap;

pub(super) fn node(value: serde_json::Value) -> Node {
    serde_json::from_value(value).unwrap()
}

/// A clock and a source of fresh numbers for the operations' [`Context`].
pub(super) struct Env {
    pub pool: AddressPool,
    pub listen_host: Option<std::net::IpAddr>,
    pub now: Cell<u64>,
    fresh: Cell<u64>,
}

impl Env {
    pub fn new() -> Self {
        Self {
            pool: "127.0.1.0/24".parse().unwrap(),
            listen_host: None,
            now: Cell::new(1_700_000_000_000),
            fresh: Cell::new(7),
        }
    }

    /// A context with a new `fresh` number, a millisecond later than the last.
    pub fn ctx(&self) -> Context<'_> {
        self.fresh.set(self.fresh.get() + 1);
        self.now.set(self.now.get() + 1);
        Context {
            listen_host: self.listen_host,
            address_pool: &self.pool,
            ports: FrontEndPorts {
                http: 18080,
                https: 18443,
            },
            now_ms: self.now.get(),
            fresh: self.fresh.get(),
        }
    }
}

/// A `DistributionConfig` with one http-only origin on 127.0.0.1:9001.
pub(super) fn dist_config(caller_reference: &str) -> Node {
    node(json!({
        "CallerReference": caller_reference,
        "Enabled": true,
        "Comment": "",
        "Origins": { "Quantity": 1, "Items": [ { "Id": "web", "DomainName": "127.0.0.1",
            "CustomOriginConfig": { "HTTPPort": 9001, "HTTPSPort": 443,
                "OriginProtocolPolicy": "http-only" } } ] },
        "DefaultCacheBehavior": { "TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all" },
    }))
}

/// A state with a primary and a staging copy of it; returns (state, primary id, staging id).
pub(super) fn primary_and_staging(env: &Env) -> (State, String, String) {
    let mut state = State::default();
    let primary =
        create_distribution(&mut state, &dist_config("p"), BTreeMap::new(), &env.ctx()).unwrap();
    let etag = state.distributions[&primary].etag.clone();
    let staging = copy_distribution(
        &mut state,
        &primary,
        Some(&etag),
        true,
        "s",
        None,
        &env.ctx(),
    )
    .unwrap();
    (state, primary, staging)
}

/// A policy config naming `staging` with a weight and optional stickiness.
pub(super) fn weight_policy(staging: &str, weight: serde_json::Value, sticky: bool) -> Node {
    let mut single = json!({ "Weight": weight });
    if sticky {
        single["SessionStickinessConfig"] = json!({ "IdleTTL": 300, "MaximumTTL": 600 });
    }
    node(json!({
        "StagingDistributionDnsNames": { "Quantity": 1, "Items": [staging] },
        "Enabled": true,
        "TrafficConfig": { "Type": "SingleWeight", "SingleWeightConfig": single },
    }))
}

fn header_policy(staging: &str, header: &str, value: &str) -> Node {
    node(json!({
        "StagingDistributionDnsNames": { "Quantity": 1, "Items": [staging] },
        "Enabled": true,
        "TrafficConfig": { "Type": "SingleHeader",
            "SingleHeaderConfig": { "Header": header, "Value": value } },
    }))
}

/// A state with a primary, its staging copy and a policy naming the staging one (not yet
/// attached); returns (state, primary, staging, policy id).
pub(super) fn with_policy(env: &Env) -> (State, String, String, String) {
    let (mut state, primary, staging) = primary_and_staging(env);
    let name = state.distributions[&staging].domain_name.clone();
    let id = create_policy(
        &mut state,
        &weight_policy(&name, json!(0.1), true),
        &env.ctx(),
    )
    .unwrap();
    (state, primary, staging, id)
}

fn code(result: Result<impl std::fmt::Debug, CfError>) -> (CfErrorCode, String) {
    let e = result.unwrap_err();
    (e.code, e.message)
}

#[test]
fn create_makes_a_uuid_an_etag_and_writes_the_config_back() {
    let env = Env::new();
    let (mut state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let config = weight_policy(&name, json!(0.1), true);
    let ctx = env.ctx();
    let id = create_policy(&mut state, &config, &ctx).unwrap();
    let p = policy(&state, &id).unwrap();
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'), "version 4: {id}");
    assert!("89ab".contains(&parts[3][..1]), "RFC 4122 variant: {id}");
    assert!(ops::is_e_id(&p.etag) && p.etag.len() == 14, "{}", p.etag);
    assert_eq!(p.last_modified_ms, ctx.now_ms);
    assert_eq!(p.generation, 0);
    assert_eq!(p.origin, crate::Origin::Api);
    assert_eq!(p.config_node(), config);
    assert_eq!(
        p.config_node()
            .text_at(&["TrafficConfig", "SingleWeightConfig", "Weight"]),
        Some("0.1")
    );
    let h = header_policy("x", "aws-cf-cd-canary", "yes");
    let mut state2 = state.clone();
    state2.distributions.get_mut(&staging).unwrap().domain_name = "x".into();
    state2.deployment_policies.clear();
    let id2 = create_policy(&mut state2, &h, &env.ctx()).unwrap();
    assert_eq!(state2.deployment_policies[&id2].config_node(), h);
}

#[test]
fn weight_must_be_a_decimal_between_0_and_0_15() {
    let env = Env::new();
    let (state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    for ok in [json!(0), json!(0.15), json!("0.05")] {
        let mut s = state.clone();
        create_policy(&mut s, &weight_policy(&name, ok.clone(), false), &env.ctx())
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        json!(0.16),
        json!(-0.01),
        json!("NaN"),
        json!("abc"),
        json!("inf"),
    ] {
        let mut s = state.clone();
        let (c, m) = code(create_policy(
            &mut s,
            &weight_policy(&name, bad.clone(), false),
            &env.ctx(),
        ));
        assert_eq!(c, CfErrorCode::InvalidArgument, "{bad}");
        assert!(
            m.contains("TrafficConfig.SingleWeightConfig.Weight: "),
            "{m}"
        );
        assert!(m.contains("decimal number"), "{m}");
        assert_eq!(s, state, "a refused call changes nothing");
    }
}

#[test]
fn ttls_are_300_to_3600_and_idle_at_most_maximum() {
    let env = Env::new();
    let (state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let with = |idle: u32, max: u32| {
        let mut c = weight_policy(&name, json!(0.1), true);
        let path = [
            "TrafficConfig",
            "SingleWeightConfig",
            "SessionStickinessConfig",
        ];
        let mut sticky = c.at(&path).unwrap().clone();
        sticky.set("IdleTTL", Node::Text(idle.to_string()));
        sticky.set("MaximumTTL", Node::Text(max.to_string()));
        let mut single = c.at(&path[..2]).unwrap().clone();
        single.set("SessionStickinessConfig", sticky);
        let mut traffic = c.get("TrafficConfig").unwrap().clone();
        traffic.set("SingleWeightConfig", single);
        c.set("TrafficConfig", traffic);
        let mut s = state.clone();
        create_policy(&mut s, &c, &env.ctx()).map(|_| ())
    };
    assert_eq!(with(300, 3600), Ok(()));
    assert_eq!(with(600, 600), Ok(()));
    for (idle, max, member, rule) in [
        (299, 600, "IdleTTL", "between 300 and 3600 seconds"),
        (300, 3601, "MaximumTTL", "between 300 and 3600 seconds"),
        (
            900,
            600,
            "IdleTTL",
            "less than or equal to MaximumTTL (600)",
        ),
    ] {
        let e = with(idle, max).unwrap_err();
        assert_eq!(e.code, CfErrorCode::InvalidArgument);
        assert!(
            e.message.contains(member) && e.message.contains(rule),
            "{e}"
        );
    }
}

#[test]
fn header_needs_the_prefix_and_value_1_to_1783_characters() {
    let env = Env::new();
    let (state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let try_ = |h: &str, v: &str| {
        let mut s = state.clone();
        create_policy(&mut s, &header_policy(&name, h, v), &env.ctx()).map(|_| ())
    };
    assert_eq!(try_("aws-cf-cd-canary", "yes"), Ok(()));
    assert_eq!(try_("aws-cf-cd-x", &"v".repeat(1783)), Ok(()));
    let long = format!("aws-cf-cd-{}", "h".repeat(247));
    for (h, v, why) in [
        ("x-canary", "yes", "must start with \"aws-cf-cd-\""),
        (long.as_str(), "yes", "1 to 256"),
        ("aws-cf-cd-bad name", "yes", "1 to 256"),
        ("aws-cf-cd-canary", "", "1 to 1783"),
        ("aws-cf-cd-canary", &"v".repeat(1784), "1 to 1783"),
    ] {
        let e = try_(h, v).unwrap_err();
        assert_eq!(e.code, CfErrorCode::InvalidArgument, "{h}");
        assert!(e.message.contains(why), "{e}");
    }
}

#[test]
fn type_must_match_the_config_present() {
    let env = Env::new();
    let (state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let base = header_policy(&name, "aws-cf-cd-a", "b");
    let mut both = base.clone();
    let mut traffic = both.get("TrafficConfig").unwrap().clone();
    traffic.set("SingleWeightConfig", node(json!({ "Weight": 0.1 })));
    both.set("TrafficConfig", traffic.clone());
    let mut wrong = base.clone();
    traffic.remove("SingleWeightConfig");
    traffic.set("Type", Node::Text("SingleWeight".into()));
    wrong.set("TrafficConfig", traffic.clone());
    let mut unknown = base.clone();
    traffic.set("Type", Node::Text("Both".into()));
    unknown.set("TrafficConfig", traffic);
    for (config, why) in [
        (both, "no other traffic config"),
        (wrong, "a SingleWeight policy needs SingleWeightConfig"),
        (unknown, "SingleWeight, SingleHeader"),
    ] {
        let mut s = state.clone();
        let (c, m) = code(create_policy(&mut s, &config, &env.ctx()));
        assert_eq!(c, CfErrorCode::InvalidArgument);
        assert!(m.contains("TrafficConfig.Type: ") && m.contains(why), "{m}");
    }
}

#[test]
fn quantity_must_match_the_items() {
    let env = Env::new();
    let (mut state, _, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let mut config = weight_policy(&name, json!(0.1), false);
    config.set(
        "StagingDistributionDnsNames",
        node(json!({ "Quantity": 2, "Items": [name] })),
    );
    let (c, m) = code(create_policy(&mut state, &config, &env.ctx()));
    assert_eq!(c, CfErrorCode::InconsistentQuantities);
    assert_eq!(c.status(), 400);
    assert!(
        m.contains("StagingDistributionDnsNames") && m.contains("Quantity 2"),
        "{m}"
    );
}

#[test]
fn staging_names_must_be_staging_distributions_used_by_one_policy() {
    let env = Env::new();
    let (mut state, primary, staging, first) = with_policy(&env);
    let name = state.distributions[&staging].domain_name.clone();
    // The same config again: the create is a repetition.
    let (c, m) = code(create_policy(
        &mut state,
        &weight_policy(&name, json!(0.1), true),
        &env.ctx(),
    ));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::ContinuousDeploymentPolicyAlreadyExists, 409)
    );
    assert!(m.contains(&first), "{m}");
    // Another config for the same staging distribution.
    let (c, m) = code(create_policy(
        &mut state,
        &weight_policy(&name, json!(0.05), true),
        &env.ctx(),
    ));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::StagingDistributionInUse, 409)
    );
    assert!(m.contains(&first), "{m}");
    // A name that is no distribution's, and a primary's.
    let (c, m) = code(create_policy(
        &mut state,
        &weight_policy("nowhere.example", json!(0.1), true),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::InvalidArgument);
    assert!(m.contains("\"nowhere.example\""), "{m}");
    let primary_name = state.distributions[&primary].domain_name.clone();
    let (c, m) = code(create_policy(
        &mut state,
        &weight_policy(&primary_name, json!(0.1), true),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::InvalidArgument);
    assert!(m.contains("not a staging distribution"), "{m}");
}

#[test]
fn at_most_max_policies() {
    let env = Env::new();
    let (mut state, primary, _) = primary_and_staging(&env);
    let etag = state.distributions[&primary].etag.clone();
    for i in 0..=MAX_POLICIES {
        let copy = copy_distribution(
            &mut state,
            &primary,
            Some(&etag),
            true,
            &format!("c{i}"),
            None,
            &env.ctx(),
        )
        .unwrap();
        let name = state.distributions[&copy].domain_name.clone();
        let result = create_policy(
            &mut state,
            &weight_policy(&name, json!(0.1), false),
            &env.ctx(),
        );
        if i < MAX_POLICIES {
            result.unwrap();
        } else {
            let (c, m) = code(result);
            assert_eq!(c, CfErrorCode::TooManyContinuousDeploymentPolicies);
            assert!(m.contains("at most 20"), "{m}");
        }
    }
}

#[test]
fn update_checks_if_match_and_bumps_generation_on_resets_only() {
    let env = Env::new();
    let (mut state, _, staging, id) = with_policy(&env);
    let name = state.distributions[&staging].domain_name.clone();
    let etag = state.deployment_policies[&id].etag.clone();
    let config = weight_policy(&name, json!(0.05), true);
    for missing in [None, Some(""), Some("  ")] {
        let (c, _) = code(update_policy(&mut state, &id, missing, &config, &env.ctx()));
        assert_eq!((c, c.status()), (CfErrorCode::InvalidIfMatchVersion, 400));
    }
    let (c, m) = code(update_policy(
        &mut state,
        &id,
        Some("ESTALE"),
        &config,
        &env.ctx(),
    ));
    assert_eq!((c, c.status()), (CfErrorCode::PreconditionFailed, 412));
    assert!(m.contains("ESTALE"), "{m}");
    let (c, _) = code(update_policy(
        &mut state,
        "nope",
        Some(&etag),
        &config,
        &env.ctx(),
    ));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::NoSuchContinuousDeploymentPolicy, 404)
    );
    // A new weight: a new ETag and time, sessions kept.
    let ctx = env.ctx();
    update_policy(&mut state, &id, Some(&format!("\"{etag}\"")), &config, &ctx).unwrap();
    let p = &state.deployment_policies[&id];
    assert_ne!(p.etag, etag);
    assert_eq!(p.last_modified_ms, ctx.now_ms);
    assert_eq!(p.generation, 0);
    // Stickiness off: a reset.
    let etag = p.etag.clone();
    update_policy(
        &mut state,
        &id,
        Some(&etag),
        &weight_policy(&name, json!(0.05), false),
        &env.ctx(),
    )
    .unwrap();
    assert_eq!(state.deployment_policies[&id].generation, 1);
    // Disabled: a reset; the same config again: none.
    let mut off = weight_policy(&name, json!(0.05), false);
    off.set("Enabled", Node::Text("false".into()));
    let etag = state.deployment_policies[&id].etag.clone();
    update_policy(&mut state, &id, Some(&etag), &off, &env.ctx()).unwrap();
    assert_eq!(state.deployment_policies[&id].generation, 2);
    assert!(!state.deployment_policies[&id].enabled);
    let etag = state.deployment_policies[&id].etag.clone();
    update_policy(&mut state, &id, Some(&etag), &off, &env.ctx()).unwrap();
    assert_eq!(state.deployment_policies[&id].generation, 2);
    assert_ne!(state.deployment_policies[&id].etag, etag);
}

#[test]
fn update_refuses_a_staging_name_another_policy_holds() {
    let env = Env::new();
    let (mut state, primary, staging, id) = with_policy(&env);
    let etag = state.distributions[&primary].etag.clone();
    let other = copy_distribution(
        &mut state,
        &primary,
        Some(&etag),
        true,
        "o",
        None,
        &env.ctx(),
    )
    .unwrap();
    let other_name = state.distributions[&other].domain_name.clone();
    let second = create_policy(
        &mut state,
        &weight_policy(&other_name, json!(0.1), false),
        &env.ctx(),
    )
    .unwrap();
    let name = state.distributions[&staging].domain_name.clone();
    let etag = state.deployment_policies[&second].etag.clone();
    let (c, m) = code(update_policy(
        &mut state,
        &second,
        Some(&etag),
        &weight_policy(&name, json!(0.1), false),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::StagingDistributionInUse);
    assert!(m.contains(&id), "{m}");
}

#[test]
fn delete_checks_if_match_and_attachment() {
    let env = Env::new();
    let (mut state, primary, _, id) = with_policy(&env);
    let etag = state.deployment_policies[&id].etag.clone();
    let (c, _) = code(delete_policy(&mut state, &id, None));
    assert_eq!(c, CfErrorCode::InvalidIfMatchVersion);
    let (c, _) = code(delete_policy(&mut state, &id, Some("E0000000000000")));
    assert_eq!(c, CfErrorCode::PreconditionFailed);
    let (c, _) = code(delete_policy(&mut state, "nope", Some(&etag)));
    assert_eq!(c, CfErrorCode::NoSuchContinuousDeploymentPolicy);
    let mut attached = state.distributions[&primary].config.clone();
    attached.set("ContinuousDeploymentPolicyId", Node::Text(id.clone()));
    let detag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&detag), &attached, &env.ctx()).unwrap();
    let (c, m) = code(delete_policy(&mut state, &id, Some(&etag)));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::ContinuousDeploymentPolicyInUse, 409)
    );
    assert!(m.contains(&primary), "{m}");
    let mut detached = attached.clone();
    detached.remove("ContinuousDeploymentPolicyId");
    let detag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&detag), &detached, &env.ctx()).unwrap();
    delete_policy(&mut state, &id, Some(&etag)).unwrap();
    assert!(state.deployment_policies.is_empty());
}

#[test]
fn list_pages_by_id_after_the_marker() {
    let env = Env::new();
    let (mut state, primary, _) = primary_and_staging(&env);
    let etag = state.distributions[&primary].etag.clone();
    for i in 0..3 {
        let copy = copy_distribution(
            &mut state,
            &primary,
            Some(&etag),
            true,
            &format!("l{i}"),
            None,
            &env.ctx(),
        )
        .unwrap();
        let name = state.distributions[&copy].domain_name.clone();
        create_policy(
            &mut state,
            &weight_policy(&name, json!(0.1), false),
            &env.ctx(),
        )
        .unwrap();
    }
    let ids: Vec<String> = state.deployment_policies.keys().cloned().collect();
    let (page, next) = list_policies(&state, None, 2);
    assert_eq!(
        page.iter().map(|p| &p.id).collect::<Vec<_>>(),
        [&ids[0], &ids[1]]
    );
    assert_eq!(next.as_deref(), Some(ids[1].as_str()));
    let (page, next) = list_policies(&state, next.as_deref(), 2);
    assert_eq!(page.iter().map(|p| &p.id).collect::<Vec<_>>(), [&ids[2]]);
    assert_eq!(next, None);
    let (page, next) = list_policies(&state, None, 3);
    assert_eq!((page.len(), next), (3, None));
}

#[test]
fn staging_names_compare_without_case() {
    let mut env = Env::new();
    env.listen_host = Some("127.0.0.1".parse().unwrap());
    let (mut state, primary, staging) = primary_and_staging(&env);
    let name = state.distributions[&staging]
        .domain_name
        .to_ascii_uppercase();
    assert!(name.ends_with(".CLOUDFRONT.LOCALHOST"), "{name}");
    let id = create_policy(
        &mut state,
        &weight_policy(&name, json!(0.1), false),
        &env.ctx(),
    )
    .unwrap();
    let mut attached = state.distributions[&primary].config.clone();
    attached.set("ContinuousDeploymentPolicyId", Node::Text(id));
    let etag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&etag), &attached, &env.ctx()).unwrap();
    assert_eq!(front_ends(&state).splits.len(), 1);
    let lower = name.to_ascii_lowercase();
    let (c, _) = code(create_policy(
        &mut state,
        &weight_policy(&lower, json!(0.05), false),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::StagingDistributionInUse);
}

#[test]
fn a_file_reload_that_flips_a_policy_resets_its_sessions() {
    let env = Env::new();
    let (state, _, _, id) = with_policy(&env);
    let mut declared = state.deployment_policies[&id].clone();
    declared.generation = 0;
    let dists: Vec<Distribution> = state.distributions.values().cloned().collect();
    let loaded = State::default().with_file_cloudfront(dists.clone(), vec![declared.clone()]);
    let mut api = loaded.clone();
    api.deployment_policies.get_mut(&id).unwrap().generation = 4;
    // The same policy again keeps its generation; disabled, it moves on.
    let same = api.with_file_cloudfront(dists.clone(), vec![declared.clone()]);
    assert_eq!(same.deployment_policies[&id].generation, 4);
    assert_eq!(same.deployment_policies[&id].origin, crate::Origin::File);
    declared.enabled = false;
    let off = api.with_file_cloudfront(dists, vec![declared]);
    assert_eq!(off.deployment_policies[&id].generation, 5);
}
