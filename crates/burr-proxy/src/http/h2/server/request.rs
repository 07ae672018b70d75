//! A request's header block, as burr's HTTP/2 codec decodes it, made into the `http::Request`
//! every handler takes, with the checks RFC 9113 §8 asks of a server: pseudo-header fields
//! (§8.3.1) first, each once, only the request's four; field names in lowercase; no field of
//! the connection's (§8.2.2) and `te` only as `trailers`; values without NUL, CR or LF (§8.2.1);
//! a valid `content-length`. A request that fails one is malformed, answered with RST_STREAM
//! PROTOCOL_ERROR (§8.1.1). Trailers go through the same checks, with no pseudo-header allowed.
//!
//! Field values are copied once, into one buffer per header block, and each `HeaderValue` is a
//! slice of it: no allocation per field.

use crate::framing::rules;
use bytes::{Bytes, BytesMut};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// A field of the connection's, which HTTP/2 forbids in a message (RFC 9113 §8.2.2): a
/// request carrying one is malformed, and a response never sends one.
pub(super) fn connection_specific(name: &HeaderName) -> bool {
    matches!(
        *name,
        http::header::CONNECTION | http::header::TRANSFER_ENCODING | http::header::UPGRADE
    ) || name == "keep-alive"
        || name == "proxy-connection"
}

/// Why a header block is malformed.
pub(super) type Malformed = &'static str;

/// The fields of one header block as they are decoded.
pub(super) struct Fields {
    trailers: bool,
    method: Option<Method>,
    scheme: Option<(usize, usize)>,
    authority: Option<(usize, usize)>,
    path: Option<(usize, usize)>,
    regular: Vec<(HeaderName, usize, usize)>,
    content_length: Option<u64>,
    malformed: Option<Malformed>,
}

impl Fields {
    pub(super) fn new() -> Self {
        Self {
            trailers: false,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            regular: Vec::new(),
            content_length: None,
            malformed: None,
        }
    }

    /// Starts a header block: a request's, or trailers. The field list keeps its allocation.
    pub(super) fn begin(&mut self, trailers: bool) {
        self.trailers = trailers;
        self.method = None;
        self.scheme = None;
        self.authority = None;
        self.path = None;
        self.regular.clear();
        self.content_length = None;
        self.malformed = None;
    }

    /// Takes one decoded field, its value copied into `values`.
    pub(super) fn field(&mut self, name: &[u8], value: &[u8], values: &mut BytesMut) {
        if self.malformed.is_none()
            && let Err(why) = self.check(name, value, values)
        {
            self.malformed = Some(why);
        }
    }

    fn check(&mut self, name: &[u8], value: &[u8], values: &mut BytesMut) -> Result<(), Malformed> {
        if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
            return Err("a field value holds NUL, CR or LF");
        }
        let range = (values.len(), values.len() + value.len());
        if let Some(pseudo) = name.strip_prefix(b":") {
            if self.trailers {
                return Err("a pseudo-header field in trailers");
            }
            if !self.regular.is_empty() {
                return Err("a pseudo-header field after a regular field");
            }
            let slot = match pseudo {
                b"method" => {
                    if self.method.is_some() {
                        return Err("a second :method");
                    }
                    let method = Method::from_bytes(value).map_err(|_| "an invalid :method")?;
                    self.method = Some(method);
                    return Ok(());
                }
                b"scheme" => &mut self.scheme,
                b"authority" => &mut self.authority,
                b"path" => &mut self.path,
                _ => return Err("an unknown pseudo-header field"),
            };
            if slot.is_some() {
                return Err("a pseudo-header field twice");
            }
            *slot = Some(range);
            values.extend_from_slice(value);
            return Ok(());
        }
        if name.iter().any(u8::is_ascii_uppercase) {
            return Err("an uppercase field name");
        }
        let name = HeaderName::from_bytes(name).map_err(|_| "an invalid field name")?;
        if connection_specific(&name) {
            return Err("a connection-specific field");
        }
        match name {
            http::header::TE if value != b"trailers" => return Err("te other than trailers"),
            http::header::CONTENT_LENGTH => {
                let length =
                    rules::parse_content_length(value).ok_or("an invalid content-length")?;
                if self.content_length.is_some_and(|seen| seen != length) {
                    return Err("content-length fields that disagree");
                }
                self.content_length = Some(length);
            }
            _ => {}
        }
        values.extend_from_slice(value);
        self.regular.push((name, range.0, range.1));
        Ok(())
    }

    /// The request's `content-length`, once the block is decoded.
    pub(super) fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Moves the regular fields into `map`.
    fn fields(&mut self, values: &Bytes, map: &mut HeaderMap) -> Result<(), Malformed> {
        map.reserve(self.regular.len());
        for (name, start, end) in self.regular.drain(..) {
            let value = HeaderValue::from_maybe_shared(values.slice(start..end))
                .map_err(|_| "an invalid field value")?;
            map.append(name, value);
        }
        Ok(())
    }

    /// The trailers.
    pub(super) fn trailers(&mut self, values: Bytes) -> Result<HeaderMap, Malformed> {
        if let Some(why) = self.malformed {
            return Err(why);
        }
        let mut map = HeaderMap::new();
        self.fields(&values, &mut map)?;
        Ok(map)
    }

    /// The request, its body `body` (§8.3.1: a CONNECT has only :method and :authority, every
    /// other request :method, :scheme and a non-empty :path).
    pub(super) fn request<B>(&mut self, values: Bytes, body: B) -> Result<Request<B>, Malformed> {
        if let Some(why) = self.malformed {
            return Err(why);
        }
        let method = self.method.take().ok_or("no :method")?;
        let slice = |range: Option<(usize, usize)>| range.map(|(s, e)| values.slice(s..e));
        let (scheme, authority, path) =
            (slice(self.scheme), slice(self.authority), slice(self.path));
        let mut parts = http::uri::Parts::default();
        if method == Method::CONNECT {
            if scheme.is_some() || path.is_some() {
                return Err("a CONNECT with :scheme or :path");
            }
            let authority = authority.ok_or("a CONNECT without :authority")?;
            parts.authority =
                Some(Authority::from_maybe_shared(authority).map_err(|_| "an invalid :authority")?);
        } else {
            let scheme = scheme.ok_or("no :scheme")?;
            let path = path.ok_or("no :path")?;
            if path.is_empty() {
                return Err("an empty :path");
            }
            if let Some(authority) = authority {
                parts.authority = Some(
                    Authority::from_maybe_shared(authority).map_err(|_| "an invalid :authority")?,
                );
                parts.scheme =
                    Some(Scheme::try_from(&scheme[..]).map_err(|_| "an invalid :scheme")?);
            }
            parts.path_and_query =
                Some(PathAndQuery::from_maybe_shared(path).map_err(|_| "an invalid :path")?);
        }
        let uri = Uri::from_parts(parts).map_err(|_| "an invalid request target")?;
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        self.fields(&values, request.headers_mut())?;
        Ok(request)
    }
}
