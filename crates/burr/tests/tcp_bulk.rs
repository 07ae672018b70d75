//! Bulk transfers through a plain TCP listener, where burr relays with splice(2): bytes cross
//! intact both ways and a half-close still follows them, a connection moving bulk bytes is not
//! idle, and pipes are taken only by connections that move bulk bytes (an idle or chatty
//! connection holds none) and are reused from the worker's cache after one closes.

mod common;

use common::*;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// `len` bytes that differ from one position to the next (a byte lost, doubled or reordered
/// shows), from a multiplicative hash of the position.
fn pattern(len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
        .collect()
}

/// Pipes among burr's open descriptors (`/proc/PID/fd` links named `pipe:[inode]`).
fn pipes(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("pipe:"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn bulk_bytes_cross_intact_both_ways_and_the_half_close_follows_them() {
    const BULK: usize = 4 << 20;
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "",
        "",
    ));
    let stream = tcp_connect_from(port, LOOPBACK).await;
    let (mut reader, mut writer) = stream.into_split();
    let sent = pattern(BULK);
    let to_send = sent.clone();
    // Written while the echo is read, or both directions would stall on full buffers.
    let writing = tokio::spawn(async move {
        writer.write_all(&to_send).await.unwrap();
        writer.shutdown().await.unwrap(); // half-close: the reading side stays open
        writer
    });
    let mut echoed = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut echoed))
        .await
        .expect("the whole echo and the close within 30 s")
        .unwrap();
    let _writer = writing.await.unwrap();
    // The target greeted, echoed every byte, saw the half-close after the last one, answered
    // and closed.
    let mut expected = b"t1\n".to_vec();
    expected.extend_from_slice(&sent);
    expected.extend_from_slice(b"<eof>\n");
    assert_eq!(echoed.len(), expected.len(), "bytes that came back");
    assert!(echoed == expected, "the echo differs from what was sent");
    assert!(
        target.received_bytes()[0] == sent,
        "the target got other bytes"
    );
}

#[tokio::test]
async fn pipes_are_made_only_for_connections_that_move_bulk_bytes() {
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "",
        "",
    ));
    let before = pipes(burr.pid());
    // Twenty connections that greet and exchange short messages: no pipe.
    let mut chatty = Vec::new();
    for i in 0..20 {
        let mut stream = tcp_connect_from(port, LOOPBACK).await;
        assert_eq!(read_line(&mut stream).await, "t1\n");
        let message = format!("short message {i}");
        stream.write_all(message.as_bytes()).await.unwrap();
        assert_eq!(read_exactly(&mut stream, message.len()).await, message);
        chatty.push(stream);
    }
    assert_eq!(pipes(burr.pid()), before, "short messages need no pipe");
    // One connection moves 1 MiB each way: it gets pipes (one per direction that spliced).
    let bulk = echo_mib(port).await;
    let during = pipes(burr.pid());
    assert!(
        during > before && during <= before + 4,
        "pipe ends while the bulk connection lives: {during}, before it: {before}"
    );
    // Closing it gives its (empty) pipes back to the worker's cache, and the next bulk
    // connection takes them from there instead of making new ones.
    drop(bulk);
    let relay_closed = || {
        burr.metrics().lines().any(|l| {
            l.starts_with("burr_tcp_relays_total{")
                && l.contains("end=\"closed\"")
                && l.ends_with(" 1")
        })
    };
    assert!(
        eventually(Duration::from_secs(5), relay_closed).await,
        "the bulk connection's relay did not end"
    );
    let _second_bulk = echo_mib(port).await; // open while its pipes are counted
    assert!(
        pipes(burr.pid()) <= during,
        "pipe ends with a second bulk connection: {}, with the first: {during}",
        pipes(burr.pid())
    );
    for stream in &mut chatty {
        stream.write_all(b"still here").await.unwrap();
        assert_eq!(read_exactly(stream, 10).await, "still here");
    }
}

/// Connects to the listener `port` in front of the echoing target "t1" and moves 1 MiB each
/// way (enough for both directions to splice), checking the echo; the connection stays open.
async fn echo_mib(port: u16) -> tokio::net::TcpStream {
    let mut bulk = tcp_connect_from(port, LOOPBACK).await;
    assert_eq!(read_line(&mut bulk).await, "t1\n");
    let sent = pattern(1 << 20);
    let (mut reader, mut writer) = bulk.split();
    let (_, echoed) = tokio::join!(writer.write_all(&sent), async {
        let mut echoed = vec![0; sent.len()];
        tokio::time::timeout(Duration::from_secs(10), reader.read_exact(&mut echoed))
            .await
            .expect("the echo within 10 s")
            .unwrap();
        echoed
    });
    assert!(echoed == sent, "the echo differs from what was sent");
    bulk
}

/// A target that reads until the client's half-close, answers with the number of bytes it
/// read (as text) and closes: bytes move one way only, so only that direction's relay can count
/// them as activity.
async fn counting_sink() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                if stream.read_to_end(&mut sink).await.is_ok() {
                    let _ = stream.write_all(sink.len().to_string().as_bytes()).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_connection_moving_bulk_bytes_is_not_idle() {
    const CHUNK: usize = 64 << 10;
    let sink = counting_sink().await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[sink],
        "idle_timeout_secs = 2",
        "",
    ));
    let mut stream = tcp_connect_from(port, LOOPBACK).await;
    // 64 KiB every 200 ms for 4.4 s (more than twice the idle timeout, which runs on real time
    // as every I/O timeout does; a 2 s timeout leaves a busy machine 1.8 s of slack), client to
    // target only: every chunk is large enough to be spliced, and the relay must count it as
    // activity.
    let chunk = pattern(CHUNK);
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(4400) {
        stream.write_all(&chunk).await.unwrap();
        sent += CHUNK;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stream.shutdown().await.unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(
        answer,
        Some(sent.to_string()),
        "the target's count of the bytes it got, after the half-close"
    );
}
