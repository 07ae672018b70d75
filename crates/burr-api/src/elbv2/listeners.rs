//! Listener actions: create, describe, modify and delete listeners, their attributes and their
//! certificates. Actions are decoded and written by [`super::actions`]; the rules are the
//! model's (`burr_model::elbv2::create_listener` and the rest).

use super::actions::{decode_actions, given, write_actions};
use super::arn::{self, Kind};
use super::balancers::required_key;
use super::{attributes, change, context, write_attributes, write_page};
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::elbv2::{self, ListenerRequest, Resource, V2Protocol};
use burr_model::{Balancer, Listener, State};

/// `parameter` (a listener ARN), required, as (balancer key, listener id).
pub(crate) fn required_listener(
    c: &dyn ControlPlane,
    state: &State,
    p: &Params,
    parameter: &str,
) -> Result<(String, String), ApiError> {
    let text = p.required(parameter)?;
    listener_key(c, state, parameter, text)
}

fn listener_key(
    c: &dyn ControlPlane,
    state: &State,
    parameter: &str,
    text: &str,
) -> Result<(String, String), ApiError> {
    match arn::resolve(c, state, parameter, text, Kind::Listener)? {
        Resource::Listener(key, id) => Ok((key, id)),
        _ => Err(ApiError::invalid(format!(
            "{parameter}: {text:?} is not allowed: must name a listener"
        ))),
    }
}

/// Target group ARN → pool key, against `state`; the model checks again when it changes the
/// state, so a group deleted in between is still refused.
pub(crate) fn group_key(
    c: &dyn ControlPlane,
    state: &State,
    text: &str,
) -> Result<String, ApiError> {
    match arn::resolve(c, state, "TargetGroupArn", text, Kind::TargetGroup)? {
        Resource::TargetGroup(key) => Ok(key),
        _ => Err(ApiError::invalid(format!(
            "TargetGroupArn: {text:?} is not allowed: must name a target group"
        ))),
    }
}

/// `Certificates.member.N.CertificateArn` as a list.
fn certificate_arns(p: &Params) -> Result<Vec<String>, ApiError> {
    p.structures("Certificates")
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.get("CertificateArn").map(str::to_string).ok_or_else(|| {
                ApiError::missing(&format!("Certificates.member.{}.CertificateArn", i + 1))
            })
        })
        .collect()
}

/// The default certificate of `CreateListener` / `ModifyListener`: at most one (more are
/// added with `AddListenerCertificates`).
fn default_certificate(p: &Params) -> Result<Option<String>, ApiError> {
    let mut arns = certificate_arns(p)?;
    if arns.len() > 1 {
        return Err(ApiError::invalid(format!(
            "Certificates: {} certificates are not allowed: give exactly one, the default; add \
             more with AddListenerCertificates",
            arns.len()
        )));
    }
    Ok(arns.pop())
}

/// The members shared by `CreateListener` and `ModifyListener`.
fn request(c: &dyn ControlPlane, state: &State, p: &Params) -> Result<ListenerRequest, ApiError> {
    let resolve = |text: &str| group_key(c, state, text);
    Ok(ListenerRequest {
        protocol: p.get("Protocol").map(str::to_string),
        port: p.int("Port")?,
        ssl_policy: p.get("SslPolicy").map(str::to_string),
        certificate: default_certificate(p)?,
        default_action: decode_actions(p, "DefaultActions", &resolve)?,
        alpn_policy: given(p, "AlpnPolicy").then(|| p.list("AlpnPolicy")),
        tags: p.tags()?,
    })
}

pub fn create(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let key = required_key(c, &state, p)?;
    if !given(p, "DefaultActions") {
        return Err(ApiError::missing("DefaultActions"));
    }
    let request = request(c, &state, p)?;
    let ctx = context(c);
    let (id, state) = change(c, |s| elbv2::create_listener(s, &key, &request, ctx))?;
    write_one(c, &state, &key, &id, xml)
}

fn write_one(
    c: &dyn ControlPlane,
    state: &State,
    key: &str,
    id: &str,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let b = elbv2::load_balancer(state, key, None)?;
    let l = elbv2::listener(state, key, id)?;
    xml.members("Listeners", &[l], |x, l| write_listener(c, state, x, b, l));
    Ok(())
}

/// One `Listener`, in the botocore model's members.
pub fn write_listener(
    c: &dyn ControlPlane,
    state: &State,
    x: &mut Xml,
    b: &Balancer,
    l: &Listener,
) {
    let v2 = l.elbv2.as_ref();
    x.text("ListenerArn", &arn::listener(c, b, l));
    x.text("LoadBalancerArn", &arn::load_balancer(c, b));
    x.text("Port", &l.port.to_string());
    x.text("Protocol", V2Protocol::of_listener(l.protocol).as_str());
    if let Some(certificate) = elbv2::default_certificate(l) {
        x.members(
            "Certificates",
            std::slice::from_ref(&certificate),
            |x, arn| x.text("CertificateArn", arn),
        );
    }
    if let Some(policy) = v2.and_then(|v| v.ssl_policy.as_deref()) {
        x.text("SslPolicy", policy);
    }
    let group_arn = |key: &str| arn::target_group_of_key(c, state, key);
    write_actions(
        x,
        "DefaultActions",
        &l.effective_default_action(),
        &group_arn,
    );
    if let Some(alpn) = v2.map(|v| &v.alpn_policy).filter(|a| !a.is_empty()) {
        x.string_members("AlpnPolicy", alpn);
    }
}

/// `DescribeListeners`: by `LoadBalancerArn` or by `ListenerArns` (one of them).
pub fn describe(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let arns = p.list("ListenerArns");
    let chosen: Vec<(&Balancer, &Listener)> = match (p.get("LoadBalancerArn"), arns.is_empty()) {
        (Some(_), false) => {
            return Err(ApiError::invalid(
                "LoadBalancerArn and ListenerArns cannot be given together",
            ));
        }
        (None, true) => {
            return Err(ApiError::invalid(
                "give LoadBalancerArn or ListenerArns: burr does not list every listener",
            ));
        }
        (Some(_), true) => {
            let key = required_key(c, &state, p)?;
            let b = elbv2::load_balancer(&state, &key, None)?;
            let mut listeners: Vec<&Listener> = b.listeners.iter().collect();
            listeners.sort_by_key(|l| l.port);
            listeners.into_iter().map(|l| (b, l)).collect()
        }
        (None, false) => {
            let mut chosen = Vec::new();
            for text in &arns {
                let (key, id) = listener_key(c, &state, "ListenerArns", text)?;
                let b = elbv2::load_balancer(&state, &key, None)?;
                let l = elbv2::listener(&state, &key, &id)?;
                if !chosen
                    .iter()
                    .any(|(_, seen): &(&Balancer, &Listener)| std::ptr::eq(*seen, l))
                {
                    chosen.push((b, l));
                }
            }
            chosen
        }
    };
    write_page(p, xml, chosen, |x, shown| {
        x.members("Listeners", shown, |x, (b, l)| {
            write_listener(c, &state, x, b, l)
        });
    })
}

pub fn modify(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let (key, id) = required_listener(c, &state, p, "ListenerArn")?;
    let request = request(c, &state, p)?;
    let listen_host = c.listen_host();
    let (_, state) = change(c, |s| {
        elbv2::modify_listener(s, &key, &id, &request, listen_host)
    })?;
    write_one(c, &state, &key, &id, xml)
}

pub fn delete(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let (key, id) = required_listener(c, &c.state(), p, "ListenerArn")?;
    change(c, |s| elbv2::delete_listener(s, &key, &id))?;
    Ok(())
}

pub fn describe_attributes(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let state = c.state();
    let (key, id) = required_listener(c, &state, p, "ListenerArn")?;
    write_attributes(xml, &elbv2::listener_attributes(&state, &key, &id)?);
    Ok(())
}

pub fn modify_attributes(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let (key, id) = required_listener(c, &c.state(), p, "ListenerArn")?;
    let given = attributes(p)?;
    let (_, state) = change(c, |s| {
        elbv2::modify_listener_attributes(s, &key, &id, &given)
    })?;
    write_attributes(xml, &elbv2::listener_attributes(&state, &key, &id)?);
    Ok(())
}

fn required_certificates(p: &Params) -> Result<Vec<String>, ApiError> {
    let arns = certificate_arns(p)?;
    if arns.is_empty() {
        return Err(ApiError::missing("Certificates"));
    }
    Ok(arns)
}

fn write_certificates(x: &mut Xml, certificates: &[(String, bool)]) {
    x.members("Certificates", certificates, |x, (arn, is_default)| {
        x.text("CertificateArn", arn);
        x.text("IsDefault", &is_default.to_string());
    });
}

/// `AddListenerCertificates`: answers the listener's certificates besides the default one.
pub fn add_certificates(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let (key, id) = required_listener(c, &c.state(), p, "ListenerArn")?;
    let arns = required_certificates(p)?;
    let (_, state) = change(c, |s| elbv2::add_listener_certificates(s, &key, &id, &arns))?;
    let l = elbv2::listener(&state, &key, &id)?;
    let added: Vec<(String, bool)> = elbv2::listener_certificates(l)
        .into_iter()
        .filter(|(_, is_default)| !is_default)
        .collect();
    write_certificates(xml, &added);
    Ok(())
}

pub fn remove_certificates(
    c: &dyn ControlPlane,
    p: &Params,
    _xml: &mut Xml,
) -> Result<(), ApiError> {
    let (key, id) = required_listener(c, &c.state(), p, "ListenerArn")?;
    let arns = required_certificates(p)?;
    change(c, |s| {
        elbv2::remove_listener_certificates(s, &key, &id, &arns)
    })?;
    Ok(())
}

/// `DescribeListenerCertificates`: the default certificate with `IsDefault=true`, then the
/// others.
pub fn describe_certificates(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let state = c.state();
    let (key, id) = required_listener(c, &state, p, "ListenerArn")?;
    let l = elbv2::listener(&state, &key, &id)?;
    write_page(p, xml, elbv2::listener_certificates(l), |x, shown| {
        write_certificates(x, shown);
    })
}
