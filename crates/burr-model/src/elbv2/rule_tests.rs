//! Tests of the rule operations: create, modify, delete and reorder, every error code, and that
//! a refused operation leaves the state as it was.

use super::listener_tests::{Env, fixed};
use super::*;
use crate::routing::{Action, Condition, MAX_RULES_PER_LISTENER};

fn priorities(env: &Env, listener_id: &str) -> Vec<(String, Option<u32>)> {
    rules_of(listener(&env.state, "web", listener_id).unwrap())
        .into_iter()
        .map(|r| (r.id, r.priority))
        .collect()
}

fn request(priority: i64, conditions: Vec<Condition>, action: Action) -> RuleRequest {
    RuleRequest {
        priority,
        conditions,
        action,
        tags: vec![("team".into(), "web".into())],
    }
}

#[test]
fn rules_are_made_listed_by_priority_and_tagged() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    let late = env.rule(&l, 20, Action::forward_to("h2")).unwrap();
    let early = env.rule(&l, 10, fixed(503)).unwrap();
    let listed = priorities(&env, &l);
    assert_eq!(listed[0], (early.clone(), Some(10)));
    assert_eq!(listed[1], (late.clone(), Some(20)));
    assert_eq!(listed[2].1, None);
    let rule = listener(&env.state, "web", &l)
        .unwrap()
        .rules
        .iter()
        .find(|r| r.elbv2.as_ref().is_some_and(|i| i.id == late))
        .unwrap();
    assert_eq!(rule.action, Action::forward_to("h2"));
    let rule_resource = Resource::Rule("web".into(), l.clone(), late.clone());
    assert!(tags_of(&env.state, &rule_resource).unwrap().is_empty());
    let tagged = env
        .rule_with(
            &l,
            &request(
                30,
                vec![Condition::HostHeader(vec!["a.example.com".into()])],
                fixed(200),
            ),
        )
        .unwrap();
    let resource = Resource::Rule("web".into(), l, tagged);
    assert_eq!(tags_of(&env.state, &resource).unwrap()["team"], "web");
}

#[test]
fn create_rule_refusals_name_the_parameter_and_change_nothing() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    env.rule(&l, 10, Action::forward_to("h2")).unwrap();
    let tcp = ListenerRequest {
        protocol: Some("TCP".into()),
        port: Some(22),
        default_action: Some(Action::forward_to("t1")),
        ..Default::default()
    };
    let net_listener = env.create("net", &tcp).unwrap();
    let path = || vec![Condition::PathPattern(vec!["/a".into()])];
    let cases: Vec<(&str, &str, RuleRequest, ErrorCode, &str)> = vec![
        (
            "web",
            "0000000000000000",
            request(1, path(), fixed(200)),
            ErrorCode::ListenerNotFound,
            "",
        ),
        (
            "net",
            &net_listener,
            request(1, path(), Action::forward_to("t1")),
            ErrorCode::UnsupportedProtocol,
            "only HTTP and HTTPS",
        ),
        (
            "web",
            &l,
            request(10, path(), fixed(200)),
            ErrorCode::PriorityInUse,
            "Priority: 10",
        ),
        (
            "web",
            &l,
            request(0, path(), fixed(200)),
            ErrorCode::ValidationError,
            "Priority: 0 is not allowed: must be between 1 and 50000",
        ),
        (
            "web",
            &l,
            request(50_001, path(), fixed(200)),
            ErrorCode::ValidationError,
            "Priority: 50001",
        ),
        (
            "web",
            &l,
            request(2, vec![], fixed(200)),
            ErrorCode::ValidationError,
            "Conditions: [] is not allowed",
        ),
        (
            "web",
            &l,
            request(
                2,
                vec![Condition::HostHeader(vec!["no_dot".into()])],
                fixed(200),
            ),
            ErrorCode::ValidationError,
            "Conditions.member.1.HostHeaderConfig.Values.member.1: \"no_dot\"",
        ),
        (
            "web",
            &l,
            request(
                2,
                vec![Condition::PathPattern(vec![
                    "/a".into(),
                    "/b".into(),
                    "/c".into(),
                    "/d".into(),
                ])],
                fixed(200),
            ),
            ErrorCode::ValidationError,
            "Conditions.member.1.PathPatternConfig.Values: 4 values",
        ),
        (
            "web",
            &l,
            request(2, path(), fixed(99)),
            ErrorCode::ValidationError,
            "Actions.member.1.FixedResponseConfig.StatusCode: 99",
        ),
        (
            "web",
            &l,
            request(2, path(), Action::forward_to("gone")),
            ErrorCode::TargetGroupNotFound,
            "gone",
        ),
        (
            "web",
            &l,
            request(2, path(), Action::forward_to("s1")),
            ErrorCode::IncompatibleProtocols,
            "one protocol",
        ),
        (
            "web",
            &l,
            request(2, path(), Action::forward_to("t1")),
            ErrorCode::IncompatibleProtocols,
            "protocol TCP",
        ),
    ];
    for (key, listener_id, rule, code, part) in cases {
        let e = env.refused(|s, c| create_rule(s, key, listener_id, &rule, c));
        assert_eq!(e.code, code, "{rule:?}: {e:?}");
        assert!(e.message.contains(part), "{rule:?}: {}", e.message);
    }
}

#[test]
fn a_listener_takes_at_most_its_quota_of_rules() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    for priority in 1..=MAX_RULES_PER_LISTENER as i64 {
        env.rule(&l, priority, fixed(200)).unwrap();
    }
    let e = env.refused(|s, c| {
        create_rule(
            s,
            "web",
            &l,
            &request(
                500,
                vec![Condition::PathPattern(vec!["/x".into()])],
                fixed(200),
            ),
            c,
        )
    });
    assert_eq!(e.code, ErrorCode::TooManyRules);
}

#[test]
fn modify_rule_changes_conditions_or_actions_and_the_default_rule_its_actions() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    let rule = env.rule(&l, 10, fixed(200)).unwrap();
    let hosts = vec![Condition::HostHeader(vec!["b.example.com".into()])];
    modify_rule(&mut env.state, "web", &l, &rule, Some(&hosts), None, None).unwrap();
    modify_rule(
        &mut env.state,
        "web",
        &l,
        &rule,
        None,
        Some(&Action::forward_to("h2")),
        None,
    )
    .unwrap();
    let stored = &listener(&env.state, "web", &l).unwrap().rules[0];
    assert_eq!(
        (&stored.conditions, &stored.action),
        (&hosts, &Action::forward_to("h2"))
    );
    let e = env.refused(|s, _| modify_rule(s, "web", &l, &rule, Some(&[]), None, None));
    assert!(
        e.message.starts_with("Conditions: [] is not allowed"),
        "{}",
        e.message
    );
    let e = env.refused(|s, _| {
        modify_rule(
            s,
            "web",
            &l,
            &rule,
            None,
            Some(&Action::forward_to("s1")),
            None,
        )
    });
    assert_eq!(e.code, ErrorCode::IncompatibleProtocols);
    let e = env.refused(|s, _| modify_rule(s, "web", &l, "0000000000000000", None, None, None));
    assert_eq!(e.code, ErrorCode::RuleNotFound);
    // The default rule: its actions are the listener's default action; it has no conditions.
    let default_rule = listener(&env.state, "web", &l)
        .unwrap()
        .elbv2
        .as_ref()
        .unwrap()
        .default_rule_id
        .clone();
    modify_rule(
        &mut env.state,
        "web",
        &l,
        &default_rule,
        None,
        Some(&Action::forward_to("h2")),
        None,
    )
    .unwrap();
    let listener_now = listener(&env.state, "web", &l).unwrap();
    assert_eq!(
        (
            listener_now.pool.as_str(),
            listener_now.default_action.clone()
        ),
        ("h2", Some(Action::forward_to("h2")))
    );
    let e = env.refused(|s, _| modify_rule(s, "web", &l, &default_rule, Some(&hosts), None, None));
    assert_eq!(e.code, ErrorCode::OperationNotPermitted);
    let e =
        env.refused(|s, _| modify_rule(s, "web", &l, &default_rule, None, Some(&fixed(1)), None));
    assert!(
        e.message
            .starts_with("Actions.member.1.FixedResponseConfig.StatusCode"),
        "{}",
        e.message
    );
}

#[test]
fn delete_rule_keeps_the_default_rule() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    let rule = env.rule(&l, 10, Action::forward_to("h2")).unwrap();
    let default_rule = priorities(&env, &l)[1].0.clone();
    let e = env.refused(|s, _| delete_rule(s, "web", &l, &default_rule));
    assert_eq!(e.code, ErrorCode::OperationNotPermitted);
    delete_rule(&mut env.state, "web", &l, &rule).unwrap();
    assert_eq!(priorities(&env, &l).len(), 1);
    let e = env.refused(|s, _| delete_rule(s, "web", &l, &rule));
    assert_eq!(e.code, ErrorCode::RuleNotFound);
}

#[test]
fn set_rule_priorities_is_all_or_nothing() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    let a = env.rule(&l, 10, fixed(200)).unwrap();
    let b = env.rule(&l, 20, fixed(201)).unwrap();
    let c = env.rule(&l, 30, fixed(202)).unwrap();
    let change = |rule: &str, priority: i64| RulePriority {
        key: "web".into(),
        listener_id: l.clone(),
        rule_id: rule.to_string(),
        priority,
    };
    // A swap works because every priority changes at once.
    set_rule_priorities(&mut env.state, &[change(&a, 20), change(&b, 10)], None).unwrap();
    let listed: Vec<String> = priorities(&env, &l).into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed[..3], [b.clone(), a.clone(), c.clone()]);
    let default_rule = listed[3].clone();
    let cases = [
        (
            vec![change(&a, 5), change(&b, 30)],
            ErrorCode::PriorityInUse,
        ),
        (vec![change(&a, 0)], ErrorCode::ValidationError),
        (
            vec![change(&default_rule, 1)],
            ErrorCode::OperationNotPermitted,
        ),
        (
            vec![change(&a, 1), change("0000000000000000", 2)],
            ErrorCode::RuleNotFound,
        ),
        (
            vec![change(&a, 1), change(&a, 2)],
            ErrorCode::ValidationError,
        ),
    ];
    for (changes, code) in cases {
        let e = env.refused(|s, _| set_rule_priorities(s, &changes, None));
        assert_eq!(e.code, code, "{changes:?}: {e:?}");
    }
}

#[test]
fn a_weighted_forward_to_a_sticky_group_needs_group_stickiness() {
    let mut env = Env::new();
    let l = env.http_listener(80, "h1");
    let sticky = [("stickiness.enabled".to_string(), "true".to_string())];
    modify_target_group_attributes(&mut env.state, "h2", &sticky, None).unwrap();
    let weighted = |stickiness_secs| {
        Action::Forward(crate::routing::Forward {
            pool: None,
            pools: ["h1", "h2"]
                .map(|p| crate::routing::WeightedPool {
                    pool: p.into(),
                    weight: 1,
                })
                .to_vec(),
            stickiness_secs,
        })
    };
    let without = request(
        5,
        vec![Condition::PathPattern(vec!["/w".into()])],
        weighted(None),
    );
    let e = env.refused(|s, c| create_rule(s, "web", &l, &without, c));
    assert_eq!(e.code, ErrorCode::InvalidConfigurationRequest);
    assert!(
        e.message.starts_with(
            "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds: \
             (missing) is not allowed: target group \"h2\" has stickiness"
        ),
        "{}",
        e.message
    );
    let with = request(
        5,
        vec![Condition::PathPattern(vec!["/w".into()])],
        weighted(Some(60)),
    );
    env.rule_with(&l, &with).unwrap();
}
