//! Counters and histograms of the events around requests rather than of requests themselves:
//! new upstream connections (their connect time, failed TLS to targets), client TLS handshakes,
//! ended TCP relays, active health checks (their results and times) and sticky-cookie token
//! opens (by outcome).
//! Each lives as plain atomics on the runtime object it describes (listener, pool, target,
//! through one field of [`super::ListenerStats`], [`super::PoolStats`] and
//! [`super::TargetStats`]), so counting is a relaxed atomic add; this module also writes their
//! Prometheus exposition.

use super::histogram::Histogram;
use super::{header, label};
use crate::runtime::{HealthFailure, ListenerRuntime, PoolRuntime};
use burr_affinity::sticky::TokenOutcome;
use burr_model::Protocol;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a client's TLS handshake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeResult {
    Ok,
    /// The handshake broke: not TLS, no common version or cipher, an alert, or the client left.
    Failed,
    /// Not finished within the listener's `header_read_timeout_secs`.
    Timeout,
}

impl HandshakeResult {
    const ALL: [HandshakeResult; 3] = [Self::Ok, Self::Failed, Self::Timeout];

    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
        }
    }
}

/// How a TCP or SSL listener's relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// Both sides closed, or one failed.
    Closed,
    /// No byte either way for the listener's `idle_timeout_secs`.
    IdleTimeout,
    /// Its target's drain deadline passed, or the target left the configuration.
    TargetRetired,
    /// No target took the connection (none available, or every connect failed).
    NoTarget,
}

impl RelayEnd {
    const ALL: [RelayEnd; 4] = [
        Self::Closed,
        Self::IdleTimeout,
        Self::TargetRetired,
        Self::NoTarget,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::IdleTimeout => "idle_timeout",
            Self::TargetRetired => "target_retired",
            Self::NoTarget => "no_target",
        }
    }
}

/// Per listener: client TLS handshakes (https and ssl listeners), ended TCP relays (tcp and ssl
/// listeners).
#[derive(Default)]
pub struct ListenerEvents {
    /// Indexed by [`RelayEnd`] as declared.
    tcp_relays: [AtomicU64; 4],
    /// Indexed by [`HandshakeResult`] as declared.
    tls_handshakes: [AtomicU64; 3],
    /// Successful handshakes only: a failure's time says more about the client than burr.
    tls_handshake_duration: Histogram,
}

impl ListenerEvents {
    pub fn count_handshake(&self, result: HandshakeResult, took: Duration) {
        self.tls_handshakes[result as usize].fetch_add(1, Ordering::Relaxed);
        if result == HandshakeResult::Ok {
            self.tls_handshake_duration.observe(took);
        }
    }

    pub fn count_relay(&self, end: RelayEnd) {
        self.tcp_relays[end as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn handshakes(&self, result: HandshakeResult) -> u64 {
        self.tls_handshakes[result as usize].load(Ordering::Relaxed)
    }
}

/// The result label of one health check, in the order of [`HEALTH_RESULTS`].
pub fn health_result_index(outcome: Result<(), HealthFailure>) -> usize {
    match outcome {
        Ok(()) => 0,
        Err(HealthFailure::Timeout) => 1,
        Err(HealthFailure::ConnectionFailed) => 2,
        Err(HealthFailure::ResponseCodeMismatch(_)) => 3,
        Err(HealthFailure::UnexpectedReply) => 4,
    }
}

const HEALTH_RESULTS: [&str; 5] = [
    "healthy",
    "timeout",
    "connection_failed",
    "response_code_mismatch",
    "unexpected_reply",
];

/// Per pool: health-check times and sticky-cookie token opens.
#[derive(Default)]
pub struct PoolEvents {
    /// Every check of the pool's targets, passed or failed (a timeout counts its timeout).
    pub health_check_duration: Histogram,
    /// Indexed by [`TokenOutcome::index`].
    token_opens: [AtomicU64; TokenOutcome::ALL.len()],
}

impl PoolEvents {
    pub fn count_token_open(&self, outcome: TokenOutcome) {
        self.token_opens[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// Per target: new upstream connections' connect time, failed upstream TLS, health checks.
#[derive(Default)]
pub struct TargetEvents {
    /// Data-plane connections opened (HTTP paths and TCP relays; not health checks).
    pub connect_duration: Histogram,
    /// Upstream TLS handshakes that failed (`https` and `ssl` targets).
    pub tls_failures: AtomicU64,
    /// Health checks by result, indexed as [`HEALTH_RESULTS`].
    health_checks: [AtomicU64; 5],
}

impl TargetEvents {
    pub fn count_health_check(&self, outcome: Result<(), HealthFailure>) {
        self.health_checks[health_result_index(outcome)].fetch_add(1, Ordering::Relaxed);
    }
}

fn listener_labels(l: &ListenerRuntime) -> String {
    format!(
        "balancer=\"{}\",port=\"{}\"",
        label(&l.key.balancer),
        l.key.port
    )
}

fn target_labels(pool: &PoolRuntime, target: &crate::runtime::TargetShared) -> String {
    format!(
        "pool=\"{}\",target=\"{}\"",
        label(&pool.spec.name),
        label(&target.address.to_string())
    )
}

/// Writes every series of this module. `listeners` and `pools` come sorted.
pub fn render(listeners: &[&Arc<ListenerRuntime>], pools: &[&Arc<PoolRuntime>], out: &mut String) {
    render_tls(listeners, out);
    render_relays(listeners, out);
    render_connects(pools, out);
    render_health(pools, out);
    render_token_opens(pools, out);
}

fn render_tls(listeners: &[&Arc<ListenerRuntime>], out: &mut String) {
    // Listeners that terminate TLS now, or did before a change made them plain.
    let tls: Vec<_> = listeners
        .iter()
        .filter(|l| {
            let events = &l.stats.events;
            l.tls.is_some()
                || HandshakeResult::ALL
                    .iter()
                    .any(|r| events.handshakes(*r) > 0)
        })
        .collect();
    header(
        out,
        "burr_tls_handshakes_total",
        "counter",
        "Client TLS handshakes on https and ssl listeners, by result: ok, failed (not TLS, no \
         common version or cipher, an alert, or the client left), timeout (not done within the \
         listener's header_read_timeout_secs).",
    );
    for l in &tls {
        let labels = listener_labels(l);
        for result in HandshakeResult::ALL {
            let _ = writeln!(
                out,
                "burr_tls_handshakes_total{{{labels},result=\"{}\"}} {}",
                result.as_str(),
                l.stats.events.handshakes(result)
            );
        }
    }
    header(
        out,
        "burr_tls_handshake_duration_seconds",
        "histogram",
        "Time of successful client TLS handshakes, from the start of the handshake (after any \
         PROXY header) to its end, the wait for the client's hello included.",
    );
    for l in &tls {
        l.stats.events.tls_handshake_duration.render(
            out,
            "burr_tls_handshake_duration_seconds",
            &listener_labels(l),
        );
    }
}

fn render_relays(listeners: &[&Arc<ListenerRuntime>], out: &mut String) {
    header(
        out,
        "burr_tcp_relays_total",
        "counter",
        "Ended connections of tcp, ssl and tcp_udp listeners, by how they ended: closed (both \
         sides closed, or one failed), idle_timeout, target_retired (its drain deadline passed \
         or it left the configuration), no_target (no target took it). Open ones are in \
         burr_open_connections.",
    );
    for l in listeners.iter().filter(|l| {
        matches!(
            l.spec.protocol,
            Protocol::Tcp | Protocol::Ssl | Protocol::TcpUdp
        )
    }) {
        let labels = listener_labels(l);
        for end in RelayEnd::ALL {
            let _ = writeln!(
                out,
                "burr_tcp_relays_total{{{labels},end=\"{}\"}} {}",
                end.as_str(),
                l.stats.events.tcp_relays[end as usize].load(Ordering::Relaxed)
            );
        }
    }
}

fn render_connects(pools: &[&Arc<PoolRuntime>], out: &mut String) {
    header(
        out,
        "burr_target_connect_duration_seconds",
        "histogram",
        "Time to open a new data-plane connection to the target (TCP connect, the PROXY \
         header when the pool sends one, and the TLS handshake for https/ssl targets), for \
         successful opens by the HTTP paths and TCP relays; health checks are not counted, \
         failures are in burr_target_connect_failures_total.",
    );
    for p in pools {
        for t in &p.targets {
            t.shared.stats.events.connect_duration.render(
                out,
                "burr_target_connect_duration_seconds",
                &target_labels(p, &t.shared),
            );
        }
    }
    header(
        out,
        "burr_target_tls_failures_total",
        "counter",
        "TLS handshakes with the target (https and ssl targets) that failed on data-plane \
         connections; each is also a connect failure.",
    );
    for p in pools {
        for t in &p.targets {
            let _ = writeln!(
                out,
                "burr_target_tls_failures_total{{{}}} {}",
                target_labels(p, &t.shared),
                t.shared.stats.events.tls_failures.load(Ordering::Relaxed)
            );
        }
    }
}

fn render_health(pools: &[&Arc<PoolRuntime>], out: &mut String) {
    let checked: Vec<_> = pools
        .iter()
        .filter(|p| p.spec.health_check.enabled)
        .collect();
    header(
        out,
        "burr_health_checks_total",
        "counter",
        "Active health checks of the target, by result: healthy, timeout, connection_failed, \
         response_code_mismatch, unexpected_reply (a UDP check's reply without its expected \
         bytes); pools with health checks only.",
    );
    for p in &checked {
        for t in &p.targets {
            let labels = target_labels(p, &t.shared);
            for (result, count) in HEALTH_RESULTS
                .iter()
                .zip(&t.shared.stats.events.health_checks)
            {
                let _ = writeln!(
                    out,
                    "burr_health_checks_total{{{labels},result=\"{result}\"}} {}",
                    count.load(Ordering::Relaxed)
                );
            }
        }
    }
    header(
        out,
        "burr_health_check_duration_seconds",
        "histogram",
        "Time of each active health check of the pool's targets, passed or failed (a timed-out \
         check counts its timeout).",
    );
    for p in &checked {
        p.stats.events.health_check_duration.render(
            out,
            "burr_health_check_duration_seconds",
            &format!("pool=\"{}\"", label(&p.spec.name)),
        );
    }
}

fn render_token_opens(pools: &[&Arc<PoolRuntime>], out: &mut String) {
    header(
        out,
        "burr_token_opens_total",
        "counter",
        "Sticky-cookie tokens (AWSELB, AWSALB/AWSALBCORS, AWSALBAPP) opened, by outcome: ok, \
         ok_previous_key (sealed by a rotated-out key in its grace window), expired, \
         policy_changed, other_pool, key_retired, unknown_key, tampered, malformed; cookie \
         sticky pools only.",
    );
    for p in pools.iter().filter(|p| p.sticky.is_some()) {
        for outcome in TokenOutcome::ALL {
            let _ = writeln!(
                out,
                "burr_token_opens_total{{pool=\"{}\",outcome=\"{}\"}} {}",
                label(&p.spec.name),
                outcome.as_str(),
                p.stats.events.token_opens[outcome.index()].load(Ordering::Relaxed)
            );
        }
    }
}
