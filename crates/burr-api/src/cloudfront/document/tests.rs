//! Unit tests of the CloudFront XML codec: what parse accepts and refuses, and that render
//! writes what parse reads.

use super::*;

const MINIMAL: &str = r#"<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">
  <CallerReference>ref-1</CallerReference>
  <Origins><Quantity>1</Quantity><Items><Origin><Id>web</Id><DomainName>127.0.0.1</DomainName></Origin></Items></Origins>
  <DefaultCacheBehavior><TargetOriginId>web</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy></DefaultCacheBehavior>
  <Comment></Comment>
  <Enabled>true</Enabled>
</DistributionConfig>"#;

#[test]
fn minimal_config_parses_and_round_trips() {
    let node = parse("DistributionConfig", MINIMAL.as_bytes()).unwrap();
    assert_eq!(node.text_at(&["Origins", "Items"]), None);
    assert_eq!(node.items_at(&["Origins", "Items"]).len(), 1);
    assert_eq!(node.text_at(&["Comment"]), Some(""));
    let again = parse(
        "DistributionConfig",
        &render("DistributionConfig", "DistributionConfig", &node),
    )
    .unwrap();
    assert_eq!(again, node);
}
