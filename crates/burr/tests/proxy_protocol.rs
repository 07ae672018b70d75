//! The PROXY protocol both ways through the real binary: v2 TLVs (`upstream.proxy_protocol_tlvs`)
//! as the target reads them, and `accept_proxy_protocol` listeners reading a front proxy's v1 or
//! v2 header (payload in the same segment, LOCAL, refusals counted by reason, the header read
//! timeout), listeners without the option leaving a PROXY-looking line alone, and a real HAProxy
//! with `send-proxy` / `send-proxy-v2` in front of burr.
//!
//! The target side parses with the `ppp` crate, an implementation independent of burr's writer.
//! Addresses inside headers are loopback ones (127.9.9.9 claims to be the client, 127.8.8.8 the
//! address it reached) so that nothing here names an address off this machine.

mod common;

use common::front_proxy::{Frontend, Haproxy};
use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 7);

/// A v2 header for TCP over IPv4 with the `PROXY` command (or `LOCAL`), then `tlvs` raw.
fn v2(local_command: bool, source: &str, destination: &str, tlvs: &[u8]) -> Vec<u8> {
    let (s, d): (SocketAddr, SocketAddr) = (source.parse().unwrap(), destination.parse().unwrap());
    let octets = |a: SocketAddr| match a.ip() {
        std::net::IpAddr::V4(v4) => v4.octets(),
        std::net::IpAddr::V6(_) => unreachable!("IPv4 only"),
    };
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.push(if local_command { 0x20 } else { 0x21 });
    out.push(0x11);
    out.extend_from_slice(&((12 + tlvs.len()) as u16).to_be_bytes());
    out.extend_from_slice(&octets(s));
    out.extend_from_slice(&octets(d));
    out.extend_from_slice(&s.port().to_be_bytes());
    out.extend_from_slice(&d.port().to_be_bytes());
    out.extend_from_slice(tlvs);
    out
}

fn refused(burr: &Burr, port: u16, reason: &str) -> f64 {
    let name = format!(
        "burr_proxy_protocol_refused_total{{balancer=\"t\",port=\"{port}\",reason=\"{reason}\"}}"
    );
    metric(&burr.metrics(), &name).unwrap_or(-1.0)
}

/// A TCP listener with `accept_proxy_protocol` before a pool that sends v1 headers: what the
/// target reads first names the client burr believes in.
#[tokio::test]
async fn front_proxy_headers_name_the_client_on_tcp_with_the_payload_in_the_same_segment() {
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "accept_proxy_protocol = true",
        "[pool.upstream]\nproxy_protocol = true",
    ));
    let claimed = "PROXY TCP4 127.9.9.9 127.8.8.8 4444 80\r\n";
    let noop_tlv = b"\x04\x00\x03abc";
    let v2_header = v2(false, "127.9.9.9:4444", "127.8.8.8:80", noop_tlv);
    for header in [claimed.as_bytes().to_vec(), v2_header] {
        let mut stream = tcp_connect_from(port, CLIENT).await;
        // One write: the client's first bytes share the segment with the header.
        stream
            .write_all(&[&header[..], b"hi"].concat())
            .await
            .unwrap();
        assert_eq!(read_line(&mut stream).await, "t1\n");
        assert_eq!(
            read_exactly(&mut stream, claimed.len() + 2).await,
            format!("{claimed}hi")
        );
    }
    // LOCAL (a front proxy's own check) and UNKNOWN keep the real peer.
    for header in [
        v2(true, "127.9.9.9:4444", "127.8.8.8:80", b""),
        b"PROXY UNKNOWN\r\n".to_vec(),
    ] {
        let mut stream = tcp_connect_from(port, CLIENT).await;
        let me = stream.local_addr().unwrap();
        stream
            .write_all(&[&header[..], b"hi"].concat())
            .await
            .unwrap();
        assert_eq!(read_line(&mut stream).await, "t1\n");
        let real = format!("PROXY TCP4 127.0.0.7 127.0.0.1 {} {port}\r\n", me.port());
        assert_eq!(
            read_exactly(&mut stream, real.len() + 2).await,
            format!("{real}hi")
        );
    }
    assert_eq!(target.connections(), 4);
}

/// `source_ip_hash` places by the header's client, not by the front proxy's address: sixteen
/// clients behind one front proxy spread over two targets, each staying on its own. Were the
/// front proxy's address hashed, all sixteen would share one target; a hash that spreads
/// evenly puts all sixteen claimed clients on one of two targets with probability 2 · 2^-16.
#[tokio::test]
async fn source_ip_hash_places_by_the_front_proxys_client() {
    let (t1, t2) = (TcpTarget::start("t1").await, TcpTarget::start("t2").await);
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "source_ip_hash",
        &[t1.addr, t2.addr],
        "accept_proxy_protocol = true",
        "",
    ));
    let mut placed = std::collections::HashMap::new();
    for host in 1..=16u8 {
        for _ in 0..2 {
            let mut stream = tcp_connect_from(port, CLIENT).await;
            let header = format!("PROXY TCP4 127.9.9.{host} 127.8.8.8 4444 80\r\n");
            stream.write_all(header.as_bytes()).await.unwrap();
            let name = read_line(&mut stream).await;
            let first = placed.entry(host).or_insert_with(|| name.clone());
            assert_eq!(*first, name, "127.9.9.{host} moved");
        }
    }
    let used: std::collections::BTreeSet<_> = placed.values().collect();
    assert_eq!(used.len(), 2, "{placed:?}");
}

/// On an HTTP listener the header's client is the one X-Forwarded-For names.
#[tokio::test]
async fn front_proxy_headers_name_the_client_in_x_forwarded_for() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "accept_proxy_protocol = true",
        "",
    ));
    let request = b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for header in [
        b"PROXY TCP4 127.9.9.9 127.8.8.8 4444 80\r\n".to_vec(),
        v2(false, "127.9.9.9:4444", "127.8.8.8:80", b""),
    ] {
        let answer = raw(
            port,
            &[&header[..], request].concat(),
            Duration::from_secs(5),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.contains(r#"["x-forwarded-for","127.9.9.9"]"#),
            "{answer}"
        );
    }
}

/// A `source_ip` rule condition judges the header's client: a claimed client inside the rule's
/// range gets the rule's answer, while a LOCAL header (the real peer, 127.0.0.1) is forwarded.
#[tokio::test]
async fn source_ip_rules_judge_the_front_proxys_client() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let port = free_port();
    let rule = "accept_proxy_protocol = true\n\n[[balancer.listener.rule]]\npriority = 1\n\
                conditions = [ { source_ip = [\"127.9.9.0/24\"] } ]\n\
                action = { fixed_response = { status = 200, content_type = \"text/plain\", \
                body = \"ruled\" } }";
    let _burr = Burr::start(&config(port, "round_robin", &[(backend.addr, 1)], rule, ""));
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let claimed = b"PROXY TCP4 127.9.9.9 127.8.8.8 4444 80\r\n";
    let answer = raw(
        port,
        &[&claimed[..], request].concat(),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.ends_with("ruled<EOF>"), "{answer}");
    let local = v2(true, "127.9.9.9:4444", "127.8.8.8:80", b"");
    let answer = raw(
        port,
        &[&local[..], request].concat(),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.contains(r#""name":"b1""#), "{answer}");
}

/// Headers that do not parse, are too long, come too slowly or are cut short close the
/// connection before any target is asked, each counted by reason.
#[tokio::test]
async fn bad_headers_close_the_connection_and_are_counted() {
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let burr = Burr::start(&tcp_config(
        port,
        "tcp",
        "round_robin",
        &[target.addr],
        "accept_proxy_protocol = true\nheader_read_timeout_secs = 1",
        "",
    ));
    let mut oversize_v2 = v2(false, "127.9.9.9:1", "127.8.8.8:2", b"");
    oversize_v2[14..16].copy_from_slice(&4097u16.to_be_bytes());
    let mut long_v1 = b"PROXY TCP4 ".to_vec();
    long_v1.resize(120, b'1');
    let cases: [(&[u8], &str); 4] = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed"),
        (b"PROXY TCP4 127.9.9.9 127.8.8.8 99999 80\r\n", "malformed"),
        (&oversize_v2, "too_long"),
        (&long_v1, "too_long"),
    ];
    for (bytes, _) in cases {
        let answer = raw(port, bytes, Duration::from_secs(3)).await;
        assert_eq!(answer, "<EOF>", "closed without a word for {bytes:?}");
    }
    // Cut short: the client stops sending halfway.
    let mut stream = tcp_connect_from(port, CLIENT).await;
    stream.write_all(b"PROXY TCP4 127.9").await.unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(
        read_to_close(&mut stream, Duration::from_secs(3))
            .await
            .as_deref(),
        Some("")
    );
    // Too slow: half a header, then nothing until the listener's 1 s header timeout.
    let mut stream = tcp_connect_from(port, CLIENT).await;
    stream.write_all(b"PROXY TCP4 127.9").await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        read_to_close(&mut stream, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("")
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(refused(&burr, port, "malformed"), 2.0);
    assert_eq!(refused(&burr, port, "too_long"), 2.0);
    assert_eq!(refused(&burr, port, "closed"), 1.0);
    assert_eq!(refused(&burr, port, "timeout"), 1.0);
    assert_eq!(target.connections(), 0, "no target was asked");
}

/// Without the option a PROXY line is the client's data: relayed untouched on TCP, a bad
/// request on HTTP.
#[tokio::test]
async fn listeners_without_the_option_leave_a_proxy_line_alone() {
    let target = TcpTarget::start("t1").await;
    let backend = Backend::start("b1", Behavior::default()).await;
    let (tcp_port, http_port) = (free_port(), free_port());
    let config = format!(
        "{}\n[[balancer]]\nname = \"h\"\n\n[[balancer.listener]]\nport = {http_port}\n\
         protocol = \"http\"\npool = \"web\"\n\n[[pool]]\nname = \"web\"\n\
         targets = [ {{ address = \"{}\" }} ]\n\n[pool.health_check]\nenabled = false\n",
        tcp_config(tcp_port, "tcp", "round_robin", &[target.addr], "", ""),
        backend.addr
    );
    let _burr = Burr::start(&config);
    let line = "PROXY TCP4 127.9.9.9 127.8.8.8 4444 80\r\n";
    let mut stream = tcp_connect_from(tcp_port, CLIENT).await;
    stream
        .write_all(format!("{line}hi").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_line(&mut stream).await, "t1\n");
    assert_eq!(
        read_exactly(&mut stream, line.len() + 2).await,
        format!("{line}hi")
    );
    let request = format!("{line}GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = raw(http_port, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(backend.hits(), 0);
}

/// A TLS client behind a front proxy: the header comes in the clear before the handshake, in
/// the same write as the ClientHello (buffered until the handshake's first flush), so burr must
/// leave the hello's bytes in the socket for rustls.
async fn tls_after_header(
    port: u16,
    header: &[u8],
    trusted: &rustls::pki_types::CertificateDer<'static>,
) -> tokio_rustls::client::TlsStream<tokio::io::BufWriter<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = tokio::io::BufWriter::new(tcp_connect_from(port, CLIENT).await);
    tcp.write_all(header).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .expect("a handshake within 5 s")
        .unwrap()
}

/// What the target reads on an ssl listener whose pool sends v2 with every TLV, behind a front
/// proxy: the front proxy's addresses, the server name, a fresh unique id per connection, the
/// TLS facts, and a checksum that holds.
#[tokio::test]
async fn v2_tlvs_reach_the_target_with_the_front_proxys_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(dir.path());
    let target = TcpTarget::start("t1").await;
    let port = free_port();
    let _burr = Burr::start(&tcp_config(
        port,
        "ssl",
        "round_robin",
        &[target.addr],
        &format!(
            "accept_proxy_protocol = true\n\
             tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}"
        ),
        "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2\n\
         proxy_protocol_tlvs = [\"authority\", \"unique_id\", \"ssl\", \"crc32c\"]",
    ));
    let header = b"PROXY TCP4 127.9.9.9 127.8.8.8 4444 443\r\n";
    let mut ids = Vec::new();
    for connection in 0..2 {
        let mut tls = tls_after_header(port, header, &trusted).await;
        assert_eq!(read_line(&mut tls).await, "t1\n");
        tls.write_all(b"hi").await.unwrap();
        tls.flush().await.unwrap();
        // The echo sends back the header too; what matters is what the target read.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !target
            .received_bytes()
            .get(connection)
            .is_some_and(|b| b.ends_with(b"hi"))
        {
            assert!(std::time::Instant::now() < deadline, "the target reads hi");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for bytes in target.received_bytes() {
        let parsed = ppp::v2::Header::try_from(&bytes[..]).expect("a v2 header");
        assert_eq!(&bytes[parsed.len()..], b"hi");
        assert_eq!(parsed.command, ppp::v2::Command::Proxy);
        assert_eq!(parsed.protocol, ppp::v2::Protocol::Stream);
        let ppp::v2::Addresses::IPv4(a) = parsed.addresses else {
            panic!("IPv4 addresses: {:?}", parsed.addresses);
        };
        assert_eq!(a.source_address, Ipv4Addr::new(127, 9, 9, 9));
        assert_eq!(a.source_port, 4444);
        assert_eq!(a.destination_address, Ipv4Addr::new(127, 8, 8, 8));
        assert_eq!(a.destination_port, 443);
        let tlvs: Vec<_> = parsed.tlvs().map(|t| t.expect("a whole TLV")).collect();
        let kinds: Vec<u8> = tlvs.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [0x02, 0x05, 0x20, 0x03]);
        assert_eq!(&tlvs[0].value[..], b"localhost");
        let id = tlvs[1].value.to_vec();
        assert_eq!(id.len(), 32);
        assert!(id.iter().all(u8::is_ascii_hexdigit), "{id:?}");
        ids.push(id);
        // PP2_TYPE_SSL: client = PP2_CLIENT_SSL, verify non-zero (no client certificate), then
        // the version and cipher sub-TLVs.
        let ssl = &tlvs[2].value;
        assert_eq!(ssl[0], 0x01);
        assert_eq!(ssl[1..5], [0, 0, 0, 1]);
        let subs: Vec<_> = ppp::v2::TypeLengthValues::from(&ssl[5..])
            .map(|t| t.expect("a whole sub-TLV"))
            .collect();
        assert_eq!(subs[0].kind, 0x21);
        assert_eq!(&subs[0].value[..], b"TLSv1.3");
        assert_eq!(subs[1].kind, 0x23);
        assert!(subs[1].value.starts_with(b"TLS_"), "{:?}", subs[1].value);
        // PP2_TYPE_CRC32C: over the whole header with the checksum's own bytes zero.
        let mut zeroed = bytes[..parsed.len()].to_vec();
        let at = parsed.len() - 4;
        zeroed[at..].fill(0);
        assert_eq!(
            crc32c::crc32c(&zeroed).to_be_bytes(),
            bytes[at..parsed.len()]
        );
    }
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "each connection has its own id");
}

/// A real HAProxy in front, with `send-proxy` on one server line and `send-proxy-v2` on
/// another: behind either, burr sees the client HAProxy saw.
#[tokio::test]
async fn behind_haproxy_send_proxy_and_send_proxy_v2_burr_sees_the_client() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let port = free_port();
    let _burr = Burr::start(&config(
        port,
        "round_robin",
        &[(backend.addr, 1)],
        "accept_proxy_protocol = true",
        "",
    ));
    let (v1_port, v2_port) = (free_port(), free_port());
    let _haproxy = Haproxy::start(&[
        Frontend {
            listen: v1_port,
            burr_port: port,
            server_options: "send-proxy",
        },
        Frontend {
            listen: v2_port,
            burr_port: port,
            server_options: "send-proxy-v2",
        },
    ]);
    for (front, client) in [
        (v1_port, Ipv4Addr::new(127, 0, 0, 7)),
        (v2_port, Ipv4Addr::new(127, 0, 0, 8)),
    ] {
        let mut stream = tcp_connect_from(front, client).await;
        stream
            .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let want = format!(r#"["x-forwarded-for","{client}"]"#);
        assert!(answer.contains(&want), "{want} in {answer}");
    }
}

/// An HTTP target whose connections begin with a v2 header: records each connection's header
/// and answers every request `200 ok` until the connection closes.
async fn header_recording_http_target() -> (SocketAddr, Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let headers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = headers.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut header = vec![0u8; 16];
                if stream.read_exact(&mut header).await.is_err() {
                    return;
                }
                let length = usize::from(u16::from_be_bytes([header[14], header[15]]));
                header.resize(16 + length, 0);
                if stream.read_exact(&mut header[16..]).await.is_err() {
                    return;
                }
                seen.lock().unwrap().push(header);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                loop {
                    while !head.ends_with(b"\r\n\r\n") {
                        if stream.read_exact(&mut byte).await.is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    head.clear();
                    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, headers)
}

/// Behind an https listener (itself behind a front proxy) the HTTP upstream path sends the same
/// TLVs: the front proxy's client, each upstream connection its own id, the server name the
/// client asked for, and a checksum that holds.
#[tokio::test]
async fn https_listeners_send_tlvs_on_each_upstream_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = write_test_certificate(dir.path());
    let (target, headers) = header_recording_http_target().await;
    let port = free_port();
    let _burr = Burr::start(
        &config(
            port,
            "round_robin",
            &[(target, 1)],
            &format!(
                "accept_proxy_protocol = true\n\
                 tls = {{ certificate = \"{cert}\", private_key = \"{key}\" }}"
            ),
            "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2\n\
             proxy_protocol_tlvs = [\"authority\", \"unique_id\", \"crc32c\"]",
        )
        .replacen("protocol = \"http\"", "protocol = \"https\"", 1),
    );
    for _ in 0..2 {
        let front = b"PROXY TCP4 127.9.9.9 127.8.8.8 4444 443\r\n";
        let mut tls = tls_after_header(port, front, &trusted).await;
        tls.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        tls.flush().await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer)).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    }
    let headers = headers.lock().unwrap().clone();
    assert_eq!(
        headers.len(),
        2,
        "one upstream connection per client connection"
    );
    let mut ids = Vec::new();
    for header in &headers {
        let parsed = ppp::v2::Header::try_from(&header[..]).expect("a v2 header");
        let ppp::v2::Addresses::IPv4(a) = parsed.addresses else {
            panic!("IPv4 addresses: {:?}", parsed.addresses);
        };
        assert_eq!(a.source_address, Ipv4Addr::new(127, 9, 9, 9));
        assert_eq!(a.destination_address, Ipv4Addr::new(127, 8, 8, 8));
        let tlvs: Vec<_> = parsed.tlvs().map(|t| t.expect("a whole TLV")).collect();
        let kinds: Vec<u8> = tlvs.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [0x02, 0x05, 0x03]);
        assert_eq!(&tlvs[0].value[..], b"localhost");
        ids.push(tlvs[1].value.to_vec());
        let mut zeroed = header.clone();
        let at = header.len() - 4;
        zeroed[at..].fill(0);
        assert_eq!(crc32c::crc32c(&zeroed).to_be_bytes(), header[at..]);
    }
    assert_ne!(ids[0], ids[1]);
}
