//! Target addresses: an IP socket address or a host name with a port.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Where a target listens: `10.0.0.5:8080`, `[::1]:80` or `host.example:80`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetAddress {
    Ip(SocketAddr),
    Host { host: String, port: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetAddressError {
    #[error("must be HOST:PORT, e.g. 10.0.0.5:8080, [::1]:80 or backend.example:80")]
    Malformed,
    #[error("port must be between 1 and 65535")]
    BadPort,
    #[error("host name may contain only letters, digits, hyphens and dots, 1 to 253 characters")]
    BadHost,
}

impl TargetAddress {
    /// Parses `HOST:PORT`; when the port is missing, `default_port` is used if given (the Classic
    /// ELB API registers instances without a port, on the listener's instance port).
    pub fn parse(text: &str, default_port: Option<u16>) -> Result<Self, TargetAddressError> {
        if let Ok(sock) = SocketAddr::from_str(text) {
            return if sock.port() == 0 {
                Err(TargetAddressError::BadPort)
            } else {
                Ok(Self::Ip(sock))
            };
        }
        if let Ok(ip) = IpAddr::from_str(text.trim_start_matches('[').trim_end_matches(']')) {
            let port = default_port.ok_or(TargetAddressError::Malformed)?;
            return Ok(Self::Ip(SocketAddr::new(ip, port)));
        }
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port.parse().map_err(|_| TargetAddressError::BadPort)?;
                (host, port)
            }
            None => (text, default_port.ok_or(TargetAddressError::Malformed)?),
        };
        if port == 0 {
            return Err(TargetAddressError::BadPort);
        }
        if !is_host_name(host) {
            return Err(TargetAddressError::BadHost);
        }
        Ok(Self::Host {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn port(&self) -> u16 {
        match self {
            Self::Ip(sock) => sock.port(),
            Self::Host { port, .. } => *port,
        }
    }

    /// The address with another port (health checks may probe a port of their own).
    pub fn with_port(&self, port: u16) -> Self {
        match self {
            Self::Ip(sock) => Self::Ip(SocketAddr::new(sock.ip(), port)),
            Self::Host { host, .. } => Self::Host {
                host: host.clone(),
                port,
            },
        }
    }
}

fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl fmt::Display for TargetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(sock) => write!(f, "{sock}"),
            Self::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl Serialize for TargetAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TargetAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text, None)
            .map_err(|e| serde::de::Error::custom(format!("target address {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            TargetAddress::parse("10.0.0.5:8080", None)
                .unwrap()
                .to_string(),
            "10.0.0.5:8080"
        );
        assert_eq!(
            TargetAddress::parse("[::1]:80", None).unwrap().to_string(),
            "[::1]:80"
        );
        assert_eq!(
            TargetAddress::parse("Backend.Example:81", None)
                .unwrap()
                .to_string(),
            "backend.example:81"
        );
    }

    #[test]
    fn default_port_applies_only_when_missing() {
        assert_eq!(
            TargetAddress::parse("127.0.0.11", Some(9001))
                .unwrap()
                .to_string(),
            "127.0.0.11:9001"
        );
        assert_eq!(
            TargetAddress::parse("127.0.0.11:9002", Some(9001))
                .unwrap()
                .port(),
            9002
        );
        assert_eq!(
            TargetAddress::parse("::1", Some(80)).unwrap().to_string(),
            "[::1]:80"
        );
    }

    #[test]
    fn rejects_garbage() {
        use TargetAddressError::*;
        for (text, err) in [
            ("10.0.0.5", Malformed),
            ("10.0.0.5:0", BadPort),
            ("10.0.0.5:70000", BadPort),
            ("host:", BadPort),
            ("bad host:80", BadHost),
            ("-x:80", BadHost),
            (":80", BadHost),
        ] {
            assert_eq!(TargetAddress::parse(text, None), Err(err), "{text}");
        }
    }
}
