//! What the data plane serves for the state's distributions: each enabled distribution that is
//! not a staging one becomes a balancer on its own address (port `ports.http`, and `ports.https`
//! when it has a viewer certificate) whose listeners route by the cache behaviours to pools made
//! from the origins; each primary whose continuous-deployment policy is enabled gets a
//! [`Split`] naming the staging distribution's front end (built alike, never bound) as its
//! second arm.
//!
//! Names: the balancer is `cloudfront-<id>`; origin `n` (0-based, in `Origins.Items` order)
//! becomes pool `cloudfront-<id>-<n>` when reached over plain HTTP and `cloudfront-<id>-<n>-tls`
//! when reached over TLS (a `match-viewer` origin may be both). Cache behaviours become routing
//! rules with priorities 1, 2, … in their order, each with one path-pattern condition; the
//! default cache behaviour is the listener's default action. On the http listener
//! `redirect-to-https` redirects (301) to the https port and `https-only` answers 403.
//! Health checks are off: CloudFront has none. With `CloudFrontDefaultCertificate` (or no
//! `ViewerCertificate`) burr serves HTTP only.

use super::{CfError, CfErrorCode, DeploymentPolicy, Distribution, FrontEndPorts, Node};
use crate::certificates::Source;
use crate::error::{Errors, FieldPath, PathSegment};
use crate::routing::{Action, Condition, FixedResponse, Redirect, RedirectStatus, Rule};
use crate::{Balancer, Listener, Pool, Protocol, State, Target, TargetAddress};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

/// The front end of a staging distribution behind a primary, and the policy that splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The name of the primary's front-end balancer (in [`FrontEnds::balancers`]).
    pub primary: String,
    /// The staging distribution's front end: never bound; its listener on a port is the
    /// staging arm of the primary's listener on that port.
    pub staging: Balancer,
    pub policy: DeploymentPolicy,
}

/// Everything the state's distributions make.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrontEnds {
    /// The balancers to bind.
    pub balancers: Vec<Balancer>,
    /// The pools their listeners (and the staging arms') forward to.
    pub pools: Vec<Pool>,
    pub splits: Vec<Split>,
}

/// The name of a distribution's front-end balancer.
pub fn balancer_name(distribution_id: &str) -> String {
    format!("cloudfront-{distribution_id}")
}

/// The front ends of every distribution in `state`. A distribution burr cannot serve is left
/// out (the operations and [`State::validate`] refuse such configs, so only a state that failed
/// validation has one).
pub fn front_ends(state: &State) -> FrontEnds {
    let mut out = FrontEnds::default();
    for dist in state.distributions.values() {
        if !dist.enabled() || dist.is_staging() {
            continue;
        }
        let https = viewer_certificate(state, dist).ok().flatten();
        let Ok((balancer, pools)) = build(dist, dist.address, dist.ports, https.as_deref()) else {
            continue;
        };
        let primary = balancer.name.clone();
        out.balancers.push(balancer);
        out.pools.extend(pools);
        let Some(policy) = split_policy(state, dist) else {
            continue;
        };
        let Some(staging) = staging_of(state, policy) else {
            continue;
        };
        // The staging arm answers on the primary's listeners: the primary's address, ports and
        // certificate (TLS is over before the arm is chosen).
        if let Ok((balancer, pools)) = build(staging, dist.address, dist.ports, https.as_deref()) {
            out.pools.extend(pools);
            out.splits.push(Split {
                primary,
                staging: balancer,
                policy: policy.clone(),
            });
        }
    }
    out
}

/// The policy of a primary that splits traffic now: it exists, is enabled and has traffic.
fn split_policy<'s>(state: &'s State, primary: &Distribution) -> Option<&'s DeploymentPolicy> {
    primary
        .policy_id()
        .and_then(|id| state.deployment_policies.get(id))
        .filter(|p| p.enabled && p.traffic.is_some())
}

/// The staging distribution a policy names.
pub fn staging_of<'s>(state: &'s State, policy: &DeploymentPolicy) -> Option<&'s Distribution> {
    state
        .distributions
        .values()
        .find(|d| d.is_staging() && policy.names_staging(&d.domain_name))
}

/// Refuses a distribution config burr cannot serve, before it is stored: the front end must
/// build and pass the rules every balancer and pool obeys.
pub fn check_front_end(state: &State, dist: &Distribution) -> Result<(), CfError> {
    let https = viewer_certificate(state, dist)?;
    let (balancer, pools) = build(dist, dist.address, dist.ports, https.as_deref())?;
    let mut errors = Errors::default();
    balancer.validate_into(&mut errors);
    for pool in &pools {
        pool.validate_into(
            &FieldPath::root().with(PathSegment::Pool(pool.name.clone())),
            &mut errors,
        );
    }
    if errors.0.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = errors
        .0
        .iter()
        .map(|e| in_terms_of_behaviours(&dist.config, e))
        .collect();
    Err(CfError::invalid(text.join("; ")))
}

/// A front-end validation error in CloudFront's terms: one about routing rule `i` is about
/// cache behaviour `i` and its path pattern.
fn in_terms_of_behaviours(config: &Node, error: &crate::ValidationError) -> String {
    let rule = error.path.0.windows(2).find_map(|pair| match pair {
        [PathSegment::Field("rule"), PathSegment::Index(i)] => Some(*i),
        _ => None,
    });
    let behaviours = config.items_at(&["CacheBehaviors", "Items"]);
    match rule.and_then(|i| Some((i, behaviours.get(i)?.text_at(&["PathPattern"])?))) {
        Some((i, pattern)) => format!(
            "CacheBehaviors.Items[{i}].PathPattern: {pattern:?} is not allowed: {} ({}; burr \
             routes cache behaviours with listener rules)",
            error.rule, error.value
        ),
        None => format!("burr cannot serve this distribution: {error}"),
    }
}

/// The ARN of the certificate the https listener serves, if the distribution has one of its
/// own (`ACMCertificateArn` or `IAMCertificateId`); `InvalidViewerCertificate` when it names a
/// certificate burr does not hold.
pub fn viewer_certificate(state: &State, dist: &Distribution) -> Result<Option<String>, CfError> {
    let Some(viewer) = dist.config.get("ViewerCertificate") else {
        return Ok(None);
    };
    let bad = |member: &str, value: &str, why: &str| {
        CfError::new(
            CfErrorCode::InvalidViewerCertificate,
            format!("ViewerCertificate.{member}: {value:?} is not allowed: {why}"),
        )
    };
    if let Some(arn) = viewer
        .text_at(&["ACMCertificateArn"])
        .filter(|a| !a.is_empty())
    {
        let Some(certificate) = state.certificates.get(arn) else {
            return Err(bad(
                "ACMCertificateArn",
                arn,
                "names no certificate burr holds (import or request it with ACM)",
            ));
        };
        if certificate.region() != Some(crate::region::HOME_REGION) {
            return Err(bad(
                "ACMCertificateArn",
                arn,
                "CloudFront uses ACM certificates of us-east-1 only",
            ));
        }
        return Ok(Some(arn.to_string()));
    }
    if let Some(id) = viewer
        .text_at(&["IAMCertificateId"])
        .filter(|a| !a.is_empty())
    {
        return state
            .certificates
            .values()
            .find(|c| matches!(&c.source, Source::Iam { id: i, .. } if i == id))
            .map(|c| Some(c.arn.clone()))
            .ok_or_else(|| {
                bad(
                    "IAMCertificateId",
                    id,
                    "names no IAM server certificate burr holds (upload it with IAM)",
                )
            });
    }
    Ok(None)
}

/// How an origin is reached.
#[derive(Debug, Clone, Copy)]
enum Upstream {
    Plain(u16),
    Tls(u16),
    /// The viewer's protocol: `HTTPPort` behind http, `HTTPSPort` behind https.
    MatchViewer {
        http: u16,
        https: u16,
    },
}

struct Origin {
    id: String,
    host: String,
    upstream: Upstream,
    connect_ms: Option<u32>,
    read_secs: Option<u32>,
}

fn invalid(member: &str, value: &str, why: &str) -> CfError {
    CfError::invalid(format!("{member}: {value:?} is not allowed: {why}"))
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    node: &Node,
    path: &[&str],
    member: &str,
    (lo, hi): (T, T),
    unit: &str,
) -> Result<Option<T>, CfError> {
    let Some(text) = node.text_at(path) else {
        return Ok(None);
    };
    text.parse::<T>()
        .ok()
        .filter(|v| *v >= lo && *v <= hi)
        .map(Some)
        .ok_or_else(|| {
            invalid(
                member,
                text,
                &format!("must be between {lo} and {hi}{unit}"),
            )
        })
}

fn read_origins(config: &Node) -> Result<Vec<Origin>, CfError> {
    let items = config.items_at(&["Origins", "Items"]);
    if let Some(origins) = config.get("Origins") {
        super::ops::check_quantity_of(origins, "Origins", items.len())?;
    }
    if items.is_empty() {
        return Err(invalid(
            "Origins.Items",
            "(empty)",
            "a distribution needs at least one origin",
        ));
    }
    let mut out: Vec<Origin> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let member = |m: &str| format!("Origins.Items[{n}].{m}");
        let id = item.text_at(&["Id"]).unwrap_or("").to_string();
        if id.is_empty() || out.iter().any(|o| o.id == id) {
            return Err(invalid(
                &member("Id"),
                &id,
                "must be a unique, non-empty origin id",
            ));
        }
        let host = item.text_at(&["DomainName"]).unwrap_or("").to_string();
        if host.is_empty() || host.contains(['/', ' ', ':']) && host.parse::<Ipv6Addr>().is_err() {
            return Err(CfError::new(
                CfErrorCode::InvalidOrigin,
                format!(
                    "{}: {host:?} is not a host name or address",
                    member("DomainName")
                ),
            ));
        }
        let upstream = if let Some(custom) = item.get("CustomOriginConfig") {
            let port = |m: &str| -> Result<u16, CfError> {
                number(
                    custom,
                    &[m],
                    &member(&format!("CustomOriginConfig.{m}")),
                    (1, 65535),
                    "",
                )?
                .ok_or_else(|| {
                    invalid(
                        &member(&format!("CustomOriginConfig.{m}")),
                        "",
                        "is required",
                    )
                })
            };
            let (http, https) = (port("HTTPPort")?, port("HTTPSPort")?);
            match custom.text_at(&["OriginProtocolPolicy"]).unwrap_or("") {
                "http-only" => Upstream::Plain(http),
                "https-only" => Upstream::Tls(https),
                "match-viewer" => Upstream::MatchViewer { http, https },
                other => {
                    return Err(invalid(
                        &member("CustomOriginConfig.OriginProtocolPolicy"),
                        other,
                        "must be http-only, match-viewer or https-only",
                    ));
                }
            }
        } else if item.get("S3OriginConfig").is_some() {
            Upstream::Plain(80)
        } else {
            return Err(CfError::new(
                CfErrorCode::InvalidOrigin,
                format!(
                    "{}: an origin needs CustomOriginConfig or S3OriginConfig",
                    member("Id")
                ),
            ));
        };
        let connect_ms = number(
            item,
            &["ConnectionTimeout"],
            &member("ConnectionTimeout"),
            (1u32, 10),
            " seconds",
        )?
        .map(|s| s * 1000);
        let read_secs = number(
            item,
            &["CustomOriginConfig", "OriginReadTimeout"],
            &member("CustomOriginConfig.OriginReadTimeout"),
            (1u32, 180),
            " seconds",
        )?;
        out.push(Origin {
            id,
            host,
            upstream,
            connect_ms,
            read_secs,
        });
    }
    Ok(out)
}

/// A cache behaviour: the path pattern (none for the default), the origin and the viewer
/// protocol policy.
struct Behaviour {
    pattern: Option<String>,
    origin: usize,
    viewer_policy: String,
}

fn read_behaviour(
    node: &Node,
    member: &str,
    origins: &[Origin],
    pattern: Option<String>,
) -> Result<Behaviour, CfError> {
    let target = node.text_at(&["TargetOriginId"]).unwrap_or("");
    let origin = origins.iter().position(|o| o.id == target).ok_or_else(|| {
        CfError::new(
            CfErrorCode::NoSuchOrigin,
            format!("{member}.TargetOriginId: {target:?} names no origin of this distribution"),
        )
    })?;
    let viewer_policy = node.text_at(&["ViewerProtocolPolicy"]).unwrap_or("");
    if !matches!(
        viewer_policy,
        "allow-all" | "https-only" | "redirect-to-https"
    ) {
        return Err(invalid(
            &format!("{member}.ViewerProtocolPolicy"),
            viewer_policy,
            "must be allow-all, https-only or redirect-to-https",
        ));
    }
    Ok(Behaviour {
        pattern,
        origin,
        viewer_policy: viewer_policy.to_string(),
    })
}

fn read_behaviours(config: &Node, origins: &[Origin]) -> Result<Vec<Behaviour>, CfError> {
    let mut out = Vec::new();
    let items = config.items_at(&["CacheBehaviors", "Items"]);
    if let Some(wrapper) = config.get("CacheBehaviors") {
        super::ops::check_quantity_of(wrapper, "CacheBehaviors", items.len())?;
    }
    for (i, item) in items.iter().enumerate() {
        let member = format!("CacheBehaviors.Items[{i}]");
        let pattern = item.text_at(&["PathPattern"]).unwrap_or("");
        if pattern.is_empty() {
            return Err(invalid(
                &format!("{member}.PathPattern"),
                pattern,
                "is required",
            ));
        }
        let pattern = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("/{pattern}")
        };
        out.push(read_behaviour(item, &member, origins, Some(pattern))?);
    }
    let default = config
        .get("DefaultCacheBehavior")
        .ok_or_else(|| invalid("DefaultCacheBehavior", "(missing)", "is required"))?;
    out.push(read_behaviour(
        default,
        "DefaultCacheBehavior",
        origins,
        None,
    )?);
    Ok(out)
}

/// Builds a distribution's front end on `address` and `ports`, with an https listener when
/// `https` names a certificate.
fn build(
    dist: &Distribution,
    address: Option<IpAddr>,
    ports: FrontEndPorts,
    https: Option<&str>,
) -> Result<(Balancer, Vec<Pool>), CfError> {
    let origins = read_origins(&dist.config)?;
    let behaviours = read_behaviours(&dist.config, &origins)?;
    let mut balancer = Balancer::new(balancer_name(&dist.id));
    balancer.address = address;
    balancer.origin = dist.origin;
    let mut pools = BTreeMap::new();
    let mut listeners = vec![(Protocol::Http, ports.http, None)];
    if let Some(arn) = https {
        listeners.push((Protocol::Https, ports.https, Some(arn.to_string())));
    }
    for (protocol, port, certificate) in listeners {
        let mut tls_upstream: Option<(bool, String)> = None;
        let mut actions = Vec::new();
        for b in &behaviours {
            let action = match (protocol, b.viewer_policy.as_str()) {
                (Protocol::Http, "redirect-to-https") => Action::Redirect(Redirect {
                    protocol: Some("HTTPS".into()),
                    host: None,
                    port: Some(ports.https.to_string()),
                    path: None,
                    query: None,
                    status: RedirectStatus::Permanent,
                }),
                (Protocol::Http, "https-only") => Action::FixedResponse(FixedResponse {
                    status: 403,
                    content_type: Some("text/plain".into()),
                    body: Some("This distribution accepts HTTPS requests only.".into()),
                }),
                _ => {
                    let origin = &origins[b.origin];
                    let (tls, port) = match origin.upstream {
                        Upstream::Plain(p) => (false, p),
                        Upstream::Tls(p) => (true, p),
                        Upstream::MatchViewer { http, https } => {
                            if protocol == Protocol::Https {
                                (true, https)
                            } else {
                                (false, http)
                            }
                        }
                    };
                    match &tls_upstream {
                        Some((seen, other)) if *seen != tls => {
                            return Err(CfError::invalid(format!(
                                "burr's limit: the {protocol} listener of a distribution speaks \
                                 one protocol to its origins, but origin {:?} is reached over \
                                 {} and origin {other:?} over {}; use the same \
                                 OriginProtocolPolicy for every origin a viewer protocol reaches",
                                origin.id,
                                if tls { "HTTPS" } else { "HTTP" },
                                if *seen { "HTTPS" } else { "HTTP" },
                            )));
                        }
                        _ => tls_upstream = Some((tls, origin.id.clone())),
                    }
                    let name = format!(
                        "{}-{}{}",
                        balancer.name,
                        b.origin,
                        if tls { "-tls" } else { "" }
                    );
                    pools
                        .entry(name.clone())
                        .or_insert(origin_pool(&name, origin, port, dist)?);
                    Action::forward_to(name)
                }
            };
            actions.push(action);
        }
        let mut listener = Listener::new(port, protocol, "");
        listener.certificate = certificate;
        if matches!(tls_upstream, Some((true, _))) {
            listener.instance_protocol = Some(Protocol::Https);
        }
        listener.default_action = actions.pop();
        listener.rules = behaviours
            .iter()
            .zip(actions)
            .enumerate()
            .map(|(i, (b, action))| Rule {
                priority: i as u32 + 1,
                conditions: vec![Condition::PathPattern(vec![
                    b.pattern.clone().unwrap_or_default(),
                ])],
                action,
                elbv2: None,
            })
            .collect();
        balancer.listeners.push(listener);
    }
    Ok((balancer, pools.into_values().collect()))
}

fn origin_pool(
    name: &str,
    origin: &Origin,
    port: u16,
    dist: &Distribution,
) -> Result<Pool, CfError> {
    let host = if origin.host.parse::<Ipv6Addr>().is_ok() {
        format!("[{}]:{port}", origin.host)
    } else {
        format!("{}:{port}", origin.host)
    };
    let address = TargetAddress::parse(&host, None).map_err(|e| {
        CfError::new(
            CfErrorCode::InvalidOrigin,
            format!("origin {:?}: DomainName {:?}: {e}", origin.id, origin.host),
        )
    })?;
    let mut pool = Pool::new(name);
    pool.targets.push(Target { address, weight: 1 });
    pool.health_check.enabled = false;
    if let Some(ms) = origin.connect_ms {
        pool.upstream.connect_timeout_ms = ms;
    }
    if let Some(secs) = origin.read_secs {
        pool.upstream.response_timeout_secs = secs;
    }
    pool.origin = dist.origin;
    Ok(pool)
}
