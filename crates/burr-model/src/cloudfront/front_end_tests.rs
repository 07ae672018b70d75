//! Tests of the front ends derived from distributions: balancer, listeners, rules, redirect and
//! https-only answers, origin pools, viewer certificates, splits, and their place in
//! `State::validate`.

use super::tests::{Env, dist_config, node, primary_and_staging, with_policy};
use super::*;
use crate::routing::{Action, Condition, RedirectStatus};
use crate::{Protocol, State};
use serde_json::json;
use std::collections::BTreeMap;

fn config(
    behaviours: serde_json::Value,
    origins: serde_json::Value,
    extra: serde_json::Value,
) -> Node {
    let mut c = dist_config("fe");
    let items = origins.as_array().unwrap().len();
    c.set(
        "Origins",
        node(json!({ "Quantity": items, "Items": origins })),
    );
    let n = behaviours.as_array().unwrap().len();
    if n > 0 {
        c.set(
            "CacheBehaviors",
            node(json!({ "Quantity": n, "Items": behaviours })),
        );
    }
    if let serde_json::Value::Object(members) = extra {
        for (k, v) in members {
            c.set(&k, node(v));
        }
    }
    c
}

fn custom(id: &str, host: &str, http: u16, https: u16, policy: &str) -> serde_json::Value {
    json!({ "Id": id, "DomainName": host, "CustomOriginConfig": {
        "HTTPPort": http, "HTTPSPort": https, "OriginProtocolPolicy": policy } })
}

fn behaviour(pattern: &str, origin: &str, viewer: &str) -> serde_json::Value {
    json!({ "PathPattern": pattern, "TargetOriginId": origin, "ViewerProtocolPolicy": viewer })
}

fn create(state: &mut State, env: &Env, config: &Node) -> Result<String, CfError> {
    create_distribution(state, config, BTreeMap::new(), &env.ctx())
}

/// An ACM certificate of us-east-1 burr holds (issued by its local authority).
fn acm_certificate(state: &mut State) -> String {
    let ctx = crate::certificates::CertContext {
        account: "123456789012",
        region: "us-east-1",
        now: 1_800_000_000,
        fresh: [3; 16],
    };
    crate::certificates::request_certificate(state, ctx, "shop.example", &[], None, &[]).unwrap()
}

#[test]
fn behaviours_become_rules_and_origins_pools() {
    let env = Env::new();
    let mut state = State::default();
    let c = config(
        json!([
            behaviour("api/*", "api", "allow-all"),
            behaviour("/static/*.css", "web", "allow-all")
        ]),
        json!([
            custom("web", "127.0.0.1", 9001, 443, "http-only"),
            { "Id": "api", "DomainName": "backend.example", "ConnectionTimeout": 3,
              "CustomOriginConfig": { "HTTPPort": 9002, "HTTPSPort": 443,
                  "OriginProtocolPolicy": "http-only", "OriginReadTimeout": 45 } },
        ]),
        json!({}),
    );
    let id = create(&mut state, &env, &c).unwrap();
    let fe = front_ends(&state);
    assert_eq!(fe.balancers.len(), 1);
    let b = &fe.balancers[0];
    assert_eq!(b.name, format!("cloudfront-{id}"));
    assert_eq!(b.address, state.distributions[&id].address);
    assert_eq!(b.listeners.len(), 1, "no viewer certificate: HTTP only");
    let l = &b.listeners[0];
    assert_eq!(
        (l.port, l.protocol, l.instance_protocol),
        (18080, Protocol::Http, None)
    );
    let rules: Vec<(u32, &Condition, Vec<&str>)> = l
        .rules
        .iter()
        .map(|r| (r.priority, &r.conditions[0], r.action.pools().collect()))
        .collect();
    let web = format!("cloudfront-{id}-0");
    let api = format!("cloudfront-{id}-1");
    assert_eq!(
        rules,
        [
            (
                1,
                &Condition::PathPattern(vec!["/api/*".into()]),
                vec![api.as_str()]
            ),
            (
                2,
                &Condition::PathPattern(vec!["/static/*.css".into()]),
                vec![web.as_str()]
            ),
        ]
    );
    assert_eq!(l.default_action, Some(Action::forward_to(web.clone())));
    let pools: BTreeMap<&str, &crate::Pool> =
        fe.pools.iter().map(|p| (p.name.as_str(), p)).collect();
    assert_eq!(pools.len(), 2);
    assert_eq!(
        pools[web.as_str()].targets[0].address.to_string(),
        "127.0.0.1:9001"
    );
    assert!(
        !pools[web.as_str()].health_check.enabled,
        "CloudFront has no health checks"
    );
    let a = pools[api.as_str()];
    assert_eq!(a.targets[0].address.to_string(), "backend.example:9002");
    assert_eq!(
        (
            a.upstream.connect_timeout_ms,
            a.upstream.response_timeout_secs
        ),
        (3000, 45)
    );
    assert_eq!(state.validate(None), Ok(()));
}

#[test]
fn viewer_protocol_policies_on_the_http_listener() {
    let env = Env::new();
    let mut state = State::default();
    let c = config(
        json!([behaviour("/secure/*", "web", "https-only")]),
        json!([custom("web", "127.0.0.1", 9001, 443, "http-only")]),
        json!({ "DefaultCacheBehavior": { "TargetOriginId": "web",
            "ViewerProtocolPolicy": "redirect-to-https" } }),
    );
    create(&mut state, &env, &c).unwrap();
    let l = &front_ends(&state).balancers[0].listeners[0];
    let Action::FixedResponse(fixed) = &l.rules[0].action else {
        panic!("https-only answers by itself: {:?}", l.rules[0].action)
    };
    assert_eq!(fixed.status, 403);
    let Some(Action::Redirect(redirect)) = &l.default_action else {
        panic!("redirect-to-https redirects: {:?}", l.default_action)
    };
    assert_eq!(redirect.protocol.as_deref(), Some("HTTPS"));
    assert_eq!(redirect.port.as_deref(), Some("18443"));
    assert_eq!(redirect.status, RedirectStatus::Permanent);
    assert_eq!(state.validate(None), Ok(()));
}

#[test]
fn a_viewer_certificate_adds_https_and_match_viewer_uses_both_origin_ports() {
    let env = Env::new();
    let mut state = State::default();
    let arn = acm_certificate(&mut state);
    let viewer = |arn: &str| {
        json!({ "ViewerCertificate": { "ACMCertificateArn": arn,
        "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021" } })
    };
    let origins = json!([custom("web", "127.0.0.1", 9001, 9443, "match-viewer")]);
    let missing = config(
        json!([]),
        origins.clone(),
        viewer("arn:aws:acm:us-east-1:123456789012:certificate/nope"),
    );
    let e = create(&mut state, &env, &missing).unwrap_err();
    assert_eq!(e.code, CfErrorCode::InvalidViewerCertificate);
    assert!(e.message.contains("certificate/nope"), "{e}");
    let id = create(&mut state, &env, &config(json!([]), origins, viewer(&arn))).unwrap();
    let fe = front_ends(&state);
    let b = &fe.balancers[0];
    assert_eq!(b.listeners.len(), 2);
    let https = &b.listeners[1];
    assert_eq!((https.port, https.protocol), (18443, Protocol::Https));
    assert_eq!(https.certificate.as_deref(), Some(arn.as_str()));
    assert_eq!(https.instance_protocol, Some(Protocol::Https));
    assert_eq!(
        https.default_action,
        Some(Action::forward_to(format!("cloudfront-{id}-0-tls")))
    );
    assert_eq!(
        b.listeners[0].default_action,
        Some(Action::forward_to(format!("cloudfront-{id}-0")))
    );
    assert_eq!(state.certificate_users(&arn), [format!("cloudfront-{id}")]);
    let e = crate::certificates::delete_certificate(&mut state, "us-east-1", &arn).unwrap_err();
    assert!(
        e.message.contains(&format!("cloudfront-{id}")),
        "{}",
        e.message
    );
    let targets: Vec<String> = fe
        .pools
        .iter()
        .map(|p| p.targets[0].address.to_string())
        .collect();
    assert_eq!(targets, ["127.0.0.1:9001", "127.0.0.1:9443"]);
    assert_eq!(state.validate(None), Ok(()));
}

#[test]
fn one_upstream_protocol_per_listener_is_burrs_limit() {
    let env = Env::new();
    let mut state = State::default();
    let c = config(
        json!([behaviour("/tls/*", "tls", "allow-all")]),
        json!([
            custom("web", "127.0.0.1", 9001, 443, "http-only"),
            custom("tls", "127.0.0.1", 80, 9443, "https-only"),
        ]),
        json!({}),
    );
    let e = create(&mut state, &env, &c).unwrap_err();
    assert_eq!(e.code, CfErrorCode::InvalidArgument);
    assert!(e.message.starts_with("burr's limit"), "{e}");
    assert!(state.distributions.is_empty());
}

#[test]
fn patterns_the_rules_refuse_and_unknown_origins_are_refused_at_the_op() {
    let env = Env::new();
    let mut state = State::default();
    let origins = json!([custom("web", "127.0.0.1", 9001, 443, "http-only")]);
    let wild = config(
        json!([behaviour("/*/*/*/*/*/*", "web", "allow-all")]),
        origins.clone(),
        json!({}),
    );
    let e = create(&mut state, &env, &wild).unwrap_err();
    assert_eq!(e.code, CfErrorCode::InvalidArgument);
    assert!(
        e.message.contains("/*/*/*/*/*/*") && e.message.contains("wildcards"),
        "{e}"
    );
    let nowhere = config(
        json!([behaviour("/x", "nowhere", "allow-all")]),
        origins.clone(),
        json!({}),
    );
    let e = create(&mut state, &env, &nowhere).unwrap_err();
    assert_eq!((e.code, e.status()), (CfErrorCode::NoSuchOrigin, 404));
    assert!(e.message.contains("\"nowhere\""), "{e}");
    let bad_port = config(
        json!([]),
        json!([custom("web", "127.0.0.1", 0, 443, "http-only")]),
        json!({}),
    );
    let e = create(&mut state, &env, &bad_port).unwrap_err();
    assert!(
        e.message.contains("HTTPPort") && e.message.contains("between 1 and 65535"),
        "{e}"
    );
}

#[test]
fn disabled_and_staging_distributions_are_not_bound() {
    let env = Env::new();
    let (mut state, primary, _) = primary_and_staging(&env);
    let fe = front_ends(&state);
    assert_eq!(fe.balancers.len(), 1, "the staging copy is not bound");
    assert_eq!(fe.balancers[0].name, format!("cloudfront-{primary}"));
    let mut off = state.distributions[&primary].config.clone();
    off.set("Enabled", Node::Text("false".into()));
    let etag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&etag), &off, &env.ctx()).unwrap();
    assert_eq!(front_ends(&state), FrontEnds::default());
}

#[test]
fn an_enabled_policy_with_traffic_splits_on_the_primarys_address_and_ports() {
    let env = Env::new();
    let (mut state, primary, staging, policy) = with_policy(&env);
    assert!(
        front_ends(&state).splits.is_empty(),
        "not attached: no split"
    );
    let mut attached = state.distributions[&primary].config.clone();
    attached.set("ContinuousDeploymentPolicyId", Node::Text(policy.clone()));
    let etag = state.distributions[&primary].etag.clone();
    update_distribution(&mut state, &primary, Some(&etag), &attached, &env.ctx()).unwrap();
    let fe = front_ends(&state);
    assert_eq!(fe.splits.len(), 1);
    let split = &fe.splits[0];
    assert_eq!(split.primary, format!("cloudfront-{primary}"));
    assert_eq!(split.staging.name, format!("cloudfront-{staging}"));
    assert_eq!(split.staging.address, state.distributions[&primary].address);
    assert_eq!(
        split.staging.listeners[0].port,
        state.distributions[&primary].ports.http
    );
    assert_eq!(split.policy, state.deployment_policies[&policy]);
    assert!(
        fe.pools
            .iter()
            .any(|p| p.name == format!("cloudfront-{staging}-0"))
    );
    assert_eq!(
        fe.balancers.len(),
        1,
        "the staging front end is never bound"
    );
    assert_eq!(state.validate(None), Ok(()));
    // Disabled, or without traffic config: no split.
    let name = state.distributions[&staging].domain_name.clone();
    let mut off = state.deployment_policies[&policy].config_node();
    off.set("Enabled", Node::Text("false".into()));
    let petag = state.deployment_policies[&policy].etag.clone();
    update_policy(&mut state, &policy, Some(&petag), &off, &env.ctx()).unwrap();
    assert!(front_ends(&state).splits.is_empty());
    let no_traffic = node(json!({ "Enabled": true,
        "StagingDistributionDnsNames": { "Quantity": 1, "Items": [name] } }));
    let petag = state.deployment_policies[&policy].etag.clone();
    update_policy(&mut state, &policy, Some(&petag), &no_traffic, &env.ctx()).unwrap();
    assert!(front_ends(&state).splits.is_empty());
}

#[test]
fn validate_holds_file_objects_to_the_same_rules() {
    let env = Env::new();
    let (mut state, primary, _, policy) = with_policy(&env);
    assert_eq!(state.validate(None), Ok(()));
    let mut bad = state.clone();
    bad.deployment_policies
        .get_mut(&policy)
        .unwrap()
        .staging_dns_names = vec!["nowhere".into()];
    if let Some(TrafficConfig::SingleWeight { weight, .. }) =
        &mut bad.deployment_policies.get_mut(&policy).unwrap().traffic
    {
        *weight = Weight(0.2);
    }
    let errors: Vec<String> = bad
        .validate(None)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("deployment_policy") && e.contains("0.2 is not allowed")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("\"nowhere\"")),
        "{errors:#?}"
    );
    // A balancer on the distribution's address and port clashes with its front end.
    let mut b = crate::Balancer::new("web");
    b.listeners
        .push(crate::Listener::new(18080, Protocol::Http, "p"));
    let mut p = crate::Pool::new("p");
    p.targets.push(crate::Target {
        address: crate::TargetAddress::parse("127.0.0.1:9001", None).unwrap(),
        weight: 1,
    });
    state = state.with_file_objects(vec![b], vec![p], vec![]);
    let errors = state.validate(None).unwrap_err();
    let clash =
        format!("port 18080 on 0.0.0.0 is already used by balancer \"cloudfront-{primary}\"");
    assert!(errors.iter().any(|e| e.rule == clash), "{errors:#?}");
    // A distribution declared with a bad id is named.
    let mut odd = State::default();
    let mut d = state.distributions[&primary].clone();
    d.id = "nope".into();
    odd.distributions.insert("nope".into(), d);
    let errors = odd.validate(None).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().starts_with("distribution \"nope\".id")),
        "{errors:#?}"
    );
}
