//! The `Date` field burr's HTTP/2 servers add to a response that has none (RFC 9110 §6.6.1),
//! formatted once a second per worker thread rather than per response.

use http::HeaderValue;
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The `Date` field for a response that has none (RFC 9110 §6.6.1), formatted once a second
/// per worker thread.
pub(super) fn date() -> HeaderValue {
    thread_local! {
        static LAST: RefCell<(u64, HeaderValue)> =
            const { RefCell::new((u64::MAX, HeaderValue::from_static(""))) };
    }
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != second {
            let text = httpdate::fmt_http_date(now);
            // httpdate writes visible ASCII only; keep the last value should that ever change.
            if let Ok(value) = HeaderValue::from_str(&text) {
                *last = (second, value);
            }
        }
        last.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn date_is_an_http_date_of_now() {
        let value = date();
        let parsed = httpdate::parse_http_date(value.to_str().unwrap()).unwrap();
        let age = SystemTime::now().duration_since(parsed).unwrap();
        assert!(age < Duration::from_secs(2), "{value:?}");
    }
}
