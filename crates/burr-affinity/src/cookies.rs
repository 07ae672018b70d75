//! Cookie text, both ways: reading the pairs of a `Cookie` request header, reading the one
//! `Set-Cookie` response header that names the application's cookie, writing burr's own
//! `Set-Cookie` values, and removing burr's cookies from a `Cookie` header before it goes to a
//! target. Plain byte and string work (RFC 6265), no HTTP types, so the engine stays sans-IO.

use std::time::{Duration, UNIX_EPOCH};

/// The `;`-separated segments of one `Cookie` header, untrimmed. Bytes, not text: a cookie
/// header may carry any octets, and burr's own cookies are ASCII. (`memchr` finds the
/// separators a vector at a time; a returning client's header is mostly one long token.)
pub fn segments(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(header);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b';', current) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// One segment of a `Cookie` header as `(name, value)`, trimmed; `None` without `=`.
pub fn pair(segment: &[u8]) -> Option<(&[u8], &[u8])> {
    let equals = memchr::memchr(b'=', segment)?;
    let (name, value) = (&segment[..equals], &segment[equals + 1..]);
    let value = value.trim_ascii();
    // RFC 6265 allows the value in double quotes.
    let value = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value);
    Some((name.trim_ascii(), value))
}

/// `header` without the pairs whose name is one of `names`; `None` when nothing is left.
pub fn without(header: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    // Allocated at the first pair kept: a field holding only burr's cookies (the common case
    // for a returning client) costs no allocation.
    let mut kept = Vec::new();
    for segment in segments(header).map(<[u8]>::trim_ascii) {
        let name = pair(segment).map_or(segment, |(name, _)| name);
        if segment.is_empty() || names.iter().any(|n| n.as_bytes() == name) {
            continue;
        }
        if kept.is_empty() {
            kept.reserve_exact(header.len());
        } else {
            kept.extend_from_slice(b"; ");
        }
        kept.extend_from_slice(segment);
    }
    (!kept.is_empty()).then_some(kept)
}

/// The attributes of an application's `Set-Cookie` that a Classic app-cookie session copies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppCookieAttributes {
    /// The attribute text to append after burr's `name=value`, in the application's order,
    /// each starting with `; ` (`Path`, `Domain`, `Secure`, `HttpOnly`, `Max-Age`, `Expires`,
    /// `SameSite`; nothing else).
    pub copied: String,
    /// When the application cookie expires (UTC seconds), from `Max-Age` (which wins, RFC 6265
    /// §5.3) or `Expires`; `None` for a browser-session cookie.
    pub expires_at: Option<u64>,
}

/// If `set_cookie` sets the cookie `name`, its copyable attributes. `now` turns `Max-Age` into
/// an instant.
pub fn parse_set_cookie(set_cookie: &str, name: &str, now: u64) -> Option<AppCookieAttributes> {
    let mut parts = set_cookie.split(';');
    let (cookie_name, _) = parts.next()?.split_once('=')?;
    if cookie_name.trim() != name {
        return None;
    }
    let mut attributes = AppCookieAttributes::default();
    let mut max_age = None;
    let mut expires = None;
    for attribute in parts {
        let attribute = attribute.trim();
        let (key, value) = attribute
            .split_once('=')
            .map_or((attribute, ""), |(k, v)| (k.trim(), v.trim()));
        let copy = match key.to_ascii_lowercase().as_str() {
            "max-age" => {
                // A non-positive Max-Age deletes the cookie now (RFC 6265 §5.2.2).
                max_age = value.parse::<i64>().ok().map(|s| {
                    if s <= 0 {
                        0
                    } else {
                        now.saturating_add(s as u64)
                    }
                });
                true
            }
            "expires" => {
                expires = httpdate::parse_http_date(value)
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs());
                true
            }
            "path" | "domain" | "secure" | "httponly" | "samesite" => true,
            _ => false,
        };
        if copy && !attribute.is_empty() {
            attributes.copied.push_str("; ");
            attributes.copied.push_str(attribute);
        }
    }
    attributes.expires_at = max_age.or(expires);
    Some(attributes)
}

/// The last instant an IMF-fixdate can name: 9999-12-31 23:59:59 UTC.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

/// An HTTP date (IMF-fixdate) for a cookie's `Expires`. Instants past year 9999 (an
/// application's `Max-Age` can reach them) are written as its last second.
pub fn http_date(unix_secs: u64) -> String {
    let unix_secs = unix_secs.min(LAST_HTTP_DATE);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpDate([u8; HTTP_DATE_LEN]);

const HTTP_DATE_LEN: usize = 29;

impl HttpDate {
    /// The date of `unix_secs`. Responses within one second share their `Expires`, so each
    /// thread keeps the last date it formatted.
    pub fn of(unix_secs: u64) -> Self {
        thread_local! {
            static LAST: std::cell::Cell<Option<(u64, HttpDate)>> =
                const { std::cell::Cell::new(None) };
        }
        LAST.with(|last| {
            if let Some((secs, date)) = last.get()
                && secs == unix_secs
            {
                return date;
            }
            let mut bytes = [b' '; HTTP_DATE_LEN];
            let text = http_date(unix_secs);
            let n = text.len().min(HTTP_DATE_LEN); // always 29 (years 1970-9999)
            bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
            let date = HttpDate(bytes);
            last.set(Some((unix_secs, date)));
            date
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ever filled from httpdate's ASCII output.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl AsRef<[u8]> for HttpDate {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_dates_match_formatted_ones_across_seconds() {
        for secs in [
            0,
            1_700_000_000,
            1_700_000_000,
            1_700_000_001,
            1_600_000_000,
        ] {
            assert_eq!(HttpDate::of(secs).as_str(), http_date(secs));
        }
    }

    #[test]
    fn splits_segments_like_the_separator_says() {
        let split = |h: &'static [u8]| segments(h).collect::<Vec<_>>();
        assert_eq!(split(b""), [b""]);
        assert_eq!(split(b"a=1"), [b"a=1"]);
        assert_eq!(split(b"a=1;"), [&b"a=1"[..], b""]);
        assert_eq!(split(b";a=1;; b"), [&b""[..], b"a=1", b"", b" b"]);
    }

    #[test]
    fn reads_pairs_in_order_and_unquotes() {
        let got: Vec<_> = segments(b"a=1; AWSELB=\"x\";b=2;junk; AWSELB=y")
            .filter_map(pair)
            .collect();
        assert_eq!(
            got,
            [
                (&b"a"[..], &b"1"[..]),
                (b"AWSELB", b"x"),
                (b"b", b"2"),
                (b"AWSELB", b"y")
            ]
        );
    }

    #[test]
    fn removes_named_cookies_only() {
        assert_eq!(
            without(
                b"a=1; AWSALB=x; b=2; AWSALBCORS=y",
                &["AWSALB", "AWSALBCORS"]
            )
            .as_deref(),
            Some(&b"a=1; b=2"[..])
        );
        assert_eq!(without(b"AWSELB=x", &["AWSELB"]), None);
        assert_eq!(
            without(b"AWSELBX=1", &["AWSELB"]).as_deref(),
            Some(&b"AWSELBX=1"[..])
        );
        // Bytes that are not UTF-8 are another cookie's business: kept as they came.
        assert_eq!(
            without(b"a=\xff\xfe; AWSELB=x", &["AWSELB"]).as_deref(),
            Some(&b"a=\xff\xfe"[..])
        );
    }

    #[test]
    fn copies_the_app_cookie_attributes_and_its_expiry() {
        let got = parse_set_cookie(
            "JSESSIONID=abc; Path=/app; Domain=example.com; Secure; HttpOnly; Max-Age=600; \
             SameSite=Lax; Priority=High",
            "JSESSIONID",
            1000,
        )
        .unwrap();
        assert_eq!(
            got.copied,
            "; Path=/app; Domain=example.com; Secure; HttpOnly; Max-Age=600; SameSite=Lax"
        );
        assert_eq!(got.expires_at, Some(1600));

        let got = parse_set_cookie(
            "JSESSIONID=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
            "JSESSIONID",
            0,
        )
        .unwrap();
        assert_eq!(got.expires_at, Some(784_111_777));
        assert_eq!(
            parse_set_cookie("JSESSIONID=abc", "JSESSIONID", 5)
                .unwrap()
                .expires_at,
            None
        );
        assert_eq!(
            parse_set_cookie("JSESSIONID=; Max-Age=0", "JSESSIONID", 5)
                .unwrap()
                .expires_at,
            Some(0)
        );
        assert!(parse_set_cookie("OTHER=1", "JSESSIONID", 0).is_none());
    }

    #[test]
    fn formats_http_dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        // An application's huge Max-Age must not overflow the date (httpdate panics there).
        assert_eq!(http_date(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            HttpDate::of(u64::MAX).as_str(),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }
}
