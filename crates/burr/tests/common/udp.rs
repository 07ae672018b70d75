//! UDP helpers of the harness: [`UdpTarget`], a DNS-like echo target that answers every datagram
//! with `<name> <payload>` (or, when that would not fit in one datagram, the payload alone) and
//! records what it received and from whom, PROXY v2 headers included; client sockets bound to a
//! chosen loopback address; and the config of a udp listener.

use super::tcp_config;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// What a [`UdpTarget`] received: the sender (burr's flow socket) and the datagram's bytes.
pub type Datagrams = Arc<Mutex<Vec<(SocketAddr, Vec<u8>)>>>;

pub struct UdpTarget {
    pub name: String,
    pub addr: SocketAddr,
    received: Datagrams,
    task: tokio::task::AbortHandle,
}

impl UdpTarget {
    /// An echo target on `ip` (a loopback address), on a port of the system's choosing.
    pub async fn start(name: &str, ip: Ipv4Addr) -> UdpTarget {
        Self::start_at(name, SocketAddr::from((ip, 0))).await
    }

    /// An echo target on exactly `addr` (e.g. to come back where a stopped one was).
    pub async fn start_at(name: &str, addr: SocketAddr) -> UdpTarget {
        let socket = UdpSocket::bind(addr).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let received: Datagrams = Arc::default();
        let (log, prefix) = (received.clone(), format!("{name} "));
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            let mut reply = Vec::with_capacity(65_536);
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                log.lock().unwrap().push((from, buf[..n].to_vec()));
                reply.clear();
                if prefix.len() + n <= MAX_DATAGRAM {
                    reply.extend_from_slice(prefix.as_bytes());
                }
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, from).await;
            }
        });
        UdpTarget {
            name: name.to_string(),
            addr,
            received,
            task: task.abort_handle(),
        }
    }

    /// Every datagram received so far, in order, with its sender.
    pub fn received(&self) -> Vec<(SocketAddr, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }

    /// Closes the socket: datagrams to it get an ICMP port unreachable.
    pub async fn stop(&self) {
        self.task.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for UdpTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Targets `t1..tn` on loopback addresses 127.0.1.1..n.
pub async fn udp_targets(n: u8) -> Vec<UdpTarget> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(UdpTarget::start(&format!("t{i}"), Ipv4Addr::new(127, 0, 1, i)).await);
    }
    out
}

/// A port free for both TCP and UDP on 127.0.0.1 a moment ago.
pub fn free_udp_port() -> u16 {
    loop {
        let port = super::free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A config with balancer `t` whose listener on `port` speaks `protocol` (`udp`, `tcp_udp`)
/// with `[balancer.listener.udp]` settings `udp` (e.g. `max_flows = 3`), and pool `p`.
pub fn udp_config(
    port: u16,
    protocol: &str,
    algorithm: &str,
    targets: &[SocketAddr],
    udp: &str,
    extra_pool: &str,
) -> String {
    let listener = if udp.is_empty() {
        String::new()
    } else {
        format!("[balancer.listener.udp]\n{udp}")
    };
    tcp_config(port, protocol, algorithm, targets, &listener, extra_pool)
}

/// A client socket on the loopback address `source`, connected to burr's `port` on 127.0.0.1
/// (so only datagrams from the listener's own address and port reach it).
pub async fn udp_client(port: u16, source: Ipv4Addr) -> UdpSocket {
    let socket = UdpSocket::bind(SocketAddr::from((source, 0)))
        .await
        .unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    socket
}

/// The next datagram on `socket` within `wait`.
pub async fn udp_receive(socket: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// Sends `payload` and returns the answer as text (`None`: none within 2 s).
pub async fn udp_ask(socket: &UdpSocket, payload: &str) -> Option<String> {
    socket.send(payload.as_bytes()).await.unwrap();
    udp_receive(socket, Duration::from_secs(2))
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The name of the target that answered `payload` (`<name> <payload>`), panicking otherwise.
pub async fn udp_target_of(socket: &UdpSocket, payload: &str) -> String {
    let answer = udp_ask(socket, payload)
        .await
        .unwrap_or_else(|| panic!("no answer to {payload:?}"));
    let (name, echoed) = answer
        .split_once(' ')
        .unwrap_or_else(|| panic!("not an echo: {answer:?}"));
    assert_eq!(echoed, payload);
    name.to_string()
}
