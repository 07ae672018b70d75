//! The rules every HTTP/1.x request head must pass before any of it reaches a target, on both
//! of burr's HTTP/1.1 paths (the fast path refuses what breaks them and hands it to the framing
//! guard, which answers): exactly one way to frame the body (RFC 9112 §6.3), a single valid
//! `Host` (§3.2), no `Connection` field naming a header that frames the message or names its
//! authority (an intermediary that honoured it would drop that header and forward an ambiguous
//! request), no header spelt like a framing header with `_` for `-`, an ASCII target (`*` only
//! for OPTIONS), and no `CONNECT` (burr has no tunnelling listener). Also which requests go to
//! their target as the last on an upstream connection (`GET`/`HEAD` with a body).

use http::StatusCode;

/// Why a request head is refused, and the status it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: &'static str,
}

impl Refusal {
    pub const fn bad_request(reason: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            reason,
        }
    }
}

/// The methods burr forwards, for the `Allow` field of its 405: every method but `CONNECT`.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH";

/// `CONNECT` asks for a tunnel, and no listener of burr tunnels.
pub const CONNECT_REFUSAL: Refusal = Refusal {
    status: StatusCode::METHOD_NOT_ALLOWED,
    reason: "CONNECT is not served: no listener of burr tunnels",
};

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// Checks a parsed request head (`version` is httparse's minor version) and returns how its body
/// is framed, or why the head is refused.
pub fn check_request(
    method: &str,
    target: &str,
    version: Option<u8>,
    headers: &[httparse::Header<'_>],
) -> Result<BodyFraming, Refusal> {
    if method == "CONNECT" {
        return Err(CONNECT_REFUSAL);
    }
    // httparse lets bytes past ASCII through in the target; no URI has them (RFC 3986 §2), and
    // a target that decodes them its own way would route another request than burr did.
    if !target.is_ascii() {
        return Err(Refusal::bad_request("invalid request target"));
    }
    // The asterisk form names no resource: only OPTIONS may use it (RFC 9112 §3.2.4).
    if target == "*" && method != "OPTIONS" {
        return Err(Refusal::bad_request(
            "asterisk-form target with a method other than OPTIONS",
        ));
    }
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err(Refusal::bad_request("more than one Host header")),
        (Some(host), None) if !valid_host(host.value) => {
            return Err(Refusal::bad_request("invalid Host header"));
        }
        // HTTP/1.0 clients may leave Host out; HTTP/1.1 ones must send it.
        (None, _) if version == Some(1) => {
            return Err(Refusal::bad_request("missing Host header"));
        }
        _ => {}
    }
    for h in headers {
        if h.name.eq_ignore_ascii_case("connection")
            && let Some(named) = names_protected_header(h.value)
        {
            return Err(Refusal::bad_request(named));
        }
        if h.name.contains('_') && spells_a_framing_header(h.name) {
            return Err(Refusal::bad_request(
                "a header named like Content-Length or Transfer-Encoding with '_' for '-'",
            ));
        }
    }
    request_body(version, headers).map_err(Refusal::bad_request)
}

/// The refusal reason when a `Connection` value names `Content-Length`, `Transfer-Encoding` or
/// `Host`: headers a proxy must never drop as hop-by-hop.
fn names_protected_header(value: &[u8]) -> Option<&'static str> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .find_map(|token| {
            if token.eq_ignore_ascii_case(b"content-length") {
                Some("Connection names Content-Length")
            } else if token.eq_ignore_ascii_case(b"transfer-encoding") {
                Some("Connection names Transfer-Encoding")
            } else if token.eq_ignore_ascii_case(b"host") {
                Some("Connection names Host")
            } else {
                None
            }
        })
}

/// True for `Content_Length`, `Transfer_Encoding` and their like: servers that read `_` as `-`
/// (CGI-style header mapping) would frame the body by a header burr does not.
fn spells_a_framing_header(name: &str) -> bool {
    ["content-length", "transfer-encoding"]
        .iter()
        .any(|framing| {
            framing.len() == name.len()
                && framing
                    .bytes()
                    .zip(name.bytes())
                    .all(|(f, n)| f == n.to_ascii_lowercase() || (f == b'-' && n == b'_'))
        })
}

/// True for a `GET` or `HEAD` request with a body: a body there has no defined meaning (RFC
/// 9110 §9.3.1), so a target may ignore its length and read the body as the next request.
/// burr forwards it (clients such as search engines send them) but as the last request on its
/// upstream connection, with `Connection: close`, so nothing can follow it there.
pub fn body_without_meaning(method: &str, framing: BodyFraming) -> bool {
    matches!(method, "GET" | "HEAD")
        && !matches!(framing, BodyFraming::None | BodyFraming::Length(0))
}

/// A `Host` value as RFC 9110 §7.2 allows it: `uri-host [ ":" port ]`, where the host is a
/// registered name (unreserved characters, percent escapes, sub-delimiters), an IPv4 address or
/// a bracketed IP literal. Empty is allowed (a request whose target has no authority).
pub fn valid_host(value: &[u8]) -> bool {
    let (host, port) = match value.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = &rest[..end];
                if literal.is_empty()
                    || !literal
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                        && !literal.starts_with(b"v")
                {
                    return false;
                }
                (&b""[..], &rest[end + 1..])
            }
            None => return false,
        },
        None => match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &b""[..]),
        },
    };
    let port_ok = match port.strip_prefix(b":") {
        Some(digits) => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        None => port.is_empty(),
    };
    port_ok && host.iter().all(|&b| is_reg_name_byte(b))
}

fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)
}

/// The framing of a request with `version` (httparse's minor version) and `headers`, or why
/// it is ambiguous and must be refused: both `Content-Length` and `Transfer-Encoding`, more
/// than one `Content-Length`, an invalid length, a transfer coding not ending in `chunked`, or
/// `Transfer-Encoding` in HTTP/1.0.
pub fn request_body(
    version: Option<u8>,
    headers: &[httparse::Header<'_>],
) -> Result<BodyFraming, &'static str> {
    let mut content_length: Option<&[u8]> = None;
    let mut chunked: Option<bool> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            if content_length.is_some() {
                return Err("more than one Content-Length header");
            }
            content_length = Some(h.value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last field counts; an empty field changes nothing.
            if let Some(last) = last_coding(h.value) {
                chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            } else if chunked.is_none() {
                chunked = Some(false);
            }
        }
    }
    match (content_length, chunked) {
        (Some(_), Some(_)) => Err("both Content-Length and Transfer-Encoding are present"),
        (Some(value), None) => parse_content_length(value)
            .map(BodyFraming::Length)
            .ok_or("invalid Content-Length"),
        (None, Some(_)) if version != Some(1) => {
            Err("Transfer-Encoding is not allowed in HTTP/1.0")
        }
        (None, Some(true)) => Ok(BodyFraming::Chunked),
        (None, Some(false)) => Err("Transfer-Encoding must end with chunked"),
        (None, None) => Ok(BodyFraming::None),
    }
}

/// The last non-empty coding of a `Transfer-Encoding` value.
pub fn last_coding(value: &[u8]) -> Option<&[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .rfind(|c| !c.is_empty())
}

/// A Content-Length value: 1 to 19 ASCII digits, nothing else.
pub fn parse_content_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// True when the request target is in origin form and made only of characters RFC 3986 allows
/// in a path and query (`pchar`, `/`, `?`, percent escapes). The fast path forwards such
/// targets verbatim; any other target goes to hyper, whose URI parser decides, so both paths
/// accept and refuse the same targets.
pub fn plain_origin_form(target: &str) -> bool {
    target.starts_with('/') && target.bytes().all(is_plain_target_byte)
}

fn is_plain_target_byte(b: u8) -> bool {
    PLAIN_TARGET_BYTES[usize::from(b)]
}

/// Which bytes [`is_plain_target_byte`] takes, one entry per byte value: a load per byte of
/// every request target, where a search of the punctuation list cost a call to `memchr` for
/// each `/` or other punctuation (whether the compiler inlines that call varies from build to
/// build; the table does not).
static PLAIN_TARGET_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < PLAIN_TARGET_PUNCTUATION.len() {
        table[PLAIN_TARGET_PUNCTUATION[i] as usize] = true;
        i += 1;
    }
    table
};

/// The punctuation RFC 3986 allows in a path and query as they are (with `%` for escapes),
/// beside letters and digits.
const PLAIN_TARGET_PUNCTUATION: &[u8] = b"-._~%!$&'()*+,;=:@/?";

/// A method the client expects to be safe to repeat (RFC 9110 §9.2.2): a request of one that a
/// stale upstream connection lost may be sent again.
#[inline]
pub fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_target_table_is_the_rfc_3986_path_and_query_characters() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || PLAIN_TARGET_PUNCTUATION.contains(&b);
            assert_eq!(is_plain_target_byte(b), expected, "byte {b}");
        }
    }

    fn check(raw: &[u8]) -> Result<BodyFraming, Refusal> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        assert!(request.parse(raw).unwrap().is_complete());
        check_request(
            request.method.unwrap(),
            request.path.unwrap(),
            request.version,
            request.headers,
        )
    }

    #[test]
    fn connection_may_not_name_framing_headers_or_host() {
        for (named, reason) in [
            ("Content-Length", "Connection names Content-Length"),
            (
                "keep-alive, transfer-encoding",
                "Connection names Transfer-Encoding",
            ),
            (" HOST ", "Connection names Host"),
        ] {
            let raw = format!(
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: {named}\r\nContent-Length: 0\r\n\r\n"
            );
            assert_eq!(
                check(raw.as_bytes()),
                Err(Refusal::bad_request(reason)),
                "{named}"
            );
        }
        assert_eq!(
            check(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n\r\n"),
            Ok(BodyFraming::None)
        );
    }

    #[test]
    fn host_must_be_single_valid_and_present_in_http_1_1() {
        assert_eq!(
            check(b"GET / HTTP/1.1\r\n\r\n"),
            Err(Refusal::bad_request("missing Host header"))
        );
        assert_eq!(check(b"GET / HTTP/1.0\r\n\r\n"), Ok(BodyFraming::None));
        assert_eq!(
            check(b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"),
            Err(Refusal::bad_request("more than one Host header"))
        );
        for bad in ["a b", "a/b", "a@b", "a:x", "[::1", "a:123456", "x\"y"] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(
                check(raw.as_bytes()),
                Err(Refusal::bad_request("invalid Host header")),
                "{bad}"
            );
        }
        for good in [
            "a",
            "a.example:8080",
            "127.0.0.1:80",
            "[::1]:443",
            "",
            "xn--b-x.c",
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert_eq!(check(raw.as_bytes()), Ok(BodyFraming::None), "{good}");
        }
    }

    #[test]
    fn framing_headers_spelt_with_underscores_and_non_ascii_targets_are_refused() {
        for raw in [
            &b"POST / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: x\r\ncontent_length: 5\r\n\r\n",
            b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            assert_eq!(
                check(raw).map_err(|r| r.status),
                Err(StatusCode::BAD_REQUEST),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(
            check(b"GET / HTTP/1.1\r\nHost: x\r\nX_Content_Length: 5\r\n\r\n"),
            Ok(BodyFraming::None)
        );
    }

    #[test]
    fn connect_is_refused_with_405() {
        let refusal = check(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n").unwrap_err();
        assert_eq!(refusal.status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn plain_targets_are_origin_form_pchars() {
        assert!(plain_origin_form("/a/b?c=d&e=%20f:g@h"));
        for other in [
            "*",
            "http://a/",
            "/a{b",
            "/a\"b",
            "/a|b",
            "/a\\b",
            "/a^b",
            "/a`b",
        ] {
            assert!(!plain_origin_form(other), "{other}");
        }
    }
}
