//! CloudFront distributions and continuous-deployment policies in the store: they survive
//! reopening with their origin, and deleting them deletes their rows.

use super::*;
use burr_model::Origin;
use burr_model::classic::AddressPool;
use burr_model::cloudfront::{self, Context, FrontEndPorts, Node};
use std::collections::BTreeMap;

fn node(value: serde_json::Value) -> Node {
    serde_json::from_value(value).unwrap()
}

fn config(caller_reference: &str) -> Node {
    node(serde_json::json!({
        "CallerReference": caller_reference,
        "Enabled": true,
        "Comment": "",
        "Origins": { "Quantity": 1, "Items": [ { "Id": "web", "DomainName": "127.0.0.1",
            "CustomOriginConfig": { "HTTPPort": 9001, "HTTPSPort": 443,
                "OriginProtocolPolicy": "http-only" } } ] },
        "DefaultCacheBehavior": { "TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all" },
    }))
}

#[test]
fn distributions_and_policies_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let pool: AddressPool = "127.0.3.0/24".parse().unwrap();
    let ctx = |fresh| Context {
        listen_host: None,
        address_pool: &pool,
        ports: FrontEndPorts {
            http: 18080,
            https: 18443,
        },
        now_ms: 1_700_000_000_000,
        fresh,
    };
    let snap = store
        .apply(|s| {
            let primary =
                cloudfront::create_distribution(s, &config("a"), BTreeMap::new(), &ctx(1))?;
            let etag = s.distributions[&primary].etag.clone();
            let staging =
                cloudfront::copy_distribution(s, &primary, Some(&etag), true, "b", None, &ctx(2))?;
            let name = s.distributions[&staging].domain_name.clone();
            let policy = node(serde_json::json!({
                "StagingDistributionDnsNames": { "Quantity": 1, "Items": [name] },
                "Enabled": true,
                "TrafficConfig": { "Type": "SingleWeight",
                    "SingleWeightConfig": { "Weight": 0.1 } },
            }));
            let id = cloudfront::create_policy(s, &policy, &ctx(3))?;
            let mut attached = s.distributions[&primary].config.clone();
            attached.set("ContinuousDeploymentPolicyId", Node::Text(id));
            cloudfront::update_distribution(s, &primary, Some(&etag), &attached, &ctx(4))
        })
        .unwrap();
    assert_eq!(snap.state.distributions.len(), 2);
    assert_eq!(snap.state.deployment_policies.len(), 1);
    drop(store);
    let reopened = Store::open(dir.path(), None).unwrap();
    assert_eq!(*reopened.snapshot(), *snap);
    let policy = reopened
        .snapshot()
        .state
        .deployment_policies
        .values()
        .next()
        .cloned()
        .unwrap();
    assert_eq!(policy.origin, Origin::Api);
    // Deleting the policy deletes its row.
    reopened
        .apply(|s| {
            let primary = s.distributions.values().find(|d| !d.is_staging()).unwrap();
            let (id, etag) = (primary.id.clone(), primary.etag.clone());
            let mut detached = primary.config.clone();
            detached.remove("ContinuousDeploymentPolicyId");
            cloudfront::update_distribution(s, &id, Some(&etag), &detached, &ctx(5))?;
            cloudfront::delete_policy(s, &policy.id, Some(&policy.etag))
        })
        .unwrap();
    drop(reopened);
    let again = Store::open(dir.path(), None).unwrap();
    assert!(again.snapshot().state.deployment_policies.is_empty());
    assert_eq!(again.snapshot().state.distributions.len(), 2);
}
