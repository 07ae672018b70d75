//! Upstream HTTP connections: hyper's HTTP/1.1 handshake over a target stream, and the
//! keep-alive pools of idle connections, generic over what is kept (hyper's ready senders, or
//! the fast path's raw connections, `http/h1/connections.rs`).
//!
//! Shared pools: each worker thread has its own idle lists per target (one for plain, one for
//! TLS connections, since listeners sharing a pool may speak either), so a connection's I/O task
//! and its users run on the same thread and the list's mutex is never contended. A connection
//! goes back to its list when the response it carried has been read to the end; one whose
//! response was abandoned is closed instead. How many are kept follows demand (a floor, then
//! an age limit for the surplus, see [`SURPLUS_IDLE_MS`]), not a fixed cap.
//!
//! Private pools: a connection that began with a PROXY header names one client, so it must never
//! carry another client's request. Pools with `upstream.proxy_protocol` therefore keep their
//! idle connections in the client connection's own [`PrivateConnections`] instead, and they close
//! with it: keep-alive still works within one client connection, and nothing is mis-attributed.

use crate::proxy_protocol::{ClientTls, header_with_tlvs};
use crate::runtime::TargetShared;
use crate::target_stream::{self, Dial};
use crate::workers;
use burr_model::{ProxyTlvs, TargetAddress, TargetId};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

pub use crate::target_stream::ConnectError;

/// Idle connections per target per worker kept whatever their age, so a quiet target still
/// finds warm connections (the fixed cap this floor replaced was 64).
const MIN_IDLE_KEPT: usize = 64;

/// Past the floor, an idle connection that has not been used for this long is closed. The pool
/// so follows demand: a burst of N concurrent requests leaves N connections that stay while
/// traffic keeps needing them (LIFO reuse keeps the busy ones at the top) and age out when it
/// stops. 10 s is above HAProxy's purge delay (5 s) so periodic peaks keep their connections.
const SURPLUS_IDLE_MS: u64 = 10_000;

/// Most idle connections kept per target per worker at all: a bound on descriptors and memory
/// held for a target whatever the demand was.
const MAX_IDLE_PER_WORKER: usize = 4096;

/// Most idle connections one client connection keeps for itself (an HTTP/1.1 client needs one;
/// an HTTP/2 client one per concurrent stream it had).
const MAX_PRIVATE_IDLE: usize = 16;

pub type Sender = SendRequest<crate::http::body::RequestBody>;

/// A worker's idle connections to one target, by transport: oldest first, each with the time
/// (`clock::io_now_ms`) it went idle.
struct IdleLists<T> {
    plain: VecDeque<(T, u64)>,
    tls: VecDeque<(T, u64)>,
}

impl<T> IdleLists<T> {
    fn of(&mut self, tls: bool) -> &mut VecDeque<(T, u64)> {
        if tls { &mut self.tls } else { &mut self.plain }
    }
}

/// Idle, reusable connections to one target, one set of lists per worker thread: hyper's
/// senders (HTTP/2 clients and the requests hyper serves) or the fast path's raw connections.
pub struct IdleConnections<T> {
    per_worker: Box<[Mutex<IdleLists<T>>]>,
}

impl<T> IdleConnections<T> {
    pub fn new(workers: usize) -> Self {
        Self {
            per_worker: (0..workers.max(1))
                .map(|_| {
                    Mutex::new(IdleLists {
                        plain: VecDeque::new(),
                        tls: VecDeque::new(),
                    })
                })
                .collect(),
        }
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, IdleLists<T>> {
        let i = workers::current_index() % self.per_worker.len();
        self.per_worker[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the most recently used idle connection that `usable` accepts (others are closed).
    pub fn take(&self, tls: bool, mut usable: impl FnMut(&mut T) -> bool) -> Option<T> {
        let mut lists = self.lists();
        let list = lists.of(tls);
        while let Some((mut conn, _)) = list.pop_back() {
            if usable(&mut conn) {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for reuse (see [`SURPLUS_IDLE_MS`]), closing the connections past the floor
    /// that have been idle too long.
    pub fn put(&self, conn: T, tls: bool) {
        let mut lists = self.lists();
        keep_idle(lists.of(tls), conn, crate::clock::io_now_ms());
    }
}

/// Adds `conn`, idle from `now_ms`, to `list`; drops the oldest while the list is past the
/// floor and the oldest has been idle for [`SURPLUS_IDLE_MS`], or past the ceiling.
fn keep_idle<T>(list: &mut VecDeque<(T, u64)>, conn: T, now_ms: u64) {
    list.push_back((conn, now_ms));
    while list.len() > MAX_IDLE_PER_WORKER
        || (list.len() > MIN_IDLE_KEPT
            && list
                .front()
                .is_some_and(|(_, since)| now_ms.saturating_sub(*since) >= SURPLUS_IDLE_MS))
    {
        list.pop_front();
    }
}

/// One client connection's own upstream connections, for pools that send PROXY headers: the
/// headers naming that client (made on first use, per version, since the pools a connection's
/// requests reach may differ in version), and the idle connections that began with one.
pub struct PrivateConnections {
    client: SocketAddr,
    local: SocketAddr,
    /// What burr learnt terminating the client's TLS, for the headers' TLVs.
    client_tls: Option<ClientTls>,
    headers: [std::sync::OnceLock<Vec<u8>>; 2],
    idle: Mutex<Vec<(TargetId, bool, Sender)>>,
}

impl PrivateConnections {
    pub fn new(client: SocketAddr, local: SocketAddr, client_tls: Option<ClientTls>) -> Self {
        Self {
            client,
            local,
            client_tls,
            headers: Default::default(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The PROXY header of `version` (1 or 2) naming this client, with the pool's `tlvs`. One
    /// with TLVs is made per upstream connection (a unique id must not repeat); one without is
    /// made once.
    fn header(&self, version: u8, tlvs: ProxyTlvs) -> Cow<'_, [u8]> {
        if version == 2 && !tlvs.is_empty() {
            let (client, local, tls) = (self.client, self.local, self.client_tls.as_ref());
            return Cow::Owned(header_with_tlvs(version, tlvs, client, local, tls));
        }
        let slot = &self.headers[usize::from(version == 2)];
        Cow::Borrowed(
            slot.get_or_init(|| crate::proxy_protocol::header(version, self.client, self.local)),
        )
    }

    fn take(&self, target: TargetId, tls: bool) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, _, sender)| !sender.is_closed());
        let at = idle
            .iter()
            .rposition(|(t, s, _)| *t == target && *s == tls)?;
        Some(idle.swap_remove(at).2)
    }

    fn put(&self, target: TargetId, tls: bool, sender: Sender) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_PRIVATE_IDLE && !sender.is_closed() {
            idle.push((target, tls, sender));
        }
    }
}

/// How one request reaches its target.
#[derive(Clone)]
pub struct Plan {
    pub connect_timeout_ms: u32,
    /// Speak TLS to the target (`instance_protocol = "https"`).
    pub tls: bool,
    /// Set when the pool sends PROXY headers: the client connection's own connections.
    pub private: Option<Arc<PrivateConnections>>,
    /// The PROXY protocol version those connections begin with (1 or 2).
    pub proxy_protocol_version: u8,
    /// The TLVs a version 2 header carries.
    pub proxy_tlvs: ProxyTlvs,
}

/// A sender ready for one request, whether it came from an idle list, and where it goes back.
pub struct Checkout {
    pub sender: Sender,
    pub reused: bool,
    plan: Plan,
}

/// An idle connection if one is ready, else a new one.
pub async fn checkout(target: &Arc<TargetShared>, plan: &Plan) -> Result<Checkout, ConnectError> {
    let take = || match &plan.private {
        Some(private) => private.take(target.id, plan.tls),
        None => target.idle.take(plan.tls, |s| !s.is_closed()),
    };
    while let Some(mut sender) = take() {
        // The connection task may still be finishing the previous exchange; `ready` waits for
        // it, and fails if the target closed the connection meanwhile.
        if sender.ready().await.is_ok() {
            return Ok(Checkout {
                sender,
                reused: true,
                plan: plan.clone(),
            });
        }
    }
    let sender = connect(target, plan).await?;
    Ok(Checkout {
        sender,
        reused: false,
        plan: plan.clone(),
    })
}

/// Opens a new HTTP/1.1 connection to `target`.
pub async fn connect(target: &Arc<TargetShared>, plan: &Plan) -> Result<Sender, ConnectError> {
    let header = plan
        .private
        .as_ref()
        .map(|p| p.header(plan.proxy_protocol_version, plan.proxy_tlvs));
    let dial = Dial {
        timeout_ms: plan.connect_timeout_ms,
        tls: plan.tls,
        proxy_header: header.as_deref(),
    };
    let stream = target_stream::open(target, dial).await?;
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .writev(false)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(ConnectError::Handshake)?;
    let counted = target.clone();
    counted.stats.connections.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        // Upgrades are enabled so a 101 answer hands the raw connection to the relay.
        let _ = conn.with_upgrades().await;
        counted.stats.connections.fetch_sub(1, Ordering::Relaxed);
    });
    Ok(sender)
}

/// TCP connect to an IP target, or to the first address a host name resolves to that accepts.
pub async fn open_tcp(address: &TargetAddress) -> io::Result<TcpStream> {
    match address {
        TargetAddress::Ip(sock) => TcpStream::connect(*sock).await,
        TargetAddress::Host { host, port } => {
            let mut last = io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            );
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
                .await?
                .collect();
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}

/// One request's hold on a target: counts it in flight, and returns the connection to the idle
/// list once the response has been read to the end.
pub struct Lease {
    target: Arc<TargetShared>,
    held: Option<Checkout>,
}

impl Lease {
    pub fn new(target: Arc<TargetShared>) -> Self {
        target.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Self { target, held: None }
    }

    /// Keeps the connection until the response body is complete.
    pub fn hold(&mut self, checkout: Checkout) {
        self.held = Some(checkout);
    }

    /// The response was read in full: the connection may serve another request (of the same
    /// client connection only, when it is private).
    pub fn release_connection(&mut self) {
        let Some(Checkout { sender, plan, .. }) = self.held.take() else {
            return;
        };
        match &plan.private {
            Some(private) => private.put(self.target.id, plan.tls, sender),
            None if !sender.is_closed() => self.target.idle.put(sender, plan.tls),
            None => {}
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.target.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_after(puts: &[u64]) -> VecDeque<(u64, u64)> {
        let mut list = VecDeque::new();
        for (i, &at) in puts.iter().enumerate() {
            keep_idle(&mut list, i as u64, at);
        }
        list
    }

    #[test]
    fn a_burst_larger_than_the_floor_is_kept_while_it_is_fresh() {
        // 300 connections released within a second: all are kept (a fixed cap of 64 closed 236).
        let list = list_after(&[1000; 300]);
        assert_eq!(list.len(), 300);
    }

    #[test]
    fn the_surplus_ages_out_and_the_floor_stays() {
        let mut list = list_after(&[1000; 300]);
        // Demand fell to 10 connections, reused (taken and put back) for 20 s.
        for now in (1_000..21_000).step_by(500) {
            let taken: Vec<u64> = (0..10).map(|_| list.pop_back().unwrap().0).collect();
            for conn in taken {
                keep_idle(&mut list, conn, now);
            }
        }
        assert_eq!(list.len(), MIN_IDLE_KEPT);
        // Just before the surplus age nothing goes; at it, the oldest does.
        let mut list = list_after(&[1000; 100]);
        keep_idle(&mut list, 1000, 1000 + SURPLUS_IDLE_MS - 1);
        assert_eq!(list.len(), 101);
        keep_idle(&mut list, 1001, 1000 + SURPLUS_IDLE_MS);
        assert_eq!(list.len(), MIN_IDLE_KEPT);
    }

    #[test]
    fn the_ceiling_holds_whatever_the_demand() {
        let list = list_after(&vec![5; MAX_IDLE_PER_WORKER + 10]);
        assert_eq!(list.len(), MAX_IDLE_PER_WORKER);
        assert_eq!(list.front().unwrap().0, 10, "the oldest went first");
    }
}
