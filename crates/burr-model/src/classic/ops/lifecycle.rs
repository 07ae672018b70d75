//! Balancers and their listeners: create and delete them, and set a listener's certificate.
//! Each listener gets a pool of its own (`<balancer>-<port>`) holding the instances on its
//! instance port.

use super::*;

/// One listener as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRequest {
    pub protocol: String,
    pub load_balancer_port: i64,
    pub instance_protocol: Option<String>,
    pub instance_port: i64,
    pub ssl_certificate_id: Option<String>,
}

/// The pool a listener made through the API forwards to.
pub fn listener_pool_name(balancer: &str, port: u16) -> String {
    format!("{balancer}-{port}")
}

/// `CreateLoadBalancer`. Creating a balancer that exists with the same listeners succeeds and
/// changes nothing but adding the given tags, as on AWS. `name` is the state's key (see
/// [`crate::region`]); `placement` holds the zones, subnets and security groups given.
pub fn create_load_balancer(
    state: &mut State,
    name: &str,
    listeners: &[ListenerRequest],
    scheme: Option<&str>,
    tags: &[(String, String)],
    placement: &Placement,
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
        let same = existing.aws.elbv2.is_none()
            && wanted.len() == existing.listeners.len()
            && wanted
                .iter()
                .all(|w| existing.listeners.iter().any(|l| same_listener(l, w)));
        return if same {
            add_tags(state, &[name.to_string()], tags)
        } else {
            Err(ClassicError::new(
                ErrorCode::DuplicateLoadBalancerName,
                format!(
                    "Load Balancer named '{shown}' already exists and it is configured with different parameters.",
                    shown = crate::region::local_name(name)
                ),
            ))
        };
    }
    if wanted.is_empty() {
        return Err(ClassicError::invalid(
            "Listeners: at least one listener is required",
        ));
    }
    check_placement(placement)?;
    let region = crate::region::region_of(name);
    let in_region = state
        .balancers
        .keys()
        .filter(|key| crate::region::region_of(key) == region)
        .count();
    if in_region >= MAX_LOAD_BALANCERS {
        return Err(ClassicError::new(
            ErrorCode::TooManyLoadBalancers,
            format!(
                "Exceeded quota of account: burr holds at most {MAX_LOAD_BALANCERS} load balancers \
                 per region"
            ),
        ));
    }
    let mut created = Balancer::new(name);
    created.origin = Origin::Api;
    created.aws.created_at = context.now;
    created.aws.scheme = scheme.filter(|s| *s == "internal").map(str::to_string);
    created.aws.placement = deduplicated(placement);
    created.address = context
        .address_pool
        .allocate(state, context.listen_host)
        .map_err(ClassicError::conflict)?;
    state.balancers.insert(name.to_string(), created);
    add_tags(state, &[name.to_string()], tags)?;
    add_listeners(state, name, wanted, context.listen_host)?;
    finish(state, context)
}

/// `DeleteLoadBalancer`: removes the balancer and the pools only its listeners used. Deleting a
/// balancer that does not exist succeeds, as on AWS.
pub fn delete_load_balancer(state: &mut State, name: &str) -> Result<(), ClassicError> {
    if state
        .balancers
        .get(name)
        .is_none_or(|b| b.aws.elbv2.is_some())
    {
        return Ok(());
    }
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
                        "A listener already exists for {shown} with LoadBalancerPort {}, but with a \
                         different InstancePort, Protocol, or SSLCertificateId",
                        w.port,
                        shown = crate::region::local_name(name)
                    ),
                ));
            }
            None => new.push(w),
        }
    }
    add_listeners(state, name, new, context.listen_host)?;
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
        // Instances of a balancer declared in TOML live only in its pools: keep their ids.
        b.aws.instances = kept_instances;
        b.aws.detached = Some(Detached {
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
    let at = listener_index(b, port)?;
    let listener = &mut b.listeners[at];
    if !listener.protocol.is_tls() {
        return Err(ClassicError::conflict(format!(
            "listener {port} is {}; only HTTPS and SSL listeners take a certificate",
            listener.protocol.as_str().to_ascii_uppercase()
        )));
    }
    if certificate.is_empty() {
        return Err(ClassicError::new(
            ErrorCode::CertificateNotFound,
            "SSLCertificateId: must be the ARN of an ACM or IAM server certificate, or the path of a PEM file holding the certificate chain and its private key",
        ));
    }
    crate::certificates::name_listener_certificate(listener, certificate);
    finish(state, context)
}

fn parse_protocol(parameter: &str, text: &str) -> Result<Protocol, ClassicError> {
    Protocol::CLASSIC
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
        // Not Classic protocols: parse_protocol refuses them.
        Protocol::Udp | Protocol::TcpUdp => protocol,
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
            // An ACM or IAM certificate ARN, or the path of a PEM file that holds the
            // certificate chain and its private key.
            crate::certificates::name_listener_certificate(&mut listener, id);
        }
        (_, true) => {
            return Err(ClassicError::new(
                ErrorCode::CertificateNotFound,
                format!(
                    "Listener.SSLCertificateId: a {} listener needs one: the ARN of an ACM or IAM \
                     server certificate, or the path of a PEM file holding the certificate chain \
                     and its private key",
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
        && existing.certificate == wanted.certificate
}

/// Adds listeners with a pool each; the pools copy the balancer's health check, draining and
/// instances from an existing pool, or take the Classic ELB defaults.
fn add_listeners(
    state: &mut State,
    name: &str,
    listeners: Vec<Listener>,
    listen_host: Option<IpAddr>,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    if b.listeners.len() + listeners.len() > MAX_LISTENERS {
        return Err(ClassicError::conflict(format!(
            "load balancer '{shown}' would have more than {MAX_LISTENERS} listeners",
            shown = crate::region::local_name(name)
        )));
    }
    for listener in &listeners {
        if let Some(holder) = state.port_holder(name, listener.port, listen_host) {
            return Err(ClassicError::conflict(format!(
                "LoadBalancerPort {}: is already used by load balancer '{holder}' on the same address",
                listener.port
            )));
        }
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
