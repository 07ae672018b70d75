//! The ELBv2 error codes (the botocore model's `error.code` of each exception shape) and the
//! error every ELBv2 operation returns.

use std::fmt;

/// An error code of the 2015-12-01 API as sent on the wire; boto3 raises `<code>Exception`
/// (e.g. `TargetGroupNotFoundException`), and `ClientError` for `ValidationError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    CertificateNotFound,
    DuplicateListener,
    DuplicateLoadBalancerName,
    DuplicateTagKeys,
    DuplicateTargetGroupName,
    IncompatibleProtocols,
    InvalidConfigurationRequest,
    InvalidLoadBalancerAction,
    InvalidScheme,
    InvalidTarget,
    ListenerNotFound,
    LoadBalancerNotFound,
    OperationNotPermitted,
    PriorityInUse,
    ResourceInUse,
    RuleNotFound,
    SslPolicyNotFound,
    TargetGroupNotFound,
    TooManyActions,
    TooManyCertificates,
    TooManyListeners,
    TooManyLoadBalancers,
    TooManyRules,
    TooManyTags,
    TooManyTargetGroups,
    TooManyTargets,
    UnsupportedProtocol,
    /// A parameter breaks a documented range or pattern.
    ValidationError,
}

impl ErrorCode {
    /// The `<Code>` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateNotFound => "CertificateNotFound",
            Self::DuplicateListener => "DuplicateListener",
            Self::DuplicateLoadBalancerName => "DuplicateLoadBalancerName",
            Self::DuplicateTagKeys => "DuplicateTagKeys",
            Self::DuplicateTargetGroupName => "DuplicateTargetGroupName",
            Self::IncompatibleProtocols => "IncompatibleProtocols",
            Self::InvalidConfigurationRequest => "InvalidConfigurationRequest",
            Self::InvalidLoadBalancerAction => "InvalidLoadBalancerAction",
            Self::InvalidScheme => "InvalidScheme",
            Self::InvalidTarget => "InvalidTarget",
            Self::ListenerNotFound => "ListenerNotFound",
            Self::LoadBalancerNotFound => "LoadBalancerNotFound",
            Self::OperationNotPermitted => "OperationNotPermitted",
            Self::PriorityInUse => "PriorityInUse",
            Self::ResourceInUse => "ResourceInUse",
            Self::RuleNotFound => "RuleNotFound",
            Self::SslPolicyNotFound => "SSLPolicyNotFound",
            Self::TargetGroupNotFound => "TargetGroupNotFound",
            Self::TooManyActions => "TooManyActions",
            Self::TooManyCertificates => "TooManyCertificates",
            Self::TooManyListeners => "TooManyListeners",
            Self::TooManyLoadBalancers => "TooManyLoadBalancers",
            Self::TooManyRules => "TooManyRules",
            Self::TooManyTags => "TooManyTags",
            Self::TooManyTargetGroups => "TooManyTargetGroups",
            Self::TooManyTargets => "TooManyTargets",
            Self::UnsupportedProtocol => "UnsupportedProtocol",
            Self::ValidationError => "ValidationError",
        }
    }

    /// Every ELBv2 error burr sends is a client error: 400 (the model gives no other status to
    /// these shapes).
    pub fn http_status(self) -> u16 {
        400
    }
}

/// Why an ELBv2 operation changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Error {
    pub code: ErrorCode,
    pub message: String,
}

impl V2Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfigurationRequest, message)
    }

    /// `ValidationError` for `parameter` = `value`, with the rule it breaks.
    pub fn parameter(parameter: &str, value: impl fmt::Display, rule: impl fmt::Display) -> Self {
        Self::invalid(format!("{parameter}: {value} is not allowed: {rule}"))
    }

    pub fn no_load_balancer(what: &str) -> Self {
        Self::new(
            ErrorCode::LoadBalancerNotFound,
            format!("Load balancer '{what}' not found"),
        )
    }

    pub fn no_target_group(what: &str) -> Self {
        Self::new(
            ErrorCode::TargetGroupNotFound,
            format!("Target group '{what}' not found"),
        )
    }

    pub fn no_listener(what: &str) -> Self {
        Self::new(
            ErrorCode::ListenerNotFound,
            format!("Listener '{what}' not found"),
        )
    }

    pub fn no_rule(what: &str) -> Self {
        Self::new(ErrorCode::RuleNotFound, format!("Rule '{what}' not found"))
    }
}

impl fmt::Display for V2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for V2Error {}
