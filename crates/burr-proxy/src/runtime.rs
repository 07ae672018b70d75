//! The compiled, immutable view of the configuration that requests read: listeners with their
//! pool, pools with their picker, targets with their live counters.
//!
//! A [`Runtime`] is rebuilt from every new [`State`] snapshot and swapped in whole. Live counters,
//! health and idle upstream connections live in [`TargetShared`] / [`PoolStats`] /
//! [`ListenerStats`], which are carried over by identity from one runtime to the next, so a
//! configuration change neither resets metrics nor drops pooled connections.

use crate::clock::Clock;
use crate::http::h1::RawConnection;
use crate::metrics::{ListenerStats, PoolStats, TargetStats};
use crate::sessions::SessionSketch;
use crate::upstream::{IdleConnections, Sender};
use arc_swap::ArcSwap;
use burr_affinity::balance::{Candidate, Picker};
use burr_affinity::keyed::KeyedEngine;
use burr_affinity::sticky::{Policy, PoolView, Standing};
use burr_affinity::token::KeyRing;
use burr_model::certificates::{PrivateKeyPem, SELF_SIGNED_CERTIFICATE};
use burr_model::{Balancer, Listener, Pool, Protocol, State, TargetAddress, TargetId};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use tokio::sync::watch;

mod health;
pub use health::{Health, HealthFailure};

/// Identity of a listener across snapshots: its balancer and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerKey {
    pub balancer: String,
    pub port: u16,
}

impl std::fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.balancer, self.port)
    }
}

/// [`TargetShared`]'s mark of a target not in slow start.
const NOT_RAMPING: u64 = u64::MAX;

/// How long a target that refused a connection is skipped for new requests (like nginx's
/// `fail_timeout`), independent of active health checks, so a dead target costs one failed connect
/// per window rather than one per request.
pub const PASSIVE_DOWN_MS: u64 = 10_000;

/// Everything about a target that outlives a configuration snapshot.
pub struct TargetShared {
    pub id: TargetId,
    pub pool: String,
    pub address: TargetAddress,
    pub stats: TargetStats,
    health: AtomicU8,
    /// Why the last health check failed, [`HealthFailure::pack`]ed; 0 once one passed.
    health_failure: AtomicU32,
    /// The pool's slow start window in milliseconds as of the runtime in service (0: off).
    slow_start_ms: AtomicU64,
    /// Millisecond of [`TargetShared::clock`] at which the target entered service with slow
    /// start on, [`NOT_RAMPING`] otherwise.
    ramp_from_ms: AtomicU64,
    /// Millisecond of [`TargetShared::clock`] until which the target is skipped after a
    /// connect failure.
    passive_down_until_ms: AtomicU64,
    /// The data plane's clock, which the passive-down mark and drain deadlines are read on.
    clock: Arc<Clock>,
    /// Idle keep-alive connections to this target, one list per worker thread: hyper's, and the
    /// HTTP/1.1 fast path's.
    pub idle: IdleConnections<Sender>,
    pub raw_idle: IdleConnections<RawConnection>,
    /// Cookie sessions recently served by this target (an estimate).
    pub sessions: SessionSketch,
    /// When established TCP relays to this target must end (UTC seconds): `None` while it is
    /// registered, its drain deadline while it drains, and "now" once it left the configuration.
    retirement: watch::Sender<Option<u64>>,
}

impl TargetShared {
    fn new(
        id: TargetId,
        pool: &str,
        address: TargetAddress,
        workers: usize,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            id,
            pool: pool.to_string(),
            address,
            stats: TargetStats::default(),
            health: AtomicU8::new(Health::Unknown as u8),
            health_failure: AtomicU32::new(0),
            slow_start_ms: AtomicU64::new(0),
            ramp_from_ms: AtomicU64::new(NOT_RAMPING),
            passive_down_until_ms: AtomicU64::new(0),
            clock,
            idle: IdleConnections::new(workers),
            raw_idle: IdleConnections::new(workers),
            sessions: SessionSketch::default(),
            retirement: watch::Sender::new(None),
        }
    }

    fn set_retirement(&self, deadline: Option<u64>) {
        self.retirement.send_if_modified(|current| {
            let changed = *current != deadline;
            *current = deadline;
            changed
        });
    }

    /// Resolves once connections to this target must end: its drain deadline has passed, or it
    /// left the configuration. Pending for as long as it stays registered.
    pub async fn retired(&self) {
        let mut changes = self.retirement.subscribe();
        loop {
            let deadline = *changes.borrow_and_update();
            let Some(deadline) = deadline else {
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
                continue;
            };
            if self.clock.unix_now() >= deadline {
                return;
            }
            // Re-registered meanwhile, or a new deadline: look again.
            tokio::select! {
                _ = self.clock.reached(deadline) => {}
                _ = changes.changed() => {}
            }
        }
    }

    pub fn health(&self) -> Health {
        match self.health.load(Ordering::Relaxed) {
            1 => Health::Healthy,
            2 => Health::Unhealthy,
            _ => Health::Unknown,
        }
    }

    /// Records the health checks' verdict. A target leaving `Unhealthy` enters service again,
    /// and with slow start on ramps up from now; one turning unhealthy leaves slow start (the
    /// ALB rules).
    pub fn set_health(&self, health: Health) {
        let before = self.health.swap(health as u8, Ordering::Relaxed);
        let was_unhealthy = before == Health::Unhealthy as u8;
        match health {
            Health::Unhealthy => self.ramp_from_ms.store(NOT_RAMPING, Ordering::Relaxed),
            _ if was_unhealthy => self.start_slow_start(),
            _ => {}
        }
    }

    /// Starts a ramp from now, if the pool has slow start on.
    fn start_slow_start(&self) {
        if self.slow_start_ms.load(Ordering::Relaxed) > 0 {
            self.ramp_from_ms
                .store(self.clock.now_ms(), Ordering::Relaxed);
        }
    }

    /// When this target's slow start began, while it lasts.
    pub fn slow_start_since(&self) -> Option<u64> {
        let from = self.ramp_from_ms.load(Ordering::Relaxed);
        let window = self.slow_start_ms.load(Ordering::Relaxed);
        (from != NOT_RAMPING && self.clock.now_ms().saturating_sub(from) < window).then_some(from)
    }

    /// Why the last health check failed; `None` when it passed (or none ran).
    pub fn health_failure(&self) -> Option<HealthFailure> {
        HealthFailure::unpack(self.health_failure.load(Ordering::Relaxed))
    }

    pub fn set_health_failure(&self, failure: Option<HealthFailure>) {
        self.health_failure
            .store(HealthFailure::pack(failure), Ordering::Relaxed);
    }

    /// A connect to this target just failed: skip it for [`PASSIVE_DOWN_MS`].
    pub fn mark_connect_failure(&self) {
        self.passive_down_until_ms
            .store(self.clock.now_ms() + PASSIVE_DOWN_MS, Ordering::Relaxed);
    }

    /// A connect succeeded: clear any passive mark at once.
    pub fn mark_connect_success(&self) {
        if self.passive_down_until_ms.load(Ordering::Relaxed) != 0 {
            self.passive_down_until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// May this target receive a new request now?
    pub fn is_available(&self) -> bool {
        self.is_available_when(false)
    }

    /// As [`Self::is_available`], with the pool failing open (`fail_open`): then the health
    /// checks' verdict no longer excludes the target. A target that just refused a connection
    /// stays skipped either way: sending requests to a closed port serves nobody, and the mark
    /// lapses after [`PASSIVE_DOWN_MS`].
    pub fn is_available_when(&self, fail_open: bool) -> bool {
        (fail_open || self.health() != Health::Unhealthy)
            && self.passive_down_until_ms.load(Ordering::Relaxed) <= self.clock.now_ms()
    }
}

/// A target as one snapshot sees it: the shared part plus this snapshot's weight.
pub struct TargetRuntime {
    pub shared: Arc<TargetShared>,
    pub weight: u32,
    /// Set when the target was deregistered and is draining: UTC second at which its sticky
    /// sessions stop being honoured. Such a target gets no new sessions (weight 0 to the picker).
    pub drain_deadline: Option<u64>,
}

impl TargetRuntime {
    /// How this target stands for sticky sessions, its pool failing open or not.
    pub fn standing(&self, fail_open: bool) -> Standing {
        if self.drain_deadline.is_some() || self.weight == 0 {
            Standing::Draining {
                deadline: self.drain_deadline,
            }
        } else if self.shared.is_available_when(fail_open) {
            Standing::Available
        } else {
            Standing::Down
        }
    }
}

/// A pool compiled for request time.
pub struct PoolRuntime {
    pub spec: Pool,
    /// Registered targets first (in configuration order), then draining ones.
    pub targets: Vec<TargetRuntime>,
    /// The stable id of each target, in the same order: a sticky request finds its target in
    /// one contiguous scan.
    target_ids: Vec<TargetId>,
    pub picker: Picker,
    pub stats: Arc<PoolStats>,
    /// Cookie stickiness, when the pool has it.
    pub sticky: Option<Policy>,
    /// Header or source-IP stickiness, when the pool has it.
    pub keyed: Option<KeyedEngine>,
    /// The key ring sealing stickiness cookies, shared by every pool and replaced on rotation.
    pub keys: Arc<ArcSwap<KeyRing>>,
    /// The data plane's clock: sessions are decided at its time.
    pub clock: Arc<Clock>,
    /// How many healthy targets the pool needs before it routes to all of them, if it ever does.
    pub fail_open: Option<burr_model::FailOpen>,
}

impl PoolRuntime {
    /// True when too few of the pool's targets in service pass their health checks, so every
    /// target is eligible. Counted afresh on each call (a scan of atomics, no lock, no
    /// allocation) so the verdict follows the health checker at once.
    pub fn failing_open(&self) -> bool {
        let Some(rule) = &self.fail_open else {
            return false;
        };
        let (mut in_service, mut healthy) = (0, 0);
        for target in &self.targets {
            if target.drain_deadline.is_none() && target.weight > 0 {
                in_service += 1;
                healthy += usize::from(target.shared.health() != Health::Unhealthy);
            }
        }
        rule.is_failing_open(healthy, in_service)
    }
}

impl PoolView for PoolRuntime {
    fn find(&self, id: TargetId) -> Option<(usize, Standing)> {
        let index = self.target_ids.iter().position(|&t| t == id)?;
        Some((index, self.targets[index].standing(self.failing_open())))
    }

    fn standing_at(&self, index: usize) -> Option<Standing> {
        let open = self.failing_open();
        self.targets.get(index).map(|t| t.standing(open))
    }

    fn connections_at(&self, index: usize) -> u64 {
        self.targets
            .get(index)
            .map_or(0, |t| t.shared.stats.load_connections())
    }
}

/// A listener compiled for request time.
pub struct ListenerRuntime {
    pub key: ListenerKey,
    pub bind: SocketAddr,
    pub spec: Listener,
    /// The listener's own pool (`Listener::pool_name`): what a TCP or SSL listener relays to and
    /// what error texts name; an ALB listener whose default action is not a plain forward may
    /// have none.
    pub pool: Option<Arc<PoolRuntime>>,
    /// The rules and actions, their pools resolved (HTTP and HTTPS listeners; a TCP or SSL
    /// listener's only action is the forward to its pool).
    pub rules: crate::actions::CompiledRules,
    pub stats: Arc<ListenerStats>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The CloudFront continuous-deployment split, on a primary distribution's front end.
    pub canary: Option<crate::canary::Canary>,
}

/// A stored certificate compiled for handshakes: its slot (kept across snapshots) and the key
/// this snapshot puts in it when committed.
pub struct CompiledCertificate {
    pub slot: Arc<crate::tls::CertificateSlot>,
    pub key: Arc<rustls::sign::CertifiedKey>,
    /// What the key was made from, to make it again only when the certificate changes.
    source: (String, burr_model::certificates::PrivateKeyPem),
}

/// One compiled snapshot.
#[derive(Default)]
pub struct Runtime {
    pub generation: u64,
    pub listeners: HashMap<ListenerKey, Arc<ListenerRuntime>>,
    pub pools: HashMap<String, Arc<PoolRuntime>>,
    /// The stored certificates listeners name, by ARN.
    pub certificates: HashMap<String, CompiledCertificate>,
    /// The certificate sets of listeners with SNI certificates, by [`crate::sni::set_key`].
    pub sni: HashMap<Vec<String>, crate::sni::CompiledSni>,
}

/// Why a snapshot could not be compiled (I/O outside the model's reach, e.g. certificate files).
#[derive(Debug, thiserror::Error)]
#[error("balancer \"{balancer}\" listener {port}: {reason}")]
pub struct CompileError {
    pub balancer: String,
    pub port: u16,
    pub reason: String,
}

impl Runtime {
    /// Compiles `state`, reusing the shared parts of `previous` by identity.
    pub fn compile(
        state: &State,
        generation: u64,
        previous: &Runtime,
        context: &CompileContext,
    ) -> Result<Runtime, Vec<CompileError>> {
        let listen_host = context.listen_host;
        // CloudFront distributions are balancers and pools like any other, and splits.
        let front_ends = crate::canary::FrontEnds::of(state);
        let state = front_ends.state();
        let pools: HashMap<String, Arc<PoolRuntime>> = state
            .pools
            .values()
            .map(|pool| {
                let compiled = compile_pool(pool, previous, context);
                (pool.name.clone(), Arc::new(compiled))
            })
            .collect();
        let mut listeners = HashMap::new();
        let mut errors = Vec::new();
        let certificates = compile_certificates(state, previous, &mut errors);
        let sni = compile_sni(state, &certificates, previous, &mut errors);
        for balancer in state.balancers.values() {
            for listener in &balancer.listeners {
                match compile_listener(
                    balancer,
                    listener,
                    &pools,
                    context,
                    (&certificates, &sni),
                    previous,
                    listen_host,
                )
                .and_then(|mut l| {
                    l.canary = front_ends
                        .canary(&l.key, &pools, &context.keys, &context.clock)
                        .map_err(|reason| CompileError {
                            balancer: balancer.name.clone(),
                            port: listener.port,
                            reason,
                        })?;
                    Ok(l)
                }) {
                    Ok(l) => {
                        listeners.insert(l.key.clone(), Arc::new(l));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Runtime {
            generation,
            listeners,
            pools,
            certificates,
            sni,
        })
    }

    /// Puts each certificate's key of this runtime in its slot, once the runtime is in
    /// service: from then on new handshakes use it, established connections are untouched.
    pub fn publish_certificates(&self) {
        for compiled in self.certificates.values() {
            compiled.slot.install(compiled.key.clone());
        }
        for compiled in self.sni.values() {
            compiled.slot.install(compiled.table.clone());
        }
    }

    /// Tells every target, once this runtime is in service, how long its established TCP
    /// relays may live: registered targets (weight 0 included) indefinitely, deregistered ones
    /// until their drain deadline, and targets of `previous` that this runtime dropped no longer
    /// (Classic ELB's connection draining). Done at commit rather than at compile, since a
    /// compiled runtime may never be committed. `now` is the commit's time on the data plane's
    /// clock.
    pub fn publish_retirements(&self, previous: &Runtime, now: u64) {
        let mut kept = std::collections::HashSet::new();
        for (_, target) in self.targets() {
            target.shared.set_retirement(target.drain_deadline);
            kept.insert(Arc::as_ptr(&target.shared));
        }
        for (_, gone) in previous.targets() {
            if !kept.contains(&Arc::as_ptr(&gone.shared)) {
                gone.shared.set_retirement(Some(now));
            }
        }
    }

    /// Tells every target, once this runtime is in service, its pool's slow start window, and
    /// starts the ramp of targets entering service with it: those `previous` did not have
    /// registered (new, or draining and registered again), provided `previous` had a target of
    /// the pool in service and not ramping itself (ALB: targets registered into an empty group,
    /// or with no healthy target out of slow start, do not ramp; and enabling slow start ramps
    /// no target already in service). Done at commit, like the retirements.
    pub fn publish_slow_start(&self, previous: &Runtime) {
        for pool in self.pools.values() {
            let window_ms = u64::from(pool.spec.slow_start_secs) * 1000;
            let old = previous.pools.get(&pool.spec.name);
            let in_service = |t: &&TargetRuntime| t.drain_deadline.is_none() && t.weight > 0;
            let anchored = old.is_some_and(|o| {
                o.targets
                    .iter()
                    .filter(in_service)
                    .any(|t| t.shared.is_available() && t.shared.slow_start_since().is_none())
            });
            for target in pool.targets.iter().filter(|t| t.drain_deadline.is_none()) {
                let shared = &target.shared;
                let was_registered = old.is_some_and(|o| {
                    o.targets
                        .iter()
                        .any(|t| Arc::ptr_eq(&t.shared, shared) && t.drain_deadline.is_none())
                });
                shared.slow_start_ms.store(window_ms, Ordering::Relaxed);
                if window_ms == 0 {
                    shared.ramp_from_ms.store(NOT_RAMPING, Ordering::Relaxed);
                } else if !was_registered && anchored {
                    shared.start_slow_start();
                }
            }
        }
    }

    /// Every target of every pool, for health checking and metrics.
    pub fn targets(&self) -> impl Iterator<Item = (&Arc<PoolRuntime>, &TargetRuntime)> {
        self.pools
            .values()
            .flat_map(|p| p.targets.iter().map(move |t| (p, t)))
    }
}

/// What compiling needs besides the state.
pub struct CompileContext {
    pub listen_host: Option<IpAddr>,
    pub workers: usize,
    pub keys: Arc<ArcSwap<KeyRing>>,
    pub clock: Arc<Clock>,
}

fn compile_pool(pool: &Pool, previous: &Runtime, context: &CompileContext) -> PoolRuntime {
    let old = previous.pools.get(&pool.name);
    let shared = |address: &TargetAddress| {
        let id = pool.target_id(address);
        old.and_then(|p| p.targets.iter().find(|o| o.shared.id == id))
            .map(|o| o.shared.clone())
            .unwrap_or_else(|| {
                Arc::new(TargetShared::new(
                    id,
                    &pool.name,
                    address.clone(),
                    context.workers,
                    context.clock.clone(),
                ))
            })
    };
    let registered = pool.targets.iter().map(|t| TargetRuntime {
        shared: shared(&t.address),
        weight: t.weight,
        drain_deadline: None,
    });
    // Deregistered targets drain: their sticky sessions may reach them until the deadline the
    // state stores (so a restart keeps it), and they get no new sessions (weight 0).
    let draining = pool.draining_targets.iter().map(|d| TargetRuntime {
        shared: shared(&d.address),
        weight: 0,
        drain_deadline: Some(d.deadline_secs),
    });
    let targets: Vec<TargetRuntime> = registered.chain(draining).collect();
    let candidates: Vec<Candidate> = targets
        .iter()
        .map(|t| Candidate {
            id: t.shared.id,
            weight: t.weight,
        })
        .collect();
    let keyed = KeyedEngine::for_pool(pool, &candidates, old.and_then(|o| o.keyed.as_ref()));
    PoolRuntime {
        picker: Picker::with_previous(pool.algorithm, &candidates, old.map(|o| &o.picker)),
        keyed,
        target_ids: targets.iter().map(|t| t.shared.id).collect(),
        targets,
        stats: old.map(|p| p.stats.clone()).unwrap_or_default(),
        sticky: Policy::of(pool),
        keys: context.keys.clone(),
        clock: context.clock.clone(),
        fail_open: pool.fail_open_rule(),
        spec: pool.clone(),
    }
}

/// Compiles the stored certificates that listeners name, reusing the previous runtime's slot
/// (and its key, when the certificate did not change).
fn compile_certificates(
    state: &State,
    previous: &Runtime,
    errors: &mut Vec<CompileError>,
) -> HashMap<String, CompiledCertificate> {
    let mut out = HashMap::new();
    for balancer in state.balancers.values() {
        for listener in &balancer.listeners {
            for arn in listener.certificate_arns() {
                if out.contains_key(arn) {
                    continue;
                }
                let fail = |reason: String| CompileError {
                    balancer: balancer.name.clone(),
                    port: listener.port,
                    reason,
                };
                let old = previous.certificates.get(arn);
                let made = if arn == SELF_SIGNED_CERTIFICATE {
                    // Made once per process: the source never changes.
                    let source = (String::new(), PrivateKeyPem(String::new()));
                    crate::tls::self_signed_key().map(|key| (source, key))
                } else if let Some(certificate) = state.certificates.get(arn) {
                    let source = (
                        certificate.full_chain_pem(),
                        certificate.private_key.clone(),
                    );
                    match old.filter(|o| o.source == source) {
                        Some(o) => Ok((source, o.key.clone())),
                        None => crate::tls::certified_key(certificate).map(|key| (source, key)),
                    }
                } else {
                    Err(format!("certificate {arn} does not exist"))
                };
                let (source, key) = match made {
                    Ok(made) => made,
                    Err(e) => {
                        errors.push(fail(e));
                        continue;
                    }
                };
                let slot = match old {
                    Some(o) => o.slot.clone(),
                    None => match crate::tls::CertificateSlot::new(key.clone()) {
                        Ok(s) => Arc::new(s),
                        Err(e) => {
                            errors.push(fail(e));
                            continue;
                        }
                    },
                };
                out.insert(arn.to_string(), CompiledCertificate { slot, key, source });
            }
        }
    }
    out
}

/// Compiles the certificate set of every listener with SNI certificates, reusing the previous
/// runtime's slot for an unchanged set.
fn compile_sni(
    state: &State,
    certificates: &HashMap<String, CompiledCertificate>,
    previous: &Runtime,
    errors: &mut Vec<CompileError>,
) -> HashMap<Vec<String>, crate::sni::CompiledSni> {
    let mut out = HashMap::new();
    for balancer in state.balancers.values() {
        for listener in &balancer.listeners {
            if listener.sni_certificates.is_empty() || !listener.protocol.is_tls() {
                continue;
            }
            let key = crate::sni::set_key(listener);
            if out.contains_key(&key) {
                continue;
            }
            let old = previous.sni.get(&key);
            match crate::sni::compile(listener, state, certificates, old) {
                Ok(compiled) => {
                    out.insert(key, compiled);
                }
                Err(reason) => errors.push(CompileError {
                    balancer: balancer.name.clone(),
                    port: listener.port,
                    reason,
                }),
            }
        }
    }
    out
}

type Certificates<'a> = (
    &'a HashMap<String, CompiledCertificate>,
    &'a HashMap<Vec<String>, crate::sni::CompiledSni>,
);

fn compile_listener(
    balancer: &Balancer,
    listener: &Listener,
    pools: &HashMap<String, Arc<PoolRuntime>>,
    context: &CompileContext,
    (certificates, sni): Certificates<'_>,
    previous: &Runtime,
    listen_host: Option<IpAddr>,
) -> Result<ListenerRuntime, CompileError> {
    let key = ListenerKey {
        balancer: balancer.name.clone(),
        port: listener.port,
    };
    let fail = |reason: String| CompileError {
        balancer: balancer.name.clone(),
        port: listener.port,
        reason,
    };
    let pool = listener
        .pool_name()
        .map(|name| {
            pools
                .get(name)
                .cloned()
                .ok_or_else(|| fail(format!("pool \"{name}\" does not exist")))
        })
        .transpose()?;
    let rules = crate::actions::CompiledRules::compile(
        listener,
        &crate::actions::ActionContext {
            pools,
            keys: &context.keys,
            clock: &context.clock,
        },
    )
    .map_err(fail)?;
    let stored = |arn: &String| {
        certificates
            .get(arn)
            .ok_or_else(|| fail(format!("certificate {arn} does not exist")))
    };
    let by_name = || {
        sni.get(&crate::sni::set_key(listener))
            .ok_or_else(|| fail("its certificates could not be compiled".into()))
    };
    let with_sni = !listener.sni_certificates.is_empty();
    // The configuration, and where its policy-narrowed variants are kept (with the slot).
    let https = listener.protocol == Protocol::Https;
    let tls = match (listener.protocol, &listener.tls, &listener.certificate) {
        (Protocol::Https | Protocol::Ssl, ..) if with_sni => {
            let slot = &by_name()?.slot;
            let base = if https { &slot.https } else { &slot.relay };
            Some((base.clone(), Some(&slot.policies)))
        }
        (Protocol::Https, Some(files), _) => {
            Some((crate::tls::server_config(files).map_err(fail)?, None))
        }
        (Protocol::Ssl, Some(files), _) => {
            Some((crate::tls::relay_server_config(files).map_err(fail)?, None))
        }
        (Protocol::Https | Protocol::Ssl, None, Some(arn)) => {
            let slot = &stored(arn)?.slot;
            let base = if https { &slot.https } else { &slot.relay };
            Some((base.clone(), Some(&slot.policies)))
        }
        _ => None,
    };
    // An ELBv2 HTTPS or TLS listener speaks exactly what its security policy lists.
    let policy = listener
        .elbv2
        .as_ref()
        .and_then(|v| v.ssl_policy.as_deref());
    let tls = match (tls, policy) {
        (Some((base, kept)), Some(name)) => {
            let policy = burr_model::elbv2::ssl_policy(name)
                .ok_or_else(|| fail(format!("SSL policy {name} is not one burr offers")))?;
            let narrowed = match kept {
                Some(kept) => kept.get(&base, https, policy),
                None => crate::tls::with_policy(&base, policy),
            };
            Some(narrowed.map_err(fail)?)
        }
        (tls, _) => tls.map(|(base, _)| base),
    };
    let ip = listen_host
        .or(balancer.address)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    Ok(ListenerRuntime {
        stats: previous
            .listeners
            .get(&key)
            .map(|l| l.stats.clone())
            .unwrap_or_default(),
        key,
        bind: SocketAddr::new(ip, listener.port),
        spec: listener.clone(),
        pool,
        rules,
        tls,
        canary: None,
    })
}

#[cfg(test)]
mod certificate_tests;
#[cfg(test)]
mod target_tests;
