//! The listening side of a UDP listener: binding one socket per worker, and receiving and
//! sending on it through `quinn-udp` (batched `recvmmsg`, `IP_PKTINFO` / `IPV6_RECVPKTINFO` so a
//! wildcard-bound listener knows which address each datagram was sent to and answers from it).
//!
//! Receive buffers belong to the worker thread, not to flows or listeners: [`BATCH`] slots of
//! [`SLOT`] bytes each, enough for the largest UDP datagram (65,507 bytes over IPv4, 65,527 over
//! IPv6), so no datagram is ever truncated. UDP GRO, which `quinn-udp` turns on, is turned off
//! again: a coalesced buffer could hold more than a slot and would have to be split by stride.

use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Bytes per receive slot: the largest UDP payload over IPv6 (65,535 − 8) fits.
pub const SLOT: usize = 65_536;

/// Datagrams read per `recvmmsg` call.
pub const BATCH: usize = if quinn_udp::BATCH_SIZE < 32 {
    quinn_udp::BATCH_SIZE
} else {
    32
};

/// Kernel receive buffer asked for each listening socket (the kernel caps it at `rmem_max`):
/// room for bursts while the worker is busy elsewhere.
const RECEIVE_BUFFER: usize = 4 << 20;

/// Binds one UDP socket per worker on `address` (with `SO_REUSEPORT` when there are several,
/// and `IP_FREEBIND` as the TCP listeners do). No `SO_REUSEADDR`: on UDP it would let another
/// socket share the port.
pub fn bind_all(address: SocketAddr, workers: usize) -> io::Result<Vec<std::net::UdpSocket>> {
    (0..workers.max(1))
        .map(|_| {
            crate::listeners::worker_socket(address, socket2::Type::DGRAM, workers).map(Into::into)
        })
        .collect()
}

/// A listening socket registered with its worker's runtime.
pub struct ListenerIo {
    pub socket: UdpSocket,
    state: UdpSocketState,
    /// The address the socket is bound to (unspecified for a wildcard listener).
    pub bound: SocketAddr,
}

impl ListenerIo {
    /// Registers `socket` with the current runtime and sets it up for batched receiving.
    pub fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        let bound = socket.local_addr()?;
        let socket = UdpSocket::from_std(socket)?;
        let state = UdpSocketState::new((&socket).into())?;
        let _ = state.set_recv_buffer_size((&socket).into(), RECEIVE_BUFFER);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        disable_gro(&socket);
        Ok(Self {
            socket,
            state,
            bound,
        })
    }

    /// The address a reply to a datagram sent to `dst_ip` must leave from: the listener's own
    /// when it is bound to one, else the one the client sent to (`None`: the socket's own).
    pub fn reply_source(&self, dst_ip: Option<IpAddr>) -> Option<IpAddr> {
        if self.bound.ip().is_unspecified() {
            dst_ip
        } else {
            None
        }
    }

    /// The listener address a datagram sent to `dst_ip` arrived on (the PROXY header's
    /// destination).
    pub fn local_address(&self, dst_ip: Option<IpAddr>) -> SocketAddr {
        match self.reply_source(dst_ip) {
            Some(ip) => SocketAddr::new(ip, self.bound.port()),
            None => self.bound,
        }
    }

    /// Sends one datagram to `client` without waiting (UDP semantics: a full buffer drops it).
    pub fn send_to(
        &self,
        client: SocketAddr,
        contents: &[u8],
        source: Option<IpAddr>,
    ) -> io::Result<()> {
        let transmit = Transmit {
            destination: client,
            ecn: None,
            contents,
            segment_size: None,
            src_ip: source,
        };
        self.state.try_send((&self.socket).into(), &transmit)
    }

    /// Reads up to [`BATCH`] datagrams into `buffers` without waiting; returns how many.
    pub fn receive(&self, buffers: &mut ReceiveBuffers) -> io::Result<usize> {
        let ReceiveBuffers { storage, meta, .. } = buffers;
        let mut slots = storage.chunks_exact_mut(SLOT);
        let mut slices: [IoSliceMut<'_>; BATCH] =
            std::array::from_fn(|_| IoSliceMut::new(slots.next().unwrap_or_default()));
        self.socket.try_io(Interest::READABLE, || {
            self.state
                .recv((&self.socket).into(), &mut slices, &mut meta[..])
        })
    }
}

/// `quinn-udp` asks for UDP GRO; a listener wants one datagram per slot.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn disable_gro(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let off: libc::c_int = 0;
    // SAFETY: a valid descriptor and a pointer to an int of the length given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&raw const off).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// One worker's receive buffers, shared by all its UDP listeners (a listener borrows them only
/// between two awaits).
pub struct ReceiveBuffers {
    storage: Box<[u8]>,
    pub meta: [RecvMeta; BATCH],
    /// Where a datagram is assembled behind its flow's PROXY header.
    pub scratch: Vec<u8>,
}

impl ReceiveBuffers {
    fn new() -> Self {
        Self {
            storage: vec![0; SLOT * BATCH].into_boxed_slice(),
            meta: [RecvMeta::default(); BATCH],
            scratch: Vec::with_capacity(SLOT + 64),
        }
    }

    /// The bytes of received datagram `index` (as `meta[index]` describes them).
    pub fn datagram(&self, index: usize) -> &[u8] {
        let start = index * SLOT;
        let len = self.meta[index].len.min(SLOT);
        &self.storage[start..start + len]
    }
}

thread_local! {
    static RECEIVE: RefCell<Option<ReceiveBuffers>> = const { RefCell::new(None) };
    static REPLY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this worker's receive buffers (allocated on first use).
pub fn with_receive_buffers<R>(f: impl FnOnce(&mut ReceiveBuffers) -> R) -> R {
    RECEIVE.with_borrow_mut(|b| f(b.get_or_insert_with(ReceiveBuffers::new)))
}

/// Runs `f` with this worker's buffer for one reply datagram ([`SLOT`] bytes).
pub fn with_reply_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    REPLY.with_borrow_mut(|b| {
        if b.len() < SLOT {
            b.resize(SLOT, 0);
        }
        f(b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    /// A listener bound to the wildcard address learns where each datagram was sent and
    /// answers from that address, so a client connected to it accepts the reply.
    #[tokio::test]
    async fn a_wildcard_listener_answers_from_the_address_the_client_sent_to() {
        let bound = bind_all(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), 1)
            .unwrap()
            .remove(0);
        let io = ListenerIo::new(bound).unwrap();
        let port = io.bound.port();
        for last in [3u8, 4] {
            let sent_to = SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // A connected client only takes datagrams from the address it sent to.
            client.connect(sent_to).await.unwrap();
            client.send(b"ping").await.unwrap();
            io.socket.readable().await.unwrap();
            let (from, dst_ip, payload) = with_receive_buffers(|buffers| {
                let count = io.receive(buffers).unwrap();
                assert_eq!(count, 1);
                let meta = buffers.meta[0];
                (meta.addr, meta.dst_ip, buffers.datagram(0).to_vec())
            });
            assert_eq!(payload, b"ping");
            assert_eq!(dst_ip, Some(sent_to.ip()));
            assert_eq!(io.local_address(dst_ip), sent_to);
            io.send_to(from, b"pong", io.reply_source(dst_ip)).unwrap();
            let mut buf = [0u8; 16];
            let n = tokio::time::timeout(Duration::from_secs(2), client.recv(&mut buf))
                .await
                .expect("the reply reaches the connected client")
                .unwrap();
            assert_eq!(&buf[..n], b"pong");
        }
    }
}
