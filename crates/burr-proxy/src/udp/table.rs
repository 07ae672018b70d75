//! One worker's flows of one UDP listener, keyed by the client's address and port and kept in
//! the order of their last client datagram, so the flow idle the longest is found at the front
//! without a scan. The table is owned by the listener's receive loop on its worker: no lock.
//!
//! Replies move a flow's activity stamp (an atomic the flow's task updates) but not its place in
//! the order, which only the receive loop changes; eviction therefore checks the front's stamp
//! and, when a reply came after the client's last datagram, moves it back and looks again (a
//! bounded number of times), so a flow that only receives is not mistaken for an idle one.
//!
//! Every removal ends the flow's task (dropping an [`Entry`] aborts it) and is counted in the
//! listener's open-flow gauge, which is also what `max_flows` is checked against across workers.

use super::flow::Flow;
use super::stats::EndReason;
use crate::metrics::ListenerStats;
use hashlink::LinkedHashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::task::AbortHandle;

/// How many fronts eviction looks at before it takes the front whatever its stamp says.
const EVICTION_LOOKS: usize = 16;

/// A flow in the table.
pub struct Entry {
    pub flow: Arc<Flow>,
    task: AbortHandle,
    /// Tells an exit report of this flow from one of an earlier flow of the same client.
    pub serial: u64,
    /// Rule-clock second of the client's last datagram: the table's order.
    ordered_at: u64,
    /// Rule-clock second the client's source-IP session was last renewed for this flow.
    pub renewed_at: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // A flow out of the table must not go on relaying (a no-op when it has ended itself).
        self.task.abort();
    }
}

pub struct FlowTable {
    flows: LinkedHashMap<SocketAddr, Entry>,
    stats: Arc<ListenerStats>,
    next_serial: u64,
}

impl FlowTable {
    pub fn new(stats: Arc<ListenerStats>) -> Self {
        Self {
            flows: LinkedHashMap::new(),
            stats,
            next_serial: 0,
        }
    }

    /// A serial for the next flow.
    pub fn next_serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// The flow of `client`, moved to the back of the order as active at `now`.
    pub fn touch(&mut self, client: &SocketAddr, now: u64) -> Option<&mut Entry> {
        let entry = self.flows.to_back(client)?;
        entry.ordered_at = now;
        Some(entry)
    }

    /// Adds a new flow (the caller made room under the cap) and counts it open.
    pub fn insert(
        &mut self,
        client: SocketAddr,
        flow: Arc<Flow>,
        task: AbortHandle,
        serial: u64,
        now: u64,
    ) {
        let entry = Entry {
            flow,
            task,
            serial,
            ordered_at: now,
            renewed_at: now,
        };
        if let Some(replaced) = self.flows.insert(client, entry) {
            // Not expected (the caller removes first), but the count must stay true.
            drop(replaced);
        } else {
            self.stats.udp.open_flows.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.udp.flows_created.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends the flow of `client` for `reason`.
    pub fn remove(&mut self, client: &SocketAddr, reason: EndReason) -> Option<Arc<Flow>> {
        let entry = self.flows.remove(client)?;
        self.count_removed(reason);
        Some(entry.flow.clone())
    }

    /// A flow's task ended itself: drops it, unless `client` has a newer flow by now.
    pub fn exited(&mut self, client: &SocketAddr, serial: u64, reason: EndReason) {
        if self.flows.get(client).is_some_and(|e| e.serial == serial) {
            self.remove(client, reason);
        }
    }

    /// Ends the flows with no datagram either way since `now - idle_secs` (rule-clock seconds).
    /// Walks from the front and stops at the first flow still active; a front whose stamp a
    /// reply moved goes to the back with that stamp (each at most once per sweep). Such a flow
    /// may sit ahead of older ones for a while, so a flow can end up to the age of that reply
    /// late; never early.
    pub fn expire_idle(&mut self, now: u64, idle_secs: u64) {
        let mut moved = 0;
        while let Some((client, entry)) = self.flows.front() {
            let client = *client;
            let active = entry.flow.last_active();
            if active.saturating_add(idle_secs) <= now {
                self.remove(&client, EndReason::Idle);
            } else if active > entry.ordered_at && moved < self.flows.len() {
                moved += 1;
                self.touch(&client, active);
            } else {
                return;
            }
        }
    }

    /// Evicts the flow idle the longest (counted as a `cap` end); false when there is none.
    pub fn evict_oldest(&mut self) -> bool {
        for _ in 0..EVICTION_LOOKS {
            let Some((client, entry)) = self.flows.front() else {
                return false;
            };
            let client = *client;
            let active = entry.flow.last_active();
            if active > entry.ordered_at {
                // A reply came after the client's last datagram: not as idle as its place says.
                self.touch(&client, active);
                continue;
            }
            break;
        }
        match self.flows.pop_front() {
            Some(_) => {
                self.count_removed(EndReason::Cap);
                true
            }
            None => false,
        }
    }

    /// Ends every flow for `reason` (their tasks are aborted, their sockets close).
    pub fn end_all(&mut self, reason: EndReason) {
        while self.flows.pop_front().is_some() {
            self.count_removed(reason);
        }
    }

    fn count_removed(&self, reason: EndReason) {
        self.stats.udp.open_flows.fetch_sub(1, Ordering::Relaxed);
        self.stats.udp.count_end(reason);
    }
}

impl Drop for FlowTable {
    fn drop(&mut self) {
        // The receive loop ended (its worker stopped): its flows are gone from the gauge too.
        let open = self.flows.len() as u64;
        self.stats.udp.open_flows.fetch_sub(open, Ordering::Relaxed);
    }
}
