//! The request path's latency histograms and byte counters in the exposition:
//! `burr_request_duration_seconds` per listener (the client's view: request head received to
//! response sent in full), `burr_target_response_duration_seconds` per target (upstream time:
//! request sent to response received in full) and `burr_received_bytes_total` /
//! `burr_sent_bytes_total` per listener. The request paths (`http/h1`, `http/mod.rs`,
//! `tcp.rs`) fill them; this file only writes them out.

use super::{header, label, listener_series};
use crate::runtime::{ListenerRuntime, PoolRuntime};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Writes the byte counters, and the histograms when `histograms` is on (with
/// `--latency-histograms off` nothing observes them, so they are left out rather than shown
/// empty).
pub fn render(
    listeners: &[&Arc<ListenerRuntime>],
    pools: &[&Arc<PoolRuntime>],
    histograms: bool,
    out: &mut String,
) {
    listener_series(
        out,
        listeners,
        (
            "burr_received_bytes_total",
            "counter",
            "Bytes received from clients, by listener: HTTP request heads and bodies (after \
             TLS) and what TCP/SSL relays read from clients.",
        ),
        |l| l.stats.received_bytes.load(Ordering::Relaxed),
    );
    listener_series(
        out,
        listeners,
        (
            "burr_sent_bytes_total",
            "counter",
            "Bytes sent to clients, by listener: HTTP response heads and bodies (before TLS) \
             and what TCP/SSL relays wrote to clients.",
        ),
        |l| l.stats.sent_bytes.load(Ordering::Relaxed),
    );
    if !histograms {
        return;
    }
    header(
        out,
        "burr_request_duration_seconds",
        "histogram",
        "HTTP requests from the request head received to the response sent in full, by \
         listener (answers of burr's own included). Not rendered with --latency-histograms off.",
    );
    for l in listeners.iter().filter(|l| l.spec.protocol.is_http()) {
        let labels = format!(
            "balancer=\"{}\",port=\"{}\"",
            label(&l.key.balancer),
            l.key.port
        );
        l.stats
            .request_duration
            .render(out, "burr_request_duration_seconds", &labels);
    }
    header(
        out,
        "burr_target_response_duration_seconds",
        "histogram",
        "HTTP requests from the request sent to the target to its response received in full \
         (upstream time), by target. Not rendered with --latency-histograms off.",
    );
    for p in pools {
        for t in &p.targets {
            let labels = format!(
                "pool=\"{}\",target=\"{}\"",
                label(&p.spec.name),
                label(&t.shared.address.to_string())
            );
            t.shared.stats.response_duration.render(
                out,
                "burr_target_response_duration_seconds",
                &labels,
            );
        }
    }
}
