//! The Classic ELB (2012-06-01) view of the model: the operations of that API expressed as
//! changes to [`State`](crate::State), their error taxonomy, and the AWS-only properties a
//! balancer carries (tags, named policies, stored attributes).
//!
//! A Classic load balancer is an ordinary [`Balancer`](crate::Balancer): each listener forwards
//! to a pool of its own, named `<balancer>-<port>`, whose targets are the registered instances
//! on the listener's instance port. Named policies are kept on the balancer and take effect by
//! setting the pool's stickiness or PROXY protocol, so the data plane knows nothing of policies
//! and a balancer declared in TOML answers the same calls. No I/O, no clock: `now` comes in.

mod addresses;
mod error;
mod health;
mod instances;
mod ops;
mod policy;
mod properties;
#[cfg(test)]
mod tests;

pub use addresses::{AddressPool, AddressPoolError};
pub use error::{ClassicError, ErrorCode};
pub use health::{health_check_target, parse_health_check_target};
pub use instances::{
    check_instance, instance_id_of, instance_targets, instances_of, resolve_instance,
    target_for_instance,
};
pub use ops::*;
pub use policy::{
    AttributeType, Cardinality, POLICY_TYPES, PolicyTypeInfo, sample_policies, stickiness_policy,
};
pub use properties::{
    AccessLogSettings, AwsProperties, BackendPolicies, Detached, MAX_LABEL_LEN, NamedPolicy,
    Placement, check_label, check_tag,
};

/// Most balancers burr accepts through the API (`TooManyLoadBalancers` beyond).
pub const MAX_LOAD_BALANCERS: usize = 100;
/// Most listeners on one balancer.
pub const MAX_LISTENERS: usize = 100;
/// Most instances registered with one balancer.
pub const MAX_INSTANCES: usize = 1000;
/// Most named policies on one balancer (`TooManyPolicies` beyond).
pub const MAX_POLICIES: usize = 50;
/// Latest `created_at` (UTC seconds) that fits RFC 3339's four-digit year: 9999-12-31T23:59:59Z.
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;
/// Most tags on one balancer (`TooManyTags` beyond), as on AWS.
pub const MAX_TAGS: usize = 50;
