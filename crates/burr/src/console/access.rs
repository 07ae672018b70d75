//! Who may see the console: on or off (`--console`), the networks a peer must be in
//! (`--console-allow`), and whether it must send the API's key pair as HTTP Basic credentials
//! (`--console-auth basic`). Parsing of those flags lives here too, so every refusal names the
//! flag, the value and what is allowed.

use base64::Engine;
use burr_model::routing::Cidr;
use hyper::HeaderMap;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The default of `--console-allow`: this machine only.
pub const DEFAULT_ALLOW: &str = "127.0.0.0/8,::1/128";

/// `--console-allow`: networks whose peers may see the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(pub Vec<Cidr>);

impl std::str::FromStr for AllowList {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for item in text.split(',').map(str::trim) {
            let network = item.parse::<Cidr>().map_err(|rule| {
                format!("--console-allow: {item:?} is not allowed: {rule} (a comma-separated list)")
            })?;
            networks.push(network);
        }
        Ok(Self(networks))
    }
}

impl AllowList {
    pub fn admits(&self, peer: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(peer))
    }
}

/// `--console-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// No credentials asked (the network list alone decides).
    None,
    /// HTTP Basic with the API's access key id (user) and secret access key (password).
    Basic,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The console is turned off: answer as if it did not exist.
    Off,
    Forbidden,
    Unauthorized,
}

pub struct Access {
    pub enabled: bool,
    pub allow: AllowList,
    /// `id:secret`, what a Basic `Authorization` must decode to; `None`: no credentials asked.
    basic: Option<Vec<u8>>,
}

impl Access {
    pub fn new(enabled: bool, allow: AllowList, basic: Option<&burr_api::Credentials>) -> Self {
        Self {
            enabled,
            allow,
            basic: basic.map(|c| format!("{}:{}", c.access_key_id, c.secret_access_key).into()),
        }
    }

    /// `peer` is `None` only if the connection's address could not be read: then only a
    /// console open to every network admits it.
    /// `host` is the request's `Host` (HTTP/1.1) or `:authority` (HTTP/2), if it sent one.
    pub fn check(&self, peer: Option<IpAddr>, host: Option<&str>, headers: &HeaderMap) -> Verdict {
        if !self.enabled {
            return Verdict::Off;
        }
        let admitted = match peer {
            Some(ip) => self.allow.admits(ip),
            None => self.allow.0.iter().any(|n| n.prefix == 0),
        };
        if !admitted {
            return Verdict::Forbidden;
        }
        match &self.basic {
            // Without credentials, a page the operator opens elsewhere could point a name of
            // its own at 127.0.0.1 (DNS rebinding) and read the console as same-origin: the
            // peer is loopback all the same, only the name gives it away. So a console that
            // asks no credentials answers only requests naming it by an address or localhost.
            None if !host.is_none_or(names_this_machine) => Verdict::Forbidden,
            None => Verdict::Allowed,
            Some(expected)
                if basic_credentials(headers).is_some_and(|given| {
                    // Constant time in the content; only a length mismatch ends early.
                    bool::from(given.as_slice().ct_eq(expected))
                }) =>
            {
                Verdict::Allowed
            }
            Some(_) => Verdict::Unauthorized,
        }
    }
}

/// Whether a `Host` value (`name[:port]`, `[v6]:port`) names the machine without DNS: an IP
/// address literal or `localhost`.
fn names_this_machine(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => {
            return rest
                .split(']')
                .next()
                .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The decoded `user:password` of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> burr_api::Credentials {
        burr_api::Credentials {
            access_key_id: "BURRKEY".into(),
            secret_access_key: "s3cr3t".into(),
        }
    }

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = authorization {
            h.insert(hyper::header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn the_default_allows_loopback_only() {
        let allow: AllowList = DEFAULT_ALLOW.parse().unwrap();
        assert!(allow.admits("127.0.0.1".parse().unwrap()));
        assert!(allow.admits("127.9.9.9".parse().unwrap()));
        assert!(allow.admits("::1".parse().unwrap()));
        assert!(allow.admits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!allow.admits("10.0.0.1".parse().unwrap()));
        assert!(!allow.admits("::2".parse().unwrap()));
    }

    #[test]
    fn a_bad_network_names_the_flag_the_value_and_the_rule() {
        let e = "127.0.0.0/8, 10.0.0.0/33".parse::<AllowList>().unwrap_err();
        assert!(e.starts_with("--console-allow: \"10.0.0.0/33\""), "{e}");
        assert!(e.contains("between 0 and 32"), "{e}");
        let e = "".parse::<AllowList>().unwrap_err();
        assert!(e.contains("must be a CIDR block"), "{e}");
    }

    #[test]
    fn access_is_checked_off_then_network_then_credentials() {
        let allow: AllowList = "127.0.0.2/32".parse().unwrap();
        let inside = Some("127.0.0.2".parse().unwrap());
        let outside = Some("127.0.0.3".parse().unwrap());
        let good = headers(Some(&basic("BURRKEY:s3cr3t")));

        let off = Access::new(false, allow.clone(), None);
        assert_eq!(
            off.check(inside, Some("127.0.0.2:8780"), &good),
            Verdict::Off
        );

        let open = Access::new(true, allow.clone(), None);
        assert_eq!(
            open.check(inside, Some("127.0.0.2:8780"), &headers(None)),
            Verdict::Allowed
        );
        assert_eq!(
            open.check(outside, Some("127.0.0.2:8780"), &good),
            Verdict::Forbidden
        );
        assert_eq!(
            open.check(None, Some("127.0.0.2:8780"), &good),
            Verdict::Forbidden
        );

        let c = credentials();
        let guarded = Access::new(true, allow, Some(&c));
        assert_eq!(
            guarded.check(inside, Some("127.0.0.2:8780"), &good),
            Verdict::Allowed
        );
        assert_eq!(
            guarded.check(outside, Some("127.0.0.2:8780"), &good),
            Verdict::Forbidden
        );
        for bad in [
            None,
            Some(basic("BURRKEY:s3cr3").as_str()),
            Some(basic("BURRKEY:s3cr3tt").as_str()),
            Some(basic("OTHER:s3cr3t").as_str()),
            Some("Basic !!!not-base64"),
            Some("Bearer BURRKEY:s3cr3t"),
        ] {
            assert_eq!(
                guarded.check(inside, Some("127.0.0.2:8780"), &headers(bad)),
                Verdict::Unauthorized,
                "{bad:?}"
            );
        }
        assert_eq!(
            guarded.check(
                inside,
                Some("127.0.0.2:8780"),
                &headers(Some(&basic("BURRKEY:s3cr3t").replace("Basic", "basic")))
            ),
            Verdict::Allowed
        );
    }

    #[test]
    fn without_credentials_only_addresses_and_localhost_may_name_the_console() {
        let open = Access::new(true, DEFAULT_ALLOW.parse().unwrap(), None);
        let loopback = Some("127.0.0.1".parse().unwrap());
        for host in [
            None,
            Some("127.0.0.1:8780"),
            Some("127.0.0.1"),
            Some("LOCALHOST:8780"),
            Some("[::1]:8780"),
            Some("[::1]"),
        ] {
            assert_eq!(
                open.check(loopback, host, &headers(None)),
                Verdict::Allowed,
                "{host:?}"
            );
        }
        for host in [
            Some("attacker.example:8780"),
            Some("attacker.example"),
            Some("localhost.attacker.example"),
            Some("127.0.0.1.nip.io:8780"),
            Some("[not-v6]:80"),
            Some(""),
        ] {
            assert_eq!(
                open.check(loopback, host, &headers(None)),
                Verdict::Forbidden,
                "{host:?}"
            );
        }
        // With credentials a name is fine: a rebinding page cannot supply them.
        let c = credentials();
        let guarded = Access::new(true, DEFAULT_ALLOW.parse().unwrap(), Some(&c));
        let good = headers(Some(&basic("BURRKEY:s3cr3t")));
        assert_eq!(
            guarded.check(loopback, Some("console.example:8780"), &good),
            Verdict::Allowed
        );
    }
}
