//! One UDP flow: the connected socket to its target, opened for the client's first datagram
//! with the target chosen exactly as a TCP connection's (`Attempts`, the source-IP session),
//! and the task that relays the target's replies to the client and ends the flow.
//!
//! A flow ends when no datagram has moved either way for the listener's idle timeout (the
//! receive loop's sweep finds it, on the rule clock, so `--manual-clock` tests expire flows
//! without sleeping; this module keeps the activity stamp it reads), when the target
//! answers with an ICMP unreachable (the connected socket reports it as `ECONNREFUSED` /
//! `EHOSTUNREACH`: the target is marked passively down, as a refused TCP connect marks it, so
//! the client's next datagram opens a flow elsewhere), or when its target's drain deadline
//! passes. While it lives it counts as an open connection on its target (least connections).
//!
//! A flow holds no buffer: replies are read into the worker's reply buffer.

use super::socket::{ListenerIo, with_reply_buffer};
use super::stats::{Direction, DropReason, EndReason};
use crate::affinity::{Affinity, client_hash};
use crate::attempts::Attempts;
use crate::clock::Clock;
use crate::metrics::ListenerStats;
use crate::runtime::{ListenerRuntime, TargetShared};
use burr_model::TargetAddress;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

/// Replies relayed per wake-up before the task lets others run.
const REPLIES_PER_WAKE: usize = 64;

/// What a flow's task reports to its receive loop when it ends by itself.
pub struct Exit {
    pub client: SocketAddr,
    pub serial: u64,
    pub reason: EndReason,
}

/// A flow's state shared between the receive loop (client to target) and its task (replies).
pub struct Flow {
    socket: UdpSocket,
    pub target: Arc<TargetShared>,
    /// The PROXY v2 header that begins every datagram to the target, when the pool sends one.
    header: Option<Box<[u8]>>,
    /// Rule-clock second of the last datagram either way.
    last_active: AtomicU64,
}

impl Flow {
    pub fn last_active(&self) -> u64 {
        self.last_active.load(Ordering::Relaxed)
    }

    /// A datagram moved at `now`.
    pub fn touch(&self, now: u64) {
        // Most datagrams fall in the same second: skip the store.
        if self.last_active.load(Ordering::Relaxed) != now {
            self.last_active.store(now, Ordering::Relaxed);
        }
    }

    /// Sends one client datagram to the target without waiting, behind the PROXY header if
    /// any (assembled in `scratch`).
    pub fn send(&self, payload: &[u8], scratch: &mut Vec<u8>) -> io::Result<usize> {
        // Straight to the descriptor: tokio's `try_send` would refuse until the runtime has
        // seen the new socket writable, and a datagram is never worth waiting for.
        let socket = socket2::SockRef::from(&self.socket);
        match &self.header {
            None => socket.send(payload),
            Some(header) => {
                scratch.clear();
                scratch.extend_from_slice(header);
                scratch.extend_from_slice(payload);
                socket.send(scratch)
            }
        }
    }
}

/// How a send or receive error on a flow's socket is taken.
pub enum SendFailure {
    /// The target (or the path to it) is unreachable: end the flow, mark the target.
    Unreachable,
    /// Drop the datagram, keep the flow.
    Drop(DropReason),
}

pub fn classify(error: &io::Error) -> SendFailure {
    if error.kind() == io::ErrorKind::WouldBlock {
        return SendFailure::Drop(DropReason::WouldBlock);
    }
    match error.raw_os_error() {
        Some(libc::EMSGSIZE) => SendFailure::Drop(DropReason::TooLarge),
        Some(
            libc::ECONNREFUSED
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::EHOSTDOWN
            | libc::ENETDOWN,
        ) => SendFailure::Unreachable,
        _ => SendFailure::Drop(DropReason::SendFailed),
    }
}

/// Everything a new flow's task needs besides the flow.
pub struct FlowContext {
    pub client: SocketAddr,
    pub serial: u64,
    /// The address replies leave from (`None`: the listener socket's own).
    pub reply_source: Option<IpAddr>,
    pub io: Arc<ListenerIo>,
    pub stats: Arc<ListenerStats>,
    pub clock: Arc<Clock>,
    pub exits: UnboundedSender<Exit>,
}

/// Opens a flow for `client`'s first datagram, received on `local`: chooses a target as a TCP
/// connection would, connects a UDP socket to it. `now` is the rule clock's second.
pub fn open(
    listener: &ListenerRuntime,
    client: SocketAddr,
    local: SocketAddr,
    now: u64,
) -> Result<Arc<Flow>, DropReason> {
    // Validation gives every udp listener a pool.
    let pool = listener.pool.as_deref().ok_or(DropReason::NoTarget)?;
    let hash = client_hash(pool, client.ip());
    let mut attempts = Attempts::new(pool, Affinity::for_client(pool, hash), hash)
        .map_err(|_| DropReason::NoTarget)?;
    let (target, socket) = loop {
        let index = attempts.next().map_err(|_| DropReason::NoTarget)?;
        let target = &pool.targets[index].shared;
        match connect(&target.address) {
            Ok(socket) => break (target.clone(), socket),
            Err(error) if out_of_resources(&error) => {
                tracing::debug!(%error, "cannot open a UDP flow socket");
                return Err(DropReason::NoSocket);
            }
            Err(error) => attempts
                .connect_failed(index, &error)
                .map_err(|_| DropReason::NoTarget)?,
        }
    };
    attempts.connected(&target);
    // Made once per flow: a `unique_id` TLV names the flow, and every datagram carries it.
    let upstream = &pool.spec.upstream;
    let header = (upstream.proxy_protocol_version() == Some(2)).then(|| {
        crate::proxy_protocol::datagram_header_with_tlvs(upstream.proxy_tlvs(), client, local)
            .into_boxed_slice()
    });
    Ok(Arc::new(Flow {
        socket,
        target,
        header,
        last_active: AtomicU64::new(now),
    }))
}

/// Descriptors, socket memory or local ports ran out: no fault of the target's. Each flow's
/// socket takes an ephemeral port of its own, so a flood of flows past the host's port range
/// (`net.ipv4.ip_local_port_range`, 28,232 by default) fails `connect` with EAGAIN; blaming the
/// target for that would let a flood mark every target down.
fn out_of_resources(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::EAGAIN
                | libc::EADDRINUSE
                | libc::EADDRNOTAVAIL
        )
    )
}

/// A UDP socket connected to `address`, registered with the current worker.
fn connect(address: &TargetAddress) -> io::Result<UdpSocket> {
    let TargetAddress::Ip(address) = address else {
        // Resolving would block the receive loop; UDP targets are registered by IP address.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a UDP target must be an IP address, not a host name",
        ));
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(*address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    socket.set_nonblocking(true)?;
    socket.connect(&(*address).into())?;
    UdpSocket::from_std(socket.into())
}

/// Counts a flow as an open connection on its target while it lives.
pub struct OpenFlow(Arc<TargetShared>);

impl OpenFlow {
    pub fn new(target: Arc<TargetShared>) -> Self {
        target.stats.connections.fetch_add(1, Ordering::Relaxed);
        Self(target)
    }
}

impl Drop for OpenFlow {
    fn drop(&mut self) {
        self.0.stats.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Relays the target's replies to the client until the flow ends, then reports why (the
/// receive loop removes it). Aborted instead when the loop evicts the flow.
pub async fn run(flow: Arc<Flow>, context: FlowContext, open: OpenFlow) {
    let reason = relay_replies(&flow, &context).await;
    if reason == EndReason::TargetUnreachable {
        flow.target.mark_connect_failure();
    }
    drop(open);
    let _ = context.exits.send(Exit {
        client: context.client,
        serial: context.serial,
        reason,
    });
}

async fn relay_replies(flow: &Flow, context: &FlowContext) -> EndReason {
    let retired = flow.target.retired();
    tokio::pin!(retired);
    loop {
        tokio::select! {
            biased;
            // An ICMP error is readiness of its own (`EPOLLERR`), which a wait for readable
            // alone would not see until the next datagram either way.
            ready = flow.socket.ready(Interest::READABLE | Interest::ERROR) => {
                let Ok(ready) = ready else {
                    return EndReason::TargetUnreachable;
                };
                if ready.is_error() {
                    if let Ok(Some(error)) = flow.socket.take_error()
                        && let Some(reason) = ends_the_flow(&error, context)
                    {
                        tracing::debug!(client = %context.client, target = %flow.target.address,
                            %error, "UDP flow ended by its target");
                        return reason;
                    }
                    // Nothing pending after all (or only a datagram's worth of trouble): clear
                    // the mark, or the wait would spin.
                    let _ = flow.socket.try_io(Interest::ERROR, || {
                        Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
                    });
                }
                if ready.is_readable()
                    && let Err(reason) = relay_ready(flow, context)
                {
                    return reason;
                }
            }
            () = &mut retired => return EndReason::Drained,
        }
    }
}

/// Whether an error the flow's socket reports ends the flow: an ICMP port, host or network
/// unreachable does (the target is marked down); "packet too big" (EMSGSIZE, a path MTU below
/// what the client sent) does not, since the target is fine and smaller datagrams still pass,
/// and is counted as a `too_large` drop like the other errors that only cost a datagram.
fn ends_the_flow(error: &io::Error, context: &FlowContext) -> Option<EndReason> {
    match classify(error) {
        SendFailure::Unreachable => Some(EndReason::TargetUnreachable),
        SendFailure::Drop(reason) => {
            context.stats.udp.count_drop(reason);
            None
        }
    }
}

/// Relays the replies waiting on the flow's socket.
fn relay_ready(flow: &Flow, context: &FlowContext) -> Result<(), EndReason> {
    with_reply_buffer(|buffer| {
        for _ in 0..REPLIES_PER_WAKE {
            let len = match flow.socket.try_recv(buffer) {
                Ok(len) => len,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => match ends_the_flow(&e, context) {
                    Some(reason) => {
                        tracing::debug!(client = %context.client, target = %flow.target.address,
                            error = %e, "UDP flow ended by its target");
                        return Err(reason);
                    }
                    None => continue,
                },
            };
            flow.touch(context.clock.unix_now());
            let stats = &context.stats.udp;
            match context
                .io
                .send_to(context.client, &buffer[..len], context.reply_source)
            {
                Ok(()) => stats.count_datagram(Direction::ToClient, len),
                Err(e) => match classify(&e) {
                    SendFailure::Drop(reason) => stats.count_drop(reason),
                    // The client is gone; its flow ends when idle.
                    SendFailure::Unreachable => stats.count_drop(DropReason::SendFailed),
                },
            }
        }
        Ok(())
    })
}
