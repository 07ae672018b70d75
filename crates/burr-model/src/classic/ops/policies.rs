//! Named policies: create and delete them, and enable them on a listener (stickiness, SSL
//! negotiation) or an instance port (PROXY protocol), where they set the pools' settings.

use super::*;

/// `CreateLBCookieStickinessPolicy`, `CreateAppCookieStickinessPolicy` and
/// `CreateLoadBalancerPolicy`: adds a named policy to the balancer.
pub fn create_policy(
    state: &mut State,
    name: &str,
    policy: NamedPolicy,
) -> Result<(), ClassicError> {
    check_policy_name(&policy.name)?;
    policy::check_attributes(&policy)?;
    let policy = normalised(policy)?;
    let b = balancer_mut(state, name)?;
    if b.aws.policy(&policy.name).is_some() {
        return Err(ClassicError::new(
            ErrorCode::DuplicatePolicyName,
            format!(
                "Policy name {:?} already exists for load balancer '{shown}'",
                policy.name,
                shown = crate::region::local_name(name)
            ),
        ));
    }
    if b.aws.policies.len() >= MAX_POLICIES {
        return Err(ClassicError::new(
            ErrorCode::TooManyPolicies,
            format!(
                "load balancer '{shown}' already has {MAX_POLICIES} policies, the most burr allows",
                shown = crate::region::local_name(name)
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
                    "PublicKeyPolicyName: {value:?} names no PublicKeyPolicyType policy of load balancer '{shown}'",
                    shown = crate::region::local_name(name)
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

/// A stickiness policy made through `CreateLoadBalancerPolicy` obeys the rules of the call made
/// for it, and is stored the same way.
fn normalised(policy: NamedPolicy) -> Result<NamedPolicy, ClassicError> {
    match policy.type_name.as_str() {
        policy::LB_COOKIE => {
            let period = match policy.attribute("CookieExpirationPeriod") {
                Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
                    ClassicError::invalid(format!(
                        "CookieExpirationPeriod: {text:?} is not allowed: must be a whole number of seconds"
                    ))
                })?),
                None => None,
            };
            lb_cookie_policy(&policy.name, period)
        }
        policy::APP_COOKIE => app_cookie_policy(
            &policy.name,
            policy.attribute("CookieName").unwrap_or_default(),
        ),
        _ => Ok(policy),
    }
}

/// `CookieExpirationPeriod` → the policy. Absent (a browser-session cookie) stays absent, so
/// descriptions omit it as AWS does and clients that did not set it read nothing back.
pub fn lb_cookie_policy(
    policy_name: &str,
    period: Option<i64>,
) -> Result<NamedPolicy, ClassicError> {
    if let Some(period) = period
        && !(0..=i64::from(u32::MAX)).contains(&period)
    {
        return Err(ClassicError::invalid(format!(
            "CookieExpirationPeriod: {period} is not allowed: must be between 0 and {} seconds",
            u32::MAX
        )));
    }
    Ok(NamedPolicy {
        name: policy_name.to_string(),
        type_name: policy::LB_COOKIE.to_string(),
        attributes: period
            .map(|p| ("CookieExpirationPeriod".to_string(), p.to_string()))
            .into_iter()
            .collect(),
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
            "policy {policy_name:?} is enabled on listener {} of load balancer '{shown}'; \
             remove it with SetLoadBalancerPoliciesOfListener first",
            l.port,
            shown = crate::region::local_name(name)
        )));
    }
    if let Some(bp) = b
        .aws
        .backend_policies
        .iter()
        .find(|bp| bp.policies.iter().any(|p| p == policy_name))
    {
        return Err(ClassicError::conflict(format!(
            "policy {policy_name:?} is enabled on instance port {} of load balancer '{shown}'; \
             remove it with SetLoadBalancerPoliciesForBackendServer first",
            bp.instance_port,
            shown = crate::region::local_name(name)
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
    let at = listener_index(&b, port)?;
    let listener = &b.listeners[at];
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
    balancer_mut(state, name)?.listeners[at].policies = names.to_vec();
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
