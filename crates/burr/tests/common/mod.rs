//! Shared harness of the end-to-end tests: in-process backends on loopback (HTTP, plain or TLS,
//! optionally reading a PROXY header; and TCP echo targets, plain or TLS), the real `burr` binary
//! started on a config of the test's choosing, and small clients (hyper for well-formed HTTP,
//! raw TCP for malformed HTTP and for TCP listeners, rustls for TLS). TCP helpers and targets
//! live in `tcp.rs`, UDP targets and clients in `udp.rs`, the test certificate and TLS clients in `tls.rs`, a strict raw HTTP client,
//! a scripted raw-TCP target and a recording one in `raw_http.rs`, with the strict HTTP/1.1
//! parser that judges recorded bytes in `strict.rs`.

#![allow(dead_code)] // each test binary uses part of the harness

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub mod api;
pub mod exhaustion;
pub mod front_proxy;
pub mod h2_frames;
pub mod log_file;
pub mod raw_http;
pub mod strict;
mod tcp;
mod tls;
mod udp;

pub use tcp::*;
pub use tls::*;
#[allow(unused_imports)] // only the UDP tests use them
pub use udp::*;

pub const BURR: &str = env!("CARGO_BIN_EXE_burr");

/// A port that was free a moment ago on 127.0.0.1, for burr to listen on.
///
/// Taken below Linux's ephemeral range (32768–60999), so that no outgoing connection — a test
/// client's, or burr's own to its targets — can be given the port between this check and burr
/// binding it (a port from `bind(:0)` is an ephemeral one, and that race made tests fail with
/// "Address already in use"). Each test process starts at its own place in the range.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let start = std::process::id().wrapping_mul(7_919);
    for _ in 0..COUNT {
        let step = NEXT.fetch_add(1, Ordering::Relaxed) as u32;
        let port = (FIRST + start.wrapping_add(step) % COUNT) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + COUNT - 1);
}

/// How a test backend answers.
#[derive(Clone, Default)]
pub struct Behavior {
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer `Upgrade` requests with 101 and echo bytes upper-cased.
    pub upgrade: bool,
    /// Answer `Upgrade` requests with 200 instead (refuse the upgrade).
    pub refuse_upgrade: bool,
    /// While set, `GET /health` answers 503 (for health-check tests).
    pub unhealthy: Arc<std::sync::atomic::AtomicBool>,
    /// A `Set-Cookie` value added to responses to requests without a `Cookie` header (an
    /// application starting a session).
    pub set_cookie: Option<String>,
    /// Each connection begins with a PROXY protocol v1 line, recorded in
    /// [`Backend::proxy_headers`] (the connection is dropped without one).
    pub proxy_protocol: bool,
    /// Serve HTTPS (a self-signed certificate for `localhost`) instead of HTTP.
    pub tls: bool,
}

/// An HTTP/2 client connection over `io` (a TCP stream for prior knowledge, or a TLS stream that
/// negotiated `h2`), its connection task spawned.
pub async fn h2_over<I, B>(io: I) -> hyper::client::conn::http2::SendRequest<B>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(io),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

/// An HTTP/1.1 backend answering with a JSON echo of the request and its own name.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    /// Complete requests received.
    pub hits: Arc<AtomicUsize>,
    /// TCP connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// With [`Behavior::proxy_protocol`]: each connection's PROXY line, CRLF included.
    pub proxy_headers: Arc<std::sync::Mutex<Vec<String>>>,
    /// The accept loop and every connection task, aborted by [`Backend::stop`].
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Backend {
    pub async fn start(name: &str, behavior: Behavior) -> Backend {
        Self::start_at(name, behavior, "127.0.0.1:0".parse().unwrap()).await
    }

    /// A backend on a given address (e.g. one that was stopped, coming back).
    pub async fn start_at(name: &str, behavior: Behavior, addr: SocketAddr) -> Backend {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let proxy_headers = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (h, c, n) = (hits.clone(), connections.clone(), name.to_string());
        let headers = proxy_headers.clone();
        let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let registry = tasks.clone();
        let acceptor = behavior.tls.then(test_tls_acceptor);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (h, n, b) = (h.clone(), n.clone(), behavior.clone());
                let (headers, acceptor) = (headers.clone(), acceptor.clone());
                let task = tokio::spawn(async move {
                    if b.proxy_protocol {
                        let Some(line) = read_proxy_line(&mut stream).await else {
                            return;
                        };
                        headers.lock().unwrap().push(line);
                    }
                    let service = hyper::service::service_fn(move |req| {
                        answer(req, n.clone(), h.clone(), b.clone())
                    });
                    match acceptor {
                        None => serve_http1(TokioIo::new(stream), service).await,
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_http1(TokioIo::new(tls), service).await;
                            }
                        }
                    }
                });
                registry.lock().unwrap().push(task.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Backend {
            name: name.to_string(),
            addr,
            hits,
            connections,
            proxy_headers,
            tasks,
        }
    }

    /// Stops listening and closes every connection: the target is gone, connects are refused.
    pub async fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve_http1<I, S>(io: I, service: S)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = Full<Bytes>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

/// Reads a PROXY protocol v1 line byte by byte (so nothing after it is consumed), within 5 s;
/// `None` if the connection closed or sent no CRLF within the protocol's 107 bytes.
async fn read_proxy_line(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let read = async {
        let mut line = Vec::new();
        while line.len() < 107 && !line.ends_with(b"\r\n") {
            line.push(stream.read_u8().await.ok()?);
        }
        line.ends_with(b"\r\n")
            .then(|| String::from_utf8_lossy(&line).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

async fn answer(
    mut req: Request<hyper::body::Incoming>,
    name: String,
    hits: Arc<AtomicUsize>,
    behavior: Behavior,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/health" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"health\n")));
        if behavior.unhealthy.load(Ordering::SeqCst) {
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        }
        return Ok(r);
    }
    let wants_upgrade = req.headers().contains_key("upgrade");
    if wants_upgrade && behavior.upgrade {
        hits.fetch_add(1, Ordering::SeqCst);
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = on_upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n].to_ascii_uppercase()).await.is_err() {
                        break;
                    }
                }
            }
        });
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut()
            .insert("upgrade", req.headers()["upgrade"].clone());
        r.headers_mut()
            .insert("connection", "upgrade".parse().unwrap());
        return Ok(r);
    }
    let set_cookie = behavior
        .set_cookie
        .as_ref()
        .filter(|_| !req.headers().contains_key("cookie"))
        .cloned();
    let method = req.method().to_string();
    let path = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    hits.fetch_add(1, Ordering::SeqCst);
    if !behavior.delay.is_zero() {
        tokio::time::sleep(behavior.delay).await;
    }
    let echo = serde_json::json!({
        "name": name,
        "method": method,
        "path": path,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut r = Response::new(Full::new(Bytes::from(echo.to_string())));
    r.headers_mut().insert("x-backend", name.parse().unwrap());
    r.headers_mut()
        .insert("connection", "keep-alive, x-hop".parse().unwrap());
    r.headers_mut()
        .insert("x-hop", "should not reach the client".parse().unwrap());
    r.headers_mut()
        .insert("keep-alive", "timeout=5".parse().unwrap());
    if let Some(cookie) = set_cookie {
        r.headers_mut()
            .insert("set-cookie", cookie.parse().unwrap());
    }
    Ok(r)
}

/// A running `burr serve`, killed on drop.
pub struct Burr {
    child: Child,
    pub api: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    stderr: PathBuf,
    extra: Vec<String>,
    /// The descriptor limit (soft and hard) burr is started with, when not inherited.
    nofile: Option<u64>,
}

fn spawn(
    dir: &std::path::Path,
    config: &std::path::Path,
    api: SocketAddr,
    extra: &[String],
    stderr: &std::path::Path,
    nofile: Option<u64>,
) -> Child {
    let mut command = Command::new(BURR);
    if let Some(limit) = nofile {
        use std::os::unix::process::CommandExt;
        let limit = libc::rlimit {
            rlim_cur: limit as libc::rlim_t,
            rlim_max: limit as libc::rlim_t,
        };
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    command
        .args(["serve", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args([
            "--api",
            &api.to_string(),
            "--listen-host",
            "127.0.0.1",
            "--workers",
            "1",
        ])
        .args(extra)
        .env("BURR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(stderr)
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

impl Burr {
    /// Starts burr on `config` (all listeners on 127.0.0.1, one worker) and waits until ready.
    pub fn start(config: &str) -> Burr {
        Self::try_start(config, &[]).unwrap_or_else(|e| panic!("burr did not start: {e}"))
    }

    pub fn try_start(config: &str, extra: &[&str]) -> Result<Burr, String> {
        Self::try_start_with_nofile(config, extra, None)
    }

    /// As [`Burr::try_start`], with burr's descriptor limit (`RLIMIT_NOFILE`, soft and hard)
    /// set to `nofile` when given.
    pub fn try_start_with_nofile(
        config: &str,
        extra: &[&str],
        nofile: Option<u64>,
    ) -> Result<Burr, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("burr.toml");
        std::fs::write(&path, config).unwrap();
        let api: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stderr = dir.path().join("stderr.log");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let child = spawn(dir.path(), &path, api, &extra, &stderr, nofile);
        let burr = Burr {
            child,
            api,
            dir,
            config: path,
            stderr,
            extra,
            nofile,
        };
        burr.wait_ready()
    }

    /// SIGKILL, then start again on the same data directory and configuration.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(
            self.dir.path(),
            &self.config,
            self.api,
            &self.extra,
            &self.stderr,
            self.nofile,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while http_get_status(self.api, "/healthz") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "not ready again: {}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_ready(mut self) -> Result<Burr, String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.stderr_text()));
            }
            if http_get_status(self.api, "/healthz") == Some(200) {
                return Ok(self);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("not ready within 15 s: {}", self.stderr_text()))
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL, keeping the data directory (dropping `Burr` deletes it).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Rewrites the config file, sends SIGHUP and waits for the generation to move.
    pub fn reload(&self, config: &str) {
        let before = self.generation();
        std::fs::write(&self.config, config).unwrap();
        unsafe {
            libc::kill(self.pid(), libc::SIGHUP);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.generation() > before {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("reload not applied within 10 s: {}", self.stderr_text());
    }

    /// As [`Burr::reload`], but awaiting the new generation instead of sleeping, so that the
    /// test's runtime (targets, relays under test) keeps running meanwhile.
    pub async fn reload_async(&self, config: &str) {
        let api = self.api;
        let generation = || async move {
            tokio::task::spawn_blocking(move || {
                metric(
                    &http_get_body(api, "/metrics").unwrap_or_default(),
                    "burr_config_generation",
                )
                .unwrap_or(0.0) as u64
            })
            .await
            .unwrap()
        };
        let before = generation().await;
        std::fs::write(&self.config, config).unwrap();
        unsafe {
            libc::kill(self.pid(), libc::SIGHUP);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if generation().await > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("reload not applied within 10 s: {}", self.stderr_text());
    }

    /// Starts burr with `--manual-clock`: its rules' clock (passive-down marks, session
    /// lifetimes, drain deadlines) stands still until [`Burr::advance_clock`] moves it.
    pub fn start_with_manual_clock(config: &str) -> Burr {
        Self::try_start(config, &["--manual-clock"])
            .unwrap_or_else(|e| panic!("burr did not start: {e}"))
    }

    /// Moves burr's manual clock forward by `by`; returns its UTC second after the move.
    pub fn advance_clock(&self, by: Duration) -> u64 {
        let raw = http_request_raw(
            self.api,
            &format!(
                "POST /test/clock?advance_ms={} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n",
                by.as_millis()
            ),
        )
        .unwrap_or_else(|| panic!("no answer from {}: {}", self.api, self.stderr_text()));
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        metric(raw.split_once("\r\n\r\n").unwrap().1, "unix_secs")
            .unwrap_or_else(|| panic!("no unix_secs in {raw}")) as u64
    }

    /// The UTC second of burr's manual clock.
    pub fn clock_now(&self) -> u64 {
        self.advance_clock(Duration::ZERO)
    }

    pub fn metrics(&self) -> String {
        http_get_body(self.api, "/metrics").unwrap_or_default()
    }

    pub fn generation(&self) -> u64 {
        metric(&self.metrics(), "burr_config_generation").unwrap_or(0.0) as u64
    }
}

impl Drop for Burr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the first sample whose line starts with `prefix`.
pub fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn http_get_raw(addr: SocketAddr, path: &str) -> Option<String> {
    http_request_raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends `request` (which asks for `Connection: close`) and reads the answer to the close.
fn http_request_raw(addr: SocketAddr, request: &str) -> Option<String> {
    let mut s = StdTcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

pub fn http_get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    http_get_raw(addr, path)?.split(' ').nth(1)?.parse().ok()
}

pub fn http_get_body(addr: SocketAddr, path: &str) -> Option<String> {
    let raw = http_get_raw(addr, path)?;
    raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A response as the test client saw it.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The backend name from the echo.
    pub fn backend(&self) -> String {
        self.json()["name"].as_str().unwrap_or_default().to_string()
    }

    /// Values of header `name` the backend received, in order.
    pub fn seen(&self, name: &str) -> Vec<String> {
        self.json()["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_string())
            .collect()
    }
}

/// One HTTP/1.1 keep-alive connection to burr.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Client {
    pub async fn connect(port: u16) -> Client {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        Self::over(stream).await
    }

    /// Connects from the loopback address `source` (any of 127.0.0.0/8).
    pub async fn connect_from(port: u16, source: std::net::Ipv4Addr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((source, 0))).unwrap();
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap();
        Self::over(stream).await
    }

    /// As [`Client::connect_from`], also returning the client's own address (source and port).
    pub async fn connect_from_with_address(
        port: u16,
        source: std::net::Ipv4Addr,
    ) -> (Client, SocketAddr) {
        let stream = tcp_connect_from(port, source).await;
        let local = stream.local_addr().unwrap();
        (Self::over(stream).await, local)
    }

    async fn over(stream: tokio::net::TcpStream) -> Client {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Client { sender }
    }

    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::get(path).header("host", "burr.test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Empty::new()).unwrap()).await
    }

    pub async fn send(&mut self, req: Request<Empty<Bytes>>) -> Answer {
        self.sender.ready().await.unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), self.sender.send_request(req))
            .await
            .expect("response within 10 s")
            .expect("a response");
        collect(response).await
    }

    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

pub async fn collect(response: Response<hyper::body::Incoming>) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A GET on a fresh connection.
pub async fn get(port: u16, path: &str) -> Answer {
    Client::connect(port).await.get(path, &[]).await
}

/// Sends raw bytes and reads until the server closes or `wait` passes; `<EOF>` marks a close.
pub async fn raw(port: u16, data: &[u8], wait: Duration) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(data).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                out.extend_from_slice(b"<EOF>");
                break;
            }
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A config with one balancer `t` listening on `port` and one pool `p` over `targets`.
pub fn config(
    port: u16,
    algorithm: &str,
    targets: &[(SocketAddr, u32)],
    extra_listener: &str,
    extra_pool: &str,
) -> String {
    let list: Vec<String> = targets
        .iter()
        .map(|(a, w)| format!("{{ address = \"{a}\", weight = {w} }}"))
        .collect();
    format!(
        "[[balancer]]\nname = \"t\"\n\n[[balancer.listener]]\nport = {port}\nprotocol = \"http\"\npool = \"p\"\n{extra_listener}\n\n\
         [[pool]]\nname = \"p\"\nalgorithm = \"{algorithm}\"\ntargets = [ {} ]\n{extra_pool}\n\n[pool.health_check]\nenabled = false\n",
        list.join(", ")
    )
}

/// Backends `b1..bn` and a burr in front of them with `algorithm`, each of weight 1.
pub async fn setup(n: usize, algorithm: &str) -> (Vec<Backend>, Burr, u16) {
    setup_with(n, algorithm, "").await
}

/// As [`setup`], with `extra_pool` appended to the pool's table (e.g. `[pool.stickiness]`).
pub async fn setup_with(n: usize, algorithm: &str, extra_pool: &str) -> (Vec<Backend>, Burr, u16) {
    let mut backends = Vec::new();
    for i in 1..=n {
        backends.push(Backend::start(&format!("b{i}"), Behavior::default()).await);
    }
    let port = free_port();
    let targets: Vec<(SocketAddr, u32)> = backends.iter().map(|b| (b.addr, 1)).collect();
    let burr = Burr::start(&config(port, algorithm, &targets, "", extra_pool));
    (backends, burr, port)
}

/// Polls `condition` every 20 ms for at most `wait`, letting the test's targets run meanwhile;
/// whether it came true.
pub async fn eventually(wait: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether burr's count of requests in flight to `target` (pool `p`) falls to 0 within `wait`:
/// the exchange's lease on its upstream connection was given back.
pub async fn in_flight_drops_to_zero(burr: &Burr, target: SocketAddr, wait: Duration) -> bool {
    let in_flight = format!("burr_target_in_flight_requests{{pool=\"p\",target=\"{target}\"}}");
    eventually(wait, || metric(&burr.metrics(), &in_flight) == Some(0.0)).await
}

/// The health state gauge of `target` in pool `p` (1 healthy, 2 unhealthy), from `metrics`.
pub fn health_state_of(metrics: &str, target: SocketAddr) -> Option<f64> {
    metric(
        metrics,
        &format!("burr_target_health_state{{pool=\"p\",target=\"{target}\"}}"),
    )
}

/// The recorded health-check failure of `target` in pool `p`: its labels after the target's,
/// e.g. `reason="response_code_mismatch",code="503"`; `None` when its last check passed.
pub fn health_failure_of(metrics: &str, target: SocketAddr) -> Option<String> {
    let prefix = format!("burr_target_health_check_failure{{pool=\"p\",target=\"{target}\",");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.trim_end_matches("} 1").to_string())
}
