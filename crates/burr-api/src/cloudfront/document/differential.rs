//! The differential test against botocore, the reference rest-xml serializer and parser (how the
//! files in `testdata/` are made: `testdata/botocore_cases.py`). For each case:
//! - `CASE.request.xml` is what botocore's serializer sends for a realistic config (Terraform-like
//!   full configs with every wrapper, members in model and in reverse order, policies, tags);
//!   `parse` must read it as `CASE.expected.json`, the params the script gave botocore;
//! - `render` of that tree must be `CASE.rendered.xml` byte for byte, the document botocore's
//!   parser was run on, which it read back as `CASE.botocore.json`, which must equal the params.
//!
//! `BURR_CF_WRITE_RENDERED=1` rewrites the `rendered.xml` files instead (then rerun the script's
//! `check` step, which fails unless botocore reads every one back unchanged).

use super::*;
use std::path::PathBuf;

/// Case name, shape (also the root element).
const CASES: &[(&str, &str)] = &[
    ("minimal", "DistributionConfig"),
    ("terraform_full", "DistributionConfig"),
    ("reversed_order", "DistributionConfig"),
    ("primary_with_policy", "DistributionConfig"),
    ("with_tags", "DistributionConfigWithTags"),
    ("policy_weight", "ContinuousDeploymentPolicyConfig"),
    ("policy_header", "ContinuousDeploymentPolicyConfig"),
    ("copy", "CopyDistributionRequest"),
    ("tags", "Tags"),
    ("tag_keys", "TagKeys"),
];

fn testdata(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/cloudfront/testdata")
        .join(file)
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(testdata(file)).unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn node(file: &str) -> Node {
    serde_json::from_slice(&read(file)).unwrap_or_else(|error| panic!("{file}: {error}"))
}

#[test]
fn burr_reads_what_botocore_writes() {
    for (name, shape) in CASES {
        let parsed = parse(shape, &read(&format!("{name}.request.xml")))
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(parsed, node(&format!("{name}.expected.json")), "{name}");
    }
}

#[test]
fn botocore_reads_what_burr_writes() {
    let write = std::env::var_os("BURR_CF_WRITE_RENDERED").is_some();
    for (name, shape) in CASES {
        let expected = node(&format!("{name}.expected.json"));
        let rendered = render(shape, shape, &expected);
        let file = format!("{name}.rendered.xml");
        if write {
            std::fs::write(testdata(&file), &rendered).unwrap();
            continue;
        }
        assert_eq!(
            String::from_utf8(rendered).unwrap(),
            String::from_utf8(read(&file)).unwrap(),
            "{name}: render changed; rerun botocore_cases.py (see the module comment)"
        );
        assert_eq!(node(&format!("{name}.botocore.json")), expected, "{name}");
    }
}
