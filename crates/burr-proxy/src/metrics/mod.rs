//! Counters kept on the request path and their Prometheus text exposition.
//!
//! Counters are plain atomics owned by the runtime objects they describe (listener, pool,
//! target), so counting costs one relaxed atomic add and needs no registry lookup or lock. The
//! exposition walks the current [`Runtime`] at scrape time. The text format is written here
//! (about sixty lines) rather than through a metrics crate because every such crate would either
//! put a map lookup on the request path or need these same walkers as custom collectors.

pub mod events;
pub mod histogram;
pub mod latency;

use crate::runtime::{Health, Runtime};
use burr_affinity::sticky::Reason;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Per listener: client connections accepted and open, requests and responses by status class.
#[derive(Default)]
pub struct ListenerStats {
    pub connections: AtomicU64,
    /// Client TLS handshakes ([`events`]).
    pub events: events::ListenerEvents,
    /// Open client connections, counted against the listener's `max_connections`.
    pub open: std::sync::Arc<crate::limits::ListenerConnections>,
    pub requests: AtomicU64,
    /// Index 0 = 1xx … 4 = 5xx.
    pub responses: [AtomicU64; 5],
    /// Requests by the action taken, indexed as [`crate::actions::ACTION_KINDS`], and whether a
    /// rule chose it (index 1) or the default action did (0). Per rule priority would be up
    /// to 100 series per listener, so it is left to the access log.
    pub actions: [[AtomicU64; 2]; 3],
    /// Requests of a listener with a deployment policy by the arm that served them, indexed by
    /// [`burr_affinity::canary::Arm::index`].
    pub canary_arms: [AtomicU64; 2],
    /// Canary session decisions, indexed as [`burr_affinity::canary::Decision::ALL`].
    pub canary_sessions: [AtomicU64; 3],
    /// Flows, datagrams and drops of a udp or tcp_udp listener.
    pub udp: crate::udp::UdpStats,
    /// Connections closed because their PROXY header was refused (listeners with
    /// `accept_proxy_protocol`), indexed by [`crate::proxy_protocol::inbound::Refusal::index`].
    pub proxy_refused: [AtomicU64; 4],
    /// Bytes read from and written to clients: HTTP heads and bodies as HTTP carries them
    /// (after TLS), and what TCP and SSL relays move.
    pub received_bytes: AtomicU64,
    pub sent_bytes: AtomicU64,
    /// Request head received to response sent in full, every HTTP request (when
    /// `--latency-histograms` is on).
    pub request_duration: histogram::Histogram,
}

impl ListenerStats {
    pub fn count_response(&self, status: u16) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request: its action type and whether a rule matched.
    pub fn count_request(&self, kind: usize, by_rule: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(k) = self.actions.get(kind) {
            k[usize::from(by_rule)].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Per pool: selections that found no target, and connect failures.
#[derive(Default)]
pub struct PoolStats {
    pub no_target: AtomicU64,
    /// Health-check times, token opens ([`events`]).
    pub events: events::PoolEvents,
    pub connect_failures: AtomicU64,
    pub timeouts: AtomicU64,
    /// Stickiness decisions, indexed by [`Reason::index`].
    pub sticky: [AtomicU64; Reason::ALL.len()],
}

impl PoolStats {
    pub fn count_sticky(&self, reason: Reason) {
        self.sticky[reason.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// Per target: live connection and request gauges, selections, failures.
#[derive(Default)]
pub struct TargetStats {
    /// Open upstream connections (in use or idle in the keep-alive pool), and TCP relays.
    pub connections: AtomicI64,
    /// Connect times, upstream TLS failures, health checks ([`events`]).
    pub events: events::TargetEvents,
    /// Requests sent and not yet answered in full, and TCP relays (one request each).
    pub in_flight: AtomicI64,
    /// Times the algorithm chose this target.
    pub selections: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Request sent to the target to its response received in full (when
    /// `--latency-histograms` is on).
    pub response_duration: histogram::Histogram,
}

impl TargetStats {
    pub fn load_connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn load_in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed).max(0) as u64
    }
}

/// Escapes a label value per the Prometheus text format.
pub(crate) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The canary series, for listeners that split now or did.
fn render_canary(listeners: &[&std::sync::Arc<crate::runtime::ListenerRuntime>], out: &mut String) {
    use burr_affinity::canary::{Arm, Decision};
    let shown: Vec<_> = listeners
        .iter()
        .filter(|l| {
            l.canary.is_some()
                || l.stats
                    .canary_arms
                    .iter()
                    .any(|c| c.load(Ordering::Relaxed) > 0)
        })
        .collect();
    if shown.is_empty() {
        return;
    }
    header(
        out,
        "burr_canary_requests_total",
        "counter",
        "Requests of a listener with a continuous-deployment policy, by the arm that served them.",
    );
    for l in &shown {
        for arm in [Arm::Primary, Arm::Staging] {
            let _ = writeln!(
                out,
                "burr_canary_requests_total{{balancer=\"{}\",port=\"{}\",arm=\"{}\"}} {}",
                label(&l.key.balancer),
                l.key.port,
                arm.name(),
                l.stats.canary_arms[arm.index()].load(Ordering::Relaxed)
            );
        }
    }
    header(
        out,
        "burr_canary_sessions_total",
        "counter",
        "Canary session decisions: kept (a session cookie held), new (none), expired (one that \
         no longer holds: idle, too old, another generation, or not a token).",
    );
    for l in &shown {
        for (decision, count) in Decision::ALL.iter().zip(&l.stats.canary_sessions) {
            let _ = writeln!(
                out,
                "burr_canary_sessions_total{{balancer=\"{}\",port=\"{}\",decision=\"{}\"}} {}",
                label(&l.key.balancer),
                l.key.port,
                decision.name(),
                count.load(Ordering::Relaxed)
            );
        }
    }
}

/// Writes one series per listener of the family `(name, type, help)`, valued by `value`.
pub(super) fn listener_series(
    out: &mut String,
    listeners: &[&std::sync::Arc<crate::runtime::ListenerRuntime>],
    (name, kind, help): (&str, &str, &str),
    value: impl Fn(&crate::runtime::ListenerRuntime) -> u64,
) {
    header(out, name, kind, help);
    for l in listeners {
        let _ = writeln!(
            out,
            "{name}{{balancer=\"{}\",port=\"{}\"}} {}",
            label(&l.key.balancer),
            l.key.port,
            value(l)
        );
    }
}

/// Writes every metric of `runtime` in the Prometheus text format.
/// `burr_proxy_protocol_refused_total`, for the listeners that accept a PROXY header.
fn render_proxy_refused(
    listeners: &[&std::sync::Arc<crate::runtime::ListenerRuntime>],
    out: &mut String,
) {
    use crate::proxy_protocol::inbound::Refusal;
    header(
        out,
        "burr_proxy_protocol_refused_total",
        "counter",
        "Client connections closed because their PROXY header did not parse, was too long, \
         came too slowly or was cut short, by listener (accept_proxy_protocol only).",
    );
    for l in listeners.iter().filter(|l| l.spec.accept_proxy_protocol) {
        for reason in Refusal::ALL {
            let _ = writeln!(
                out,
                "burr_proxy_protocol_refused_total{{balancer=\"{}\",port=\"{}\",reason=\"{}\"}} {}",
                label(&l.key.balancer),
                l.key.port,
                reason.label(),
                l.stats.proxy_refused[reason.index()].load(Ordering::Relaxed)
            );
        }
    }
}

pub fn render(runtime: &Runtime, histograms: bool, out: &mut String) {
    let mut listeners: Vec<_> = runtime.listeners.values().collect();
    listeners.sort_by(|a, b| a.key.cmp(&b.key));
    let mut pools: Vec<_> = runtime.pools.values().collect();
    pools.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    crate::udp::stats::render(&listeners, out);

    listener_series(
        out,
        &listeners,
        (
            "burr_connections_total",
            "counter",
            "Client connections accepted, by listener (HTTP and TCP alike).",
        ),
        |l| l.stats.connections.load(Ordering::Relaxed),
    );
    listener_series(
        out,
        &listeners,
        (
            "burr_open_connections",
            "gauge",
            "Client connections open now, by listener (upgraded and TCP relays included).",
        ),
        |l| l.stats.open.open.load(Ordering::Relaxed) as u64,
    );
    listener_series(
        out,
        &listeners,
        (
            "burr_accept_paused_total",
            "counter",
            "Times a listener stopped accepting because its own or the process-wide connection cap \
         was reached (new clients wait in the accept backlog meanwhile).",
        ),
        |l| l.stats.open.paused.load(Ordering::Relaxed),
    );
    render_proxy_refused(&listeners, out);
    events::render(&listeners, &pools, out);
    listener_series(
        out,
        &listeners,
        (
            "burr_requests_total",
            "counter",
            "Requests received, by listener.",
        ),
        |l| l.stats.requests.load(Ordering::Relaxed),
    );
    header(
        out,
        "burr_rule_actions_total",
        "counter",
        "HTTP requests by the action taken and whether a listener rule (rule=\"matched\") or \
         the default action (rule=\"default\") chose it.",
    );
    for l in &listeners {
        for (kind, counts) in crate::actions::ACTION_KINDS.iter().zip(&l.stats.actions) {
            for (rule, count) in ["default", "matched"].iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "burr_rule_actions_total{{balancer=\"{}\",port=\"{}\",action=\"{kind}\",rule=\"{rule}\"}} {}",
                    label(&l.key.balancer),
                    l.key.port,
                    count.load(Ordering::Relaxed)
                );
            }
        }
    }
    render_canary(&listeners, out);
    header(
        out,
        "burr_responses_total",
        "counter",
        "Responses sent, by listener and status class.",
    );
    for l in &listeners {
        for (i, count) in l.stats.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "burr_responses_total{{balancer=\"{}\",port=\"{}\",class=\"{}xx\"}} {}",
                label(&l.key.balancer),
                l.key.port,
                i + 1,
                count.load(Ordering::Relaxed)
            );
        }
    }
    header(
        out,
        "burr_pool_failures_total",
        "counter",
        "Requests a pool could not serve, by reason.",
    );
    for p in &pools {
        for (reason, count) in [
            ("no_target", &p.stats.no_target),
            ("connect_failed", &p.stats.connect_failures),
            ("timeout", &p.stats.timeouts),
        ] {
            let _ = writeln!(
                out,
                "burr_pool_failures_total{{pool=\"{}\",reason=\"{reason}\"}} {}",
                label(&p.spec.name),
                count.load(Ordering::Relaxed)
            );
        }
    }
    header(
        out,
        "burr_pool_failing_open",
        "gauge",
        "1 while too few of the pool's targets are healthy and it routes to all of them \
         (fail-open routing); pools without the rule are not listed.",
    );
    for p in pools.iter().filter(|p| p.fail_open.is_some()) {
        let _ = writeln!(
            out,
            "burr_pool_failing_open{{pool=\"{}\"}} {}",
            label(&p.spec.name),
            u8::from(p.failing_open())
        );
    }
    header(
        out,
        "burr_sticky_decisions_total",
        "counter",
        "Stickiness decisions of sticky pools, by reason.",
    );
    for p in pools
        .iter()
        .filter(|p| p.sticky.is_some() || p.keyed.is_some())
    {
        for reason in Reason::ALL {
            let _ = writeln!(
                out,
                "burr_sticky_decisions_total{{pool=\"{}\",reason=\"{}\"}} {}",
                label(&p.spec.name),
                reason.as_str(),
                p.stats.sticky[reason.index()].load(Ordering::Relaxed)
            );
        }
    }
    header(
        out,
        "burr_target_sticky_sessions",
        "gauge",
        "Live sticky sessions bound to the target: exact for header and source-IP sessions (the \
         session table), estimated for cookie sessions (distinct sessions seen in the last \
         150-300 s, ±3.3%).",
    );
    for p in &pools {
        let now = p.clock.unix_now();
        let table = p.keyed.as_ref().map(|k| k.sessions.live_sessions(now));
        if table.is_none() && p.sticky.is_none() {
            continue;
        }
        for t in &p.targets {
            let live = match &table {
                Some(counts) => counts.get(&t.shared.id).copied().unwrap_or(0),
                None => t.shared.sessions.estimate(now),
            };
            let _ = writeln!(
                out,
                "burr_target_sticky_sessions{{pool=\"{}\",target=\"{}\"}} {live}",
                label(&p.spec.name),
                label(&t.shared.address.to_string()),
            );
        }
    }
    type Gauge = fn(&crate::runtime::TargetShared) -> i64;
    let target_metrics: [(&str, &str, &str, Gauge); 5] = [
        (
            "burr_target_active_connections",
            "gauge",
            "Open upstream connections to the target: HTTP ones (idle included) and TCP relays.",
            |t| t.stats.connections.load(Ordering::Relaxed),
        ),
        (
            "burr_target_in_flight_requests",
            "gauge",
            "Requests sent to the target and not yet answered in full, and TCP relays.",
            |t| t.stats.in_flight.load(Ordering::Relaxed),
        ),
        (
            "burr_target_healthy",
            "gauge",
            "1 if the target may receive new requests, else 0.",
            |t| i64::from(t.is_available()),
        ),
        (
            "burr_selections_total",
            "counter",
            "Times the pool's algorithm chose the target.",
            |t| t.stats.selections.load(Ordering::Relaxed) as i64,
        ),
        (
            "burr_target_connect_failures_total",
            "counter",
            "Failed connection attempts to the target.",
            |t| t.stats.connect_failures.load(Ordering::Relaxed) as i64,
        ),
    ];
    for (name, kind, help, value) in target_metrics {
        header(out, name, kind, help);
        for p in &pools {
            for t in &p.targets {
                let _ = writeln!(
                    out,
                    "{name}{{pool=\"{}\",target=\"{}\"}} {}",
                    label(&p.spec.name),
                    label(&t.shared.address.to_string()),
                    value(&t.shared)
                );
            }
        }
    }
    header(
        out,
        "burr_target_health_state",
        "gauge",
        "Active health-check state: 0 unknown, 1 healthy, 2 unhealthy.",
    );
    for p in &pools {
        for t in &p.targets {
            let state = match t.shared.health() {
                Health::Unknown => 0,
                Health::Healthy => 1,
                Health::Unhealthy => 2,
            };
            let _ = writeln!(
                out,
                "burr_target_health_state{{pool=\"{}\",target=\"{}\"}} {state}",
                label(&p.spec.name),
                label(&t.shared.address.to_string()),
            );
        }
    }
    header(
        out,
        "burr_target_health_check_failure",
        "gauge",
        "Why the target's last health check failed (reason timeout, response_code_mismatch \
         with the code, connection_failed, or unexpected_reply: a UDP check's reply without \
         its expected bytes); only targets whose last check failed.",
    );
    for p in &pools {
        for t in &p.targets {
            let Some(failure) = t.shared.health_failure() else {
                continue;
            };
            let reason = failure.label();
            let code = failure
                .code()
                .map(|c| format!(",code=\"{c}\""))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "burr_target_health_check_failure{{pool=\"{}\",target=\"{}\",reason=\"{reason}\"{code}}} 1",
                label(&p.spec.name),
                label(&t.shared.address.to_string()),
            );
        }
    }
    header(
        out,
        "burr_target_drain_deadline_seconds",
        "gauge",
        "UTC second at which a deregistered target's drain ends (its sessions move, its relays \
         close); only targets that are draining.",
    );
    for p in &pools {
        for t in &p.targets {
            if let Some(deadline) = t.drain_deadline {
                let _ = writeln!(
                    out,
                    "burr_target_drain_deadline_seconds{{pool=\"{}\",target=\"{}\"}} {deadline}",
                    label(&p.spec.name),
                    label(&t.shared.address.to_string()),
                );
            }
        }
    }
    latency::render(&listeners, &pools, histograms, out);
    header(
        out,
        "burr_config_generation",
        "gauge",
        "Generation of the configuration being served.",
    );
    let _ = writeln!(out, "burr_config_generation {}", runtime.generation);
}

/// Writes the process-wide connection cap, its count, the descriptor budget and the failed
/// accepts.
pub fn render_limits(limits: &crate::limits::ConnectionLimits, out: &mut String) {
    use crate::limits::AcceptFailure;
    let gauges: [(&str, &str, u64); 4] = [
        (
            "burr_process_open_connections",
            "Client connections open now, all listeners together.",
            limits.open() as u64,
        ),
        (
            "burr_process_max_connections",
            "The process-wide cap on client connections (--max-connections).",
            limits.max_connections as u64,
        ),
        (
            "burr_descriptor_limit",
            "The process's descriptor limit (RLIMIT_NOFILE) as burr found it at start.",
            limits.budget.limit,
        ),
        (
            "burr_descriptor_reserve",
            "Descriptors the default cap keeps for the admin endpoint, health checks and store.",
            limits.budget.reserve,
        ),
    ];
    for (name, help, value) in gauges {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    header(
        out,
        "burr_accept_errors_total",
        "counter",
        "Failed accepts of client connections, by reason: descriptors (EMFILE, ENFILE), memory \
         (ENOBUFS, ENOMEM), aborted (the client left first), other.",
    );
    for kind in AcceptFailure::ALL {
        let _ = writeln!(
            out,
            "burr_accept_errors_total{{reason=\"{}\"}} {}",
            kind.as_str(),
            limits.accept_failures(kind)
        );
    }
}
