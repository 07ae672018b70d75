//! UDP and TCP_UDP listeners: one flow per client address and port, relayed to one target over
//! its own socket, replies from the listener's address; datagram boundaries and order kept;
//! idle expiry on the manual clock; the flow cap; ICMP failover; source-IP sessions; PROXY v2
//! datagram headers; live changes that leave flows on their targets.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

fn addrs(targets: &[UdpTarget]) -> Vec<SocketAddr> {
    targets.iter().map(|t| t.addr).collect()
}

fn udp_metric(burr: &Burr, series: &str) -> f64 {
    let name = series.split('{').next().unwrap_or(series);
    let labels = series.split_once('{').map_or(String::new(), |(_, l)| {
        format!(",{}", l.trim_end_matches('}'))
    });
    let full = format!(
        "{name}{{balancer=\"t\",port=\"{}\"{labels}}}",
        burr_port(burr)
    );
    metric(&burr.metrics(), &full).unwrap_or(-1.0)
}

/// The listener port of balancer `t` (each test has one listener).
fn burr_port(burr: &Burr) -> u16 {
    let config = std::fs::read_to_string(&burr.config).unwrap();
    config
        .lines()
        .find_map(|l| l.strip_prefix("port = "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn thousands_of_source_ports_each_keep_one_target_in_order_without_loss() {
    let targets = udp_targets(3).await;
    let port = free_udp_port();
    let burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "",
    ));
    const CLIENTS: usize = 2_000;
    let mut clients = Vec::with_capacity(CLIENTS);
    let mut homes = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let client = udp_client(port, CLIENT).await;
        homes.push(udp_target_of(&client, &format!("c{i} first")).await);
        clients.push(client);
    }
    // Round robin spreads new flows evenly: 2,000 over 3 is 667, 667, 666.
    let mut spread: BTreeMap<&str, usize> = BTreeMap::new();
    for home in &homes {
        *spread.entry(home.as_str()).or_default() += 1;
    }
    assert_eq!(
        spread.values().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([666, 667]),
        "{spread:?}"
    );
    // Every flow keeps its target; bursts of 8 datagrams arrive whole and in order.
    const BURST: usize = 8;
    for (i, client) in clients.iter().enumerate().step_by(10) {
        for k in 0..BURST {
            client.send(format!("c{i} #{k}").as_bytes()).await.unwrap();
        }
        for k in 0..BURST {
            let answer = udp_receive(client, Duration::from_secs(2))
                .await
                .unwrap_or_else(|| panic!("client {i} lost datagram {k}"));
            assert_eq!(
                String::from_utf8_lossy(&answer),
                format!("{} c{i} #{k}", homes[i])
            );
        }
    }
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(udp_target_of(client, &format!("c{i} last")).await, homes[i]);
    }
    // Each target saw each of its flows' datagrams in the order sent, from one flow socket.
    for target in &targets {
        let mut by_flow: HashMap<SocketAddr, Vec<String>> = HashMap::new();
        for (from, bytes) in target.received() {
            by_flow
                .entry(from)
                .or_default()
                .push(String::from_utf8(bytes).unwrap());
        }
        for datagrams in by_flow.values() {
            let client = datagrams[0].split(' ').next().unwrap();
            assert!(
                datagrams
                    .iter()
                    .all(|d| d.split(' ').next() == Some(client))
            );
            assert_eq!(datagrams.first().unwrap(), &format!("{client} first"));
            assert_eq!(datagrams.last().unwrap(), &format!("{client} last"));
            let burst: Vec<&String> = datagrams.iter().filter(|d| d.contains('#')).collect();
            for (k, d) in burst.iter().enumerate() {
                assert_eq!(**d, format!("{client} #{k}"));
            }
        }
    }
    let sent = (CLIENTS * 2 + CLIENTS / 10 * BURST) as f64;
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), CLIENTS as f64);
    assert_eq!(
        udp_metric(&burr, "burr_udp_flows_created_total"),
        CLIENTS as f64
    );
    assert_eq!(
        udp_metric(&burr, "burr_udp_datagrams_total{direction=\"to_target\"}"),
        sent
    );
    assert_eq!(
        udp_metric(&burr, "burr_udp_datagrams_total{direction=\"to_client\"}"),
        sent
    );
    // A live flow counts as an open connection on its target (least_connections reads it).
    let metrics = burr.metrics();
    for target in &targets {
        let open = metric(
            &metrics,
            &format!(
                "burr_target_active_connections{{pool=\"p\",target=\"{}\"}}",
                target.addr
            ),
        );
        assert_eq!(
            open,
            Some(spread[target.name.as_str()] as f64),
            "{}",
            target.name
        );
    }
}

#[tokio::test]
async fn datagrams_of_65507_bytes_pass_whole_both_ways_and_oversized_ones_are_counted() {
    let targets = udp_targets(1).await;
    let port = free_udp_port();
    let burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "",
    ));
    let client = udp_client(port, CLIENT).await;
    let big: Vec<u8> = (0..MAX_DATAGRAM).map(|i| (i % 251) as u8).collect();
    client.send(&big).await.unwrap();
    // Too big for the target's "<name> " prefix: it echoes the payload alone.
    let answer = udp_receive(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(answer.len(), MAX_DATAGRAM);
    assert!(answer == big, "the datagram changed on the way");
    assert_eq!(targets[0].received()[0].1, big);
    assert_eq!(udp_target_of(&client, "small").await, "t1");
    assert_eq!(
        udp_metric(&burr, "burr_udp_dropped_total{reason=\"too_large\"}"),
        0.0
    );
    assert_eq!(
        udp_metric(&burr, "burr_udp_bytes_total{direction=\"to_target\"}"),
        (MAX_DATAGRAM + 5) as f64
    );
}

#[tokio::test]
async fn a_flow_idle_past_its_timeout_on_the_rule_clock_is_replaced_and_a_busy_one_stays() {
    let targets = udp_targets(3).await;
    let port = free_udp_port();
    let burr = Burr::start_with_manual_clock(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "flow_idle_timeout_secs = 10",
        "",
    ));
    let quiet = udp_client(port, CLIENT).await;
    let busy = udp_client(port, CLIENT).await;
    let quiet_home = udp_target_of(&quiet, "q1").await;
    let busy_home = udp_target_of(&busy, "b1").await;
    assert_ne!(quiet_home, busy_home, "round robin");
    burr.advance_clock(Duration::from_secs(5));
    assert_eq!(udp_target_of(&busy, "b2").await, busy_home);
    // The quiet flow is now 11 s idle, the busy one 6 s.
    burr.advance_clock(Duration::from_secs(6));
    assert!(
        eventually(Duration::from_secs(5), || udp_metric(
            &burr,
            "burr_udp_flows_evicted_total{reason=\"idle\"}"
        ) == 1.0)
        .await,
        "{}",
        burr.metrics()
    );
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), 1.0);
    assert_eq!(udp_target_of(&busy, "b3").await, busy_home);
    // A new flow for the quiet client: round robin's third pick is the third target.
    let moved = udp_target_of(&quiet, "q2").await;
    assert!(moved != quiet_home && moved != busy_home, "{moved}");
    assert_eq!(udp_metric(&burr, "burr_udp_flows_created_total"), 3.0);
    // No real time passes on the rule clock: nothing else expires.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), 2.0);
}

#[tokio::test]
async fn past_max_flows_the_flow_idle_the_longest_is_evicted_and_a_flood_stays_bounded() {
    let targets = udp_targets(2).await;
    let port = free_udp_port();
    let burr = Burr::start_with_manual_clock(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "max_flows = 3",
        "",
    ));
    let mut clients = Vec::new();
    let mut homes = Vec::new();
    for i in 0..3 {
        let client = udp_client(port, CLIENT).await;
        homes.push(udp_target_of(&client, &format!("c{i}")).await);
        clients.push(client);
    }
    // c0 speaks again: c1 is now the flow idle the longest.
    assert_eq!(udp_target_of(&clients[0], "c0 again").await, homes[0]);
    let fourth = udp_client(port, CLIENT).await;
    udp_target_of(&fourth, "c3").await;
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), 3.0);
    assert_eq!(
        udp_metric(&burr, "burr_udp_flows_evicted_total{reason=\"cap\"}"),
        1.0
    );
    // c0 and c2 kept their flows (no new flow is created for them) ...
    assert_eq!(udp_target_of(&clients[0], "c0 third").await, homes[0]);
    assert_eq!(udp_target_of(&clients[2], "c2 again").await, homes[2]);
    assert_eq!(udp_metric(&burr, "burr_udp_flows_created_total"), 4.0);
    // ... c1 did not: its next datagram opens a new flow.
    udp_target_of(&clients[1], "c1 again").await;
    assert_eq!(udp_metric(&burr, "burr_udp_flows_created_total"), 5.0);
    assert_eq!(
        udp_metric(&burr, "burr_udp_flows_evicted_total{reason=\"cap\"}"),
        2.0
    );
    // A flood of new source ports never holds more than the cap: flows and descriptors.
    let descriptors = || {
        std::fs::read_dir(format!("/proc/{}/fd", burr.pid()))
            .unwrap()
            .count()
    };
    let before = descriptors();
    const FLOOD: usize = 300;
    // Every flood client is kept open to the end, so each has a source port of its own: a
    // closed one's port could be handed to a later client, which would then find a live flow
    // instead of making one.
    let mut flood = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let client = udp_client(port, CLIENT).await;
        udp_target_of(&client, &format!("flood {i}")).await;
        flood.push(client);
    }
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), 3.0);
    assert_eq!(
        udp_metric(&burr, "burr_udp_flows_evicted_total{reason=\"cap\"}"),
        2.0 + FLOOD as f64
    );
    // An evicted flow's socket closes when the runtime drops its aborted task, just after the
    // eviction; and the metrics scrape above holds a descriptor of its own for a moment.
    assert!(
        eventually(Duration::from_secs(2), || descriptors() <= before).await,
        "{} > {before}",
        descriptors()
    );
}

#[tokio::test]
async fn an_icmp_unreachable_moves_the_flow_and_the_source_ip_session_stays_moved() {
    let targets = udp_targets(2).await;
    let port = free_udp_port();
    let burr = Burr::start_with_manual_clock(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "[pool.stickiness]\ntype = \"source_ip\"",
    ));
    let source = Ipv4Addr::new(127, 0, 0, 2);
    let client = udp_client(port, source).await;
    let home = udp_target_of(&client, "before").await;
    let (down, other) = if targets[0].name == home {
        (&targets[0], &targets[1])
    } else {
        (&targets[1], &targets[0])
    };
    down.stop().await;
    // The datagram that meets the closed port is lost (UDP); the ICMP unreachable it draws ends
    // the flow at once, without waiting for the client's next datagram ...
    client.send(b"lost").await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            udp_metric(
                &burr,
                "burr_udp_flows_evicted_total{reason=\"target_unreachable\"}",
            ) == 1.0
        })
        .await,
        "{}",
        burr.metrics()
    );
    assert_eq!(udp_metric(&burr, "burr_udp_open_flows"), 0.0);
    // ... and the next one opens a flow on the other target.
    assert_eq!(udp_target_of(&client, "moved").await, other.name);
    // The first target comes back and its passive-down mark lapses: the session stays moved,
    // for this flow and for new ones from the same address.
    let _back = UdpTarget::start_at(&down.name, down.addr).await;
    burr.advance_clock(Duration::from_secs(11));
    assert_eq!(udp_target_of(&client, "after").await, other.name);
    for i in 0..3 {
        let again = udp_client(port, source).await;
        assert_eq!(
            udp_target_of(&again, &format!("new port {i}")).await,
            other.name
        );
    }
}

#[tokio::test]
async fn source_ip_sessions_keep_an_address_on_one_target_and_spread_addresses() {
    let targets = udp_targets(3).await;
    let port = free_udp_port();
    let _burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "[pool.stickiness]\ntype = \"source_ip\"",
    ));
    let mut placed = BTreeMap::new();
    for host in 2..14u8 {
        let source = Ipv4Addr::new(127, 0, 0, host);
        let mut names = BTreeSet::new();
        // Round robin alone would rotate these ports over the targets.
        for port_index in 0..4 {
            let client = udp_client(port, source).await;
            names.insert(udp_target_of(&client, &format!("{host}/{port_index}")).await);
        }
        assert_eq!(names.len(), 1, "{source}: {names:?}");
        placed.insert(host, names.into_iter().next().unwrap());
    }
    // New addresses are placed by hash: all twelve on one of three targets has probability
    // 3 · 3^-12 ≈ 6e-6 for a uniform hash.
    let used: BTreeSet<_> = placed.values().collect();
    assert!(used.len() >= 2, "every address on one target: {placed:?}");
}

#[tokio::test]
async fn proxy_v2_headers_begin_every_datagram_and_count_against_its_size() {
    let targets = udp_targets(1).await;
    let port = free_udp_port();
    let burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2",
    ));
    let client = udp_client(port, Ipv4Addr::new(127, 0, 0, 5)).await;
    let client_port = client.local_addr().unwrap().port();
    for payload in ["one", "two"] {
        client.send(payload.as_bytes()).await.unwrap();
        udp_receive(&client, Duration::from_secs(2)).await.unwrap();
    }
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend_from_slice(&[0x21, 0x12, 0x00, 0x0c]); // v2 PROXY, IPv4 DGRAM, 12 bytes
    header.extend_from_slice(&[127, 0, 0, 5, 127, 0, 0, 1]);
    header.extend_from_slice(&client_port.to_be_bytes());
    header.extend_from_slice(&port.to_be_bytes());
    let received = targets[0].received();
    assert_eq!(received.len(), 2);
    for ((_, bytes), payload) in received.iter().zip(["one", "two"]) {
        assert_eq!(bytes[..header.len()], header[..]);
        assert_eq!(&bytes[header.len()..], payload.as_bytes());
    }
    // 65,507 bytes of payload no longer fit behind the header: dropped and counted, and the
    // flow goes on.
    client.send(&vec![7u8; MAX_DATAGRAM]).await.unwrap();
    let answer = udp_ask(&client, "three").await.unwrap();
    assert!(
        answer.starts_with("t1 \r\n\r\n") && answer.ends_with("three"),
        "{answer:?}"
    );
    assert_eq!(
        udp_metric(&burr, "burr_udp_dropped_total{reason=\"too_large\"}"),
        1.0
    );
    assert_eq!(targets[0].received().len(), 3);
}

/// `unique_id` and `crc32c` TLVs on datagrams (read with `ppp` as an independent parser): one id
/// per flow, the same on each of its datagrams, another for another flow; `authority` and `ssl`
/// are left out (no TLS on a UDP listener).
#[tokio::test]
async fn proxy_v2_tlvs_name_the_flow_on_every_datagram() {
    let targets = udp_targets(1).await;
    let port = free_udp_port();
    let _burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "[pool.upstream]\nproxy_protocol = true\nproxy_protocol_version = 2\n\
         proxy_protocol_tlvs = [\"authority\", \"unique_id\", \"ssl\", \"crc32c\"]",
    ));
    let source = Ipv4Addr::new(127, 0, 0, 6);
    let (first, second) = (
        udp_client(port, source).await,
        udp_client(port, source).await,
    );
    for (client, payload) in [(&first, "a"), (&first, "b"), (&second, "c")] {
        client.send(payload.as_bytes()).await.unwrap();
        udp_receive(client, Duration::from_secs(2)).await.unwrap();
    }
    let mut ids = Vec::new();
    for ((_, bytes), payload) in targets[0].received().iter().zip(["a", "b", "c"]) {
        let parsed = ppp::v2::Header::try_from(&bytes[..]).expect("a v2 header");
        assert_eq!(&bytes[parsed.len()..], payload.as_bytes());
        assert_eq!(parsed.protocol, ppp::v2::Protocol::Datagram);
        let tlvs: Vec<_> = parsed.tlvs().map(|t| t.expect("a whole TLV")).collect();
        let kinds: Vec<u8> = tlvs.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [0x05, 0x03], "unique_id, then the checksum");
        ids.push(tlvs[0].value.to_vec());
        let mut zeroed = bytes[..parsed.len()].to_vec();
        let at = parsed.len() - 4;
        zeroed[at..].fill(0);
        assert_eq!(
            crc32c::crc32c(&zeroed).to_be_bytes(),
            bytes[at..parsed.len()]
        );
    }
    assert_eq!(ids[0], ids[1], "one flow, one id");
    assert_ne!(ids[0], ids[2], "another flow, another id");
}

#[tokio::test]
async fn live_changes_keep_flows_on_their_targets_until_a_removed_one_drains() {
    let targets = udp_targets(3).await;
    let (t1, t2, t3) = (targets[0].addr, targets[1].addr, targets[2].addr);
    let port = free_udp_port();
    let config = |list: &[(SocketAddr, u32)], pool: &str| {
        config(port, "round_robin", list, "", pool).replacen(
            "protocol = \"http\"",
            "protocol = \"udp\"",
            1,
        )
    };
    let burr = Burr::start_with_manual_clock(&config(&[(t1, 1), (t2, 1)], ""));
    let mut clients = Vec::new();
    let mut homes = Vec::new();
    for i in 0..20 {
        let client = udp_client(port, CLIENT).await;
        homes.push(udp_target_of(&client, &format!("c{i}")).await);
        clients.push(client);
    }
    let check = |label: &'static str| {
        let (clients, homes) = (&clients, &homes);
        async move {
            for (i, (client, home)) in clients.iter().zip(homes).enumerate() {
                assert_eq!(&udp_target_of(client, &format!("c{i} {label}")).await, home);
            }
        }
    };
    // A target added, weights changed, source-IP stickiness turned on, then its persistence
    // timeout changed: every flow stays where it is.
    burr.reload_async(&config(&[(t1, 5), (t2, 1), (t3, 2)], ""))
        .await;
    check("after add").await;
    let sticky = "[pool.stickiness]\ntype = \"source_ip\"\nduration_secs = 600";
    burr.reload_async(&config(&[(t1, 5), (t2, 1), (t3, 2)], sticky))
        .await;
    check("after stickiness").await;
    let sticky = "[pool.stickiness]\ntype = \"source_ip\"\nduration_secs = 1200";
    burr.reload_async(&config(&[(t1, 1), (t2, 3), (t3, 2)], sticky))
        .await;
    check("after persistence").await;
    assert_eq!(udp_metric(&burr, "burr_udp_flows_created_total"), 20.0);
    // t2 deregistered: its flows go on until the drain deadline, then end.
    let draining = "[pool.draining]\nderegistration_delay_secs = 30";
    burr.reload_async(&config(&[(t1, 1), (t3, 2)], draining))
        .await;
    check("while draining").await;
    let on_t2 = homes.iter().filter(|h| *h == "t2").count();
    assert!(on_t2 > 0);
    burr.advance_clock(Duration::from_secs(31));
    assert!(
        eventually(Duration::from_secs(5), || {
            udp_metric(&burr, "burr_udp_flows_evicted_total{reason=\"drained\"}") == on_t2 as f64
        })
        .await,
        "{}",
        burr.metrics()
    );
    for (i, (client, home)) in clients.iter().zip(&homes).enumerate() {
        let now = udp_target_of(client, &format!("c{i} drained")).await;
        if home == "t2" {
            assert_ne!(now, "t2");
        } else {
            assert_eq!(&now, home);
        }
    }
}

#[tokio::test]
async fn a_tcp_udp_listener_relays_connections_and_datagrams_on_one_port() {
    let tcp = TcpTarget::start("t1").await;
    // The UDP side of the same target: same address and port.
    let udp = UdpTarget::start_at("t1", tcp.addr).await;
    let port = free_udp_port();
    let _burr = Burr::start(&udp_config(
        port,
        "tcp_udp",
        "round_robin",
        &[tcp.addr],
        "max_flows = 10",
        "",
    ));
    let mut stream = tcp_connect_from(port, CLIENT).await;
    assert_eq!(read_line(&mut stream).await, "t1\n");
    let client = udp_client(port, CLIENT).await;
    assert_eq!(udp_target_of(&client, "datagram").await, "t1");
    assert_eq!(udp.received().len(), 1);
}

#[tokio::test]
async fn a_udp_port_that_cannot_be_bound_fails_the_change_and_changes_nothing() {
    let targets = udp_targets(1).await;
    let port = free_udp_port();
    let burr = Burr::start(&udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "",
        "",
    ));
    let taken = std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let generation = burr.generation();
    // A second balancer whose udp listener's port is held by another socket.
    let more = format!(
        "{}\n[[balancer]]\nname = \"u\"\n\n[[balancer.listener]]\nport = {taken_port}\n\
         protocol = \"udp\"\npool = \"p\"\n",
        std::fs::read_to_string(&burr.config).unwrap()
    );
    std::fs::write(&burr.config, more).unwrap();
    unsafe {
        libc::kill(burr.pid(), libc::SIGHUP);
    }
    assert!(
        eventually(Duration::from_secs(5), || burr.stderr_text().contains(
            &format!(
                "balancer \"u\" listener {taken_port}: cannot listen on 127.0.0.1:{taken_port}"
            )
        ))
        .await,
        "{}",
        burr.stderr_text()
    );
    assert_eq!(burr.generation(), generation);
    let client = udp_client(port, CLIENT).await;
    assert_eq!(udp_target_of(&client, "still").await, "t1");
}

#[tokio::test]
async fn a_removed_listener_ends_its_flows_and_frees_its_port_at_once() {
    let targets = udp_targets(1).await;
    let port = free_udp_port();
    let udp = udp_config(
        port,
        "udp",
        "round_robin",
        &addrs(&targets),
        "flow_idle_timeout_secs = 10",
        "",
    );
    let burr = Burr::start_with_manual_clock(&udp);
    let client = udp_client(port, CLIENT).await;
    assert_eq!(udp_target_of(&client, "before").await, "t1");
    // The pool stays, the listener goes (the balancer keeps a tcp listener on another port).
    let without = udp
        .replacen(
            &format!("port = {port}\nprotocol = \"udp\""),
            &format!("port = {}\nprotocol = \"tcp\"", free_port()),
            1,
        )
        .replacen(
            "[balancer.listener.udp]\nflow_idle_timeout_secs = 10",
            "",
            1,
        );
    assert_ne!(without, udp);
    burr.reload_async(&without).await;
    client.send(b"after").await.unwrap();
    assert_eq!(udp_receive(&client, Duration::from_millis(300)).await, None);
    assert_eq!(targets[0].received().len(), 1);
    // Its flow ended with it, so the port is free without waiting for the flow's idle timeout
    // (the manual clock does not move).
    assert!(
        eventually(Duration::from_secs(5), || std::net::UdpSocket::bind((
            "127.0.0.1",
            port
        ))
        .is_ok())
        .await,
        "the port stayed bound"
    );
}
