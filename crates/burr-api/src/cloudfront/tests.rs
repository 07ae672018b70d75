//! Tests of the front door's own logic: routing, defaults when answering, ARNs, paging.

use super::output::config_as_answered;
use super::request::Request;
use super::routes::{Route, route};
use crate::sigv4::SignedRequest;
use burr_model::cloudfront::Node;

fn routed(method: &str, path: &str, query: &str) -> Option<String> {
    let signed = SignedRequest {
        method,
        path,
        query,
        headers: &[],
        body: b"",
    };
    let r = Request::new(&signed);
    route(&r).map(|r| format!("{r:?}"))
}

#[test]
fn every_request_uri_of_the_model_routes_to_its_operation() {
    let cases = [
        (
            "POST",
            "/2020-05-31/continuous-deployment-policy",
            "",
            "CreatePolicy",
        ),
        (
            "GET",
            "/2020-05-31/continuous-deployment-policy",
            "MaxItems=1&Marker=x",
            "ListPolicies",
        ),
        (
            "GET",
            "/2020-05-31/continuous-deployment-policy/p1",
            "",
            "GetPolicy(\"p1\")",
        ),
        (
            "GET",
            "/2020-05-31/continuous-deployment-policy/p1/config",
            "",
            "GetPolicyConfig(\"p1\")",
        ),
        (
            "PUT",
            "/2020-05-31/continuous-deployment-policy/p1",
            "",
            "UpdatePolicy(\"p1\")",
        ),
        (
            "DELETE",
            "/2020-05-31/continuous-deployment-policy/p1",
            "",
            "DeletePolicy(\"p1\")",
        ),
        ("POST", "/2020-05-31/distribution", "", "CreateDistribution"),
        (
            "POST",
            "/2020-05-31/distribution",
            "WithTags",
            "CreateDistributionWithTags",
        ),
        ("GET", "/2020-05-31/distribution", "", "ListDistributions"),
        (
            "GET",
            "/2020-05-31/distribution/E1",
            "",
            "GetDistribution(\"E1\")",
        ),
        (
            "GET",
            "/2020-05-31/distribution/E1/config",
            "",
            "GetDistributionConfig(\"E1\")",
        ),
        (
            "PUT",
            "/2020-05-31/distribution/E1/config",
            "",
            "UpdateDistribution(\"E1\")",
        ),
        (
            "DELETE",
            "/2020-05-31/distribution/E1",
            "",
            "DeleteDistribution(\"E1\")",
        ),
        (
            "POST",
            "/2020-05-31/distribution/E1/copy",
            "",
            "CopyDistribution(\"E1\")",
        ),
        (
            "PUT",
            "/2020-05-31/distribution/E1/promote-staging-config",
            "StagingDistributionId=E2",
            "PromoteStagingConfig(\"E1\")",
        ),
        (
            "POST",
            "/2020-05-31/tagging",
            "Operation=Tag&Resource=a",
            "TagResource",
        ),
        (
            "POST",
            "/2020-05-31/tagging",
            "Operation=Untag&Resource=a",
            "UntagResource",
        ),
        (
            "GET",
            "/2020-05-31/tagging",
            "Resource=a",
            "ListTagsForResource",
        ),
    ];
    for (method, path, query, want) in cases {
        assert_eq!(
            routed(method, path, query).as_deref(),
            Some(want),
            "{method} {path}?{query}"
        );
    }
}

#[test]
fn unknown_routes_are_none() {
    for (method, path, query) in [
        ("GET", "/2020-05-31/invalidation", ""),
        ("PATCH", "/2020-05-31/distribution/E1", ""),
        ("POST", "/2020-05-31/tagging", "Operation=Retag"),
        ("POST", "/2020-05-31/tagging", ""),
        ("GET", "/2020-05-31/distribution/E1/config/extra", ""),
        ("GET", "/2020-05-31//config", ""),
        ("GET", "/2019-03-26/distribution", ""),
    ] {
        assert_eq!(routed(method, path, query), None, "{method} {path}?{query}");
    }
    assert_eq!(
        routed("GET", "/2020-05-31/distribution/", "").as_deref(),
        Some("ListDistributions")
    );
    let _ = Route::ListPolicies;
}

fn minimal_config() -> Node {
    let toml = r#"
        CallerReference = "r1"
        Comment = ""
        Enabled = true
        [Origins]
        Quantity = 1
        Items = [ { Id = "web", DomainName = "127.0.0.1", CustomOriginConfig = { HTTPPort = 9001, HTTPSPort = 443, OriginProtocolPolicy = "http-only" } } ]
        [DefaultCacheBehavior]
        TargetOriginId = "web"
        ViewerProtocolPolicy = "allow-all"
        [CacheBehaviors]
        Quantity = 1
        Items = [ { PathPattern = "/api/*", TargetOriginId = "web", ViewerProtocolPolicy = "allow-all", AllowedMethods = { Quantity = 1, Items = ["GET"] } } ]
    "#;
    toml::from_str(toml).expect("parses")
}

#[test]
fn answers_carry_every_wrapper_terraform_dereferences() {
    let answered = config_as_answered(&minimal_config());
    for path in [
        &["OriginGroups", "Quantity"][..],
        &["Aliases", "Quantity"],
        &["CustomErrorResponses", "Quantity"],
        &["Restrictions", "GeoRestriction", "Quantity"],
        &[
            "DefaultCacheBehavior",
            "AllowedMethods",
            "CachedMethods",
            "Quantity",
        ],
        &["DefaultCacheBehavior", "FunctionAssociations", "Quantity"],
        &[
            "DefaultCacheBehavior",
            "LambdaFunctionAssociations",
            "Quantity",
        ],
        &["DefaultCacheBehavior", "TrustedSigners", "Quantity"],
        &["DefaultCacheBehavior", "TrustedKeyGroups", "Quantity"],
    ] {
        assert!(answered.text_at(path).is_some(), "{path:?} missing");
    }
    // Path-pattern behaviours and origins too; given members stay as given.
    let behavior = &answered.items_at(&["CacheBehaviors", "Items"])[0];
    assert_eq!(behavior.text_at(&["AllowedMethods", "Quantity"]), Some("1"));
    assert_eq!(
        behavior.text_at(&["AllowedMethods", "CachedMethods", "Quantity"]),
        Some("2")
    );
    assert_eq!(
        behavior.text_at(&["TrustedKeyGroups", "Enabled"]),
        Some("false")
    );
    let origin = &answered.items_at(&["Origins", "Items"])[0];
    assert_eq!(origin.text_at(&["CustomHeaders", "Quantity"]), Some("0"));
    assert_eq!(answered.text_at(&["CacheBehaviors", "Quantity"]), Some("1"));
    assert_eq!(answered.text_at(&["Enabled"]), Some("true"));
}

#[test]
fn given_members_are_never_replaced_by_defaults() {
    let mut config = minimal_config();
    config.set("HttpVersion", Node::Text("http1.1".into()));
    config.set(
        "Aliases",
        toml::from_str("Quantity = 1\nItems = [\"a.example\"]").unwrap(),
    );
    let answered = config_as_answered(&config);
    assert_eq!(answered.text_at(&["HttpVersion"]), Some("http1.1"));
    assert_eq!(answered.text_at(&["Aliases", "Quantity"]), Some("1"));
    // Nothing is added to what is stored.
    assert!(config.get("OriginGroups").is_none());
}

#[test]
fn timestamps_are_iso_8601_with_milliseconds() {
    assert_eq!(
        super::timestamp_ms(1_714_564_800_123),
        "2024-05-01T12:00:00.123Z"
    );
}
