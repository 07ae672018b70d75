//! `DescribeAccountLimits` (burr's own limits under AWS's names) and `DescribeSSLPolicies` (the
//! policies burr's TLS stack honours exactly).

use super::write_page;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::elbv2::{self, SSL_POLICIES};
use burr_model::routing::MAX_RULES_PER_LISTENER;

pub fn account_limits(_c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let limits: Vec<(&str, usize)> = vec![
        ("application-load-balancers", elbv2::MAX_LOAD_BALANCERS),
        ("network-load-balancers", elbv2::MAX_LOAD_BALANCERS),
        ("target-groups", elbv2::MAX_TARGET_GROUPS),
        ("targets-per-application-load-balancer", elbv2::MAX_TARGETS),
        ("targets-per-network-load-balancer", elbv2::MAX_TARGETS),
        (
            "listeners-per-application-load-balancer",
            elbv2::MAX_LISTENERS,
        ),
        ("listeners-per-network-load-balancer", elbv2::MAX_LISTENERS),
        (
            "rules-per-application-load-balancer",
            MAX_RULES_PER_LISTENER,
        ),
        (
            "certificates-per-application-load-balancer",
            elbv2::MAX_LISTENER_CERTIFICATES,
        ),
        (
            "target-groups-per-action-on-application-load-balancer",
            burr_model::routing::MAX_FORWARD_POOLS,
        ),
    ];
    write_page(p, xml, limits, |x, shown| {
        x.members("Limits", shown, |x, (name, max)| {
            x.text("Name", name);
            x.text("Max", &max.to_string());
        });
    })
}

pub fn ssl_policies(_c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let names = p.list("Names");
    for name in &names {
        if !SSL_POLICIES.iter().any(|s| s.name == name) {
            return Err(ApiError::new(
                "SSLPolicyNotFound",
                400,
                format!(
                    "SSL policy '{name}' not found; burr honours {}",
                    SSL_POLICIES
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let chosen: Vec<_> = SSL_POLICIES
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
        .collect();
    write_page(p, xml, chosen, |x, shown| {
        x.members("SslPolicies", shown, |x, policy| {
            let protocols: Vec<String> = policy.protocols.iter().map(|s| s.to_string()).collect();
            x.string_members("SslProtocols", &protocols);
            let ciphers: Vec<(usize, &&str)> = policy.ciphers.iter().enumerate().collect();
            x.members("Ciphers", &ciphers, |x, (i, name)| {
                x.text("Name", name);
                x.text("Priority", &(i + 1).to_string());
            });
            x.text("Name", policy.name);
            x.string_members(
                "SupportedLoadBalancerTypes",
                &["application".to_string(), "network".to_string()],
            );
        });
    })
}
