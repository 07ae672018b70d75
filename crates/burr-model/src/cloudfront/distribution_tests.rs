//! Tests of the distribution operations: create, update, delete, copy, promote, tags, list.

use super::tests::{Env, dist_config, node, primary_and_staging, with_policy};
use super::*;
use crate::State;
use serde_json::json;
use std::collections::BTreeMap;

fn code(result: Result<impl std::fmt::Debug, CfError>) -> (CfErrorCode, String) {
    let e = result.unwrap_err();
    (e.code, e.message)
}

/// Attaches `policy` to `primary` through UpdateDistribution.
fn attach(state: &mut State, env: &Env, primary: &str, policy: &str) -> Result<(), CfError> {
    let mut config = state.distributions[primary].config.clone();
    config.set("ContinuousDeploymentPolicyId", Node::Text(policy.into()));
    let etag = state.distributions[primary].etag.clone();
    update_distribution(state, primary, Some(&etag), &config, &env.ctx())
}

#[test]
fn create_gives_id_address_domain_ports_and_etag() {
    let env = Env::new();
    let mut state = State::default();
    let tags = BTreeMap::from([("team".to_string(), "shop".to_string())]);
    let ctx = env.ctx();
    let id = create_distribution(&mut state, &dist_config("a"), tags.clone(), &ctx).unwrap();
    let d = distribution(&state, &id).unwrap();
    assert!(ops::is_e_id(&id) && id.len() == 14, "{id}");
    assert!(ops::is_e_id(&d.etag) && d.etag != id);
    assert_eq!(d.address, Some("127.0.1.1".parse().unwrap()));
    assert_eq!(d.domain_name, "127.0.1.1");
    assert_eq!(d.ports, ctx.ports);
    assert_eq!(d.tags, tags);
    assert_eq!(d.last_modified_ms, ctx.now_ms);
    assert_eq!(d.config, dist_config("a"));
    // The next distribution, and a balancer made after them, get the next free addresses.
    let second =
        create_distribution(&mut state, &dist_config("b"), BTreeMap::new(), &env.ctx()).unwrap();
    assert_eq!(state.distributions[&second].domain_name, "127.0.1.2");
    assert_eq!(
        env.pool.allocate(&state, None),
        Ok(Some("127.0.1.3".parse().unwrap()))
    );
    // With --listen-host there is no address: the domain name is made from the id.
    let mut env = Env::new();
    env.listen_host = Some("127.0.0.1".parse().unwrap());
    let mut state = State::default();
    let id =
        create_distribution(&mut state, &dist_config("a"), BTreeMap::new(), &env.ctx()).unwrap();
    let d = &state.distributions[&id];
    assert_eq!(d.address, None);
    assert_eq!(
        d.domain_name,
        format!("{}.cloudfront.localhost", id.to_ascii_lowercase())
    );
}

#[test]
fn create_refuses_a_reused_caller_reference_a_policy_and_bad_tags() {
    let env = Env::new();
    let mut state = State::default();
    let id =
        create_distribution(&mut state, &dist_config("a"), BTreeMap::new(), &env.ctx()).unwrap();
    let before = state.clone();
    let (c, m) = code(create_distribution(
        &mut state,
        &dist_config("a"),
        BTreeMap::new(),
        &env.ctx(),
    ));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::DistributionAlreadyExists, 409)
    );
    assert!(m.contains(&id), "{m}");
    let mut with_policy = dist_config("b");
    with_policy.set("ContinuousDeploymentPolicyId", Node::Text("x".into()));
    let (c, m) = code(create_distribution(
        &mut state,
        &with_policy,
        BTreeMap::new(),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::IllegalUpdate);
    assert!(m.contains("cannot be associated on creation"), "{m}");
    let many: BTreeMap<String, String> =
        (0..51).map(|i| (format!("k{i}"), String::new())).collect();
    let (c, m) = code(create_distribution(
        &mut state,
        &dist_config("b"),
        many,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::InvalidTagging);
    assert!(m.contains("at most 50"), "{m}");
    for (k, v) in [
        ("", "x"),
        (&*"k".repeat(129), "x"),
        ("a", &*"v".repeat(257)),
        ("bad#key", "x"),
    ] {
        let tags = BTreeMap::from([(k.to_string(), v.to_string())]);
        let (c, _) = code(create_distribution(
            &mut state,
            &dist_config("b"),
            tags,
            &env.ctx(),
        ));
        assert_eq!(c, CfErrorCode::InvalidTagging, "{k:?}={v:?}");
    }
    let mut no_ref = dist_config("");
    no_ref.remove("CallerReference");
    let (c, m) = code(create_distribution(
        &mut state,
        &no_ref,
        BTreeMap::new(),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::InvalidArgument);
    assert!(m.contains("CallerReference"), "{m}");
    assert_eq!(state, before, "refused calls change nothing");
}

#[test]
fn update_is_full_replacement_under_if_match() {
    let env = Env::new();
    let (mut state, primary, staging) = primary_and_staging(&env);
    let etag = state.distributions[&primary].etag.clone();
    let mut config = dist_config("p");
    config.set("Comment", Node::Text("v2".into()));
    for missing in [None, Some("")] {
        let (c, _) = code(update_distribution(
            &mut state,
            &primary,
            missing,
            &config,
            &env.ctx(),
        ));
        assert_eq!(c, CfErrorCode::InvalidIfMatchVersion);
    }
    let (c, _) = code(update_distribution(
        &mut state,
        &primary,
        Some("EOLD"),
        &config,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::PreconditionFailed);
    let (c, _) = code(update_distribution(
        &mut state,
        "ENOPE",
        Some(&etag),
        &config,
        &env.ctx(),
    ));
    assert_eq!((c, c.status()), (CfErrorCode::NoSuchDistribution, 404));
    let (c, m) = code(update_distribution(
        &mut state,
        &primary,
        Some(&etag),
        &dist_config("other"),
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::IllegalUpdate);
    assert!(m.starts_with("CallerReference: \"other\""), "{m}");
    let mut staged = config.clone();
    staged.set("Staging", Node::Text("true".into()));
    let (c, m) = code(update_distribution(
        &mut state,
        &primary,
        Some(&etag),
        &staged,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::IllegalUpdate);
    assert!(m.starts_with("Staging: true"), "{m}");
    let setag = state.distributions[&staging].etag.clone();
    let (c, _) = code(update_distribution(
        &mut state,
        &staging,
        Some(&setag),
        &dist_config("s"),
        &env.ctx(),
    ));
    assert_eq!(
        c,
        CfErrorCode::IllegalUpdate,
        "a staging distribution stays one"
    );
    update_distribution(&mut state, &primary, Some(&etag), &config, &env.ctx()).unwrap();
    let d = &state.distributions[&primary];
    assert_eq!(d.config.text_at(&["Comment"]), Some("v2"));
    assert_ne!(d.etag, etag);
}

#[test]
fn attaching_a_policy_follows_the_continuous_deployment_rules() {
    let env = Env::new();
    let (mut state, primary, staging, policy) = with_policy(&env);
    let (c, _) = code(attach(&mut state, &env, &primary, "no-such-policy"));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::NoSuchContinuousDeploymentPolicy, 404)
    );
    let (c, m) = code(attach(&mut state, &env, &staging, &policy));
    assert_eq!(c, CfErrorCode::IllegalUpdate);
    assert!(m.contains("staging distribution"), "{m}");
    let mut http3 = state.distributions[&primary].config.clone();
    http3.set("HttpVersion", Node::Text("http2and3".into()));
    http3.set("ContinuousDeploymentPolicyId", Node::Text(policy.clone()));
    let etag = state.distributions[&primary].etag.clone();
    let (c, m) = code(update_distribution(
        &mut state,
        &primary,
        Some(&etag),
        &http3,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::IllegalUpdate);
    assert!(m.contains("HTTP/3"), "{m}");
    attach(&mut state, &env, &primary, &policy).unwrap();
    let other =
        create_distribution(&mut state, &dist_config("o"), BTreeMap::new(), &env.ctx()).unwrap();
    let (c, m) = code(attach(&mut state, &env, &other, &policy));
    assert_eq!(
        (c, c.status()),
        (CfErrorCode::ContinuousDeploymentPolicyInUse, 409)
    );
    assert!(m.contains(&primary), "{m}");
}

#[test]
fn delete_needs_a_disabled_distribution_no_policy_names() {
    let env = Env::new();
    let (mut state, _, staging, policy) = with_policy(&env);
    let etag = state.distributions[&staging].etag.clone();
    let (c, _) = code(delete_distribution(&mut state, &staging, None));
    assert_eq!(c, CfErrorCode::InvalidIfMatchVersion);
    let (c, _) = code(delete_distribution(&mut state, "ENOPE", Some(&etag)));
    assert_eq!(c, CfErrorCode::NoSuchDistribution);
    let (c, _) = code(delete_distribution(&mut state, &staging, Some(&etag)));
    assert_eq!((c, c.status()), (CfErrorCode::DistributionNotDisabled, 409));
    let mut off = state.distributions[&staging].config.clone();
    off.set("Enabled", Node::Text("false".into()));
    update_distribution(&mut state, &staging, Some(&etag), &off, &env.ctx()).unwrap();
    let etag = state.distributions[&staging].etag.clone();
    let (c, m) = code(delete_distribution(&mut state, &staging, Some(&etag)));
    assert_eq!((c, c.status()), (CfErrorCode::ResourceInUse, 409));
    assert!(m.contains(&policy), "{m}");
    let petag = state.deployment_policies[&policy].etag.clone();
    delete_policy(&mut state, &policy, Some(&petag)).unwrap();
    delete_distribution(&mut state, &staging, Some(&etag)).unwrap();
    assert!(!state.distributions.contains_key(&staging));
}

#[test]
fn copy_makes_a_staging_distribution_with_the_primarys_config() {
    let env = Env::new();
    let (mut state, primary, _, policy) = with_policy(&env);
    attach(&mut state, &env, &primary, &policy).unwrap();
    let etag = state.distributions[&primary].etag.clone();
    let (c, _) = code(copy_distribution(
        &mut state,
        &primary,
        None,
        true,
        "c",
        None,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::InvalidIfMatchVersion);
    let (c, _) = code(copy_distribution(
        &mut state,
        &primary,
        Some("EOLD"),
        true,
        "c",
        None,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::PreconditionFailed);
    let (c, _) = code(copy_distribution(
        &mut state,
        &primary,
        Some(&etag),
        true,
        "p",
        None,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::DistributionAlreadyExists);
    let (c, _) = code(copy_distribution(
        &mut state,
        "ENOPE",
        Some(&etag),
        true,
        "c",
        None,
        &env.ctx(),
    ));
    assert_eq!(c, CfErrorCode::NoSuchDistribution);
    let copy = copy_distribution(
        &mut state,
        &primary,
        Some(&etag),
        true,
        "c",
        Some(false),
        &env.ctx(),
    )
    .unwrap();
    let d = &state.distributions[&copy];
    assert!(d.is_staging() && !d.enabled());
    assert_eq!(d.caller_reference(), "c");
    assert_eq!(d.policy_id(), None);
    assert_eq!(
        d.config.get("Origins"),
        state.distributions[&primary].config.get("Origins")
    );
    assert_ne!(d.address, state.distributions[&primary].address);
    let plain = copy_distribution(
        &mut state,
        &primary,
        Some(&etag),
        false,
        "d",
        None,
        &env.ctx(),
    )
    .unwrap();
    assert!(!state.distributions[&plain].is_staging() && state.distributions[&plain].enabled());
}

#[test]
fn promote_takes_the_staging_config_and_disables_the_policy() {
    let env = Env::new();
    let (mut state, primary, staging, policy) = with_policy(&env);
    let mut aliased = state.distributions[&primary].config.clone();
    aliased.set(
        "Aliases",
        node(json!({ "Quantity": 1, "Items": ["shop.example"] })),
    );
    let etag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&etag), &aliased, &env.ctx()).unwrap();
    attach(&mut state, &env, &primary, &policy).unwrap();
    let mut changed = state.distributions[&staging].config.clone();
    changed.set("Comment", Node::Text("new".into()));
    let setag = state.distributions[&staging].etag.clone();
    update_distribution(&mut state, &staging, Some(&setag), &changed, &env.ctx()).unwrap();
    let (p, s) = (
        state.distributions[&primary].etag.clone(),
        state.distributions[&staging].etag.clone(),
    );
    for bad in [None, Some(p.as_str()), Some(","), Some("a, b, c")] {
        let (c, _) = code(promote_staging(
            &mut state,
            &primary,
            &staging,
            bad,
            &env.ctx(),
        ));
        assert_eq!(c, CfErrorCode::InvalidIfMatchVersion, "{bad:?}");
    }
    let (c, m) = code(promote_staging(
        &mut state,
        &primary,
        &staging,
        Some(&format!("{s}, {p}")),
        &env.ctx(),
    ));
    assert_eq!(
        c,
        CfErrorCode::PreconditionFailed,
        "the order is primary, staging"
    );
    assert!(m.contains("primary"), "{m}");
    let other =
        create_distribution(&mut state, &dist_config("x"), BTreeMap::new(), &env.ctx()).unwrap();
    let oetag = state.distributions[&other].etag.clone();
    let (c, _) = code(promote_staging(
        &mut state,
        &primary,
        &other,
        Some(&format!("{p},{oetag}")),
        &env.ctx(),
    ));
    assert_eq!(
        c,
        CfErrorCode::IllegalUpdate,
        "not the policy's staging distribution"
    );
    let generation = state.deployment_policies[&policy].generation;
    let petag = state.deployment_policies[&policy].etag.clone();
    promote_staging(
        &mut state,
        &primary,
        &staging,
        Some(&format!(" {p} ,\t{s} ")),
        &env.ctx(),
    )
    .unwrap();
    let d = &state.distributions[&primary];
    assert_eq!(d.config.text_at(&["Comment"]), Some("new"));
    assert_eq!(d.caller_reference(), "p");
    assert_eq!(d.policy_id(), Some(policy.as_str()));
    assert!(!d.is_staging());
    assert_eq!(d.aliases().collect::<Vec<_>>(), ["shop.example"]);
    assert_ne!(d.etag, p);
    let pol = &state.deployment_policies[&policy];
    assert!(!pol.enabled);
    assert_eq!(pol.generation, generation + 1);
    assert_ne!(pol.etag, petag);
    assert_eq!(
        state.distributions[&staging].etag, s,
        "the staging distribution is unchanged"
    );
}

#[test]
fn tags_are_added_replaced_and_removed() {
    let env = Env::new();
    let mut state = State::default();
    let id =
        create_distribution(&mut state, &dist_config("a"), BTreeMap::new(), &env.ctx()).unwrap();
    let (c, _) = code(tag_distribution(&mut state, "ENOPE", BTreeMap::new()));
    assert_eq!((c, c.status()), (CfErrorCode::NoSuchResource, 404));
    tag_distribution(
        &mut state,
        &id,
        BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
    )
    .unwrap();
    tag_distribution(&mut state, &id, BTreeMap::from([("a".into(), "3".into())])).unwrap();
    assert_eq!(state.distributions[&id].tags["a"], "3");
    untag_distribution(&mut state, &id, &["b".into(), "absent".into()]).unwrap();
    assert_eq!(state.distributions[&id].tags.len(), 1);
    let many: BTreeMap<String, String> =
        (0..50).map(|i| (format!("k{i}"), String::new())).collect();
    let (c, _) = code(tag_distribution(&mut state, &id, many));
    assert_eq!(c, CfErrorCode::InvalidTagging, "50 new and 1 kept is 51");
}

#[test]
fn list_pages_distributions_by_id() {
    let env = Env::new();
    let mut state = State::default();
    for i in 0..3 {
        create_distribution(
            &mut state,
            &dist_config(&format!("r{i}")),
            BTreeMap::new(),
            &env.ctx(),
        )
        .unwrap();
    }
    let ids: Vec<&String> = state.distributions.keys().collect();
    let (page, next) = list_distributions(&state, None, 2);
    assert_eq!(page.iter().map(|d| &d.id).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(next.as_deref(), Some(ids[1].as_str()));
    let (page, next) = list_distributions(&state, next.as_deref(), 2);
    assert_eq!((page.len(), next), (1, None));
}
