//! The XML writer's escaping (`burr_api::xml`): text in an answer or an error comes back
//! exactly when the document is read with quick-xml's reader as an XML 1.0 processor reads it
//! (line ends normalised, character and entity references resolved).
//!
//! Input: text, split at the first zero byte into an error message and a request id (the
//! characters XML forbids are expected back as U+FFFD, which is what the writer promises).
//! Every character of the document must be one XML 1.0 allows.
#![no_main]

use burr_api::error::ApiError;
use burr_api::xml::{Response, error};
use libfuzzer_sys::fuzz_target;
use quick_xml::Reader;
use quick_xml::events::Event;

fuzz_target!(|text: &str| {
    let (message, request_id) = text.split_once('\0').unwrap_or((text, "r-1"));

    let document = error("urn:fuzz", request_id, &ApiError::invalid(message));
    let texts = read_texts(&document);
    assert_eq!(
        texts,
        [
            "Sender",
            "ValidationError",
            &expected(message),
            &expected(request_id)
        ],
        "{}",
        String::from_utf8_lossy(&document)
    );

    let mut response = Response::start("DescribeThings", "urn:fuzz");
    response.body().text("Name", message);
    response
        .body()
        .string_members("Names", &[message.to_owned(), request_id.to_owned()]);
    let document = response.finish(request_id);
    let texts = read_texts(&document);
    assert_eq!(
        texts,
        [
            expected(message),
            expected(message),
            expected(request_id),
            expected(request_id)
        ],
        "{}",
        String::from_utf8_lossy(&document)
    );
});

/// The text the writer promises: characters XML 1.0 cannot carry become U+FFFD.
fn expected(text: &str) -> String {
    text.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{fffd}' })
        .collect()
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The text content of every element that holds text, in document order, as an XML 1.0
/// processor reports it; an element written empty reports "".
fn read_texts(document: &[u8]) -> Vec<String> {
    let as_text = std::str::from_utf8(document).expect("the document is UTF-8");
    assert!(as_text.chars().all(is_xml_char), "{as_text:?}");
    let mut reader = Reader::from_reader(document);
    let mut texts = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => current = Some(String::new()),
            Ok(Event::Text(t)) => {
                let content = t.xml10_content().expect("text decodes");
                current
                    .as_mut()
                    .expect("text inside an element")
                    .push_str(&content);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().expect("reference decodes");
                let resolved = match name.strip_prefix('#') {
                    Some(number) => {
                        let code = match number.strip_prefix('x') {
                            Some(hex) => u32::from_str_radix(hex, 16),
                            None => number.parse(),
                        }
                        .expect("a numeric character reference");
                        let c = char::from_u32(code).expect("a character");
                        assert!(is_xml_char(c), "reference to a forbidden character {code}");
                        c.to_string()
                    }
                    None => quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity &{name};"))
                        .to_owned(),
                };
                current
                    .as_mut()
                    .expect("reference inside an element")
                    .push_str(&resolved);
            }
            Ok(Event::End(_)) => {
                if let Some(text) = current.take() {
                    texts.push(text);
                }
            }
            Ok(Event::Eof) => break,
            Ok(Event::Decl(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => panic!("not well-formed: {e}"),
        }
    }
    texts
}
