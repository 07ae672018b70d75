//! The whole configuration: every balancer and pool, and the rules that span objects.

use crate::alias::Alias;
use crate::balancer::Balancer;
use crate::balancer::Protocol;
use crate::certificates::{Certificate, LocalAuthority};
use crate::error::{Errors, FieldPath, PathSegment, ValidationError};
use crate::pool::Pool;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// Which front door owns an object. Objects from the configuration file are replaced as a whole
/// when the file is (re)loaded; objects created through an API are left alone by a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    #[default]
    File,
    Api,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Api => "api",
        }
    }
}

/// Every balancer, pool and instance alias, by name, and the certificates burr holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub balancers: BTreeMap<String, Balancer>,
    pub pools: BTreeMap<String, Pool>,
    pub aliases: BTreeMap<String, Alias>,
    /// ACM and IAM server certificates, by ARN (always API-owned).
    pub certificates: BTreeMap<String, Certificate>,
    /// The local certificate authority behind ACM `RequestCertificate`, once made.
    pub certificate_authority: Option<LocalAuthority>,
    /// CloudFront distributions, by id.
    pub distributions: BTreeMap<String, crate::cloudfront::Distribution>,
    /// CloudFront continuous-deployment policies, by id.
    pub deployment_policies: BTreeMap<String, crate::cloudfront::DeploymentPolicy>,
}

impl State {
    /// Checks every object and every rule between objects. `listen_host`, when set, is the one
    /// address all listeners bind (the `--listen-host` option), so any two listeners on the same
    /// port clash.
    ///
    /// CloudFront distributions are checked by their own rules and through their front ends
    /// ([`crate::cloudfront::front_ends`]): those balancers and pools obey every rule any
    /// balancer and pool does, and their ports clash with other balancers' like any other.
    pub fn validate(&self, listen_host: Option<IpAddr>) -> Result<(), Vec<ValidationError>> {
        let mut errors = Errors::default();
        if self.distributions.is_empty() && self.deployment_policies.is_empty() {
            self.validate_objects(listen_host, &mut errors);
        } else {
            crate::cloudfront::validate_into(self, &mut errors);
            self.with_front_ends(&mut errors)
                .validate_objects(listen_host, &mut errors);
        }
        if errors.0.is_empty() {
            Ok(())
        } else {
            Err(errors.0)
        }
    }

    /// This state with the distributions' front-end balancers and pools added (a name already
    /// taken is an error), the staging arms' balancers checked on their own.
    fn with_front_ends(&self, errors: &mut Errors) -> State {
        let front_ends = crate::cloudfront::front_ends(self);
        let mut merged = self.clone();
        for balancer in front_ends.balancers {
            if merged.balancers.contains_key(&balancer.name) {
                errors.push(
                    balancer.path().field("name"),
                    format!("{:?}", balancer.name),
                    "is the name of a CloudFront distribution's front end; balancer names \
                     starting with cloudfront- are taken by distributions",
                );
            }
            merged.balancers.insert(balancer.name.clone(), balancer);
        }
        for pool in front_ends.pools {
            if merged.pools.contains_key(&pool.name) {
                errors.push(
                    FieldPath::root()
                        .with(PathSegment::Pool(pool.name.clone()))
                        .field("name"),
                    format!("{:?}", pool.name),
                    "is the name of a CloudFront distribution's origin pool; pool names \
                     starting with cloudfront- are taken by distributions",
                );
            }
            merged.pools.insert(pool.name.clone(), pool);
        }
        for split in &front_ends.splits {
            split.staging.validate_into(errors);
        }
        merged
    }

    /// Every balancer, pool and alias, and the rules between them.
    fn validate_objects(&self, listen_host: Option<IpAddr>, errors: &mut Errors) {
        for alias in self.aliases.values() {
            alias.validate_into(errors);
        }
        for pool in self.pools.values() {
            let path = FieldPath::root().with(PathSegment::Pool(pool.name.clone()));
            pool.validate_into(&path, errors);
        }
        // port -> (bind address, balancer holding it, its listener's protocol)
        let mut bound: BTreeMap<u16, Vec<(IpAddr, &str, Protocol)>> = BTreeMap::new();
        for (key, certificate) in &self.certificates {
            if *key != certificate.arn {
                errors.push(
                    FieldPath::root().field("certificates"),
                    format!("{key:?}"),
                    format!(
                        "is stored under a key other than its ARN {:?}",
                        certificate.arn
                    ),
                );
            }
        }
        for (key, balancer) in &self.balancers {
            balancer.validate_into(errors);
            let address = bind_address(balancer, listen_host);
            for listener in &balancer.listeners {
                let path = balancer.path().with(PathSegment::Listener(listener.port));
                if let Some(arn) = &listener.certificate {
                    let field = path.field("certificate");
                    self.check_listener_certificate(key, arn, field, errors);
                }
                for (i, arn) in listener.sni_certificates.iter().enumerate() {
                    let field = path.field("sni_certificates").index(i);
                    self.check_listener_certificate(key, arn, field, errors);
                }
                if let Some(name) = listener.pool_name()
                    && !self.pools.contains_key(name)
                {
                    errors.push(
                        path.field("pool"),
                        format!("{:?}", listener.pool),
                        "names no pool; declare the pool or fix the name",
                    );
                }
                self.check_action_pools(listener, &path, errors);
                if let Some(pool) = self.pools.get(&listener.pool)
                    && !listener.protocol.is_http()
                    && pool.stickiness.reads_requests()
                {
                    errors.push(
                        path.field("protocol"),
                        format!("{:?}", listener.protocol.as_str()),
                        format!(
                            "pool \"{}\" has cookie or header stickiness, which needs an http or \
                             https listener (tcp and ssl listeners may use source_ip stickiness)",
                            pool.name
                        ),
                    );
                }
                if let Some(pool) = self.pools.get(&listener.pool)
                    && listener.protocol.carries_datagrams()
                    && pool.upstream.proxy_protocol_version() == Some(1)
                {
                    errors.push(
                        path.field("protocol"),
                        format!("{:?}", listener.protocol.as_str()),
                        format!(
                            "pool \"{}\" sends PROXY protocol version 1, a text line for TCP \
                             only; a udp or tcp_udp listener needs proxy_protocol_version = 2 \
                             (allowed: 2) or proxy_protocol off",
                            pool.name
                        ),
                    );
                }
                let holders = bound.entry(listener.port).or_default();
                // A TCP and a UDP socket may share an address and port; tcp_udp takes both.
                let clashes = |other: Protocol| {
                    (other.carries_connections() && listener.protocol.carries_connections())
                        || (other.carries_datagrams() && listener.protocol.carries_datagrams())
                };
                if let Some((_, holder, _)) = holders
                    .iter()
                    .find(|(other, _, protocol)| overlaps(*other, address) && clashes(*protocol))
                {
                    errors.push(
                        path.field("port"),
                        listener.port,
                        format!(
                            "port {} on {address} is already used by balancer \"{holder}\"",
                            listener.port
                        ),
                    );
                } else {
                    holders.push((address, &balancer.name, listener.protocol));
                }
            }
        }
    }

    /// Checks that every pool a rule's or the default action names exists, and AWS's rules on
    /// weighted forwards: with several pools of which one has stickiness, group stickiness must
    /// be on (the ALB guide's "you must enable target group stickiness").
    fn check_action_pools(
        &self,
        listener: &crate::Listener,
        path: &FieldPath,
        errors: &mut Errors,
    ) {
        use crate::routing::Action;
        let actions = listener
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (path.field("rule").index(i).field("action"), &r.action))
            .chain(
                listener
                    .default_action
                    .iter()
                    .map(|a| (path.field("default_action"), a)),
            );
        for (apath, action) in actions {
            let Action::Forward(forward) = action else {
                continue;
            };
            let fpath = apath.field("forward");
            let groups: Vec<(&str, u32)> = forward.groups().collect();
            for (i, (name, _)) in groups.iter().enumerate() {
                let npath = if forward.pool.is_some() {
                    fpath.field("pool")
                } else {
                    fpath.field("pools").index(i).field("pool")
                };
                let Some(pool) = self.pools.get(*name) else {
                    errors.push(
                        npath,
                        format!("{name:?}"),
                        "names no pool; declare the pool or fix the name",
                    );
                    continue;
                };
                if groups.len() > 1
                    && pool.stickiness.kind != crate::StickinessKind::None
                    && forward.stickiness_secs.is_none()
                {
                    errors.push(
                        fpath.field("stickiness_secs"),
                        "(missing)",
                        format!(
                            "pool \"{name}\" has stickiness, so a forward to several pools \
                             needs group stickiness (stickiness_secs, 1-604800 seconds)"
                        ),
                    );
                }
            }
        }
    }

    /// Checks that a listener of the balancer stored under `key` names (at `field`) a
    /// certificate burr holds, of the balancer's region when it is an ACM one.
    fn check_listener_certificate(
        &self,
        key: &str,
        arn: &str,
        field: FieldPath,
        errors: &mut Errors,
    ) {
        if arn == crate::certificates::SELF_SIGNED_CERTIFICATE {
            return;
        }
        let Some(certificate) = self.certificates.get(arn) else {
            errors.push(
                field,
                format!("{arn:?}"),
                "names no certificate burr holds; import it with ACM ImportCertificate or \
                 RequestCertificate, or upload it with IAM UploadServerCertificate",
            );
            return;
        };
        let region = crate::region::region_of(key);
        if let Some(cert_region) = certificate.region()
            && cert_region != region
        {
            errors.push(
                field,
                format!("{arn:?}"),
                format!(
                    "is an ACM certificate of region {cert_region}; a load balancer of region \
                     {region} may use ACM certificates of {region} or IAM server certificates"
                ),
            );
        }
    }

    /// Replaces every file-owned object with `balancers`, `pools` and `aliases` (from a freshly
    /// read configuration file), keeping API-owned objects unless the file names them too.
    pub fn with_file_objects(
        &self,
        balancers: Vec<Balancer>,
        pools: Vec<Pool>,
        aliases: Vec<Alias>,
    ) -> State {
        let mut next = self.clone();
        next.balancers.retain(|_, b| b.origin != Origin::File);
        next.pools.retain(|_, p| p.origin != Origin::File);
        next.aliases.retain(|_, a| a.origin != Origin::File);
        for mut alias in aliases {
            alias.origin = Origin::File;
            next.aliases.insert(alias.name.clone(), alias);
        }
        for mut balancer in balancers {
            balancer.origin = Origin::File;
            next.balancers.insert(balancer.name.clone(), balancer);
        }
        for mut pool in pools {
            pool.origin = Origin::File;
            next.pools.insert(pool.name.clone(), pool);
        }
        next
    }

    /// Replaces every file-owned CloudFront distribution and policy with those of a freshly read
    /// configuration file, keeping API-owned ones unless the file names them too.
    pub fn with_file_cloudfront(
        &self,
        distributions: Vec<crate::cloudfront::Distribution>,
        policies: Vec<crate::cloudfront::DeploymentPolicy>,
    ) -> State {
        let mut next = self.clone();
        next.distributions.retain(|_, d| d.origin != Origin::File);
        next.deployment_policies
            .retain(|_, p| p.origin != Origin::File);
        for mut dist in distributions {
            dist.origin = Origin::File;
            next.distributions.insert(dist.id.clone(), dist);
        }
        for mut policy in policies {
            policy.origin = Origin::File;
            // A reload that enables, disables or re-targets a policy resets its sessions, as
            // an API update does.
            if let Some(old) = self.deployment_policies.get(&policy.id) {
                let resets = crate::cloudfront::resets_sessions(
                    old,
                    policy.enabled,
                    &policy.traffic,
                    &policy.staging_dns_names,
                );
                policy.generation = policy
                    .generation
                    .max(old.generation)
                    .wrapping_add(u32::from(resets));
            }
            next.deployment_policies.insert(policy.id.clone(), policy);
        }
        next
    }
}

/// The address a balancer's listeners bind: `--listen-host`, else its own, else all addresses.
pub fn bind_address(balancer: &Balancer, listen_host: Option<IpAddr>) -> IpAddr {
    listen_host
        .or(balancer.address)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl State {
    /// The balancer other than `except` that already listens on `port` where a listener of
    /// `except` would bind (the clash [`State::validate`] reports, named from `except`'s side).
    pub fn port_holder(
        &self,
        except: &str,
        port: u16,
        listen_host: Option<IpAddr>,
    ) -> Option<&str> {
        let me = self.balancers.get(except)?;
        let address = bind_address(me, listen_host);
        self.balancers
            .values()
            .filter(|b| b.name != except)
            .find(|b| {
                overlaps(bind_address(b, listen_host), address)
                    && b.listeners.iter().any(|l| l.port == port)
            })
            .map(|b| b.name.as_str())
    }
}

/// Two bind addresses overlap when they are equal or either is the unspecified address.
fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Listener, Protocol, Target, TargetAddress};

    fn pool(name: &str) -> Pool {
        let mut p = Pool::new(name);
        p.targets.push(Target {
            address: TargetAddress::parse("127.0.0.1:9001", None).unwrap(),
            weight: 1,
        });
        p
    }

    fn balancer(name: &str, address: Option<&str>, port: u16, pool: &str) -> Balancer {
        let mut b = Balancer::new(name);
        b.address = address.map(|a| a.parse().unwrap());
        b.listeners.push(Listener::new(port, Protocol::Http, pool));
        b
    }

    fn state(balancers: Vec<Balancer>, pools: Vec<Pool>) -> State {
        State::default().with_file_objects(balancers, pools, Vec::new())
    }

    #[test]
    fn a_sound_state_validates() {
        let s = state(vec![balancer("web", None, 8080, "p")], vec![pool("p")]);
        assert_eq!(s.validate(None), Ok(()));
    }

    #[test]
    fn unknown_pool_is_named() {
        let s = state(vec![balancer("web", None, 8080, "nope")], vec![pool("p")]);
        let errs = s.validate(None).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "balancer \"web\".listener 8080.pool: \"nope\" is not allowed: names no pool; declare the pool or fix the name"
        );
    }

    #[test]
    fn same_port_on_distinct_addresses_is_fine_but_clashes_under_listen_host() {
        let s = state(
            vec![
                balancer("a", Some("127.0.1.1"), 80, "p"),
                balancer("b", Some("127.0.1.2"), 80, "p"),
            ],
            vec![pool("p")],
        );
        assert_eq!(s.validate(None), Ok(()));
        let errs = s.validate(Some("127.0.0.1".parse().unwrap())).unwrap_err();
        assert!(
            errs[0].rule.contains("already used by balancer \"a\""),
            "{}",
            errs[0]
        );
    }

    fn on_port(protocol: Protocol, name: &str) -> Balancer {
        let mut b = balancer(name, Some("127.0.1.1"), 53, "p");
        b.listeners[0].protocol = protocol;
        b
    }

    #[test]
    fn udp_and_tcp_share_a_port_but_tcp_udp_takes_both() {
        let pair = |a: Protocol, b: Protocol| {
            state(vec![on_port(a, "a"), on_port(b, "b")], vec![pool("p")]).validate(None)
        };
        assert_eq!(pair(Protocol::Udp, Protocol::Tcp), Ok(()));
        assert_eq!(pair(Protocol::Http, Protocol::Udp), Ok(()));
        for (a, b) in [
            (Protocol::Udp, Protocol::Udp),
            (Protocol::Tcp, Protocol::Tcp),
            (Protocol::TcpUdp, Protocol::Udp),
            (Protocol::TcpUdp, Protocol::Tcp),
            (Protocol::Tcp, Protocol::TcpUdp),
        ] {
            let errs = pair(a, b).unwrap_err();
            assert!(
                errs[0].to_string().contains(
                    "balancer \"b\".listener 53.port: 53 is not allowed: port 53 on 127.0.1.1 \
                     is already used by balancer \"a\""
                ),
                "{a:?} {b:?}: {}",
                errs[0]
            );
        }
    }

    #[test]
    fn a_udp_listener_refuses_a_pool_sending_proxy_protocol_v1() {
        let mut p = pool("p");
        p.upstream.proxy_protocol = true;
        for protocol in [Protocol::Udp, Protocol::TcpUdp] {
            let errs = state(vec![on_port(protocol, "a")], vec![p.clone()])
                .validate(None)
                .unwrap_err();
            assert_eq!(errs.len(), 1, "{errs:?}");
            let text = errs[0].to_string();
            assert!(
                text.starts_with(&format!(
                    "balancer \"a\".listener 53.protocol: \"{}\" is not allowed: pool \"p\" \
                     sends PROXY protocol version 1",
                    protocol.as_str()
                )) && text.contains("proxy_protocol_version = 2 (allowed: 2)"),
                "{text}"
            );
        }
        p.upstream.proxy_protocol_version = Some(2);
        let s = state(vec![on_port(Protocol::Udp, "a")], vec![p.clone()]);
        assert_eq!(s.validate(None), Ok(()));
        // TCP keeps v1.
        p.upstream.proxy_protocol_version = Some(1);
        let s = state(vec![on_port(Protocol::Tcp, "a")], vec![p]);
        assert_eq!(s.validate(None), Ok(()));
    }

    #[test]
    fn unspecified_address_clashes_with_any() {
        let s = state(
            vec![
                balancer("a", None, 80, "p"),
                balancer("b", Some("127.0.1.2"), 80, "p"),
            ],
            vec![pool("p")],
        );
        assert!(s.validate(None).is_err());
    }

    #[test]
    fn reload_replaces_file_objects_and_keeps_api_objects() {
        let mut s = state(vec![balancer("old", None, 80, "p")], vec![pool("p")]);
        let mut api = balancer("api", None, 81, "p");
        api.origin = Origin::Api;
        s.balancers.insert("api".into(), api);
        let next = s.with_file_objects(
            vec![balancer("new", None, 82, "p")],
            vec![pool("p")],
            vec![],
        );
        assert_eq!(next.balancers.keys().collect::<Vec<_>>(), ["api", "new"]);
    }

    #[test]
    fn every_range_error_names_field_value_and_range() {
        let mut p = pool("p");
        p.targets[0].weight = 5000;
        p.health_check.interval_secs = 3;
        p.upstream.retries = 11;
        let s = state(vec![], vec![p]);
        let errs = s.validate(None).unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            text.contains(
                &"pool \"p\".targets[0].weight: 5000 is not allowed: must be between 0 and 1000"
                    .to_string()
            ),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("health_check.interval_secs: 3")
                    && t.contains("between 5 and 300 seconds")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("upstream.retries: 11")),
            "{text:?}"
        );
    }

    #[test]
    fn source_ip_stickiness_takes_only_the_round_robin_and_least_connections_families() {
        use crate::{Algorithm, StickinessKind};
        for algorithm in Algorithm::ALL {
            let mut p = pool("p");
            p.algorithm = algorithm;
            p.stickiness.kind = StickinessKind::SourceIp;
            let allowed = matches!(
                algorithm,
                Algorithm::RoundRobin
                    | Algorithm::WeightedRoundRobin
                    | Algorithm::LeastConnections
                    | Algorithm::WeightedLeastConnections
            );
            match state(vec![], vec![p]).validate(None) {
                Ok(_) => assert!(allowed, "{algorithm} was accepted"),
                Err(errs) => {
                    assert!(!allowed, "{algorithm}: {errs:?}");
                    assert_eq!(errs.len(), 1, "{errs:?}");
                    assert!(errs[0].rule.contains(algorithm.as_str()), "{}", errs[0]);
                    assert!(errs[0].rule.contains("weighted_round_robin"), "{}", errs[0]);
                    assert_eq!(errs[0].path.leaf_field(), Some("type"));
                }
            }
            // Cookie stickiness (layer 7) takes every algorithm but source_ip_hash, as ALB does.
            let mut p = pool("p");
            p.algorithm = algorithm;
            p.stickiness.kind = StickinessKind::LbCookie;
            let accepted = state(vec![], vec![p]).validate(None).is_ok();
            assert_eq!(
                accepted,
                algorithm != Algorithm::SourceIpHash,
                "{algorithm}"
            );
        }
    }

    #[test]
    fn stickiness_is_rejected_with_source_ip_hash() {
        let mut p = pool("p");
        p.algorithm = crate::Algorithm::SourceIpHash;
        p.stickiness.kind = crate::StickinessKind::LbCookie;
        let errs = state(vec![], vec![p]).validate(None).unwrap_err();
        assert!(errs[0].rule.contains("source_ip_hash"), "{}", errs[0]);
        assert_eq!(errs[0].path.leaf_field(), Some("type"));
    }

    #[test]
    fn success_codes_are_checked_with_the_allowed_syntax_and_range() {
        let mut p = pool("p");
        p.health_check.protocol = crate::HealthCheckProtocol::Http;
        p.health_check.success_codes = "200-399".into();
        assert_eq!(state(vec![], vec![p.clone()]).validate(None), Ok(()));
        p.health_check.success_codes = "200,600".into();
        let errs = state(vec![], vec![p]).validate(None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "pool \"p\".health_check.success_codes: \"200,600\" is not allowed: code 600 must \
             be between 200 and 499"
        );
    }

    #[test]
    fn slow_start_is_0_or_30_to_900_seconds_on_rotating_pools() {
        let mut p = pool("p");
        for ok in [0, 30, 900] {
            p.slow_start_secs = ok;
            assert_eq!(
                state(vec![], vec![p.clone()]).validate(None),
                Ok(()),
                "{ok}"
            );
        }
        for bad in [1, 29, 901] {
            p.slow_start_secs = bad;
            let errs = state(vec![], vec![p.clone()]).validate(None).unwrap_err();
            assert_eq!(
                errs[0].to_string(),
                format!(
                    "pool \"p\".slow_start_secs: {bad} is not allowed: must be 0 (off) or \
                     between 30 and 900 seconds"
                )
            );
        }
        p.slow_start_secs = 60;
        p.algorithm = crate::Algorithm::LeastOutstandingRequests;
        let errs = state(vec![], vec![p.clone()]).validate(None).unwrap_err();
        assert!(
            errs[0].rule.contains("round_robin or weighted_round_robin"),
            "{}",
            errs[0]
        );
        assert!(
            errs[0].rule.contains("least_outstanding_requests"),
            "{}",
            errs[0]
        );
        p.algorithm = crate::Algorithm::WeightedRoundRobin;
        p.stickiness.kind = crate::StickinessKind::SourceIp;
        let errs = state(vec![], vec![p]).validate(None).unwrap_err();
        assert!(
            errs.iter().any(|e| e.rule.contains("source_ip stickiness")),
            "{errs:?}"
        );
    }

    #[test]
    fn proxy_protocol_version_defaults_to_1_for_old_states_and_is_1_or_2() {
        let old: crate::UpstreamTimeouts = serde_json::from_str(
            r#"{"connect_timeout_ms":5000,"response_timeout_secs":60,"retries":2,"proxy_protocol":true}"#,
        )
        .unwrap();
        assert_eq!(old.proxy_protocol_version(), Some(1));
        assert!(!serde_json::to_string(&old).unwrap().contains("version"));
        let mut p = pool("p");
        p.upstream.proxy_protocol = true;
        p.upstream.proxy_protocol_version = Some(2);
        assert_eq!(p.upstream.proxy_protocol_version(), Some(2));
        assert_eq!(state(vec![], vec![p.clone()]).validate(None), Ok(()));
        p.upstream.proxy_protocol_version = Some(3);
        let errs = state(vec![], vec![p]).validate(None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "pool \"p\".upstream.proxy_protocol_version: 3 is not allowed: must be 1 (the text \
             line) or 2 (the binary header)"
        );
    }

    #[test]
    fn accept_proxy_protocol_is_for_connection_listeners_only() {
        let mut b = balancer("web", None, 8080, "p");
        b.listeners[0].accept_proxy_protocol = true;
        assert_eq!(
            state(vec![b.clone()], vec![pool("p")]).validate(None),
            Ok(())
        );
        b.listeners[0].protocol = Protocol::Udp;
        b.listeners[0].instance_protocol = None;
        let errs = state(vec![b], vec![pool("p")]).validate(None).unwrap_err();
        assert!(
            errs.iter().any(|e| e.to_string()
                == "balancer \"web\".listener 8080.accept_proxy_protocol: true is not allowed: only \
                    tcp, ssl, http and https listeners accept a PROXY header (this one is udp)"),
            "{errs:?}"
        );
    }

    #[test]
    fn proxy_protocol_tlvs_need_version_2_and_known_names() {
        let mut p = pool("p");
        p.upstream.proxy_protocol = true;
        p.upstream.proxy_protocol_version = Some(2);
        p.upstream.proxy_protocol_tlvs = vec!["authority".into(), "crc32c".into()];
        assert_eq!(state(vec![], vec![p.clone()]).validate(None), Ok(()));
        let tlvs = p.upstream.proxy_tlvs();
        assert!(tlvs.authority && tlvs.crc32c && !tlvs.ssl && !tlvs.unique_id);
        p.upstream.proxy_protocol_tlvs.push("alpn".into());
        p.upstream.proxy_protocol_tlvs.push("crc32c".into());
        let errs = state(vec![], vec![p.clone()]).validate(None).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "pool \"p\".upstream.proxy_protocol_tlvs: \"alpn\" is not allowed: must be one of \
                 authority, unique_id, ssl, crc32c",
                "pool \"p\".upstream.proxy_protocol_tlvs: \"crc32c\" is not allowed: each TLV may \
                 be named once",
            ]
        );
        p.upstream.proxy_protocol_tlvs.truncate(2);
        p.upstream.proxy_protocol_version = None;
        let errs = state(vec![], vec![p]).validate(None).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "pool \"p\".upstream.proxy_protocol_tlvs: 2 TLVs is not allowed: only a version 2 \
             header carries TLVs: set proxy_protocol_version = 2"
        );
    }
}
