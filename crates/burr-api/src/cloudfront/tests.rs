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

/// A control plane holding a state in memory: a change runs on a copy that replaces the state
/// when it succeeds, as the real one does after validating and writing it.
struct Memory {
    state: std::sync::Mutex<std::sync::Arc<burr_model::State>>,
    pool: burr_model::classic::AddressPool,
}

impl Memory {
    fn new() -> Self {
        Self {
            state: Default::default(),
            pool: "127.9.9.0/24".parse().expect("a pool"),
        }
    }
}

impl crate::ControlPlane for Memory {
    fn state(&self) -> std::sync::Arc<burr_model::State> {
        self.state.lock().unwrap().clone()
    }

    fn apply(
        &self,
        change: &mut crate::control::Change<'_>,
    ) -> Result<std::sync::Arc<burr_model::State>, crate::error::ApiError> {
        let mut next = (**self.state.lock().unwrap()).clone();
        change(&mut next)?;
        let next = std::sync::Arc::new(next);
        *self.state.lock().unwrap() = next.clone();
        Ok(next)
    }

    fn health(&self, _: &str, _: &burr_model::TargetAddress) -> crate::TargetHealth {
        crate::TargetHealth::Unknown
    }

    fn listen_host(&self) -> Option<std::net::IpAddr> {
        None
    }

    fn address_pool(&self) -> &burr_model::classic::AddressPool {
        &self.pool
    }

    fn now(&self) -> u64 {
        1_714_564_800
    }

    fn account_id(&self) -> String {
        "123456789012".into()
    }
}

fn call(
    c: &Memory,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> crate::Answer {
    let signed = SignedRequest {
        method,
        path,
        query,
        headers,
        body,
    };
    super::handle(c, &signed, "req-1")
}

fn header<'a>(answer: &'a crate::Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

const DISTRIBUTION: &str = "<DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
    <CallerReference>r1</CallerReference><Comment/><Enabled>true</Enabled>\
    <Origins><Quantity>1</Quantity><Items><Origin><Id>web</Id><DomainName>127.0.0.1</DomainName>\
    <CustomOriginConfig><HTTPPort>9001</HTTPPort><HTTPSPort>443</HTTPSPort>\
    <OriginProtocolPolicy>http-only</OriginProtocolPolicy></CustomOriginConfig></Origin></Items></Origins>\
    <DefaultCacheBehavior><TargetOriginId>web</TargetOriginId>\
    <ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy></DefaultCacheBehavior></DistributionConfig>";

#[test]
fn a_create_answers_201_with_location_etag_and_the_distribution() {
    let c = Memory::new();
    let a = call(
        &c,
        "POST",
        "/2020-05-31/distribution",
        "",
        &[],
        DISTRIBUTION.as_bytes(),
    );
    let body = String::from_utf8(a.body.clone()).unwrap();
    assert_eq!(a.status, 201, "{body}");
    let state = crate::ControlPlane::state(&c);
    let d = state.distributions.values().next().expect("stored");
    assert_eq!(header(&a, "etag"), Some(d.etag.as_str()));
    assert_eq!(
        header(&a, "location"),
        Some(
            format!(
                "https://cloudfront.amazonaws.com/2020-05-31/distribution/{}",
                d.id
            )
            .as_str()
        )
    );
    assert_eq!(header(&a, "x-amz-request-id"), Some("req-1"));
    assert!(
        body.contains(&format!(
            "<ARN>arn:aws:cloudfront::123456789012:distribution/{}</ARN>",
            d.id
        )),
        "{body}"
    );
    assert!(body.contains("<Status>Deployed</Status>"), "{body}");
    assert!(
        body.contains("<OriginGroups><Quantity>0</Quantity></OriginGroups>"),
        "{body}"
    );
    // Answered with defaults, stored as given.
    assert!(d.config.get("OriginGroups").is_none());

    // Read back: 200 and the same ETag; a stale If-Match on delete is 412 and changes nothing.
    let path = format!("/2020-05-31/distribution/{}", d.id);
    let got = call(&c, "GET", &path, "", &[], b"");
    assert_eq!(
        (got.status, header(&got, "etag")),
        (200, Some(d.etag.as_str()))
    );
    let stale = call(
        &c,
        "DELETE",
        &path,
        "",
        &[("If-Match", b"E0000000000000")],
        b"",
    );
    assert_eq!(stale.status, 412);
    assert!(
        String::from_utf8(stale.body)
            .unwrap()
            .contains("<Code>PreconditionFailed</Code>")
    );
    assert_eq!(crate::ControlPlane::state(&c).distributions.len(), 1);
}

#[test]
fn refusals_use_cloudfronts_envelope_and_status() {
    let c = Memory::new();
    for (method, path, query, body, status, code) in [
        (
            "GET",
            "/2020-05-31/invalidation",
            "",
            "",
            404,
            "NoSuchResource",
        ),
        (
            "POST",
            "/2020-05-31/distribution",
            "",
            "",
            400,
            "MissingBody",
        ),
        (
            "POST",
            "/2020-05-31/distribution",
            "",
            "<Distrib",
            400,
            "MalformedInput",
        ),
        (
            "GET",
            "/2020-05-31/distribution/E1",
            "",
            "",
            404,
            "NoSuchDistribution",
        ),
        (
            "GET",
            "/2020-05-31/distribution",
            "MaxItems=x",
            "",
            400,
            "InvalidArgument",
        ),
        (
            "GET",
            "/2020-05-31/tagging",
            "Resource=nope",
            "",
            400,
            "InvalidArgument",
        ),
        (
            "GET",
            "/2020-05-31/tagging",
            "Resource=arn%3Aaws%3Acloudfront%3A%3A999999999999%3Adistribution%2FE1",
            "",
            404,
            "NoSuchResource",
        ),
        (
            "PUT",
            "/2020-05-31/distribution/E1/promote-staging-config",
            "",
            "",
            400,
            "InvalidArgument",
        ),
    ] {
        let a = call(&c, method, path, query, &[], body.as_bytes());
        let text = String::from_utf8(a.body.clone()).unwrap();
        assert_eq!(a.status, status, "{method} {path}?{query}: {text}");
        assert!(
            text.contains(
                "<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
            ) && text.contains(&format!("<Code>{code}</Code>"))
                && text.contains("<Type>Sender</Type>")
                && text.contains("<RequestId>req-1</RequestId>"),
            "{method} {path}?{query}: {text}"
        );
    }
    assert!(crate::ControlPlane::state(&c).distributions.is_empty());
}
