//! The CloudFront error codes (the botocore model's exception shapes, whose names are the wire
//! codes) with their HTTP statuses, and the error every CloudFront operation returns.

use std::fmt;

/// An error code of the 2020-05-31 API as sent on the wire; boto3 raises the exception of the
/// same name (e.g. `cf.exceptions.PreconditionFailed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfErrorCode {
    AccessDenied,
    CNAMEAlreadyExists,
    ContinuousDeploymentPolicyAlreadyExists,
    ContinuousDeploymentPolicyInUse,
    DistributionAlreadyExists,
    DistributionNotDisabled,
    IllegalUpdate,
    InconsistentQuantities,
    InvalidArgument,
    InvalidIfMatchVersion,
    InvalidOrigin,
    InvalidTagging,
    InvalidViewerCertificate,
    /// Not in the botocore model (boto3 raises a generic ClientError): CloudFront's answer to a
    /// body that is not well-formed XML or does not follow the shape, e.g. `<Code>MalformedInput
    /// </Code><Message>Unexpected list element termination</Message>` with `<Type>Sender</Type>`
    /// and status 400 (quoted in aws/aws-sdk-ruby#1954 and pplu/aws-sdk-perl#112). That it is also
    /// the answer to an unknown element is not confirmed by any source found; burr uses it there.
    MalformedInput,
    MissingBody,
    NoSuchContinuousDeploymentPolicy,
    NoSuchDistribution,
    NoSuchOrigin,
    NoSuchResource,
    PreconditionFailed,
    ResourceInUse,
    StagingDistributionInUse,
    TooManyCacheBehaviors,
    TooManyContinuousDeploymentPolicies,
    TooManyDistributions,
    TooManyOrigins,
}

impl CfErrorCode {
    /// The `<Code>` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDenied",
            Self::CNAMEAlreadyExists => "CNAMEAlreadyExists",
            Self::ContinuousDeploymentPolicyAlreadyExists => {
                "ContinuousDeploymentPolicyAlreadyExists"
            }
            Self::ContinuousDeploymentPolicyInUse => "ContinuousDeploymentPolicyInUse",
            Self::DistributionAlreadyExists => "DistributionAlreadyExists",
            Self::DistributionNotDisabled => "DistributionNotDisabled",
            Self::IllegalUpdate => "IllegalUpdate",
            Self::InconsistentQuantities => "InconsistentQuantities",
            Self::InvalidArgument => "InvalidArgument",
            Self::InvalidIfMatchVersion => "InvalidIfMatchVersion",
            Self::InvalidOrigin => "InvalidOrigin",
            Self::InvalidTagging => "InvalidTagging",
            Self::InvalidViewerCertificate => "InvalidViewerCertificate",
            Self::MalformedInput => "MalformedInput",
            Self::MissingBody => "MissingBody",
            Self::NoSuchContinuousDeploymentPolicy => "NoSuchContinuousDeploymentPolicy",
            Self::NoSuchDistribution => "NoSuchDistribution",
            Self::NoSuchOrigin => "NoSuchOrigin",
            Self::NoSuchResource => "NoSuchResource",
            Self::PreconditionFailed => "PreconditionFailed",
            Self::ResourceInUse => "ResourceInUse",
            Self::StagingDistributionInUse => "StagingDistributionInUse",
            Self::TooManyCacheBehaviors => "TooManyCacheBehaviors",
            Self::TooManyContinuousDeploymentPolicies => "TooManyContinuousDeploymentPolicies",
            Self::TooManyDistributions => "TooManyDistributions",
            Self::TooManyOrigins => "TooManyOrigins",
        }
    }

    /// The HTTP status the botocore model gives the exception.
    pub fn status(self) -> u16 {
        match self {
            Self::AccessDenied => 403,
            Self::CNAMEAlreadyExists
            | Self::ContinuousDeploymentPolicyAlreadyExists
            | Self::ContinuousDeploymentPolicyInUse
            | Self::DistributionAlreadyExists
            | Self::DistributionNotDisabled
            | Self::ResourceInUse
            | Self::StagingDistributionInUse => 409,
            Self::NoSuchContinuousDeploymentPolicy
            | Self::NoSuchDistribution
            | Self::NoSuchOrigin
            | Self::NoSuchResource => 404,
            Self::PreconditionFailed => 412,
            Self::IllegalUpdate
            | Self::InconsistentQuantities
            | Self::InvalidArgument
            | Self::InvalidIfMatchVersion
            | Self::InvalidOrigin
            | Self::InvalidTagging
            | Self::InvalidViewerCertificate
            | Self::MalformedInput
            | Self::MissingBody
            | Self::TooManyCacheBehaviors
            | Self::TooManyContinuousDeploymentPolicies
            | Self::TooManyDistributions
            | Self::TooManyOrigins => 400,
        }
    }
}

/// A refused CloudFront operation: the code and a message naming the member, the value and what
/// is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfError {
    pub code: CfErrorCode,
    pub message: String,
}

impl CfError {
    pub fn new(code: CfErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(CfErrorCode::InvalidArgument, message)
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl fmt::Display for CfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for CfError {}
