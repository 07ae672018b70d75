//! TCP and SSL listeners, with Classic ELB's semantics: each client connection (after TLS
//! termination on SSL listeners, without ALPN) is relayed byte for byte to one target, chosen as
//! an HTTP request's would be (the pool's algorithm, or a `source_ip` session keyed on the
//! client's address) and connected with the pool's timeout and retries, over TLS for `ssl`
//! targets and after a PROXY header when the pool asks for one.
//!
//! The relay runs until both sides have closed (a half-close is passed on, so a client that
//! shuts down its sending side still gets the target's answer), until no byte has moved either
//! way for the listener's idle timeout, or until the target's drain deadline passes after it was
//! deregistered. A configuration change does not otherwise touch an established relay: it holds
//! its target, not the pool.

use crate::affinity::{Affinity, client_hash, renew_client_session};
use crate::attempts::{Attempts, Unavailable};
use crate::byte_count::CountedIo;
use crate::idle::{Activity, ActivityIo};
use crate::listeners::ListenerSlot;
use crate::metrics::ListenerStats;
use crate::proxy_protocol::inbound::connection_addresses;
use crate::proxy_protocol::{ClientTls, header_with_tlvs};
use crate::runtime::{ListenerRuntime, TargetShared};
use crate::target_stream::{self, Dial, TargetStream};
use crate::tcp_pump::{self, COPY_CHUNK, PlainTcp};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Serves one accepted connection on a TCP or SSL listener until the relay ends.
pub async fn serve(mut stream: TcpStream, peer: SocketAddr, slot: Arc<ListenerSlot>) {
    let listener = slot.current();
    let local = crate::listeners::accepted_on(&stream, listener.bind);
    let _ = stream.set_nodelay(true);
    // A front proxy's PROXY header comes before anything else, TLS included.
    let Some((client, local)) = connection_addresses(&mut stream, peer, local, &listener).await
    else {
        return;
    };
    let idle_timeout = Duration::from_secs(u64::from(listener.spec.idle_timeout_secs));
    let handshake_timeout = Duration::from_secs(u64::from(listener.spec.header_read_timeout_secs));
    // With TLS, the listener's counters too, for the handshake's result.
    let tls = listener
        .tls
        .clone()
        .map(|config| (config, listener.stats.clone()));
    // Nothing of the listener is held while relaying, so a long-lived connection does not keep
    // an old configuration's pools alive.
    drop(listener);
    let activity = Activity::new();
    let io = ActivityIo::new(stream, activity.clone());
    let ends = Ends { client, local };
    match tls {
        None => relay(io, ends, None, &slot, &activity, idle_timeout).await,
        Some((config, stats)) => {
            // Terminate TLS before choosing a target, so a failed or abandoned handshake (a
            // scanner, a client that does not trust the certificate) costs no target anything.
            let Some(stream) =
                crate::tls::accept_counted(config, io, handshake_timeout, &stats.events).await
            else {
                return;
            };
            let client_tls = ClientTls::of(stream.get_ref().1);
            relay(
                stream,
                ends,
                Some(client_tls),
                &slot,
                &activity,
                idle_timeout,
            )
            .await;
        }
    }
}

/// The client's address and the one it connected to, as a PROXY header from a front proxy gave
/// them or else as the socket has them.
#[derive(Clone, Copy)]
struct Ends {
    client: SocketAddr,
    local: SocketAddr,
}

/// Connects to a target and copies bytes both ways until the relay ends. `client_tls` is what
/// burr learnt terminating the client's TLS (ssl listeners), for the PROXY header's TLVs.
async fn relay<C>(
    mut client_io: C,
    Ends { client, local }: Ends,
    client_tls: Option<ClientTls>,
    slot: &ListenerSlot,
    activity: &Activity,
    idle_timeout: Duration,
) where
    C: AsyncRead + AsyncWrite + Unpin + PlainTcp,
{
    use crate::metrics::events::RelayEnd;
    let connected = {
        let listener = slot.current();
        connect(&listener, client, local, client_tls.as_ref()).await
    };
    let (target, mut target_io) = match connected {
        Ok(c) => c,
        Err(error) => {
            // ELB closes the client connection when no target takes it; there is no protocol
            // in which to say why.
            tracing::debug!(%client, %error, "no target for a TCP connection");
            slot.current().stats.events.count_relay(RelayEnd::NoTarget);
            return;
        }
    };
    // How the relay ends, for `burr_tcp_relays_total`: closed unless a timer arm says otherwise.
    let mut end = RelayEnd::Closed;
    let _open = OpenRelay::new(target.clone());
    let stats = slot.current().stats.clone();
    tokio::select! {
        _ = pump(&mut client_io, &mut target_io, activity, stats) => {}
        _ = activity.idle_for(idle_timeout) => {
            tracing::debug!(%client, target = %target.address, "TCP connection idle, closed");
            end = RelayEnd::IdleTimeout;
        }
        _ = target.retired() => {
            tracing::debug!(%client, target = %target.address, "target drained, connection closed");
            end = RelayEnd::TargetRetired;
        }
    }
    let listener = slot.current();
    listener.stats.events.count_relay(end);
    // A source-IP session lasts its persistence timeout from the client's last connection, not
    // from when the last one opened: a connection longer than the timeout keeps it.
    if let Some(pool) = listener.pool.as_deref() {
        renew_client_session(pool, client.ip(), &target);
    }
}

/// Moves bytes both ways until both sides have closed or one fails: spliced in the kernel when
/// both are plain sockets ([`tcp_pump`]), copied through user space otherwise (TLS on either
/// side), with buffers of one TLS record each way. The client's bytes count on the listener
/// (`stats`) as they move, so a long relay shows in the counters before it ends.
async fn pump<C>(
    client_io: &mut C,
    target_io: &mut TargetStream,
    activity: &Activity,
    stats: Arc<ListenerStats>,
) where
    C: AsyncRead + AsyncWrite + Unpin + PlainTcp,
{
    if let (Some(client), TargetStream::Plain(target)) = (client_io.plain_tcp(), &mut *target_io) {
        let counts = [&stats.received_bytes, &stats.sent_bytes];
        let _ = tcp_pump::relay_plain(client, target, activity, counts).await;
        return;
    }
    let mut client_io = CountedIo::new(client_io, stats);
    let _ =
        tokio::io::copy_bidirectional_with_sizes(&mut client_io, target_io, COPY_CHUNK, COPY_CHUNK)
            .await;
}

/// Chooses a target and opens a connection to it, trying others when connecting fails.
async fn connect(
    listener: &ListenerRuntime,
    client: SocketAddr,
    local: SocketAddr,
    client_tls: Option<&ClientTls>,
) -> Result<(Arc<TargetShared>, TargetStream), Unavailable> {
    // Validation gives every TCP and SSL listener a pool; rules never apply here.
    let pool = listener.pool.as_deref().ok_or(Unavailable::NoTarget)?;
    let settings = &pool.spec.upstream;
    let client_hash = client_hash(pool, client.ip());
    let mut attempts = Attempts::new(pool, Affinity::for_client(pool, client_hash), client_hash)?;
    let header = settings
        .proxy_protocol_version()
        .map(|version| header_with_tlvs(version, settings.proxy_tlvs(), client, local, client_tls));
    let dial = Dial {
        timeout_ms: settings.connect_timeout_ms,
        tls: listener.spec.target_protocol().is_tls(),
        proxy_header: header.as_deref(),
    };
    loop {
        let index = attempts.next()?;
        let target = &pool.targets[index].shared;
        match target_stream::open(target, dial).await {
            Ok(stream) => {
                target.mark_connect_success();
                attempts.connected(target);
                return Ok((target.clone(), stream));
            }
            Err(error) => attempts.connect_failed(index, &error)?,
        }
    }
}

/// Counts a relay on its target while it lives: as an open connection (the least-connections
/// load) and as a request in flight (the least-outstanding-requests load).
struct OpenRelay(Arc<TargetShared>);

impl OpenRelay {
    fn new(target: Arc<TargetShared>) -> Self {
        target.stats.connections.fetch_add(1, Ordering::Relaxed);
        target.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(target)
    }
}

impl Drop for OpenRelay {
    fn drop(&mut self) {
        self.0.stats.connections.fetch_sub(1, Ordering::Relaxed);
        self.0.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
