use super::*;
use crate::{Balancer, Listener, Pool, Protocol, State, StickinessKind, Target, TargetAddress};

fn pool(name: &str) -> Pool {
    let mut p = Pool::new(name);
    p.targets.push(Target {
        address: TargetAddress::parse("127.0.0.1:9001", None).unwrap(),
        weight: 1,
    });
    p
}

fn state_with(listener: Listener) -> State {
    let mut b = Balancer::new("web");
    b.listeners.push(listener);
    State::default().with_file_objects(vec![b], vec![pool("p"), pool("q"), pool("r")], vec![])
}

fn rule(priority: u32, conditions: Vec<Condition>, action: Action) -> Rule {
    Rule {
        priority,
        conditions,
        action,
        elbv2: None,
    }
}

fn path(values: &[&str]) -> Condition {
    Condition::PathPattern(values.iter().map(|s| s.to_string()).collect())
}

fn host(values: &[&str]) -> Condition {
    Condition::HostHeader(values.iter().map(|s| s.to_string()).collect())
}

fn errors_of(rules: Vec<Rule>, default_action: Option<Action>) -> Vec<String> {
    let mut l = Listener::new(80, Protocol::Http, "p");
    l.rules = rules;
    l.default_action = default_action;
    match state_with(l).validate(None) {
        Ok(()) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn one_error(rules: Vec<Rule>) -> String {
    let errs = errors_of(rules, None);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs[0].clone()
}

#[test]
fn a_sound_rule_set_validates() {
    let rules = vec![
        rule(1, vec![path(&["/api/*"])], Action::forward_to("q")),
        rule(
            2,
            vec![
                host(&["*.example.com"]),
                Condition::HttpHeader(HeaderCondition {
                    name: "User-Agent".into(),
                    values: vec!["*Mobile*".into()],
                }),
            ],
            Action::Forward(Forward {
                pool: None,
                pools: vec![
                    WeightedPool {
                        pool: "p".into(),
                        weight: 0,
                    },
                    WeightedPool {
                        pool: "q".into(),
                        weight: 999,
                    },
                ],
                stickiness_secs: Some(604_800),
            }),
        ),
        rule(
            3,
            vec![Condition::SourceIp(vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ])],
            Action::FixedResponse(FixedResponse {
                status: 503,
                content_type: Some("text/plain".into()),
                body: Some("x".repeat(1024)),
            }),
        ),
    ];
    let redirect = Action::Redirect(Redirect {
        protocol: Some("HTTPS".into()),
        host: None,
        port: Some("443".into()),
        path: None,
        query: None,
        status: RedirectStatus::Permanent,
    });
    assert_eq!(errors_of(rules, Some(redirect)), Vec::<String>::new());
}

#[test]
fn priority_range_and_uniqueness() {
    let e = one_error(vec![rule(0, vec![path(&["/a"])], Action::forward_to("p"))]);
    assert_eq!(
        e,
        "balancer \"web\".listener 80.rule[0].priority: 0 is not allowed: must be between 1 and 50000"
    );
    let e = one_error(vec![rule(
        50_001,
        vec![path(&["/a"])],
        Action::forward_to("p"),
    )]);
    assert!(
        e.contains("50001 is not allowed: must be between 1 and 50000"),
        "{e}"
    );
    assert!(
        errors_of(
            vec![rule(50_000, vec![path(&["/a"])], Action::forward_to("p"))],
            None
        )
        .is_empty()
    );
    let e = one_error(vec![
        rule(7, vec![path(&["/a"])], Action::forward_to("p")),
        rule(7, vec![path(&["/b"])], Action::forward_to("p")),
    ]);
    assert!(
        e.contains("rule[1].priority: 7") && e.contains("unique"),
        "{e}"
    );
}

#[test]
fn at_most_100_rules() {
    let make = |n: u32| {
        (1..=n)
            .map(|i| rule(i, vec![path(&["/a"])], Action::forward_to("p")))
            .collect::<Vec<_>>()
    };
    assert!(errors_of(make(100), None).is_empty());
    let e = one_error(make(101));
    assert!(e.contains("101 rules") && e.contains("at most 100"), "{e}");
}

#[test]
fn a_rule_needs_a_condition() {
    let e = one_error(vec![rule(1, vec![], Action::forward_to("p"))]);
    assert!(
        e.contains("rule[0].conditions") && e.contains("at least one condition"),
        "{e}"
    );
}

#[test]
fn values_per_condition() {
    let e = one_error(vec![rule(
        1,
        vec![path(&["/a", "/b", "/c", "/d"])],
        Action::forward_to("p"),
    )]);
    assert!(
        e.contains("conditions[0].path_pattern: 4 values") && e.contains("between 1 and 3 values"),
        "{e}"
    );
    let e = one_error(vec![rule(1, vec![path(&[])], Action::forward_to("p"))]);
    assert!(e.contains("0 values"), "{e}");
    // source-ip takes five
    let cidrs = |n: usize| {
        Condition::SourceIp(
            (0..n)
                .map(|i| format!("10.{i}.0.0/16").parse().unwrap())
                .collect(),
        )
    };
    assert!(errors_of(vec![rule(1, vec![cidrs(5)], Action::forward_to("p"))], None).is_empty());
    let errs = errors_of(vec![rule(1, vec![cidrs(6)], Action::forward_to("p"))], None);
    assert!(errs[0].contains("between 1 and 5 values"), "{errs:?}");
}

#[test]
fn condition_types_once_per_rule_except_header_and_query() {
    let e = one_error(vec![rule(
        1,
        vec![path(&["/a"]), path(&["/b"])],
        Action::forward_to("p"),
    )]);
    assert!(
        e.contains("conditions[1].path_pattern") && e.contains("at most one path-pattern"),
        "{e}"
    );
    let header = |v: &str| {
        Condition::HttpHeader(HeaderCondition {
            name: "X-Env".into(),
            values: vec![v.into()],
        })
    };
    let query = Condition::QueryString(vec![QueryPair {
        key: Some("v".into()),
        value: "1".into(),
    }]);
    assert!(
        errors_of(
            vec![rule(
                1,
                vec![header("a"), header("b"), query.clone(), query],
                Action::forward_to("p")
            )],
            None
        )
        .is_empty()
    );
}

#[test]
fn five_match_evaluations_and_five_wildcards_per_rule() {
    let e = one_error(vec![rule(
        1,
        vec![
            path(&["/a", "/b", "/c"]),
            host(&["a.example.com", "b.example.com", "c.example.com"]),
        ],
        Action::forward_to("p"),
    )]);
    assert!(
        e.contains("6 match evaluations") && e.contains("at most 5 match evaluations"),
        "{e}"
    );
    assert!(
        errors_of(
            vec![rule(
                1,
                vec![
                    path(&["/a", "/b", "/c"]),
                    host(&["a.example.com", "b.example.com"])
                ],
                Action::forward_to("p")
            )],
            None
        )
        .is_empty()
    );
    let e = one_error(vec![rule(
        1,
        vec![path(&["/*/*/*"]), host(&["*.??.example.com"])],
        Action::forward_to("p"),
    )]);
    assert!(
        e.contains("6 wildcards") && e.contains("at most 5 wildcards"),
        "{e}"
    );
    assert!(
        errors_of(
            vec![rule(
                1,
                vec![path(&["/*/*/*"]), host(&["*.?.example.com"])],
                Action::forward_to("p")
            )],
            None
        )
        .is_empty()
    );
    // escaped wildcards are literals
    let q = Condition::QueryString(vec![QueryPair {
        key: None,
        value: r"\*\*\*\*\*\*".into(),
    }]);
    assert!(errors_of(vec![rule(1, vec![q], Action::forward_to("p"))], None).is_empty());
}

#[test]
fn value_syntax() {
    for (cond, needle) in [
        (
            host(&[&"a".repeat(125).to_string().replace("aaaa", "a.co")]),
            "",
        ),
        (host(&["exa_mple.com"]), "'_' is not allowed"),
        (host(&["localhost"]), "must contain a \".\""),
        (host(&["example.c0m"]), "only letters after the last"),
        (
            path(&[&format!("/{}", "a".repeat(128))]),
            "between 1 and 128 characters",
        ),
        (path(&["/a b"]), "' ' is not allowed"),
        (
            Condition::HttpRequestMethod(vec!["get".into()]),
            "'g' is not allowed",
        ),
        (
            Condition::HttpHeader(HeaderCondition {
                name: "Host".into(),
                values: vec!["x".into()],
            }),
            "host_header",
        ),
        (
            Condition::HttpHeader(HeaderCondition {
                name: "X-*".into(),
                values: vec!["x".into()],
            }),
            "",
        ),
        (
            Condition::HttpHeader(HeaderCondition {
                name: "X:Y".into(),
                values: vec!["x".into()],
            }),
            "':' is not allowed",
        ),
    ] {
        let errs = errors_of(
            vec![rule(1, vec![cond.clone()], Action::forward_to("p"))],
            None,
        );
        if needle.is_empty() {
            // '*' is a token character, so "X-*" is a valid header name
            assert!(
                errs.is_empty() || cond.field_name() == "host-header",
                "{cond:?}: {errs:?}"
            );
        } else {
            assert!(
                errs.iter().any(|e| e.contains(needle)),
                "{cond:?}: {errs:?}"
            );
        }
    }
}

#[test]
fn cidrs_parse_and_contain() {
    let c: Cidr = "10.1.0.0/16".parse().unwrap();
    assert!(c.contains("10.1.200.3".parse().unwrap()));
    assert!(!c.contains("10.2.0.1".parse().unwrap()));
    assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
    assert!(!c.contains("2001:db8::1".parse().unwrap()));
    let all: Cidr = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains("255.1.2.3".parse().unwrap()));
    let v6: Cidr = "2001:db8::/32".parse().unwrap();
    assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
    assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    let host: Cidr = "::1/128".parse().unwrap();
    assert!(host.contains("::1".parse().unwrap()));
    for bad in [
        "10.0.0.0",
        "10.0.0.0/33",
        "::/129",
        "x/8",
        "10.0.0.0/+8",
        "10.0.0.0/",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad}");
    }
}

#[test]
fn forward_pools_weights_and_stickiness() {
    let weighted = |pools: Vec<(&str, u32)>, secs: Option<u32>| {
        Action::Forward(Forward {
            pool: None,
            pools: pools
                .into_iter()
                .map(|(p, w)| WeightedPool {
                    pool: p.into(),
                    weight: w,
                })
                .collect(),
            stickiness_secs: secs,
        })
    };
    let e = one_error(vec![rule(
        1,
        vec![path(&["/a"])],
        weighted(vec![("p", 1000)], None),
    )]);
    assert_eq!(
        e,
        "balancer \"web\".listener 80.rule[0].action.forward.pools[0].weight: 1000 is not allowed: must be between 0 and 999"
    );
    let six = vec![("p", 1), ("q", 1), ("r", 1), ("p", 1), ("q", 1), ("r", 1)];
    let errs = errors_of(
        vec![rule(1, vec![path(&["/a"])], weighted(six, None))],
        None,
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("6 pools") && e.contains("between 1 and 5")),
        "{errs:?}"
    );
    let e = one_error(vec![rule(
        1,
        vec![path(&["/a"])],
        weighted(vec![("p", 1)], Some(0)),
    )]);
    assert!(
        e.contains("stickiness_secs: 0") && e.contains("between 1 and 604800 seconds"),
        "{e}"
    );
    let e = one_error(vec![rule(
        1,
        vec![path(&["/a"])],
        weighted(vec![("nope", 1)], None),
    )]);
    assert!(
        e.contains("pools[0].pool: \"nope\"") && e.contains("names no pool"),
        "{e}"
    );
    let e = one_error(vec![rule(1, vec![path(&["/a"])], weighted(vec![], None))]);
    assert!(e.contains("needs pool, or pools"), "{e}");
    // all weights 0 is accepted, as the model allows (0–999)
    assert!(
        errors_of(
            vec![rule(
                1,
                vec![path(&["/a"])],
                weighted(vec![("p", 0), ("q", 0)], None)
            )],
            None
        )
        .is_empty()
    );
}

#[test]
fn weighted_pools_with_stickiness_need_group_stickiness() {
    let mut l = Listener::new(80, Protocol::Http, "p");
    l.default_action = Some(Action::Forward(Forward {
        pool: None,
        pools: vec![
            WeightedPool {
                pool: "p".into(),
                weight: 1,
            },
            WeightedPool {
                pool: "q".into(),
                weight: 1,
            },
        ],
        stickiness_secs: None,
    }));
    let mut s = state_with(l);
    assert_eq!(s.validate(None), Ok(()));
    s.pools.get_mut("q").unwrap().stickiness.kind = StickinessKind::LbCookie;
    let errs = s.validate(None).unwrap_err();
    assert!(
        errs[0]
            .to_string()
            .contains("default_action.forward.stickiness_secs"),
        "{errs:?}"
    );
}

#[test]
fn fixed_response_fields() {
    let fixed = |status, ct: Option<&str>, body: Option<String>| {
        Action::FixedResponse(FixedResponse {
            status,
            content_type: ct.map(str::to_string),
            body,
        })
    };
    for status in [200, 299, 400, 404, 500, 599] {
        assert!(
            errors_of(vec![], Some(fixed(status, None, None))).is_empty(),
            "{status}"
        );
    }
    for status in [100, 199, 300, 302, 399, 600, 0] {
        let errs = errors_of(vec![], Some(fixed(status, None, None)));
        assert!(
            errs.len() == 1 && errs[0].contains("2XX, 4XX or 5XX"),
            "{status}: {errs:?}"
        );
    }
    let errs = errors_of(vec![], Some(fixed(200, Some("text/xml"), None)));
    assert!(
        errs[0].contains("content_type: \"text/xml\"") && errs[0].contains("application/json"),
        "{errs:?}"
    );
    let errs = errors_of(vec![], Some(fixed(200, None, Some("é".repeat(1025)))));
    assert!(
        errs[0].contains("1025 characters") && errs[0].contains("1024"),
        "{errs:?}"
    );
    assert!(errors_of(vec![], Some(fixed(200, None, Some("é".repeat(1024))))).is_empty());
}

fn redirect(f: impl FnOnce(&mut Redirect)) -> Action {
    let mut r = Redirect {
        protocol: None,
        host: None,
        port: None,
        path: None,
        query: None,
        status: RedirectStatus::Temporary,
    };
    f(&mut r);
    Action::Redirect(r)
}

#[test]
fn redirect_fields() {
    let errs = errors_of(vec![], Some(redirect(|_| {})));
    assert!(
        errs.len() == 1 && errs[0].contains("must change at least one"),
        "{errs:?}"
    );
    let errs = errors_of(vec![], Some(redirect(|r| r.query = Some("a=1".into()))));
    assert!(
        errs[0].contains("must change at least one"),
        "a query change alone loops: {errs:?}"
    );
    for (f, needle) in [
        (
            Box::new(|r: &mut Redirect| r.protocol = Some("https".into()))
                as Box<dyn Fn(&mut Redirect)>,
            "must be HTTP, HTTPS or #{protocol}",
        ),
        (
            Box::new(|r: &mut Redirect| r.port = Some("0".into())),
            "between 1 and 65535",
        ),
        (
            Box::new(|r: &mut Redirect| r.port = Some("65536".into())),
            "between 1 and 65535",
        ),
        (
            Box::new(|r: &mut Redirect| r.path = Some("new".into())),
            "starting with \"/\"",
        ),
        (
            Box::new(|r: &mut Redirect| r.path = Some("/#{query}".into())),
            "only the keywords",
        ),
        (
            Box::new(|r: &mut Redirect| r.host = Some("#{path}.example.com".into())),
            "only the keywords",
        ),
        (
            Box::new(|r: &mut Redirect| r.host = Some(String::new())),
            "between 1 and 128",
        ),
        (
            Box::new(|r: &mut Redirect| {
                r.path = Some("/x".into());
                r.query = Some("?a".into())
            }),
            "leading \"?\"",
        ),
    ] {
        let errs = errors_of(vec![], Some(redirect(f)));
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{needle}: {errs:?}"
        );
    }
    for f in [
        Box::new(|r: &mut Redirect| r.protocol = Some("HTTPS".into()))
            as Box<dyn Fn(&mut Redirect)>,
        Box::new(|r: &mut Redirect| r.port = Some("8443".into())),
        Box::new(|r: &mut Redirect| r.host = Some("new.#{host}".into())),
        Box::new(|r: &mut Redirect| r.path = Some("/new/#{path}".into())),
    ] {
        assert!(errors_of(vec![], Some(redirect(f))).is_empty());
    }
}

#[test]
fn https_listeners_may_not_redirect_to_http() {
    let mut l = Listener::new(443, Protocol::Https, "p");
    l.certificate = None;
    l.tls = Some(crate::TlsFiles {
        certificate: "c.pem".into(),
        private_key: "k.pem".into(),
    });
    l.default_action = Some(redirect(|r| r.protocol = Some("HTTP".into())));
    let errs = state_with(l).validate(None).unwrap_err();
    assert!(errs[0].to_string().contains("HTTPS to HTTP"), "{errs:?}");
}

#[test]
fn tcp_listeners_take_no_rules() {
    let mut l = Listener::new(9000, Protocol::Tcp, "p");
    l.rules = vec![rule(1, vec![path(&["/a"])], Action::forward_to("p"))];
    let errs = state_with(l).validate(None).unwrap_err();
    assert!(
        errs[0].to_string().contains("listener 9000.rule: 1 rules")
            && errs[0].to_string().contains("only http and https"),
        "{errs:?}"
    );
}

#[test]
fn redirect_location_substitutes_keywords() {
    let parts = RequestParts {
        protocol: "HTTP",
        host: "example.com",
        port: 80,
        path: "/a/b",
        query: "x=1",
    };
    let Action::Redirect(r) = redirect(|r| {
        r.protocol = Some("HTTPS".into());
        r.port = Some("443".into());
    }) else {
        unreachable!()
    };
    assert_eq!(r.location(&parts), "https://example.com/a/b?x=1");
    let Action::Redirect(r) = redirect(|r| {
        r.host = Some("new.#{host}".into());
        r.path = Some("/v2/#{path}".into());
        r.query = Some("#{query}&from=#{port}".into());
    }) else {
        unreachable!()
    };
    assert_eq!(
        r.location(&parts),
        "http://new.example.com/v2/a/b?x=1&from=80"
    );
    let Action::Redirect(r) = redirect(|r| r.port = Some("8080".into())) else {
        unreachable!()
    };
    let no_query = RequestParts { query: "", ..parts };
    assert_eq!(r.location(&no_query), "http://example.com:8080/a/b");
}

#[test]
fn listener_without_rules_defaults_to_its_pool() {
    let l = Listener::new(80, Protocol::Http, "p");
    assert_eq!(l.effective_default_action(), Action::forward_to("p"));
}

#[test]
fn a_listener_needs_a_pool_or_a_default_action() {
    let fixed = Action::FixedResponse(FixedResponse {
        status: 404,
        content_type: None,
        body: None,
    });
    // An ALB listener answering by itself has no pool of its own.
    let mut l = Listener::new(80, Protocol::Http, "");
    l.default_action = Some(fixed.clone());
    assert_eq!(l.pool_name(), None);
    state_with(l.clone()).validate(None).unwrap();
    // The serialized form (TOML's, through the same serde attributes): no `pool` key at all,
    // and none written back.
    let text = r#"{"port": 80, "protocol": "http", "default_action": {"fixed_response": {"status": 404}}}"#;
    let read: Listener = serde_json::from_str(text).unwrap();
    assert_eq!(read, l);
    assert!(!serde_json::to_string(&read).unwrap().contains("pool"));
    // Neither: refused, naming the field.
    let errs = state_with(Listener::new(80, Protocol::Http, ""))
        .validate(None)
        .unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "balancer \"web\".listener 80.pool: (missing) is not allowed: an http or https listener \
         needs a pool or a default_action"
    );
    // A TCP listener always needs one.
    let errs = state_with(Listener::new(9000, Protocol::Tcp, ""))
        .validate(None)
        .unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.to_string().contains("a tcp listener needs a pool")),
        "{errs:?}"
    );
    // Both: the default action decides, the pool stays the listener's own.
    let mut l = Listener::new(80, Protocol::Http, "p");
    l.default_action = Some(fixed.clone());
    assert_eq!(l.pool_name(), Some("p"));
    assert_eq!(l.effective_default_action(), fixed);
    state_with(l).validate(None).unwrap();
}
