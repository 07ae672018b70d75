//! burr's domain model: the plain types every front door (TOML file, AWS APIs) translates into,
//! and every rule that decides whether a configuration is acceptable.
//!
//! This crate owns *what a valid configuration is*. It does no I/O, reads no clock and knows no
//! protocol: a front door builds these types, calls [`State::validate`] (or the per-object
//! `validate`), and maps the [`ValidationError`]s back into its own error shape. Because the rules
//! live here, a pool declared in TOML and one created through an API obey exactly the same limits.

mod address;
mod alias;
mod balancer;
pub mod certificates;
pub mod classic;
pub mod cloudfront;
mod drain;
pub mod elbv2;
mod error;
pub mod fail_open;
mod health_check;
pub mod matcher;
mod name;
mod pool;
pub mod region;
pub mod routing;
mod state;

pub use address::{TargetAddress, TargetAddressError};
pub use alias::Alias;
pub use balancer::{Balancer, Listener, Protocol, TlsFiles, UdpSettings};
pub use classic::AwsProperties;
pub use drain::DrainingTarget;
pub use error::{FieldPath, PathSegment, ValidationError};
pub use fail_open::FailOpen;
pub use health_check::{HealthCheck, HealthCheckProtocol, MAX_UDP_PROBE_BYTES, udp_probe_bytes};
pub use matcher::{check_success_codes, success_code_matches};
pub use name::{validate_name, validate_pool_name};
pub use pool::{
    Algorithm, CookieAttributes, CookieFlavour, DEFAULT_AWS_STICKINESS_SECS,
    DEFAULT_STICKINESS_SECS, DrainMode, Draining, MAX_AWS_STICKINESS_SECS, OnTargetDown,
    PROXY_PROTOCOL_TLVS, Pool, PoolId, ProxyTlvs, SameSite, Stickiness, StickinessKind, Target,
    TargetId, UpstreamTimeouts,
};
pub use state::{Origin, State};
