//! Active health-check settings of a pool: the probe's protocol (TCP, SSL, HTTP, HTTPS or UDP),
//! port, timing and thresholds, with the Classic ELB defaults and ranges, and the UDP probe's
//! datagram and expected reply (`udp_payload`, `udp_expect`: text, or `hex:` and hex digits).
//! Only the settings and their rules live here; the probes themselves are burr-proxy's.

use crate::error::{Errors, FieldPath};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckProtocol {
    /// A TCP connect succeeds.
    #[default]
    Tcp,
    /// A TCP connect and a TLS handshake succeed (the target's certificate is not verified).
    Ssl,
    /// `GET path` over HTTP answers one of the `success_codes` (by default 200).
    Http,
    /// `GET path` over HTTPS answers one of the `success_codes` (the target's certificate is
    /// not verified, as on ELB).
    Https,
    /// `udp_payload` sent in one datagram from a connected UDP socket is answered within the
    /// timeout (by a datagram containing `udp_expect`, when set).
    Udp,
}

/// Active health checking, with the Classic ELB defaults and ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: HealthCheckProtocol,
    /// Port to probe; the target's own port when absent.
    pub port: Option<u16>,
    /// Path for HTTP/HTTPS checks.
    pub path: String,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// HTTP and HTTPS checks: the status codes that count as healthy (ELBv2 `Matcher.HttpCode`),
    /// codes and ranges separated by commas, each 200–499, e.g. `"200-399"`. Default `"200"`,
    /// the Classic ELB rule (see [`crate::matcher`]).
    #[serde(default = "default_success_codes")]
    pub success_codes: String,
    /// UDP checks: the datagram sent, text or `hex:` followed by hex digits, 1–1024 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_payload: Option<String>,
    /// UDP checks: bytes the reply must contain (text or `hex:`), 1–1024 bytes; absent, any
    /// reply passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_expect: Option<String>,
}

/// Longest `udp_payload` and `udp_expect`, in bytes: a probe datagram stays well below any
/// path MTU, so it is never fragmented.
pub const MAX_UDP_PROBE_BYTES: usize = 1024;

/// The bytes of a `udp_payload` or `udp_expect` value: `hex:` followed by an even number of hex
/// digits, or else the text's own UTF-8 bytes. Errors say what is wrong with the hex.
pub fn udp_probe_bytes(text: &str) -> Result<Vec<u8>, String> {
    match text.strip_prefix("hex:") {
        Some(digits) => hex::decode(digits).map_err(|e| match e {
            hex::FromHexError::OddLength => {
                format!(
                    "has {} hex digits after hex:; they must come in pairs",
                    digits.len()
                )
            }
            hex::FromHexError::InvalidHexCharacter { c, index } => format!(
                "has {c:?} at position {} after hex:; only 0-9, a-f and A-F may follow hex:",
                index + 1
            ),
            other => other.to_string(),
        }),
        None => Ok(text.as_bytes().to_vec()),
    }
}

fn default_success_codes() -> String {
    crate::matcher::DEFAULT_SUCCESS_CODES.into()
}

/// Longest health-check timeout of a pool (the Classic ELB bound) and of a target group.
pub(crate) const CLASSIC_MAX_TIMEOUT_SECS: u32 = 60;
pub(crate) const TARGET_GROUP_MAX_TIMEOUT_SECS: u32 = 120;

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            enabled: true,
            protocol: HealthCheckProtocol::Tcp,
            port: None,
            path: "/".into(),
            interval_secs: 30,
            timeout_secs: 5,
            healthy_threshold: 10,
            unhealthy_threshold: 2,
            success_codes: default_success_codes(),
            udp_payload: None,
            udp_expect: None,
        }
    }
}

impl HealthCheck {
    /// Checks the settings alone (a pool checks them as part of itself).
    pub fn check(&self) -> Result<(), Vec<crate::ValidationError>> {
        let mut errors = Errors::default();
        self.validate(
            &FieldPath::root().field("health_check"),
            CLASSIC_MAX_TIMEOUT_SECS,
            &mut errors,
        );
        if errors.0.is_empty() {
            Ok(())
        } else {
            Err(errors.0)
        }
    }

    /// `max_timeout_secs`: 60 as on Classic ELB, 120 for an ELBv2 target group.
    pub(crate) fn validate(&self, path: &FieldPath, max_timeout_secs: u32, errors: &mut Errors) {
        errors.range(
            path.field("interval_secs"),
            self.interval_secs,
            5,
            300,
            "seconds",
        );
        errors.range(
            path.field("timeout_secs"),
            self.timeout_secs,
            2,
            max_timeout_secs,
            "seconds",
        );
        if self.timeout_secs >= self.interval_secs {
            errors.push(
                path.field("timeout_secs"),
                self.timeout_secs,
                format!("must be less than interval_secs ({})", self.interval_secs),
            );
        }
        errors.range(
            path.field("healthy_threshold"),
            self.healthy_threshold,
            2,
            10,
            "",
        );
        errors.range(
            path.field("unhealthy_threshold"),
            self.unhealthy_threshold,
            2,
            10,
            "",
        );
        if self.port == Some(0) {
            errors.push(path.field("port"), 0, "must be between 1 and 65535");
        }
        if matches!(
            self.protocol,
            HealthCheckProtocol::Http | HealthCheckProtocol::Https
        ) && (!self.path.starts_with('/') || self.path.bytes().any(|b| b <= b' ' || b == 0x7f))
        {
            errors.push(
                path.field("path"),
                format!("{:?}", self.path),
                "must start with / and contain no spaces or control characters",
            );
        }
        if let Err(e) = crate::matcher::SuccessCodes::parse(&self.success_codes) {
            errors.push(
                path.field("success_codes"),
                format!("{:?}", self.success_codes),
                e.0,
            );
        }
        self.validate_udp(path, errors);
    }

    /// A udp check needs a payload; the udp fields belong to udp checks only.
    fn validate_udp(&self, path: &FieldPath, errors: &mut Errors) {
        let udp = self.protocol == HealthCheckProtocol::Udp;
        if udp && self.udp_payload.is_none() {
            errors.push(
                path.field("udp_payload"),
                "(absent)",
                "a udp health check needs the datagram it sends: text, or hex: followed by hex \
                 digits, 1 to 1024 bytes",
            );
        }
        for (field, value) in [
            ("udp_payload", &self.udp_payload),
            ("udp_expect", &self.udp_expect),
        ] {
            let Some(text) = value else { continue };
            if !udp {
                errors.push(
                    path.field(field),
                    format!("{text:?}"),
                    format!(
                        "applies only to udp health checks (this one is {})",
                        self.protocol.as_str()
                    ),
                );
                continue;
            }
            match udp_probe_bytes(text) {
                Err(rule) => errors.push(path.field(field), format!("{text:?}"), rule),
                Ok(bytes) if bytes.is_empty() || bytes.len() > MAX_UDP_PROBE_BYTES => errors.push(
                    path.field(field),
                    format!("{text:?}"),
                    format!(
                        "is {} bytes; must be between 1 and {MAX_UDP_PROBE_BYTES} bytes",
                        bytes.len()
                    ),
                ),
                Ok(_) => {}
            }
        }
    }

    /// The datagram a udp check sends (empty if `udp_payload` is absent or does not parse: a
    /// validated pool's always does).
    pub fn udp_payload_bytes(&self) -> Vec<u8> {
        self.udp_payload
            .as_deref()
            .and_then(|t| udp_probe_bytes(t).ok())
            .unwrap_or_default()
    }

    /// The bytes a udp check's reply must contain, if any.
    pub fn udp_expect_bytes(&self) -> Option<Vec<u8>> {
        self.udp_expect
            .as_deref()
            .and_then(|t| udp_probe_bytes(t).ok())
    }

    /// The parsed `success_codes` (the default, 200, if they do not parse: a validated pool's
    /// always do).
    pub fn success_codes(&self) -> crate::matcher::SuccessCodes {
        crate::matcher::SuccessCodes::parse(&self.success_codes).unwrap_or_default()
    }
}

impl HealthCheckProtocol {
    /// The protocol as the TOML file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Ssl => "ssl",
            Self::Http => "http",
            Self::Https => "https",
            Self::Udp => "udp",
        }
    }
}

#[cfg(test)]
#[path = "health_check_tests.rs"]
mod tests;
