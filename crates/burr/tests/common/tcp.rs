//! TCP helpers of the harness: raw client connections from a chosen loopback address, bounded
//! reads, the config of a TCP/SSL listener, and [`TcpTarget`], an echo target (plain, TLS, or TLS
//! after a PROXY line) that records what each connection sent.

use super::{config, read_proxy_line, test_tls_acceptor};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A raw TCP connection to burr's `port` on 127.0.0.1 from the loopback address `source`.
pub async fn tcp_connect_from(port: u16, source: std::net::Ipv4Addr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap()
}

/// Reads up to and including the next `\n` (at most 5 s); `<EOF>` marks a close before it.
pub async fn read_line<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let read = async {
        let mut line = Vec::new();
        while !line.ends_with(b"\n") {
            match stream.read_u8().await {
                Ok(byte) => line.push(byte),
                Err(_) => {
                    line.extend_from_slice(b"<EOF>");
                    break;
                }
            }
        }
        String::from_utf8_lossy(&line).into_owned()
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("a line within 5 s")
}

/// Reads exactly `n` bytes (at most 5 s).
pub async fn read_exactly<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, n: usize) -> String {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut buf))
        .await
        .expect("the bytes within 5 s")
        .expect("the bytes before the connection closed");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads until the peer closes; `None` if it has not closed within `wait`. An error (a reset)
/// counts as a close.
pub async fn read_to_close<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    wait: Duration,
) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// A config with one balancer `t` whose listener on `port` speaks `protocol` (`tcp` or `ssl`,
/// or `http`) to pool `p` over `targets`, each of weight 1.
pub fn tcp_config(
    port: u16,
    protocol: &str,
    algorithm: &str,
    targets: &[SocketAddr],
    extra_listener: &str,
    extra_pool: &str,
) -> String {
    let targets: Vec<(SocketAddr, u32)> = targets.iter().map(|a| (*a, 1)).collect();
    config(port, algorithm, &targets, extra_listener, extra_pool).replacen(
        "protocol = \"http\"",
        &format!("protocol = \"{protocol}\""),
        1,
    )
}

/// Bytes one connection sent to a [`TcpTarget`].
type Received = Arc<std::sync::Mutex<Vec<u8>>>;

/// A TCP target for relay tests. Each connection is greeted with the target's name and `\n`;
/// then every byte read is echoed back, and when the peer shuts down its sending side the target
/// answers `<eof>\n` and closes (so a test sees that the half-close arrived and that an answer
/// after it still gets through). What each connection sent is recorded.
pub struct TcpTarget {
    pub name: String,
    pub addr: SocketAddr,
    /// Bytes received, one entry per accepted connection, in accept order.
    received: Arc<std::sync::Mutex<Vec<Received>>>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TcpTarget {
    pub async fn start(name: &str) -> TcpTarget {
        Self::start_with(name, None, false).await
    }

    /// A target on `addr` (say, where a stopped one was).
    pub async fn start_at(name: &str, addr: SocketAddr) -> TcpTarget {
        Self::start_on(name, None, false, addr).await
    }

    /// A target that speaks TLS (the test certificate), then behaves as [`TcpTarget::start`].
    pub async fn start_tls(name: &str) -> TcpTarget {
        Self::start_with(name, Some(test_tls_acceptor()), false).await
    }

    /// A TLS target whose connections begin with a PROXY v1 line in the clear, before the
    /// handshake; the line is recorded as the start of what the connection sent.
    pub async fn start_tls_after_proxy_line(name: &str) -> TcpTarget {
        Self::start_with(name, Some(test_tls_acceptor()), true).await
    }

    async fn start_with(
        name: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        proxy_line: bool,
    ) -> TcpTarget {
        Self::start_on(name, tls, proxy_line, "127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_on(
        name: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        proxy_line: bool,
        bind: SocketAddr,
    ) -> TcpTarget {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (log, registry, greeting) = (received.clone(), tasks.clone(), format!("{name}\n"));
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
                log.lock().unwrap().push(bytes.clone());
                let (greeting, tls) = (greeting.clone(), tls.clone());
                let task = tokio::spawn(async move {
                    let mut stream = stream;
                    if proxy_line {
                        let Some(line) = read_proxy_line(&mut stream).await else {
                            return;
                        };
                        bytes.lock().unwrap().extend_from_slice(line.as_bytes());
                    }
                    match tls {
                        None => echo(stream, &greeting, &bytes).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                echo(stream, &greeting, &bytes).await;
                            }
                        }
                    }
                });
                registry.lock().unwrap().push(task.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        TcpTarget {
            name: name.to_string(),
            addr,
            received,
            tasks,
        }
    }

    /// What each accepted connection has sent so far, in accept order.
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|bytes| String::from_utf8_lossy(&bytes.lock().unwrap()).into_owned())
            .collect()
    }

    /// What each accepted connection has sent so far, as bytes.
    pub fn received_bytes(&self) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|bytes| bytes.lock().unwrap().clone())
            .collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Stops listening and closes every connection.
    pub async fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for TcpTarget {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn echo<S>(mut stream: S, greeting: &str, received: &std::sync::Mutex<Vec<u8>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if stream.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => {
                let _ = stream.write_all(b"<eof>\n").await;
                let _ = stream.shutdown().await;
                return;
            }
            Ok(n) => {
                received.lock().unwrap().extend_from_slice(&buf[..n]);
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}
