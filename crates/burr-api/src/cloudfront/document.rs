//! The XML side of CloudFront bodies: [`parse`] reads a request body into a [`Node`] tree by
//! the botocore shapes (`burr_model::cloudfront::schema`) and checks it; [`render`] writes a
//! tree back as the XML CloudFront answers with. Elements are matched by name in any order,
//! lists by their item element; the tree keeps member names, so a config read from XML or from
//! TOML is the same value.

use burr_model::cloudfront::schema::{self, Kind, NAMESPACE};
use burr_model::cloudfront::{CfError, CfErrorCode, Node};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use std::collections::BTreeMap;

/// The largest body read (CloudFront configs are a few KiB; this bounds memory per request).
pub const MAX_BODY: usize = 1 << 20;
/// The deepest element nesting read (the deepest DistributionConfig path is under 10).
pub const MAX_DEPTH: usize = 64;

fn malformed(message: impl Into<String>) -> CfError {
    CfError::new(CfErrorCode::MalformedInput, message)
}

/// An element as read, before the schema gives it a meaning.
#[derive(Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
}

/// Reads `body` as the shape `shape` (a botocore shape name whose name is also the root element,
/// e.g. `DistributionConfig`) and checks it with [`schema::check`]. Not well-formed XML, a
/// DOCTYPE, a wrong root or namespace, an unknown or repeated element → `MalformedInput`; bad
/// values → what [`schema::check`] answers.
pub fn parse(shape: &str, body: &[u8]) -> Result<Node, CfError> {
    if schema::shape(shape).is_none() {
        return Err(CfError::invalid(format!("unknown shape {shape}")));
    }
    if body.len() > MAX_BODY {
        return Err(malformed(format!(
            "the body is {} bytes; at most {MAX_BODY} are accepted",
            body.len()
        )));
    }
    let root = read_tree(body)?;
    if root.name != shape {
        return Err(malformed(format!(
            "the root element is {}; expected {shape}",
            root.name
        )));
    }
    let node = to_node(shape, &root, shape)?;
    schema::check(shape, &node)?;
    Ok(node)
}

/// The element tree of `body`: well-formedness, DOCTYPE, namespace, depth.
fn read_tree(body: &[u8]) -> Result<Element, CfError> {
    let mut reader = Reader::from_reader(body);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|error| malformed(format!("XML error at byte {position}: {error}")))?;
        let at = || format!("at byte {position}");
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed(format!(
                        "content after the root element {}",
                        at()
                    )));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "elements nested deeper than {MAX_DEPTH} {}",
                        at()
                    )));
                }
                let name = std::str::from_utf8(start.name().as_ref())
                    .map_err(|_| malformed(format!("element name not UTF-8 {}", at())))?
                    .to_string();
                for attribute in start.attributes() {
                    let attribute = attribute
                        .map_err(|error| malformed(format!("bad attribute {}: {error}", at())))?;
                    if attribute.key.as_ref() == b"xmlns" {
                        let value = attribute.unescape_value().map_err(|error| {
                            malformed(format!("bad attribute {}: {error}", at()))
                        })?;
                        if !stack.is_empty() || value != NAMESPACE {
                            return Err(malformed(format!(
                                "namespace {value:?} on {name} {}; only {NAMESPACE} on the root",
                                at()
                            )));
                        }
                    }
                }
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let Some(element) = stack.pop() else {
                    return Err(malformed(format!("unmatched end tag {}", at())));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                // XML 1.0 line ends (CR LF and CR become LF); not 1.1's, which would also turn
                // U+0085 and U+2028 into LF and so change text a client sent (found by fuzzing).
                let text = text
                    .xml10_content()
                    .map_err(|error| malformed(format!("bad text {}: {error}", at())))?;
                push_text(&mut stack, &text, &at)?;
            }
            Event::CData(data) => {
                let text = data
                    .xml10_content()
                    .map_err(|error| malformed(format!("bad CDATA {}: {error}", at())))?;
                push_text(&mut stack, &text, &at)?;
            }
            Event::GeneralRef(reference) => {
                let decoded = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|error| {
                            malformed(format!("bad reference {}: {error}", at()))
                        })?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(format!("unknown entity &{name}; {}", at())))?
                            .to_string()
                    }
                    Err(error) => {
                        return Err(malformed(format!(
                            "bad character reference {}: {error}",
                            at()
                        )));
                    }
                };
                push_text(&mut stack, &decoded, &at)?;
            }
            Event::DocType(_) => {
                return Err(malformed(format!("DOCTYPE is not allowed {}", at())));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => unreachable!("expand_empty_elements is set"),
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(format!("element {} is not closed", open.name)));
    }
    root.ok_or_else(|| malformed("no root element"))
}

/// Character data of the innermost open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str, at: &dyn Fn() -> String) -> Result<(), CfError> {
    if let Some(bad) = text.chars().find(|&c| schema::forbidden_char(c)) {
        return Err(malformed(format!(
            "character U+{:04X} is not allowed in XML {}",
            bad as u32,
            at()
        )));
    }
    match stack.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed(format!("text outside the root element {}", at()))),
    }
    Ok(())
}

fn is_blank(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// The tree of `element` read as shape `shape_name`; `path` names it in errors.
fn to_node(shape_name: &str, element: &Element, path: &str) -> Result<Node, CfError> {
    let Some(shape) = schema::shape(shape_name) else {
        return Err(CfError::invalid(format!(
            "{path}: shape {shape_name} missing from the schema"
        )));
    };
    match shape.kind {
        Kind::Structure(_) => {
            if !is_blank(&element.text) {
                return Err(CfError::invalid(format!(
                    "{path} must be a structure of elements, not text {:?}",
                    element.text
                )));
            }
            let mut members = BTreeMap::new();
            for child in &element.children {
                let Some(member) = schema::member_by_element(shape_name, &child.name) else {
                    return Err(malformed(format!(
                        "Unexpected element {} in {path} (a {shape_name})",
                        child.name
                    )));
                };
                let child_path = format!("{path}.{}", member.name);
                if members.contains_key(member.name) {
                    return Err(malformed(format!("{child_path} is given more than once")));
                }
                members.insert(
                    member.name.to_string(),
                    to_node(member.shape, child, &child_path)?,
                );
            }
            Ok(Node::Struct(members))
        }
        Kind::List {
            item,
            element: item_element,
        } => {
            if !is_blank(&element.text) {
                return Err(CfError::invalid(format!(
                    "{path} must be a list of {item_element} elements, not text {:?}",
                    element.text
                )));
            }
            let items = element
                .children
                .iter()
                .enumerate()
                .map(|(index, child)| {
                    if child.name != item_element {
                        return Err(malformed(format!(
                            "Unexpected element {} in {path}; its items are {item_element}",
                            child.name
                        )));
                    }
                    to_node(item, child, &format!("{path}[{index}]"))
                })
                .collect::<Result<_, _>>()?;
            Ok(Node::List(items))
        }
        _ => {
            if let Some(child) = element.children.first() {
                return Err(CfError::invalid(format!(
                    "{path} must be text, not element {}",
                    child.name
                )));
            }
            Ok(Node::Text(element.text.clone()))
        }
    }
}

/// `node` (shape `shape`) as a document whose root is `root_element` with the CloudFront
/// namespace: an XML declaration, members in model order, lists as their item elements, text
/// escaped. Members the shape does not have are left out (nodes given here were checked, or
/// built by the API from the same shapes).
pub fn render(shape: &str, root_element: &str, node: &Node) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push('<');
    out.push_str(root_element);
    out.push_str(r#" xmlns=""#);
    out.push_str(NAMESPACE);
    out.push_str(r#"">"#);
    write_content(&mut out, shape, node);
    out.push_str("</");
    out.push_str(root_element);
    out.push('>');
    out.into_bytes()
}

fn write_element(out: &mut String, name: &str, shape: &str, node: &Node) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    write_content(out, shape, node);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn write_content(out: &mut String, shape: &str, node: &Node) {
    let kind = schema::shape(shape).map(|shape| &shape.kind);
    match (kind, node) {
        (Some(Kind::Structure(members)), Node::Struct(given)) => {
            for member in *members {
                if let Some(child) = given.get(member.name) {
                    write_element(out, member.element, member.shape, child);
                }
            }
        }
        (Some(Kind::List { item, element }), Node::List(items)) => {
            for child in items {
                write_element(out, element, item, child);
            }
        }
        (_, Node::Text(text)) => escape_into(out, text),
        // A node of the wrong kind for its shape: nothing a reader could map back.
        _ => {}
    }
}

/// Escapes character data. A carriage return is written as `&#13;` (a reader turns a literal
/// one into a line feed, XML 1.0 §2.11); characters XML cannot carry become U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if schema::forbidden_char(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod roundtrip;
#[cfg(test)]
mod tests;
