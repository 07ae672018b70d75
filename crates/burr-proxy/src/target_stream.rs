//! Byte streams to targets, for the HTTP proxy's upstream connections and the TCP relay alike:
//! a TCP connection opened within the pool's connect timeout, then, as the listener and pool ask,
//! a PROXY protocol header and a TLS handshake; each successful opening's time is recorded on
//! its target. Like ELB, burr does not verify a target's certificate: the handshake encrypts
//! the hop, it does not authenticate the target.

use crate::runtime::TargetShared;
use burr_model::TargetAddress;
use rustls::pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Why no connection to a target could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect timed out after {0} ms")]
    Timeout(u32),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error("{0:?} is not a name a TLS client can ask for")]
    ServerName(String),
    #[error("HTTP handshake failed: {0}")]
    Handshake(hyper::Error),
}

/// How to open a connection to a target.
#[derive(Debug, Clone, Copy)]
pub struct Dial<'a> {
    /// Deadline for the whole opening: TCP connect, PROXY header and TLS handshake.
    pub timeout_ms: u32,
    /// Speak TLS to the target (`https` and `ssl` instance protocols).
    pub tls: bool,
    /// A PROXY protocol header to send first, before any TLS.
    pub proxy_header: Option<&'a [u8]>,
}

/// An open connection to a target, plain or TLS.
pub enum TargetStream {
    Plain(TcpStream),
    // Boxed: a TLS session is over a kilobyte, and most targets are plain.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Opens a connection to `target` as `dial` says, recording on the target how long a successful
/// opening took (`burr_target_connect_duration_seconds`) and counting a failed TLS handshake.
pub async fn open(target: &TargetShared, dial: Dial<'_>) -> Result<TargetStream, ConnectError> {
    // One clock read per new upstream connection, never per request on a reused one.
    let started = Instant::now();
    let opened = open_within_deadline(&target.address, dial).await;
    let events = &target.stats.events;
    match &opened {
        Ok(_) => events.connect_duration.observe(started.elapsed()),
        Err(ConnectError::Tls(_)) => {
            events.tls_failures.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {}
    }
    opened
}

async fn open_within_deadline(
    address: &TargetAddress,
    dial: Dial<'_>,
) -> Result<TargetStream, ConnectError> {
    let deadline = Duration::from_millis(u64::from(dial.timeout_ms));
    let opening = open_now(address, dial);
    tokio::pin!(opening);
    // A target on this host completes the handshake inside connect(2), so the socket is ready
    // at the runtime's next (non-blocking) look for events: try once more then before arming
    // the timer. A timer ending before the runtime's next planned wake costs an eventfd write
    // to re-plan it, one system call per connection that most connections need not pay.
    tokio::select! {
        biased;
        opened = &mut opening => return opened,
        () = tokio::task::yield_now() => {}
    }
    tokio::time::timeout(deadline, opening)
        .await
        .map_err(|_| ConnectError::Timeout(dial.timeout_ms))?
}

async fn open_now(address: &TargetAddress, dial: Dial<'_>) -> Result<TargetStream, ConnectError> {
    let mut stream = crate::upstream::open_tcp(address).await?;
    stream.set_nodelay(true)?;
    if let Some(header) = dial.proxy_header {
        // The PROXY header precedes everything, TLS included (as HAProxy and nginx expect it).
        stream.write_all(header).await?;
    }
    if !dial.tls {
        return Ok(TargetStream::Plain(stream));
    }
    let tls = crate::tls::insecure_client_connector()
        .connect(server_name(address)?, stream)
        .await
        .map_err(ConnectError::Tls)?;
    Ok(TargetStream::Tls(Box::new(tls)))
}

/// The name the TLS client presents (SNI for host names; none is sent for IP addresses).
fn server_name(address: &TargetAddress) -> Result<ServerName<'static>, ConnectError> {
    match address {
        TargetAddress::Ip(sock) => Ok(ServerName::IpAddress(sock.ip().into())),
        TargetAddress::Host { host, .. } => ServerName::try_from(host.as_str())
            .map(|name| name.to_owned())
            .map_err(|_| ConnectError::ServerName(host.clone())),
    }
}

impl AsyncRead for TargetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for TargetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, data),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
