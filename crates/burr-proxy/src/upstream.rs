//! Upstream HTTP connections: hyper's HTTP/1.1 handshake over a target stream, and the
//! keep-alive pools of idle connections, generic over what is kept (hyper's ready senders, or
//! the fast path's raw connections, `http/h1/connections.rs`).
//!
//! Shared pools: each worker thread has its own idle lists per target (one for plain, one for
//! TLS connections, since listeners sharing a pool may speak either), so a connection's I/O task
//! and its users run on the same thread and the list's mutex is never contended. A connection
//! goes back to its list when the response it carried has been read to the end; one whose
//! response was abandoned is closed instead.
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
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

pub use crate::target_stream::ConnectError;

/// Most idle connections kept per target per worker; more are closed when released. Each
/// costs ~20 KiB (hyper's buffers and task), so a burst does not leave a large idle pool behind.
const MAX_IDLE_PER_WORKER: usize = 64;

/// Most idle connections one client connection keeps for itself (an HTTP/1.1 client needs one;
/// an HTTP/2 client one per concurrent stream it had).
const MAX_PRIVATE_IDLE: usize = 16;

pub type Sender = SendRequest<crate::http::body::RequestBody>;

/// A worker's idle connections to one target, by transport.
struct IdleLists<T> {
    plain: Vec<T>,
    tls: Vec<T>,
}

impl<T> IdleLists<T> {
    fn of(&mut self, tls: bool) -> &mut Vec<T> {
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
                        plain: Vec::new(),
                        tls: Vec::new(),
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
        while let Some(mut conn) = list.pop() {
            if usable(&mut conn) {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for reuse unless the list is full.
    pub fn put(&self, conn: T, tls: bool) {
        let mut lists = self.lists();
        let list = lists.of(tls);
        if list.len() < MAX_IDLE_PER_WORKER {
            list.push(conn);
        }
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
