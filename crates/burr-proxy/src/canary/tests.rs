//! The canary routing step on a runtime compiled from distributions: which pool each arm
//! reaches, what the request loses and what the response gains.

use super::*;
use crate::actions::Outcome;
use crate::runtime::{CompileContext, Runtime};
use burr_model::cloudfront::{
    DeploymentPolicy, Distribution, FrontEndPorts, Node, SessionStickiness, TrafficConfig, Weight,
};
use std::collections::BTreeMap;

const PRIMARY: &str = "EPRIMARY00000A";
const STAGING: &str = "ESTAGING00000A";

fn text(s: &str) -> Node {
    Node::Text(s.to_string())
}

fn object(members: &[(&str, Node)]) -> Node {
    Node::Struct(
        members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn distribution(
    id: &str,
    address: &str,
    origin_port: u16,
    staging: bool,
    policy: &str,
) -> Distribution {
    let origin = object(&[
        ("Id", text("web")),
        ("DomainName", text("127.0.0.1")),
        (
            "CustomOriginConfig",
            object(&[
                ("HTTPPort", text(&origin_port.to_string())),
                ("HTTPSPort", text("443")),
                ("OriginProtocolPolicy", text("http-only")),
            ]),
        ),
    ]);
    let mut config = vec![
        ("CallerReference", text(id)),
        ("Enabled", text("true")),
        ("Comment", text("")),
        ("Staging", text(if staging { "true" } else { "false" })),
        (
            "Origins",
            object(&[("Quantity", text("1")), ("Items", Node::List(vec![origin]))]),
        ),
        (
            "DefaultCacheBehavior",
            object(&[
                ("TargetOriginId", text("web")),
                ("ViewerProtocolPolicy", text("allow-all")),
            ]),
        ),
    ];
    if !policy.is_empty() {
        config.push(("ContinuousDeploymentPolicyId", text(policy)));
    }
    Distribution {
        id: id.to_string(),
        domain_name: address.to_string(),
        address: Some(address.parse().unwrap()),
        ports: FrontEndPorts {
            http: 18080,
            https: 18443,
        },
        etag: "E1".into(),
        last_modified_ms: 0,
        config: object(&config),
        tags: BTreeMap::new(),
        origin: Default::default(),
    }
}

fn state(traffic: TrafficConfig, enabled: bool, arm_header: Option<&str>) -> State {
    let mut state = State::default();
    for d in [
        distribution(PRIMARY, "127.0.0.21", 9001, false, "pol"),
        distribution(STAGING, "127.0.0.22", 9002, true, ""),
    ] {
        state.distributions.insert(d.id.clone(), d);
    }
    let policy = DeploymentPolicy {
        id: "pol".into(),
        etag: "E2".into(),
        last_modified_ms: 0,
        staging_dns_names: vec!["127.0.0.22".into()],
        enabled,
        traffic: Some(traffic),
        generation: 1,
        arm_header: arm_header.map(str::to_string),
        forward_routing_header: false,
        origin: Default::default(),
    };
    state.deployment_policies.insert(policy.id.clone(), policy);
    state
}

fn sticky(weight: f64) -> TrafficConfig {
    TrafficConfig::SingleWeight {
        weight: Weight(weight),
        session_stickiness: Some(SessionStickiness {
            idle_ttl_secs: 300,
            maximum_ttl_secs: 600,
        }),
    }
}

fn header_split() -> TrafficConfig {
    TrafficConfig::SingleHeader {
        header: "aws-cf-cd-canary".into(),
        value: "yes".into(),
    }
}

fn compile(state: &State) -> Runtime {
    let context = CompileContext {
        listen_host: None,
        workers: 1,
        keys: Arc::new(ArcSwap::from_pointee(KeyRing::generate(0, [7; 32], 60))),
        clock: Clock::manual(),
    };
    Runtime::compile(state, 1, &Runtime::default(), &context).expect("compiles")
}

fn listener(runtime: &Runtime) -> &ListenerRuntime {
    let key = ListenerKey {
        balancer: format!("cloudfront-{PRIMARY}"),
        port: 18080,
    };
    runtime.listeners.get(&key).expect("the primary's listener")
}

/// The pool a request with `headers` goes to, and its routing.
fn visit<'l>(listener: &'l ListenerRuntime, headers: &HeaderMap) -> (String, Routed<'l>) {
    let view = RequestView {
        method: b"GET",
        host: Some(b"x"),
        path: b"/",
        query: None,
        headers,
        source: "192.0.2.1".parse().unwrap(),
    };
    let context = RequestContext {
        https: false,
        port: 18080,
    };
    let routed = route(listener, &view, &context);
    let pool = match &routed.outcome {
        Outcome::Forward { pool, .. } => pool.spec.name.clone(),
        Outcome::Answer(_) => "answer".into(),
    };
    (pool, routed)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn staging_pool() -> String {
    format!("cloudfront-{STAGING}-0")
}

fn primary_pool() -> String {
    format!("cloudfront-{PRIMARY}-0")
}

#[test]
fn header_routing_reaches_the_staging_pool_and_strips_the_header() {
    let runtime = compile(&state(header_split(), true, None));
    let l = listener(&runtime);
    assert!(l.canary.is_some());
    let (pool, routed) = visit(l, &headers(&[("AWS-CF-CD-Canary", "yes")]));
    assert_eq!(pool, staging_pool());
    assert_eq!(
        routed.strip.header.map(HeaderName::as_str),
        Some("aws-cf-cd-canary")
    );
    let mark = routed.mark.as_ref().unwrap();
    assert!(mark.cookie.is_none(), "header routing sets no cookie");
    assert!(mark.arm_header.is_none(), "no arm header by default");
    for other in [&[("aws-cf-cd-canary", "Yes")][..], &[("x", "yes")], &[]] {
        assert_eq!(visit(l, &headers(other)).0, primary_pool());
    }
    let mut h = headers(&[("aws-cf-cd-canary", "yes"), ("cookie", "a=1")]);
    routed.strip.apply(&mut h);
    assert!(h.get("aws-cf-cd-canary").is_none());
}

#[test]
fn a_sticky_viewer_stays_and_the_cookie_is_stripped() {
    let runtime = compile(&state(sticky(0.15), true, Some("x-burr-arm")));
    let l = listener(&runtime);
    let (mut staging_seen, mut primary_seen) = (false, false);
    for _ in 0..200 {
        let (pool, routed) = visit(l, &HeaderMap::new());
        let mark = routed.mark.as_ref().unwrap();
        let token = mark.cookie.expect("a new session sets the cookie");
        assert_eq!(pool == staging_pool(), mark.arm == Arm::Staging);
        staging_seen |= mark.arm == Arm::Staging;
        primary_seen |= mark.arm == Arm::Primary;
        // Back with the cookie in the same second: same arm, no new cookie.
        let cookie = format!("a=1; {}={token}", split::COOKIE);
        let back = headers(&[("cookie", &cookie)]);
        let (again, routed) = visit(l, &back);
        assert_eq!(again, pool);
        assert!(routed.mark.as_ref().unwrap().cookie.is_none());
        assert!(routed.strip.canary_cookie);
        let mut sent = back.clone();
        routed.strip.apply(&mut sent);
        assert_eq!(sent.get("cookie").unwrap(), "a=1");
        let mut response = HeaderMap::new();
        routed.mark.as_ref().unwrap().write_headers(&mut response);
        assert_eq!(response.get("x-burr-arm").unwrap(), mark.arm.name());
    }
    assert!(
        staging_seen && primary_seen,
        "200 draws at 0.15 see both arms"
    );
    let kept = l.stats.canary_sessions[0].load(Ordering::Relaxed);
    let new = l.stats.canary_sessions[1].load(Ordering::Relaxed);
    assert_eq!((kept, new), (200, 200));
    let arms: u64 = l
        .stats
        .canary_arms
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum();
    assert_eq!(arms, 400);
    let mut text = String::new();
    crate::metrics::render(&runtime, true, &mut text);
    assert!(text.contains("burr_canary_sessions_total{balancer=\"cloudfront-EPRIMARY00000A\",port=\"18080\",decision=\"kept\"} 200"));
}

#[test]
fn a_disabled_policy_or_weight_zero_sends_everyone_to_the_primary() {
    let runtime = compile(&state(sticky(0.15), false, None));
    let l = listener(&runtime);
    assert!(l.canary.is_none());
    let (pool, routed) = visit(l, &HeaderMap::new());
    assert_eq!(pool, primary_pool());
    assert!(routed.mark.is_none());
    let runtime = compile(&state(sticky(0.0), true, None));
    let l = listener(&runtime);
    for _ in 0..1000 {
        assert_eq!(visit(l, &HeaderMap::new()).0, primary_pool());
    }
}
