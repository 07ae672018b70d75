//! Rule conditions: decoding, writing and their round trip.

use super::*;

#[test]
fn conditions_decode_from_legacy_values_and_configs() {
    let decoded = conditions(&[
        ("Conditions.member.1.Field", "host-header"),
        ("Conditions.member.1.Values.member.1", "www.example.com"),
        ("Conditions.member.2.Field", "path-pattern"),
        (
            "Conditions.member.2.PathPatternConfig.Values.member.1",
            "/api/*",
        ),
        (
            "Conditions.member.2.PathPatternConfig.Values.member.2",
            "/v2/*",
        ),
        ("Conditions.member.3.Field", "http-header"),
        (
            "Conditions.member.3.HttpHeaderConfig.HttpHeaderName",
            "X-Env",
        ),
        (
            "Conditions.member.3.HttpHeaderConfig.Values.member.1",
            "beta",
        ),
        ("Conditions.member.4.Field", "http-request-method"),
        (
            "Conditions.member.4.HttpRequestMethodConfig.Values.member.1",
            "GET",
        ),
        ("Conditions.member.5.Field", "query-string"),
        (
            "Conditions.member.5.QueryStringConfig.Values.member.1.Key",
            "v",
        ),
        (
            "Conditions.member.5.QueryStringConfig.Values.member.1.Value",
            "2",
        ),
        (
            "Conditions.member.5.QueryStringConfig.Values.member.2.Value",
            "debug",
        ),
        ("Conditions.member.6.Field", "source-ip"),
        (
            "Conditions.member.6.SourceIpConfig.Values.member.1",
            "10.0.0.0/8",
        ),
        (
            "Conditions.member.6.SourceIpConfig.Values.member.2",
            "2001:db8::/32",
        ),
        ("Conditions.member.7.Field", "host-header"),
        (
            "Conditions.member.7.HostHeaderConfig.Values.member.1",
            "*.example.org",
        ),
    ])
    .unwrap();
    assert_eq!(
        decoded,
        vec![
            Condition::HostHeader(vec!["www.example.com".into()]),
            Condition::PathPattern(vec!["/api/*".into(), "/v2/*".into()]),
            Condition::HttpHeader(HeaderCondition {
                name: "X-Env".into(),
                values: vec!["beta".into()],
            }),
            Condition::HttpRequestMethod(vec!["GET".into()]),
            Condition::QueryString(vec![
                QueryPair {
                    key: Some("v".into()),
                    value: "2".into()
                },
                QueryPair {
                    key: None,
                    value: "debug".into()
                },
            ]),
            Condition::SourceIp(vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap()
            ]),
            // The decoder does not apply the model's rules (one host-header per rule): the
            // operation's validation does.
            Condition::HostHeader(vec!["*.example.org".into()]),
        ]
    );
    assert_eq!(round_trip_conditions(&decoded), decoded);
    // An empty list is returned for the model to refuse; an absent one is None.
    assert_eq!(conditions(&[("Conditions", "")]).unwrap(), vec![]);
    assert_eq!(decode_conditions(&params(&[]), "Conditions").unwrap(), None);
}

#[test]
fn conditions_are_written_with_legacy_values_for_host_and_path_only() {
    let wire = flatten(|x| {
        write_conditions(
            x,
            "Conditions",
            &[
                Condition::HostHeader(vec!["a.example".into()]),
                Condition::HttpRequestMethod(vec!["POST".into()]),
            ],
        )
    });
    let pairs: Vec<(&str, &str)> = wire.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("Conditions.member.1.Field", "host-header"),
            ("Conditions.member.1.Values.member.1", "a.example"),
            (
                "Conditions.member.1.HostHeaderConfig.Values.member.1",
                "a.example"
            ),
            ("Conditions.member.2.Field", "http-request-method"),
            (
                "Conditions.member.2.HttpRequestMethodConfig.Values.member.1",
                "POST"
            ),
        ]
    );
}

#[test]
fn every_condition_error_names_its_parameter() {
    let cases: &[Case] = &[
        (
            &[("Conditions.member.1.Values.member.1", "x")],
            "MissingParameter",
            "Conditions.member.1.Field",
        ),
        (
            &[
                ("Conditions.member.1.Field", "cookie"),
                ("Conditions.member.1.Values.member.1", "x"),
            ],
            "ValidationError",
            "Conditions.member.1.Field: \"cookie\" is not allowed: must be one of host-header, path-pattern",
        ),
        (
            &[
                ("Conditions.member.1.Field", "host-header"),
                (
                    "Conditions.member.1.PathPatternConfig.Values.member.1",
                    "/x",
                ),
            ],
            "ValidationError",
            "Conditions.member.1.PathPatternConfig: is not allowed with Field \"host-header\"",
        ),
        (
            &[
                ("Conditions.member.1.Field", "host-header"),
                ("Conditions.member.1.Values.member.1", "a.example"),
                (
                    "Conditions.member.1.HostHeaderConfig.Values.member.1",
                    "b.example",
                ),
            ],
            "ValidationError",
            "Conditions.member.1.Values: [\"a.example\"] is not allowed with Conditions.member.1.HostHeaderConfig.Values [\"b.example\"]",
        ),
        (
            &[
                ("Conditions.member.1.Field", "http-request-method"),
                ("Conditions.member.1.Values.member.1", "GET"),
            ],
            "ValidationError",
            "Conditions.member.1.Values: is not allowed with Field \"http-request-method\"",
        ),
        (
            &[("Conditions.member.1.Field", "path-pattern")],
            "MissingParameter",
            "Conditions.member.1.PathPatternConfig.Values",
        ),
        (
            &[
                ("Conditions.member.1.Field", "path-pattern"),
                (
                    "Conditions.member.1.PathPatternConfig.RegexValues.member.1",
                    "^/a",
                ),
            ],
            "ValidationError",
            "Conditions.member.1.PathPatternConfig.RegexValues: is not allowed: burr matches wildcard",
        ),
        (
            &[
                ("Conditions.member.1.Field", "host-header"),
                ("Conditions.member.1.RegexValues.member.1", "^a"),
            ],
            "ValidationError",
            "Conditions.member.1.RegexValues: is not allowed",
        ),
        (
            &[
                ("Conditions.member.1.Field", "http-header"),
                ("Conditions.member.1.HttpHeaderConfig.Values.member.1", "x"),
            ],
            "MissingParameter",
            "Conditions.member.1.HttpHeaderConfig.HttpHeaderName",
        ),
        (
            &[
                ("Conditions.member.1.Field", "query-string"),
                (
                    "Conditions.member.1.QueryStringConfig.Values.member.1.Key",
                    "k",
                ),
            ],
            "MissingParameter",
            "Conditions.member.1.QueryStringConfig.Values.member.1.Value",
        ),
        (
            &[("Conditions.member.1.Field", "query-string")],
            "MissingParameter",
            "Conditions.member.1.QueryStringConfig.Values",
        ),
        (
            &[
                ("Conditions.member.1.Field", "source-ip"),
                (
                    "Conditions.member.1.SourceIpConfig.Values.member.1",
                    "10.0.0.0/8",
                ),
                (
                    "Conditions.member.1.SourceIpConfig.Values.member.2",
                    "10.0.0.1",
                ),
            ],
            "ValidationError",
            "Conditions.member.1.SourceIpConfig.Values.member.2: \"10.0.0.1\" is not allowed: must be a CIDR block",
        ),
        (
            &[
                ("Conditions.member.1.Field", "source-ip"),
                ("Conditions.member.1.SourceIpConfig.IpAddressType", "ipv4"),
            ],
            "ValidationError",
            "Conditions.member.1.SourceIpConfig.IpAddressType: \"ipv4\" is not allowed",
        ),
    ];
    for (pairs, code, message) in cases {
        let (got_code, got_message) = condition_refusal(pairs);
        assert_eq!(got_code, *code, "{pairs:?}: {got_message}");
        assert!(got_message.contains(message), "{pairs:?}: {got_message}");
    }
}
