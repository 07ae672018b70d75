//! Pools: the targets a listener forwards to, with the algorithm that chooses among them and the
//! health-check, stickiness, draining and upstream-timeout settings that apply to them.

use crate::address::TargetAddress;
use crate::error::{Errors, FieldPath};
use crate::health_check::{CLASSIC_MAX_TIMEOUT_SECS, HealthCheck, TARGET_GROUP_MAX_TIMEOUT_SECS};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use xxhash_rust::xxh3::xxh3_64;

/// Largest weight a target may have. Weights are relative; 0 means "drain: no new sessions".
pub const MAX_WEIGHT: u32 = 1000;

/// How a pool chooses a target for a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each target in turn, ignoring weights (weight 0 still excludes a target).
    #[default]
    RoundRobin,
    /// Smooth weighted round robin, the nginx algorithm: proportional to weight, interleaved.
    WeightedRoundRobin,
    /// Fewest open upstream connections (in use or idle in the keep-alive pool).
    LeastConnections,
    /// Fewest open upstream connections relative to weight.
    WeightedLeastConnections,
    /// Fewest requests in flight (ALB `least_outstanding_requests`).
    LeastOutstandingRequests,
    /// Random, with probability proportional to weight (ALB `weighted_random`).
    Random,
    /// Consistent hash of the client's IP address (a Maglev-style table): stateless source-IP affinity.
    SourceIpHash,
}

impl Algorithm {
    pub const ALL: [Algorithm; 7] = [
        Self::RoundRobin,
        Self::WeightedRoundRobin,
        Self::LeastConnections,
        Self::WeightedLeastConnections,
        Self::LeastOutstandingRequests,
        Self::Random,
        Self::SourceIpHash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::WeightedRoundRobin => "weighted_round_robin",
            Self::LeastConnections => "least_connections",
            Self::WeightedLeastConnections => "weighted_least_connections",
            Self::LeastOutstandingRequests => "least_outstanding_requests",
            Self::Random => "random",
            Self::SourceIpHash => "source_ip_hash",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable identity of a pool, carried in stickiness tokens. Derived from the name so that every
/// node sharing a store agrees on it without coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PoolId(pub u64);

impl PoolId {
    pub fn of(pool_name: &str) -> Self {
        Self(xxh3_64(pool_name.as_bytes()))
    }
}

/// Stable identity of a target within a pool, carried in stickiness tokens instead of its address
/// (tokens are sealed, but an id keeps cookies valid if a target is re-registered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetId(pub u64);

impl TargetId {
    pub fn of(pool_name: &str, address: &TargetAddress) -> Self {
        let key = format!("{pool_name}\0{address}");
        Self(xxh3_64(key.as_bytes()))
    }
}

/// One backend of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub address: TargetAddress,
    /// Relative weight, 0–1000; 0 drains the target (no new sessions).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StickinessKind {
    #[default]
    None,
    /// A cookie issued by burr binds the client to a target.
    LbCookie,
    /// burr's cookie follows a cookie set by the application.
    AppCookie,
    /// The value of a request header binds the client to a target.
    Header,
    /// The client's source address binds it to a target (TCP/UDP listeners).
    SourceIp,
}

/// Which cloud load balancer's cookie conventions a cookie mode follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CookieFlavour {
    /// Classic ELB: `AWSELB`; an LB cookie is set once per pin (`Max-Age` = the period, none
    /// when the period is 0); an app-cookie session follows the application cookie's lifetime.
    Classic,
    /// ALB: `AWSALB` + `AWSALBCORS`, or `AWSALBAPP`; set again on every response, with the
    /// session's lifetime measured from the last response.
    #[default]
    Alb,
}

/// What a sticky session does when its target is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnTargetDown {
    /// Choose a new target with the pool's algorithm and stay there (the AWS behaviour).
    #[default]
    Repin,
    /// Answer 503 and keep the session bound to its target.
    Strict,
}

/// The `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// Attributes of the cookies burr issues (where the mode does not dictate them: a Classic
/// app-cookie session copies the application cookie's; `AWSALBCORS` is always
/// `SameSite=None; Secure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieAttributes {
    pub path: String,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<SameSite>,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        Self {
            path: "/".into(),
            domain: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }
}

impl CookieAttributes {
    fn validate(&self, path: &FieldPath, errors: &mut Errors) {
        // Attribute values end at `;` and may not hold control characters (RFC 6265 §4.1.1).
        let bad = |v: &str| v.is_empty() || v.bytes().any(|b| b < 0x20 || b == 0x7f || b == b';');
        if bad(&self.path) || !self.path.starts_with('/') {
            errors.push(
                path.field("path"),
                format!("{:?}", self.path),
                "must start with / and contain no ';' or control characters",
            );
        }
        if let Some(domain) = &self.domain
            && (bad(domain) || domain.contains(' '))
        {
            errors.push(
                path.field("domain"),
                format!("{domain:?}"),
                "must be a host name without spaces, ';' or control characters",
            );
        }
    }
}

/// Session affinity settings. The fields are stored and validated here; their behaviour is the
/// affinity engine's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stickiness {
    #[serde(rename = "type")]
    pub kind: StickinessKind,
    /// Cookie conventions for `lb_cookie` and `app_cookie`.
    pub flavour: CookieFlavour,
    /// Session lifetime in seconds. Native default 20 minutes (the Huawei ELB default); for a
    /// Classic LB cookie, 0 means a browser-session cookie.
    pub duration_secs: Option<u32>,
    /// The application's cookie (`app_cookie`).
    pub cookie_name: Option<String>,
    /// The request header to stick on (`header`).
    pub header_name: Option<String>,
    /// What a session does when its target is down.
    pub on_target_down: OnTargetDown,
    /// Return a re-pinned session to its first target once that one is healthy again.
    pub fail_back: bool,
    /// Remove burr's own cookies from the `Cookie` header sent to targets.
    pub strip_cookie: bool,
    /// Attributes of burr's cookies.
    pub cookie: CookieAttributes,
}

impl Default for Stickiness {
    fn default() -> Self {
        Self {
            kind: StickinessKind::None,
            flavour: CookieFlavour::default(),
            duration_secs: None,
            cookie_name: None,
            header_name: None,
            on_target_down: OnTargetDown::default(),
            fail_back: false,
            strip_cookie: true,
            cookie: CookieAttributes::default(),
        }
    }
}

/// Default stickiness duration in native configuration: 20 minutes.
pub const DEFAULT_STICKINESS_SECS: u32 = 20 * 60;
/// Default stickiness duration through the AWS APIs (ALB `stickiness.*.duration_seconds`).
pub const DEFAULT_AWS_STICKINESS_SECS: u32 = 86_400;
/// Longest ALB stickiness duration: 7 days.
pub const MAX_AWS_STICKINESS_SECS: u32 = 604_800;

impl Stickiness {
    /// The session lifetime in seconds, with the default of the front door that declared it.
    pub fn duration_secs(&self, origin: crate::Origin) -> u32 {
        self.duration_secs.unwrap_or(match (origin, self.kind) {
            (crate::Origin::Api, StickinessKind::LbCookie | StickinessKind::AppCookie) => {
                match self.flavour {
                    // Classic CookieExpirationPeriod: absent means a browser-session cookie.
                    CookieFlavour::Classic => 0,
                    CookieFlavour::Alb => DEFAULT_AWS_STICKINESS_SECS,
                }
            }
            _ => DEFAULT_STICKINESS_SECS,
        })
    }

    /// Whether this stickiness reads HTTP requests (cookies or a header), and so needs an HTTP or
    /// HTTPS listener.
    pub fn reads_requests(&self) -> bool {
        matches!(
            self.kind,
            StickinessKind::LbCookie | StickinessKind::AppCookie | StickinessKind::Header
        )
    }

    /// Names reserved for burr's own cookies, which an application cookie may not take.
    pub const RESERVED_COOKIE_PREFIXES: [&'static str; 3] = ["AWSALB", "AWSALBAPP", "AWSALBTG"];

    fn validate(
        &self,
        path: &FieldPath,
        algorithm: Algorithm,
        origin: crate::Origin,
        errors: &mut Errors,
    ) {
        if self.kind == StickinessKind::None {
            return;
        }
        if self.kind == StickinessKind::SourceIp {
            // Layer 4 (the Huawei ELB rule): a source-IP session is placed by the consistent
            // hash, bounded by the load the algorithm balances (sessions per weight for the
            // round-robin family, open connections per weight for the least-connections one).
            // least_outstanding_requests counts HTTP requests, random draws (its placement could
            // not be the same on every node), and source_ip_hash is itself stateless hashing.
            if !matches!(
                algorithm,
                Algorithm::RoundRobin
                    | Algorithm::WeightedRoundRobin
                    | Algorithm::LeastConnections
                    | Algorithm::WeightedLeastConnections
            ) {
                errors.push(
                    path.field("type"),
                    "\"source_ip\"",
                    format!(
                        "source_ip stickiness needs algorithm weighted_round_robin, \
                         weighted_least_connections, round_robin or least_connections (this \
                         pool uses {algorithm}): sessions are placed by consistent hashing \
                         bounded by the sessions or open connections each target holds for its \
                         weight, which no other algorithm defines"
                    ),
                );
            }
        } else if algorithm == Algorithm::SourceIpHash {
            errors.push(
                path.field("type"),
                format!("{:?}", kind_name(self.kind)),
                "stickiness cannot be enabled on a pool whose algorithm is source_ip_hash; \
                 choose round_robin, weighted_round_robin, least_connections, \
                 weighted_least_connections, least_outstanding_requests or random",
            );
        }
        self.validate_duration(path, origin, errors);
        match self.kind {
            StickinessKind::AppCookie => {
                check_token_name(
                    path.field("cookie_name"),
                    self.cookie_name.as_deref(),
                    errors,
                );
                if let Some(name) = &self.cookie_name
                    && (name == "AWSELB"
                        || Self::RESERVED_COOKIE_PREFIXES
                            .iter()
                            .any(|p| name.to_ascii_uppercase().starts_with(p)))
                {
                    errors.push(
                        path.field("cookie_name"),
                        format!("{:?}", self.cookie_name.as_deref().unwrap_or_default()),
                        "may not be AWSELB or start with AWSALB, AWSALBAPP or AWSALBTG \
                         (reserved for the load balancer's own cookies)",
                    );
                }
            }
            StickinessKind::Header => check_token_name(
                path.field("header_name"),
                self.header_name.as_deref(),
                errors,
            ),
            _ => {}
        }
        self.cookie.validate(&path.field("cookie"), errors);
    }

    fn validate_duration(&self, path: &FieldPath, origin: crate::Origin, errors: &mut Errors) {
        let Some(secs) = self.duration_secs else {
            return;
        };
        let classic_lb_cookie =
            self.flavour == CookieFlavour::Classic && self.kind == StickinessKind::LbCookie;
        // Native ranges follow the Huawei ELB table (cookies and headers 1–1440 minutes, source
        // IP 1–60); the AWS APIs keep their own (Classic CookieExpirationPeriod ≥ 0, ALB
        // 1–604800 s). A Classic LB cookie may be 0 either way: a browser-session cookie.
        let (valid, text) = match (self.kind, origin) {
            (StickinessKind::SourceIp, _) => (
                (60..=3600).contains(&secs),
                "between 60 and 3600 seconds (1–60 minutes)",
            ),
            (_, crate::Origin::File) if classic_lb_cookie => (
                secs == 0 || (60..=86_400).contains(&secs),
                "0 (a browser-session cookie) or between 60 and 86400 seconds (1–1440 minutes)",
            ),
            (_, crate::Origin::File) => (
                (60..=86_400).contains(&secs),
                "between 60 and 86400 seconds (1–1440 minutes)",
            ),
            (_, crate::Origin::Api) if classic_lb_cookie => (true, "0 or more seconds"),
            (_, crate::Origin::Api) => (
                (1..=MAX_AWS_STICKINESS_SECS).contains(&secs),
                "between 1 and 604800 seconds",
            ),
        };
        if !valid {
            errors.push(path.field("duration_secs"), secs, format!("must be {text}"));
        }
    }
}

fn kind_name(kind: StickinessKind) -> &'static str {
    match kind {
        StickinessKind::None => "none",
        StickinessKind::LbCookie => "lb_cookie",
        StickinessKind::AppCookie => "app_cookie",
        StickinessKind::Header => "header",
        StickinessKind::SourceIp => "source_ip",
    }
}

/// Cookie and header names are HTTP tokens (RFC 9110 `tchar`).
fn check_token_name(path: FieldPath, name: Option<&str>, errors: &mut Errors) {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    match name {
        None => errors.push(path, "(missing)", "is required for this stickiness type"),
        Some(n) if n.is_empty() || n.len() > 128 || !n.bytes().all(is_tchar) => errors.push(
            path,
            format!("{n:?}"),
            "must be 1 to 128 characters of letters, digits and !#$%&'*+-.^_`|~",
        ),
        Some(_) => {}
    }
}

/// What sticky sessions bound to a draining target do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DrainMode {
    /// Keep reaching the target until the drain deadline (the AWS behaviour).
    #[default]
    Honour,
    /// Move to another target at once.
    Reroute,
}

/// What happens to a target after it is removed (or set to weight 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Draining {
    /// How long a deregistered target keeps serving its sessions (ALB
    /// `deregistration_delay.timeout_seconds`), 0–3600, default 300; 0 removes it at once.
    pub deregistration_delay_secs: u32,
    /// What sticky sessions on a draining target do.
    pub mode: DrainMode,
}

impl Default for Draining {
    fn default() -> Self {
        Self {
            deregistration_delay_secs: 300,
            mode: DrainMode::default(),
        }
    }
}

/// Timeouts and retries towards the targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamTimeouts {
    /// Establishing a TCP connection to a target, 1–60000 ms, default 5000.
    pub connect_timeout_ms: u32,
    /// From sending the request to receiving the response head, 1–3600 s, default 60 (the
    /// Classic ELB idle timeout); past it the client gets 504.
    pub response_timeout_secs: u32,
    /// Other targets tried after a connect failure, 0–10, default 2.
    pub retries: u32,
    /// Begin every connection to a target with a PROXY protocol header naming the client
    /// (Classic ELB `ProxyProtocolPolicyType`, NLB `proxy_protocol_v2.enabled`), so the target
    /// learns the client's address.
    pub proxy_protocol: bool,
    /// Which PROXY protocol version `proxy_protocol` sends: 1 (the text line, Classic ELB's) or
    /// 2 (the binary header, NLB's); absent means 1, which is what configurations and stored
    /// states written before version 2 existed mean. Ignored while `proxy_protocol` is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_protocol_version: Option<u8>,
    /// TLVs (type-length-value fields) appended to the version 2 header, by name, each at most
    /// once: any of [`PROXY_PROTOCOL_TLVS`]. Refused unless `proxy_protocol_version` is 2 (the
    /// text line has no room for them). Read with [`UpstreamTimeouts::proxy_tlvs`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_protocol_tlvs: Vec<String>,
}

/// The names `upstream.proxy_protocol_tlvs` accepts, with the PROXY protocol v2 type each
/// sends: `authority` (0x02, the TLS server name the client asked for), `unique_id` (0x05, an id
/// unique to the connection), `ssl` (0x20, how the client's TLS was terminated, with the
/// version and cipher sub-TLVs) and `crc32c` (0x03, a checksum over the whole header).
pub const PROXY_PROTOCOL_TLVS: [&str; 4] = ["authority", "unique_id", "ssl", "crc32c"];

/// Which TLVs a pool's PROXY v2 header carries (see [`PROXY_PROTOCOL_TLVS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyTlvs {
    pub authority: bool,
    pub unique_id: bool,
    pub ssl: bool,
    pub crc32c: bool,
}

impl ProxyTlvs {
    /// True when the header carries no TLV at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl UpstreamTimeouts {
    /// The PROXY protocol version to send, if any.
    pub fn proxy_protocol_version(&self) -> Option<u8> {
        self.proxy_protocol
            .then(|| self.proxy_protocol_version.unwrap_or(1))
    }

    /// The TLVs the version 2 header carries; none unless version 2 is sent. Unknown names
    /// (refused by validation) are skipped.
    pub fn proxy_tlvs(&self) -> ProxyTlvs {
        let mut tlvs = ProxyTlvs::default();
        if self.proxy_protocol_version() != Some(2) {
            return tlvs;
        }
        for name in &self.proxy_protocol_tlvs {
            match name.as_str() {
                "authority" => tlvs.authority = true,
                "unique_id" => tlvs.unique_id = true,
                "ssl" => tlvs.ssl = true,
                "crc32c" => tlvs.crc32c = true,
                _ => {}
            }
        }
        tlvs
    }

    fn validate_proxy_tlvs(&self, up: &FieldPath, errors: &mut Errors) {
        let field = up.field("proxy_protocol_tlvs");
        for (i, name) in self.proxy_protocol_tlvs.iter().enumerate() {
            if !PROXY_PROTOCOL_TLVS.contains(&name.as_str()) {
                errors.push(
                    field.clone(),
                    format!("{name:?}"),
                    format!("must be one of {}", PROXY_PROTOCOL_TLVS.join(", ")),
                );
            } else if self.proxy_protocol_tlvs[..i].contains(name) {
                errors.push(
                    field.clone(),
                    format!("{name:?}"),
                    "each TLV may be named once",
                );
            }
        }
        // Kept while proxy_protocol is off, as the version is; what they need is version 2.
        if !self.proxy_protocol_tlvs.is_empty() && self.proxy_protocol_version != Some(2) {
            errors.push(
                field,
                format!("{} TLVs", self.proxy_protocol_tlvs.len()),
                "only a version 2 header carries TLVs: set proxy_protocol_version = 2",
            );
        }
    }
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 5000,
            response_timeout_secs: 60,
            retries: 2,
            proxy_protocol: false,
            proxy_protocol_version: None,
            proxy_protocol_tlvs: Vec::new(),
        }
    }
}

/// The targets one or more listeners forward to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: String,
    #[serde(default)]
    pub algorithm: Algorithm,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub health_check: HealthCheck,
    #[serde(default)]
    pub stickiness: Stickiness,
    #[serde(default)]
    pub draining: Draining,
    #[serde(default)]
    pub upstream: UpstreamTimeouts,
    /// Slow start (ALB `slow_start.duration_seconds`): a target entering service — newly
    /// registered, or healthy again after being unhealthy — receives a share of new sessions
    /// that ramps linearly from nothing to its full weight over this many seconds. 0 (off) or
    /// 30–900; round_robin and weighted_round_robin pools only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slow_start_secs: u32,
    /// Route to every target when too few are healthy (ALB/NLB fail-open); absent: never
    /// (Classic ELB, and pools that do not ask for it, answer 503 when none is healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<crate::FailOpen>,
    /// What an ELBv2 target group carries besides the pool's settings (present on pools made
    /// by `CreateTargetGroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<crate::elbv2::TargetGroup>,
    /// Which front door declared this pool (kept by the store, not written in files).
    #[serde(skip)]
    pub origin: crate::Origin,
    /// Targets removed from this pool that still serve their sticky sessions until their
    /// deadline (kept by the store, not written in files; see [`State::settle_drains`]).
    ///
    /// [`State::settle_drains`]: crate::State::settle_drains
    #[serde(skip)]
    pub draining_targets: Vec<crate::DrainingTarget>,
}

impl Pool {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            algorithm: Algorithm::default(),
            targets: Vec::new(),
            health_check: HealthCheck::default(),
            stickiness: Stickiness::default(),
            draining: Draining::default(),
            upstream: UpstreamTimeouts::default(),
            slow_start_secs: 0,
            fail_open: None,
            target_group: None,
            origin: crate::Origin::default(),
            draining_targets: Vec::new(),
        }
    }

    pub fn id(&self) -> PoolId {
        PoolId::of(&self.name)
    }

    pub fn target_id(&self, address: &TargetAddress) -> TargetId {
        TargetId::of(&self.name, address)
    }

    pub(crate) fn validate_into(&self, path: &FieldPath, errors: &mut Errors) {
        if let Err(e) = crate::name::validate_pool_name(path.field("name"), &self.name) {
            errors.0.push(e);
        }
        let mut seen = HashSet::new();
        for (i, target) in self.targets.iter().enumerate() {
            let tpath = path.field("targets").index(i);
            errors.range(tpath.field("weight"), target.weight, 0, MAX_WEIGHT, "");
            if !seen.insert(&target.address) {
                errors.push(
                    tpath.field("address"),
                    format!("{:?}", target.address.to_string()),
                    "is listed twice in this pool; each target address may appear once",
                );
            }
        }
        let max_timeout = if self.target_group.is_some() {
            TARGET_GROUP_MAX_TIMEOUT_SECS
        } else {
            CLASSIC_MAX_TIMEOUT_SECS
        };
        self.health_check
            .validate(&path.field("health_check"), max_timeout, errors);
        self.stickiness.validate(
            &path.field("stickiness"),
            self.algorithm,
            self.origin,
            errors,
        );
        errors.range(
            path.field("draining").field("deregistration_delay_secs"),
            self.draining.deregistration_delay_secs,
            0,
            3600,
            "seconds",
        );
        let up = path.field("upstream");
        errors.range(
            up.field("connect_timeout_ms"),
            self.upstream.connect_timeout_ms,
            1,
            60_000,
            "milliseconds",
        );
        errors.range(
            up.field("response_timeout_secs"),
            self.upstream.response_timeout_secs,
            1,
            3600,
            "seconds",
        );
        errors.range(up.field("retries"), self.upstream.retries, 0, 10, "");
        // Kept while proxy_protocol is off (a Classic policy change may turn it off), so only
        // the value itself is checked.
        if let Some(version) = self.upstream.proxy_protocol_version
            && !(1..=2).contains(&version)
        {
            errors.push(
                up.field("proxy_protocol_version"),
                version,
                "must be 1 (the text line) or 2 (the binary header)",
            );
        }
        self.upstream.validate_proxy_tlvs(&up, errors);
        self.validate_slow_start(path, errors);
        if let Some(rule) = &self.fail_open {
            rule.validate(&path.field("fail_open"), errors);
        }
    }

    fn validate_slow_start(&self, path: &FieldPath, errors: &mut Errors) {
        let secs = self.slow_start_secs;
        if secs == 0 {
            return;
        }
        let (lo, hi) = SLOW_START_SECS;
        if !(lo..=hi).contains(&secs) {
            errors.push(
                path.field("slow_start_secs"),
                secs,
                format!("must be 0 (off) or between {lo} and {hi} seconds"),
            );
        }
        // ALB refuses slow start with least_outstanding_requests and weighted_random; burr's
        // other load-based algorithms would send a fresh, idle target everything, and hashing
        // places keys without the algorithm, so the ramp is defined for rotations only.
        if !matches!(
            self.algorithm,
            Algorithm::RoundRobin | Algorithm::WeightedRoundRobin
        ) {
            errors.push(
                path.field("slow_start_secs"),
                secs,
                format!(
                    "slow start needs algorithm round_robin or weighted_round_robin (this pool \
                     uses {}); set it to 0 or change the algorithm",
                    self.algorithm
                ),
            );
        }
        if matches!(
            self.stickiness.kind,
            StickinessKind::Header | StickinessKind::SourceIp
        ) {
            errors.push(
                path.field("slow_start_secs"),
                secs,
                format!(
                    "slow start cannot be combined with {} stickiness, which places sessions by \
                     hashing rather than by the algorithm; set it to 0 or use lb_cookie or \
                     app_cookie stickiness",
                    kind_name(self.stickiness.kind)
                ),
            );
        }
    }
}

/// Bounds of a pool's `slow_start_secs` when on (ALB's 30–900 seconds).
pub const SLOW_START_SECS: (u32, u32) = (30, 900);

fn is_zero(n: &u32) -> bool {
    *n == 0
}
