//! What ELBv2 objects carry beyond burr's own model: the kind and id of a load balancer, the
//! protocol, port, target type, registrations and attributes of a target group, the id and
//! policies of a listener and the id of a rule, all stored with the object they belong to.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// `Type` of a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancerType {
    /// HTTP and HTTPS listeners, rules, cookie stickiness.
    Application,
    /// TCP and TLS listeners, source-IP stickiness.
    Network,
}

impl LoadBalancerType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Network => "network",
        }
    }

    /// The ARN segment: `app` or `net`.
    pub fn arn_segment(self) -> &'static str {
        match self {
            Self::Application => "app",
            Self::Network => "net",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "application" => Some(Self::Application),
            "network" => Some(Self::Network),
            _ => None,
        }
    }
}

/// What an application or network load balancer carries (in `Balancer.aws.elbv2`); its tags,
/// scheme, subnets and security groups are the balancer's `aws` fields shared with Classic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Balancer {
    #[serde(rename = "type")]
    pub kind: LoadBalancerType,
    /// The 16 hex digits ending its ARN.
    pub id: String,
    /// `ipv4`, `dualstack` or `dualstack-without-public-ipv4`: stored and returned.
    pub ip_address_type: String,
    /// `Describe/ModifyLoadBalancerAttributes` values set by the client, by key (the defaults
    /// fill the rest when described).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `Protocol` of a listener or target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum V2Protocol {
    Http,
    Https,
    Tcp,
    Tls,
    Udp,
    TcpUdp,
}

impl V2Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Udp => "UDP",
            Self::TcpUdp => "TCP_UDP",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Http,
            Self::Https,
            Self::Tcp,
            Self::Tls,
            Self::Udp,
            Self::TcpUdp,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    /// HTTP or HTTPS: the protocols of application load balancers.
    pub fn is_application(self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }

    /// UDP or TCP_UDP: the protocols that carry datagrams (network load balancers only).
    pub fn carries_datagrams(self) -> bool {
        matches!(self, Self::Udp | Self::TcpUdp)
    }

    /// burr's listener protocol for this one.
    pub fn listener_protocol(self) -> crate::Protocol {
        match self {
            Self::Http => crate::Protocol::Http,
            Self::Https => crate::Protocol::Https,
            Self::Tcp => crate::Protocol::Tcp,
            Self::Tls => crate::Protocol::Ssl,
            Self::Udp => crate::Protocol::Udp,
            Self::TcpUdp => crate::Protocol::TcpUdp,
        }
    }

    /// The ELBv2 name of burr's listener protocol.
    pub fn of_listener(protocol: crate::Protocol) -> Self {
        match protocol {
            crate::Protocol::Http => Self::Http,
            crate::Protocol::Https => Self::Https,
            crate::Protocol::Tcp => Self::Tcp,
            crate::Protocol::Ssl => Self::Tls,
            crate::Protocol::Udp => Self::Udp,
            crate::Protocol::TcpUdp => Self::TcpUdp,
        }
    }
}

/// `TargetType` of a target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// Targets are named by an instance id: in burr, an address or an `[[alias]]`.
    Instance,
    /// Targets are IP addresses.
    Ip,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Ip => "ip",
        }
    }
}

/// A target as registered: the id and port given (the pool holds the address they stand for,
/// at the same index of `targets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub id: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// What a target group carries (in `Pool.target_group`) besides the pool's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    /// The 16 hex digits ending its ARN.
    pub id: String,
    pub protocol: V2Protocol,
    /// `HTTP1`, `HTTP2` or `GRPC` for HTTP and HTTPS groups: stored and returned (burr speaks
    /// HTTP/1.1 to targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The port of targets registered without one.
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    pub target_type: TargetType,
    /// `ipv4` or `ipv6`: stored and returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// `HealthCheckProtocol` as given (the pool's check holds its behaviour).
    pub health_check_protocol: V2Protocol,
    /// `Matcher.GrpcCode`: stored and returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_codes: Option<String>,
    /// Target group attributes set by the client, by key, as given; those with behaviour are
    /// also applied to the pool (see [`super::apply_target_group_attributes`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// The registered targets, parallel to the pool's `targets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<Registration>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// What a listener of an application or network load balancer carries (in
/// `Listener.elbv2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Listener {
    /// The 16 hex digits ending its ARN.
    pub id: String,
    /// The id of its default rule (`DescribeRules` lists it with `IsDefault`).
    pub default_rule_id: String,
    /// `SslPolicy` of an HTTPS or TLS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// `AlpnPolicy` of a TLS listener: stored and returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn_policy: Vec<String>,
    /// Listener attributes set by the client, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The tags of its default rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default_rule_tags: BTreeMap<String, String>,
}

/// The API identity of a listener rule (in `Rule.elbv2`): its id and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleIdentity {
    pub id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// What an ELBv2 operation needs besides the state.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `--listen-host`: every listener binds it, so balancers get no address of their own.
    pub listen_host: Option<IpAddr>,
    /// `--address-pool`: where a new balancer's address comes from.
    pub address_pool: &'a crate::classic::AddressPool,
    /// UTC seconds.
    pub now: u64,
    /// Fresh randomness from the front door, from which the operation's new ids are made.
    pub fresh: u64,
}

impl Context<'_> {
    /// A new id of 16 hex digits; `salt` tells apart the ids one operation makes.
    pub fn new_id(&self, salt: &str) -> String {
        format!("{:016x}", xxh3_64_with_seed(salt.as_bytes(), self.fresh))
    }
}
