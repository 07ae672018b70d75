//! `GET /api/v1/status`: the console's JSON document (schema_version 1, documented field by
//! field in docs/status-api.md). It is built from the runtime in service, loaded through the
//! data plane's `ArcSwap`, and the counters' atomics, plus the control side's own records (the
//! sampler's rates, the ring of recent changes); it takes no lock the data plane takes, so a
//! viewer, slow or not, never holds up a request.
//!
//! Versioning: fields may be added to version 1; renaming, removing or changing the meaning or
//! type of one needs `/api/v2`.

pub mod quantile;
pub mod sampler;

use crate::changes::{Change, ChangeLog};
use burr_affinity::sticky::Reason;
use burr_proxy::DataPlane;
use burr_proxy::runtime::{
    Health, HealthFailure, ListenerRuntime, PoolRuntime, Runtime, TargetRuntime,
};
use quantile::Latency;
use sampler::{Rates, Sampler};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

/// The version of the document's layout (see the module comment for when it changes).
pub const SCHEMA_VERSION: u32 = 1;

/// What the document is built from.
pub struct StatusSources<'a> {
    pub dataplane: &'a DataPlane,
    pub sampler: &'a Sampler,
    pub changes: &'a ChangeLog,
    pub started: Instant,
}

#[derive(Serialize)]
pub struct Status {
    schema_version: u32,
    generated_at: String,
    burr_version: &'static str,
    config_generation: u64,
    uptime_seconds: f64,
    /// Seconds the rates and latencies are measured over (null until the sampler has two
    /// readings).
    rate_window_seconds: Option<f64>,
    totals: Totals,
    balancers: Vec<BalancerStatus>,
    pools: Vec<PoolStatus>,
    recent_changes: Vec<Change>,
}

#[derive(Serialize, Default)]
struct Totals {
    balancers: usize,
    listeners: usize,
    pools: usize,
    targets: usize,
    targets_healthy: usize,
    targets_unhealthy: usize,
    targets_draining: usize,
    open_connections: u64,
    requests_total: u64,
    requests_per_second: f64,
}

#[derive(Serialize)]
struct BalancerStatus {
    name: String,
    listeners: Vec<ListenerStatus>,
}

#[derive(Serialize)]
struct ListenerStatus {
    port: u16,
    protocol: &'static str,
    address: String,
    default_pools: Vec<String>,
    open_connections: u64,
    connections_total: u64,
    requests_total: u64,
    requests_per_second: f64,
    responses: BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<UdpStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<Latency>,
}

#[derive(Serialize)]
struct UdpStatus {
    open_flows: u64,
    flows_total: u64,
}

#[derive(Serialize)]
struct PoolStatus {
    name: String,
    algorithm: &'static str,
    stickiness: Stickiness,
    /// Null for pools without stickiness.
    sticky_decisions: Option<BTreeMap<&'static str, u64>>,
    fail_open: Option<FailOpen>,
    health_check: Option<HealthCheck>,
    targets: Vec<TargetStatus>,
}

#[derive(Serialize)]
struct Stickiness {
    #[serde(rename = "type")]
    kind: burr_model::StickinessKind,
    duration_seconds: Option<u32>,
}

#[derive(Serialize)]
struct FailOpen {
    failing_open: bool,
}

#[derive(Serialize)]
struct HealthCheck {
    protocol: burr_model::HealthCheckProtocol,
    interval_seconds: u32,
    timeout_seconds: u32,
    healthy_threshold: u32,
    unhealthy_threshold: u32,
}

#[derive(Serialize)]
struct TargetStatus {
    address: String,
    weight: u32,
    state: &'static str,
    /// False while the target is skipped for new requests (unhealthy, or refusing connections).
    available: bool,
    failure_reason: Option<&'static str>,
    failure_code: Option<u16>,
    drain_deadline: Option<String>,
    drain_seconds_left: Option<u64>,
    active_connections: u64,
    in_flight_requests: u64,
    selections_total: u64,
    requests_per_second: f64,
    sticky_sessions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<Latency>,
}

/// Builds the document.
pub fn build(sources: &StatusSources<'_>) -> Status {
    let runtime = sources.dataplane.runtime();
    let rates = sources.sampler.rates();
    let balancers = balancers(&runtime, &rates);
    let mut pools: Vec<_> = runtime.pools.values().collect();
    pools.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let pools: Vec<PoolStatus> = pools.iter().map(|p| pool(p, &rates)).collect();
    let mut totals = Totals {
        balancers: balancers.len(),
        pools: pools.len(),
        ..Totals::default()
    };
    for l in balancers.iter().flat_map(|b| &b.listeners) {
        totals.listeners += 1;
        totals.open_connections += l.open_connections;
        totals.requests_total += l.requests_total;
        totals.requests_per_second += l.requests_per_second;
    }
    for t in pools.iter().flat_map(|p| &p.targets) {
        totals.targets += 1;
        match t.state {
            "healthy" => totals.targets_healthy += 1,
            "unhealthy" => totals.targets_unhealthy += 1,
            "draining" => totals.targets_draining += 1,
            _ => {}
        }
    }
    Status {
        schema_version: SCHEMA_VERSION,
        generated_at: crate::changes::rfc3339(SystemTime::now()),
        burr_version: env!("CARGO_PKG_VERSION"),
        config_generation: runtime.generation,
        uptime_seconds: round3(sources.started.elapsed().as_secs_f64()),
        rate_window_seconds: rates.window_seconds.map(round3),
        totals,
        balancers,
        pools,
        recent_changes: sources.changes.newest_first(),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn balancers(runtime: &Runtime, rates: &Rates) -> Vec<BalancerStatus> {
    let mut listeners: Vec<_> = runtime.listeners.values().collect();
    listeners.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out: Vec<BalancerStatus> = Vec::new();
    for l in listeners {
        let status = listener(l, rates);
        match out.last_mut() {
            Some(b) if b.name == l.key.balancer => b.listeners.push(status),
            _ => out.push(BalancerStatus {
                name: l.key.balancer.clone(),
                listeners: vec![status],
            }),
        }
    }
    out
}

fn listener(l: &ListenerRuntime, rates: &Rates) -> ListenerStatus {
    use burr_model::routing::Action;
    let default_pools = match l.spec.effective_default_action() {
        Action::Forward(f) => f
            .pool
            .into_iter()
            .chain(f.pools.into_iter().map(|w| w.pool))
            .collect(),
        _ => Vec::new(),
    };
    let stats = &l.stats;
    let udp = matches!(
        l.spec.protocol,
        burr_model::Protocol::Udp | burr_model::Protocol::TcpUdp
    )
    .then(|| UdpStatus {
        open_flows: stats.udp.open_flows.load(Ordering::Relaxed),
        flows_total: stats.udp.flows_created.load(Ordering::Relaxed),
    });
    ListenerStatus {
        port: l.key.port,
        protocol: l.spec.protocol.as_str(),
        address: l.bind.to_string(),
        default_pools,
        open_connections: stats.open.open.load(Ordering::Relaxed) as u64,
        connections_total: stats.connections.load(Ordering::Relaxed),
        requests_total: stats.requests.load(Ordering::Relaxed),
        requests_per_second: round3(rates.listener_rps.get(&l.key).copied().unwrap_or(0.0)),
        responses: ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .into_iter()
            .zip(&stats.responses)
            .map(|(class, n)| (class, n.load(Ordering::Relaxed)))
            .collect(),
        udp,
        latency: rates.listener_latency.get(&l.key).copied(),
    }
}

fn pool(p: &PoolRuntime, rates: &Rates) -> PoolStatus {
    let sticky = p.sticky.is_some() || p.keyed.is_some();
    let now = p.clock.unix_now();
    let check = &p.spec.health_check;
    PoolStatus {
        name: p.spec.name.clone(),
        algorithm: p.spec.algorithm.as_str(),
        stickiness: Stickiness {
            kind: p.spec.stickiness.kind,
            duration_seconds: sticky.then_some(p.spec.stickiness.duration_secs).flatten(),
        },
        sticky_decisions: sticky.then(|| {
            Reason::ALL
                .iter()
                .map(|r| {
                    (
                        r.as_str(),
                        p.stats.sticky[r.index()].load(Ordering::Relaxed),
                    )
                })
                .collect()
        }),
        fail_open: p.fail_open.as_ref().map(|_| FailOpen {
            failing_open: p.failing_open(),
        }),
        health_check: check.enabled.then_some(HealthCheck {
            protocol: check.protocol,
            interval_seconds: check.interval_secs,
            timeout_seconds: check.timeout_secs,
            healthy_threshold: check.healthy_threshold,
            unhealthy_threshold: check.unhealthy_threshold,
        }),
        targets: p
            .targets
            .iter()
            .map(|t| {
                // Header and source-IP sessions as the sampler last counted them (their table
                // is locked by the request path); cookie sessions from the atomics' estimate.
                let sessions = if p.keyed.is_some() {
                    let key = sampler::target_key(&p.spec.name, &t.shared);
                    Some(rates.keyed_sessions.get(&key).copied().unwrap_or(0))
                } else if p.sticky.is_some() {
                    Some(t.shared.sessions.estimate(now))
                } else {
                    None
                };
                target(p, t, now, sessions, rates)
            })
            .collect(),
    }
}

fn target(
    p: &PoolRuntime,
    t: &TargetRuntime,
    now: u64,
    sticky_sessions: Option<u64>,
    rates: &Rates,
) -> TargetStatus {
    let shared = &t.shared;
    let state = match (t.drain_deadline, shared.health()) {
        (Some(_), _) => "draining",
        (None, Health::Unknown) => "unknown",
        (None, Health::Healthy) => "healthy",
        (None, Health::Unhealthy) => "unhealthy",
    };
    let failure = shared.health_failure();
    let (failure_reason, failure_code) = (
        failure.map(HealthFailure::label),
        failure.and_then(HealthFailure::code),
    );
    let key = sampler::target_key(&p.spec.name, shared);
    TargetStatus {
        address: shared.address.to_string(),
        weight: t.weight,
        state,
        available: shared.is_available() && t.drain_deadline.is_none(),
        failure_reason,
        failure_code,
        drain_deadline: t.drain_deadline.map(|d| {
            crate::changes::rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(d))
        }),
        drain_seconds_left: t.drain_deadline.map(|d| d.saturating_sub(now)),
        active_connections: shared.stats.load_connections(),
        in_flight_requests: shared.stats.load_in_flight(),
        selections_total: shared.stats.selections.load(Ordering::Relaxed),
        requests_per_second: round3(rates.target_rps.get(&key).copied().unwrap_or(0.0)),
        sticky_sessions,
        latency: rates.target_latency.get(&key).copied(),
    }
}

/// The document as JSON text.
pub fn render(sources: &StatusSources<'_>) -> String {
    // Serializing plain structs of strings and numbers cannot fail; if it ever did, an
    // explicit error object is better than a panic in the endpoint.
    serde_json::to_string_pretty(&build(sources))
        .unwrap_or_else(|e| format!("{{\"schema_version\":{SCHEMA_VERSION},\"error\":\"{e}\"}}"))
}
