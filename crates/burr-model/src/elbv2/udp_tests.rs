//! UDP and TCP_UDP through the ELBv2 operations: which listener forwards to which target group
//! (AWS's table), what burr relays to the targets, the health-check protocols a UDP group takes,
//! and the attributes UDP groups default and refuse.

use super::listener_tests::Env;
use super::*;
use crate::routing::Action;
use crate::{Protocol, StickinessKind};

fn on_net(protocol: &str, port: i64, group: &str) -> ListenerRequest {
    ListenerRequest {
        protocol: Some(protocol.into()),
        port: Some(port),
        default_action: Some(Action::forward_to(group)),
        ..Default::default()
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn group_of<'s>(env: &'s Env, name: &str) -> &'s crate::Pool {
    env.state
        .pools
        .iter()
        .find(|(k, _)| k.ends_with(name) && crate::region::local_name(k) == name)
        .map(|(_, p)| p)
        .unwrap()
}

fn key_of(env: &Env, name: &str) -> String {
    env.state
        .pools
        .keys()
        .find(|k| crate::region::local_name(k) == name)
        .unwrap()
        .clone()
}

#[test]
fn each_listener_protocol_forwards_to_the_groups_aws_allows_and_relays_what_it_receives() {
    // (listener, group, what burr relays to the group's targets)
    let allowed = [
        ("UDP", "u1", Protocol::Udp),
        ("UDP", "tu1", Protocol::Udp),
        ("TCP_UDP", "tu1", Protocol::TcpUdp),
        ("TCP", "tu1", Protocol::Tcp),
        ("TCP", "t1", Protocol::Tcp),
    ];
    let mut env = Env::new();
    for (port, (protocol, group, relays)) in (1000..).zip(allowed) {
        let id = env.create("net", &on_net(protocol, port, group)).unwrap();
        let l = listener(&env.state, "net", &id).unwrap();
        assert_eq!(l.protocol.as_str(), protocol.to_lowercase(), "{protocol}");
        assert_eq!(l.pool, key_of(&env, group));
        assert_eq!(l.target_protocol(), relays, "{protocol} → {group}");
        assert_eq!(V2Protocol::of_listener(l.protocol).as_str(), protocol);
    }
    env.state.validate(None).unwrap();
}

#[test]
fn mismatched_protocols_are_incompatible_and_change_nothing() {
    // (listener, group, the group's protocol)
    let refused = [
        ("UDP", "t1", "TCP"),
        ("UDP", "tls1", "TLS"),
        ("TCP_UDP", "u1", "UDP"),
        ("TCP_UDP", "t1", "TCP"),
        ("TCP", "u1", "UDP"),
        ("TLS", "u1", "UDP"),
        ("TLS", "tu1", "TCP_UDP"),
    ];
    let mut env = Env::new();
    for (protocol, group, group_protocol) in refused {
        let mut request = on_net(protocol, 2000, group);
        if protocol == "TLS" {
            request.certificate = Some(env.certificate.clone());
        }
        let error = env.refused(|s, c| create_listener(s, "net", &request, c));
        assert_eq!(error.code, ErrorCode::IncompatibleProtocols, "{error:?}");
        let says = format!(
            "target group '{group}' has protocol {group_protocol}, which a {protocol} listener \
             cannot forward to"
        );
        assert!(error.message.contains(&says), "{error:?}");
    }
    // An application balancer takes neither.
    for protocol in ["UDP", "TCP_UDP"] {
        let request = on_net(protocol, 2001, "u1");
        let error = env.refused(|s, c| create_listener(s, "web", &request, c));
        assert_eq!(error.code, ErrorCode::UnsupportedProtocol, "{error:?}");
    }
    // A UDP listener takes no certificate.
    let request = ListenerRequest {
        certificate: Some("arn:aws:acm:us-east-1:123456789012:certificate/x".into()),
        ..on_net("UDP", 2002, "u1")
    };
    let error = env.refused(|s, c| create_listener(s, "net", &request, c));
    assert!(
        error
            .message
            .contains("only HTTPS and TLS listeners take it (this one is UDP)"),
        "{error:?}"
    );
}

#[test]
fn changing_a_listener_to_udp_changes_what_it_relays_to_a_tcp_udp_group() {
    let mut env = Env::new();
    let id = env.create("net", &on_net("TCP", 3000, "tu1")).unwrap();
    assert_eq!(
        listener(&env.state, "net", &id).unwrap().target_protocol(),
        Protocol::Tcp
    );
    let to_udp = ListenerRequest {
        protocol: Some("UDP".into()),
        ..Default::default()
    };
    modify_listener(&mut env.state, "net", &id, &to_udp, None).unwrap();
    let l = listener(&env.state, "net", &id).unwrap();
    assert_eq!(
        (l.protocol, l.target_protocol()),
        (Protocol::Udp, Protocol::Udp)
    );
    env.state.validate(None).unwrap();
    // A TCP group cannot follow it there.
    let to_t1 = ListenerRequest {
        default_action: Some(Action::forward_to("t1")),
        ..Default::default()
    };
    let error = env.refused(|s, _| modify_listener(s, "net", &id, &to_t1, None));
    assert_eq!(error.code, ErrorCode::IncompatibleProtocols, "{error:?}");
}

#[test]
fn udp_groups_are_checked_over_tcp_by_default_and_take_tcp_http_or_https() {
    let mut env = Env::new();
    for name in ["u1", "tu1"] {
        let g = group_of(&env, name);
        let v2 = g.target_group.clone().unwrap();
        assert_eq!(v2.health_check_protocol, V2Protocol::Tcp);
        assert_eq!(g.health_check.protocol, crate::HealthCheckProtocol::Tcp);
        assert_eq!(
            (
                g.health_check.timeout_secs,
                g.health_check.healthy_threshold
            ),
            (10, 5)
        );
        let key = key_of(&env, name);
        for refused in ["UDP", "TCP_UDP", "TLS"] {
            let request = HealthCheckRequest {
                protocol: Some(refused.into()),
                ..Default::default()
            };
            let error = env.refused(|s, _| modify_target_group(s, &key, &request, None));
            assert_eq!(
                error.code,
                ErrorCode::InvalidConfigurationRequest,
                "{error:?}"
            );
            assert!(
                error.message.contains(&format!(
                    "HealthCheckProtocol: \"{refused}\" is not allowed for a target group with \
                     the {} protocol: use TCP, HTTP or HTTPS",
                    v2.protocol.as_str()
                )),
                "{error:?}"
            );
        }
        // As on NLB, another port can carry an HTTP check of a UDP service.
        let request = HealthCheckRequest {
            protocol: Some("HTTP".into()),
            port: Some("8081".into()),
            path: Some("/ready".into()),
            ..Default::default()
        };
        modify_target_group(&mut env.state, &key, &request, None).unwrap();
        let check = &group_of(&env, name).health_check;
        assert_eq!(
            (check.protocol, check.port, check.path.as_str()),
            (crate::HealthCheckProtocol::Http, Some(8081), "/ready")
        );
    }
    env.state.validate(None).unwrap();
}

#[test]
fn udp_group_attributes_have_their_defaults_refusals_and_behaviour() {
    let mut env = Env::new();
    let key = key_of(&env, "u1");
    let described = target_group_attributes(group_of(&env, "u1").target_group.as_ref().unwrap());
    let value = |k: &str| {
        described
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("preserve_client_ip.enabled").as_deref(), Some("true"));
    assert_eq!(
        value("deregistration_delay.connection_termination.enabled").as_deref(),
        Some("true")
    );
    assert_eq!(
        value("target_health_state.unhealthy.connection_termination.enabled").as_deref(),
        Some("false")
    );
    assert_eq!(value("stickiness.type").as_deref(), Some("source_ip"));
    // TCP groups keep theirs.
    let tcp = target_group_attributes(group_of(&env, "t1").target_group.as_ref().unwrap());
    assert!(tcp.contains(&("preserve_client_ip.enabled".into(), "false".into())));

    for (k, v, says) in [
        (
            "preserve_client_ip.enabled",
            "false",
            "client IP preservation cannot be disabled for UDP and TCP_UDP target groups",
        ),
        (
            "target_health_state.unhealthy.connection_termination.enabled",
            "true",
            "connection termination of unhealthy targets cannot be enabled",
        ),
        (
            "stickiness.type",
            "lb_cookie",
            "Stickiness type 'lb_cookie' is not supported for target groups with the UDP protocol",
        ),
    ] {
        let given = pairs(&[("stickiness.enabled", "true"), (k, v)]);
        let error = env.refused(|s, _| modify_target_group_attributes(s, &key, &given, None));
        assert_eq!(
            error.code,
            ErrorCode::InvalidConfigurationRequest,
            "{error:?}"
        );
        assert!(error.message.contains(says), "{k}={v}: {error:?}");
    }
    // The same values are fine on a TCP group.
    let t1 = key_of(&env, "t1");
    let given = pairs(&[
        ("preserve_client_ip.enabled", "false"),
        (
            "target_health_state.unhealthy.connection_termination.enabled",
            "true",
        ),
    ]);
    modify_target_group_attributes(&mut env.state, &t1, &given, None).unwrap();

    // Source-IP stickiness, the drain delay and PROXY protocol v2 (which burr sends on UDP
    // too: AWS's model documents no refusal) set the pool.
    let given = pairs(&[
        ("stickiness.enabled", "true"),
        ("stickiness.type", "source_ip"),
        ("deregistration_delay.timeout_seconds", "30"),
        ("proxy_protocol_v2.enabled", "true"),
        ("preserve_client_ip.enabled", "true"),
    ]);
    modify_target_group_attributes(&mut env.state, &key, &given, None).unwrap();
    let pool = group_of(&env, "u1");
    assert_eq!(pool.stickiness.kind, StickinessKind::SourceIp);
    assert_eq!(pool.draining.deregistration_delay_secs, 30);
    assert_eq!(
        (
            pool.upstream.proxy_protocol,
            pool.upstream.proxy_protocol_version
        ),
        (true, Some(2))
    );
    env.state.validate(None).unwrap();
}
