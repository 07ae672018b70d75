//! The AWS names the ELB formats print for objects a record names only by key: a balancer's
//! `elb` field (`app/<name>/<id>` for ALB, the name for Classic), a pool's target-group ARN and a
//! TLS listener's certificate ARN. Built from each committed state and read by the writer thread
//! only, so the request path never looks them up.

use crate::runtime::ListenerKey;
use burr_model::{State, region};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Names {
    /// Balancer key → ALB's `elb` field.
    alb: HashMap<String, String>,
    /// Pool key → target-group ARN (pools made through the ELBv2 API only).
    target_groups: HashMap<String, String>,
    /// Listener → the ARN of the certificate every client is served (listeners with SNI
    /// certificates are absent: which one a client got is not recorded).
    certificates: HashMap<ListenerKey, String>,
}

impl Names {
    /// The names of `state`'s objects; `account_id` goes into ARNs as the API writes them.
    pub fn of(state: &State, account_id: &str) -> Self {
        let mut names = Names::default();
        for (key, balancer) in &state.balancers {
            let name = region::local_name(key);
            if let Some(v2) = &balancer.aws.elbv2 {
                let elb = format!("{}/{}/{}", v2.kind.arn_segment(), name, v2.id);
                names.alb.insert(key.clone(), elb);
            }
            for listener in &balancer.listeners {
                if let (Some(arn), true) =
                    (&listener.certificate, listener.sni_certificates.is_empty())
                {
                    let listener_key = ListenerKey {
                        balancer: key.clone(),
                        port: listener.port,
                    };
                    names.certificates.insert(listener_key, arn.clone());
                }
            }
        }
        for (key, pool) in &state.pools {
            if let Some(group) = &pool.target_group {
                let arn = format!(
                    "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}",
                    region::region_of(key),
                    account_id,
                    region::local_name(key),
                    group.id
                );
                names.target_groups.insert(key.clone(), arn);
            }
        }
        names
    }

    /// Classic's `elb`: the balancer's name (without its region).
    pub fn classic_elb<'a>(&self, balancer: &'a str) -> &'a str {
        region::local_name(balancer)
    }

    /// ALB's `elb`: `app/<name>/<id>` for an ELBv2 balancer, the name for any other.
    pub fn alb_elb<'a>(&'a self, balancer: &'a str) -> &'a str {
        self.alb
            .get(balancer)
            .map_or_else(|| region::local_name(balancer), String::as_str)
    }

    pub fn target_group_arn(&self, pool: &str) -> Option<&str> {
        self.target_groups.get(pool).map(String::as_str)
    }

    /// The certificate of listener `port` of `balancer` (a TLS listener's one certificate).
    /// A scan: TLS listeners are few, and it needs no key built on the writer's path.
    pub fn chosen_certificate(&self, balancer: &str, port: u16) -> Option<&str> {
        self.certificates
            .iter()
            .find(|(key, _)| key.port == port && key.balancer == balancer)
            .map(|(_, arn)| arn.as_str())
    }

    #[cfg(test)]
    pub fn for_tests(
        alb: &[(&str, &str)],
        target_groups: &[(&str, &str)],
        certificates: &[(ListenerKey, &str)],
    ) -> Self {
        let own = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Names {
            alb: own(alb),
            target_groups: own(target_groups),
            certificates: certificates
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        }
    }
}
