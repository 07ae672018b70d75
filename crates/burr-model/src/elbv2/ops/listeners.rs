//! Listeners of application and network load balancers: create, modify and delete them, their
//! attributes and their certificates.
//!
//! An ELBv2 listener is an ordinary [`Listener`] with `elbv2` set. Its default action is the
//! listener's `default_action` on HTTP and HTTPS listeners; TCP and TLS listeners forward to
//! exactly one target group, kept in `pool` (the model gives them no actions). `pool` names the
//! target group when the default action forwards to exactly one, and is empty otherwise. The
//! pools' target protocol follows the listener's `instance_protocol`, so every target group one
//! listener forwards to (by default or by a rule) must have the same protocol.

use super::parameters::{check_routing, commit_listener};
use super::*;
use crate::elbv2::attributes::{check_keys, described};
use crate::elbv2::{
    Context, DEFAULT_SSL_POLICY, LISTENER_ATTRIBUTES, LoadBalancerType, MAX_LISTENER_CERTIFICATES,
    MAX_LISTENERS, MAX_TAGS, SSL_POLICIES, V2Listener, V2Protocol,
};
use crate::routing::Action;
use crate::{Protocol, region};

/// `AlpnPolicy` values of a TLS listener: stored and returned.
pub const ALPN_POLICIES: [&str; 5] = [
    "HTTP1Only",
    "HTTP2Only",
    "HTTP2Optional",
    "HTTP2Preferred",
    "None",
];

/// `CreateListener` and `ModifyListener` as the API gives them, target group ARNs already
/// turned into pool keys. For a modification, absent members keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerRequest {
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub ssl_policy: Option<String>,
    /// `Certificates.member.1.CertificateArn`: the default certificate.
    pub certificate: Option<String>,
    pub default_action: Option<Action>,
    pub alpn_policy: Option<Vec<String>>,
    pub tags: Vec<(String, String)>,
}

/// burr's listener protocol for an ELBv2 one, refusing those burr does not serve and those the
/// balancer's type does not take.
fn listener_protocol(
    kind: LoadBalancerType,
    text: &str,
) -> Result<(V2Protocol, Protocol), V2Error> {
    let unsupported = |why: &str| {
        V2Error::new(
            ErrorCode::UnsupportedProtocol,
            format!("Protocol: {text:?} is not allowed: {why}"),
        )
    };
    let v2 = V2Protocol::parse(text).ok_or_else(|| {
        V2Error::parameter(
            "Protocol",
            format!("{text:?}"),
            "must be one of HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP",
        )
    })?;
    let protocol = v2.listener_protocol();
    match kind {
        LoadBalancerType::Application if !v2.is_application() => Err(unsupported(
            "an application load balancer listens with HTTP or HTTPS",
        )),
        LoadBalancerType::Network if v2.is_application() => Err(unsupported(
            "a network load balancer listens with TCP, TLS, UDP or TCP_UDP",
        )),
        _ => Ok((v2, protocol)),
    }
}

/// burr's target protocol for a target group's behind a listener of `listener`'s protocol. A
/// TCP_UDP group takes what its listener receives: connections behind TCP, datagrams behind
/// UDP, both behind TCP_UDP.
fn target_protocol(group: V2Protocol, listener: Protocol) -> Protocol {
    match group {
        V2Protocol::Http => Protocol::Http,
        V2Protocol::Https => Protocol::Https,
        V2Protocol::Tls => Protocol::Ssl,
        V2Protocol::Tcp => Protocol::Tcp,
        V2Protocol::Udp => Protocol::Udp,
        V2Protocol::TcpUdp => match listener {
            Protocol::Udp => Protocol::Udp,
            Protocol::TcpUdp => Protocol::TcpUdp,
            _ => Protocol::Tcp,
        },
    }
}

/// Checks the target groups of `action` (`parameter` names it, e.g. `DefaultActions`) against a
/// listener of `protocol`: each exists, has a protocol the listener can forward to, and a
/// network listener forwards to exactly one.
pub(crate) fn check_action(
    state: &State,
    protocol: V2Protocol,
    action: &Action,
    parameter: &str,
) -> Result<(), V2Error> {
    if !protocol.is_application() {
        let one_group = matches!(action, Action::Forward(f) if f.groups().count() == 1);
        if !one_group {
            return Err(V2Error::new(
                ErrorCode::InvalidLoadBalancerAction,
                format!(
                    "{parameter}: a {} action is not allowed: a {} listener forwards to exactly \
                     one target group",
                    action.type_name(),
                    protocol.as_str()
                ),
            ));
        }
    }
    for pool in action.pools() {
        let group = target_group(state, pool, None)?
            .target_group
            .as_ref()
            .map(|g| g.protocol)
            .ok_or_else(|| V2Error::no_target_group(region::local_name(pool)))?;
        let fits = match protocol {
            V2Protocol::Http | V2Protocol::Https => group.is_application(),
            // AWS's table of listener and target group protocols (NLB guide, "Routing
            // configuration"): a TCP_UDP group also serves a TCP or a UDP listener.
            V2Protocol::Tcp => matches!(group, V2Protocol::Tcp | V2Protocol::TcpUdp),
            V2Protocol::Tls => matches!(group, V2Protocol::Tcp | V2Protocol::Tls),
            V2Protocol::Udp => matches!(group, V2Protocol::Udp | V2Protocol::TcpUdp),
            V2Protocol::TcpUdp => group == V2Protocol::TcpUdp,
        };
        if !fits {
            return Err(V2Error::new(
                ErrorCode::IncompatibleProtocols,
                format!(
                    "{parameter}: target group '{}' has protocol {}, which a {} listener cannot \
                     forward to",
                    region::local_name(pool),
                    group.as_str(),
                    protocol.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// Sets the listener's `instance_protocol` from the target groups it forwards to (by default
/// and by its rules), which must all have one protocol: burr speaks one protocol to a
/// listener's targets. `parameter` names what the operation changed.
pub(crate) fn settle_target_protocol(
    state: &State,
    listener: &mut Listener,
    parameter: &str,
) -> Result<(), V2Error> {
    let mut found: Option<(&str, V2Protocol)> = None;
    let actions = listener
        .default_action
        .iter()
        .chain(listener.rules.iter().map(|r| &r.action));
    let pools = std::iter::once(listener.pool.as_str())
        .filter(|p| !p.is_empty())
        .chain(actions.flat_map(Action::pools));
    for pool in pools {
        let Some(group) = state.pools.get(pool).and_then(|p| p.target_group.as_ref()) else {
            continue;
        };
        match found {
            None => found = Some((pool, group.protocol)),
            Some((first, protocol)) if protocol != group.protocol => {
                return Err(V2Error::new(
                    ErrorCode::IncompatibleProtocols,
                    format!(
                        "{parameter}: target group '{}' has protocol {}, but this listener \
                         already forwards to '{}' with protocol {}; burr speaks one protocol to \
                         a listener's targets",
                        region::local_name(pool),
                        group.protocol.as_str(),
                        region::local_name(first),
                        protocol.as_str()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let received = listener.protocol;
    listener.instance_protocol = found.map(|(_, protocol)| target_protocol(protocol, received));
    Ok(())
}

/// The certificate, security policy and ALPN policy a listener of `protocol` ends up with:
/// HTTPS and TLS need a stored certificate and take a policy; others take neither.
struct Tls {
    /// The ARN of a stored certificate, or…
    certificate: Option<String>,
    /// …the PEM file holding the chain and its key (a path, as Classic's `SSLCertificateId`
    /// may be).
    files: Option<crate::TlsFiles>,
    ssl_policy: Option<String>,
    alpn_policy: Vec<String>,
}

fn check_tls(
    state: &State,
    protocol: V2Protocol,
    certificate: Option<&str>,
    ssl_policy: Option<&str>,
    alpn_policy: &[String],
) -> Result<Tls, V2Error> {
    let tls = matches!(protocol, V2Protocol::Https | V2Protocol::Tls);
    if !tls {
        let given = [
            ("Certificates", certificate.is_some()),
            ("SslPolicy", ssl_policy.is_some()),
            ("AlpnPolicy", !alpn_policy.is_empty()),
        ];
        if let Some((parameter, _)) = given.iter().find(|(_, given)| *given) {
            return Err(V2Error::parameter(
                parameter,
                "(present)",
                format!(
                    "only HTTPS and TLS listeners take it (this one is {})",
                    protocol.as_str()
                ),
            ));
        }
        return Ok(Tls {
            certificate: None,
            files: None,
            ssl_policy: None,
            alpn_policy: Vec::new(),
        });
    }
    let Some(certificate) = certificate else {
        return Err(V2Error::parameter(
            "Certificates",
            "(missing)",
            format!(
                "an {} listener needs a default certificate (Certificates.member.1.CertificateArn)",
                protocol.as_str()
            ),
        ));
    };
    // Not an ARN: the path of a PEM file with the chain and its private key (read when the
    // listener is put in service; a file that cannot be used refuses the change then).
    let is_arn = crate::certificates::is_certificate_arn(certificate);
    if is_arn && !state.certificates.contains_key(certificate) {
        return Err(V2Error::new(
            ErrorCode::CertificateNotFound,
            format!(
                "Certificates.member.1.CertificateArn: {certificate:?} is not allowed: names no \
                 certificate burr holds; import it with ACM or upload it with IAM"
            ),
        ));
    }
    let (files, certificate) = if is_arn {
        (None, Some(certificate.to_string()))
    } else {
        let path = std::path::PathBuf::from(certificate);
        let files = crate::TlsFiles {
            certificate: path.clone(),
            private_key: path,
        };
        (Some(files), None)
    };
    let policy = ssl_policy.unwrap_or(DEFAULT_SSL_POLICY);
    if !SSL_POLICIES.iter().any(|p| p.name == policy) {
        let names: Vec<&str> = SSL_POLICIES.iter().map(|p| p.name).collect();
        return Err(V2Error::new(
            ErrorCode::SslPolicyNotFound,
            format!(
                "SslPolicy: {policy:?} is not allowed: burr honours {}",
                names.join(", ")
            ),
        ));
    }
    if !alpn_policy.is_empty() {
        if protocol != V2Protocol::Tls {
            return Err(V2Error::parameter(
                "AlpnPolicy",
                format!("{alpn_policy:?}"),
                "only TLS listeners take an ALPN policy",
            ));
        }
        if alpn_policy.len() > 1 || !ALPN_POLICIES.contains(&alpn_policy[0].as_str()) {
            return Err(V2Error::parameter(
                "AlpnPolicy",
                format!("{alpn_policy:?}"),
                format!("must be one of {}", ALPN_POLICIES.join(", ")),
            ));
        }
    }
    Ok(Tls {
        certificate,
        files,
        ssl_policy: Some(policy.to_string()),
        alpn_policy: alpn_policy.to_vec(),
    })
}

/// Sets a listener's protocol, certificate, policies and default action (all checked already
/// by the caller against `protocol`).
fn shape_listener(listener: &mut Listener, protocol: Protocol, tls: Tls, default_action: Action) {
    listener.protocol = protocol;
    listener.certificate = tls.certificate;
    listener.tls = tls.files;
    if !protocol.is_tls() {
        listener.sni_certificates.clear();
    }
    // A certificate made the default is no longer listed among the others.
    let default = listener.certificate.clone();
    listener
        .sni_certificates
        .retain(|arn| Some(arn) != default.as_ref());
    let single = match &default_action {
        Action::Forward(f) if f.groups().count() == 1 => f.groups().next().map(|(p, _)| p),
        _ => None,
    };
    listener.pool = single.unwrap_or_default().to_string();
    // TCP and TLS listeners take no actions in the model: their one target group is `pool`.
    listener.default_action = protocol.is_http().then_some(default_action);
    if let Some(v2) = listener.elbv2.as_mut() {
        v2.ssl_policy = tls.ssl_policy;
        v2.alpn_policy = tls.alpn_policy;
    }
}

fn kind_of(b: &Balancer) -> LoadBalancerType {
    b.aws
        .elbv2
        .as_ref()
        .map_or(LoadBalancerType::Application, |v| v.kind)
}

fn port_of(port: Option<i64>) -> Result<u16, V2Error> {
    let port = port.ok_or_else(|| V2Error::parameter("Port", "(missing)", "give a port"))?;
    number_in("Port", port, 1, 65_535).map(|p| p as u16)
}

fn check_port_free(b: &Balancer, port: u16, except: Option<usize>) -> Result<(), V2Error> {
    let taken = b
        .listeners
        .iter()
        .enumerate()
        .any(|(i, l)| l.port == port && Some(i) != except);
    if taken {
        return Err(V2Error::new(
            ErrorCode::DuplicateListener,
            format!(
                "A listener already exists on port {port} of load balancer '{}'",
                region::local_name(&b.name)
            ),
        ));
    }
    Ok(())
}

/// `CreateListener`; answers the new listener's id.
pub fn create_listener(
    state: &mut State,
    key: &str,
    request: &ListenerRequest,
    context: Context,
) -> Result<String, V2Error> {
    let b = load_balancer(state, key, None)?;
    let kind = kind_of(b);
    let protocol_text = request.protocol.as_deref().ok_or_else(|| {
        V2Error::parameter(
            "Protocol",
            "(missing)",
            "give HTTP or HTTPS (application) or TCP or TLS (network)",
        )
    })?;
    let (v2_protocol, protocol) = listener_protocol(kind, protocol_text)?;
    let port = port_of(request.port)?;
    check_port_free(b, port, None)?;
    if b.listeners.len() >= MAX_LISTENERS {
        return Err(V2Error::new(
            ErrorCode::TooManyListeners,
            format!(
                "Load balancer '{}' has {} listeners; burr allows at most {MAX_LISTENERS}",
                region::local_name(key),
                b.listeners.len()
            ),
        ));
    }
    let tls = check_tls(
        state,
        v2_protocol,
        request.certificate.as_deref(),
        request.ssl_policy.as_deref(),
        request.alpn_policy.as_deref().unwrap_or_default(),
    )?;
    let action = request
        .default_action
        .clone()
        .ok_or_else(|| V2Error::parameter("DefaultActions", "(missing)", "give one action"))?;
    check_action(state, v2_protocol, &action, "DefaultActions")?;
    if protocol.is_http() {
        check_routing(&[], Some(&action), protocol == Protocol::Https)?;
    }
    if request.tags.len() > MAX_TAGS {
        return Err(V2Error::new(
            ErrorCode::TooManyTags,
            format!(
                "Tags: {} tags are not allowed: at most {MAX_TAGS}",
                request.tags.len()
            ),
        ));
    }
    check_tags(&request.tags)?;
    // A new listener keeps the balancer's idle timeout (`idle_timeout.timeout_seconds`).
    let idle_timeout = b
        .aws
        .elbv2
        .as_ref()
        .and_then(|v| v.attributes.get("idle_timeout.timeout_seconds"))
        .and_then(|v| v.parse().ok());
    let id = context.new_id(&format!("listener/{key}/{port}"));
    let mut listener = Listener::new(port, protocol, String::new());
    if let Some(secs) = idle_timeout {
        listener.idle_timeout_secs = secs;
    }
    // An NLB listener's idle timeout is `tcp.idle_timeout.seconds`, 350 until set.
    if network(b) {
        listener.idle_timeout_secs = crate::elbv2::DEFAULT_TCP_IDLE_TIMEOUT_SECS;
    }
    listener.elbv2 = Some(V2Listener {
        id: id.clone(),
        default_rule_id: context.new_id(&format!("listener-rule/{key}/{port}")),
        ssl_policy: None,
        alpn_policy: Vec::new(),
        attributes: Default::default(),
        tags: request.tags.iter().cloned().collect(),
        default_rule_tags: Default::default(),
    });
    shape_listener(&mut listener, protocol, tls, action);
    settle_target_protocol(state, &mut listener, "DefaultActions")?;
    commit_listener(state, key, None, listener, context.listen_host)?;
    Ok(id)
}

/// `ModifyListener`: the members given change, the rest stay; the result is checked as a whole
/// (an HTTPS listener made HTTP drops its certificate and policy, an HTTP one made HTTPS needs
/// them).
pub fn modify_listener(
    state: &mut State,
    key: &str,
    id: &str,
    request: &ListenerRequest,
    listen_host: Option<std::net::IpAddr>,
) -> Result<(), V2Error> {
    let b = load_balancer(state, key, None)?;
    let index = listener_index(b, id)?;
    let current = &b.listeners[index];
    let kind = kind_of(b);
    let old_v2 = V2Protocol::of_listener(current.protocol);
    let (v2_protocol, protocol) = match &request.protocol {
        Some(text) => listener_protocol(kind, text)?,
        None => (old_v2, current.protocol),
    };
    let port = match request.port {
        Some(_) => port_of(request.port)?,
        None => current.port,
    };
    check_port_free(b, port, Some(index))?;
    let was_tls = matches!(old_v2, V2Protocol::Https | V2Protocol::Tls);
    let tls_now = matches!(v2_protocol, V2Protocol::Https | V2Protocol::Tls);
    let v2 = current.elbv2.as_ref();
    // What is not given is kept while the listener stays HTTPS or TLS; a listener that becomes
    // one needs a certificate and gets the default policy.
    let certificate = request
        .certificate
        .clone()
        .or_else(|| current.certificate.clone().filter(|_| was_tls && tls_now));
    let ssl_policy = request.ssl_policy.clone().or_else(|| {
        v2.and_then(|v| v.ssl_policy.clone())
            .filter(|_| was_tls && tls_now)
    });
    let alpn_policy = request.alpn_policy.clone().unwrap_or_else(|| {
        v2.filter(|_| old_v2 == V2Protocol::Tls && v2_protocol == V2Protocol::Tls)
            .map(|v| v.alpn_policy.clone())
            .unwrap_or_default()
    });
    let tls = check_tls(
        state,
        v2_protocol,
        certificate.as_deref(),
        ssl_policy.as_deref(),
        &alpn_policy,
    )?;
    let action = match &request.default_action {
        Some(action) => action.clone(),
        None => current.effective_default_action(),
    };
    let parameter = if request.default_action.is_some() {
        "DefaultActions"
    } else {
        "Protocol"
    };
    check_action(state, v2_protocol, &action, parameter)?;
    if !protocol.is_http() && !current.rules.is_empty() {
        return Err(V2Error::new(
            ErrorCode::IncompatibleProtocols,
            format!(
                "Protocol: {:?} is not allowed: the listener has {} rules, which only HTTP and \
                 HTTPS listeners take",
                v2_protocol.as_str(),
                current.rules.len()
            ),
        ));
    }
    if protocol.is_http() {
        check_routing(&[], Some(&action), protocol == Protocol::Https)?;
        for rule in &current.rules {
            check_routing(
                std::slice::from_ref(rule),
                None,
                protocol == Protocol::Https,
            )?;
        }
    }
    let mut listener = current.clone();
    listener.port = port;
    shape_listener(&mut listener, protocol, tls, action);
    settle_target_protocol(state, &mut listener, parameter)?;
    commit_listener(state, key, Some(index), listener, listen_host)
}

/// `DeleteListener`: the listener and its rules go; its target groups stay.
pub fn delete_listener(state: &mut State, key: &str, id: &str) -> Result<(), V2Error> {
    let b = load_balancer_mut(state, key)?;
    let index = listener_index(b, id)?;
    b.listeners.remove(index);
    Ok(())
}

fn network(b: &Balancer) -> bool {
    kind_of(b) == LoadBalancerType::Network
}

/// `DescribeListenerAttributes`: every key of the balancer's type, as set or by default.
pub fn listener_attributes(
    state: &State,
    key: &str,
    id: &str,
) -> Result<Vec<(String, String)>, V2Error> {
    let b = load_balancer(state, key, None)?;
    let l = &b.listeners[listener_index(b, id)?];
    let stored = l
        .elbv2
        .as_ref()
        .map(|v| v.attributes.clone())
        .unwrap_or_default();
    Ok(described(LISTENER_ATTRIBUTES, network(b), &stored))
}

/// `ModifyListenerAttributes`: the keys of the balancer's type, checked and stored (burr's
/// listeners have their own idle timeouts; these are returned as set).
pub fn modify_listener_attributes(
    state: &mut State,
    key: &str,
    id: &str,
    given: &[(String, String)],
) -> Result<(), V2Error> {
    let b = load_balancer(state, key, None)?;
    listener_index(b, id)?;
    check_keys(LISTENER_ATTRIBUTES, network(b), given)?;
    for (k, value) in given {
        if k == "tcp.idle_timeout.seconds" {
            let (lo, hi) = crate::elbv2::TCP_IDLE_TIMEOUT_SECS;
            number_in(
                &format!("Attribute {k}"),
                value.parse().unwrap_or(-1),
                lo,
                hi,
            )?;
        }
        if k.ends_with(".enabled") && value != "true" && value != "false" {
            return Err(V2Error::parameter(
                &format!("Attribute {k}"),
                format!("{value:?}"),
                "must be true or false",
            ));
        }
    }
    let b = load_balancer_mut(state, key)?;
    let index = listener_index(b, id)?;
    let listener = &mut b.listeners[index];
    for (k, value) in given {
        // The relay's idle timeout (checked above to be 60–6000).
        if k == "tcp.idle_timeout.seconds"
            && let Ok(secs) = value.parse::<u32>()
        {
            listener.idle_timeout_secs = secs;
        }
    }
    if let Some(v2) = listener.elbv2.as_mut() {
        for (k, value) in given {
            v2.attributes.insert(k.clone(), value.clone());
        }
    }
    Ok(())
}

/// `DescribeListenerCertificates`: the default certificate (flagged `true`), then the others.
pub fn listener_certificates(listener: &Listener) -> Vec<(String, bool)> {
    default_certificate(listener)
        .into_iter()
        .map(|id| (id, true))
        .chain(
            listener
                .sni_certificates
                .iter()
                .map(|arn| (arn.clone(), false)),
        )
        .collect()
}

/// The default certificate as the API names it: its ARN, or the path of its PEM file.
pub fn default_certificate(listener: &Listener) -> Option<String> {
    listener.certificate.clone().or_else(|| {
        listener
            .tls
            .as_ref()
            .map(|files| files.certificate.display().to_string())
    })
}

/// `AddListenerCertificates`: certificates served by SNI besides the default one. One already
/// on the listener is not added again.
pub fn add_listener_certificates(
    state: &mut State,
    key: &str,
    id: &str,
    arns: &[String],
) -> Result<(), V2Error> {
    let l = listener(state, key, id)?;
    if !l.protocol.is_tls() {
        return Err(V2Error::parameter(
            "ListenerArn",
            format!(
                "{:?} listener",
                V2Protocol::of_listener(l.protocol).as_str()
            ),
            "only HTTPS and TLS listeners take certificates",
        ));
    }
    let region = region::region_of(key);
    for (i, arn) in arns.iter().enumerate() {
        // An ACM certificate serves balancers of its own region only, as the default one.
        let usable = state
            .certificates
            .get(arn)
            .is_some_and(|c| c.region().is_none_or(|r| r == region));
        if !usable {
            return Err(V2Error::new(
                ErrorCode::CertificateNotFound,
                format!(
                    "Certificates.member.{}.CertificateArn: {arn:?} is not allowed: names no \
                     certificate burr holds for region {region} (an ACM certificate of this \
                     region, or an IAM server certificate)",
                    i + 1
                ),
            ));
        }
    }
    let mut extra = l.sni_certificates.clone();
    for arn in arns {
        if l.certificate.as_ref() != Some(arn) && !extra.contains(arn) {
            extra.push(arn.clone());
        }
    }
    if extra.len() > MAX_LISTENER_CERTIFICATES {
        return Err(V2Error::new(
            ErrorCode::TooManyCertificates,
            format!(
                "the listener would have {} certificates besides the default one; burr allows \
                 at most {MAX_LISTENER_CERTIFICATES}",
                extra.len()
            ),
        ));
    }
    let b = load_balancer_mut(state, key)?;
    let index = listener_index(b, id)?;
    b.listeners[index].sni_certificates = extra;
    Ok(())
}

/// `RemoveListenerCertificates`: the default certificate cannot be removed (ModifyListener
/// replaces it); certificates not on the listener are ignored.
pub fn remove_listener_certificates(
    state: &mut State,
    key: &str,
    id: &str,
    arns: &[String],
) -> Result<(), V2Error> {
    let l = listener(state, key, id)?;
    if let Some((i, arn)) = arns
        .iter()
        .enumerate()
        .find(|(_, arn)| l.certificate.as_ref() == Some(*arn))
    {
        return Err(V2Error::new(
            ErrorCode::OperationNotPermitted,
            format!(
                "Certificates.member.{}.CertificateArn: {arn:?} is not allowed: it is the \
                 listener's default certificate; replace it with ModifyListener",
                i + 1
            ),
        ));
    }
    let b = load_balancer_mut(state, key)?;
    let index = listener_index(b, id)?;
    b.listeners[index]
        .sni_certificates
        .retain(|arn| !arns.contains(arn));
    Ok(())
}
