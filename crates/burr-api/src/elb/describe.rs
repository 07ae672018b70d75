//! The actions that read: balancers, instance health, policies and their types, attributes,
//! tags and limits, written in the shapes of the 2012-06-01 model.

use super::write_instances;
use crate::control::{ControlPlane, TargetHealth};
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::classic::{
    self, MAX_INSTANCES, MAX_LISTENERS, MAX_LOAD_BALANCERS, NamedPolicy, POLICY_TYPES,
    PlacementList,
};
use burr_model::{Balancer, State, region};

/// Largest page of `DescribeLoadBalancers` and `DescribeAccountLimits`.
const MAX_PAGE_SIZE: i64 = 400;
/// Most balancers one `DescribeTags` may name.
const MAX_TAGGED_NAMES: usize = 20;

/// What reaches a balancer: its own address, else the `--listen-host` address, else `localhost`
/// (it listens on every address).
pub fn dns_name(c: &dyn ControlPlane, balancer: &Balancer) -> String {
    match balancer.address.or(c.listen_host()) {
        Some(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => "localhost".to_string(),
    }
}

fn page_size(p: &Params) -> Result<usize, ApiError> {
    let size = p.int("PageSize")?.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::invalid(format!(
            "PageSize: {size} is not allowed: must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    Ok(size as usize)
}

pub fn load_balancers(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let size = page_size(p)?;
    let wanted = super::balancer_keys(c, p)?;
    let mut chosen: Vec<&Balancer> = Vec::new();
    if wanted.is_empty() {
        // Application and network load balancers belong to the 2015-12-01 API.
        chosen.extend(
            state
                .balancers
                .values()
                .filter(|b| c.owns(&b.name) && b.aws.elbv2.is_none()),
        );
    } else {
        for name in &wanted {
            let b = classic::balancer(&state, name)?;
            if !chosen.iter().any(|c| c.name == b.name) {
                chosen.push(b);
            }
        }
    }
    // The marker is the name of the first balancer of the next page, so pages go by name.
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    let start = match p.get("Marker").filter(|m| !m.is_empty()) {
        Some(marker) => chosen
            .iter()
            .position(|b| region::local_name(&b.name) >= marker)
            .unwrap_or(chosen.len()),
        None => 0,
    };
    let page: Vec<&Balancer> = chosen.iter().skip(start).take(size).copied().collect();
    xml.members("LoadBalancerDescriptions", &page, |x, b| {
        write_description(x, c, b, &state);
    });
    if let Some(next) = chosen.get(start + size) {
        xml.text("NextMarker", region::local_name(&next.name));
    }
    Ok(())
}

fn write_description(x: &mut Xml, c: &dyn ControlPlane, b: &Balancer, state: &State) {
    let dns = dns_name(c, b);
    x.text("LoadBalancerName", region::local_name(&b.name));
    x.text("DNSName", &dns);
    x.text("CanonicalHostedZoneName", &dns);
    x.text("CanonicalHostedZoneNameID", "BURR");
    x.members("ListenerDescriptions", &b.listeners, |x, l| {
        x.element("Listener", |x| {
            x.text("Protocol", &l.protocol.as_str().to_ascii_uppercase());
            x.text("LoadBalancerPort", &l.port.to_string());
            x.text(
                "InstanceProtocol",
                &l.target_protocol().as_str().to_ascii_uppercase(),
            );
            x.text("InstancePort", &instance_port(l, state).to_string());
            if let Some(arn) = &l.certificate {
                x.text("SSLCertificateId", arn);
            } else if let Some(tls) = &l.tls {
                x.text("SSLCertificateId", &tls.certificate.display().to_string());
            }
        });
        x.string_members("PolicyNames", &l.policies);
    });
    x.element("Policies", |x| {
        let of_type = |t: &str| -> Vec<&NamedPolicy> {
            b.aws.policies.iter().filter(|p| p.type_name == t).collect()
        };
        x.members(
            "AppCookieStickinessPolicies",
            &of_type("AppCookieStickinessPolicyType"),
            |x, p| {
                x.text("PolicyName", &p.name);
                x.text("CookieName", p.attribute("CookieName").unwrap_or_default());
            },
        );
        x.members(
            "LBCookieStickinessPolicies",
            &of_type("LBCookieStickinessPolicyType"),
            |x, p| {
                x.text("PolicyName", &p.name);
                if let Some(period) = p.attribute("CookieExpirationPeriod") {
                    x.text("CookieExpirationPeriod", period);
                }
            },
        );
        let others: Vec<String> = b
            .aws
            .policies
            .iter()
            .filter(|p| !p.type_name.ends_with("CookieStickinessPolicyType"))
            .map(|p| p.name.clone())
            .collect();
        x.string_members("OtherPolicies", &others);
    });
    x.members(
        "BackendServerDescriptions",
        &b.aws.backend_policies,
        |x, bp| {
            x.text("InstancePort", &bp.instance_port.to_string());
            x.string_members("PolicyNames", &bp.policies);
        },
    );
    super::placement::write_list(x, b, PlacementList::AvailabilityZones);
    super::placement::write_list(x, b, PlacementList::Subnets);
    write_instances(x, &classic::instances_of(b, state));
    write_health_check(x, b, state);
    x.element("SourceSecurityGroup", |x| {
        x.text("OwnerAlias", "burr");
        x.text("GroupName", "default");
    });
    super::placement::write_list(x, b, PlacementList::SecurityGroups);
    x.text("CreatedTime", &crate::xml::timestamp(b.aws.created_at));
    x.text(
        "Scheme",
        b.aws.scheme.as_deref().unwrap_or("internet-facing"),
    );
}

/// The listener's instance port, or for a listener declared without one, its first target's.
fn instance_port(l: &burr_model::Listener, state: &State) -> u16 {
    l.instance_port
        .or_else(|| {
            state
                .pools
                .get(&l.pool)
                .and_then(|p| p.targets.first())
                .map(|t| t.address.port())
        })
        .unwrap_or(l.port)
}

/// The balancer's `HealthCheck`.
pub fn write_health_check(x: &mut Xml, b: &Balancer, state: &State) {
    let check = classic::settings(state, b).health_check;
    let port = b.listeners.first().map_or(80, |l| instance_port(l, state));
    x.element("HealthCheck", |x| {
        x.text("Target", &classic::health_check_target(&check, port));
        x.text("Interval", &check.interval_secs.to_string());
        x.text("Timeout", &check.timeout_secs.to_string());
        x.text("UnhealthyThreshold", &check.unhealthy_threshold.to_string());
        x.text("HealthyThreshold", &check.healthy_threshold.to_string());
    });
}

/// What `DescribeInstanceHealth` says of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
enum InstanceState {
    /// Registered: the worst health of its targets.
    Registered(TargetHealth),
    /// Deregistered and still draining somewhere.
    Deregistering,
    /// Not registered (asked for by name).
    NotRegistered,
}

pub fn instance_health(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let b = classic::balancer(&state, &super::required_balancer(c, p)?)?;
    let asked = super::instance_ids(p)?;
    // Instances asked for by name are reported even when not registered, as on AWS.
    let ids = if asked.is_empty() {
        classic::instances_of(b, &state)
    } else {
        asked
    };
    let mut states = Vec::with_capacity(ids.len());
    for id in ids {
        let targets = classic::instance_targets(&state, b, &id)?;
        states.push((id, standing(c, &targets)));
    }
    xml.members("InstanceStates", &states, |x, (id, standing)| {
        let (state, reason, description) = match standing {
            InstanceState::Registered(TargetHealth::Healthy) => ("InService", "N/A", "N/A"),
            InstanceState::Registered(TargetHealth::Unhealthy(_)) => (
                "OutOfService",
                "Instance",
                "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.",
            ),
            InstanceState::Registered(TargetHealth::Unknown) => {
                ("Unknown", "ELB", "Instance registration is still in progress.")
            }
            InstanceState::Registered(TargetHealth::Draining) | InstanceState::Deregistering => (
                "OutOfService",
                "ELB",
                "Instance deregistration currently in progress.",
            ),
            InstanceState::NotRegistered => (
                "OutOfService",
                "N/A",
                "Instance is not currently registered with the LoadBalancer.",
            ),
        };
        x.text("InstanceId", id);
        x.text("State", state);
        x.text("ReasonCode", reason);
        x.text("Description", description);
    });
    Ok(())
}

/// An instance's standing from its targets: the worst health of those registered; else
/// draining if any still drains; else not registered.
fn standing(
    c: &dyn ControlPlane,
    targets: &[(String, burr_model::TargetAddress, bool)],
) -> InstanceState {
    let mut worst = None;
    for (pool, target, _) in targets.iter().filter(|(_, _, registered)| *registered) {
        let health = c.health(pool, target);
        worst = Some(match (worst.unwrap_or(TargetHealth::Healthy), health) {
            (h @ TargetHealth::Unhealthy(_), _) | (_, h @ TargetHealth::Unhealthy(_)) => h,
            (TargetHealth::Draining, _) | (_, TargetHealth::Draining) => TargetHealth::Draining,
            (TargetHealth::Unknown, _) | (_, TargetHealth::Unknown) => TargetHealth::Unknown,
            _ => TargetHealth::Healthy,
        });
    }
    match worst {
        Some(health) => InstanceState::Registered(health),
        None if targets
            .iter()
            .any(|(pool, target, _)| c.health(pool, target) == TargetHealth::Draining) =>
        {
            InstanceState::Deregistering
        }
        None => InstanceState::NotRegistered,
    }
}

pub fn policies(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let all = match p.get("LoadBalancerName") {
        Some(name) => {
            let key = super::balancer_key(c, "LoadBalancerName", name)?;
            classic::balancer(&state, &key)?.aws.policies.clone()
        }
        None => classic::sample_policies(),
    };
    let wanted = p.list("PolicyNames");
    let mut chosen = Vec::new();
    if wanted.is_empty() {
        chosen = all;
    } else {
        for name in &wanted {
            let policy = all.iter().find(|p| &p.name == name).ok_or_else(|| {
                ApiError::new(
                    "PolicyNotFound",
                    400,
                    format!("There is no policy named {name:?}"),
                )
            })?;
            chosen.push(policy.clone());
        }
    }
    xml.members("PolicyDescriptions", &chosen, |x, policy| {
        x.text("PolicyName", &policy.name);
        x.text("PolicyTypeName", &policy.type_name);
        x.members(
            "PolicyAttributeDescriptions",
            &policy.attributes,
            |x, (n, v)| {
                x.text("AttributeName", n);
                x.text("AttributeValue", v);
            },
        );
    });
    Ok(())
}

pub fn policy_types(_: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let wanted = p.list("PolicyTypeNames");
    let mut chosen = Vec::new();
    if wanted.is_empty() {
        chosen.extend(POLICY_TYPES.iter());
    } else {
        for name in &wanted {
            chosen.push(
                POLICY_TYPES
                    .iter()
                    .find(|t| t.name == name)
                    .ok_or_else(|| {
                        ApiError::new(
                            "PolicyTypeNotFound",
                            400,
                            format!("PolicyTypeNames: {name:?} is not a policy type"),
                        )
                    })?,
            );
        }
    }
    xml.members("PolicyTypeDescriptions", &chosen, |x, t| {
        x.text("PolicyTypeName", t.name);
        x.text("Description", t.description);
        x.members("PolicyAttributeTypeDescriptions", t.attributes, |x, a| {
            x.text("AttributeName", a.name);
            x.text("AttributeType", a.kind.as_str());
            x.text("Description", a.description);
            if let Some(d) = a.default {
                x.text("DefaultValue", d);
            }
            x.text("Cardinality", a.cardinality.as_str());
        });
    });
    Ok(())
}

pub fn attributes(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let b = classic::balancer(&state, &super::required_balancer(c, p)?)?;
    write_attributes(xml, &state, b, AttributeSelection::ALL);
    Ok(())
}

/// Which attribute groups an answer holds: all of them for a description; those the request
/// set for `ModifyLoadBalancerAttributes`, as AWS answers.
#[derive(Debug, Clone, Copy)]
pub struct AttributeSelection {
    pub cross_zone: bool,
    pub access_log: bool,
    pub connection_draining: bool,
    pub connection_settings: bool,
    pub additional: bool,
}

impl AttributeSelection {
    pub const ALL: Self = Self {
        cross_zone: true,
        access_log: true,
        connection_draining: true,
        connection_settings: true,
        additional: true,
    };
}

/// `LoadBalancerAttributes`, the selected groups.
pub fn write_attributes(x: &mut Xml, state: &State, b: &Balancer, only: AttributeSelection) {
    let a = classic::attributes(state, b);
    x.element("LoadBalancerAttributes", |x| {
        if only.cross_zone {
            x.element("CrossZoneLoadBalancing", |x| {
                x.text("Enabled", &a.cross_zone.to_string())
            });
        }
        if only.access_log {
            x.element("AccessLog", |x| {
                x.text("Enabled", &a.access_log.enabled.to_string());
                if let Some(bucket) = &a.access_log.s3_bucket_name {
                    x.text("S3BucketName", bucket);
                }
                if let Some(minutes) = a.access_log.emit_interval {
                    x.text("EmitInterval", &minutes.to_string());
                }
                if let Some(prefix) = &a.access_log.s3_bucket_prefix {
                    x.text("S3BucketPrefix", prefix);
                }
            });
        }
        if only.connection_draining {
            x.element("ConnectionDraining", |x| {
                x.text("Enabled", &a.draining_enabled.to_string());
                x.text("Timeout", &a.draining_timeout.to_string());
            });
        }
        if only.connection_settings {
            x.element("ConnectionSettings", |x| {
                x.text("IdleTimeout", &a.idle_timeout.to_string())
            });
        }
        if only.additional {
            x.members("AdditionalAttributes", &a.additional, |x, (k, v)| {
                x.text("Key", k);
                x.text("Value", v);
            });
        }
    });
}

pub fn tags(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let names = super::balancer_keys(c, p)?;
    if names.is_empty() {
        return Err(ApiError::missing("LoadBalancerNames"));
    }
    if names.len() > MAX_TAGGED_NAMES {
        return Err(ApiError::invalid(format!(
            "LoadBalancerNames: {} names are not allowed: at most {MAX_TAGGED_NAMES}",
            names.len()
        )));
    }
    let mut found = Vec::new();
    for name in &names {
        found.push(classic::balancer(&state, name)?);
    }
    xml.members("TagDescriptions", &found, |x, b| {
        x.text("LoadBalancerName", region::local_name(&b.name));
        let tags: Vec<(&String, &String)> = b.aws.tags.iter().collect();
        x.members("Tags", &tags, |x, (k, v)| {
            x.text("Key", k);
            x.text("Value", v);
        });
    });
    Ok(())
}

pub fn account_limits(_: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    page_size(p)?;
    let limits = [
        ("classic-load-balancers", MAX_LOAD_BALANCERS),
        ("classic-listeners", MAX_LISTENERS),
        ("classic-registered-instances", MAX_INSTANCES),
    ];
    xml.members("Limits", &limits, |x, (name, max)| {
        x.text("Name", name);
        x.text("Max", &max.to_string());
    });
    Ok(())
}
