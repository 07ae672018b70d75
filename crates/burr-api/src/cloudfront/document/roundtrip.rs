//! Property: any tree valid for a shape (generated from the schema tables, depth bounded)
//! passes `schema::check` and survives render → parse unchanged.

use super::*;
use burr_model::cloudfront::schema::{Member, Shape};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Structures below this depth carry only their required members (keeps trees small).
const OPTIONAL_DEPTH: usize = 6;

/// Text for a string leaf: XML's awkward characters (markup, quotes, CR, LF, tab, spaces at the
/// ends), non-ASCII, within the model's length bounds.
fn string(rng: &mut StdRng, shape: &Shape) -> String {
    if !shape.enum_values.is_empty() {
        return shape.enum_values[rng.random_range(0..shape.enum_values.len())].to_string();
    }
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', ' ', '&', '<', '>', '"', '\'', '\r', '\n', '\t', ';', '#', ']', 'é', '€',
        '😀', '\u{fffd}', '\u{85}', '\u{2028}',
    ];
    let min = shape.min.unwrap_or(0) as usize;
    let max = shape.max.map_or(12, |max| (max as usize).min(min + 12));
    let len = rng.random_range(min..=max);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn leaf(rng: &mut StdRng, shape: &Shape) -> String {
    match shape.kind {
        Kind::Str => string(rng, shape),
        Kind::Integer => rng.random::<i32>().to_string(),
        Kind::Long => rng.random::<i64>().to_string(),
        Kind::Boolean => rng.random_bool(0.5).to_string(),
        Kind::Float => {
            let value: f64 = rng.random_range(-1e6..1e6);
            // Rust's shortest round-trip form, as the model stores it.
            value.to_string()
        }
        Kind::Timestamp => "2026-12-06T01:02:03.000Z".to_string(),
        Kind::Structure(_) | Kind::List { .. } => unreachable!(),
    }
}

/// A random tree valid for `shape_name`.
pub(super) fn tree(rng: &mut StdRng, shape_name: &str, depth: usize) -> Node {
    let shape = schema::shape(shape_name).expect("shape in the table");
    match shape.kind {
        Kind::Structure(members) => structure(rng, members, depth),
        Kind::List { item, .. } => {
            let min = shape.min.unwrap_or(0) as usize;
            let max = shape.max.map_or(min + 2, |max| (max as usize).min(min + 2));
            let count = if depth >= OPTIONAL_DEPTH {
                min
            } else {
                rng.random_range(min..=max)
            };
            Node::List((0..count).map(|_| tree(rng, item, depth + 1)).collect())
        }
        _ => Node::Text(leaf(rng, shape)),
    }
}

fn structure(rng: &mut StdRng, members: &[Member], depth: usize) -> Node {
    let mut node = Node::structure();
    for member in members {
        if member.required || (depth < OPTIONAL_DEPTH && rng.random_bool(0.5)) {
            node.set(member.name, tree(rng, member.shape, depth + 1));
        }
    }
    // A wrapper's Quantity counts its Items; Items may be left out when there are none.
    let items = members.iter().find(|m| m.name == "Items");
    if let (Some(items), true) = (items, members.iter().any(|m| m.name == "Quantity")) {
        let count = node.items_at(&["Items"]).len();
        if count == 0 && !items.required && rng.random_bool(0.5) {
            node.remove("Items");
        }
        node.set("Quantity", Node::Text(count.to_string()));
    }
    node
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_trees_survive_render_then_parse(seed in any::<u64>(), root in 0usize..4) {
        let shape = ["DistributionConfig", "DistributionConfigWithTags",
            "ContinuousDeploymentPolicyConfig", "Distribution"][root];
        let node = tree(&mut StdRng::seed_from_u64(seed), shape, 0);
        prop_assert_eq!(schema::check(shape, &node), Ok(()));
        let xml = render(shape, shape, &node);
        let parsed = parse(shape, &xml);
        prop_assert_eq!(parsed, Ok(node), "{}", String::from_utf8_lossy(&xml));
    }
}
