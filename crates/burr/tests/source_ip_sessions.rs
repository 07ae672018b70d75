//! Source-IP sessions on TCP listeners with the Huawei ELB semantics, through the real binary on
//! a manual clock: a session lasts its persistence timeout after the client's last connection
//! (a connection longer than the timeout keeps it), moves when its target fails and stays moved
//! when the target returns, lapses to the hash's choice after the timeout, survives a live
//! change of targets, weights and timeout, and new clients spread within the placement bound.
//! The algorithm constraint is refused at start-up with a clear error.

mod common;

use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Opens a connection from `source`; the target's name and the open stream.
async fn open_from(port: u16, source: Ipv4Addr) -> (TcpStream, String) {
    let mut stream = tcp_connect_from(port, source).await;
    let name = read_line(&mut stream).await;
    (stream, name.trim_end().to_string())
}

/// Closes `stream` as a client does (half-close, the target's `<eof>` answer, then the close).
async fn close(mut stream: TcpStream) {
    stream.shutdown().await.unwrap();
    read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the relay ends");
}

/// Which target a new connection from `source` reaches (closing it again).
async fn lands_on(port: u16, source: Ipv4Addr) -> String {
    let (stream, name) = open_from(port, source).await;
    close(stream).await;
    name
}

/// Live source-IP sessions burr holds on the target at `addr`.
fn sessions_on(burr: &Burr, addr: SocketAddr) -> f64 {
    let sample = format!("burr_target_sticky_sessions{{pool=\"p\",target=\"{addr}\"}}");
    metric(&burr.metrics(), &sample).unwrap_or(0.0)
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn config_for(port: u16, targets: &[(SocketAddr, u32)], persistence_secs: u32) -> String {
    config(
        port,
        "weighted_round_robin",
        targets,
        "",
        &format!(
            "[pool.stickiness]\ntype = \"source_ip\"\nduration_secs = {persistence_secs}\n\n\
             [pool.draining]\nderegistration_delay_secs = 0\n"
        ),
    )
    .replacen("protocol = \"http\"", "protocol = \"tcp\"", 1)
}

/// Two targets and a burr on a manual clock whose session for [`CLIENT`] has moved off the
/// hash's choice: the hashed target was stopped (the connection re-pinned) and started again.
/// Returns burr, the port, the targets (hashed first) and the clock after the move.
async fn a_moved_session(
    persistence_secs: u32,
) -> (Burr, u16, [TcpTarget; 2], [SocketAddr; 2], u64) {
    let (a, b) = (TcpTarget::start("a").await, TcpTarget::start("b").await);
    let port = free_port();
    let burr = Burr::start_with_manual_clock(&config_for(
        port,
        &[(a.addr, 1), (b.addr, 1)],
        persistence_secs,
    ));
    let home = lands_on(port, CLIENT).await;
    let (hashed, other) = if home == "a" { (a, b) } else { (b, a) };
    let addrs = [hashed.addr, other.addr];
    hashed.stop().await;
    // The session's target refuses: the connection goes to the other one, and so does the
    // session.
    assert_eq!(lands_on(port, CLIENT).await, other.name);
    let hashed = TcpTarget::start_at(&hashed.name, addrs[0]).await;
    // Past the passive-down mark (10 s) of the refused target, well within the session.
    let now = burr.advance_clock(Duration::from_secs(20));
    assert_eq!(
        lands_on(port, CLIENT).await,
        other.name,
        "the session stays where it moved once its first target is back"
    );
    (burr, port, [hashed, other], addrs, now)
}

#[tokio::test]
async fn a_moved_session_stays_until_its_persistence_timeout_after_the_last_connection() {
    let (burr, port, [hashed, other], _, _) = a_moved_session(60).await;
    burr.advance_clock(Duration::from_secs(59));
    assert_eq!(
        lands_on(port, CLIENT).await,
        other.name,
        "59 s after the last"
    );
    burr.advance_clock(Duration::from_secs(60));
    assert_eq!(
        lands_on(port, CLIENT).await,
        hashed.name,
        "60 s after the last connection the session lapsed: placed by the hash again"
    );
    let metrics = burr.metrics();
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"expired\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &metrics,
            "burr_sticky_decisions_total{pool=\"p\",reason=\"target_down\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_connection_longer_than_the_timeout_keeps_its_session() {
    let (burr, port, [_hashed, other], addrs, _) = a_moved_session(60).await;
    let (held, name) = open_from(port, CLIENT).await;
    assert_eq!(name, other.name);
    // Open for two timeouts: the session would have lapsed had it been measured from the
    // connection's start.
    burr.advance_clock(Duration::from_secs(120));
    assert_eq!(sessions_on(&burr, addrs[1]), 0.0, "lapsed while open");
    close(held).await;
    // The relay renews the session when it ends, just after the client saw the close.
    assert!(
        eventually(Duration::from_secs(5), || sessions_on(&burr, addrs[1])
            == 1.0)
        .await,
        "the session was not renewed"
    );
    burr.advance_clock(Duration::from_secs(59));
    assert_eq!(lands_on(port, CLIENT).await, other.name);
}

#[tokio::test]
async fn live_changes_keep_connections_and_sessions_on_their_targets() {
    let (burr, port, [hashed, other], addrs, _) = a_moved_session(60).await;
    let (mut held, name) = open_from(port, CLIENT).await;
    assert_eq!(name, other.name);
    // A third target, new weights and a longer persistence timeout, in one change.
    let third = TcpTarget::start("c").await;
    burr.reload(&config_for(
        port,
        &[(addrs[0], 5), (addrs[1], 1), (third.addr, 3)],
        120,
    ));
    held.write_all(b"still here\n").await.unwrap();
    assert_eq!(read_line(&mut held).await, "still here\n");
    assert_eq!(sessions_on(&burr, addrs[1]), 1.0, "the session was kept");
    // Between the old timeout and the new one (the held connection still open, so its close
    // has not renewed anything): the session lives by the new timeout.
    burr.advance_clock(Duration::from_secs(100));
    assert_eq!(lands_on(port, CLIENT).await, other.name);
    close(held).await;
    assert_eq!(
        hashed.connections(),
        0,
        "nothing reached the restarted hashed target"
    );
    // Removing the session's target moves it (and only then).
    burr.reload(&config_for(port, &[(addrs[0], 1), (third.addr, 1)], 120));
    let moved = lands_on(port, CLIENT).await;
    assert_ne!(moved, other.name);
    burr.advance_clock(Duration::from_secs(30));
    assert_eq!(lands_on(port, CLIENT).await, moved, "and stays moved");
}

/// New clients are placed by the consistent hash bounded by sessions per weight: no target
/// ends above share + max(1%, √share) of the clients, whatever the hash's own spread.
#[tokio::test]
async fn new_clients_spread_by_weight_within_the_bound() {
    let targets = [
        TcpTarget::start("heavy").await,
        TcpTarget::start("light1").await,
        TcpTarget::start("light2").await,
    ];
    let weights = [2u32, 1, 1];
    let port = free_port();
    let list: Vec<(SocketAddr, u32)> = targets.iter().map(|t| t.addr).zip(weights).collect();
    let _burr = Burr::start_with_manual_clock(&config_for(port, &list, 600));
    const CLIENTS: u32 = 800;
    let mut counts = std::collections::HashMap::<String, u32>::new();
    for c in 0..CLIENTS {
        let source = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 3, 0, 1)) + c);
        *counts.entry(lands_on(port, source).await).or_default() += 1;
    }
    for (target, weight) in targets.iter().zip(weights) {
        let share = f64::from(CLIENTS * weight) / 4.0;
        let bound = share + (0.01 * share).max(share.sqrt());
        let count = f64::from(counts.get(&target.name).copied().unwrap_or(0));
        assert!(
            count <= bound,
            "{}: {count} > {bound} ({counts:?})",
            target.name
        );
    }
}

#[test]
fn source_ip_stickiness_refuses_algorithms_that_define_no_bound() {
    for algorithm in ["random", "least_outstanding_requests", "source_ip_hash"] {
        let config = config(
            free_port(),
            algorithm,
            &[("127.0.0.1:9".parse().unwrap(), 1)],
            "",
            "[pool.stickiness]\ntype = \"source_ip\"\n",
        )
        .replacen("protocol = \"http\"", "protocol = \"tcp\"", 1);
        let error = match Burr::try_start(&config, &[]) {
            Ok(_) => panic!("{algorithm} was accepted"),
            Err(e) => e,
        };
        assert!(
            error.contains("pool \"p\"") || error.contains("stickiness.type"),
            "{error}"
        );
        assert!(error.contains(algorithm), "{error}");
        assert!(error.contains("weighted_least_connections"), "{error}");
    }
}
