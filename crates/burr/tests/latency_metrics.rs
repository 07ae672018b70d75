//! The request path's latency histograms and byte counters, seen in `/metrics` of the real
//! binary: `burr_request_duration_seconds` per listener and
//! `burr_target_response_duration_seconds` per target count every request and put a target's
//! known delay in the buckets at or above it, on the HTTP/1.1 fast path and on hyper's path
//! (HTTP/2); `burr_received_bytes_total` / `burr_sent_bytes_total` equal what the client sent and
//! received (HTTP and a TCP relay); `--latency-histograms off` renders no histogram.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::Empty;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the target waits before answering: every observation must land at or above it.
const DELAY: Duration = Duration::from_millis(30);

/// The bucket bound just below [`DELAY`]: it must count none of the forwarded requests.
const BELOW_DELAY: &str = "0.025";

/// A rule whose fixed response burr answers itself, at once.
const FIXED_RULE: &str = "[[balancer.listener.rule]]\npriority = 1\n\
     conditions = [ { path_pattern = [\"/fixed\"] } ]\n\
     action = { fixed_response = { status = 418, content_type = \"text/plain\", body = \"tea\" } }";

async fn delayed_setup(extra_args: &[&str]) -> (Backend, Burr, u16) {
    let backend = Backend::start(
        "slow",
        Behavior {
            delay: DELAY,
            ..Behavior::default()
        },
    )
    .await;
    let port = free_port();
    let burr = Burr::try_start(
        &config(port, "round_robin", &[(backend.addr, 1)], FIXED_RULE, ""),
        extra_args,
    )
    .unwrap_or_else(|e| panic!("burr did not start: {e}"));
    (backend, burr, port)
}

fn listener_series(port: u16, suffix: &str) -> String {
    format!("burr_request_duration_seconds{suffix}{{balancer=\"t\",port=\"{port}\"")
}

fn target_series(target: SocketAddr, suffix: &str) -> String {
    format!("burr_target_response_duration_seconds{suffix}{{pool=\"p\",target=\"{target}\"")
}

/// Sends one HTTP/1.1 request on `stream` and reads its `Content-Length` response whole;
/// returns the bytes written and read.
async fn exchange(stream: &mut tokio::net::TcpStream, request: &[u8]) -> (usize, usize) {
    stream.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-response");
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .expect("a content-length response")
                .trim()
                .parse()
                .unwrap();
            break (end + 4, length);
        }
    };
    while got.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-body");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), head_end + length, "nothing past the response");
    (request.len(), got.len())
}

/// Polls `/metrics` until the sample starting with `prefix` reads `value`.
async fn wait_for(burr: &Burr, prefix: &str, value: f64) {
    let seen = eventually(Duration::from_secs(5), || {
        metric(&burr.metrics(), prefix) == Some(value)
    })
    .await;
    assert!(
        seen,
        "{prefix} never read {value}; now {:?}",
        metric(&burr.metrics(), prefix)
    );
}

#[tokio::test]
async fn http1_requests_are_timed_per_listener_and_target_and_their_bytes_counted() {
    let (backend, burr, port) = delayed_setup(&[]).await;
    const N: usize = 5;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sent, mut received) = (0, 0);
    for i in 0..N {
        // A body on some, so request bodies count too.
        let request = if i % 2 == 0 {
            format!("GET /r{i} HTTP/1.1\r\nHost: burr.test\r\n\r\n")
        } else {
            format!("POST /r{i} HTTP/1.1\r\nHost: burr.test\r\nContent-Length: 5\r\n\r\nhello")
        };
        let (out, back) = exchange(&mut stream, request.as_bytes()).await;
        sent += out;
        received += back;
    }
    // burr's own answer (a fixed response) on the same connection: timed on the listener only.
    let fixed = b"GET /fixed HTTP/1.1\r\nHost: burr.test\r\n\r\n";
    let (out, back) = exchange(&mut stream, fixed).await;
    sent += out;
    received += back;
    // HTTP/1.0 leaves the fast path: hyper's HTTP/1 path answers it, timed and counted alike.
    let old = b"GET /old HTTP/1.0\r\nHost: burr.test\r\n\r\n";
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(old).await.unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("an HTTP/1.0 answer, then the close");
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    sent += old.len();
    received += answer.len();
    // Forwarded: N on the fast path, one on hyper's; and the fixed response.
    let n = (N + 1) as f64;
    wait_for(&burr, &listener_series(port, "_count"), n + 1.0).await;
    let text = burr.metrics();
    // Every forwarded request took at least the target's delay: only the fixed response is in
    // the bucket below it.
    let below = format!("le=\"{BELOW_DELAY}\"}}");
    assert_eq!(
        metric(
            &text,
            &format!("{},{below}", listener_series(port, "_bucket"))
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            &format!("{},le=\"+Inf\"}}", listener_series(port, "_bucket"))
        ),
        Some(n + 1.0)
    );
    let sum = metric(&text, &listener_series(port, "_sum")).unwrap();
    assert!(sum >= n * DELAY.as_secs_f64(), "sum {sum} below {N} delays");
    assert_eq!(
        metric(&text, &target_series(backend.addr, "_count")),
        Some(n),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            &format!("{},{below}", target_series(backend.addr, "_bucket"))
        ),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &text,
            &format!("burr_received_bytes_total{{balancer=\"t\",port=\"{port}\"}}")
        ),
        Some(sent as f64)
    );
    assert_eq!(
        metric(
            &text,
            &format!("burr_sent_bytes_total{{balancer=\"t\",port=\"{port}\"}}")
        ),
        Some(received as f64)
    );
}

#[tokio::test]
async fn http2_requests_are_timed_on_hypers_path_and_answers_of_burrs_own_too() {
    let (backend, burr, port) = delayed_setup(&[]).await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let counts = Counts::default();
    let mut h2 = h2_over(Counted(stream, counts.clone())).await;
    for i in 0..3 {
        h2.ready().await.unwrap();
        let req = http::Request::get(format!("http://burr.test/h2/{i}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let answer = collect(h2.send_request(req).await.unwrap()).await;
        assert_eq!(answer.status, 200);
    }
    wait_for(&burr, &listener_series(port, "_count"), 3.0).await;
    let text = burr.metrics();
    assert_eq!(
        metric(
            &text,
            &format!(
                "{},le=\"{BELOW_DELAY}\"}}",
                listener_series(port, "_bucket")
            )
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, &target_series(backend.addr, "_count")),
        Some(3.0)
    );
    // A request burr answers itself (its only target stopped: 502) counts on the listener, not
    // on the target.
    backend.stop().await;
    h2.ready().await.unwrap();
    let req = http::Request::get("http://burr.test/gone")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let answer = collect(h2.send_request(req).await.unwrap()).await;
    assert_eq!(answer.status, 502);
    wait_for(&burr, &listener_series(port, "_count"), 4.0).await;
    let text = burr.metrics();
    assert_eq!(
        metric(&text, &target_series(backend.addr, "_count")),
        Some(3.0)
    );
    // Every HTTP/2 byte the client wrote burr read, and the other way round (frames,
    // preface and settings included), once the connection is quiet.
    let series = |name: &str| format!("{name}{{balancer=\"t\",port=\"{port}\"}}");
    let same = eventually(Duration::from_secs(5), || {
        let text = burr.metrics();
        metric(&text, &series("burr_received_bytes_total")) == Some(counts.written() as f64)
            && metric(&text, &series("burr_sent_bytes_total")) == Some(counts.read() as f64)
    })
    .await;
    assert!(
        same,
        "client wrote {} and read {}; burr: {}",
        counts.written(),
        counts.read(),
        burr.metrics()
            .lines()
            .filter(|l| l.contains("_bytes_total"))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

/// Bytes a client connection wrote and read.
#[derive(Clone, Default)]
struct Counts(std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>);

impl Counts {
    fn written(&self) -> u64 {
        self.0[0].load(std::sync::atomic::Ordering::SeqCst)
    }

    fn read(&self) -> u64 {
        self.0[1].load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A client stream that counts its bytes into [`Counts`].
struct Counted(tokio::net::TcpStream, Counts);

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.1.0[1].fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        polled
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.0).poll_write(cx, data);
        if let std::task::Poll::Ready(Ok(n)) = polled {
            self.1.0[0].fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn latency_histograms_off_renders_none() {
    let (_backend, burr, port) = delayed_setup(&["--latency-histograms", "off"]).await;
    assert_eq!(get(port, "/").await.status, 200);
    let text = burr.metrics();
    assert!(!text.contains("burr_request_duration_seconds"), "{text}");
    assert!(
        !text.contains("burr_target_response_duration_seconds"),
        "{text}"
    );
    // The byte counters are not histograms: they stay.
    wait_for_positive(
        &burr,
        &format!("burr_sent_bytes_total{{balancer=\"t\",port=\"{port}\"}}"),
    )
    .await;
    let refused = Burr::try_start(
        &config(free_port(), "round_robin", &[], "", ""),
        &["--latency-histograms", "sometimes"],
    );
    let error = refused.err().expect("an invalid switch is refused");
    assert!(
        error.contains("--latency-histograms") && error.contains("sometimes"),
        "{error}"
    );
}

async fn wait_for_positive(burr: &Burr, prefix: &str) {
    let seen = eventually(Duration::from_secs(5), || {
        metric(&burr.metrics(), prefix).is_some_and(|v| v > 0.0)
    })
    .await;
    assert!(seen, "{prefix} stayed 0");
}

#[tokio::test]
async fn tcp_and_ssl_relays_count_the_clients_bytes() {
    let target = TcpTarget::start("echo").await;
    // TCP: the splice pump's path (plain on both sides).
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "",
        "",
    ));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let answer = echo_once(&mut stream).await;
    relay_counts(&burr, port, answer.len()).await;
    // SSL: the copy path, counted after TLS (the bytes inside it).
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(certs.path());
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "ssl",
        "round_robin",
        &[target.addr],
        &format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}"),
        "",
    ));
    let mut tls = tls_connect_trusting(port, &trusted, &[]).await;
    let answer = echo_once(&mut tls).await;
    relay_counts(&burr, port, answer.len()).await;
}

/// Sends `hello\n` through the relay, half-closes, and reads the echo target's whole answer.
async fn echo_once<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
) -> String {
    stream.write_all(b"hello\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let answer = read_to_close(stream, Duration::from_secs(5))
        .await
        .expect("the relay closes after the target's <eof>");
    assert_eq!(answer, "echo\nhello\n<eof>\n");
    answer
}

/// The listener on `port` counted the 6 bytes sent and the `answered` bytes received.
async fn relay_counts(burr: &Burr, port: u16, answered: usize) {
    let prefix = |name: &str| format!("{name}{{balancer=\"t\",port=\"{port}\"}}");
    wait_for(burr, &prefix("burr_received_bytes_total"), 6.0).await;
    wait_for(burr, &prefix("burr_sent_bytes_total"), answered as f64).await;
}
