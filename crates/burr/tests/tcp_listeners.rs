//! TCP and SSL listeners (Classic ELB semantics): connections relayed byte for byte to targets
//! chosen by the pool's algorithm, with retries on refused connects, half-close, idle timeout,
//! source-address affinity, TLS on either side, the PROXY protocol v1 header, and configuration
//! changes that leave established connections alone until their target's drain deadline.

mod common;

use common::*;
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

async fn targets(n: usize) -> Vec<TcpTarget> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(TcpTarget::start(&format!("t{i}")).await);
    }
    out
}

fn addrs(targets: &[TcpTarget]) -> Vec<SocketAddr> {
    targets.iter().map(|t| t.addr).collect()
}

/// Connects from `source` and returns the stream and the name of the target that greeted it.
async fn open_from(port: u16, source: Ipv4Addr) -> (TcpStream, String) {
    let mut stream = tcp_connect_from(port, source).await;
    let name = read_line(&mut stream).await;
    (stream, name.trim_end().to_string())
}

/// Sends `text` and expects it echoed.
async fn echoes<S>(stream: &mut S, text: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(text.as_bytes()).await.unwrap();
    assert_eq!(read_exactly(stream, text.len()).await, text);
}

fn target_metric(burr: &Burr, name: &str, target: SocketAddr) -> f64 {
    metric(
        &burr.metrics(),
        &format!("{name}{{pool=\"p\",target=\"{target}\"}}"),
    )
    .unwrap_or(-1.0)
}

#[tokio::test]
async fn round_robin_sends_each_connection_to_the_next_target_and_counts_it() {
    let targets = targets(3).await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &addrs(&targets),
        "",
        "",
    ));
    let mut names = Vec::new();
    for i in 0..6 {
        let (mut stream, name) = open_from(port, LOOPBACK).await;
        echoes(&mut stream, &format!("hello {i}")).await;
        if i == 0 {
            // While the relay lives, its target counts one active connection.
            let target = targets.iter().find(|t| t.name == name).unwrap().addr;
            assert_eq!(
                target_metric(&burr, "burr_target_active_connections", target),
                1.0
            );
        }
        drop(stream);
        names.push(name);
    }
    let first: BTreeSet<_> = names[..3].iter().cloned().collect();
    assert_eq!(
        first,
        BTreeSet::from(["t1".into(), "t2".into(), "t3".into()])
    );
    assert_eq!(names[3..], names[..3], "rotation: {names:?}");
    for t in &targets {
        assert_eq!(t.connections(), 2, "{}", t.name);
        assert_eq!(target_metric(&burr, "burr_selections_total", t.addr), 2.0);
        let gauge = || target_metric(&burr, "burr_target_active_connections", t.addr);
        assert!(
            eventually(Duration::from_secs(5), || gauge() == 0.0).await,
            "closed relays leave the gauge"
        );
    }
    assert_eq!(
        metric(
            &burr.metrics(),
            &format!("burr_connections_total{{balancer=\"t\",port=\"{port}\"}}")
        ),
        Some(6.0)
    );
}

#[tokio::test]
async fn half_close_reaches_the_target_and_its_answer_still_reaches_the_client() {
    let targets = targets(1).await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &addrs(&targets),
        "",
        "",
    ));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    stream.shutdown().await.unwrap(); // shutdown(WRITE): the client keeps reading
    let answer = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the relay ends once both sides have closed");
    // The target echoed, saw EOF, answered after it and closed: all of it arrived.
    assert_eq!(answer, "t1\nping<eof>\n");
    assert_eq!(targets[0].received(), ["ping"]);
}

#[tokio::test]
async fn a_refused_connect_is_retried_on_another_target() {
    let live = TcpTarget::start("live").await;
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[dead, live.addr],
        "",
        "[pool.upstream]\nretries = 1",
    ));
    for _ in 0..4 {
        let (_stream, name) = open_from(port, LOOPBACK).await;
        assert_eq!(name, "live");
    }
    // The dead target refused once, then was skipped (passively down for 10 s).
    assert_eq!(
        target_metric(&burr, "burr_target_connect_failures_total", dead),
        1.0
    );
    assert_eq!(
        metric(
            &burr.metrics(),
            "burr_pool_failures_total{pool=\"p\",reason=\"connect_failed\"}"
        ),
        Some(1.0)
    );
    assert_eq!(live.connections(), 4);
}

#[tokio::test]
async fn a_connection_no_target_takes_is_closed() {
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[dead],
        "",
        "[pool.upstream]\nretries = 0",
    ));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(answer.as_deref(), Some(""), "closed without a byte");
}

#[tokio::test]
async fn least_connections_counts_open_relays() {
    let targets = targets(2).await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "least_connections",
        &addrs(&targets),
        "",
        "",
    ));
    // Every relay stays open, so each new connection goes to the target with fewer: the two
    // never differ by more than one.
    let mut held = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for i in 0..6 {
        let (stream, name) = open_from(port, LOOPBACK).await;
        *counts.entry(name).or_default() += 1;
        held.push(stream);
        let (low, high) = (counts.values().min(), counts.values().max());
        if i % 2 == 1 {
            assert_eq!(counts.len(), 2, "after {} connections: {counts:?}", i + 1);
            assert_eq!(low, high, "after {} connections: {counts:?}", i + 1);
        }
    }
}

#[tokio::test]
async fn source_ip_hash_keeps_each_client_address_on_one_target() {
    let targets = targets(3).await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "source_ip_hash",
        &addrs(&targets),
        "",
        "",
    ));
    let mut placed: HashMap<Ipv4Addr, String> = HashMap::new();
    for host in 2..14u8 {
        let source = Ipv4Addr::new(127, 0, 0, host);
        for _ in 0..3 {
            let (_stream, name) = open_from(port, source).await;
            let first = placed.entry(source).or_insert_with(|| name.clone());
            assert_eq!(*first, name, "{source} moved");
        }
    }
    // Twelve addresses over three targets all landing on one has odds of 3^-11.
    let used: BTreeSet<_> = placed.values().collect();
    assert!(used.len() >= 2, "every address on one target: {placed:?}");
}

#[tokio::test]
async fn source_ip_stickiness_keeps_a_client_on_its_target() {
    let targets = targets(3).await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &addrs(&targets),
        "",
        "[pool.stickiness]\ntype = \"source_ip\"",
    ));
    for host in 2..6u8 {
        let source = Ipv4Addr::new(127, 0, 0, host);
        let (_first, home) = open_from(port, source).await;
        for _ in 0..2 {
            // Round robin alone would rotate; the session keeps the client where it started.
            let (_stream, name) = open_from(port, source).await;
            assert_eq!(name, home, "{source}");
        }
    }
    let metrics = burr.metrics();
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"new\"}"
        ),
        Some(4.0)
    );
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"hit\"}"
        ),
        Some(8.0)
    );
}

#[tokio::test]
async fn ssl_listener_terminates_tls_without_alpn_and_relays_plain_bytes() {
    let targets = targets(1).await;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(certs.path());
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "ssl",
        "round_robin",
        &addrs(&targets),
        &format!("tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}"),
        "",
    ));
    let mut tls = tls_connect_trusting(port, &trusted, &[b"h2", b"http/1.1"]).await;
    // What flows inside is not HTTP to burr: it must not claim a protocol by ALPN.
    assert_eq!(tls.get_ref().1.alpn_protocol(), None);
    assert_eq!(read_line(&mut tls).await, "t1\n");
    echoes(&mut tls, "secret").await;
    assert_eq!(
        targets[0].received(),
        ["secret"],
        "the target got plaintext"
    );
}

#[tokio::test]
async fn ssl_targets_are_spoken_to_over_tls() {
    let target = TcpTarget::start_tls("tls-target").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "instance_protocol = \"ssl\"",
        "",
    ));
    // The target only answers after a TLS handshake, so its greeting proves burr made one.
    let (mut stream, name) = open_from(port, LOOPBACK).await;
    assert_eq!(name, "tls-target");
    echoes(&mut stream, "over tls").await;
    assert_eq!(target.received(), ["over tls"]);
}

#[tokio::test]
async fn https_targets_are_spoken_to_over_tls_behind_an_http_listener() {
    let backend = Backend::start(
        "secure",
        Behavior {
            tls: true,
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "instance_protocol = \"https\"",
        "",
    ));
    let mut client = Client::connect(port).await;
    for _ in 0..3 {
        let answer = client.get("/over-tls", &[]).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.backend(), "secure");
    }
    // The TLS connection to the target is kept alive like a plain one.
    assert_eq!(
        backend
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn proxy_protocol_header_precedes_the_client_bytes_on_tcp() {
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "",
        "[pool.upstream]\nproxy_protocol = true",
    ));
    let mut stream = tcp_connect_from(port, Ipv4Addr::new(127, 0, 0, 7)).await;
    let client = stream.local_addr().unwrap();
    assert_eq!(read_line(&mut stream).await, "t1\n");
    stream.write_all(b"hi").await.unwrap();
    let header = format!(
        "PROXY TCP4 127.0.0.7 127.0.0.1 {} {port}\r\n",
        client.port()
    );
    // The echo returns everything the target read: the header, once, then the client's bytes.
    assert_eq!(
        read_exactly(&mut stream, header.len() + 2).await,
        format!("{header}hi")
    );
    assert_eq!(target.received(), [format!("{header}hi")]);
}

/// A PROXY protocol v2 header, read as the specification lays it out (section 2.2): the
/// 12-byte signature, version and command, family and transport, the length of the address
/// block, then for TCP over IPv4 the source and destination addresses and ports. Returns the
/// source, the destination and what followed the header.
fn parse_proxy_v2(bytes: &[u8]) -> (SocketAddr, SocketAddr, &[u8]) {
    const SIGNATURE: [u8; 12] = [
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
    ];
    assert_eq!(bytes[..12], SIGNATURE, "signature");
    assert_eq!(bytes[12] >> 4, 2, "version");
    assert_eq!(bytes[12] & 0x0F, 1, "command PROXY");
    assert_eq!(bytes[13] >> 4, 1, "address family AF_INET");
    assert_eq!(bytes[13] & 0x0F, 1, "transport STREAM");
    let length = u16::from_be_bytes([bytes[14], bytes[15]]) as usize;
    assert_eq!(length, 12, "an IPv4 address block");
    let block = &bytes[16..16 + length];
    let ip = |b: &[u8]| std::net::IpAddr::from([b[0], b[1], b[2], b[3]]);
    let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let source = SocketAddr::new(ip(&block[0..4]), port(&block[8..10]));
    let destination = SocketAddr::new(ip(&block[4..8]), port(&block[10..12]));
    (source, destination, &bytes[16 + length..])
}

#[tokio::test]
async fn proxy_protocol_v2_header_names_the_client_in_binary() {
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "",
        "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2",
    ));
    let mut stream = tcp_connect_from(port, Ipv4Addr::new(127, 0, 0, 7)).await;
    let client = stream.local_addr().unwrap();
    assert_eq!(read_line(&mut stream).await, "t1\n");
    stream.write_all(b"hi").await.unwrap();
    // The echo returns the 28-byte header and the client's bytes once the target has them.
    let mut echoed = vec![0u8; 28 + 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed))
        .await
        .unwrap()
        .unwrap();
    let received = target.received_bytes();
    assert_eq!(received, [echoed]);
    let (source, destination, rest) = parse_proxy_v2(&received[0]);
    assert_eq!(source, client);
    assert_eq!(destination, format!("127.0.0.1:{port}").parse().unwrap());
    assert_eq!(rest, b"hi");
}

/// Behind an HTTP listener too: the target reads the v2 header, then the request.
#[tokio::test]
async fn proxy_protocol_v2_header_precedes_requests_on_http_listeners() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen_tx = seen_tx.clone();
            tokio::spawn(async move {
                let mut header = vec![0u8; 28];
                if stream.read_exact(&mut header).await.is_err() {
                    return;
                }
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = seen_tx.send((header, head));
                let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                let _ = stream.write_all(answer).await;
            });
        }
    });
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "http",
        "round_robin",
        &[target],
        "",
        "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2",
    ));
    let mut stream = tcp_connect_from(port, Ipv4Addr::new(127, 0, 0, 9)).await;
    let client = stream.local_addr().unwrap();
    stream
        .write_all(b"GET /v2 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let (header, head) = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let (source, destination, rest) = parse_proxy_v2(&header);
    assert_eq!((source, rest), (client, &b""[..]));
    assert_eq!(destination, format!("127.0.0.1:{port}").parse().unwrap());
    assert!(head.starts_with(b"GET /v2 HTTP/1.1\r\n"), "{head:?}");
}

#[tokio::test]
async fn proxy_protocol_header_precedes_the_tls_handshake_to_ssl_targets() {
    let target = TcpTarget::start_tls_after_proxy_line("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "instance_protocol = \"ssl\"",
        "[pool.upstream]\nproxy_protocol = true",
    ));
    let mut stream = tcp_connect_from(port, Ipv4Addr::new(127, 0, 0, 8)).await;
    let client = stream.local_addr().unwrap();
    // The target greets only after reading the line and completing the handshake.
    assert_eq!(read_line(&mut stream).await, "t1\n");
    echoes(&mut stream, "inside tls").await;
    assert_eq!(
        target.received(),
        [format!(
            "PROXY TCP4 127.0.0.8 127.0.0.1 {} {port}\r\ninside tls",
            client.port()
        )]
    );
}

#[tokio::test]
async fn proxy_protocol_on_an_http_listener_keeps_upstream_connections_per_client() {
    let backend = Backend::start(
        "b1",
        Behavior {
            proxy_protocol: true,
            ..Default::default()
        },
    )
    .await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "",
        "[pool.upstream]\nproxy_protocol = true",
    ));
    let (mut a, a_addr) =
        Client::connect_from_with_address(port, Ipv4Addr::new(127, 0, 0, 2)).await;
    let (mut b, b_addr) =
        Client::connect_from_with_address(port, Ipv4Addr::new(127, 0, 0, 3)).await;
    assert_eq!(a.get("/a1", &[]).await.status, 200);
    assert_eq!(b.get("/b1", &[]).await.status, 200);
    assert_eq!(a.get("/a2", &[]).await.status, 200);
    assert_eq!(b.get("/b2", &[]).await.status, 200);
    // B never got A's connection (its header names A), and each kept its own alive.
    assert_eq!(
        *backend.proxy_headers.lock().unwrap(),
        [
            format!(
                "PROXY TCP4 127.0.0.2 127.0.0.1 {} {port}\r\n",
                a_addr.port()
            ),
            format!(
                "PROXY TCP4 127.0.0.3 127.0.0.1 {} {port}\r\n",
                b_addr.port()
            ),
        ]
    );
    assert_eq!(backend.hits(), 4);
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let targets = targets(1).await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &addrs(&targets),
        "idle_timeout_secs = 1",
        "",
    ));
    let (mut silent, _) = open_from(port, LOOPBACK).await;
    // The greeting just read was the relay's last activity.
    let opened = Instant::now();
    let mut watch = tokio::spawn(async move {
        let closed = read_to_close(&mut silent, Duration::from_secs(8)).await;
        (closed, opened.elapsed())
    });
    let (mut talking, _) = open_from(port, LOOPBACK).await;
    // Traffic every 250 ms keeps the other connection open, until the silent one has closed
    // and for at least 2 s (twice the timeout).
    let mut finished = None;
    let mut i = 0;
    while finished.is_none() || opened.elapsed() < Duration::from_secs(2) {
        tokio::select! {
            done = &mut watch, if finished.is_none() => finished = Some(done.unwrap()),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                echoes(&mut talking, &format!("{i}")).await;
                i += 1;
            }
        }
    }
    let (closed, after) = finished.unwrap();
    assert_eq!(
        closed.as_deref(),
        Some(""),
        "the silent connection was closed"
    );
    // 1 s after its last byte (the coarse clock may round 20 ms either way), with slack for a
    // loaded machine on the late side.
    assert!(
        after >= Duration::from_millis(900) && after <= Duration::from_secs(4),
        "closed after {after:?}"
    );
    echoes(&mut talking, "still here").await;
}

#[tokio::test]
async fn removing_a_target_does_not_cut_an_established_connection() {
    let t1 = TcpTarget::start("t1").await;
    let t2 = TcpTarget::start("t2").await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(port, "tcp", "round_robin", &[t1.addr], "", ""));
    let (mut old, name) = open_from(port, LOOPBACK).await;
    assert_eq!(name, "t1");
    burr.reload(&tcp_config(port, "tcp", "round_robin", &[t2.addr], "", ""));
    // The default drain (300 s) lets the established relay run on; new ones go to t2.
    let (_new, name) = open_from(port, LOOPBACK).await;
    assert_eq!(name, "t2");
    tokio::time::sleep(Duration::from_millis(200)).await;
    echoes(&mut old, "still relayed").await;
    assert_eq!(t1.received(), ["still relayed"]);
}

/// A relay to a deregistered target runs on until the drain deadline, and is closed at it. burr
/// runs with `--manual-clock`: the test moves its clock to just before the deadline and just
/// after it, rather than waiting.
#[tokio::test]
async fn a_deregistered_targets_connections_end_at_its_drain_deadline() {
    const DELAY: u64 = 300;
    let t1 = TcpTarget::start("t1").await;
    let t2 = TcpTarget::start("t2").await;
    let port = free_port();
    let drain = format!("[pool.draining]\nderegistration_delay_secs = {DELAY}");
    let burr = Burr::start_with_manual_clock(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[t1.addr],
        "",
        &drain,
    ));
    let (mut old, name) = open_from(port, LOOPBACK).await;
    assert_eq!(name, "t1");
    let requested = burr.clock_now();
    burr.reload_async(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[t2.addr],
        "",
        &drain,
    ))
    .await;
    let reloaded = burr.clock_now();
    // The relay still works, and new connections go to t2.
    echoes(&mut old, "draining").await;
    let (_new, name) = open_from(port, LOOPBACK).await;
    assert_eq!(name, "t2");
    // One second before the earliest possible deadline: still relayed.
    burr.advance_clock(Duration::from_secs(requested + DELAY - 1 - reloaded));
    echoes(&mut old, "still draining").await;
    assert_eq!(t1.received(), ["drainingstill draining"]);
    // Past the latest possible deadline: closed, promptly.
    burr.advance_clock(Duration::from_secs(reloaded - requested + 2));
    let closed = read_to_close(&mut old, Duration::from_secs(3)).await;
    assert_eq!(closed.as_deref(), Some(""), "closed at the drain deadline");
}
