//! Writing the XML answers of the query protocol with quick-xml: the `…Response` envelope with
//! its `…Result` element (present even when empty: boto3 fails without it) and
//! `ResponseMetadata`, and the `ErrorResponse` shape.

use crate::error::ApiError;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::borrow::Cow;

/// An XML document being written. Writing to memory cannot fail, so the methods do not return
/// errors.
pub struct Xml {
    writer: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        let mut writer = Writer::new(Vec::with_capacity(1024));
        let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        Self { writer }
    }

    pub fn open(&mut self, name: &str) {
        let _ = self.writer.write_event(Event::Start(BytesStart::new(name)));
    }

    fn open_with_namespace(&mut self, name: &str, namespace: &str) {
        let start = BytesStart::new(name).with_attributes([("xmlns", namespace)]);
        let _ = self.writer.write_event(Event::Start(start));
    }

    pub fn close(&mut self, name: &str) {
        let _ = self.writer.write_event(Event::End(BytesEnd::new(name)));
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        self.characters(text);
        self.close(name);
    }

    /// Character data, escaped; characters XML 1.0 forbids (control characters other than
    /// tab, line feed and carriage return, and the noncharacters U+FFFE and U+FFFF — an error
    /// message may quote them from input) become U+FFFD, so every answer stays well-formed.
    /// A carriage return is written as `&#13;`: a reader turns a literal one (and CR LF) into a
    /// line feed (XML 1.0 §2.11), so only the reference brings the text back as it was.
    fn characters(&mut self, text: &str) {
        let forbidden = |c: char| {
            (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
        };
        let text = if text.contains(forbidden) {
            Cow::Owned(text.replace(forbidden, "\u{fffd}"))
        } else {
            Cow::Borrowed(text)
        };
        let escaped = quick_xml::escape::escape(text.as_ref());
        let escaped = if escaped.contains('\r') {
            Cow::Owned(escaped.replace('\r', "&#13;"))
        } else {
            escaped
        };
        let _ = self
            .writer
            .write_event(Event::Text(BytesText::from_escaped(escaped)));
    }

    /// `<name>` … `</name>` around what `body` writes.
    pub fn element(&mut self, name: &str, body: impl FnOnce(&mut Xml)) {
        self.open(name);
        body(self);
        self.close(name);
    }

    /// `<name><member>…</member>…</name>`.
    pub fn members<T>(&mut self, name: &str, items: &[T], mut each: impl FnMut(&mut Xml, &T)) {
        self.open(name);
        for item in items {
            self.open("member");
            each(self, item);
            self.close("member");
        }
        self.close(name);
    }

    /// A list of plain strings.
    pub fn string_members(&mut self, name: &str, items: &[String]) {
        self.members(name, items, |x, s| x.characters(s));
    }

    fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner()
    }
}

/// A success answer being written: `<{action}Response xmlns=…><{action}Result>` is open; the
/// handler writes the result's fields, then [`Response::finish`] closes it and adds
/// `ResponseMetadata`. An empty result still gets its element (boto3 fails without it).
pub struct Response {
    xml: Xml,
    action: String,
}

impl Response {
    pub fn start(action: &str, namespace: &str) -> Self {
        let mut xml = Xml::new();
        xml.open_with_namespace(&format!("{action}Response"), namespace);
        xml.open(&format!("{action}Result"));
        Self {
            xml,
            action: action.to_string(),
        }
    }

    pub fn body(&mut self) -> &mut Xml {
        &mut self.xml
    }

    pub fn finish(mut self, request_id: &str) -> Vec<u8> {
        self.xml.close(&format!("{}Result", self.action));
        self.xml
            .element("ResponseMetadata", |x| x.text("RequestId", request_id));
        self.xml.close(&format!("{}Response", self.action));
        self.xml.into_bytes()
    }
}

/// `<ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
pub fn error(namespace: &str, request_id: &str, error: &ApiError) -> Vec<u8> {
    let mut xml = Xml::new();
    xml.open_with_namespace("ErrorResponse", namespace);
    xml.element("Error", |x| {
        x.text("Type", error.fault());
        x.text("Code", error.code);
        x.text("Message", &error.message);
    });
    xml.text("RequestId", request_id);
    xml.close("ErrorResponse");
    xml.into_bytes()
}

/// An answer of the EC2 protocol: `<{action}Response xmlns=…><requestId/>…` with the fields
/// directly inside (no `…Result` element, unlike the query protocol).
pub fn ec2_response(
    action: &str,
    namespace: &str,
    request_id: &str,
    body: impl FnOnce(&mut Xml),
) -> Vec<u8> {
    let mut xml = Xml::new();
    let root = format!("{action}Response");
    xml.open_with_namespace(&root, namespace);
    xml.text("requestId", request_id);
    body(&mut xml);
    xml.close(&root);
    xml.into_bytes()
}

/// An error of the EC2 protocol: `<Response><Errors><Error><Code/><Message/></Error></Errors>
/// <RequestID/></Response>`.
pub fn ec2_error(request_id: &str, error: &ApiError) -> Vec<u8> {
    let mut xml = Xml::new();
    xml.open("Response");
    xml.element("Errors", |x| {
        x.element("Error", |x| {
            x.text("Code", error.code);
            x.text("Message", &error.message);
        })
    });
    xml.text("RequestID", request_id);
    xml.close("Response");
    xml.into_bytes()
}

/// RFC 3339 UTC with milliseconds, as AWS writes `CreatedTime`. RFC 3339 has four-digit years;
/// the model keeps creation times within them.
pub fn timestamp(unix: u64) -> String {
    let unix = unix.min(burr_model::classic::MAX_TIMESTAMP);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_result_element_is_present_and_text_is_escaped() {
        let body = Response::start("DeleteLoadBalancer", "urn:x").finish("r-1");
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains("<DeleteLoadBalancerResult></DeleteLoadBalancerResult>"),
            "{text}"
        );
        assert!(text.contains("<RequestId>r-1</RequestId>"));
        let err = ApiError::invalid("a < b & \"c\"");
        let text = String::from_utf8(error("urn:x", "r-2", &err)).unwrap();
        assert!(
            text.contains("<Message>a &lt; b &amp; &quot;c&quot;</Message>"),
            "{text}"
        );
        assert!(text.contains("<Type>Sender</Type><Code>ValidationError</Code>"));
    }

    #[test]
    fn characters_xml_forbids_are_replaced() {
        let err = ApiError::invalid("tag \u{1}x\ty");
        let text = String::from_utf8(error("urn:x", "r", &err)).unwrap();
        assert!(
            text.contains("<Message>tag \u{fffd}x\ty</Message>"),
            "{text}"
        );
    }

    /// Found by the `xml_escape` fuzz target: U+FFFE and U+FFFF are not XML characters
    /// either, and a document carrying one is not well-formed.
    #[test]
    fn noncharacters_are_replaced() {
        let err = ApiError::invalid("a\u{fffe}b\u{ffff}c");
        let text = String::from_utf8(error("urn:x", "r", &err)).unwrap();
        assert!(
            text.contains("<Message>a\u{fffd}b\u{fffd}c</Message>"),
            "{text}"
        );
    }

    /// Found by the `xml_escape` fuzz target: a literal carriage return comes back from an XML
    /// reader as a line feed (line-end normalisation), so it is written as a reference.
    #[test]
    fn carriage_returns_survive_a_reader() {
        let err = ApiError::invalid("a\rb\r\nc");
        let document = error("urn:x", "r", &err);
        let text = String::from_utf8(document.clone()).unwrap();
        assert!(
            text.contains("<Message>a&#13;b&#13;\nc</Message>"),
            "{text}"
        );
        // What an XML 1.0 processor reads back, references resolved.
        let mut reader = quick_xml::Reader::from_reader(&document[..]);
        let mut message = String::new();
        let mut inside = false;
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => inside = e.name().as_ref() == b"Message",
                Event::Text(t) if inside => message.push_str(&t.xml10_content().unwrap()),
                Event::GeneralRef(r) if inside => {
                    let code = r.resolve_char_ref().unwrap().unwrap();
                    message.push(code);
                }
                Event::End(_) => inside = false,
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(message, "a\rb\r\nc");
    }
}
