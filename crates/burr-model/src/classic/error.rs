//! The Classic ELB error codes and the error every Classic operation returns.

use std::fmt;

/// An error code of the Classic ELB API, as sent on the wire (the boto3 exception names differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    LoadBalancerNotFound,
    DuplicateLoadBalancerName,
    DuplicateListener,
    DuplicatePolicyName,
    DuplicateTagKeys,
    InvalidConfigurationRequest,
    InvalidInstance,
    ListenerNotFound,
    PolicyNotFound,
    PolicyTypeNotFound,
    TooManyLoadBalancers,
    TooManyPolicies,
    TooManyTags,
    UnsupportedProtocol,
    LoadBalancerAttributeNotFound,
    CertificateNotFound,
    InvalidScheme,
    /// A parameter breaks a documented range or pattern.
    ValidationError,
}

impl ErrorCode {
    /// The `<Code>` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoadBalancerNotFound => "LoadBalancerNotFound",
            Self::DuplicateLoadBalancerName => "DuplicateLoadBalancerName",
            Self::DuplicateListener => "DuplicateListener",
            Self::DuplicatePolicyName => "DuplicatePolicyName",
            Self::DuplicateTagKeys => "DuplicateTagKeys",
            Self::InvalidConfigurationRequest => "InvalidConfigurationRequest",
            Self::InvalidInstance => "InvalidInstance",
            Self::ListenerNotFound => "ListenerNotFound",
            Self::PolicyNotFound => "PolicyNotFound",
            Self::PolicyTypeNotFound => "PolicyTypeNotFound",
            Self::TooManyLoadBalancers => "TooManyLoadBalancers",
            Self::TooManyPolicies => "TooManyPolicies",
            Self::TooManyTags => "TooManyTags",
            Self::UnsupportedProtocol => "UnsupportedProtocol",
            Self::LoadBalancerAttributeNotFound => "LoadBalancerAttributeNotFound",
            Self::CertificateNotFound => "CertificateNotFound",
            Self::InvalidScheme => "InvalidScheme",
            Self::ValidationError => "ValidationError",
        }
    }

    /// The HTTP status AWS answers with: 409 for a conflicting configuration, 400 otherwise.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidConfigurationRequest => 409,
            _ => 400,
        }
    }
}

/// Why a Classic operation changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicError {
    pub code: ErrorCode,
    pub message: String,
}

impl ClassicError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `LoadBalancerNotFound` with AWS's own wording.
    pub fn no_balancer(name: &str) -> Self {
        Self::new(
            ErrorCode::LoadBalancerNotFound,
            format!(
                "There is no ACTIVE Load Balancer named '{shown}'",
                shown = crate::region::local_name(name)
            ),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfigurationRequest, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }
}

impl fmt::Display for ClassicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ClassicError {}
