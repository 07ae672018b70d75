//! A client's HTTP/1.1 request head as the fast path sees it: parsed in place (no copies, no
//! header map), judged plain enough to forward here or handed to hyper, and rewritten for the
//! target straight into the bytes to send: origin-form request line, hop-by-hop headers dropped
//! (also those named in `Connection`), burr's own cookies removed when the policy says so (and the group cookies `AWSALBTG*`
//! when the listener keeps groups), and
//! `X-Forwarded-For/-Proto/-Port` as AWS ELB sets them.

use super::names::{self, ConnectionTokens};
use crate::affinity::{Affinity, CookieField, RequestHeaders};
use crate::framing::BodyFraming;
use crate::framing::rules;
use burr_affinity::cookies;
use std::mem::MaybeUninit;

/// Header slots parsed on the stack; a head with more goes to hyper, which has the configured
/// limit and answers 431 past it.
pub const MAX_FAST_HEADERS: usize = 64;

pub type HeaderSlots<'b> = [MaybeUninit<httparse::Header<'b>>; MAX_FAST_HEADERS];

pub fn header_slots<'b>() -> HeaderSlots<'b> {
    [const { MaybeUninit::uninit() }; MAX_FAST_HEADERS]
}

/// A request head the fast path forwards.
pub struct Head<'b> {
    pub method: &'b str,
    pub target: &'b str,
    pub headers: &'b [httparse::Header<'b>],
    pub body: BodyFraming,
    /// The client asked to close the connection after this exchange.
    pub close: bool,
    /// The request goes to the target as the last on its connection
    /// ([`rules::body_without_meaning`]).
    pub last_upstream: bool,
    connection: ConnectionTokens,
}

/// Why a head is left to hyper (which serves the rest of the connection).
#[derive(Debug, PartialEq, Eq)]
pub enum NotFast {
    /// Unparsable, too many headers, or against the request rules (`framing::rules`): the
    /// framing guard answers with the right status and reason.
    Refused,
    /// Valid but outside the fast path: HTTP/1.0, targets other than plain origin form
    /// (absolute form, `*`, characters hyper's URI parser must judge), upgrades, `Expect`,
    /// chunked request bodies.
    Unusual,
}

/// Parses the complete head `bytes` into `slots`; more than `max_headers` headers are refused.
pub fn parse<'b>(
    bytes: &'b [u8],
    slots: &'b mut HeaderSlots<'b>,
    max_headers: usize,
) -> Result<Head<'b>, NotFast> {
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(bytes, slots) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(NotFast::Refused),
    }
    let (Some(method), Some(target), Some(1)) = (request.method, request.path, request.version)
    else {
        return Err(NotFast::Unusual);
    };
    let headers: &'b [httparse::Header<'b>] = request.headers;
    if headers.len() > max_headers {
        return Err(NotFast::Refused);
    }
    // The rules both paths enforce; the framing guard answers a head that breaks them.
    let body =
        rules::check_request(method, target, Some(1), headers).map_err(|_| NotFast::Refused)?;
    if body == BodyFraming::Chunked || !rules::plain_origin_form(target) {
        return Err(NotFast::Unusual);
    }
    let mut connection = ConnectionTokens::default();
    for h in headers {
        if h.name.eq_ignore_ascii_case("upgrade") || h.name.eq_ignore_ascii_case("expect") {
            return Err(NotFast::Unusual);
        }
        if h.name.eq_ignore_ascii_case("connection") {
            connection.add(h.value);
        }
    }
    Ok(Head {
        method,
        target,
        headers,
        body,
        close: connection.close,
        last_upstream: rules::body_without_meaning(method, body),
        connection,
    })
}

impl<'b> Head<'b> {
    /// A head whose fields come from elsewhere than HTTP/1.1 text (an HTTP/2 request, its
    /// pseudo-header fields turned into `target` and a `host` field by the caller), to be
    /// written for the target by the same writer. HTTP/2 has no `Connection` field (RFC 9113
    /// §8.2.2 makes one malformed), so nothing here is listed as hop-by-hop beyond the usual.
    pub fn forwarding(
        method: &'b str,
        target: &'b str,
        headers: &'b [httparse::Header<'b>],
        body: BodyFraming,
    ) -> Self {
        Head {
            method,
            target,
            headers,
            body,
            close: false,
            last_upstream: rules::body_without_meaning(method, body),
            connection: ConnectionTokens::default(),
        }
    }
}

impl RequestHeaders for Head<'_> {
    fn cookie_fields(&self) -> impl Iterator<Item = &[u8]> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
            .map(|h| h.value)
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

/// The connection-wide parts of the `X-Forwarded-*` headers, formatted once per connection.
pub struct Forwarded {
    /// The client's address as text, appended to `X-Forwarded-For`.
    client: String,
    /// `X-Forwarded-Proto` and `X-Forwarded-Port` lines, ready to send.
    proto_port: String,
}

impl Forwarded {
    pub fn new(client: std::net::IpAddr, https: bool, port: u16) -> Self {
        let proto = if https { "https" } else { "http" };
        Self {
            client: client.to_canonical().to_string(),
            proto_port: format!("X-Forwarded-Proto: {proto}\r\nX-Forwarded-Port: {port}\r\n"),
        }
    }
}

impl Head<'_> {
    /// Writes the head to send to the target into `out` (cleared first); with
    /// `strip_group_cookies`, without the `AWSALBTG*` group cookies.
    pub fn write_upstream(
        &self,
        out: &mut Vec<u8>,
        forwarded: &Forwarded,
        session: Option<&Affinity<'_>>,
        strip_group_cookies: bool,
    ) {
        let strip = crate::canary::Strip {
            group_cookies: strip_group_cookies,
            ..Default::default()
        };
        self.write_upstream_stripped(out, forwarded, session, &strip);
    }

    /// [`Head::write_upstream`] without what `strip` names: burr's group and canary cookies,
    /// the canary's routing header.
    pub fn write_upstream_stripped(
        &self,
        out: &mut Vec<u8>,
        forwarded: &Forwarded,
        session: Option<&Affinity<'_>>,
        strip: &crate::canary::Strip<'_>,
    ) {
        out.clear();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let strip_cookies = session.filter(|s| s.strips_cookies());
        let mut forwarded_for: Option<Vec<u8>> = None;
        for h in self.headers {
            let name = h.name;
            if names::is_hop_by_hop(name) || self.connection.lists(name) {
                continue;
            }
            if names::is_forwarded(name) {
                if name.eq_ignore_ascii_case("x-forwarded-for") {
                    // Several X-Forwarded-For lines fold into one list, in order.
                    let list = forwarded_for.get_or_insert_with(Vec::new);
                    list.extend_from_slice(h.value);
                    list.extend_from_slice(b", ");
                }
                continue; // -Proto and -Port describe burr's listener: replaced
            }
            let mut value = h.value;
            let replaced;
            let regrouped;
            if let Some(session) = strip_cookies
                && name.eq_ignore_ascii_case("cookie")
            {
                if session.drops_all_cookie_fields() {
                    continue;
                }
                match session.cookie_field(value) {
                    CookieField::Keep => {}
                    CookieField::Drop => continue,
                    CookieField::Replace(kept) => {
                        replaced = kept;
                        value = &replaced;
                    }
                }
            }
            if strip
                .header
                .is_some_and(|h| name.eq_ignore_ascii_case(h.as_str()))
            {
                continue; // the canary's routing header serves the split only
            }
            if name.eq_ignore_ascii_case("cookie")
                && let Some(names) = strip.cookies_in(value)
            {
                // The group and canary cookies are the balancer's, like the session's own.
                match cookies::without(value, names) {
                    None => continue,
                    Some(kept) => {
                        regrouped = kept;
                        value = &regrouped;
                    }
                }
            }
            write_field(out, name.as_bytes(), value);
        }
        out.extend_from_slice(b"X-Forwarded-For: ");
        if let Some(list) = &forwarded_for {
            out.extend_from_slice(list);
        }
        out.extend_from_slice(forwarded.client.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(forwarded.proto_port.as_bytes());
        if self.body == BodyFraming::Chunked {
            // Only a head from elsewhere gets here chunked (the fast path leaves chunked
            // uploads to hyper): its body is re-framed, the client's own framing fields having
            // been dropped as hop-by-hop.
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        if self.last_upstream {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `name: value` and CRLF.
pub fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream_head(raw: &[u8]) -> String {
        let mut slots = header_slots();
        let head = parse(raw, &mut slots, 100).expect("fast");
        let mut out = Vec::new();
        let forwarded = Forwarded::new("127.0.0.9".parse().unwrap(), false, 8080);
        head.write_upstream(&mut out, &forwarded, None, false);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strips_the_canary_cookie_group_cookies_and_routing_header() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\nAWS-CF-CD-Canary: yes\r\n\
                    Cookie: a=1; x-amz-continuous-deployment-state=t; AWSALBTG=g\r\n\
                    Cookie: x-amz-continuous-deployment-state=t\r\n\r\n";
        let mut slots = header_slots();
        let head = parse(raw, &mut slots, 100).expect("fast");
        let forwarded = Forwarded::new("127.0.0.9".parse().unwrap(), false, 8080);
        let name = http::HeaderName::from_static("aws-cf-cd-canary");
        let mut out = Vec::new();
        let strip = crate::canary::Strip {
            group_cookies: true,
            canary_cookie: true,
            header: Some(&name),
        };
        head.write_upstream_stripped(&mut out, &forwarded, None, &strip);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX-Forwarded-For: 127.0.0.9\r\n\
             X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n"
        );
        // Canary only: the group cookie stays; no routing header named: it stays.
        let strip = crate::canary::Strip {
            canary_cookie: true,
            ..Default::default()
        };
        let mut out = Vec::new();
        head.write_upstream_stripped(&mut out, &forwarded, None, &strip);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("AWS-CF-CD-Canary: yes\r\nCookie: a=1; AWSALBTG=g\r\nX-"),
            "{out}"
        );
    }

    #[test]
    fn drops_hop_by_hop_and_adds_forwarded_headers() {
        let out = upstream_head(
            b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n\
              Keep-Alive: 5\r\nX-Secret: s\r\nTE: trailers\r\nProxy-Authorization: p\r\n\
              X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nX-Forwarded-Proto: https\r\n\
              X-Forwarded-Port: 1\r\nX-Kept: yes\r\n\r\n",
        );
        assert_eq!(
            out,
            "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Kept: yes\r\n\
             X-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.9\r\n\
             X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n\r\n"
        );
    }

    #[test]
    fn unusual_and_refused_heads_go_to_hyper() {
        for (raw, why) in [
            (&b"GET / HTTP/1.0\r\n\r\n"[..], NotFast::Unusual),
            (b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", NotFast::Unusual),
            (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", NotFast::Unusual),
            (b"GET /a{b} HTTP/1.1\r\nHost: x\r\n\r\n", NotFast::Unusual),
            (b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", NotFast::Refused),
            (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", NotFast::Unusual),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
                NotFast::Unusual,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                NotFast::Unusual,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                NotFast::Refused,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                NotFast::Refused,
            ),
            (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n", NotFast::Refused),
            (b"GET / HTTP/1.1\r\n\r\n", NotFast::Refused),
            (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", NotFast::Refused),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: 49\r\n\r\n",
                NotFast::Refused,
            ),
            (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: host\r\n\r\n", NotFast::Refused),
        ] {
            let mut slots = header_slots();
            assert_eq!(
                parse(raw, &mut slots, 100).err(),
                Some(why),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn reads_length_and_close() {
        let raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: Close\r\n\r\n";
        let mut slots = header_slots();
        let head = parse(raw, &mut slots, 100).unwrap();
        assert_eq!(head.body, BodyFraming::Length(12));
        assert!(head.close);
    }
}
