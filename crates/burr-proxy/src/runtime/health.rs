//! A target's health as the active checker last judged it ([`Health`]), and why its last check
//! failed ([`HealthFailure`], the ELBv2 reason codes), with the packing that lets
//! [`super::TargetShared`] keep the reason in one atomic.

/// Health as seen by the active checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Health {
    /// Not yet checked (or checks disabled): eligible.
    Unknown = 0,
    Healthy = 1,
    Unhealthy = 2,
}

/// Why a target's last health check failed (ELBv2 `DescribeTargetHealth` reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFailure {
    /// No answer within the check's timeout (`Target.Timeout`).
    Timeout,
    /// An HTTP(S) answer whose status is not among the success codes
    /// (`Target.ResponseCodeMismatch`).
    ResponseCodeMismatch(u16),
    /// The connection was refused or reset, or the TLS handshake failed; for a UDP check, the
    /// target's host answered the probe with ICMP port unreachable (`Target.FailedHealthChecks`).
    ConnectionFailed,
    /// A UDP check's reply did not contain the check's `udp_expect` bytes
    /// (`Target.FailedHealthChecks`, its description naming what was expected).
    UnexpectedReply,
}

impl HealthFailure {
    /// The reason's label in `/metrics` and `/api/v1/status`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ConnectionFailed => "connection_failed",
            Self::UnexpectedReply => "unexpected_reply",
            Self::ResponseCodeMismatch(_) => "response_code_mismatch",
        }
    }

    /// The status code of a response-code mismatch.
    pub fn code(self) -> Option<u16> {
        match self {
            Self::ResponseCodeMismatch(code) => Some(code),
            _ => None,
        }
    }

    /// Packed into one atomic: 0 none, 1 timeout, 2 connection failed, 3 unexpected reply,
    /// 1000 + a status code.
    pub(super) fn pack(failure: Option<HealthFailure>) -> u32 {
        match failure {
            None => 0,
            Some(Self::Timeout) => 1,
            Some(Self::ConnectionFailed) => 2,
            Some(Self::UnexpectedReply) => 3,
            Some(Self::ResponseCodeMismatch(code)) => 1000 + u32::from(code),
        }
    }

    pub(super) fn unpack(packed: u32) -> Option<HealthFailure> {
        match packed {
            0 => None,
            1 => Some(Self::Timeout),
            2 => Some(Self::ConnectionFailed),
            3 => Some(Self::UnexpectedReply),
            n => Some(Self::ResponseCodeMismatch(
                u16::try_from(n - 1000).unwrap_or(u16::MAX),
            )),
        }
    }
}
