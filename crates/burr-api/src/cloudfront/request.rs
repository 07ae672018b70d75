//! One CloudFront request as its handlers read it: the method, the path's segments after the
//! version (percent-decoded), the query's parameters (a bare name such as `WithTags` has an empty
//! value), the headers by name (case-insensitive) and the body.

use crate::sigv4::SignedRequest;
use std::collections::BTreeMap;

pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// The path after `/2020-05-31/`, split at `/`; `None` when the path is not under it.
    pub segments: Option<Vec<String>>,
    query: BTreeMap<String, String>,
    headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(signed: &SignedRequest<'a>) -> Self {
        let segments = signed
            .path
            .strip_prefix(super::PATH_PREFIX)
            .map(|rest| rest.split('/').map(percent_decode).collect());
        // A parameter given twice keeps its first value: none of this API's parameters repeat,
        // and the signature covers the whole query either way.
        let mut query = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(signed.query.as_bytes()) {
            query
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self {
            method: signed.method,
            segments,
            query,
            headers: signed.headers,
            body: signed.body,
        }
    }

    /// The query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// Whether the query names `name` (with or without a value).
    pub fn has_query(&self, name: &str) -> bool {
        self.query.contains_key(name)
    }

    /// The first header `name` (case-insensitive), trimmed; `None` when absent or not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// `If-Match`, as given (the model decides what a missing or empty one means).
    pub fn if_match(&self) -> Option<&str> {
        self.header("If-Match")
    }
}

/// `%XX` sequences decoded; anything not valid UTF-8 afterwards is kept as it came.
fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_string();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_string())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(percent_decode("E123"), "E123");
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%2"), "end%2");
    }
}
