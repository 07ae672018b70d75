//! A target's response head as the fast path sees it: parsed in place, its body's framing
//! decided as RFC 9112 §6.3 says (the request method and the status count), whether the target
//! keeps the connection, and the head rewritten for the client: hop-by-hop headers dropped
//! (but `Transfer-Encoding`, since the body is relayed in the coding it names),
//! the session's `Set-Cookie` values added, `Connection: close` when the exchange ends the
//! client's connection.

use super::names::{self, ConnectionTokens};
use super::request::{HeaderSlots, write_field};
use crate::framing::parse_content_length;
use burr_affinity::sticky::SetCookies;

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body (a response to HEAD, 204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding, relayed as it is.
    Chunked,
    /// Everything until the target closes the connection.
    UntilClose,
}

/// A parsed response head.
pub struct ResponseHead<'b> {
    pub status: u16,
    reason: &'b str,
    headers: &'b [httparse::Header<'b>],
    pub body: ResponseBody,
    /// The target keeps the connection open for another request after this response.
    pub keep_alive: bool,
    connection: ConnectionTokens,
    /// A `Transfer-Encoding` field names a coding: it frames the body, not `Content-Length`.
    transfer_coded: bool,
    /// More than one `Transfer-Encoding` field: written as one.
    transfer_encoding_fields: usize,
    /// A `Content-Length` field is present.
    has_length: bool,
    /// Transfer codings other than chunked that the fields name.
    non_chunked_codings: usize,
}

/// Parses the complete head `bytes`; `to_head` when it answers a HEAD request.
pub fn parse<'b>(
    bytes: &'b [u8],
    slots: &'b mut HeaderSlots<'b>,
    to_head: bool,
) -> Result<ResponseHead<'b>, &'static str> {
    let mut response = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        bytes,
        slots,
    ) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("incomplete response head"),
        Err(httparse::Error::TooManyHeaders) => return Err("too many response headers"),
        Err(_) => return Err("malformed response head"),
    }
    let status = response.code.ok_or("malformed response head")?;
    // RFC 9110 §15: status codes run from 100 to 599. Anything else has no defined framing.
    if !(100..=599).contains(&status) {
        return Err("status code outside 100-599");
    }
    let version = response.version.ok_or("malformed response head")?;
    let headers: &'b [httparse::Header<'b>] = response.headers;
    let mut connection = ConnectionTokens::default();
    let mut length: Option<u64> = None;
    let mut transfer_coding: Option<bool> = None; // Some(true): ends with chunked
    let mut chunked_codings = 0;
    let mut non_chunked_codings = 0;
    let mut transfer_encoding_fields = 0;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(h.value).ok_or("invalid Content-Length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers");
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding_fields += 1;
            for coding in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if !coding.is_empty() {
                    let chunked = coding.eq_ignore_ascii_case(b"chunked");
                    chunked_codings += usize::from(chunked);
                    non_chunked_codings += usize::from(!chunked);
                    transfer_coding = Some(chunked);
                }
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            connection.add(h.value);
        }
    }
    // RFC 9112 §7: chunked is applied once, and last. Any other use of it leaves the end of the
    // body to guesswork.
    if chunked_codings > 1 || (chunked_codings == 1 && transfer_coding != Some(true)) {
        return Err("chunked applied more than once or not last in Transfer-Encoding");
    }
    // Both framings without chunked: which one the target meant is anyone's guess (RFC 9112
    // §6.3 calls it an error to handle as such).
    if transfer_coding == Some(false) && length.is_some() {
        return Err("Content-Length beside a Transfer-Encoding that is not chunked");
    }
    // Honouring such a Connection field would drop the header that frames the body and leave
    // the client unable to find the response's end.
    if connection.lists("content-length") || connection.lists("transfer-encoding") {
        return Err("Connection names a header that frames the response");
    }
    let body = if to_head || status == 204 || status == 304 || (100..200).contains(&status) {
        ResponseBody::None
    } else {
        match (transfer_coding, length) {
            (Some(true), _) => ResponseBody::Chunked,
            (Some(false), _) => ResponseBody::UntilClose,
            (None, Some(n)) => ResponseBody::Length(n),
            (None, None) => ResponseBody::UntilClose,
        }
    };
    let persistent = if version == 1 {
        !connection.close
    } else {
        connection.keep_alive && !connection.close
    };
    // A message with both framings may be an attempt at smuggling: relay it, never reuse.
    let ambiguous = transfer_coding.is_some() && length.is_some();
    Ok(ResponseHead {
        status,
        reason: response.reason.unwrap_or(""),
        headers,
        body,
        keep_alive: persistent && !ambiguous && body != ResponseBody::UntilClose,
        connection,
        transfer_coded: transfer_coding.is_some(),
        transfer_encoding_fields,
        has_length: length.is_some(),
        non_chunked_codings,
    })
}

impl ResponseHead<'_> {
    /// The values of the `Set-Cookie` fields that are text.
    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
    }

    /// Writes the head for the client into `out` (cleared first), all but its end: the
    /// session's `Set-Cookie` lines ([`SetCookieLines`]) may follow, then [`end_head`].
    ///
    /// Headers that frame the body are written once each: `Transfer-Encoding` when the body is
    /// relayed in a transfer coding (then no `Content-Length`: RFC 9112 §6.3 says the coding
    /// wins and the length must go), else a single `Content-Length`. A target's own
    /// `Set-Cookie` of one of `own_cookies` (the names burr's session sets) is dropped, so the
    /// client never holds two cookies of one name.
    pub fn write_client(&self, out: &mut Vec<u8>, own_cookies: &[&str]) {
        out.clear();
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(itoa_status(self.status).as_slice());
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.for_each_client_field(own_cookies, &mut HeadWriter { head: self, out });
    }

    /// Calls `each` with the fields the client is told of, in order: what
    /// [`ResponseHead::write_client`] writes and the HTTP/2 path turns into its response's
    /// header map (one filter for both). The body's transfer coding comes as one
    /// [`ClientField::TransferEncoding`], where the first `Transfer-Encoding` field was, and only
    /// when it still describes the body as relayed. (A loop with a sink rather than an
    /// iterator or a closure: with the sink's method forced inline it compiles to the plain
    /// loop the fast path had; a closure stayed a call per field, measured.)
    #[inline(always)]
    pub fn for_each_client_field<'h>(
        &'h self,
        own_cookies: &[&str],
        sink: &mut impl ClientFieldSink<'h>,
    ) {
        // 1xx and 204 have no body and may frame none (RFC 9110 §8.6, §6.1); a 304 may state
        // the length of what it stands for, but no transfer coding applies to it.
        let no_body_status = self.status < 200 || self.status == 204;
        let coded = self.transfer_coded && !no_body_status && self.status != 304;
        let mut length_written = false;
        let mut coding_written = false;
        for h in self.headers {
            // The body is relayed as it came, so its Transfer-Encoding (chunked, and any coding
            // before it) still describes it and goes along, as one field.
            if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if coded && !coding_written {
                    coding_written = true;
                    sink.take(ClientField::TransferEncoding);
                }
                continue;
            }
            if names::is_hop_by_hop(h.name) || self.connection.lists(h.name) {
                continue;
            }
            if h.name.eq_ignore_ascii_case("content-length") {
                if self.transfer_coded || length_written || no_body_status {
                    continue;
                }
                length_written = true;
            }
            if !own_cookies.is_empty()
                && h.name.eq_ignore_ascii_case("set-cookie")
                && crate::affinity::sets_one_of(own_cookies, h.value)
            {
                tracing::debug!("dropped the target's own Set-Cookie of a name burr sets");
                continue;
            }
            sink.take(ClientField::Field(h.name, h.value));
        }
    }

    /// The body is coded only as chunked (or not at all): what is left once the chunked coding
    /// is undone is the content itself. False for `gzip, chunked` or a coding without chunked,
    /// which an HTTP/2 response cannot state (it has no transfer codings).
    pub fn at_most_chunked(&self) -> bool {
        !self.transfer_coded
            || (self.body == ResponseBody::Chunked && self.non_chunked_codings == 0)
            || self.body == ResponseBody::None
    }
}

/// One field of a response head as the client gets it.
pub enum ClientField<'h> {
    Field(&'h str, &'h [u8]),
    /// The body's `Transfer-Encoding`, as one field.
    TransferEncoding,
}

/// Where [`ResponseHead::for_each_client_field`] puts the fields the client is told of. Its
/// implementations mark `take` `#[inline(always)]`: it runs once per field of every response.
pub trait ClientFieldSink<'h> {
    fn take(&mut self, field: ClientField<'h>);
}

/// The fast path's sink: each field as a header line of the client's head.
struct HeadWriter<'h, 'o> {
    head: &'h ResponseHead<'h>,
    out: &'o mut Vec<u8>,
}

impl<'h> ClientFieldSink<'h> for HeadWriter<'h, '_> {
    #[inline(always)]
    fn take(&mut self, field: ClientField<'h>) {
        match field {
            ClientField::Field(name, value) => write_field(self.out, name.as_bytes(), value),
            ClientField::TransferEncoding => self.head.write_transfer_encoding(self.out),
        }
    }
}

impl ResponseHead<'_> {
    /// How many fields the target's head has.
    pub fn field_count(&self) -> usize {
        self.headers.len()
    }

    /// The head has a `Content-Length` or `Transfer-Encoding` field.
    pub fn has_framing_fields(&self) -> bool {
        self.has_length || self.transfer_encoding_fields > 0
    }

    /// The `Transfer-Encoding` line: the field as it came, or several joined in order.
    fn write_transfer_encoding(&self, out: &mut Vec<u8>) {
        let mut fields = self
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
        if self.transfer_encoding_fields == 1
            && let Some(h) = fields.next()
        {
            write_field(out, h.name.as_bytes(), h.value);
            return;
        }
        out.extend_from_slice(b"Transfer-Encoding: ");
        let mut first = true;
        for h in fields.filter(|h| !h.value.trim_ascii().is_empty()) {
            if !first {
                out.extend_from_slice(b", ");
            }
            first = false;
            out.extend_from_slice(h.value.trim_ascii());
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The session's `Set-Cookie` values, written as header lines of the head in `out`.
pub struct SetCookieLines<'o>(pub &'o mut Vec<u8>);

impl SetCookies for SetCookieLines<'_> {
    fn set_cookie(&mut self, pieces: &[&[u8]]) {
        self.0.extend_from_slice(b"Set-Cookie: ");
        for piece in pieces {
            self.0.extend_from_slice(piece);
        }
        self.0.extend_from_slice(b"\r\n");
    }
}

/// Ends the head in `out`, with `Connection: close` when the client's connection closes after it.
pub fn end_head(out: &mut Vec<u8>, close: bool) {
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// A status code's three digits (httparse accepts only 100-999).
fn itoa_status(status: u16) -> [u8; 3] {
    [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::super::request::header_slots;
    use super::*;

    fn head(raw: &[u8], to_head: bool) -> (ResponseBody, bool) {
        let mut slots = header_slots();
        let h = parse(raw, &mut slots, to_head).unwrap();
        (h.body, h.keep_alive)
    }

    #[test]
    fn frames_bodies_as_rfc_9112_says() {
        use ResponseBody::*;
        let ok_len = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(head(ok_len, false), (Length(5), true));
        assert_eq!(head(ok_len, true), (None, true));
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                false
            ),
            (Chunked, true)
        );
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                false
            ),
            (Chunked, false)
        );
        assert_eq!(head(b"HTTP/1.1 200 OK\r\n\r\n", false), (UntilClose, false));
        assert_eq!(
            head(b"HTTP/1.1 204 No Content\r\n\r\n", false),
            (None, true)
        );
        assert_eq!(
            head(
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false
            ),
            (None, true)
        );
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
                false
            ),
            (Length(5), false)
        );
        assert_eq!(
            head(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", false),
            (Length(5), false)
        );
        assert_eq!(
            head(
                b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n",
                false
            ),
            (Length(5), true)
        );
        assert_eq!(
            head(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                false
            ),
            (Length(5), true)
        );
    }

    #[test]
    fn refuses_conflicting_lengths_and_framing_headers_named_in_connection() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200\r\nBad Header: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close, transfer-encoding\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        ] {
            let mut slots = header_slots();
            assert!(parse(raw, &mut slots, false).is_err());
        }
    }

    #[test]
    fn rewrites_the_head_for_the_client() {
        let raw =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\n\
                    X-Hop: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: gzip, chunked\r\n\
                    Content-Length: 3\r\nSet-Cookie: app=1\r\n\r\n";
        let mut slots = header_slots();
        let h = parse(raw, &mut slots, false).unwrap();
        assert_eq!(h.set_cookies().collect::<Vec<_>>(), ["app=1"]);
        let mut out = Vec::new();
        h.write_client(&mut out, &[]);
        SetCookieLines(&mut out).set_cookie(&[b"AWSELB=", b"t", b"; Path=/"]);
        end_head(&mut out, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\
             Set-Cookie: app=1\r\nSet-Cookie: AWSELB=t; Path=/\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn writes_one_framing_and_drops_the_targets_own_sticky_cookies() {
        let mut slots = header_slots();
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert!(parse(both, &mut slots, false).is_err());
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\
                    Set-Cookie: AWSALB=forged; Path=/\r\nSet-Cookie:  AWSALBCORS =x\r\n\
                    Set-Cookie: AWSALBX=kept\r\nSet-Cookie: awsalb=kept\r\n\r\n";
        let mut slots = header_slots();
        let h = parse(raw, &mut slots, false).unwrap();
        assert_eq!(h.body, ResponseBody::UntilClose);
        let mut out = Vec::new();
        h.write_client(&mut out, &["AWSALB", "AWSALBCORS"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nSet-Cookie: AWSALBX=kept\r\n\
             Set-Cookie: awsalb=kept\r\n"
        );
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n";
        let mut slots = header_slots();
        let h = parse(raw, &mut slots, false).unwrap();
        let mut out = Vec::new();
        h.write_client(&mut out, &[]);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n");
    }
}
