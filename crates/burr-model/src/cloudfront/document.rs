//! A CloudFront configuration as given: a tree of member names and text, the shape of the
//! XML body without the XML. Leaves are text exactly as the schema-checked request had them
//! (`true`, `80`, `0.1`); a list holds its items without their element names (the schema knows
//! them). Stored with the distribution and written back member for member, so members burr does
//! not act on (caching, logging, restrictions) round-trip unchanged.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One member's value. In files a leaf may be written as a TOML boolean or number
/// (`Enabled = true`, `HTTPPort = 8080`); it is kept as its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Node {
    Text(String),
    List(Vec<Node>),
    Struct(BTreeMap<String, Node>),
}

impl Node {
    /// An empty structure.
    pub fn structure() -> Self {
        Self::Struct(BTreeMap::new())
    }

    /// The member `name` of a structure.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match self {
            Self::Struct(members) => members.get(name),
            _ => None,
        }
    }

    /// The member at `path` (member names, outermost first).
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.get(name))
    }

    /// The text of a leaf.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The text at `path`.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::text)
    }

    /// The boolean at `path` (`true`; anything else, or absence, is false).
    pub fn flag_at(&self, path: &[&str]) -> bool {
        self.text_at(path) == Some("true")
    }

    /// The items of a list (none when this is not a list).
    pub fn items(&self) -> &[Node] {
        match self {
            Self::List(items) => items,
            _ => &[],
        }
    }

    /// The items of the list at `path` (a wrapper's `Items`: pass `[..., "Items"]`).
    pub fn items_at(&self, path: &[&str]) -> &[Node] {
        self.at(path).map_or(&[], Node::items)
    }

    /// Sets member `name` of a structure (no effect on a leaf or list).
    pub fn set(&mut self, name: &str, value: Node) {
        if let Self::Struct(members) = self {
            members.insert(name.to_string(), value);
        }
    }

    /// Removes member `name` of a structure.
    pub fn remove(&mut self, name: &str) -> Option<Node> {
        match self {
            Self::Struct(members) => members.remove(name),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text, boolean, number, list or table")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = BTreeMap::new();
        while let Some((name, value)) = map.next_entry::<String, Node>()? {
            members.insert(name, value);
        }
        Ok(Node::Struct(members))
    }
}
