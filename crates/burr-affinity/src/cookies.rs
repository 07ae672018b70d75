//! Cookie text, both ways: reading the pairs of a `Cookie` request header, reading the one
//! `Set-Cookie` response header that names the application's cookie, writing burr's own
//! `Set-Cookie` values, and removing burr's cookies from a `Cookie` header before it goes to a
//! target. Plain string work (RFC 6265), no HTTP types, so the engine stays sans-IO.

use std::time::{Duration, UNIX_EPOCH};

/// The `name=value` pairs of one `Cookie` header, in order. Malformed pairs are skipped.
pub fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(pair)
}

/// One `;`-separated segment of a `Cookie` header as `(name, value)`; `None` without `=`.
pub fn pair(segment: &str) -> Option<(&str, &str)> {
    let (name, value) = segment.split_once('=')?;
    let value = value.trim_ascii();
    // RFC 6265 allows the value in double quotes.
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Some((name.trim_ascii(), value))
}

/// `header` without the pairs whose name is one of `names`; `None` when nothing is left.
pub fn without(header: &str, names: &[&str]) -> Option<String> {
    let mut kept = String::with_capacity(header.len());
    for pair in header.split(';').map(str::trim_ascii) {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim_ascii();
        if pair.is_empty() || names.contains(&name) {
            continue;
        }
        if !kept.is_empty() {
            kept.push_str("; ");
        }
        kept.push_str(pair);
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

/// An HTTP date (IMF-fixdate) for a cookie's `Expires`.
pub fn http_date(unix_secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs))
}

/// Appends the IMF-fixdate of `unix_secs` to `out`. Responses within one second share their
/// `Expires`, so each thread keeps the last date it formatted.
pub fn push_http_date(out: &mut String, unix_secs: u64) {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    LAST.with_borrow_mut(|(secs, text)| {
        if *secs != unix_secs {
            *text = http_date(unix_secs);
            *secs = unix_secs;
        }
        out.push_str(text);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_dates_match_formatted_ones_across_seconds() {
        for secs in [
            0,
            1_700_000_000,
            1_700_000_000,
            1_700_000_001,
            1_600_000_000,
        ] {
            let mut out = String::from("x=");
            push_http_date(&mut out, secs);
            assert_eq!(out, format!("x={}", http_date(secs)));
        }
    }

    #[test]
    fn reads_pairs_in_order_and_unquotes() {
        let got: Vec<_> = pairs("a=1; AWSELB=\"x\";b=2;junk; AWSELB=y").collect();
        assert_eq!(
            got,
            [("a", "1"), ("AWSELB", "x"), ("b", "2"), ("AWSELB", "y")]
        );
    }

    #[test]
    fn removes_named_cookies_only() {
        assert_eq!(
            without(
                "a=1; AWSALB=x; b=2; AWSALBCORS=y",
                &["AWSALB", "AWSALBCORS"]
            )
            .as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without("AWSELB=x", &["AWSELB"]), None);
        assert_eq!(
            without("AWSELBX=1", &["AWSELB"]).as_deref(),
            Some("AWSELBX=1")
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
    }
}
