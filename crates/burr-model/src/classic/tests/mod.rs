use super::*;
use crate::{HealthCheckProtocol, State, StickinessKind};

fn pool() -> AddressPool {
    AddressPool::DEFAULT.parse().unwrap()
}

fn ctx(pool: &AddressPool) -> Context<'_> {
    Context {
        listen_host: None,
        address_pool: pool,
        now: 1_700_000_000,
    }
}

fn http(port: i64, instance_port: i64) -> ListenerRequest {
    ListenerRequest {
        protocol: "HTTP".into(),
        load_balancer_port: port,
        instance_protocol: None,
        instance_port,
        ssl_certificate_id: None,
    }
}

fn tcp(port: i64, instance_port: i64) -> ListenerRequest {
    ListenerRequest {
        protocol: "tcp".into(),
        ..http(port, instance_port)
    }
}

/// `CreateLoadBalancer` of `name` with `listeners`: no scheme, tags or placement.
fn create(
    state: &mut State,
    name: &str,
    listeners: &[ListenerRequest],
    context: Context,
) -> Result<(), ClassicError> {
    create_load_balancer(
        state,
        name,
        listeners,
        None,
        &[],
        &Placement::default(),
        context,
    )
}

fn with_lb(listeners: &[ListenerRequest]) -> State {
    let p = pool();
    let mut state = State::default();
    create(&mut state, "web", listeners, ctx(&p)).unwrap();
    state
}

fn code<T: std::fmt::Debug>(result: Result<T, ClassicError>) -> ErrorCode {
    result.unwrap_err().code
}

#[test]
fn create_gives_each_balancer_an_address_and_each_listener_a_pool() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080), tcp(81, 9000)]);
    create(&mut state, "api", &[http(80, 8080)], ctx(&p)).unwrap();
    let web = &state.balancers["web"];
    assert_eq!(web.address, Some("127.0.1.1".parse().unwrap()));
    assert_eq!(
        state.balancers["api"].address,
        Some("127.0.1.2".parse().unwrap())
    );
    assert_eq!(web.listeners[0].pool, "web-80");
    assert_eq!(
        state.pools["web-80"].algorithm,
        crate::Algorithm::LeastOutstandingRequests
    );
    assert_eq!(
        state.pools["web-81"].algorithm,
        crate::Algorithm::RoundRobin
    );
    assert_eq!(state.pools["web-80"].draining.deregistration_delay_secs, 0);
    assert_eq!(web.aws.created_at, 1_700_000_000);
}

#[test]
fn create_again_is_idempotent_only_with_the_same_listeners() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    let before = state.clone();
    create(&mut state, "web", &[http(80, 8080)], ctx(&p)).unwrap();
    assert_eq!(state, before);
    assert_eq!(
        code(create(&mut state, "web", &[http(80, 9090)], ctx(&p))),
        ErrorCode::DuplicateLoadBalancerName
    );
}

#[test]
fn same_port_clashes_under_listen_host_naming_port_and_holder() {
    let p = pool();
    let context = Context {
        listen_host: Some("127.0.0.1".parse().unwrap()),
        ..ctx(&p)
    };
    let mut state = State::default();
    create(&mut state, "a", &[http(8080, 80)], context).unwrap();
    let err = create(&mut state, "b", &[http(8080, 80)], context).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfigurationRequest);
    assert!(
        err.message.contains("8080") && err.message.contains("'a'"),
        "{err}"
    );
}

#[test]
fn bad_listeners_get_the_aws_codes() {
    let p = pool();
    let mut state = State::default();
    let mut bad = http(80, 8080);
    bad.protocol = "QUIC".into();
    assert_eq!(
        code(create(&mut state, "x", &[bad], ctx(&p))),
        ErrorCode::UnsupportedProtocol
    );
    let mut pair = http(80, 8080);
    pair.instance_protocol = Some("TCP".into());
    assert_eq!(
        code(create(&mut state, "x", &[pair], ctx(&p))),
        ErrorCode::InvalidConfigurationRequest
    );
    let mut https = http(443, 8080);
    https.protocol = "HTTPS".into();
    assert_eq!(
        code(create(&mut state, "x", &[https], ctx(&p))),
        ErrorCode::CertificateNotFound
    );
    assert_eq!(
        code(create(&mut state, "x", &[http(0, 8080)], ctx(&p))),
        ErrorCode::ValidationError
    );
    let err = create(&mut state, "-x", &[http(80, 8080)], ctx(&p)).unwrap_err();
    assert!(err.message.starts_with("LoadBalancerName: \"-x\""), "{err}");
    assert_eq!(state, State::default());
}

#[test]
fn instances_are_addresses_on_each_listeners_instance_port() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080), tcp(81, 9000)]);
    let ids = [
        "10.0.0.5".to_string(),
        "10.0.0.6:7000".to_string(),
        "backend.example".to_string(),
    ];
    register_instances(&mut state, "web", &ids, ctx(&p)).unwrap();
    let targets: Vec<String> = state.pools["web-81"]
        .targets
        .iter()
        .map(|t| t.address.to_string())
        .collect();
    assert_eq!(
        targets,
        ["10.0.0.5:9000", "10.0.0.6:7000", "backend.example:9000"]
    );
    assert_eq!(instances_of(&state.balancers["web"], &state), ids);
    for bad in ["i-0123abcd", "not a host", "10.0.0.5:0", "10.0.0.5:99999"] {
        assert_eq!(
            code(register_instances(
                &mut state,
                "web",
                &[bad.into()],
                ctx(&p)
            )),
            ErrorCode::InvalidInstance,
            "{bad}"
        );
    }
    // A new listener takes the instances on its own instance port.
    create_listeners(&mut state, "web", &[http(82, 8082)], ctx(&p)).unwrap();
    assert_eq!(
        state.pools["web-82"].targets[0].address.to_string(),
        "10.0.0.5:8082"
    );
    deregister_instances(&mut state, "web", &["10.0.0.5".into()], ctx(&p)).unwrap();
    assert_eq!(
        instances_of(&state.balancers["web"], &state),
        ["10.0.0.6:7000", "backend.example"]
    );
    assert_eq!(
        code(deregister_instances(
            &mut state,
            "web",
            &["10.9.9.9".into()],
            ctx(&p)
        )),
        ErrorCode::InvalidInstance
    );
    assert_eq!(
        code(register_instances(&mut state, "nope", &ids, ctx(&p))),
        ErrorCode::LoadBalancerNotFound
    );
}

#[test]
fn listeners_duplicate_and_delete() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    create_listeners(&mut state, "web", &[http(80, 8080)], ctx(&p)).unwrap();
    assert_eq!(
        code(create_listeners(
            &mut state,
            "web",
            &[http(80, 9999)],
            ctx(&p)
        )),
        ErrorCode::DuplicateListener
    );
    delete_listeners(&mut state, "web", &[80, 1234]).unwrap();
    assert!(state.balancers["web"].listeners.is_empty());
    assert!(!state.pools.contains_key("web-80"));
    delete_load_balancer(&mut state, "web").unwrap();
    delete_load_balancer(&mut state, "web").unwrap();
    assert!(state.balancers.is_empty() && state.pools.is_empty());
}

#[test]
fn a_stickiness_policy_on_a_listener_becomes_the_pools_stickiness() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080), tcp(81, 9000)]);
    create_policy(
        &mut state,
        "web",
        lb_cookie_policy("sixty", Some(60)).unwrap(),
    )
    .unwrap();
    create_policy(
        &mut state,
        "web",
        lb_cookie_policy("session", None).unwrap(),
    )
    .unwrap();
    create_policy(
        &mut state,
        "web",
        app_cookie_policy("app", "JSESSIONID").unwrap(),
    )
    .unwrap();
    set_listener_policies(&mut state, "web", 80, &["sixty".into()], ctx(&p)).unwrap();
    let s = &state.pools["web-80"].stickiness;
    assert_eq!(
        (s.kind, s.flavour, s.duration_secs),
        (
            StickinessKind::LbCookie,
            crate::CookieFlavour::Classic,
            Some(60)
        )
    );
    set_listener_policies(&mut state, "web", 80, &["session".into()], ctx(&p)).unwrap();
    assert_eq!(state.pools["web-80"].stickiness.duration_secs, Some(0));
    set_listener_policies(&mut state, "web", 80, &["app".into()], ctx(&p)).unwrap();
    assert_eq!(
        state.pools["web-80"].stickiness.cookie_name.as_deref(),
        Some("JSESSIONID")
    );
    assert_eq!(
        code(delete_policy(&mut state, "web", "app")),
        ErrorCode::InvalidConfigurationRequest
    );
    set_listener_policies(&mut state, "web", 80, &[], ctx(&p)).unwrap();
    assert_eq!(state.pools["web-80"].stickiness.kind, StickinessKind::None);
    delete_policy(&mut state, "web", "app").unwrap();
    delete_policy(&mut state, "web", "app").unwrap();

    let before = state.clone();
    let two = ["sixty".to_string(), "session".to_string()];
    assert_eq!(
        code(set_listener_policies(&mut state, "web", 80, &two, ctx(&p))),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(set_listener_policies(
            &mut state,
            "web",
            81,
            &["sixty".into()],
            ctx(&p)
        )),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(set_listener_policies(&mut state, "web", 82, &[], ctx(&p))),
        ErrorCode::ListenerNotFound
    );
    assert_eq!(
        code(set_listener_policies(
            &mut state,
            "web",
            80,
            &["ghost".into()],
            ctx(&p)
        )),
        ErrorCode::PolicyNotFound
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            lb_cookie_policy("sixty", Some(5)).unwrap()
        )),
        ErrorCode::DuplicatePolicyName
    );
    assert_eq!(
        code(lb_cookie_policy("neg", Some(-1))),
        ErrorCode::ValidationError
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            app_cookie_policy("bad", "AWSALBX").unwrap()
        )),
        ErrorCode::ValidationError
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            app_cookie_policy("bad name", "x").unwrap()
        )),
        ErrorCode::ValidationError
    );
    assert_eq!(state, before);
}

#[test]
fn generic_policies_are_checked_against_their_type() {
    let mut state = with_lb(&[http(80, 8080)]);
    let policy = |type_name: &str, attributes: &[(&str, &str)]| NamedPolicy {
        name: "p".into(),
        type_name: type_name.into(),
        attributes: attributes
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    assert_eq!(
        code(create_policy(&mut state, "web", policy("NoSuchType", &[]))),
        ErrorCode::PolicyTypeNotFound
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            policy("ProxyProtocolPolicyType", &[])
        )),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            policy("ProxyProtocolPolicyType", &[("ProxyProtocol", "maybe")])
        )),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            policy("ProxyProtocolPolicyType", &[("Bogus", "true")])
        )),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            policy(
                "BackendServerAuthenticationPolicyType",
                &[("PublicKeyPolicyName", "none")]
            )
        )),
        ErrorCode::PolicyNotFound
    );
    for i in 0..MAX_POLICIES {
        create_policy(
            &mut state,
            "web",
            lb_cookie_policy(&format!("p{i}"), Some(1)).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(
        code(create_policy(
            &mut state,
            "web",
            lb_cookie_policy("one-more", Some(1)).unwrap()
        )),
        ErrorCode::TooManyPolicies
    );
}

#[test]
fn proxy_protocol_policy_on_an_instance_port_reaches_its_pools() {
    let p = pool();
    let mut state = with_lb(&[tcp(81, 9000), http(80, 8080)]);
    let pp = NamedPolicy {
        name: "pp".into(),
        type_name: "ProxyProtocolPolicyType".into(),
        attributes: vec![("ProxyProtocol".into(), "true".into())],
    };
    create_policy(&mut state, "web", pp).unwrap();
    set_backend_policies(&mut state, "web", 9000, &["pp".into()], ctx(&p)).unwrap();
    assert!(state.pools["web-81"].upstream.proxy_protocol);
    assert!(!state.pools["web-80"].upstream.proxy_protocol);
    assert_eq!(
        code(set_listener_policies(
            &mut state,
            "web",
            81,
            &["pp".into()],
            ctx(&p)
        )),
        ErrorCode::InvalidConfigurationRequest
    );
    assert_eq!(
        code(delete_policy(&mut state, "web", "pp")),
        ErrorCode::InvalidConfigurationRequest
    );
    set_backend_policies(&mut state, "web", 9000, &[], ctx(&p)).unwrap();
    assert!(!state.pools["web-81"].upstream.proxy_protocol);
    assert!(state.balancers["web"].aws.backend_policies.is_empty());
}

#[test]
fn health_check_targets_and_ranges() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    let numbers = HealthCheckNumbers {
        interval: 10,
        timeout: 5,
        healthy_threshold: 2,
        unhealthy_threshold: 3,
    };
    configure_health_check(&mut state, "web", "HTTP:8080/ping", numbers, ctx(&p)).unwrap();
    let check = &state.pools["web-80"].health_check;
    assert_eq!(
        (check.protocol, check.port, check.path.as_str()),
        (HealthCheckProtocol::Http, Some(8080), "/ping")
    );
    assert_eq!(health_check_target(check, 1), "HTTP:8080/ping");
    for target in ["HTTP:8080", "TCP:80/x", "UDP:1", "TCP:0", "TCP"] {
        assert_eq!(
            code(configure_health_check(
                &mut state,
                "web",
                target,
                numbers,
                ctx(&p)
            )),
            ErrorCode::ValidationError,
            "{target}"
        );
    }
    let err = configure_health_check(
        &mut state,
        "web",
        "TCP:80",
        HealthCheckNumbers {
            interval: 3,
            ..numbers
        },
        ctx(&p),
    )
    .unwrap_err();
    assert!(
        err.message.contains("HealthCheck.Interval: 3")
            && err.message.contains("between 5 and 300"),
        "{err}"
    );
    let err = configure_health_check(
        &mut state,
        "web",
        "TCP:80",
        HealthCheckNumbers {
            timeout: 10,
            ..numbers
        },
        ctx(&p),
    )
    .unwrap_err();
    assert!(
        err.message.contains("less than HealthCheck.Interval"),
        "{err}"
    );
}

#[test]
fn attributes_take_effect_on_pools_and_listeners() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    let a = attributes(&state, &state.balancers["web"]);
    assert_eq!(
        (a.draining_enabled, a.draining_timeout, a.idle_timeout),
        (false, 300, 60)
    );
    let changes = AttributeChanges {
        connection_draining: Some((true, Some(30))),
        idle_timeout: Some(120),
        cross_zone: Some(true),
        additional: vec![(DESYNC_MITIGATION_MODE.into(), "strictest".into())],
        ..Default::default()
    };
    modify_attributes(&mut state, "web", &changes, ctx(&p)).unwrap();
    assert_eq!(state.pools["web-80"].draining.deregistration_delay_secs, 30);
    assert_eq!(state.balancers["web"].listeners[0].idle_timeout_secs, 120);
    let off = AttributeChanges {
        connection_draining: Some((false, None)),
        ..Default::default()
    };
    modify_attributes(&mut state, "web", &off, ctx(&p)).unwrap();
    let a = attributes(&state, &state.balancers["web"]);
    assert_eq!(
        (a.draining_enabled, a.draining_timeout, a.cross_zone),
        (false, 30, true)
    );
    assert_eq!(
        a.additional,
        [(DESYNC_MITIGATION_MODE.to_string(), "strictest".to_string())]
    );

    let before = state.clone();
    let unknown = AttributeChanges {
        additional: vec![("elb.nope".into(), "1".into())],
        ..Default::default()
    };
    assert_eq!(
        code(modify_attributes(&mut state, "web", &unknown, ctx(&p))),
        ErrorCode::LoadBalancerAttributeNotFound
    );
    let long = AttributeChanges {
        idle_timeout: Some(3601),
        ..Default::default()
    };
    assert_eq!(
        code(modify_attributes(&mut state, "web", &long, ctx(&p))),
        ErrorCode::ValidationError
    );
    let zero = AttributeChanges {
        connection_draining: Some((true, Some(0))),
        ..Default::default()
    };
    assert_eq!(
        code(modify_attributes(&mut state, "web", &zero, ctx(&p))),
        ErrorCode::ValidationError
    );
    assert_eq!(state, before);
}

#[test]
fn tags_add_replace_remove_and_limits() {
    let mut state = with_lb(&[http(80, 8080)]);
    let names = ["web".to_string()];
    add_tags(&mut state, &names, &[("env".into(), "prod".into())]).unwrap();
    add_tags(&mut state, &names, &[("env".into(), "test".into())]).unwrap();
    assert_eq!(state.balancers["web"].aws.tags["env"], "test");
    let twice = [
        ("a".to_string(), "1".to_string()),
        ("a".to_string(), "2".to_string()),
    ];
    assert_eq!(
        code(add_tags(&mut state, &names, &twice)),
        ErrorCode::DuplicateTagKeys
    );
    let many: Vec<(String, String)> = (0..MAX_TAGS)
        .map(|i| (format!("k{i}"), String::new()))
        .collect();
    assert_eq!(
        code(add_tags(&mut state, &names, &many)),
        ErrorCode::TooManyTags
    );
    remove_tags(&mut state, &names, &["env".into()]).unwrap();
    assert!(state.balancers["web"].aws.tags.is_empty());
    assert_eq!(
        code(add_tags(&mut state, &["nope".into()], &[])),
        ErrorCode::LoadBalancerNotFound
    );
}

#[test]
fn the_address_pool_running_dry_is_a_conflict() {
    let tiny: AddressPool = "127.0.9.1".parse().unwrap();
    let mut state = State::default();
    create(&mut state, "a", &[http(80, 80)], ctx(&tiny)).unwrap();
    assert_eq!(
        code(create(&mut state, "b", &[http(80, 80)], ctx(&tiny))),
        ErrorCode::InvalidConfigurationRequest
    );
}

#[test]
fn aliases_stand_for_addresses_and_are_reported_back() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    let alias = crate::Alias {
        name: "i-0123abcd".into(),
        address: "10.0.0.7".into(),
        origin: crate::Origin::File,
    };
    state.aliases.insert(alias.name.clone(), alias);
    register_instances(&mut state, "web", &["i-0123abcd".into()], ctx(&p)).unwrap();
    assert_eq!(
        state.pools["web-80"].targets[0].address.to_string(),
        "10.0.0.7:8080"
    );
    assert_eq!(
        instances_of(&state.balancers["web"], &state),
        ["i-0123abcd"]
    );
    deregister_instances(&mut state, "web", &["i-0123abcd".into()], ctx(&p)).unwrap();
    assert!(state.pools["web-80"].targets.is_empty());
    let bad = crate::Alias {
        name: "bad name".into(),
        address: "not an address!".into(),
        origin: crate::Origin::File,
    };
    state.aliases.insert(bad.name.clone(), bad);
    let errors = state.validate(None).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].to_string().starts_with("alias \"bad name\".name"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_balancer_without_listeners_keeps_instances_and_settings_for_its_next_listener() {
    let p = pool();
    let mut state = with_lb(&[http(80, 8080)]);
    register_instances(&mut state, "web", &["10.0.0.5".into()], ctx(&p)).unwrap();
    delete_listeners(&mut state, "web", &[80]).unwrap();
    assert!(state.pools.is_empty());
    assert_eq!(instances_of(&state.balancers["web"], &state), ["10.0.0.5"]);
    register_instances(&mut state, "web", &["10.0.0.6:9000".into()], ctx(&p)).unwrap();
    assert_eq!(
        code(register_instances(
            &mut state,
            "web",
            &["i-0123abcd".into()],
            ctx(&p)
        )),
        ErrorCode::InvalidInstance
    );
    let numbers = HealthCheckNumbers {
        interval: 7,
        timeout: 3,
        healthy_threshold: 4,
        unhealthy_threshold: 5,
    };
    configure_health_check(&mut state, "web", "HTTP:80/ping", numbers, ctx(&p)).unwrap();
    let changes = AttributeChanges {
        connection_draining: Some((true, Some(42))),
        idle_timeout: Some(33),
        ..Default::default()
    };
    modify_attributes(&mut state, "web", &changes, ctx(&p)).unwrap();
    create_listeners(&mut state, "web", &[http(81, 8081)], ctx(&p)).unwrap();
    let pool = &state.pools["web-81"];
    let targets: Vec<String> = pool.targets.iter().map(|t| t.address.to_string()).collect();
    assert_eq!(targets, ["10.0.0.5:8081", "10.0.0.6:9000"]);
    assert_eq!(pool.health_check.path, "/ping");
    assert_eq!(pool.draining.deregistration_delay_secs, 42);
    assert_eq!(state.balancers["web"].listeners[0].idle_timeout_secs, 33);
    assert_eq!(state.balancers["web"].aws.detached, None);
}

#[test]
fn an_instance_registered_with_a_port_keeps_it_on_every_listener() {
    let p = pool();
    let mut state = with_lb(&[http(80, 9001)]);
    register_instances(&mut state, "web", &["10.0.0.5:9001".into()], ctx(&p)).unwrap();
    assert_eq!(
        instances_of(&state.balancers["web"], &state),
        ["10.0.0.5:9001"]
    );
    create_listeners(&mut state, "web", &[http(81, 9002)], ctx(&p)).unwrap();
    assert_eq!(
        state.pools["web-81"].targets[0].address.to_string(),
        "10.0.0.5:9001"
    );
    assert_eq!(
        instances_of(&state.balancers["web"], &state),
        ["10.0.0.5:9001"]
    );
    // Deregistered by the port-less id that means the same target on listener 80: gone everywhere.
    deregister_instances(&mut state, "web", &["10.0.0.5".into()], ctx(&p)).unwrap();
    assert!(state.pools["web-80"].targets.is_empty());
    assert!(state.pools["web-81"].targets.is_empty());
    assert!(instances_of(&state.balancers["web"], &state).is_empty());
}

#[test]
fn a_cookie_policy_made_as_a_generic_policy_obeys_the_same_rules() {
    let mut state = with_lb(&[http(80, 8080)]);
    let generic = |name: &str, attributes: &[(&str, &str)]| NamedPolicy {
        name: name.into(),
        type_name: "LBCookieStickinessPolicyType".into(),
        attributes: attributes
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    create_policy(&mut state, "web", generic("none", &[])).unwrap();
    let stored = state.balancers["web"].aws.policy("none").unwrap();
    // Not given, not stored: descriptions omit it.
    assert!(stored.attributes.is_empty(), "{stored:?}");
    let negative = generic("neg", &[("CookieExpirationPeriod", "-5")]);
    assert_eq!(
        code(create_policy(&mut state, "web", negative)),
        ErrorCode::ValidationError
    );
    let huge = generic("huge", &[("CookieExpirationPeriod", "99999999999")]);
    assert_eq!(
        code(create_policy(&mut state, "web", huge)),
        ErrorCode::ValidationError
    );
}

#[test]
fn a_port_clash_names_the_balancer_already_holding_the_port_whatever_the_names() {
    let p = pool();
    let context = Context {
        listen_host: Some("127.0.0.1".parse().unwrap()),
        ..ctx(&p)
    };
    let mut state = State::default();
    create(&mut state, "zeta", &[http(8080, 80)], context).unwrap();
    let err = create(&mut state, "alpha", &[http(8080, 80)], context).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfigurationRequest);
    assert!(
        err.message.contains("'zeta'") && err.message.contains("8080"),
        "{err}"
    );
}

mod placement;
