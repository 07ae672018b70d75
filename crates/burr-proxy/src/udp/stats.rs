//! What a UDP listener counts (atomics in its [`crate::metrics::ListenerStats`], which outlive
//! configuration changes) and their Prometheus exposition. Every label has a fixed set of
//! values: direction, and the reasons below.

use crate::runtime::ListenerRuntime;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No datagram either way for the listener's `flow_idle_timeout_secs`.
    Idle,
    /// Evicted, the longest idle, to make room under `max_flows`.
    Cap,
    /// The target answered with an ICMP unreachable (or the socket failed).
    TargetUnreachable,
    /// The target was deregistered and its drain deadline passed.
    Drained,
    /// The listener was removed (or changed to a protocol without UDP).
    ListenerRemoved,
}

impl EndReason {
    pub const ALL: [EndReason; 5] = [
        Self::Idle,
        Self::Cap,
        Self::TargetUnreachable,
        Self::Drained,
        Self::ListenerRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Cap => "cap",
            Self::TargetUnreachable => "target_unreachable",
            Self::Drained => "drained",
            Self::ListenerRemoved => "listener_removed",
        }
    }
}

/// Why a datagram was dropped instead of relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Larger than the path to the target takes (`EMSGSIZE`), PROXY header included.
    TooLarge,
    /// The socket's send buffer was full (UDP does not wait).
    WouldBlock,
    /// No target may take a new flow (none registered, all down).
    NoTarget,
    /// At `max_flows` with no flow on this worker to evict.
    FlowCap,
    /// A new flow's socket could not be opened (descriptors or memory exhausted).
    NoSocket,
    /// Any other send error.
    SendFailed,
}

impl DropReason {
    pub const ALL: [DropReason; 6] = [
        Self::TooLarge,
        Self::WouldBlock,
        Self::NoTarget,
        Self::FlowCap,
        Self::NoSocket,
        Self::SendFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::WouldBlock => "would_block",
            Self::NoTarget => "no_target",
            Self::FlowCap => "flow_cap",
            Self::NoSocket => "no_socket",
            Self::SendFailed => "send_failed",
        }
    }
}

/// Which way a datagram went.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    ToTarget = 0,
    ToClient = 1,
}

const DIRECTIONS: [&str; 2] = ["to_target", "to_client"];

/// A UDP listener's counters.
#[derive(Default)]
pub struct UdpStats {
    /// Flows open now, on all workers: the gauge, and what `max_flows` is checked against.
    pub open_flows: AtomicU64,
    pub flows_created: AtomicU64,
    ended: [AtomicU64; EndReason::ALL.len()],
    datagrams: [AtomicU64; 2],
    bytes: [AtomicU64; 2],
    dropped: [AtomicU64; DropReason::ALL.len()],
}

impl UdpStats {
    pub fn count_end(&self, reason: EndReason) {
        self.ended[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_drop(&self, reason: DropReason) {
        self.dropped[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_datagram(&self, direction: Direction, bytes: usize) {
        self.datagrams[direction as usize].fetch_add(1, Ordering::Relaxed);
        self.bytes[direction as usize].fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Writes the UDP series of the listeners that receive datagrams.
pub fn render(listeners: &[&Arc<ListenerRuntime>], out: &mut String) {
    let udp: Vec<_> = listeners
        .iter()
        .filter(|l| l.spec.protocol.carries_datagrams())
        .collect();
    if udp.is_empty() {
        return;
    }
    let labels = |l: &ListenerRuntime| {
        format!(
            "balancer=\"{}\",port=\"{}\"",
            crate::metrics::label(&l.key.balancer),
            l.key.port
        )
    };
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    crate::metrics::header(
        out,
        "burr_udp_open_flows",
        "gauge",
        "UDP flows (client address and port) open now, by listener.",
    );
    for l in &udp {
        let s = &l.stats.udp;
        let _ = writeln!(
            out,
            "burr_udp_open_flows{{{}}} {}",
            labels(l),
            load(&s.open_flows)
        );
    }
    crate::metrics::header(
        out,
        "burr_udp_flows_created_total",
        "counter",
        "UDP flows opened, by listener.",
    );
    for l in &udp {
        let s = &l.stats.udp;
        let _ = writeln!(
            out,
            "burr_udp_flows_created_total{{{}}} {}",
            labels(l),
            load(&s.flows_created)
        );
    }
    crate::metrics::header(
        out,
        "burr_udp_flows_evicted_total",
        "counter",
        "UDP flows ended, by listener and reason: idle past flow_idle_timeout_secs, evicted at \
         max_flows (cap), ICMP unreachable from the target, or the target's drain deadline.",
    );
    for l in &udp {
        for reason in EndReason::ALL {
            let _ = writeln!(
                out,
                "burr_udp_flows_evicted_total{{{},reason=\"{}\"}} {}",
                labels(l),
                reason.as_str(),
                load(&l.stats.udp.ended[reason as usize])
            );
        }
    }
    crate::metrics::header(
        out,
        "burr_udp_datagrams_total",
        "counter",
        "UDP datagrams relayed, by listener and direction.",
    );
    for l in &udp {
        for (i, direction) in DIRECTIONS.iter().enumerate() {
            let _ = writeln!(
                out,
                "burr_udp_datagrams_total{{{},direction=\"{direction}\"}} {}",
                labels(l),
                load(&l.stats.udp.datagrams[i])
            );
        }
    }
    crate::metrics::header(
        out,
        "burr_udp_bytes_total",
        "counter",
        "UDP payload bytes relayed (PROXY headers not included), by listener and direction.",
    );
    for l in &udp {
        for (i, direction) in DIRECTIONS.iter().enumerate() {
            let _ = writeln!(
                out,
                "burr_udp_bytes_total{{{},direction=\"{direction}\"}} {}",
                labels(l),
                load(&l.stats.udp.bytes[i])
            );
        }
    }
    crate::metrics::header(
        out,
        "burr_udp_dropped_total",
        "counter",
        "UDP datagrams dropped, by listener and reason.",
    );
    for l in &udp {
        for reason in DropReason::ALL {
            let _ = writeln!(
                out,
                "burr_udp_dropped_total{{{},reason=\"{}\"}} {}",
                labels(l),
                reason.as_str(),
                load(&l.stats.udp.dropped[reason as usize])
            );
        }
    }
}
