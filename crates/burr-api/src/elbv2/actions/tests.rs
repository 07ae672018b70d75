//! Decoding, encoding and the round trip through XML of actions and conditions.

use super::*;
use crate::xml::Response;
use quick_xml::events::Event;

mod conditions;

const ARN_A: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/73e2d6bc24d8a067";
const ARN_B: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/0123456789abcdef";

/// ARN → pool key, as the handlers will: the name after `targetgroup/`.
fn resolve(arn: &str) -> Result<String, ApiError> {
    arn.strip_prefix("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/")
        .and_then(|rest| rest.split_once('/'))
        .map(|(name, _)| name.to_string())
        .ok_or_else(|| {
            ApiError::new(
                "TargetGroupNotFound",
                400,
                format!("target group {arn:?} not found"),
            )
        })
}

fn arn(pool: &str) -> String {
    match pool {
        "a" => ARN_A.to_string(),
        "b" => ARN_B.to_string(),
        other => format!("arn:unknown:{other}"),
    }
}

/// A refused request, the code and a part of the message expected.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

fn params(pairs: &[(&str, &str)]) -> Params {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Params::decode("", body.as_bytes()).unwrap()
}

fn actions(pairs: &[(&str, &str)]) -> Result<Option<Action>, ApiError> {
    decode_actions(&params(pairs), "Actions", &resolve)
}

fn action(pairs: &[(&str, &str)]) -> Action {
    actions(pairs).unwrap().unwrap()
}

fn refusal(pairs: &[(&str, &str)]) -> (&'static str, String) {
    let e = actions(pairs).unwrap_err();
    (e.code, e.message)
}

fn conditions(pairs: &[(&str, &str)]) -> Result<Vec<Condition>, ApiError> {
    decode_conditions(&params(pairs), "Conditions").map(Option::unwrap)
}

fn condition_refusal(pairs: &[(&str, &str)]) -> (&'static str, String) {
    let e = conditions(pairs).unwrap_err();
    (e.code, e.message)
}

/// The XML a writer produces, flattened back into query parameters the way an SDK would send
/// the same structure: `<X><member>` becomes `X.member.N`, an empty element `X=`.
fn flatten(write: impl FnOnce(&mut Xml)) -> Vec<(String, String)> {
    let mut response = Response::start("Test", "urn:test");
    write(response.body());
    let document = response.finish("r");
    let mut reader = quick_xml::Reader::from_reader(&document[..]);
    // Each open element: its path, how many `member` children it has had, whether it has a
    // child element, and its text (entities arrive as separate events).
    let mut stack: Vec<(String, usize, bool, String)> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let segment = match stack.last_mut() {
                    Some(parent) if name == "member" => {
                        parent.1 += 1;
                        format!("member.{}", parent.1)
                    }
                    _ => name,
                };
                if let Some(parent) = stack.last_mut() {
                    parent.2 = true;
                }
                let path = match stack.last() {
                    Some((p, ..)) if !p.is_empty() => format!("{p}.{segment}"),
                    _ => segment,
                };
                stack.push((path, 0, false, String::new()));
            }
            Event::Text(t) => stack
                .last_mut()
                .unwrap()
                .3
                .push_str(&t.xml10_content().unwrap()),
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match &*r.decode().unwrap() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("entity {other}"),
                    },
                };
                stack.last_mut().unwrap().3.push_str(&text);
            }
            Event::End(_) => {
                let (path, _, has_children, text) = stack.pop().unwrap();
                if !has_children {
                    out.push((path, text));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let prefix = "TestResponse.TestResult.";
    out.into_iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v)))
        .collect()
}

fn as_params(pairs: &[(String, String)]) -> Params {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params(&pairs)
}

fn round_trip_action(original: &Action) -> Action {
    let wire = flatten(|x| write_actions(x, "Actions", original, &arn));
    decode_actions(&as_params(&wire), "Actions", &resolve)
        .unwrap()
        .unwrap()
}

fn round_trip_conditions(original: &[Condition]) -> Vec<Condition> {
    let wire = flatten(|x| write_conditions(x, "Conditions", original));
    decode_conditions(&as_params(&wire), "Conditions")
        .unwrap()
        .unwrap()
}

#[test]
fn the_weighted_forward_of_the_reference_decodes() {
    // aws_api.md §2.3, as boto3 sends it.
    let p = params(&[
        ("DefaultActions.member.1.Type", "forward"),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
            ARN_A,
        ),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight",
            "10",
        ),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn",
            ARN_B,
        ),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight",
            "20",
        ),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled",
            "true",
        ),
        (
            "DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds",
            "1000",
        ),
    ]);
    let action = decode_actions(&p, "DefaultActions", &resolve)
        .unwrap()
        .unwrap();
    assert_eq!(
        action,
        Action::Forward(Forward {
            pool: None,
            pools: vec![
                WeightedPool {
                    pool: "a".into(),
                    weight: 10
                },
                WeightedPool {
                    pool: "b".into(),
                    weight: 20
                },
            ],
            stickiness_secs: Some(1000),
        })
    );
    // And it is written back in the same form, without TargetGroupArn (two groups).
    let wire = flatten(|x| write_actions(x, "DefaultActions", &action, &arn));
    let get = |k: &str| wire.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let m = "DefaultActions.member.1";
    assert_eq!(get(&format!("{m}.Type")), Some("forward"));
    assert_eq!(get(&format!("{m}.Order")), Some("1"));
    assert_eq!(get(&format!("{m}.TargetGroupArn")), None);
    assert_eq!(
        get(&format!(
            "{m}.ForwardConfig.TargetGroups.member.2.TargetGroupArn"
        )),
        Some(ARN_B)
    );
    assert_eq!(
        get(&format!("{m}.ForwardConfig.TargetGroups.member.2.Weight")),
        Some("20")
    );
    assert_eq!(
        get(&format!(
            "{m}.ForwardConfig.TargetGroupStickinessConfig.Enabled"
        )),
        Some("true")
    );
    assert_eq!(
        get(&format!(
            "{m}.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds"
        )),
        Some("1000")
    );
}

#[test]
fn a_single_group_forward_is_written_in_both_shapes() {
    let forward = action(&[
        ("Actions.member.1.Type", "forward"),
        ("Actions.member.1.TargetGroupArn", ARN_A),
    ]);
    assert_eq!(forward, Action::forward_to("a"));
    let wire = flatten(|x| write_actions(x, "Actions", &forward, &arn));
    let names: Vec<&str> = wire.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Actions.member.1.Type",
            "Actions.member.1.Order",
            "Actions.member.1.TargetGroupArn",
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight",
            "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled",
        ]
    );
    assert!(
        wire.iter()
            .all(|(k, v)| !k.ends_with("TargetGroupArn") || v == ARN_A)
    );
    // Reading that back (both shapes, agreeing) gives the same action: the round trip.
    assert_eq!(round_trip_action(&forward), forward);
}

#[test]
fn both_shapes_must_name_the_same_single_group() {
    let both = |groups: &[&str]| {
        let mut pairs = vec![
            ("Actions.member.1.Type", "forward"),
            ("Actions.member.1.TargetGroupArn", ARN_A),
        ];
        let names = [
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
            "Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn",
        ];
        for (name, group) in names.iter().zip(groups) {
            pairs.push((name, group));
        }
        actions(&pairs)
    };
    assert_eq!(both(&[ARN_A]).unwrap().unwrap(), Action::forward_to("a"));
    for groups in [&[ARN_B][..], &[ARN_A, ARN_B][..]] {
        let e = both(groups).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(
            e.message
                .starts_with("Actions.member.1.ForwardConfig.TargetGroups: "),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("must name only that target group"),
            "{}",
            e.message
        );
    }
}

#[test]
fn round_trips_of_every_action() {
    let cases = [
        Action::forward_to("a"),
        Action::Forward(Forward {
            pool: None,
            pools: vec![WeightedPool {
                pool: "a".into(),
                weight: 0,
            }],
            stickiness_secs: None,
        }),
        Action::Forward(Forward {
            pool: None,
            pools: vec![
                WeightedPool {
                    pool: "a".into(),
                    weight: 999,
                },
                WeightedPool {
                    pool: "b".into(),
                    weight: 1,
                },
            ],
            stickiness_secs: Some(604_800),
        }),
        Action::FixedResponse(FixedResponse {
            status: 503,
            content_type: Some("application/json".into()),
            body: Some("{\"down\": true} <&>".into()),
        }),
        Action::FixedResponse(FixedResponse {
            status: 200,
            content_type: None,
            body: None,
        }),
        Action::Redirect(Redirect {
            protocol: Some("HTTPS".into()),
            host: Some("#{host}".into()),
            port: Some("443".into()),
            path: Some("/new/#{path}".into()),
            query: Some("a=1&#{query}".into()),
            status: RedirectStatus::Permanent,
        }),
    ];
    for case in &cases {
        let back = round_trip_action(case);
        match (case, &back) {
            // A single weighted group comes back as it went (ForwardConfig only), since
            // TargetGroupArn is written beside it and both agree: AWS's shape.
            (Action::Forward(f), Action::Forward(b)) if f.pools.len() == 1 => {
                assert_eq!(b.pool.as_deref(), Some("a"));
                assert_eq!(b.stickiness_secs, f.stickiness_secs);
            }
            _ => assert_eq!(&back, case),
        }
    }
    // A redirect that leaves parts alone is written with their keywords and means the same.
    let partial = Redirect {
        protocol: Some("HTTPS".into()),
        host: None,
        port: None,
        path: None,
        query: None,
        status: RedirectStatus::Temporary,
    };
    let Action::Redirect(back) = round_trip_action(&Action::Redirect(partial.clone())) else {
        panic!("not a redirect");
    };
    assert_eq!(
        (
            back.protocol(),
            back.host(),
            back.port(),
            back.path(),
            back.query(),
            back.status
        ),
        (
            partial.protocol(),
            partial.host(),
            partial.port(),
            partial.path(),
            partial.query(),
            partial.status
        )
    );
}

#[test]
fn fixed_response_and_redirect_decode_from_their_configs() {
    let fixed = action(&[
        ("Actions.member.1.Type", "fixed-response"),
        ("Actions.member.1.Order", "1"),
        ("Actions.member.1.FixedResponseConfig.StatusCode", "404"),
        (
            "Actions.member.1.FixedResponseConfig.ContentType",
            "text/plain",
        ),
        (
            "Actions.member.1.FixedResponseConfig.MessageBody",
            "not here",
        ),
    ]);
    assert_eq!(
        fixed,
        Action::FixedResponse(FixedResponse {
            status: 404,
            content_type: Some("text/plain".into()),
            body: Some("not here".into()),
        })
    );
    let redirect = action(&[
        ("Actions.member.1.Type", "redirect"),
        ("Actions.member.1.RedirectConfig.Protocol", "HTTPS"),
        ("Actions.member.1.RedirectConfig.Port", "443"),
        ("Actions.member.1.RedirectConfig.StatusCode", "HTTP_301"),
    ]);
    assert_eq!(
        redirect,
        Action::Redirect(Redirect {
            protocol: Some("HTTPS".into()),
            host: None,
            port: Some("443".into()),
            path: None,
            query: None,
            status: RedirectStatus::Permanent,
        })
    );
}

#[test]
fn absent_and_empty_action_lists() {
    assert_eq!(actions(&[("Other", "x")]).unwrap(), None);
    let (code, message) = refusal(&[("Actions", "")]);
    assert_eq!(code, "ValidationError");
    assert!(
        message.starts_with("Actions: [] is not allowed"),
        "{message}"
    );
}

#[test]
fn every_action_error_names_its_parameter() {
    let cases: &[Case] = &[
        (
            &[("Actions.member.1.Order", "1")],
            "MissingParameter",
            "Actions.member.1.Type",
        ),
        (
            &[("Actions.member.1.Type", "authenticate-oidc")],
            "InvalidLoadBalancerAction",
            "Actions.member.1.Type: \"authenticate-oidc\" is not allowed: burr does not authenticate",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                ("Actions.member.2.Type", "jwt-validation"),
            ],
            "InvalidLoadBalancerAction",
            "Actions.member.2.Type: \"jwt-validation\"",
        ),
        (
            &[("Actions.member.1.Type", "authenticate-cognito")],
            "InvalidLoadBalancerAction",
            "burr does not authenticate",
        ),
        (
            &[("Actions.member.1.Type", "drop")],
            "ValidationError",
            "Actions.member.1.Type: \"drop\" is not allowed: must be one of forward, fixed-response, redirect",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                ("Actions.member.1.Order", "1"),
                ("Actions.member.2.Type", "fixed-response"),
                ("Actions.member.2.Order", "2"),
                ("Actions.member.2.FixedResponseConfig.StatusCode", "200"),
            ],
            "InvalidLoadBalancerAction",
            "Actions.member.2.Type: \"fixed-response\" is not allowed: Actions.member.1 already routes",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                ("Actions.member.1.Order", "3"),
                ("Actions.member.2.Type", "forward"),
                ("Actions.member.2.Order", "3"),
            ],
            "InvalidLoadBalancerAction",
            "Actions.member.2.Order: 3 is not allowed: another action has this order",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.Order", "0"),
            ],
            "ValidationError",
            "Actions.member.1.Order: \"0\" is not allowed: must be an integer between 1 and 50000",
        ),
        (
            &[("Actions.member.1.Type", "forward")],
            "ValidationError",
            "Actions.member.1: a forward action without a target group is not allowed",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", "arn:nope"),
            ],
            "TargetGroupNotFound",
            "target group \"arn:nope\" not found",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                (
                    "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight",
                    "2",
                ),
            ],
            "MissingParameter",
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                (
                    "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
                    ARN_A,
                ),
                (
                    "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight",
                    "1000",
                ),
            ],
            "ValidationError",
            "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight: \"1000\" is not allowed: must be an integer between 0 and 999",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                (
                    "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled",
                    "true",
                ),
            ],
            "ValidationError",
            "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds: (missing) is not allowed",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                (
                    "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled",
                    "true",
                ),
                (
                    "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds",
                    "604801",
                ),
            ],
            "ValidationError",
            "DurationSeconds: \"604801\" is not allowed: must be an integer between 1 and 604800",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                (
                    "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled",
                    "yes",
                ),
            ],
            "ValidationError",
            "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled: \"yes\" is not allowed: must be true or false",
        ),
        (
            &[
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                ("Actions.member.1.RedirectConfig.StatusCode", "HTTP_301"),
            ],
            "ValidationError",
            "Actions.member.1.RedirectConfig: is not allowed with Type \"forward\"",
        ),
        (
            &[
                ("Actions.member.1.Type", "redirect"),
                ("Actions.member.1.TargetGroupArn", ARN_A),
                ("Actions.member.1.RedirectConfig.StatusCode", "HTTP_301"),
            ],
            "ValidationError",
            "Actions.member.1.TargetGroupArn: is not allowed with Type \"redirect\"",
        ),
        (
            &[("Actions.member.1.Type", "fixed-response")],
            "MissingParameter",
            "Actions.member.1.FixedResponseConfig.StatusCode",
        ),
        (
            &[
                ("Actions.member.1.Type", "fixed-response"),
                ("Actions.member.1.FixedResponseConfig.StatusCode", "302"),
            ],
            "ValidationError",
            "Actions.member.1.FixedResponseConfig.StatusCode: \"302\" is not allowed: must be a 2XX, 4XX or 5XX status",
        ),
        (
            &[
                ("Actions.member.1.Type", "fixed-response"),
                ("Actions.member.1.FixedResponseConfig.StatusCode", "+20"),
            ],
            "ValidationError",
            "StatusCode: \"+20\" is not allowed",
        ),
        (
            &[
                ("Actions.member.1.Type", "redirect"),
                ("Actions.member.1.RedirectConfig.Host", "x.example"),
            ],
            "MissingParameter",
            "Actions.member.1.RedirectConfig.StatusCode",
        ),
        (
            &[
                ("Actions.member.1.Type", "redirect"),
                ("Actions.member.1.RedirectConfig.StatusCode", "HTTP_307"),
            ],
            "ValidationError",
            "Actions.member.1.RedirectConfig.StatusCode: \"HTTP_307\" is not allowed: must be HTTP_301 or HTTP_302",
        ),
    ];
    for (pairs, code, message) in cases {
        let (got_code, got_message) = refusal(pairs);
        assert_eq!(got_code, *code, "{pairs:?}: {got_message}");
        assert!(got_message.contains(message), "{pairs:?}: {got_message}");
    }
}
