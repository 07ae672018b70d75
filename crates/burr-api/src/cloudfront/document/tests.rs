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

fn refused(result: Result<Node, CfError>, code: CfErrorCode, words: &[&str]) {
    let error = result.expect_err("refused");
    assert_eq!(error.code, code, "{error}");
    for word in words {
        assert!(error.message.contains(word), "{word:?} not in {error}");
    }
}

fn config(body: &str) -> Result<Node, CfError> {
    parse("DistributionConfig", body.as_bytes())
}

/// MINIMAL with `from` replaced by `to` (`from` must occur).
fn edited(from: &str, to: &str) -> Result<Node, CfError> {
    assert!(MINIMAL.contains(from), "{from}");
    config(&MINIMAL.replacen(from, to, 1))
}

const NS: &str = r#" xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/""#;

#[test]
fn declaration_and_namespace_are_optional() {
    let bare = MINIMAL.replacen(NS, "", 1);
    assert_eq!(config(&bare).unwrap(), config(MINIMAL).unwrap());
    let declared = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{MINIMAL}\n");
    assert_eq!(config(&declared).unwrap(), config(MINIMAL).unwrap());
}

#[test]
fn another_namespace_is_refused() {
    refused(
        edited("2020-05-31", "2019-03-26"),
        CfErrorCode::MalformedInput,
        &["namespace", "2019-03-26"],
    );
    // Only the root carries it.
    refused(
        edited("<Comment>", &format!("<Comment{NS}>")),
        CfErrorCode::MalformedInput,
        &["namespace", "Comment"],
    );
}

#[test]
fn members_come_in_any_order() {
    let reordered = "<DistributionConfig><Enabled>true</Enabled><Comment/>\
         <DefaultCacheBehavior><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy><TargetOriginId>web</TargetOriginId></DefaultCacheBehavior>\
         <Origins><Items><Origin><DomainName>127.0.0.1</DomainName><Id>web</Id></Origin></Items><Quantity>1</Quantity></Origins>\
         <CallerReference>ref-1</CallerReference></DistributionConfig>";
    assert_eq!(config(reordered).unwrap(), config(MINIMAL).unwrap());
}

#[test]
fn references_and_cdata_are_decoded() {
    let node = edited(
        "<Comment></Comment>",
        "<Comment>a &amp; b &lt;&#60;&#x3E;&gt; &quot;&apos; <![CDATA[<raw&>]]>\u{e9}</Comment>",
    )
    .unwrap();
    assert_eq!(
        node.text_at(&["Comment"]),
        Some("a & b <<>> \"' <raw&>\u{e9}")
    );
    // Line ends as XML 1.0 reads them: CR LF and CR are LF; U+0085 and U+2028 stay.
    let node = edited(
        "<Comment></Comment>",
        "<Comment>a\u{85}b\u{2028}c\r\nd\re<![CDATA[\r\n]]></Comment>",
    )
    .unwrap();
    assert_eq!(
        node.text_at(&["Comment"]),
        Some("a\u{85}b\u{2028}c\nd\ne\n")
    );
    // Whitespace inside a leaf is its text; between elements it is ignored.
    let node = edited("<Comment></Comment>", "<Comment>  two  </Comment>").unwrap();
    assert_eq!(node.text_at(&["Comment"]), Some("  two  "));
    refused(
        edited("<Comment></Comment>", "<Comment>&nbsp;</Comment>"),
        CfErrorCode::MalformedInput,
        &["nbsp"],
    );
    refused(
        edited("<Comment></Comment>", "<Comment>&#1;</Comment>"),
        CfErrorCode::MalformedInput,
        &["U+0001"],
    );
}

#[test]
fn doctype_is_refused() {
    let body = format!(
        "<!DOCTYPE DistributionConfig [<!ENTITY big \"{}\">]>{MINIMAL}",
        "x".repeat(100)
    );
    refused(config(&body), CfErrorCode::MalformedInput, &["DOCTYPE"]);
}

#[test]
fn depth_and_size_are_bounded() {
    let deep = format!(
        "<DistributionConfig>{}{}</DistributionConfig>",
        "<Comment>".repeat(MAX_DEPTH),
        "</Comment>".repeat(MAX_DEPTH)
    );
    refused(
        config(&deep),
        CfErrorCode::MalformedInput,
        &["deeper than 64"],
    );
    let big = MINIMAL.replacen(
        "<Comment></Comment>",
        &format!("<Comment>{}</Comment>", "x".repeat(MAX_BODY)),
        1,
    );
    refused(
        config(&big),
        CfErrorCode::MalformedInput,
        &["bytes", "1048576"],
    );
}

#[test]
fn unknown_and_repeated_elements_are_refused() {
    refused(
        edited("<Id>web</Id>", "<Id>web</Id><Colour>red</Colour>"),
        CfErrorCode::MalformedInput,
        &["Colour", "DistributionConfig.Origins.Items[0]", "Origin"],
    );
    refused(
        edited(
            "<Enabled>true</Enabled>",
            "<Enabled>true</Enabled><Enabled>false</Enabled>",
        ),
        CfErrorCode::MalformedInput,
        &["DistributionConfig.Enabled", "more than once"],
    );
    // A list's items must be its item element.
    refused(
        edited("<Items><Origin>", "<Items><CNAME>x</CNAME><Origin>"),
        CfErrorCode::MalformedInput,
        &["CNAME", "DistributionConfig.Origins.Items", "Origin"],
    );
    // Repeated list items are the list.
    let two = edited(
        "<Quantity>1</Quantity><Items><Origin><Id>web</Id><DomainName>127.0.0.1</DomainName></Origin>",
        "<Quantity>2</Quantity><Items><Origin><Id>web</Id><DomainName>127.0.0.1</DomainName></Origin>\
         <Origin><Id>api</Id><DomainName>127.0.0.2</DomainName></Origin>",
    )
    .unwrap();
    assert_eq!(two.items_at(&["Origins", "Items"]).len(), 2);
}

#[test]
fn text_and_elements_in_the_wrong_place_are_refused() {
    refused(
        edited("<Origins>", "<Origins>some text"),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Origins", "structure", "some text"],
    );
    refused(
        edited("<Items><Origin>", "<Items>text<Origin>"),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Origins.Items", "list"],
    );
    refused(
        edited("<Comment></Comment>", "<Comment><b>bold</b></Comment>"),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.Comment", "element b"],
    );
}

#[test]
fn malformed_xml_says_where() {
    for (body, words) in [
        ("", &["no root element"][..]),
        ("   \n", &["no root element"]),
        (
            "<DistributionConfig><Comment></DistributionConfig>",
            &["at byte"],
        ),
        ("<DistributionConfig><Comment>", &["not closed"]),
        (
            "<DistributionConfig></DistributionConfig><DistributionConfig>",
            &["after the root"],
        ),
        (
            "<DistributionConfig></DistributionConfig>trailing",
            &["outside the root"],
        ),
        ("<DistributionConfig a=></DistributionConfig>", &["at byte"]),
        ("not xml", &["outside the root"]),
    ] {
        refused(config(body), CfErrorCode::MalformedInput, words);
    }
    refused(
        parse("Tags", MINIMAL.as_bytes()),
        CfErrorCode::MalformedInput,
        &["root element is DistributionConfig", "expected Tags"],
    );
}

#[test]
fn parse_applies_the_schema_check() {
    refused(
        edited("<Quantity>1</Quantity>", "<Quantity>2</Quantity>"),
        CfErrorCode::InconsistentQuantities,
        &["DistributionConfig.Origins: Quantity 2 but 1 Items"],
    );
    refused(
        edited("allow-all", "sometimes"),
        CfErrorCode::InvalidArgument,
        &["ViewerProtocolPolicy", "sometimes"],
    );
    refused(
        edited("<CallerReference>ref-1</CallerReference>", ""),
        CfErrorCode::InvalidArgument,
        &["DistributionConfig.CallerReference", "required"],
    );
}

#[test]
fn render_writes_model_order_escaped_text_and_the_namespace() {
    let node = edited(
        "<Comment></Comment>",
        "<Comment>a &lt;b&gt; &amp; c&#13;\n\"q\"</Comment>",
    )
    .unwrap();
    assert_eq!(node.text_at(&["Comment"]), Some("a <b> & c\r\n\"q\""));
    let xml = String::from_utf8(render("DistributionConfig", "DistributionConfig", &node)).unwrap();
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><CallerReference>ref-1</CallerReference><Origins><Quantity>1</Quantity><Items><Origin><Id>web</Id>"
    ), "{xml}");
    assert!(xml.contains("<Comment>a &lt;b&gt; &amp; c&#13;\n\"q\"</Comment><Enabled>true</Enabled></DistributionConfig>"), "{xml}");
    let order: Vec<_> = [
        "CallerReference",
        "Origins",
        "DefaultCacheBehavior",
        "Comment",
        "Enabled",
    ]
    .iter()
    .map(|name| xml.find(&format!("<{name}>")).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{xml}");
    assert_eq!(
        config(std::str::from_utf8(xml.as_bytes()).unwrap()).unwrap(),
        node
    );
}

#[test]
fn render_takes_any_root_element_and_writes_empty_lists() {
    let node = parse(
        "Tags",
        b"<Tags><Items><Tag><Key>k</Key><Value>v</Value></Tag></Items></Tags>",
    )
    .unwrap();
    let xml = String::from_utf8(render("Tags", "TagsOutput", &node)).unwrap();
    assert!(xml.ends_with("<TagsOutput xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Items><Tag><Key>k</Key><Value>v</Value></Tag></Items></TagsOutput>"), "{xml}");
    let empty = parse("Tags", b"<Tags><Items/></Tags>").unwrap();
    assert_eq!(empty.items_at(&["Items"]).len(), 0);
    let xml = render("Tags", "Tags", &empty);
    assert_eq!(parse("Tags", &xml).unwrap(), empty);
}
