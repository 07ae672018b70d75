//! Classic ELB policy types: their attributes (for `DescribeLoadBalancerPolicyTypes` and for
//! checking `CreateLoadBalancerPolicy`), the sample policies, and how a stickiness policy becomes
//! the pool's [`Stickiness`].

use super::{ClassicError, ErrorCode, NamedPolicy};
use crate::{CookieFlavour, Stickiness, StickinessKind};

/// How many times an attribute may appear in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    One,
    ZeroOrOne,
    ZeroOrMore,
    OneOrMore,
}

impl Cardinality {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::One => "ONE",
            Self::ZeroOrOne => "ZERO_OR_ONE",
            Self::ZeroOrMore => "ZERO_OR_MORE",
            Self::OneOrMore => "ONE_OR_MORE",
        }
    }

    fn allows(self, count: usize) -> bool {
        match self {
            Self::One => count == 1,
            Self::ZeroOrOne => count <= 1,
            Self::ZeroOrMore => true,
            Self::OneOrMore => count >= 1,
        }
    }
}

/// The value type of a policy attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    Long,
    String,
    Boolean,
    PolicyName,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Long => "Long",
            Self::String => "String",
            Self::Boolean => "Boolean",
            Self::PolicyName => "PolicyName",
        }
    }

    fn accepts(self, value: &str) -> bool {
        match self {
            Self::Long => value.parse::<i64>().is_ok(),
            Self::Boolean => {
                value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
            }
            Self::String | Self::PolicyName => !value.is_empty(),
        }
    }
}

/// One attribute of a policy type.
#[derive(Debug, Clone, Copy)]
pub struct AttributeInfo {
    pub name: &'static str,
    pub kind: AttributeType,
    pub description: &'static str,
    pub default: Option<&'static str>,
    pub cardinality: Cardinality,
}

/// A policy type and where it may be enabled.
#[derive(Debug, Clone, Copy)]
pub struct PolicyTypeInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeInfo],
    /// May be enabled on a listener (`SetLoadBalancerPoliciesOfListener`).
    pub for_listener: bool,
    /// May be enabled on an instance port (`SetLoadBalancerPoliciesForBackendServer`).
    pub for_backend: bool,
}

pub const LB_COOKIE: &str = "LBCookieStickinessPolicyType";
pub const APP_COOKIE: &str = "AppCookieStickinessPolicyType";
pub const PROXY_PROTOCOL: &str = "ProxyProtocolPolicyType";
pub const SSL_NEGOTIATION: &str = "SSLNegotiationPolicyType";

const fn attr(
    name: &'static str,
    kind: AttributeType,
    cardinality: Cardinality,
    description: &'static str,
) -> AttributeInfo {
    AttributeInfo {
        name,
        kind,
        description,
        default: None,
        cardinality,
    }
}

const SSL_BOOL: [&str; 8] = [
    "Protocol-TLSv1",
    "Protocol-TLSv1.1",
    "Protocol-TLSv1.2",
    "Server-Defined-Cipher-Order",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];

const SSL_ATTRIBUTES: [AttributeInfo; 9] = {
    let mut all = [attr(
        "Reference-Security-Policy",
        AttributeType::String,
        Cardinality::ZeroOrOne,
        "The name of a predefined security policy whose settings this policy takes.",
    ); 9];
    let mut i = 0;
    while i < SSL_BOOL.len() {
        all[i + 1] = attr(
            SSL_BOOL[i],
            AttributeType::Boolean,
            Cardinality::ZeroOrOne,
            "Whether this protocol or cipher is offered.",
        );
        i += 1;
    }
    all
};

/// Every policy type burr knows, in the order `DescribeLoadBalancerPolicyTypes` lists them.
pub const POLICY_TYPES: [PolicyTypeInfo; 6] = [
    PolicyTypeInfo {
        name: LB_COOKIE,
        description: "Stickiness policy with session lifetimes controlled by the lifetime of the browser (user-agent) or a specified expiration period. This policy can be associated only with HTTP/HTTPS listeners.",
        attributes: &[attr(
            "CookieExpirationPeriod",
            AttributeType::Long,
            Cardinality::ZeroOrOne,
            "Amount of time, in seconds, after which the cookie should be considered stale. If this parameter isn't specified, the sticky session will last for the duration of the browser session.",
        )],
        for_listener: true,
        for_backend: false,
    },
    PolicyTypeInfo {
        name: APP_COOKIE,
        description: "Stickiness policy with session lifetimes controlled by the lifetime of the application-generated cookie. This policy can be associated only with HTTP/HTTPS listeners.",
        attributes: &[attr(
            "CookieName",
            AttributeType::String,
            Cardinality::One,
            "Name of the application cookie used for stickiness.",
        )],
        for_listener: true,
        for_backend: false,
    },
    PolicyTypeInfo {
        name: PROXY_PROTOCOL,
        description: "Policy that controls whether to include the IP address and port of the originating request for TCP messages. This policy operates on TCP listeners only.",
        attributes: &[attr(
            "ProxyProtocol",
            AttributeType::Boolean,
            Cardinality::One,
            "Enable proxy protocol.",
        )],
        for_listener: false,
        for_backend: true,
    },
    PolicyTypeInfo {
        name: "BackendServerAuthenticationPolicyType",
        description: "Policy that controls authentication to back-end server(s) and contains one or more policies, such as an instance of a PublicKeyPolicyType. This policy can be associated only with back-end servers that are using HTTPS/SSL.",
        attributes: &[attr(
            "PublicKeyPolicyName",
            AttributeType::PolicyName,
            Cardinality::OneOrMore,
            "A list of public key policies to use for authenticating the back-end server(s).",
        )],
        for_listener: false,
        for_backend: true,
    },
    PolicyTypeInfo {
        name: "PublicKeyPolicyType",
        description: "Policy containing a list of public keys to accept when authenticating the back-end server(s). This policy cannot be applied directly to back-end servers or listeners but must be part of a BackendServerAuthenticationPolicyType.",
        attributes: &[attr(
            "PublicKey",
            AttributeType::String,
            Cardinality::One,
            "A public key in PEM format (base64 body).",
        )],
        for_listener: false,
        for_backend: false,
    },
    PolicyTypeInfo {
        name: SSL_NEGOTIATION,
        description: "Listener policy that defines the ciphers and protocols that will be accepted by the load balancer. This policy can be associated only with HTTPS/SSL listeners.",
        attributes: &SSL_ATTRIBUTES,
        for_listener: true,
        for_backend: false,
    },
];

/// The type named `name`.
pub fn policy_type(name: &str) -> Result<&'static PolicyTypeInfo, ClassicError> {
    POLICY_TYPES.iter().find(|t| t.name == name).ok_or_else(|| {
        let known: Vec<&str> = POLICY_TYPES.iter().map(|t| t.name).collect();
        ClassicError::new(
            ErrorCode::PolicyTypeNotFound,
            format!(
                "PolicyTypeName: {name:?} is not a policy type; known types are {}",
                known.join(", ")
            ),
        )
    })
}

/// Checks a policy's attributes against its type: known names, value types and cardinality.
pub fn check_attributes(policy: &NamedPolicy) -> Result<(), ClassicError> {
    let info = policy_type(&policy.type_name)?;
    for (name, value) in &policy.attributes {
        let Some(a) = info.attributes.iter().find(|a| a.name == name) else {
            let known: Vec<&str> = info.attributes.iter().map(|a| a.name).collect();
            return Err(ClassicError::conflict(format!(
                "PolicyAttributes: {name:?} is not an attribute of {}; it takes {}",
                info.name,
                known.join(", ")
            )));
        };
        if !a.kind.accepts(value) {
            return Err(ClassicError::conflict(format!(
                "PolicyAttributes: {name} = {value:?} is not a valid {}",
                a.kind.as_str()
            )));
        }
    }
    for a in info.attributes {
        let count = policy
            .attributes
            .iter()
            .filter(|(n, _)| n == a.name)
            .count();
        if !a.cardinality.allows(count) {
            return Err(ClassicError::conflict(format!(
                "PolicyAttributes: {} of {} appears {count} times; its cardinality is {}",
                a.name,
                info.name,
                a.cardinality.as_str()
            )));
        }
    }
    Ok(())
}

/// The stickiness a stickiness policy gives its listener's pool, or `None` for other types.
pub fn stickiness_policy(policy: &NamedPolicy) -> Option<Stickiness> {
    let mut stickiness = Stickiness {
        flavour: CookieFlavour::Classic,
        ..Stickiness::default()
    };
    match policy.type_name.as_str() {
        LB_COOKIE => {
            stickiness.kind = StickinessKind::LbCookie;
            // Absent: a browser-session cookie, which burr spells as a period of 0.
            let period = policy
                .attribute("CookieExpirationPeriod")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            stickiness.duration_secs = Some(u32::try_from(period).unwrap_or(u32::MAX));
        }
        APP_COOKIE => {
            stickiness.kind = StickinessKind::AppCookie;
            stickiness.cookie_name = policy.attribute("CookieName").map(str::to_string);
        }
        _ => return None,
    }
    Some(stickiness)
}

/// Whether a policy turns the PROXY protocol on.
pub fn enables_proxy_protocol(policy: &NamedPolicy) -> bool {
    policy.type_name == PROXY_PROTOCOL
        && policy
            .attribute("ProxyProtocol")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The `ELBSample-` and predefined security policies `DescribeLoadBalancerPolicies` lists when no
/// balancer is named.
pub fn sample_policies() -> Vec<NamedPolicy> {
    let ssl = |name: &str, tls10: bool| NamedPolicy {
        name: name.to_string(),
        type_name: SSL_NEGOTIATION.to_string(),
        attributes: [
            ("Protocol-TLSv1", tls10),
            ("Protocol-TLSv1.1", tls10),
            ("Protocol-TLSv1.2", true),
            ("Server-Defined-Cipher-Order", true),
            ("ECDHE-ECDSA-AES128-GCM-SHA256", true),
            ("ECDHE-RSA-AES128-GCM-SHA256", true),
            ("ECDHE-ECDSA-AES256-GCM-SHA384", true),
            ("ECDHE-RSA-AES256-GCM-SHA384", true),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect(),
    };
    vec![
        ssl("ELBSample-ELBDefaultCipherPolicy", true),
        ssl("ELBSample-OpenSSLDefaultCipherPolicy", true),
        ssl("ELBSecurityPolicy-2016-08", true),
        ssl("ELBSecurityPolicy-TLS-1-2-2017-01", false),
    ]
}
