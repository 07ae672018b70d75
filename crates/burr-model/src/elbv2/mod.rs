//! The ELBv2 (2015-12-01) view of the model: application and network load balancers, target
//! groups, and the operations of that API expressed as changes to [`State`](crate::State), with
//! the error codes of the botocore model.
//!
//! As with Classic ([`crate::classic`]), nothing here is a second data model. An application or
//! network load balancer is an ordinary [`Balancer`](crate::Balancer) whose `aws.elbv2` says
//! which kind it is; a target group is an ordinary [`Pool`](crate::Pool) whose `target_group`
//! holds what only the API knows (its id, protocol, port, the attributes as given); a listener's
//! default action and rules are the model's own [`routing`](crate::routing) types. The data
//! plane therefore serves an ALB exactly as it serves the same configuration written in TOML.
//!
//! ARNs are a wire matter (they carry the account and region): the API builds and parses them;
//! the model keys objects by name and checks ids. No I/O, no clock: `now` and fresh ids come in
//! through [`Context`].

mod attributes;
mod error;
#[cfg(test)]
mod listener_tests;
mod ops;
#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod tests;
mod types;
#[cfg(test)]
mod udp_tests;

pub use attributes::{
    LISTENER_ATTRIBUTES, LOAD_BALANCER_ATTRIBUTES, TARGET_GROUP_ATTRIBUTES, TargetGroupAttribute,
    apply_target_group_attributes, target_group_attributes,
};
pub use error::{ErrorCode, V2Error};
pub use ops::*;
pub use types::*;

/// Most application and network load balancers per region (the AWS default quota).
pub const MAX_LOAD_BALANCERS: usize = 50;
/// Most target groups per region.
pub const MAX_TARGET_GROUPS: usize = 3000;
/// Most listeners per load balancer.
pub const MAX_LISTENERS: usize = 50;
/// Most targets registered with one target group.
pub const MAX_TARGETS: usize = 1000;
/// Most tags on one resource.
pub const MAX_TAGS: usize = 50;
/// Most certificates on one listener besides the default one (ALB's quota is 25).
pub const MAX_LISTENER_CERTIFICATES: usize = 25;
/// Longest target group name.
pub const MAX_TARGET_GROUP_NAME: usize = 32;

/// A TLS security policy burr's TLS stack (rustls) honours exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SslPolicy {
    pub name: &'static str,
    /// `TLSv1.2`, `TLSv1.3`.
    pub protocols: &'static [&'static str],
    /// OpenSSL cipher names, in preference order.
    pub ciphers: &'static [&'static str],
}

const TLS13_CIPHERS: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The AWS policies whose protocols and ciphers are all within rustls' (TLS 1.2 with ECDHE and
/// AEAD ciphers, TLS 1.3). Policies that allow TLS 1.0/1.1, CBC or RSA key exchange are not
/// offered: burr could not honour them.
pub const SSL_POLICIES: [SslPolicy; 2] = [
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[
            TLS13_CIPHERS[0],
            TLS13_CIPHERS[1],
            TLS13_CIPHERS[2],
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
        ],
    },
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-3-2021-06",
        protocols: &["TLSv1.3"],
        ciphers: &TLS13_CIPHERS,
    },
];

/// Bounds of an NLB TCP or TLS listener's `tcp.idle_timeout.seconds` (its idle timeout).
pub const TCP_IDLE_TIMEOUT_SECS: (u32, u32) = (60, 6000);
/// A new NLB listener's idle timeout (the attribute's default).
pub const DEFAULT_TCP_IDLE_TIMEOUT_SECS: u32 = 350;

/// The policy an HTTPS or TLS listener gets when none is named.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/// The policy named `name`, if burr offers it.
pub fn ssl_policy(name: &str) -> Option<&'static SslPolicy> {
    SSL_POLICIES.iter().find(|p| p.name == name)
}
