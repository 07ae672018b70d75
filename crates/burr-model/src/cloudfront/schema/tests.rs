//! Tests of the schema tables and of `check`, one per refusal: unknown member, wrong kind, bad
//! integer, boolean, float, timestamp, enum, bounds, missing required member, Quantity vs Items.

use super::*;
use serde_json::json;

fn node(value: serde_json::Value) -> Node {
    serde_json::from_value(value).unwrap()
}

/// The smallest valid DistributionConfig, as JSON (to edit in tests).
fn minimal() -> serde_json::Value {
    json!({
        "CallerReference": "ref-1",
        "Origins": {"Quantity": "1", "Items": [{"Id": "web", "DomainName": "127.0.0.1",
            "CustomOriginConfig": {"HTTPPort": "9001", "HTTPSPort": "443", "OriginProtocolPolicy": "http-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all"},
        "Comment": "",
        "Enabled": "true"
    })
}

/// `check` of `minimal()` after `edit`.
fn check_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<(), CfError> {
    let mut value = minimal();
    edit(&mut value);
    check("DistributionConfig", &node(value))
}

fn refused(result: Result<(), CfError>, code: CfErrorCode, words: &[&str]) {
    let error = result.expect_err("refused");
    assert_eq!(error.code, code, "{error}");
    for word in words {
        assert!(error.message.contains(word), "{word:?} not in {error}");
    }
}

#[test]
fn tables_follow_the_model() {
    for root in ROOTS {
        assert!(
            matches!(shape(root).unwrap().kind, Kind::Structure(_)),
            "{root}"
        );
    }
    // Model order, not alphabetical.
    let names: Vec<_> = members("Aliases").iter().map(|m| m.name).collect();
    assert_eq!(names, ["Quantity", "Items"]);
    assert_eq!(members("DistributionConfig")[0].name, "CallerReference");
    assert_eq!(item_element("Aliases", "Items"), Some("CNAME"));
    assert_eq!(item_element("Origins", "Items"), Some("Origin"));
    assert_eq!(item_element("TagKeys", "Items"), Some("Key"));
    assert_eq!(item_element("Aliases", "Quantity"), None);
    assert_eq!(shape("OriginProtocolPolicy").unwrap().enum_values.len(), 3);
    assert_eq!(shape("OriginShieldRegion").unwrap().max, Some(32));
    // Header and URI members are not body members.
    let copy: Vec<_> = members("CopyDistributionRequest")
        .iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(copy, ["CallerReference", "Enabled"]);
    assert!(
        member("DistributionConfig", "CallerReference")
            .unwrap()
            .required
    );
    assert!(!member("DistributionConfig", "Aliases").unwrap().required);
    // Every shape a member or list names is in the table.
    for shape in shapes::SHAPES {
        match shape.kind {
            Kind::Structure(members) => {
                for m in members {
                    assert!(self::shape(m.shape).is_some(), "{}.{}", shape.name, m.name);
                }
            }
            Kind::List { item, .. } => assert!(self::shape(item).is_some(), "{}", shape.name),
            _ => {}
        }
    }
    assert!(shapes::SHAPES.windows(2).all(|w| w[0].name < w[1].name));
}

#[test]
fn minimal_config_passes() {
    check("DistributionConfig", &node(minimal())).unwrap();
}

#[test]
fn unknown_member_is_named_with_its_parent() {
    refused(
        check_edited(|v| v["Origins"]["Items"][0]["Colour"] = json!("red")),
        CfErrorCode::MalformedInput,
        &["Colour", "DistributionConfig.Origins.Items[0]", "Origin"],
    );
    refused(
        check("Tags", &node(json!({"Itemz": []}))),
        CfErrorCode::MalformedInput,
        &["Itemz", "Tags"],
    );
}

#[test]
fn wrong_kind_is_refused() {
    refused(
        check_edited(|v| v["DefaultCacheBehavior"] = json!("web")),
        CfErrorCode::InvalidArgument,
        &[
            "DistributionConfig.DefaultCacheBehavior",
            "structure",
            "text",
        ],
    );
    refused(
        check_edited(|v| v["Comment"] = json!({"a": "b"})),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Comment", "string"],
    );
    refused(
        check_edited(|v| v["Origins"]["Items"] = json!("web")),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Origins.Items", "list"],
    );
}

#[test]
fn bad_integers_are_refused() {
    for bad in ["eighty", "", " 80", "2147483648", "1.5"] {
        refused(
            check_edited(|v| {
                v["Origins"]["Items"][0]["CustomOriginConfig"]["HTTPPort"] = json!(bad)
            }),
            CfErrorCode::InvalidArgument,
            &[
                "DistributionConfig.Origins.Items[0].CustomOriginConfig.HTTPPort",
                "integer",
            ],
        );
    }
    // A long takes what an integer cannot.
    check_edited(|v| v["DefaultCacheBehavior"]["MaxTTL"] = json!("31536000000")).unwrap();
    refused(
        check_edited(|v| v["DefaultCacheBehavior"]["MaxTTL"] = json!("forever")),
        CfErrorCode::InvalidArgument,
        &["MaxTTL", "forever", "long"],
    );
}

#[test]
fn bad_booleans_are_refused() {
    for bad in ["True", "1", "yes", ""] {
        refused(
            check_edited(|v| v["Enabled"] = json!(bad)),
            CfErrorCode::InvalidArgument,
            &["DistributionConfig.Enabled", "true or false"],
        );
    }
    check_edited(|v| v["Enabled"] = json!("false")).unwrap();
}

#[test]
fn enum_values_are_enforced() {
    refused(
        check_edited(|v| v["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = json!("ftp-only")),
        CfErrorCode::InvalidArgument,
        &[
            "ViewerProtocolPolicy",
            "ftp-only",
            "allow-all, https-only, redirect-to-https",
        ],
    );
}

#[test]
fn model_bounds_are_enforced() {
    let shield = |region: &str| {
        let region = json!(region);
        check_edited(move |v| {
            v["Origins"]["Items"][0]["OriginShield"] =
                json!({"Enabled": "true", "OriginShieldRegion": region})
        })
    };
    shield("us-east-1").unwrap();
    refused(
        shield(""),
        CfErrorCode::InvalidArgument,
        &["OriginShieldRegion", "1 to 32"],
    );
    refused(
        shield(&"x".repeat(33)),
        CfErrorCode::InvalidArgument,
        &["OriginShieldRegion", "1 to 32"],
    );
    // Tag keys: 1 to 128 characters (counted as characters, not bytes).
    check("TagKeys", &node(json!({"Items": ["é".repeat(128)]}))).unwrap();
    refused(
        check("TagKeys", &node(json!({"Items": [""]}))),
        CfErrorCode::InvalidArgument,
        &["TagKeys.Items[0]", "1 to 128"],
    );
    // List bounds: an origin group has exactly two members.
    let group = |members: usize| {
        let items: Vec<_> = (0..members)
            .map(|i| json!({"OriginId": format!("o{i}")}))
            .collect();
        check_edited(move |v| {
            v["OriginGroups"] = json!({"Quantity": "1", "Items": [{
                "Id": "g",
                "FailoverCriteria": {"StatusCodes": {"Quantity": "1", "Items": ["500"]}},
                "Members": {"Quantity": members.to_string(), "Items": items}
            }]})
        })
    };
    group(2).unwrap();
    refused(
        group(3),
        CfErrorCode::InvalidArgument,
        &[
            "DistributionConfig.OriginGroups.Items[0].Members.Items",
            "3 items",
            "2 to 2",
        ],
    );
}

#[test]
fn required_members_must_be_present() {
    refused(
        check_edited(|v| {
            v.as_object_mut().unwrap().remove("CallerReference");
        }),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.CallerReference", "required"],
    );
    refused(
        check_edited(|v| {
            v["DefaultCacheBehavior"]
                .as_object_mut()
                .unwrap()
                .remove("TargetOriginId");
        }),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.DefaultCacheBehavior.TargetOriginId"],
    );
}

#[test]
fn quantity_must_match_items() {
    refused(
        check_edited(|v| v["Origins"]["Quantity"] = json!("2")),
        CfErrorCode::InconsistentQuantities,
        &["DistributionConfig.Origins: Quantity 2 but 1 Items"],
    );
    refused(
        check_edited(|v| v["Aliases"] = json!({"Quantity": "1"})),
        CfErrorCode::InconsistentQuantities,
        &["DistributionConfig.Aliases: Quantity 1 but 0 Items"],
    );
    // Quantity 0 with no Items (what Terraform sends) or an empty Items.
    check_edited(|v| v["Aliases"] = json!({"Quantity": "0"})).unwrap();
    check_edited(|v| v["Aliases"] = json!({"Quantity": "0", "Items": []})).unwrap();
    check_edited(|v| v["Aliases"] = json!({"Quantity": "1", "Items": ["a.example"]})).unwrap();
    // Nested wrappers are checked too.
    refused(
        check_edited(|v| {
            v["DefaultCacheBehavior"]["AllowedMethods"] = json!({
                "Quantity": "2", "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": "3", "Items": ["GET", "HEAD"]}
            })
        }),
        CfErrorCode::InconsistentQuantities,
        &["DistributionConfig.DefaultCacheBehavior.AllowedMethods.CachedMethods: Quantity 3 but 2"],
    );
}

#[test]
fn floats_and_timestamps() {
    let policy = |weight: &str| {
        check(
            "ContinuousDeploymentPolicyConfig",
            &node(json!({
                "StagingDistributionDnsNames": {"Quantity": "1", "Items": ["127.0.0.22"]},
                "Enabled": "true",
                "TrafficConfig": {"Type": "SingleWeight", "SingleWeightConfig": {"Weight": weight}}
            })),
        )
    };
    policy("0.05").unwrap();
    policy("1").unwrap();
    for bad in ["abc", "NaN", "inf", "", "+0.1"] {
        refused(
            policy(bad),
            CfErrorCode::InvalidArgument,
            &["TrafficConfig.SingleWeightConfig.Weight", "decimal"],
        );
    }
    for good in [
        "2026-12-06T01:02:03Z",
        "2026-12-06T01:02:03.123Z",
        "2026-12-06T01:02:03+01:00",
    ] {
        assert!(is_timestamp(good), "{good}");
    }
    for bad in [
        "2026-12-06",
        "2026-12-06T01:02:03",
        "2026-12-06 01:02:03Z",
        "2026-12-06T01:02:03.Z",
        "yesterday",
    ] {
        assert!(!is_timestamp(bad), "{bad}");
    }
}

#[test]
fn characters_xml_cannot_carry_are_refused() {
    refused(
        check_edited(|v| v["Comment"] = json!("a\u{1}b")),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Comment", "U+0001"],
    );
    check_edited(|v| v["Comment"] = json!("tab\tnewline\ncr\r")).unwrap();
}

#[test]
fn unknown_shape_is_an_error_not_a_panic() {
    assert!(check("NoSuchShape", &Node::structure()).is_err());
}
