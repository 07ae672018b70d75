//! burr's AWS-compatible control plane: it verifies AWS Signature V4, decodes the query protocol
//! (`Action=…&Version=…`), runs the Classic ELB (2012-06-01) actions as model operations on the
//! store, in the namespace of the request's signing region, and writes the XML answers and
//! errors AWS SDKs expect (plus EC2's `DescribeNetworkInterfaces`, which Terraform calls when it
//! deletes a Classic balancer). It holds no business rule of its
//! own: every rule lives in `burr-model`, so a balancer made here and one declared in TOML obey
//! the same checks.

#![forbid(unsafe_code)]

pub mod acm;
pub mod cloudfront;
pub mod control;
pub mod ec2;
pub mod elb;
pub mod elbv2;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod iam;
pub mod query;
pub mod service;
pub mod sigv4;
pub mod xml;

pub use control::{ControlPlane, TargetHealth, UnhealthyReason};
pub use service::{Answer, Api};
pub use sigv4::{Credentials, SignedRequest};
