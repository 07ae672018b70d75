//! Tests of the listener and rule operations: what they make, every error code they answer,
//! and that a refused operation leaves the state as it was.

use super::*;
use crate::State;
use crate::certificates::{CertContext, request_certificate};
use crate::classic::AddressPool;
use crate::routing::{Action, Condition, FixedResponse, Forward, Redirect, RedirectStatus};

const NOW: u64 = 1_700_000_000;

fn context(pool: &AddressPool) -> Context<'_> {
    Context {
        listen_host: None,
        address_pool: pool,
        now: NOW,
        fresh: 7,
    }
}

/// An application balancer `web`, a network one `net`, target groups of every protocol burr
/// serves (`h1`, `h2` HTTP, `s1` HTTPS, `t1` TCP, `tls1` TLS, `u1` UDP, `tu1` TCP_UDP) and one
/// certificate.
pub(super) struct Env {
    pub(super) state: State,
    pool: AddressPool,
    pub(super) certificate: String,
}

impl Env {
    pub(super) fn new() -> Self {
        let pool: AddressPool = AddressPool::DEFAULT.parse().unwrap();
        let mut state = State::default();
        for (name, kind) in [
            ("web", LoadBalancerType::Application),
            ("net", LoadBalancerType::Network),
        ] {
            let request = LoadBalancerRequest {
                kind,
                scheme: None,
                ip_address_type: None,
                subnets: vec!["subnet-a".into()],
                security_groups: vec![],
                tags: vec![],
            };
            create_load_balancer(&mut state, name, &request, context(&pool)).unwrap();
        }
        for (name, protocol) in [
            ("h1", "HTTP"),
            ("h2", "HTTP"),
            ("s1", "HTTPS"),
            ("t1", "TCP"),
            ("tls1", "TLS"),
            ("u1", "UDP"),
            ("tu1", "TCP_UDP"),
        ] {
            let request = TargetGroupRequest {
                protocol: Some(protocol.into()),
                protocol_version: None,
                port: Some(8080),
                vpc_id: Some("vpc-1".into()),
                target_type: Some("ip".into()),
                ip_address_type: None,
                health_check: HealthCheckRequest::default(),
                tags: vec![],
            };
            create_target_group(&mut state, name, &request, context(&pool)).unwrap();
        }
        let certificate = request_certificate(
            &mut state,
            CertContext {
                account: "123456789012",
                region: "us-east-1",
                now: NOW,
                fresh: [1; 16],
            },
            "web.example.com",
            &[],
            None,
            &[],
        )
        .unwrap();
        Self {
            state,
            pool,
            certificate,
        }
    }

    pub(super) fn create(
        &mut self,
        key: &str,
        request: &ListenerRequest,
    ) -> Result<String, V2Error> {
        create_listener(&mut self.state, key, request, context(&self.pool))
    }

    /// The error of a refused operation, after checking it changed nothing.
    pub(super) fn refused<T: std::fmt::Debug>(
        &mut self,
        op: impl FnOnce(&mut State, Context) -> Result<T, V2Error>,
    ) -> V2Error {
        let before = self.state.clone();
        let error = op(&mut self.state, context(&self.pool)).unwrap_err();
        assert_eq!(self.state, before, "{error:?} changed the state");
        error
    }

    pub(super) fn http_listener(&mut self, port: i64, pool: &str) -> String {
        self.create("web", &http(port, Action::forward_to(pool)))
            .unwrap()
    }

    pub(super) fn rule(
        &mut self,
        listener: &str,
        priority: i64,
        action: Action,
    ) -> Result<String, V2Error> {
        let request = RuleRequest {
            priority,
            conditions: vec![Condition::PathPattern(vec![format!("/p{priority}/*")])],
            action,
            tags: vec![],
        };
        self.rule_with(listener, &request)
    }

    pub(super) fn rule_with(
        &mut self,
        listener: &str,
        request: &RuleRequest,
    ) -> Result<String, V2Error> {
        create_rule(
            &mut self.state,
            "web",
            listener,
            request,
            context(&self.pool),
        )
    }
}

fn http(port: i64, action: Action) -> ListenerRequest {
    ListenerRequest {
        protocol: Some("HTTP".into()),
        port: Some(port),
        default_action: Some(action),
        ..Default::default()
    }
}

fn listener_of<'s>(state: &'s State, key: &str, id: &str) -> &'s crate::Listener {
    listener(state, key, id).unwrap()
}

fn weighted(pools: &[&str]) -> Action {
    Action::Forward(Forward {
        pool: None,
        pools: pools
            .iter()
            .map(|p| crate::routing::WeightedPool {
                pool: p.to_string(),
                weight: 1,
            })
            .collect(),
        stickiness_secs: None,
    })
}

pub(super) fn fixed(status: u16) -> Action {
    Action::FixedResponse(FixedResponse {
        status,
        content_type: None,
        body: None,
    })
}

#[test]
fn an_http_listener_forwards_to_its_target_group() {
    let mut env = Env::new();
    let id = env.http_listener(80, "h1");
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(id.len(), 16);
    assert_eq!(l.pool, "h1");
    assert_eq!(l.protocol, crate::Protocol::Http);
    assert_eq!(l.instance_protocol, Some(crate::Protocol::Http));
    assert_eq!(l.default_action, Some(Action::forward_to("h1")));
    let v2 = l.elbv2.as_ref().unwrap();
    assert_ne!(v2.default_rule_id, v2.id);
    // The default rule is the only one: no priority, no conditions.
    let rules = rules_of(l);
    assert_eq!(rules.len(), 1);
    assert!(rules[0].is_default() && rules[0].conditions.is_empty());
    assert_eq!(rules[0].id, v2.default_rule_id);
    assert!(listener_uses(l, "h1"));
}

#[test]
fn https_and_tls_listeners_take_a_certificate_and_a_policy() {
    let mut env = Env::new();
    let request = ListenerRequest {
        protocol: Some("HTTPS".into()),
        port: Some(443),
        certificate: Some(env.certificate.clone()),
        default_action: Some(Action::forward_to("s1")),
        ..Default::default()
    };
    let id = env.create("web", &request).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(l.certificate.as_ref(), Some(&env.certificate));
    assert_eq!(l.instance_protocol, Some(crate::Protocol::Https));
    assert_eq!(
        l.elbv2.as_ref().unwrap().ssl_policy.as_deref(),
        Some(DEFAULT_SSL_POLICY)
    );
    let tls = ListenerRequest {
        protocol: Some("TLS".into()),
        port: Some(8443),
        certificate: Some(env.certificate.clone()),
        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-3-2021-06".into()),
        alpn_policy: Some(vec!["HTTP2Preferred".into()]),
        default_action: Some(Action::forward_to("tls1")),
        ..Default::default()
    };
    let id = env.create("net", &tls).unwrap();
    let l = listener_of(&env.state, "net", &id);
    assert_eq!(l.protocol, crate::Protocol::Ssl);
    assert_eq!(l.pool, "tls1");
    // TCP and TLS listeners hold their target group in `pool`, without actions.
    assert_eq!(l.default_action, None);
    assert_eq!(l.effective_default_action(), Action::forward_to("tls1"));
    assert_eq!(l.instance_protocol, Some(crate::Protocol::Ssl));
    let v2 = l.elbv2.as_ref().unwrap();
    assert_eq!(
        v2.ssl_policy.as_deref(),
        Some("ELBSecurityPolicy-TLS13-1-3-2021-06")
    );
    assert_eq!(v2.alpn_policy, ["HTTP2Preferred"]);
}

#[test]
fn create_listener_refusals_name_the_parameter_and_change_nothing() {
    let mut env = Env::new();
    env.http_listener(80, "h1");
    let cert = env.certificate.clone();
    let https = |action: Action| ListenerRequest {
        protocol: Some("HTTPS".into()),
        port: Some(443),
        certificate: Some(cert.clone()),
        default_action: Some(action),
        ..Default::default()
    };
    let with = |f: &dyn Fn(&mut ListenerRequest)| {
        let mut r = http(81, Action::forward_to("h1"));
        f(&mut r);
        r
    };
    let redirect_bad_port = Action::Redirect(Redirect {
        protocol: None,
        host: None,
        port: Some("70000".into()),
        path: None,
        query: None,
        status: RedirectStatus::Permanent,
    });
    let cases: Vec<(&str, ListenerRequest, ErrorCode, &str)> = vec![
        (
            "nope",
            http(81, Action::forward_to("h1")),
            ErrorCode::LoadBalancerNotFound,
            "nope",
        ),
        (
            "web",
            with(&|r| r.protocol = None),
            ErrorCode::ValidationError,
            "Protocol: (missing)",
        ),
        (
            "web",
            with(&|r| r.protocol = Some("FTP".into())),
            ErrorCode::ValidationError,
            "Protocol: \"FTP\"",
        ),
        (
            "web",
            with(&|r| r.protocol = Some("UDP".into())),
            ErrorCode::UnsupportedProtocol,
            "an application load balancer listens with HTTP or HTTPS",
        ),
        (
            "web",
            with(&|r| r.protocol = Some("TCP".into())),
            ErrorCode::UnsupportedProtocol,
            "application load balancer",
        ),
        (
            "net",
            http(81, Action::forward_to("t1")),
            ErrorCode::UnsupportedProtocol,
            "network load balancer",
        ),
        (
            "web",
            with(&|r| r.port = Some(0)),
            ErrorCode::ValidationError,
            "Port: 0 is not allowed: must be between 1 and 65535",
        ),
        (
            "web",
            with(&|r| r.port = None),
            ErrorCode::ValidationError,
            "Port: (missing)",
        ),
        (
            "web",
            http(80, Action::forward_to("h2")),
            ErrorCode::DuplicateListener,
            "port 80",
        ),
        (
            "web",
            with(&|r| r.default_action = None),
            ErrorCode::ValidationError,
            "DefaultActions: (missing)",
        ),
        (
            "web",
            with(&|r| r.ssl_policy = Some("ELBSecurityPolicy-TLS13-1-3-2021-06".into())),
            ErrorCode::ValidationError,
            "SslPolicy: (present)",
        ),
        (
            "web",
            with(&|r| r.certificate = Some(cert.clone())),
            ErrorCode::ValidationError,
            "Certificates: (present)",
        ),
        (
            "web",
            {
                let mut r = https(Action::forward_to("s1"));
                r.certificate = None;
                r
            },
            ErrorCode::ValidationError,
            "Certificates: (missing)",
        ),
        (
            "web",
            {
                let mut r = https(Action::forward_to("s1"));
                r.certificate = Some("arn:aws:acm:us-east-1:123456789012:certificate/none".into());
                r
            },
            ErrorCode::CertificateNotFound,
            "Certificates.member.1.CertificateArn",
        ),
        (
            "web",
            {
                let mut r = https(Action::forward_to("s1"));
                r.ssl_policy = Some("ELBSecurityPolicy-Nope".into());
                r
            },
            ErrorCode::SslPolicyNotFound,
            "SslPolicy: \"ELBSecurityPolicy-Nope\"",
        ),
        (
            "web",
            {
                let mut r = https(Action::forward_to("s1"));
                r.alpn_policy = Some(vec!["HTTP2Only".into()]);
                r
            },
            ErrorCode::ValidationError,
            "only TLS listeners take an ALPN policy",
        ),
        (
            "web",
            http(81, Action::forward_to("gone")),
            ErrorCode::TargetGroupNotFound,
            "gone",
        ),
        (
            "web",
            http(81, Action::forward_to("t1")),
            ErrorCode::IncompatibleProtocols,
            "protocol TCP",
        ),
        (
            "web",
            http(81, weighted(&["h1", "s1"])),
            ErrorCode::IncompatibleProtocols,
            "one protocol",
        ),
        (
            "web",
            http(81, redirect_bad_port),
            ErrorCode::ValidationError,
            "DefaultActions.member.1.RedirectConfig.Port: \"70000\"",
        ),
        (
            "web",
            http(81, fixed(302)),
            ErrorCode::ValidationError,
            "DefaultActions.member.1.FixedResponseConfig.StatusCode: 302",
        ),
        (
            "net",
            ListenerRequest {
                protocol: Some("TCP".into()),
                port: Some(81),
                default_action: Some(Action::forward_to("h1")),
                ..Default::default()
            },
            ErrorCode::IncompatibleProtocols,
            "protocol HTTP",
        ),
        (
            "net",
            ListenerRequest {
                protocol: Some("TCP".into()),
                port: Some(81),
                default_action: Some(Action::forward_to("tls1")),
                ..Default::default()
            },
            ErrorCode::IncompatibleProtocols,
            "protocol TLS",
        ),
        (
            "net",
            ListenerRequest {
                protocol: Some("TCP".into()),
                port: Some(81),
                default_action: Some(fixed(200)),
                ..Default::default()
            },
            ErrorCode::InvalidLoadBalancerAction,
            "exactly one target group",
        ),
    ];
    for (key, request, code, part) in cases {
        let e = env.refused(|s, c| create_listener(s, key, &request, c));
        assert_eq!(e.code, code, "{request:?}: {e:?}");
        assert!(e.message.contains(part), "{request:?}: {}", e.message);
    }
}

#[test]
fn a_balancer_takes_at_most_its_quota_of_listeners() {
    let mut env = Env::new();
    for port in 0..MAX_LISTENERS as i64 {
        env.http_listener(1000 + port, "h1");
    }
    let e = env.refused(|s, c| create_listener(s, "web", &http(80, Action::forward_to("h1")), c));
    assert_eq!(e.code, ErrorCode::TooManyListeners);
}

#[test]
fn modify_listener_changes_what_is_given_and_checks_the_result() {
    let mut env = Env::new();
    let id = env.http_listener(80, "h1");
    env.http_listener(81, "h1");
    let port_82 = ListenerRequest {
        port: Some(82),
        ..Default::default()
    };
    modify_listener(&mut env.state, "web", &id, &port_82, None).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!((l.port, l.pool.as_str()), (82, "h1"));
    // HTTP to HTTPS needs a certificate; with one, the listener gets the default policy.
    let to_https = ListenerRequest {
        protocol: Some("HTTPS".into()),
        ..Default::default()
    };
    let e = env.refused(|s, _| modify_listener(s, "web", &id, &to_https, None));
    assert_eq!(e.code, ErrorCode::ValidationError);
    assert!(
        e.message.starts_with("Certificates: (missing)"),
        "{}",
        e.message
    );
    let with_cert = ListenerRequest {
        certificate: Some(env.certificate.clone()),
        ..to_https.clone()
    };
    modify_listener(&mut env.state, "web", &id, &with_cert, None).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(l.protocol, crate::Protocol::Https);
    assert_eq!(
        l.elbv2.as_ref().unwrap().ssl_policy.as_deref(),
        Some(DEFAULT_SSL_POLICY)
    );
    // Back to HTTP: certificate and policy go.
    let to_http = ListenerRequest {
        protocol: Some("HTTP".into()),
        ..Default::default()
    };
    modify_listener(&mut env.state, "web", &id, &to_http, None).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(
        (
            l.certificate.as_ref(),
            l.elbv2.as_ref().unwrap().ssl_policy.as_ref()
        ),
        (None, None)
    );
    // Refusals: a taken port, a missing target group, another protocol than the rules'.
    let taken = ListenerRequest {
        port: Some(81),
        ..Default::default()
    };
    let e = env.refused(|s, _| modify_listener(s, "web", &id, &taken, None));
    assert_eq!(e.code, ErrorCode::DuplicateListener);
    let gone = ListenerRequest {
        default_action: Some(Action::forward_to("gone")),
        ..Default::default()
    };
    let e = env.refused(|s, _| modify_listener(s, "web", &id, &gone, None));
    assert_eq!(e.code, ErrorCode::TargetGroupNotFound);
    env.rule(&id, 10, Action::forward_to("h2")).unwrap();
    let https_group = ListenerRequest {
        default_action: Some(Action::forward_to("s1")),
        ..Default::default()
    };
    let e = env.refused(|s, _| modify_listener(s, "web", &id, &https_group, None));
    assert_eq!(e.code, ErrorCode::IncompatibleProtocols);
    let e = env.refused(|s, _| modify_listener(s, "web", "0000000000000000", &port_82, None));
    assert_eq!(e.code, ErrorCode::ListenerNotFound);
    // The default action changes to another HTTP group.
    let h2 = ListenerRequest {
        default_action: Some(Action::forward_to("h2")),
        ..Default::default()
    };
    modify_listener(&mut env.state, "web", &id, &h2, None).unwrap();
    assert_eq!(listener_of(&env.state, "web", &id).pool, "h2");
}

#[test]
fn delete_listener_removes_it_with_its_rules() {
    let mut env = Env::new();
    let id = env.http_listener(80, "h1");
    env.rule(&id, 5, Action::forward_to("h2")).unwrap();
    assert!(!balancers_using(&env.state, "h2").is_empty());
    delete_listener(&mut env.state, "web", &id).unwrap();
    assert!(
        load_balancer(&env.state, "web", None)
            .unwrap()
            .listeners
            .is_empty()
    );
    assert!(balancers_using(&env.state, "h2").is_empty());
    let e = env.refused(|s, _| delete_listener(s, "web", &id));
    assert_eq!(e.code, ErrorCode::ListenerNotFound);
}

#[test]
fn listener_attributes_are_checked_by_type_and_stored() {
    let mut env = Env::new();
    let id = env.http_listener(80, "h1");
    assert_eq!(
        listener_attributes(&env.state, "web", &id).unwrap(),
        [(
            "routing.http.response.server.enabled".to_string(),
            "true".to_string()
        )]
    );
    let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    modify_listener_attributes(
        &mut env.state,
        "web",
        &id,
        &set("routing.http.response.server.enabled", "false"),
    )
    .unwrap();
    assert_eq!(
        listener_attributes(&env.state, "web", &id).unwrap()[0].1,
        "false"
    );
    for (k, v) in [
        ("tcp.idle_timeout.seconds", "100"),
        ("no.such.key", "1"),
        ("routing.http.response.server.enabled", "maybe"),
    ] {
        let e = env.refused(|s, _| modify_listener_attributes(s, "web", &id, &set(k, v)));
        assert_eq!(e.code, ErrorCode::ValidationError, "{k}");
        assert!(e.message.contains(k), "{}", e.message);
    }
    let tcp = ListenerRequest {
        protocol: Some("TCP".into()),
        port: Some(22),
        default_action: Some(Action::forward_to("t1")),
        ..Default::default()
    };
    let net_id = env.create("net", &tcp).unwrap();
    let e = env.refused(|s, _| {
        modify_listener_attributes(s, "net", &net_id, &set("tcp.idle_timeout.seconds", "59"))
    });
    assert!(e.message.contains("between 60 and 6000"), "{}", e.message);
    modify_listener_attributes(
        &mut env.state,
        "net",
        &net_id,
        &set("tcp.idle_timeout.seconds", "600"),
    )
    .unwrap();
    assert_eq!(
        listener_attributes(&env.state, "net", &net_id).unwrap(),
        [("tcp.idle_timeout.seconds".to_string(), "600".to_string())]
    );
}

#[test]
fn listener_certificates_add_remove_and_keep_the_default() {
    let mut env = Env::new();
    let request = ListenerRequest {
        protocol: Some("HTTPS".into()),
        port: Some(443),
        certificate: Some(env.certificate.clone()),
        default_action: Some(Action::forward_to("s1")),
        ..Default::default()
    };
    let id = env.create("web", &request).unwrap();
    // More certificates, stored under their own ARNs.
    let original = env.state.certificates[&env.certificate].clone();
    let extra: Vec<String> = (0..=MAX_LISTENER_CERTIFICATES)
        .map(|i| format!("arn:aws:iam::123456789012:server-certificate/extra{i}"))
        .collect();
    for arn in &extra {
        let mut c = original.clone();
        c.arn = arn.clone();
        env.state.certificates.insert(arn.clone(), c);
    }
    add_listener_certificates(&mut env.state, "web", &id, &extra[..2]).unwrap();
    // Adding again (and the default) adds nothing.
    add_listener_certificates(
        &mut env.state,
        "web",
        &id,
        &[extra[0].clone(), env.certificate.clone()],
    )
    .unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(
        listener_certificates(l),
        [
            (env.certificate.clone(), true),
            (extra[0].clone(), false),
            (extra[1].clone(), false)
        ]
    );
    let e = env.refused(|s, _| add_listener_certificates(s, "web", &id, &["arn:nope".to_string()]));
    assert_eq!(e.code, ErrorCode::CertificateNotFound);
    let e = env.refused(|s, _| add_listener_certificates(s, "web", &id, &extra));
    assert_eq!(e.code, ErrorCode::TooManyCertificates);
    let default = [env.certificate.clone()];
    let e = env.refused(|s, _| remove_listener_certificates(s, "web", &id, &default));
    assert_eq!(e.code, ErrorCode::OperationNotPermitted);
    remove_listener_certificates(
        &mut env.state,
        "web",
        &id,
        &[extra[0].clone(), "arn:absent".into()],
    )
    .unwrap();
    assert_eq!(
        listener_of(&env.state, "web", &id).sni_certificates,
        [extra[1].clone()]
    );
    // An ACM certificate of another region is not this balancer's.
    let elsewhere = "arn:aws:acm:eu-west-1:123456789012:certificate/elsewhere".to_string();
    let mut c = original.clone();
    c.arn = elsewhere.clone();
    env.state.certificates.insert(elsewhere.clone(), c);
    let e = env.refused(|s, _| add_listener_certificates(s, "web", &id, &[elsewhere]));
    assert_eq!(e.code, ErrorCode::CertificateNotFound);
    assert!(e.message.contains("region us-east-1"), "{}", e.message);
    // Made the default, a certificate leaves the others.
    let promote = ListenerRequest {
        certificate: Some(extra[1].clone()),
        ..Default::default()
    };
    modify_listener(&mut env.state, "web", &id, &promote, None).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(listener_certificates(l), [(extra[1].clone(), true)]);
    let http_id = env.http_listener(80, "h1");
    let e = env.refused(|s, _| add_listener_certificates(s, "web", &http_id, &extra[..1]));
    assert_eq!(e.code, ErrorCode::ValidationError);
}

/// A listener whose default action does not forward to one group has no pool: the default
/// action decides.
#[test]
fn default_actions_that_do_not_forward_to_one_group_leave_pool_empty() {
    let mut env = Env::new();
    let id = env.create("web", &http(80, fixed(404))).unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!((l.pool.as_str(), l.instance_protocol), ("", None));
    let id = env
        .create("web", &http(81, weighted(&["h1", "h2"])))
        .unwrap();
    let l = listener_of(&env.state, "web", &id);
    assert_eq!(
        (l.pool.as_str(), l.instance_protocol),
        ("", Some(crate::Protocol::Http))
    );
}

#[test]
fn tcp_idle_timeout_is_the_network_listeners_idle_timeout() {
    let mut env = Env::new();
    let tcp = ListenerRequest {
        protocol: Some("TCP".into()),
        port: Some(22),
        default_action: Some(Action::forward_to("t1")),
        ..Default::default()
    };
    let id = env.create("net", &tcp).unwrap();
    // A new NLB listener relays with the attribute's default.
    assert_eq!(listener_of(&env.state, "net", &id).idle_timeout_secs, 350);
    let set = |v: &str| vec![("tcp.idle_timeout.seconds".to_string(), v.to_string())];
    modify_listener_attributes(&mut env.state, "net", &id, &set("6000")).unwrap();
    assert_eq!(listener_of(&env.state, "net", &id).idle_timeout_secs, 6000);
    // 6000 s holds for the NLB listener; the model keeps Classic's 1–3600 for the others.
    env.state.validate(None).unwrap();
    let mut classic = listener_of(&env.state, "net", &id).clone();
    classic.elbv2 = None;
    let key = env
        .state
        .balancers
        .keys()
        .find(|k| k.ends_with("net"))
        .unwrap()
        .clone();
    env.state.balancers.get_mut(&key).unwrap().listeners[0] = classic;
    let errors = env.state.validate(None).unwrap_err();
    assert!(
        errors[0].to_string().contains("idle_timeout_secs: 6000")
            && errors[0].to_string().contains("between 1 and 3600"),
        "{errors:?}"
    );
}
