//! A UDP listener's receive loop on one worker: reads datagrams in batches, finds or opens each
//! client's flow, forwards the datagram on the flow's socket, renews the client's source-IP
//! session at most once a second per flow, ends flows idle past the listener's timeout (one
//! sweep a second of the rule clock), and removes flows whose task reports their end.
//!
//! When the listener is removed the loop ends its flows at once and returns, closing its
//! sockets (see the comment at the stop signal for why UDP flows are not left to finish).

use super::flow::{self, Exit, FlowContext, OpenFlow, SendFailure};
use super::socket::{ListenerIo, with_receive_buffers};
use super::stats::{Direction, DropReason, EndReason};
use super::table::FlowTable;
use crate::affinity::renew_client_session;
use crate::listeners::ListenerSlot;
use crate::runtime::ListenerRuntime;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

/// Receives the listener's datagrams on one worker until it is removed, then ends its flows.
pub async fn serve(
    socket: std::net::UdpSocket,
    slot: Arc<ListenerSlot>,
    mut stop: oneshot::Receiver<()>,
) {
    let io = match ListenerIo::new(socket) {
        Ok(io) => Arc::new(io),
        Err(e) => {
            tracing::error!(error = %e, "cannot register a UDP listening socket");
            return;
        }
    };
    let (exits_tx, mut exits) = unbounded_channel();
    let mut table = FlowTable::new(slot.current().stats.clone());
    // Idle flows are found by one sweep a rule-clock second, from the front of the table,
    // rather than by a timer in every flow (which would cost each flow a few hundred bytes).
    let clock = flow_clock(&slot.current());
    let sweep = clock.reached(clock.unix_now() + 1);
    tokio::pin!(sweep);
    loop {
        tokio::select! {
            biased;
            // A removed listener's flows end at once: UDP has no exchange to let finish, and
            // a socket left reading replies would stay in the port's SO_REUSEPORT group, where
            // a new listener on the port would lose datagrams to it.
            _ = &mut stop => {
                table.end_all(EndReason::ListenerRemoved);
                return;
            }
            () = &mut sweep => {
                let now = clock.unix_now();
                // Read at each sweep: a reload's timeout applies to the flows already open.
                let idle_secs = slot.current().spec.udp_settings().flow_idle_timeout_secs;
                table.expire_idle(now, u64::from(idle_secs));
                sweep.set(clock.reached(now + 1));
            }
            Some(exit) = exits.recv() => {
                let Exit { client, serial, reason } = exit;
                table.exited(&client, serial, reason);
            }
            ready = io.socket.readable() => {
                if ready.is_ok() {
                    receive_batch(&io, &slot, &mut table, &exits_tx);
                }
            }
        }
    }
}

/// Reads one batch of datagrams and relays each.
fn receive_batch(
    io: &Arc<ListenerIo>,
    slot: &ListenerSlot,
    table: &mut FlowTable,
    exits: &UnboundedSender<Exit>,
) {
    with_receive_buffers(|buffers| {
        let count = match io.receive(buffers) {
            Ok(count) => count,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                tracing::debug!(error = %e, "UDP receive failed");
                return;
            }
        };
        // Read once per batch: a reload applies from the next batch on.
        let listener = slot.current();
        let mut relay = Relay {
            io,
            listener: &listener,
            table,
            exits,
        };
        let mut scratch = std::mem::take(&mut buffers.scratch);
        for index in 0..count {
            let meta = buffers.meta[index];
            // With GRO off each slot holds one datagram; split by stride should one not.
            let stride = if meta.stride == 0 {
                meta.len
            } else {
                meta.stride
            };
            let mut start = 0;
            while start < meta.len.max(1) {
                let end = (start + stride.max(1)).min(meta.len);
                relay.datagram(
                    &buffers.datagram(index)[start..end],
                    meta.addr,
                    meta.dst_ip,
                    &mut scratch,
                );
                start = end.max(start + 1);
            }
        }
        buffers.scratch = scratch;
    });
}

/// One batch's view of the listener.
struct Relay<'a> {
    io: &'a Arc<ListenerIo>,
    listener: &'a ListenerRuntime,
    table: &'a mut FlowTable,
    exits: &'a UnboundedSender<Exit>,
}

impl Relay<'_> {
    fn stats(&self) -> &super::UdpStats {
        &self.listener.stats.udp
    }

    /// Relays one client datagram, opening its flow if it has none.
    fn datagram(
        &mut self,
        payload: &[u8],
        client: SocketAddr,
        dst_ip: Option<IpAddr>,
        scratch: &mut Vec<u8>,
    ) {
        let Some(pool) = self.listener.pool.as_deref() else {
            self.stats().count_drop(DropReason::NoTarget);
            return;
        };
        let now = pool.clock.unix_now();
        // Through a copy of the reference, so the table can be borrowed mutably beside it.
        let listener = self.listener;
        let stats = &listener.stats.udp;
        if let Some(entry) = self.table.touch(&client, now) {
            let flow = &entry.flow;
            flow.touch(now);
            if entry.renewed_at < now {
                // The session outlives the flow's last datagram by the persistence timeout;
                // renewing takes a lock, so at most once a second per flow.
                entry.renewed_at = now;
                renew_client_session(pool, client.ip(), &flow.target);
            }
            match flow.send(payload, scratch) {
                Ok(_) => {
                    stats.count_datagram(Direction::ToTarget, payload.len());
                    return;
                }
                Err(e) => match flow::classify(&e) {
                    SendFailure::Drop(reason) => {
                        stats.count_drop(reason);
                        return;
                    }
                    SendFailure::Unreachable => {
                        // An ICMP unreachable from an earlier datagram: this one was not
                        // sent. The flow ends; a new one, elsewhere, takes the datagram.
                        flow.target.mark_connect_failure();
                        self.table.remove(&client, EndReason::TargetUnreachable);
                    }
                },
            }
        }
        self.first_datagram(payload, client, dst_ip, scratch, now);
    }

    /// Opens `client`'s flow (evicting the longest idle at the cap) and sends its first
    /// datagram.
    fn first_datagram(
        &mut self,
        payload: &[u8],
        client: SocketAddr,
        dst_ip: Option<IpAddr>,
        scratch: &mut Vec<u8>,
        now: u64,
    ) {
        let settings = self.listener.spec.udp_settings();
        let local = self.io.local_address(dst_ip);
        // Opened before any eviction: a flow that cannot be opened (no target, no socket) must
        // not cost a live one its place.
        let flow = match flow::open(self.listener, client, local, now) {
            Ok(flow) => flow,
            Err(reason) => {
                self.stats().count_drop(reason);
                return;
            }
        };
        let open = self
            .stats()
            .open_flows
            .load(std::sync::atomic::Ordering::Relaxed);
        // At the cap the flow idle the longest on this worker makes room; with none here
        // (every flow on other workers), the new flow is dropped with its datagram.
        if open >= u64::from(settings.max_flows) && !self.table.evict_oldest() {
            self.stats().count_drop(DropReason::FlowCap);
            return;
        }
        let serial = self.table.next_serial();
        let context = FlowContext {
            client,
            serial,
            reply_source: self.io.reply_source(dst_ip),
            io: self.io.clone(),
            stats: self.listener.stats.clone(),
            clock: flow_clock(self.listener),
            exits: self.exits.clone(),
        };
        let open = OpenFlow::new(flow.target.clone());
        let task = tokio::spawn(flow::run(flow.clone(), context, open)).abort_handle();
        self.table.insert(client, flow.clone(), task, serial, now);
        match flow.send(payload, scratch) {
            Ok(_) => self
                .stats()
                .count_datagram(Direction::ToTarget, payload.len()),
            Err(e) => match flow::classify(&e) {
                SendFailure::Drop(reason) => self.stats().count_drop(reason),
                SendFailure::Unreachable => {
                    flow.target.mark_connect_failure();
                    self.table.remove(&client, EndReason::TargetUnreachable);
                    self.stats().count_drop(DropReason::SendFailed);
                }
            },
        }
    }
}

/// The rule clock flows expire on: the pool's (every pool holds the data plane's clock).
fn flow_clock(listener: &ListenerRuntime) -> Arc<crate::clock::Clock> {
    listener
        .pool
        .as_ref()
        .map_or_else(crate::clock::Clock::system, |p| p.clock.clone())
}
