//! Connections to targets: connect with a deadline, HTTP/1.1 handshake, and per-worker keep-alive
//! pools of ready senders.
//!
//! Each worker thread has its own idle list per target, so a connection's I/O task and its users
//! run on the same thread and the list's mutex is never contended. A connection goes back to its
//! list when the response it carried has been read to the end; one whose response was abandoned is
//! closed instead.

use crate::runtime::TargetShared;
use crate::workers;
use burr_model::TargetAddress;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// Most idle connections kept per target per worker; more are closed when released. Each
/// costs ~20 KiB (hyper's buffers and task), so a burst does not leave a large idle pool behind.
const MAX_IDLE_PER_WORKER: usize = 64;

pub type Sender = SendRequest<Incoming>;

/// Idle, reusable connections to one target, one list per worker thread.
pub struct IdleConnections {
    per_worker: Box<[Mutex<Vec<Sender>>]>,
}

impl IdleConnections {
    pub fn new(workers: usize) -> Self {
        Self {
            per_worker: (0..workers.max(1))
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }

    fn list(&self) -> &Mutex<Vec<Sender>> {
        let i = workers::current_index() % self.per_worker.len();
        &self.per_worker[i]
    }

    /// Takes the most recently used idle connection that is still open.
    fn take(&self) -> Option<Sender> {
        let mut list = self.list().lock().unwrap_or_else(|e| e.into_inner());
        while let Some(sender) = list.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put(&self, sender: Sender) {
        let mut list = self.list().lock().unwrap_or_else(|e| e.into_inner());
        if list.len() < MAX_IDLE_PER_WORKER && !sender.is_closed() {
            list.push(sender);
        }
    }
}

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect timed out after {0} ms")]
    Timeout(u32),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("HTTP handshake failed: {0}")]
    Handshake(hyper::Error),
}

/// A sender ready for one request, and whether it came from the idle list.
pub struct Checkout {
    pub sender: Sender,
    pub reused: bool,
}

/// An idle connection if one is ready, else a new one.
pub async fn checkout(
    target: &Arc<TargetShared>,
    connect_timeout_ms: u32,
) -> Result<Checkout, ConnectError> {
    while let Some(mut sender) = target.idle.take() {
        // The connection task may still be finishing the previous exchange; `ready` waits for
        // it, and fails if the target closed the connection meanwhile.
        if sender.ready().await.is_ok() {
            return Ok(Checkout {
                sender,
                reused: true,
            });
        }
    }
    let sender = connect(target, connect_timeout_ms).await?;
    Ok(Checkout {
        sender,
        reused: false,
    })
}

/// Opens a new HTTP/1.1 connection to `target`.
pub async fn connect(
    target: &Arc<TargetShared>,
    connect_timeout_ms: u32,
) -> Result<Sender, ConnectError> {
    let deadline = Duration::from_millis(u64::from(connect_timeout_ms));
    let stream = tokio::time::timeout(deadline, open_tcp(&target.address))
        .await
        .map_err(|_| ConnectError::Timeout(connect_timeout_ms))??;
    stream.set_nodelay(true)?;
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
    sender: Option<Sender>,
}

impl Lease {
    pub fn new(target: Arc<TargetShared>) -> Self {
        target.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Self {
            target,
            sender: None,
        }
    }

    /// Keeps the sender until the response body is complete.
    pub fn hold(&mut self, sender: Sender) {
        self.sender = Some(sender);
    }

    /// The response was read in full: the connection may serve another request.
    pub fn release_connection(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.target.idle.put(sender);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.target.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
