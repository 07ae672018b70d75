//! Tests of the ELBv2 operations on the model: creation, lookups by id, attributes with and
//! without behaviour, targets, tags, and that a refused operation changes nothing.

use super::*;
use crate::classic::AddressPool;
use crate::{State, StickinessKind};

fn context(pool: &AddressPool) -> Context<'_> {
    Context {
        listen_host: None,
        address_pool: pool,
        now: 1_700_000_000,
        fresh: 7,
    }
}

fn alb(kind: LoadBalancerType) -> LoadBalancerRequest {
    LoadBalancerRequest {
        kind,
        scheme: None,
        ip_address_type: None,
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_groups: vec![],
        tags: vec![("team".into(), "web".into())],
    }
}

fn group(protocol: &str) -> TargetGroupRequest {
    TargetGroupRequest {
        protocol: Some(protocol.into()),
        protocol_version: None,
        port: Some(8080),
        vpc_id: Some("vpc-1".into()),
        target_type: Some("ip".into()),
        ip_address_type: None,
        health_check: HealthCheckRequest::default(),
        tags: vec![],
    }
}

/// Runs `op` the way the control plane does: on a copy, kept only if it succeeds.
fn attempt(
    state: &mut State,
    op: impl FnOnce(&mut State) -> Result<(), V2Error>,
) -> Result<(), V2Error> {
    let mut copy = state.clone();
    op(&mut copy)?;
    *state = copy;
    Ok(())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_load_balancer_is_a_balancer_with_an_address_id_and_kind() {
    let pool: AddressPool = "127.0.1.0/30".parse().unwrap();
    let mut state = State::default();
    create_load_balancer(
        &mut state,
        "web",
        &alb(LoadBalancerType::Application),
        context(&pool),
    )
    .unwrap();
    let b = load_balancer(&state, "web", None).unwrap();
    let v2 = b.aws.elbv2.as_ref().unwrap();
    assert_eq!(v2.kind, LoadBalancerType::Application);
    assert_eq!(v2.id.len(), 16);
    assert_eq!(b.address, Some("127.0.1.1".parse().unwrap()));
    assert!(load_balancer(&state, "web", Some(&v2.id)).is_ok());
    assert_eq!(
        load_balancer(&state, "web", Some("0000000000000000"))
            .unwrap_err()
            .code,
        ErrorCode::LoadBalancerNotFound
    );
    // The same settings again: the same balancer; other settings: a duplicate.
    let before = state.clone();
    create_load_balancer(
        &mut state,
        "web",
        &alb(LoadBalancerType::Application),
        context(&pool),
    )
    .unwrap();
    assert_eq!(state, before);
    let err = create_load_balancer(
        &mut state,
        "web",
        &alb(LoadBalancerType::Network),
        context(&pool),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::DuplicateLoadBalancerName);
    assert_eq!(state, before);
}

#[test]
fn names_follow_the_elbv2_pattern() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    for bad in ["-web", "web-", "internal-web", "a_b", &"x".repeat(33)] {
        let err = create_load_balancer(
            &mut state,
            bad,
            &alb(LoadBalancerType::Application),
            context(&pool),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationError, "{bad}");
    }
    assert!(state.balancers.is_empty());
}

#[test]
fn deletion_protection_guards_delete() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_load_balancer(
        &mut state,
        "web",
        &alb(LoadBalancerType::Application),
        context(&pool),
    )
    .unwrap();
    modify_load_balancer_attributes(
        &mut state,
        "web",
        &pairs(&[("deletion_protection.enabled", "true")]),
        None,
    )
    .unwrap();
    assert_eq!(
        delete_load_balancer(&mut state, "web").unwrap_err().code,
        ErrorCode::OperationNotPermitted
    );
    modify_load_balancer_attributes(
        &mut state,
        "web",
        &pairs(&[("deletion_protection.enabled", "false")]),
        None,
    )
    .unwrap();
    delete_load_balancer(&mut state, "web").unwrap();
    assert!(state.balancers.is_empty());
}

#[test]
fn load_balancer_attributes_are_checked_by_type() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_load_balancer(
        &mut state,
        "net",
        &alb(LoadBalancerType::Network),
        context(&pool),
    )
    .unwrap();
    let before = state.clone();
    // An ALB-only key on a network balancer is "not recognized" (Terraform drops such keys).
    let err = modify_load_balancer_attributes(
        &mut state,
        "net",
        &pairs(&[("routing.http2.enabled", "true")]),
        None,
    )
    .unwrap_err();
    assert!(err.message.contains("is not recognized"), "{err}");
    let err = modify_load_balancer_attributes(
        &mut state,
        "net",
        &pairs(&[("deletion_protection.enabled", "yes")]),
        None,
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(state, before);
    let described = load_balancer_attributes(&state.balancers["net"]);
    assert!(described.contains(&("load_balancing.cross_zone.enabled".into(), "false".into())));
    assert!(!described.iter().any(|(k, _)| k == "routing.http2.enabled"));
}

#[test]
fn target_group_attributes_set_the_pool() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_target_group(&mut state, "blue", &group("HTTP"), context(&pool)).unwrap();
    let tg = target_group(&state, "blue", None).unwrap();
    assert_eq!(tg.stickiness.kind, StickinessKind::None);
    assert_eq!(tg.draining.deregistration_delay_secs, 300);
    let described = target_group_attributes(tg.target_group.as_ref().unwrap());
    assert!(described.contains(&("stickiness.type".into(), "lb_cookie".into())));
    assert!(described.contains(&(
        "stickiness.lb_cookie.duration_seconds".into(),
        "86400".into()
    )));

    modify_target_group_attributes(
        &mut state,
        "blue",
        &pairs(&[
            ("stickiness.enabled", "true"),
            ("stickiness.type", "app_cookie"),
            ("stickiness.app_cookie.cookie_name", "SESSION"),
            ("stickiness.app_cookie.duration_seconds", "600"),
            ("deregistration_delay.timeout_seconds", "30"),
            (
                "load_balancing.algorithm.type",
                "least_outstanding_requests",
            ),
        ]),
        None,
    )
    .unwrap();
    let tg = target_group(&state, "blue", None).unwrap();
    assert_eq!(tg.stickiness.kind, StickinessKind::AppCookie);
    assert_eq!(tg.stickiness.cookie_name.as_deref(), Some("SESSION"));
    assert_eq!(tg.stickiness.duration_secs, Some(600));
    assert_eq!(tg.draining.deregistration_delay_secs, 30);
    assert_eq!(tg.algorithm, crate::Algorithm::LeastOutstandingRequests);

    let before = state.clone();
    for (given, code) in [
        (
            vec![("stickiness.type", "source_ip")],
            ErrorCode::InvalidConfigurationRequest,
        ),
        (
            vec![("stickiness.app_cookie.cookie_name", "AWSALBAPP-1")],
            ErrorCode::ValidationError,
        ),
        (
            vec![("stickiness.lb_cookie.duration_seconds", "604801")],
            ErrorCode::InvalidConfigurationRequest,
        ),
        (vec![("no.such.key", "1")], ErrorCode::ValidationError),
        (
            vec![("slow_start.duration_seconds", "10")],
            ErrorCode::InvalidConfigurationRequest,
        ),
    ] {
        let err = attempt(&mut state, |s| {
            modify_target_group_attributes(s, "blue", &pairs(&given), None)
        })
        .unwrap_err();
        assert_eq!(err.code, code, "{given:?}: {err}");
        assert_eq!(state, before, "{given:?} changed the state");
    }
}

#[test]
fn stored_only_attributes_round_trip() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_target_group(&mut state, "tcp", &group("TCP"), context(&pool)).unwrap();
    modify_target_group_attributes(
        &mut state,
        "tcp",
        &pairs(&[
            ("preserve_client_ip.enabled", "true"),
            ("stickiness.enabled", "true"),
        ]),
        None,
    )
    .unwrap();
    let tg = target_group(&state, "tcp", None).unwrap();
    assert_eq!(tg.stickiness.kind, StickinessKind::SourceIp);
    let described = target_group_attributes(tg.target_group.as_ref().unwrap());
    assert!(described.contains(&("preserve_client_ip.enabled".into(), "true".into())));
    assert!(described.contains(&("stickiness.type".into(), "source_ip".into())));
    assert!(
        !described
            .iter()
            .any(|(k, _)| k == "stickiness.lb_cookie.duration_seconds")
    );
}

#[test]
fn targets_register_as_addresses_and_deregister_by_id_and_port() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_target_group(&mut state, "blue", &group("HTTP"), context(&pool)).unwrap();
    let t = |id: &str, port: Option<i64>| TargetRequest {
        id: id.into(),
        port,
        availability_zone: None,
    };
    register_targets(
        &mut state,
        "blue",
        &[t("127.0.0.5", None), t("127.0.0.6", Some(9000))],
        None,
    )
    .unwrap();
    let tg = target_group(&state, "blue", None).unwrap();
    let addresses: Vec<String> = tg.targets.iter().map(|t| t.address.to_string()).collect();
    assert_eq!(addresses, ["127.0.0.5:8080", "127.0.0.6:9000"]);
    let before = state.clone();
    let err = register_targets(&mut state, "blue", &[t("web-1", None)], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidTarget);
    assert_eq!(state, before);
    deregister_targets(&mut state, "blue", &[t("127.0.0.6", None)]).unwrap();
    assert_eq!(state, before, "a target registered on another port stays");
    deregister_targets(&mut state, "blue", &[t("127.0.0.6", Some(9000))]).unwrap();
    let tg = target_group(&state, "blue", None).unwrap();
    assert_eq!(tg.targets.len(), 1);
    assert_eq!(tg.target_group.as_ref().unwrap().registrations.len(), 1);
}

#[test]
fn health_checks_take_the_elbv2_ranges() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    let mut request = group("HTTP");
    request.health_check.interval_secs = Some(200);
    request.health_check.timeout_secs = Some(120);
    request.health_check.http_codes = Some("200-299".into());
    create_target_group(&mut state, "slow", &request, context(&pool)).unwrap();
    assert_eq!(state.pools["slow"].health_check.timeout_secs, 120);
    let before = state.clone();
    for (req, parameter) in [
        (
            HealthCheckRequest {
                timeout_secs: Some(121),
                ..Default::default()
            },
            "HealthCheckTimeoutSeconds",
        ),
        (
            HealthCheckRequest {
                interval_secs: Some(4),
                ..Default::default()
            },
            "HealthCheckIntervalSeconds",
        ),
        (
            HealthCheckRequest {
                healthy_threshold: Some(11),
                ..Default::default()
            },
            "HealthyThresholdCount",
        ),
        (
            HealthCheckRequest {
                protocol: Some("TCP".into()),
                ..Default::default()
            },
            "HealthCheckProtocol",
        ),
        (
            HealthCheckRequest {
                http_codes: Some("100".into()),
                ..Default::default()
            },
            "Matcher.HttpCode",
        ),
    ] {
        let err = attempt(&mut state, |s| modify_target_group(s, "slow", &req, None)).unwrap_err();
        assert!(err.message.starts_with(parameter), "{parameter}: {err}");
        assert_eq!(state, before);
    }
}

#[test]
fn tags_reach_every_resource_kind() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_load_balancer(
        &mut state,
        "web",
        &alb(LoadBalancerType::Application),
        context(&pool),
    )
    .unwrap();
    create_target_group(&mut state, "blue", &group("HTTP"), context(&pool)).unwrap();
    let resources = [
        Resource::LoadBalancer("web".into()),
        Resource::TargetGroup("blue".into()),
    ];
    add_tags(&mut state, &resources, &pairs(&[("env", "prod")])).unwrap();
    assert_eq!(tags_of(&state, &resources[0]).unwrap().len(), 2);
    assert_eq!(tags_of(&state, &resources[1]).unwrap()["env"], "prod");
    let before = state.clone();
    let err = add_tags(&mut state, &resources, &pairs(&[("a", "1"), ("a", "2")])).unwrap_err();
    assert_eq!(err.code, ErrorCode::DuplicateTagKeys);
    let missing = [Resource::TargetGroup("nope".into())];
    assert_eq!(
        add_tags(&mut state, &missing, &pairs(&[("a", "1")]))
            .unwrap_err()
            .code,
        ErrorCode::TargetGroupNotFound
    );
    assert_eq!(state, before);
    remove_tags(&mut state, &resources, &["env".into(), "unset".into()]).unwrap();
    assert!(tags_of(&state, &resources[1]).unwrap().is_empty());
}

#[test]
fn slow_start_and_proxy_protocol_v2_set_the_pool() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_target_group(&mut state, "blue", &group("HTTP"), context(&pool)).unwrap();
    create_target_group(&mut state, "tcp", &group("TCP"), context(&pool)).unwrap();
    modify_target_group_attributes(
        &mut state,
        "blue",
        &pairs(&[("slow_start.duration_seconds", "60")]),
        None,
    )
    .unwrap();
    assert_eq!(state.pools["blue"].slow_start_secs, 60);
    // ALB: no slow start with the least outstanding requests or weighted random algorithms.
    let err = attempt(&mut state, |s| {
        modify_target_group_attributes(
            s,
            "blue",
            &pairs(&[(
                "load_balancing.algorithm.type",
                "least_outstanding_requests",
            )]),
            None,
        )
    })
    .unwrap_err();
    assert!(
        err.message.starts_with("slow_start.duration_seconds"),
        "{err}"
    );
    modify_target_group_attributes(
        &mut state,
        "tcp",
        &pairs(&[("proxy_protocol_v2.enabled", "true")]),
        None,
    )
    .unwrap();
    assert_eq!(
        state.pools["tcp"].upstream.proxy_protocol_version(),
        Some(2)
    );
    modify_target_group_attributes(
        &mut state,
        "tcp",
        &pairs(&[("proxy_protocol_v2.enabled", "false")]),
        None,
    )
    .unwrap();
    assert_eq!(state.pools["tcp"].upstream.proxy_protocol_version(), None);
}

#[test]
fn unhealthy_state_routing_sets_the_pools_fail_open_rule() {
    let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
    let mut state = State::default();
    create_target_group(&mut state, "blue", &group("HTTP"), context(&pool)).unwrap();
    // Every target group fails open when none of its targets is healthy (the AWS default).
    assert_eq!(
        state.pools["blue"].fail_open,
        Some(crate::FailOpen::default())
    );
    let routing = "target_group_health.unhealthy_state_routing.minimum_healthy_targets";
    modify_target_group_attributes(
        &mut state,
        "blue",
        &pairs(&[
            (&format!("{routing}.count"), "off"),
            (&format!("{routing}.percentage"), "50"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(
        state.pools["blue"].fail_open,
        Some(crate::FailOpen {
            min_healthy_count: 0,
            min_healthy_percent: Some(50),
        })
    );
    // A group stored before the rule existed still fails open.
    let mut old = state.pools["blue"].clone();
    old.fail_open = None;
    assert_eq!(old.fail_open_rule(), Some(crate::FailOpen::default()));
}
