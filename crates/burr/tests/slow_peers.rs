//! Back-pressure with large bodies: a peer that stops reading, then reads slowly, never makes
//! burr buffer without bound. A target streams a 1 GiB response (generated as it goes) to a
//! client that reads a little, stalls, then reads slowly; a client uploads a 1 GiB body to a
//! target that stops reading. burr's resident memory (`VmRSS`) grows by less than
//! [`RSS_BOUND`] and the writer is blocked long before 1 GiB: on the HTTP fast path's splice
//! path (http listener), its copy path (https listener) and the TCP relay.
//!
//! The bound: burr holds at most one input buffer of 256 KiB per direction, a 64 KiB pipe
//! (kernel memory, not RSS) and TLS's own buffers (64 KiB of records each way); 16 MiB leaves
//! room for the allocator and a debug build while being far below what the sockets' kernel
//! buffers let through (tens of MiB), let alone 1 GiB.

mod common;

use common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GIB: u64 = 1 << 30;
const RSS_BOUND_KIB: u64 = 16 * 1024;
/// Bytes a blocked writer may have put into the sockets' buffers along the way (loopback
/// receive buffers autotune up to 32 MiB each here: `net.ipv4.tcp_rmem`).
const IN_FLIGHT: u64 = 128 << 20;
const CHUNK: usize = 64 * 1024;

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads up to the end of a request head (and nothing after it).
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    true
}

/// A target that answers each connection (after a request head, when `http`) with 1 GiB of
/// body (`Content-Length`), written as fast as the connection takes it; `produced` counts the
/// bytes its writes took.
async fn streaming_target(http: bool) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let produced = Arc::new(AtomicU64::new(0));
    let count = produced.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                if http {
                    if !read_head(&mut stream).await {
                        return;
                    }
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {GIB}\r\n\r\n");
                    stream.write_all(head.as_bytes()).await.unwrap();
                }
                write_a_gib(&mut stream, b'x', &count).await;
            });
        }
    });
    (addr, produced)
}

/// A target that reads a request head and 1 MiB of body, answers nothing and reads no more
/// (holding the connection open).
async fn stalling_sink() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_head(&mut stream).await {
                    let mut body = vec![0; 1 << 20];
                    let _ = stream.read_exact(&mut body).await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}

/// Waits (at most 5 s) until `count` stops growing for 300 ms: the writer it counts is blocked.
async fn blocked(count: &AtomicU64) -> u64 {
    let mut last = count.load(Ordering::Relaxed);
    let mut still = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = count.load(Ordering::Relaxed);
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 3 {
            return now;
        }
    }
    panic!("the writer never blocked: {last} bytes so far");
}

/// Reads 1 MiB, stalls until the target is blocked, then reads 64 KiB every 20 ms for a
/// second; burr's RSS stays within the bound of `baseline` all along and the target never gets
/// far ahead of the client.
async fn read_then_stall_then_trickle<S: AsyncRead + Unpin>(
    mut client: S,
    burr: &Burr,
    produced: &AtomicU64,
    baseline: u64,
) {
    let mut buffer = vec![0; 1 << 20];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut buffer))
        .await
        .expect("the first MiB within 5 s")
        .unwrap();
    let mut read = buffer.len() as u64;
    let at_stall = blocked(produced).await;
    assert!(
        at_stall < IN_FLIGHT,
        "target sent {at_stall} bytes to a stalled client"
    );
    let mut peak = rss_kib(burr.pid());
    for _ in 0..50 {
        let chunk = &mut buffer[..CHUNK];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(chunk))
            .await
            .expect("a slow read within 5 s")
            .unwrap();
        read += CHUNK as u64;
        peak = peak.max(rss_kib(burr.pid()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ahead = produced.load(Ordering::Relaxed) - read;
    assert!(
        ahead < IN_FLIGHT,
        "the target got {ahead} bytes ahead of a slow client"
    );
    assert!(
        peak - baseline < RSS_BOUND_KIB,
        "burr's RSS grew by {} KiB (from {baseline} KiB)",
        peak - baseline
    );
}

/// Writes 1 GiB of `byte` to `to`, adding each write to `count` as it is taken (what the tests
/// watch to see the writer blocked), until it is all out or a write fails.
async fn write_a_gib<W: AsyncWrite + Unpin>(to: &mut W, byte: u8, count: &AtomicU64) {
    let chunk = vec![byte; CHUNK];
    while count.load(Ordering::Relaxed) < GIB {
        match to.write(&chunk).await {
            Ok(n) if n > 0 => count.fetch_add(n as u64, Ordering::Relaxed),
            _ => return,
        };
    }
}

/// Writes a 1 GiB body after `head` until the writes stop being taken (burr stopped reading,
/// because the target did); burr's RSS stays within the bound of `baseline`.
async fn upload_to_a_stalled_target<S: AsyncWrite + Unpin + Send + 'static>(
    mut client: S,
    burr: &Burr,
    baseline: u64,
) {
    let written = Arc::new(AtomicU64::new(0));
    let count = written.clone();
    let writer = tokio::spawn(async move {
        let head =
            format!("POST /upload HTTP/1.1\r\nHost: burr.test\r\nContent-Length: {GIB}\r\n\r\n");
        client.write_all(head.as_bytes()).await.unwrap();
        write_a_gib(&mut client, b'u', &count).await;
    });
    let at_stall = blocked(&written).await;
    assert!(
        at_stall < IN_FLIGHT,
        "burr took {at_stall} bytes for a stalled target"
    );
    let grown = rss_kib(burr.pid()) - baseline;
    assert!(grown < RSS_BOUND_KIB, "burr's RSS grew by {grown} KiB");
    writer.abort();
}

fn https_config(port: u16, target: SocketAddr, dir: &std::path::Path) -> String {
    let (cert, key, _) = write_test_certificate(dir);
    let listener = format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}");
    config(port, "round_robin", &[(target, 1)], &listener, "")
        .replace("protocol = \"http\"", "protocol = \"https\"")
}

async fn https_client(
    port: u16,
    dir: &std::path::Path,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let (_, _, trusted) = write_test_certificate(dir);
    tls_connect_trusting(port, &trusted, &[b"http/1.1"]).await
}

const GET: &[u8] = b"GET /large HTTP/1.1\r\nHost: burr.test\r\n\r\n";

#[tokio::test]
async fn a_slow_reader_of_a_spliced_response_holds_burr_to_a_bound() {
    let (target, produced) = streaming_target(true).await;
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(target, 1)], "", ""));
    let baseline = rss_kib(burr.pid());
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    client.write_all(GET).await.unwrap();
    read_then_stall_then_trickle(client, &burr, &produced, baseline).await;
}

#[tokio::test]
async fn a_slow_reader_of_a_copied_response_holds_burr_to_a_bound() {
    let (target, produced) = streaming_target(true).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let burr = Burr::start(&https_config(port, target, dir.path()));
    let mut client = https_client(port, dir.path()).await;
    let baseline = rss_kib(burr.pid());
    client.write_all(GET).await.unwrap();
    read_then_stall_then_trickle(client, &burr, &produced, baseline).await;
}

#[tokio::test]
async fn a_slow_reader_on_a_tcp_relay_holds_burr_to_a_bound() {
    let (target, produced) = streaming_target(false).await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(port, "tcp", "round_robin", &[target], "", ""));
    let baseline = rss_kib(burr.pid());
    let client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    read_then_stall_then_trickle(client, &burr, &produced, baseline).await;
}

#[tokio::test]
async fn an_upload_to_a_stalled_target_holds_burr_to_a_bound_spliced_or_copied() {
    let sink = stalling_sink().await;
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(sink, 1)], "", ""));
    let baseline = rss_kib(burr.pid());
    let client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    upload_to_a_stalled_target(client, &burr, baseline).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let burr = Burr::start(&https_config(port, sink, dir.path()));
    let client = https_client(port, dir.path()).await;
    let baseline = rss_kib(burr.pid());
    upload_to_a_stalled_target(client, &burr, baseline).await;
}
