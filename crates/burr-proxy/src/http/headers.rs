//! Request and response header rewriting for a reverse proxy: hop-by-hop removal (RFC 9110
//! §7.6.1), the `X-Forwarded-*` headers as AWS ELB sets them, and HTTP/2 cookie joining.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Headers that describe one connection and never travel past it.
fn fixed_hop_by_hop() -> [&'static HeaderName; 8] {
    [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
    ]
}

/// Removes hop-by-hop headers, including every header named in `Connection`. `Upgrade` is kept
/// (with `Connection: upgrade`) only when `upgrading`, since then the proxy relays the upgrade.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrading: bool) {
    // One pass over the (few) names present is cheaper than hashing every hop-by-hop name; the
    // common request or response has none at all.
    let fixed = fixed_hop_by_hop();
    let mut doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| fixed.contains(name) || (!upgrading && *name == header::UPGRADE))
        .cloned()
        .collect();
    if doomed.is_empty() && !upgrading {
        return;
    }
    // Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1).
    doomed.extend(
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| !(upgrading && *name == header::UPGRADE)),
    );
    for name in doomed {
        headers.remove(&name);
    }
    if upgrading {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// True when an HTTP/1.1 request asks to switch protocols (`Connection: upgrade` + `Upgrade`).
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// The `X-Forwarded-*` values that depend only on the connection: computed once per client
/// connection rather than formatted again for every request.
#[derive(Clone)]
pub struct ForwardedValues {
    client: HeaderValue,
    proto: HeaderValue,
    port: HeaderValue,
}

impl ForwardedValues {
    pub fn new(client: IpAddr, https: bool, port: u16) -> Self {
        let client = client.to_canonical().to_string();
        Self {
            client: HeaderValue::from_str(&client).expect("an IP address is a valid header value"),
            proto: HeaderValue::from_static(if https { "https" } else { "http" }),
            port: HeaderValue::from(port),
        }
    }
}

/// Adds the headers AWS ELB adds: the client address appended to `X-Forwarded-For`, and
/// `X-Forwarded-Proto` / `X-Forwarded-Port` describing the listener (client values replaced).
/// Several `X-Forwarded-For` lines fold into one list, in order; values are taken as bytes, as
/// the fast path takes them, so both paths forward the same list.
pub fn add_forwarded(headers: &mut HeaderMap, values: &ForwardedValues) {
    let mut list: Vec<u8> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        list.extend_from_slice(value.as_bytes());
        list.extend_from_slice(b", ");
    }
    if list.is_empty() {
        headers.insert(X_FORWARDED_FOR.clone(), values.client.clone());
    } else {
        list.extend_from_slice(values.client.as_bytes());
        // Every piece was a valid field value, and so is their join.
        if let Ok(value) = HeaderValue::from_bytes(&list) {
            headers.insert(X_FORWARDED_FOR.clone(), value);
        }
    }
    headers.insert(X_FORWARDED_PROTO.clone(), values.proto.clone());
    headers.insert(X_FORWARDED_PORT.clone(), values.port.clone());
}

/// HTTP/2 may split `Cookie` into several fields; HTTP/1.1 needs one (RFC 9113 §8.2.3).
pub fn join_cookies(headers: &mut HeaderMap) {
    if headers.get_all(header::COOKIE).iter().nth(1).is_none() {
        return;
    }
    let joined: Vec<u8> = headers
        .get_all(header::COOKIE)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .join(&b"; "[..]);
    if let Ok(value) = HeaderValue::from_bytes(&joined) {
        headers.insert(header::COOKIE, value);
    }
}

/// Removes the cookies named `names` from every `Cookie` field (a field left empty goes).
pub fn strip_cookies(headers: &mut HeaderMap, names: &[&str]) {
    use burr_affinity::cookies::{pair, segments};
    let named = |v: &HeaderValue| {
        segments(v.as_bytes())
            .filter_map(pair)
            .any(|(name, _)| names.iter().any(|n| n.as_bytes() == name))
    };
    if !headers.get_all(header::COOKIE).iter().any(named) {
        return; // the usual request: nothing to copy
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| burr_affinity::cookies::without(v.as_bytes(), names))
        .filter_map(|v| HeaderValue::from_bytes(&v).ok())
        .collect();
    headers.remove(header::COOKIE);
    for value in kept {
        headers.append(header::COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn removes_fixed_and_connection_listed_headers() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "x"),
            ("upgrade", "websocket"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn keeps_upgrade_when_upgrading() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        assert!(wants_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }

    #[test]
    fn appends_client_to_forwarded_for_and_overrides_proto_port() {
        let mut h = map(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "1"),
        ]);
        add_forwarded(
            &mut h,
            &ForwardedValues::new("127.0.0.9".parse().unwrap(), false, 8080),
        );
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 127.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "8080");

        let mut h = map(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "2.2.2.2"),
        ]);
        add_forwarded(
            &mut h,
            &ForwardedValues::new("::ffff:127.0.0.1".parse().unwrap(), true, 443),
        );
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
    }

    #[test]
    fn joins_split_cookies() {
        let mut h = map(&[("cookie", "a=1"), ("cookie", "b=2")]);
        join_cookies(&mut h);
        assert_eq!(h.get_all("cookie").iter().count(), 1);
        assert_eq!(h["cookie"], "a=1; b=2");
    }
}
