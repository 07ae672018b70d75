//! Header names the fast path treats specially, compared without allocating and regardless of
//! case: hop-by-hop headers (RFC 9110 §7.6.1), the `X-Forwarded-*` headers burr sets itself, and
//! the tokens of `Connection` fields.

/// Headers that describe one connection and never travel past it. `Transfer-Encoding` is among
/// them: the fast path writes its own when it relays a chunked body.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

pub fn is_hop_by_hop(name: &str) -> bool {
    // Most names are longer than any hop-by-hop name, or of another length: one comparison of
    // lengths settles them.
    HOP_BY_HOP
        .iter()
        .any(|h| h.len() == name.len() && h.eq_ignore_ascii_case(name))
}

/// `X-Forwarded-For`, `-Proto` or `-Port`.
pub fn is_forwarded(name: &str) -> bool {
    (15..=17).contains(&name.len())
        && name.as_bytes()[..12].eq_ignore_ascii_case(b"x-forwarded-")
        && ["for", "proto", "port"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&name[12..]))
}

/// What the `Connection` fields of a message say.
#[derive(Default)]
pub struct ConnectionTokens {
    pub close: bool,
    pub keep_alive: bool,
    /// Other names listed: headers that are hop-by-hop for this message (lower case).
    listed: Vec<String>,
}

impl ConnectionTokens {
    /// Adds the tokens of one `Connection` field.
    pub fn add(&mut self, value: &[u8]) {
        for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if !token.is_empty() {
                self.listed
                    .push(String::from_utf8_lossy(token).to_ascii_lowercase());
            }
        }
    }

    /// True when `name` was listed (and so must not be forwarded).
    pub fn lists(&self, name: &str) -> bool {
        !self.listed.is_empty() && self.listed.iter().any(|l| l.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_names_in_any_case() {
        for name in [
            "Connection",
            "TE",
            "transfer-encoding",
            "Upgrade",
            "Keep-Alive",
        ] {
            assert!(is_hop_by_hop(name), "{name}");
        }
        for name in ["Content-Length", "Host", "TEA", "upgrades"] {
            assert!(!is_hop_by_hop(name), "{name}");
        }
        for name in ["X-Forwarded-For", "x-forwarded-proto", "X-FORWARDED-PORT"] {
            assert!(is_forwarded(name), "{name}");
        }
        for name in ["X-Forwarded-Host", "X-Forwarded-Fo", "x-forwarded-ports"] {
            assert!(!is_forwarded(name), "{name}");
        }
    }

    #[test]
    fn reads_connection_tokens() {
        let mut t = ConnectionTokens::default();
        t.add(b"Keep-Alive, X-Secret ,");
        t.add(b"close");
        assert!(t.close && t.keep_alive);
        assert!(t.lists("x-secret") && t.lists("X-SECRET"));
        assert!(!t.lists("host"));
    }
}
