//! The answer bodies as [`Node`] trees of the botocore output shapes (`Distribution`,
//! `DistributionSummary`, `ContinuousDeploymentPolicy`, the lists, `Tags`), which
//! [`super::document::render`] writes in model order.
//!
//! A stored `DistributionConfig` holds what the client sent. AWS answers with every member it
//! defaults filled in, and Terraform dereferences several optional wrappers without checking
//! (`OriginGroups.Quantity`, `DefaultCacheBehavior.AllowedMethods.CachedMethods`, ...), so
//! [`config_as_answered`] adds AWS's defaults for absent members when answering, never in the
//! stored config (a client's GetDistributionConfig → UpdateDistribution round trip then stores
//! the defaults, as on AWS).

use super::arn;
use crate::control::ControlPlane;
use burr_model::cloudfront::{DeploymentPolicy, Distribution, Node};
use std::collections::BTreeMap;

pub(crate) fn text(value: impl Into<String>) -> Node {
    Node::Text(value.into())
}

pub(crate) fn structure<const N: usize>(members: [(&str, Node); N]) -> Node {
    Node::Struct(
        members
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

/// `{Quantity 0}`: an empty wrapper.
fn empty_wrapper() -> Node {
    structure([("Quantity", text("0"))])
}

/// `{Enabled false, Quantity 0}`: trusted signers or key groups, none.
fn none_trusted() -> Node {
    structure([("Enabled", text("false")), ("Quantity", text("0"))])
}

/// `{Quantity 2, Items [HEAD, GET]}`: AWS's default allowed and cached methods.
fn head_get() -> Node {
    structure([
        ("Quantity", text("2")),
        ("Items", Node::List(vec![text("HEAD"), text("GET")])),
    ])
}

/// Sets `name` to `default()` when `node` (a structure) lacks it.
fn default_member(node: &mut Node, name: &str, default: impl FnOnce() -> Node) {
    if node.get(name).is_none() {
        node.set(name, default());
    }
}

/// A cache behaviour (default or path-pattern) with AWS's defaults for what it lacks.
fn cache_behavior_as_answered(behavior: &mut Node) {
    default_member(behavior, "TrustedSigners", none_trusted);
    default_member(behavior, "TrustedKeyGroups", none_trusted);
    default_member(behavior, "AllowedMethods", head_get);
    if let Node::Struct(members) = behavior
        && let Some(allowed) = members.get_mut("AllowedMethods")
    {
        default_member(allowed, "CachedMethods", head_get);
    }
    default_member(behavior, "SmoothStreaming", || text("false"));
    default_member(behavior, "Compress", || text("false"));
    default_member(behavior, "LambdaFunctionAssociations", empty_wrapper);
    default_member(behavior, "FunctionAssociations", empty_wrapper);
    default_member(behavior, "FieldLevelEncryptionId", || text(""));
}

/// An origin with AWS's defaults for what it lacks.
fn origin_as_answered(origin: &mut Node) {
    default_member(origin, "OriginPath", || text(""));
    default_member(origin, "CustomHeaders", empty_wrapper);
}

/// The stored `DistributionConfig` as AWS answers it: absent wrappers present and empty, absent
/// scalars at AWS's defaults.
pub(crate) fn config_as_answered(config: &Node) -> Node {
    let mut config = config.clone();
    default_member(&mut config, "Aliases", empty_wrapper);
    default_member(&mut config, "DefaultRootObject", || text(""));
    default_member(&mut config, "OriginGroups", empty_wrapper);
    default_member(&mut config, "CacheBehaviors", empty_wrapper);
    default_member(&mut config, "CustomErrorResponses", empty_wrapper);
    default_member(&mut config, "Logging", || {
        structure([
            ("Enabled", text("false")),
            ("IncludeCookies", text("false")),
            ("Bucket", text("")),
            ("Prefix", text("")),
        ])
    });
    default_member(&mut config, "PriceClass", || text("PriceClass_All"));
    default_member(&mut config, "ViewerCertificate", || {
        structure([
            ("CloudFrontDefaultCertificate", text("true")),
            ("SSLSupportMethod", text("vip")),
            ("MinimumProtocolVersion", text("TLSv1")),
            ("CertificateSource", text("cloudfront")),
        ])
    });
    default_member(&mut config, "Restrictions", || {
        structure([(
            "GeoRestriction",
            structure([("RestrictionType", text("none")), ("Quantity", text("0"))]),
        )])
    });
    default_member(&mut config, "WebACLId", || text(""));
    default_member(&mut config, "HttpVersion", || text("http2"));
    default_member(&mut config, "IsIPV6Enabled", || text("false"));
    default_member(&mut config, "Staging", || text("false"));
    if let Node::Struct(members) = &mut config {
        if let Some(behavior) = members.get_mut("DefaultCacheBehavior") {
            cache_behavior_as_answered(behavior);
        }
        for wrapper in ["CacheBehaviors", "Origins"] {
            if let Some(Node::Struct(w)) = members.get_mut(wrapper)
                && let Some(Node::List(items)) = w.get_mut("Items")
            {
                for item in items {
                    if wrapper == "Origins" {
                        origin_as_answered(item);
                    } else {
                        cache_behavior_as_answered(item);
                    }
                }
            }
        }
    }
    config
}

/// The members every description of a distribution starts with.
fn identity(c: &dyn ControlPlane, d: &Distribution) -> Vec<(&'static str, Node)> {
    vec![
        ("Id", text(&d.id)),
        ("ARN", text(arn::distribution(c, &d.id))),
        // Changes are in service when the operation returns, so there is nothing to wait for.
        ("Status", text("Deployed")),
        (
            "LastModifiedTime",
            text(super::timestamp_ms(d.last_modified_ms)),
        ),
        ("DomainName", text(&d.domain_name)),
    ]
}

/// A `Distribution`.
pub(crate) fn distribution(c: &dyn ControlPlane, d: &Distribution) -> Node {
    let mut node = Node::structure();
    for (name, value) in identity(c, d) {
        node.set(name, value);
    }
    node.set("InProgressInvalidationBatches", text("0"));
    node.set("ActiveTrustedSigners", none_trusted());
    node.set("ActiveTrustedKeyGroups", none_trusted());
    node.set("DistributionConfig", config_as_answered(&d.config));
    node
}

/// The members of a `DistributionSummary` taken from the configuration as answered.
const SUMMARY_CONFIG_MEMBERS: &[&str] = &[
    "Aliases",
    "Origins",
    "OriginGroups",
    "DefaultCacheBehavior",
    "CacheBehaviors",
    "CustomErrorResponses",
    "Comment",
    "PriceClass",
    "Enabled",
    "ViewerCertificate",
    "Restrictions",
    "WebACLId",
    "HttpVersion",
    "IsIPV6Enabled",
    "Staging",
    "ConnectionMode",
    "AnycastIpListId",
];

/// A `DistributionSummary`.
pub(crate) fn summary(c: &dyn ControlPlane, d: &Distribution) -> Node {
    let config = config_as_answered(&d.config);
    let mut node = Node::structure();
    for (name, value) in identity(c, d) {
        node.set(name, value);
    }
    node.set("ETag", text(&d.etag));
    for name in SUMMARY_CONFIG_MEMBERS {
        if let Some(value) = config.get(name) {
            node.set(name, value.clone());
        }
    }
    node
}

/// A `ContinuousDeploymentPolicy`.
pub(crate) fn policy(p: &DeploymentPolicy) -> Node {
    structure([
        ("Id", text(&p.id)),
        (
            "LastModifiedTime",
            text(super::timestamp_ms(p.last_modified_ms)),
        ),
        ("ContinuousDeploymentPolicyConfig", p.config_node()),
    ])
}

/// A `Tags` structure.
pub(crate) fn tags(tags: &BTreeMap<String, String>) -> Node {
    let items = tags
        .iter()
        .map(|(k, v)| structure([("Key", text(k)), ("Value", text(v))]))
        .collect();
    structure([("Items", Node::List(items))])
}

/// A `Tags` structure read back as key → value: `Items` of `{Key, Value}` (a missing `Value` is
/// empty). A key given twice keeps the last value, as a map does.
pub(crate) fn tag_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.map_or(&[][..], |n| n.items_at(&["Items"]))
        .iter()
        .map(|tag| {
            (
                tag.text_at(&["Key"]).unwrap_or_default().to_string(),
                tag.text_at(&["Value"]).unwrap_or_default().to_string(),
            )
        })
        .collect()
}
