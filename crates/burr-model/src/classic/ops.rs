//! The Classic ELB operations as changes to a [`State`]. Each takes the state to change (a copy
//! the store will write only if the operation succeeds), checks its input with the AWS error
//! codes, makes the change, and then runs the model's own validation so that every rule that
//! holds for TOML holds here too.

use super::policy::{self, enables_proxy_protocol, stickiness_policy};
use super::{
    AccessLogSettings, AddressPool, BackendPolicies, ClassicError, Detached, ErrorCode,
    MAX_INSTANCES, MAX_LISTENERS, MAX_LOAD_BALANCERS, MAX_POLICIES, MAX_TAGS, NamedPolicy,
    check_instance, instances_of, target_for_instance,
};
use crate::{
    Algorithm, Balancer, Listener, Origin, Pool, Protocol, State, Stickiness, Target, TlsFiles,
    ValidationError,
};
use std::net::IpAddr;
use std::path::PathBuf;

/// What an operation needs besides the state: how burr was started, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `--listen-host`: every listener binds it, so balancers get no address of their own.
    pub listen_host: Option<IpAddr>,
    /// `--address-pool`: where a new balancer's address comes from.
    pub address_pool: &'a AddressPool,
    /// UTC seconds.
    pub now: u64,
}

/// One listener as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRequest {
    pub protocol: String,
    pub load_balancer_port: i64,
    pub instance_protocol: Option<String>,
    pub instance_port: i64,
    pub ssl_certificate_id: Option<String>,
}

/// The attributes `ModifyLoadBalancerAttributes` may change; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeChanges {
    /// (Enabled, Timeout)
    pub connection_draining: Option<(bool, Option<i64>)>,
    pub idle_timeout: Option<i64>,
    pub cross_zone: Option<bool>,
    pub access_log: Option<AccessLogSettings>,
    pub additional: Vec<(String, String)>,
}

/// A balancer's attributes as `DescribeLoadBalancerAttributes` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub draining_enabled: bool,
    pub draining_timeout: u32,
    pub idle_timeout: u32,
    pub cross_zone: bool,
    pub access_log: AccessLogSettings,
    pub additional: Vec<(String, String)>,
}

/// The one additional attribute Classic ELB has, and its allowed values.
pub const DESYNC_MITIGATION_MODE: &str = "elb.http.desyncmitigationmode";
const DESYNC_MODES: [&str; 3] = ["monitor", "defensive", "strictest"];
const DEFAULT_DRAINING_TIMEOUT: u32 = 300;

/// The pool a listener made through the API forwards to.
pub fn listener_pool_name(balancer: &str, port: u16) -> String {
    format!("{balancer}-{port}")
}

pub fn balancer<'s>(state: &'s State, name: &str) -> Result<&'s Balancer, ClassicError> {
    state
        .balancers
        .get(name)
        .ok_or_else(|| ClassicError::no_balancer(name))
}

fn balancer_mut<'s>(state: &'s mut State, name: &str) -> Result<&'s mut Balancer, ClassicError> {
    state
        .balancers
        .get_mut(name)
        .ok_or_else(|| ClassicError::no_balancer(name))
}

/// `CreateLoadBalancer`. Creating a balancer that exists with the same listeners succeeds and
/// changes nothing, as on AWS.
pub fn create_load_balancer(
    state: &mut State,
    name: &str,
    listeners: &[ListenerRequest],
    scheme: Option<&str>,
    tags: &[(String, String)],
    context: Context,
) -> Result<(), ClassicError> {
    crate::validate_name(crate::FieldPath::root(), name).map_err(|e| {
        ClassicError::invalid(format!(
            "LoadBalancerName: {} is not allowed: {}",
            e.value, e.rule
        ))
    })?;
    let wanted = listeners
        .iter()
        .map(parse_listener)
        .collect::<Result<Vec<_>, _>>()?;
    check_distinct_ports(&wanted)?;
    if let Some(scheme) = scheme
        && scheme != "internet-facing"
        && scheme != "internal"
    {
        return Err(ClassicError::new(
            ErrorCode::InvalidScheme,
            format!("Scheme: {scheme:?} is not allowed: must be internet-facing or internal"),
        ));
    }
    if let Some(existing) = state.balancers.get(name) {
        let same = wanted.len() == existing.listeners.len()
            && wanted
                .iter()
                .all(|w| existing.listeners.iter().any(|l| same_listener(l, w)));
        return if same {
            add_tags(state, &[name.to_string()], tags)
        } else {
            Err(ClassicError::new(
                ErrorCode::DuplicateLoadBalancerName,
                format!(
                    "Load Balancer named '{name}' already exists and it is configured with different parameters."
                ),
            ))
        };
    }
    if wanted.is_empty() {
        return Err(ClassicError::invalid(
            "Listeners: at least one listener is required",
        ));
    }
    if state.balancers.len() >= MAX_LOAD_BALANCERS {
        return Err(ClassicError::new(
            ErrorCode::TooManyLoadBalancers,
            format!(
                "Exceeded quota of account: burr holds at most {MAX_LOAD_BALANCERS} load balancers"
            ),
        ));
    }
    let mut created = Balancer::new(name);
    created.origin = Origin::Api;
    created.aws.created_at = context.now;
    created.aws.scheme = scheme.filter(|s| *s == "internal").map(str::to_string);
    created.address = match context.listen_host {
        Some(_) => None,
        None => {
            let used: Vec<IpAddr> = state.balancers.values().filter_map(|b| b.address).collect();
            Some(context.address_pool.first_free(&used).ok_or_else(|| {
                ClassicError::conflict(format!(
                    "every address of the address pool {} is taken by a load balancer; \
                     start burr with a larger --address-pool",
                    context.address_pool
                ))
            })?)
        }
    };
    state.balancers.insert(name.to_string(), created);
    add_tags(state, &[name.to_string()], tags)?;
    add_listeners(state, name, wanted)?;
    finish(state, context)
}

/// `DeleteLoadBalancer`: removes the balancer and the pools only its listeners used. Deleting a
/// balancer that does not exist succeeds, as on AWS.
pub fn delete_load_balancer(state: &mut State, name: &str) -> Result<(), ClassicError> {
    let Some(removed) = state.balancers.remove(name) else {
        return Ok(());
    };
    for listener in &removed.listeners {
        drop_pool_if_unused(state, &listener.pool);
    }
    Ok(())
}

/// `CreateLoadBalancerListeners`: a listener identical to an existing one is accepted as is.
pub fn create_listeners(
    state: &mut State,
    name: &str,
    listeners: &[ListenerRequest],
    context: Context,
) -> Result<(), ClassicError> {
    let wanted = listeners
        .iter()
        .map(parse_listener)
        .collect::<Result<Vec<_>, _>>()?;
    check_distinct_ports(&wanted)?;
    let existing = balancer(state, name)?;
    let mut new = Vec::new();
    for w in wanted {
        match existing.listeners.iter().find(|l| l.port == w.port) {
            Some(l) if same_listener(l, &w) => {}
            Some(_) => {
                return Err(ClassicError::new(
                    ErrorCode::DuplicateListener,
                    format!(
                        "A listener already exists for {name} with LoadBalancerPort {}, but with a \
                         different InstancePort, Protocol, or SSLCertificateId",
                        w.port
                    ),
                ));
            }
            None => new.push(w),
        }
    }
    add_listeners(state, name, new)?;
    finish(state, context)
}

/// `DeleteLoadBalancerListeners`; ports without a listener are ignored.
pub fn delete_listeners(state: &mut State, name: &str, ports: &[i64]) -> Result<(), ClassicError> {
    let before = balancer(state, name)?.clone();
    let kept_settings = settings(state, &before);
    let kept_instances = instances_of(&before, state);
    let b = balancer_mut(state, name)?;
    let mut removed = Vec::new();
    b.listeners.retain(|l| {
        let drop = ports.contains(&i64::from(l.port));
        if drop {
            removed.push(l.pool.clone());
        }
        !drop
    });
    if b.listeners.is_empty() && !removed.is_empty() {
        b.aws.detached = Some(Detached {
            instances: kept_instances,
            health_check: kept_settings.health_check,
            deregistration_delay_secs: kept_settings.deregistration_delay_secs,
            idle_timeout_secs: kept_settings.idle_timeout_secs,
        });
    }
    for pool in removed {
        drop_pool_if_unused(state, &pool);
    }
    Ok(())
}

/// `RegisterInstancesWithLoadBalancer`: each instance joins every listener's pool.
pub fn register_instances(
    state: &mut State,
    name: &str,
    ids: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    if b.listeners.is_empty() {
        for id in ids {
            check_instance(state, id)?;
        }
        let detached = detached_mut(state, name)?;
        for id in ids {
            if !detached.instances.contains(id) {
                detached.instances.push(id.clone());
            }
        }
    }
    for listener in &b.listeners {
        let mut targets = Vec::new();
        for id in ids {
            targets.push(target_for_instance(state, id, listener)?);
        }
        let pool = pool_of_mut(state, listener)?;
        for address in targets {
            if !pool.targets.iter().any(|t| t.address == address) {
                pool.targets.push(Target { address, weight: 1 });
            }
        }
    }
    let count = instances_of(balancer(state, name)?, state).len();
    if count > MAX_INSTANCES {
        return Err(ClassicError::conflict(format!(
            "load balancer '{name}' would have {count} instances; burr allows at most {MAX_INSTANCES}"
        )));
    }
    finish(state, context)
}

/// `DeregisterInstancesFromLoadBalancer`: the instances leave every pool of the balancer and
/// drain as the pools' draining settings say.
pub fn deregister_instances(
    state: &mut State,
    name: &str,
    ids: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    let registered = instances_of(&b, state);
    for id in ids {
        let known = registered.contains(id)
            || b.listeners.iter().any(|l| {
                target_for_instance(state, id, l).is_ok_and(|t| {
                    state
                        .pools
                        .get(&l.pool)
                        .is_some_and(|p| p.targets.iter().any(|x| x.address == t))
                })
            });
        if !known {
            return Err(ClassicError::new(
                ErrorCode::InvalidInstance,
                format!("InstanceId: {id:?} is not registered with load balancer '{name}'"),
            ));
        }
    }
    if let Some(detached) = balancer_mut(state, name)?.aws.detached.as_mut() {
        detached.instances.retain(|i| !ids.contains(i));
    }
    for listener in &b.listeners {
        let gone: Vec<_> = ids
            .iter()
            .filter_map(|id| target_for_instance(state, id, listener).ok())
            .collect();
        let pool = pool_of_mut(state, listener)?;
        pool.targets.retain(|t| !gone.contains(&t.address));
    }
    finish(state, context)
}

/// `ConfigureHealthCheck`: one check for every pool of the balancer.
pub fn configure_health_check(
    state: &mut State,
    name: &str,
    target: &str,
    numbers: HealthCheckNumbers,
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    let mut check = settings(state, &b).health_check;
    super::parse_health_check_target(target, &mut check)?;
    check.enabled = true;
    check.interval_secs = number("HealthCheck.Interval", numbers.interval)?;
    check.timeout_secs = number("HealthCheck.Timeout", numbers.timeout)?;
    check.healthy_threshold = number("HealthCheck.HealthyThreshold", numbers.healthy_threshold)?;
    check.unhealthy_threshold = number(
        "HealthCheck.UnhealthyThreshold",
        numbers.unhealthy_threshold,
    )?;
    check.check().map_err(|errors| translate(&errors[0]))?;
    for listener in &b.listeners {
        pool_of_mut(state, listener)?.health_check = check.clone();
    }
    if b.listeners.is_empty() {
        detached_mut(state, name)?.health_check = check;
    }
    finish(state, context)
}

/// The four numbers of `ConfigureHealthCheck`, as sent.
#[derive(Debug, Clone, Copy)]
pub struct HealthCheckNumbers {
    pub interval: i64,
    pub timeout: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
}

/// `CreateLBCookieStickinessPolicy`, `CreateAppCookieStickinessPolicy` and
/// `CreateLoadBalancerPolicy`: adds a named policy to the balancer.
pub fn create_policy(
    state: &mut State,
    name: &str,
    policy: NamedPolicy,
) -> Result<(), ClassicError> {
    check_policy_name(&policy.name)?;
    policy::check_attributes(&policy)?;
    let b = balancer_mut(state, name)?;
    if b.aws.policy(&policy.name).is_some() {
        return Err(ClassicError::new(
            ErrorCode::DuplicatePolicyName,
            format!(
                "Policy name {:?} already exists for load balancer '{name}'",
                policy.name
            ),
        ));
    }
    if b.aws.policies.len() >= MAX_POLICIES {
        return Err(ClassicError::new(
            ErrorCode::TooManyPolicies,
            format!(
                "load balancer '{name}' already has {MAX_POLICIES} policies, the most burr allows"
            ),
        ));
    }
    for (attribute, value) in &policy.attributes {
        if attribute == "PublicKeyPolicyName"
            && b.aws
                .policy(value)
                .is_none_or(|p| p.type_name != "PublicKeyPolicyType")
        {
            return Err(ClassicError::new(
                ErrorCode::PolicyNotFound,
                format!(
                    "PublicKeyPolicyName: {value:?} names no PublicKeyPolicyType policy of load balancer '{name}'"
                ),
            ));
        }
    }
    if let Some(s) = stickiness_policy(&policy) {
        check_stickiness(&s)?;
    }
    b.aws.policies.push(policy);
    Ok(())
}

/// `CookieExpirationPeriod` → the policy; absent is stored as `"0"` (a browser-session cookie).
pub fn lb_cookie_policy(
    policy_name: &str,
    period: Option<i64>,
) -> Result<NamedPolicy, ClassicError> {
    let period = period.unwrap_or(0);
    if !(0..=i64::from(u32::MAX)).contains(&period) {
        return Err(ClassicError::invalid(format!(
            "CookieExpirationPeriod: {period} is not allowed: must be between 0 and {} seconds",
            u32::MAX
        )));
    }
    Ok(NamedPolicy {
        name: policy_name.to_string(),
        type_name: policy::LB_COOKIE.to_string(),
        attributes: vec![("CookieExpirationPeriod".into(), period.to_string())],
    })
}

/// `CookieName` → the policy.
pub fn app_cookie_policy(
    policy_name: &str,
    cookie_name: &str,
) -> Result<NamedPolicy, ClassicError> {
    if cookie_name.is_empty() {
        return Err(ClassicError::invalid(
            "CookieName: \"\" is not allowed: must name the application's cookie",
        ));
    }
    Ok(NamedPolicy {
        name: policy_name.to_string(),
        type_name: policy::APP_COOKIE.to_string(),
        attributes: vec![("CookieName".into(), cookie_name.to_string())],
    })
}

/// `DeleteLoadBalancerPolicy`: refused while the policy is enabled anywhere; deleting a policy
/// that does not exist succeeds.
pub fn delete_policy(state: &mut State, name: &str, policy_name: &str) -> Result<(), ClassicError> {
    let b = balancer_mut(state, name)?;
    if let Some(l) = b
        .listeners
        .iter()
        .find(|l| l.policies.iter().any(|p| p == policy_name))
    {
        return Err(ClassicError::conflict(format!(
            "policy {policy_name:?} is enabled on listener {} of load balancer '{name}'; \
             remove it with SetLoadBalancerPoliciesOfListener first",
            l.port
        )));
    }
    if let Some(bp) = b
        .aws
        .backend_policies
        .iter()
        .find(|bp| bp.policies.iter().any(|p| p == policy_name))
    {
        return Err(ClassicError::conflict(format!(
            "policy {policy_name:?} is enabled on instance port {} of load balancer '{name}'; \
             remove it with SetLoadBalancerPoliciesForBackendServer first",
            bp.instance_port
        )));
    }
    if let Some(user) = b.aws.policies.iter().find(|p| {
        p.attributes
            .iter()
            .any(|(n, v)| n == "PublicKeyPolicyName" && v == policy_name)
    }) {
        return Err(ClassicError::conflict(format!(
            "policy {policy_name:?} is used by policy {:?}; delete that one first",
            user.name
        )));
    }
    b.aws.policies.retain(|p| p.name != policy_name);
    Ok(())
}

/// `SetLoadBalancerPoliciesOfListener`: replaces the listener's policies (an empty list removes
/// them all) and gives its pool the stickiness they describe.
pub fn set_listener_policies(
    state: &mut State,
    name: &str,
    port: i64,
    names: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    let listener = b
        .listeners
        .iter()
        .find(|l| i64::from(l.port) == port)
        .ok_or_else(|| {
            ClassicError::new(
                ErrorCode::ListenerNotFound,
                format!("There is no listener on port {port} of load balancer '{name}'"),
            )
        })?;
    let policies = find_policies(&b, names)?;
    let mut stickiness = None;
    for p in &policies {
        let info = policy::policy_type(&p.type_name)?;
        if !info.for_listener {
            return Err(ClassicError::conflict(format!(
                "policy {:?} is a {}, which cannot be enabled on a listener",
                p.name, p.type_name
            )));
        }
        if p.type_name == policy::SSL_NEGOTIATION && !listener.protocol.is_tls() {
            return Err(ClassicError::conflict(format!(
                "policy {:?} is an SSLNegotiationPolicyType, which needs an HTTPS or SSL listener; listener {port} is {}",
                p.name,
                listener.protocol.as_str().to_ascii_uppercase()
            )));
        }
        if let Some(s) = stickiness_policy(p) {
            if !listener.protocol.is_http() {
                return Err(ClassicError::conflict(format!(
                    "stickiness policy {:?} needs an HTTP or HTTPS listener; listener {port} is {}",
                    p.name,
                    listener.protocol.as_str().to_ascii_uppercase()
                )));
            }
            if stickiness.replace(s).is_some() {
                return Err(ClassicError::conflict(format!(
                    "a listener takes one stickiness policy; {names:?} holds more than one"
                )));
            }
        }
    }
    let pool = pool_of_mut(state, listener)?;
    let kept = pool.stickiness.clone();
    pool.stickiness = match stickiness {
        Some(s) => Stickiness {
            on_target_down: kept.on_target_down,
            fail_back: kept.fail_back,
            strip_cookie: kept.strip_cookie,
            cookie: kept.cookie,
            ..s
        },
        None => Stickiness::default(),
    };
    let l = balancer_mut(state, name)?
        .listeners
        .iter_mut()
        .find(|l| i64::from(l.port) == port)
        .ok_or_else(|| ClassicError::conflict("listener vanished"))?;
    l.policies = names.to_vec();
    finish(state, context)
}

/// `SetLoadBalancerPoliciesForBackendServer`: replaces the policies of an instance port; a
/// `ProxyProtocolPolicyType` policy with `ProxyProtocol=true` makes burr send a PROXY protocol
/// v1 header on every connection to that port.
pub fn set_backend_policies(
    state: &mut State,
    name: &str,
    instance_port: i64,
    names: &[String],
    context: Context,
) -> Result<(), ClassicError> {
    let instance_port = u16::try_from(instance_port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            ClassicError::invalid(format!(
                "InstancePort: {instance_port} is not allowed: must be between 1 and 65535"
            ))
        })?;
    let b = balancer(state, name)?.clone();
    let policies = find_policies(&b, names)?;
    for p in &policies {
        if !policy::policy_type(&p.type_name)?.for_backend {
            return Err(ClassicError::conflict(format!(
                "policy {:?} is a {}, which cannot be enabled on a back-end server",
                p.name, p.type_name
            )));
        }
    }
    let proxy = policies.iter().any(enables_proxy_protocol);
    for listener in b
        .listeners
        .iter()
        .filter(|l| l.instance_port == Some(instance_port))
    {
        pool_of_mut(state, listener)?.upstream.proxy_protocol = proxy;
    }
    let b = balancer_mut(state, name)?;
    b.aws
        .backend_policies
        .retain(|bp| bp.instance_port != instance_port);
    if !names.is_empty() {
        b.aws.backend_policies.push(BackendPolicies {
            instance_port,
            policies: names.to_vec(),
        });
        b.aws.backend_policies.sort_by_key(|bp| bp.instance_port);
    }
    finish(state, context)
}

/// `SetLoadBalancerListenerSSLCertificate`: the listener's certificate, as a PEM file path
/// holding the chain and its key.
pub fn set_listener_certificate(
    state: &mut State,
    name: &str,
    port: i64,
    certificate: &str,
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer_mut(state, name)?;
    let listener = b
        .listeners
        .iter_mut()
        .find(|l| i64::from(l.port) == port)
        .ok_or_else(|| {
            ClassicError::new(
                ErrorCode::ListenerNotFound,
                format!("There is no listener on port {port} of load balancer '{name}'"),
            )
        })?;
    if !listener.protocol.is_tls() {
        return Err(ClassicError::conflict(format!(
            "listener {port} is {}; only HTTPS and SSL listeners take a certificate",
            listener.protocol.as_str().to_ascii_uppercase()
        )));
    }
    if certificate.is_empty() {
        return Err(ClassicError::new(
            ErrorCode::CertificateNotFound,
            "SSLCertificateId: must be the path of a PEM file holding the certificate chain and its private key",
        ));
    }
    listener.tls = Some(TlsFiles {
        certificate: PathBuf::from(certificate),
        private_key: PathBuf::from(certificate),
    });
    finish(state, context)
}

/// `ModifyLoadBalancerAttributes`.
pub fn modify_attributes(
    state: &mut State,
    name: &str,
    changes: &AttributeChanges,
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    for (key, value) in &changes.additional {
        if key != DESYNC_MITIGATION_MODE {
            return Err(ClassicError::new(
                ErrorCode::LoadBalancerAttributeNotFound,
                format!(
                    "AdditionalAttributes: {key:?} is not an attribute; the one additional attribute is {DESYNC_MITIGATION_MODE}"
                ),
            ));
        }
        if !DESYNC_MODES.contains(&value.as_str()) {
            return Err(ClassicError::invalid(format!(
                "{DESYNC_MITIGATION_MODE}: {value:?} is not allowed: must be monitor, defensive or strictest"
            )));
        }
    }
    if let Some(log) = &changes.access_log {
        if let Some(minutes) = log.emit_interval
            && minutes != 5
            && minutes != 60
        {
            return Err(ClassicError::invalid(format!(
                "AccessLog.EmitInterval: {minutes} is not allowed: must be 5 or 60 minutes"
            )));
        }
        if log.enabled && log.s3_bucket_name.as_deref().is_none_or(str::is_empty) {
            return Err(ClassicError::conflict(
                "AccessLog.S3BucketName: is required when AccessLog.Enabled is true",
            ));
        }
    }
    let draining = match changes.connection_draining {
        Some((enabled, timeout)) => {
            let timeout = match timeout {
                Some(t) => Some(number_in("ConnectionDraining.Timeout", t, 1, 3600)?),
                None => None,
            };
            Some((enabled, timeout))
        }
        None => None,
    };
    let idle = match changes.idle_timeout {
        Some(t) => Some(number_in("ConnectionSettings.IdleTimeout", t, 1, 3600)?),
        None => None,
    };
    let current = attributes(state, &b);
    if let Some((enabled, timeout)) = draining {
        let delay = if enabled {
            timeout.unwrap_or(current.draining_timeout)
        } else {
            0
        };
        for listener in &b.listeners {
            pool_of_mut(state, listener)?
                .draining
                .deregistration_delay_secs = delay;
        }
        if b.listeners.is_empty() {
            detached_mut(state, name)?.deregistration_delay_secs = delay;
        }
    }
    if let Some(idle) = idle
        && b.listeners.is_empty()
    {
        detached_mut(state, name)?.idle_timeout_secs = idle;
    }
    let bm = balancer_mut(state, name)?;
    if let Some((enabled, timeout)) = draining {
        bm.aws.draining_timeout_secs = if enabled {
            None
        } else {
            Some(timeout.unwrap_or(current.draining_timeout))
        };
    }
    if let Some(idle) = idle {
        for listener in &mut bm.listeners {
            listener.idle_timeout_secs = idle;
        }
    }
    if let Some(cross_zone) = changes.cross_zone {
        bm.aws.cross_zone = cross_zone;
    }
    if let Some(log) = &changes.access_log {
        bm.aws.access_log = Some(log.clone());
    }
    for (key, value) in &changes.additional {
        bm.aws
            .additional_attributes
            .insert(key.clone(), value.clone());
    }
    finish(state, context)
}

/// The attributes of a balancer: draining and idle timeout read from its pools and listeners
/// (where they take effect), the rest as stored.
pub fn attributes(state: &State, b: &Balancer) -> Attributes {
    let current = settings(state, b);
    let delay = current.deregistration_delay_secs;
    let mut additional: Vec<(String, String)> = b
        .aws
        .additional_attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !b
        .aws
        .additional_attributes
        .contains_key(DESYNC_MITIGATION_MODE)
    {
        additional.push((DESYNC_MITIGATION_MODE.into(), "defensive".into()));
    }
    Attributes {
        draining_enabled: delay > 0,
        draining_timeout: if delay > 0 {
            delay
        } else {
            b.aws
                .draining_timeout_secs
                .unwrap_or(DEFAULT_DRAINING_TIMEOUT)
        },
        idle_timeout: current.idle_timeout_secs,
        cross_zone: b.aws.cross_zone,
        access_log: b.aws.access_log.clone().unwrap_or_default(),
        additional,
    }
}

/// `AddTags` (and the tags of `CreateLoadBalancer`): every balancer must exist; a key given
/// twice is refused; an existing key takes the new value.
pub fn add_tags(
    state: &mut State,
    names: &[String],
    tags: &[(String, String)],
) -> Result<(), ClassicError> {
    for (i, (key, value)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(ClassicError::new(
                ErrorCode::DuplicateTagKeys,
                format!("Tags: the key {key:?} is given more than once"),
            ));
        }
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(ClassicError::invalid(format!(
                "Tags.Key: {key:?} is not allowed: must be 1 to 128 characters and not begin with \"aws:\""
            )));
        }
        if value.chars().count() > 256 {
            return Err(ClassicError::invalid(format!(
                "Tags.Value: a value of {} characters is not allowed: at most 256",
                value.chars().count()
            )));
        }
    }
    for name in names {
        let b = balancer(state, name)?;
        let count = b.aws.tags.len()
            + tags
                .iter()
                .filter(|(k, _)| !b.aws.tags.contains_key(k))
                .count();
        if count > MAX_TAGS {
            return Err(ClassicError::new(
                ErrorCode::TooManyTags,
                format!("load balancer '{name}' would have {count} tags; at most {MAX_TAGS}"),
            ));
        }
    }
    for name in names {
        let b = balancer_mut(state, name)?;
        for (key, value) in tags {
            b.aws.tags.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

/// `RemoveTags`: keys that are not set are ignored.
pub fn remove_tags(
    state: &mut State,
    names: &[String],
    keys: &[String],
) -> Result<(), ClassicError> {
    for name in names {
        let b = balancer_mut(state, name)?;
        for key in keys {
            b.aws.tags.remove(key);
        }
    }
    Ok(())
}

/// The balancer-wide settings of the Classic API, which burr keeps in the listeners and their
/// pools (all alike), or in `aws.detached` while the balancer has no listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancerSettings {
    pub health_check: crate::HealthCheck,
    pub deregistration_delay_secs: u32,
    pub idle_timeout_secs: u32,
}

pub fn settings(state: &State, b: &Balancer) -> BalancerSettings {
    if let Some(l) = b.listeners.first() {
        let pool = state.pools.get(&l.pool);
        return BalancerSettings {
            health_check: pool.map(|p| p.health_check.clone()).unwrap_or_default(),
            deregistration_delay_secs: pool.map_or(0, |p| p.draining.deregistration_delay_secs),
            idle_timeout_secs: l.idle_timeout_secs,
        };
    }
    match &b.aws.detached {
        Some(d) => BalancerSettings {
            health_check: d.health_check.clone(),
            deregistration_delay_secs: d.deregistration_delay_secs,
            idle_timeout_secs: d.idle_timeout_secs,
        },
        None => BalancerSettings {
            health_check: crate::HealthCheck::default(),
            // Connection draining is off for a balancer created through the API.
            deregistration_delay_secs: match b.origin {
                Origin::Api => 0,
                Origin::File => crate::Draining::default().deregistration_delay_secs,
            },
            idle_timeout_secs: crate::balancer::defaults::idle_timeout_secs(),
        },
    }
}

/// The listener-less balancer's kept settings, made from the current ones when absent.
fn detached_mut<'s>(state: &'s mut State, name: &str) -> Result<&'s mut Detached, ClassicError> {
    let current = settings(state, balancer(state, name)?);
    let b = balancer_mut(state, name)?;
    Ok(b.aws.detached.get_or_insert_with(|| Detached {
        instances: Vec::new(),
        health_check: current.health_check,
        deregistration_delay_secs: current.deregistration_delay_secs,
        idle_timeout_secs: current.idle_timeout_secs,
    }))
}

// ---- helpers ----

/// Runs the model's validation and reports the first problem in AWS terms.
fn finish(state: &State, context: Context) -> Result<(), ClassicError> {
    state
        .validate(context.listen_host)
        .map_err(|errors| translate(&errors[0]))
}

/// A model validation error in the API's vocabulary: the AWS parameter name where there is one,
/// `InvalidConfigurationRequest` for a clash with other objects, `ValidationError` otherwise.
pub fn translate(error: &ValidationError) -> ClassicError {
    const NAMES: [(&str, &str); 9] = [
        ("interval_secs", "HealthCheck.Interval"),
        ("timeout_secs", "HealthCheck.Timeout"),
        ("healthy_threshold", "HealthCheck.HealthyThreshold"),
        ("unhealthy_threshold", "HealthCheck.UnhealthyThreshold"),
        ("idle_timeout_secs", "ConnectionSettings.IdleTimeout"),
        ("deregistration_delay_secs", "ConnectionDraining.Timeout"),
        ("duration_secs", "CookieExpirationPeriod"),
        ("cookie_name", "CookieName"),
        ("instance_protocol", "InstanceProtocol"),
    ];
    let leaf = error.path.leaf_field().unwrap_or("");
    let name = NAMES
        .iter()
        .find(|(field, _)| *field == leaf)
        .map_or_else(|| error.path.to_string(), |(_, aws)| aws.to_string());
    let mut rule = error.rule.clone();
    for (field, aws) in NAMES {
        rule = rule.replace(field, aws);
    }
    let message = format!("{name}: {} is not allowed: {rule}", error.value);
    let clash = leaf == "port" || leaf == "protocol" || leaf == "instance_protocol";
    if clash {
        ClassicError::conflict(message)
    } else {
        ClassicError::invalid(message)
    }
}

fn number(parameter: &str, value: i64) -> Result<u32, ClassicError> {
    u32::try_from(value).map_err(|_| {
        ClassicError::invalid(format!(
            "{parameter}: {value} is not allowed: must be a positive number"
        ))
    })
}

fn number_in(parameter: &str, value: i64, lo: u32, hi: u32) -> Result<u32, ClassicError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| {
            ClassicError::invalid(format!(
                "{parameter}: {value} is not allowed: must be between {lo} and {hi} seconds"
            ))
        })
}

fn check_policy_name(name: &str) -> Result<(), ClassicError> {
    if name.is_empty()
        || name.len() > 255
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ClassicError::invalid(format!(
            "PolicyName: {name:?} is not allowed: must be 1 to 255 ASCII letters, digits and dashes"
        )));
    }
    Ok(())
}

/// Checks what the model checks of a stickiness policy's values before it is ever enabled.
fn check_stickiness(stickiness: &Stickiness) -> Result<(), ClassicError> {
    let mut probe = Pool::new("probe");
    probe.origin = Origin::Api;
    probe.stickiness = stickiness.clone();
    let state = State {
        pools: [("probe".to_string(), probe)].into(),
        ..State::default()
    };
    match state.validate(None) {
        Ok(()) => Ok(()),
        Err(errors) => Err(translate(&errors[0])),
    }
}

fn find_policies(b: &Balancer, names: &[String]) -> Result<Vec<NamedPolicy>, ClassicError> {
    names
        .iter()
        .map(|n| {
            b.aws.policy(n).cloned().ok_or_else(|| {
                ClassicError::new(
                    ErrorCode::PolicyNotFound,
                    format!(
                        "There is no policy named {n:?} on load balancer '{}'",
                        b.name
                    ),
                )
            })
        })
        .collect()
}

fn pool_of_mut<'s>(
    state: &'s mut State,
    listener: &Listener,
) -> Result<&'s mut Pool, ClassicError> {
    state.pools.get_mut(&listener.pool).ok_or_else(|| {
        ClassicError::conflict(format!(
            "listener {} forwards to pool {:?}, which does not exist",
            listener.port, listener.pool
        ))
    })
}

fn drop_pool_if_unused(state: &mut State, pool: &str) {
    let used = state
        .balancers
        .values()
        .any(|b| b.listeners.iter().any(|l| l.pool == pool));
    if !used
        && state
            .pools
            .get(pool)
            .is_some_and(|p| p.origin == Origin::Api)
    {
        state.pools.remove(pool);
    }
}

fn parse_protocol(parameter: &str, text: &str) -> Result<Protocol, ClassicError> {
    Protocol::ALL
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            ClassicError::new(
                ErrorCode::UnsupportedProtocol,
                format!("{parameter}: {text:?} is not a protocol; use HTTP, HTTPS, TCP or SSL"),
            )
        })
}

fn parse_port(parameter: &str, port: i64) -> Result<u16, ClassicError> {
    u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(|| {
        ClassicError::invalid(format!(
            "{parameter}: {port} is not allowed: must be between 1 and 65535"
        ))
    })
}

/// A listener request as a model listener (its pool not yet made).
fn parse_listener(request: &ListenerRequest) -> Result<Listener, ClassicError> {
    let protocol = parse_protocol("Listener.Protocol", &request.protocol)?;
    let instance_protocol = match &request.instance_protocol {
        Some(p) => Some(parse_protocol("Listener.InstanceProtocol", p)?),
        None => None,
    };
    let port = parse_port("Listener.LoadBalancerPort", request.load_balancer_port)?;
    let instance_port = parse_port("Listener.InstancePort", request.instance_port)?;
    let mut listener = Listener::new(port, protocol, String::new());
    listener.instance_port = Some(instance_port);
    listener.instance_protocol = Some(instance_protocol.unwrap_or(match protocol {
        Protocol::Http | Protocol::Https => Protocol::Http,
        Protocol::Tcp | Protocol::Ssl => Protocol::Tcp,
    }));
    if listener.target_protocol().is_http() != protocol.is_http() {
        return Err(ClassicError::conflict(format!(
            "Listener: a {} front end needs a {} back end; InstanceProtocol {} is not allowed",
            protocol.as_str().to_ascii_uppercase(),
            if protocol.is_http() {
                "HTTP or HTTPS"
            } else {
                "TCP or SSL"
            },
            listener.target_protocol().as_str().to_ascii_uppercase()
        )));
    }
    match (&request.ssl_certificate_id, protocol.is_tls()) {
        (Some(id), true) if !id.is_empty() => {
            // burr has no certificate manager: the id is the path of a PEM file that holds the
            // certificate chain and its private key.
            let path = PathBuf::from(id);
            listener.tls = Some(TlsFiles {
                certificate: path.clone(),
                private_key: path,
            });
        }
        (_, true) => {
            return Err(ClassicError::new(
                ErrorCode::CertificateNotFound,
                format!(
                    "Listener.SSLCertificateId: a {} listener needs one: the path of a PEM file \
                     holding the certificate chain and its private key",
                    protocol.as_str().to_ascii_uppercase()
                ),
            ));
        }
        (Some(id), false) if !id.is_empty() => {
            return Err(ClassicError::conflict(format!(
                "Listener.SSLCertificateId: only HTTPS and SSL listeners take a certificate; \
                 listener {port} is {}",
                protocol.as_str().to_ascii_uppercase()
            )));
        }
        _ => {}
    }
    Ok(listener)
}

/// Refuses a request that names one port twice.
fn check_distinct_ports(listeners: &[Listener]) -> Result<(), ClassicError> {
    for (i, l) in listeners.iter().enumerate() {
        if listeners[..i].iter().any(|other| other.port == l.port) {
            return Err(ClassicError::conflict(format!(
                "Listeners: LoadBalancerPort {} is given more than once; each listener needs a port of its own",
                l.port
            )));
        }
    }
    Ok(())
}

/// Whether an existing listener is the one a request describes (pool aside).
fn same_listener(existing: &Listener, wanted: &Listener) -> bool {
    existing.port == wanted.port
        && existing.protocol == wanted.protocol
        && existing.target_protocol() == wanted.target_protocol()
        && existing.instance_port == wanted.instance_port
        && existing.tls == wanted.tls
}

/// Adds listeners with a pool each; the pools copy the balancer's health check, draining and
/// instances from an existing pool, or take the Classic ELB defaults.
fn add_listeners(
    state: &mut State,
    name: &str,
    listeners: Vec<Listener>,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    if b.listeners.len() + listeners.len() > MAX_LISTENERS {
        return Err(ClassicError::conflict(format!(
            "load balancer '{name}' would have more than {MAX_LISTENERS} listeners"
        )));
    }
    let template = b
        .listeners
        .first()
        .and_then(|l| state.pools.get(&l.pool))
        .cloned();
    let instances = instances_of(&b, state);
    let current = settings(state, &b);
    let mut added = Vec::new();
    for mut listener in listeners {
        let pool_name = listener_pool_name(name, listener.port);
        if let Some(taken) = state.pools.get(&pool_name) {
            return Err(ClassicError::conflict(format!(
                "the pool {pool_name:?} that listener {} would use already exists{}; rename that pool",
                listener.port,
                if taken.origin == Origin::File {
                    " (declared in the configuration file)"
                } else {
                    ""
                }
            )));
        }
        let mut pool = Pool::new(&pool_name);
        pool.origin = Origin::Api;
        // Classic ELB: least outstanding requests for HTTP(S), round robin for TCP/SSL.
        pool.algorithm = if listener.protocol.is_http() {
            Algorithm::LeastOutstandingRequests
        } else {
            Algorithm::RoundRobin
        };
        if let Some(t) = &template {
            pool.draining = t.draining.clone();
        }
        pool.health_check = current.health_check.clone();
        pool.draining.deregistration_delay_secs = current.deregistration_delay_secs;
        for id in &instances {
            pool.targets.push(Target {
                address: target_for_instance(state, id, &listener)?,
                weight: 1,
            });
        }
        let instance_port = listener.instance_port.unwrap_or(listener.port);
        pool.upstream.proxy_protocol = find_policies(&b, b.aws.backend_policies(instance_port))?
            .iter()
            .any(enables_proxy_protocol);
        listener.pool = pool_name.clone();
        listener.idle_timeout_secs = current.idle_timeout_secs;
        state.pools.insert(pool_name, pool);
        added.push(listener);
    }
    let b = balancer_mut(state, name)?;
    b.listeners.extend(added);
    b.listeners.sort_by_key(|l| l.port);
    if !b.listeners.is_empty() {
        b.aws.detached = None;
    }
    Ok(())
}
