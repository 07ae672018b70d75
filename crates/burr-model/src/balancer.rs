//! Balancers and their listeners: where burr accepts client traffic and which pool it goes to.

use crate::error::{Errors, FieldPath, PathSegment};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// The protocol of a listener (towards clients) or of its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
    Http,
    /// TLS, then HTTP/2 or HTTP/1.1 chosen by ALPN.
    Https,
    /// Plain TCP: bytes are relayed to one target per connection.
    Tcp,
    /// TLS terminated by burr, then bytes relayed as for `tcp`.
    Ssl,
    /// UDP: datagrams relayed to one target per flow (client address and port).
    Udp,
    /// TCP and UDP on the same port (NLB `TCP_UDP`): connections relayed as for `tcp`,
    /// datagrams as for `udp`. Spelled `tcp_udp`, as [`Protocol::as_str`] writes it (the
    /// `lowercase` rule would make it `tcpudp`, which no document names).
    #[serde(rename = "tcp_udp", alias = "tcpudp")]
    TcpUdp,
}

impl Protocol {
    pub const ALL: [Protocol; 6] = [
        Self::Http,
        Self::Https,
        Self::Tcp,
        Self::Ssl,
        Self::Udp,
        Self::TcpUdp,
    ];

    /// The protocols of Classic ELB listeners (and instance protocols).
    pub const CLASSIC: [Protocol; 4] = [Self::Http, Self::Https, Self::Tcp, Self::Ssl];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Tcp => "tcp",
            Self::Ssl => "ssl",
            Self::Udp => "udp",
            Self::TcpUdp => "tcp_udp",
        }
    }

    /// UDP or TCP_UDP: the listener receives datagrams (and relays them per flow).
    pub fn carries_datagrams(self) -> bool {
        matches!(self, Self::Udp | Self::TcpUdp)
    }

    /// Every protocol but UDP: the listener accepts TCP connections.
    pub fn carries_connections(self) -> bool {
        self != Self::Udp
    }

    /// The protocols of targets a listener of this protocol may forward to, as text for errors:
    /// a listener relays what it receives, so its targets speak the same family.
    fn target_family(self) -> &'static [Protocol] {
        match self {
            Self::Http | Self::Https => &[Self::Http, Self::Https],
            Self::Tcp | Self::Ssl => &[Self::Tcp, Self::Ssl],
            Self::Udp => &[Self::Udp],
            Self::TcpUdp => &[Self::TcpUdp],
        }
    }

    /// HTTP or HTTPS: burr reads requests (and may apply cookie or header stickiness).
    pub fn is_http(self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }

    /// HTTPS or SSL: burr terminates TLS with the listener's certificate.
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Https | Self::Ssl)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PEM files for an HTTPS listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

/// A port on a balancer, forwarding to a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub port: u16,
    pub protocol: Protocol,
    /// Name of the pool this listener forwards to. Empty (absent in TOML) only on an http or
    /// https listener with a `default_action`: an ALB listener whose default action answers by
    /// itself (fixed response, redirect) or forwards to pools it names has no pool of its own.
    /// Use [`Listener::pool_name`] to read it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pool: String,
    /// Protocol spoken to the targets: `http` or `https` behind an HTTP(S) listener, `tcp` or
    /// `ssl` behind a TCP/SSL one. Defaults to the listener's protocol without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_protocol: Option<Protocol>,
    /// Port of targets registered without one (the Classic ELB `InstancePort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// The ARN of a certificate burr holds (ACM or IAM server certificate), instead of `tls`
    /// files: an HTTPS or SSL listener names one or the other. `burr:self-signed`
    /// ([`SELF_SIGNED_CERTIFICATE`](crate::certificates::SELF_SIGNED_CERTIFICATE)) names burr's
    /// default certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// ARNs of further certificates burr holds (ALB `AddListenerCertificates`), https and ssl
    /// (TLS) listeners only: a client whose TLS server name (SNI) matches one of their names is
    /// served that one; any other client the default (`certificate` or `tls`). At most
    /// [`defaults::MAX_SNI_CERTIFICATES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sni_certificates: Vec<String>,
    /// Names of the balancer's policies enabled on this listener (AWS API policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Close a client connection with no traffic for this long, 1–3600 s (ELB default 60).
    #[serde(default = "defaults::idle_timeout_secs")]
    pub idle_timeout_secs: u32,
    /// Longest time a client may take to send a request head, 1–300 s.
    #[serde(default = "defaults::header_read_timeout_secs")]
    pub header_read_timeout_secs: u32,
    /// Largest request head (request line and headers), 8192–1048576 bytes.
    #[serde(default = "defaults::max_header_bytes")]
    pub max_header_bytes: u32,
    /// Most header fields in one request, 1–1000.
    #[serde(default = "defaults::max_headers")]
    pub max_headers: u32,
    /// Most client connections this listener serves at once, 1–1,000,000; absent means only
    /// the process-wide cap (`burr serve --max-connections`) applies. At the cap the listener
    /// stops accepting and new clients wait in the kernel's backlog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// ALB listener rules (`[[balancer.listener.rule]]`), http and https listeners only:
    /// evaluated by priority, the first whose conditions all hold decides.
    #[serde(default, rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<crate::routing::Rule>,
    /// What happens when no rule matches. Absent: forward to `pool`, as a listener without
    /// rules always has. A listener needs a `pool` or a `default_action`; when it has both, the
    /// default action decides and `pool` is what the Classic ELB features (instances, health
    /// reports) refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<crate::routing::Action>,
    /// Flow settings of a udp or tcp_udp listener (`[balancer.listener.udp]`); absent means
    /// the defaults of [`UdpSettings`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpSettings>,
    /// Read a PROXY protocol header (v1 or v2, told apart by its first bytes) at the start of
    /// every client connection, before TLS, and take its source address as the client's
    /// (HAProxy's `accept-proxy`). tcp, ssl, http and https listeners; default false. Only for a
    /// listener that only a trusted front proxy can reach: anyone who can connect can claim any
    /// address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_proxy_protocol: bool,
    /// Present on listeners of application and network load balancers (the ELBv2 API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elbv2: Option<crate::elbv2::V2Listener>,
}

/// How a udp or tcp_udp listener keeps its flows: one flow per client address and port, each
/// with its own upstream socket to the target chosen for its first datagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UdpSettings {
    /// A flow with no datagram either way for this long ends, 10–3600 s (default 120, NLB's
    /// UDP idle timeout).
    pub flow_idle_timeout_secs: u32,
    /// Most flows the listener keeps at once (all workers together), 1–4,194,304 (default
    /// 262,144); past it the flow idle the longest is evicted to make room.
    pub max_flows: u32,
}

impl Default for UdpSettings {
    fn default() -> Self {
        Self {
            flow_idle_timeout_secs: 120,
            max_flows: 262_144,
        }
    }
}

impl UdpSettings {
    /// Bounds of `flow_idle_timeout_secs` and `max_flows`.
    pub const FLOW_IDLE_TIMEOUT_SECS: (u32, u32) = (10, 3600);
    pub const MAX_FLOWS: (u32, u32) = (1, 4_194_304);

    fn validate_into(&self, path: &FieldPath, errors: &mut Errors) {
        let (lo, hi) = Self::FLOW_IDLE_TIMEOUT_SECS;
        errors.range(
            path.field("flow_idle_timeout_secs"),
            self.flow_idle_timeout_secs,
            lo,
            hi,
            "seconds",
        );
        let (lo, hi) = Self::MAX_FLOWS;
        errors.range(path.field("max_flows"), self.max_flows, lo, hi, "flows");
    }
}

pub mod defaults {
    pub fn idle_timeout_secs() -> u32 {
        60
    }
    pub fn header_read_timeout_secs() -> u32 {
        30
    }
    pub fn max_header_bytes() -> u32 {
        65_536
    }
    pub fn max_headers() -> u32 {
        100
    }
    /// Bounds of a listener's `max_connections`: the upper one is about what the largest
    /// descriptor limit Linux allows (2^20) can hold at two descriptors per connection.
    pub const MAX_CONNECTIONS: (u32, u32) = (1, 1_000_000);
    /// Most `sni_certificates` on one listener: ALB's default quota of certificates per
    /// listener, the default one not counted (the bound `AddListenerCertificates` enforces).
    pub const MAX_SNI_CERTIFICATES: usize = crate::elbv2::MAX_LISTENER_CERTIFICATES;
}

impl Listener {
    pub fn new(port: u16, protocol: Protocol, pool: impl Into<String>) -> Self {
        Self {
            port,
            protocol,
            pool: pool.into(),
            instance_protocol: None,
            instance_port: None,
            tls: None,
            certificate: None,
            sni_certificates: Vec::new(),
            policies: Vec::new(),
            idle_timeout_secs: defaults::idle_timeout_secs(),
            header_read_timeout_secs: defaults::header_read_timeout_secs(),
            max_header_bytes: defaults::max_header_bytes(),
            max_headers: defaults::max_headers(),
            max_connections: None,
            rules: Vec::new(),
            default_action: None,
            udp: None,
            accept_proxy_protocol: false,
            elbv2: None,
        }
    }

    /// The listener's UDP flow settings (the defaults when it names none).
    pub fn udp_settings(&self) -> UdpSettings {
        self.udp.clone().unwrap_or_default()
    }

    /// The protocol spoken to targets.
    pub fn target_protocol(&self) -> Protocol {
        self.instance_protocol.unwrap_or(match self.protocol {
            Protocol::Http | Protocol::Https => Protocol::Http,
            Protocol::Tcp | Protocol::Ssl => Protocol::Tcp,
            Protocol::Udp => Protocol::Udp,
            Protocol::TcpUdp => Protocol::TcpUdp,
        })
    }

    /// The ARNs of every stored certificate this listener serves: its default, then those
    /// chosen by SNI.
    pub fn certificate_arns(&self) -> impl Iterator<Item = &str> {
        self.certificate
            .iter()
            .chain(&self.sni_certificates)
            .map(String::as_str)
    }

    /// The listener's own pool, if it has one (see [`Listener::pool`]).
    pub fn pool_name(&self) -> Option<&str> {
        (!self.pool.is_empty()).then_some(self.pool.as_str())
    }

    /// The action taken when no rule matches: `default_action`, else forward to `pool`.
    pub fn effective_default_action(&self) -> crate::routing::Action {
        self.default_action
            .clone()
            .unwrap_or_else(|| crate::routing::Action::forward_to(self.pool.clone()))
    }

    fn validate_into(&self, path: &FieldPath, errors: &mut Errors) {
        if self.pool.is_empty() {
            // Only an ALB listener's default action can stand in for the pool; a TCP or SSL
            // listener relays bytes and always needs one.
            if !self.protocol.is_http() {
                errors.push(
                    path.field("pool"),
                    "(missing)",
                    format!("a {} listener needs a pool", self.protocol),
                );
            } else if self.default_action.is_none() {
                errors.push(
                    path.field("pool"),
                    "(missing)",
                    "an http or https listener needs a pool or a default_action",
                );
            }
        }
        if !self.protocol.is_http() && (!self.rules.is_empty() || self.default_action.is_some()) {
            let (field, value) = if self.rules.is_empty() {
                ("default_action", "(present)".to_string())
            } else {
                ("rule", format!("{} rules", self.rules.len()))
            };
            errors.push(
                path.field(field),
                value,
                format!(
                    "only http and https listeners take rules and a default action (this one \
                     is {})",
                    self.protocol
                ),
            );
        } else {
            crate::routing::validate_rules(
                &self.rules,
                self.default_action.as_ref(),
                self.protocol == Protocol::Https,
                path,
                errors,
            );
        }
        if self.port == 0 {
            errors.push(path.field("port"), 0, "must be between 1 and 65535");
        }
        if self.instance_port == Some(0) {
            errors.push(
                path.field("instance_port"),
                0,
                "must be between 1 and 65535",
            );
        }
        match (self.protocol.is_tls(), &self.tls, &self.certificate) {
            (true, None, None) => errors.push(
                path.field("tls"),
                "(missing)",
                format!(
                    "an {} listener needs tls.certificate and tls.private_key, or certificate \
                     (the ARN of a certificate burr holds)",
                    self.protocol
                ),
            ),
            (true, Some(_), Some(_)) => errors.push(
                path.field("tls"),
                "(present)",
                "give either tls files or a certificate ARN, not both",
            ),
            (false, Some(_), _) => errors.push(
                path.field("tls"),
                "(present)",
                "only https and ssl listeners take a certificate",
            ),
            (false, _, Some(arn)) => errors.push(
                path.field("certificate"),
                format!("{arn:?}"),
                "only https and ssl listeners take a certificate",
            ),
            _ => {}
        }
        self.validate_sni_certificates(path, errors);
        let target = self.target_protocol();
        let family = self.protocol.target_family();
        if !family.contains(&target) {
            let names: Vec<&str> = family.iter().map(|p| p.as_str()).collect();
            errors.push(
                path.field("instance_protocol"),
                format!("{:?}", target.as_str()),
                format!(
                    "a {} listener forwards to {} targets",
                    self.protocol,
                    names.join(" or ")
                ),
            );
        }
        match &self.udp {
            Some(udp) if self.protocol.carries_datagrams() => {
                udp.validate_into(&path.field("udp"), errors);
            }
            Some(_) => errors.push(
                path.field("udp"),
                "(present)",
                format!(
                    "only udp and tcp_udp listeners take udp settings (this one is {})",
                    self.protocol
                ),
            ),
            None => {}
        }
        // A PROXY header opens a connection; a udp listener has none, and tcp_udp's datagrams
        // could not carry one, so the option would hold for half of what it serves.
        let takes_proxy_header = matches!(
            self.protocol,
            Protocol::Tcp | Protocol::Ssl | Protocol::Http | Protocol::Https
        );
        if self.accept_proxy_protocol && !takes_proxy_header {
            errors.push(
                path.field("accept_proxy_protocol"),
                "true",
                format!(
                    "only tcp, ssl, http and https listeners accept a PROXY header (this one is {})",
                    self.protocol
                ),
            );
        }
        // An NLB TCP or TLS listener's idle timeout is its `tcp.idle_timeout.seconds`, 60–6000;
        // every other listener keeps Classic ELB's 1–3600.
        let (lo, hi) = if self.elbv2.is_some() && !self.protocol.is_http() {
            crate::elbv2::TCP_IDLE_TIMEOUT_SECS
        } else {
            (1, 3600)
        };
        errors.range(
            path.field("idle_timeout_secs"),
            self.idle_timeout_secs,
            lo,
            hi,
            "seconds",
        );
        errors.range(
            path.field("header_read_timeout_secs"),
            self.header_read_timeout_secs,
            1,
            300,
            "seconds",
        );
        errors.range(
            path.field("max_header_bytes"),
            self.max_header_bytes,
            8192,
            1_048_576,
            "bytes",
        );
        errors.range(path.field("max_headers"), self.max_headers, 1, 1000, "");
        if let Some(max_connections) = self.max_connections {
            let (lo, hi) = defaults::MAX_CONNECTIONS;
            errors.range(
                path.field("max_connections"),
                max_connections,
                lo,
                hi,
                "connections",
            );
        }
    }
}

impl Listener {
    /// The listener's own rules on `sni_certificates` (whether each names a certificate burr
    /// holds is the state's to check).
    fn validate_sni_certificates(&self, path: &FieldPath, errors: &mut Errors) {
        let sni = &self.sni_certificates;
        if sni.is_empty() {
            return;
        }
        let field = path.field("sni_certificates");
        if !self.protocol.is_tls() {
            errors.push(
                field.clone(),
                format!("{} certificates", sni.len()),
                format!(
                    "only https and ssl listeners take certificates (this one is {})",
                    self.protocol
                ),
            );
            return;
        }
        if sni.len() > defaults::MAX_SNI_CERTIFICATES {
            errors.push(
                field.clone(),
                format!("{} certificates", sni.len()),
                format!(
                    "must be between 0 and {} certificates besides the default one",
                    defaults::MAX_SNI_CERTIFICATES
                ),
            );
        }
        let mut seen = HashSet::new();
        for (i, arn) in sni.iter().enumerate() {
            if !seen.insert(arn) || self.certificate.as_ref() == Some(arn) {
                errors.push(
                    field.index(i),
                    format!("{arn:?}"),
                    "is listed twice (or is the default certificate); each certificate may \
                     appear once per listener",
                );
            }
        }
    }
}

/// A named load balancer: an address and the listeners on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balancer {
    pub name: String,
    /// Address every listener of this balancer binds; all addresses (`0.0.0.0`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(default, rename = "listener")]
    pub listeners: Vec<Listener>,
    /// Tags, named policies and stored attributes of the AWS API.
    #[serde(default, skip_serializing_if = "crate::AwsProperties::is_empty")]
    pub aws: crate::AwsProperties,
    /// Which front door declared this balancer (kept by the store, not written in files).
    #[serde(skip)]
    pub origin: crate::Origin,
}

impl Balancer {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: None,
            listeners: Vec::new(),
            aws: crate::AwsProperties::default(),
            origin: crate::Origin::default(),
        }
    }

    pub fn path(&self) -> FieldPath {
        FieldPath::root().with(PathSegment::Balancer(self.name.clone()))
    }

    pub(crate) fn validate_into(&self, errors: &mut Errors) {
        let path = self.path();
        self.aws
            .validate_into(&path.field("aws"), &self.listeners, errors);
        if let Err(e) = crate::name::validate_name(path.field("name"), &self.name) {
            errors.0.push(e);
        }
        let mut ports = HashSet::new();
        for listener in &self.listeners {
            let lpath = path.with(PathSegment::Listener(listener.port));
            if !ports.insert(listener.port) {
                errors.push(
                    lpath.field("port"),
                    listener.port,
                    "is used by another listener of this balancer; ports must be unique",
                );
            }
            listener.validate_into(&lpath, errors);
        }
    }
}
