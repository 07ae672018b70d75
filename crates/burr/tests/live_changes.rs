//! Configuration changes applied with SIGHUP while traffic flows: targets and listeners come and
//! go without a restart, established connections keep working, and a bad file changes nothing.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::Duration;

fn two_listeners(port_a: u16, port_b: u16, targets: &[(SocketAddr, u32)]) -> String {
    let mut text = config(port_a, "round_robin", targets, "", "");
    text = text.replacen(
        "[[pool]]",
        &format!(
            "[[balancer.listener]]\nport = {port_b}\nprotocol = \"http\"\npool = \"p\"\n\n[[pool]]"
        ),
        1,
    );
    text
}

#[tokio::test]
async fn targets_change_live_and_open_connections_survive() {
    let b1 = Backend::start("b1", Behavior::default()).await;
    let b2 = Backend::start("b2", Behavior::default()).await;
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(b1.addr, 1)], "", ""));
    let mut client = Client::connect(port).await;
    assert_eq!(client.get("/", &[]).await.backend(), "b1");

    // Add b2 and remove b1: the same client connection now reaches only b2.
    burr.reload(&config(port, "round_robin", &[(b2.addr, 1)], "", ""));
    for _ in 0..5 {
        let a = client.get("/", &[]).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.backend(), "b2");
    }
    assert!(!client.is_closed());
    let b1_hits = b1.hits();
    burr.reload(&config(
        port,
        "round_robin",
        &[(b1.addr, 1), (b2.addr, 1)],
        "",
        "",
    ));
    let mut names: Vec<String> = Vec::new();
    for _ in 0..4 {
        names.push(client.get("/", &[]).await.backend());
    }
    names.sort();
    assert_eq!(names, ["b1", "b1", "b2", "b2"]);
    assert_eq!(b1.hits(), b1_hits + 2);
}

#[tokio::test]
async fn a_request_in_flight_completes_across_a_reload() {
    let slow = Backend::start(
        "slow",
        Behavior {
            delay: Duration::from_millis(1500),
            ..Default::default()
        },
    )
    .await;
    let other = Backend::start("other", Behavior::default()).await;
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(slow.addr, 1)], "", ""));
    let in_flight = tokio::spawn(async move { get(port, "/slow").await });
    while slow.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    burr.reload(&config(port, "round_robin", &[(other.addr, 1)], "", ""));
    let a = in_flight.await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.backend(), "slow");
    assert_eq!(get(port, "/").await.backend(), "other");
}

#[tokio::test]
async fn listeners_are_added_and_removed_without_dropping_connections() {
    let b = Backend::start("b", Behavior::default()).await;
    let (port_a, port_b) = (free_port(), free_port());
    let burr = Burr::start(&config(port_a, "round_robin", &[(b.addr, 1)], "", ""));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port_b))
            .await
            .is_err()
    );

    burr.reload(&two_listeners(port_a, port_b, &[(b.addr, 1)]));
    let mut on_b = Client::connect(port_b).await;
    assert_eq!(on_b.get("/", &[]).await.status, 200);

    // Remove listener B: new connections are refused, the open one still works.
    burr.reload(&config(port_a, "round_robin", &[(b.addr, 1)], "", ""));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port_b))
            .await
            .is_err(),
        "removed listener still accepts"
    );
    assert_eq!(
        on_b.get("/", &[]).await.status,
        200,
        "established connection dropped"
    );
    assert_eq!(get(port_a, "/").await.status, 200);
}

#[tokio::test]
async fn an_invalid_reload_changes_nothing() {
    let b = Backend::start("b", Behavior::default()).await;
    let port = free_port();
    let mut burr = Burr::start(&config(port, "round_robin", &[(b.addr, 1)], "", ""));
    let generation = burr.generation();
    std::fs::write(
        &burr.config,
        config(port, "round_robin", &[(b.addr, 5000)], "", ""),
    )
    .unwrap();
    unsafe {
        libc::kill(burr.pid(), libc::SIGHUP);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !burr.stderr_text().contains("reload refused") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = burr.stderr_text();
    assert!(log.contains("reload refused, nothing changed"), "{log}");
    assert!(
        log.contains("weight: 5000 is not allowed: must be between 0 and 1000"),
        "{log}"
    );
    assert_eq!(burr.generation(), generation);
    assert!(burr.is_running());
    assert_eq!(get(port, "/").await.status, 200);
}

#[tokio::test]
async fn a_reload_onto_a_taken_port_is_refused_whole() {
    let b = Backend::start("b", Behavior::default()).await;
    let (port_a, taken) = (free_port(), free_port());
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", taken)).unwrap();
    let other = Backend::start("other", Behavior::default()).await;
    let burr = Burr::start(&config(port_a, "round_robin", &[(b.addr, 1)], "", ""));
    let generation = burr.generation();
    // The new file both changes the target and adds a listener on a taken port: neither applies.
    std::fs::write(
        &burr.config,
        two_listeners(port_a, taken, &[(other.addr, 1)]),
    )
    .unwrap();
    unsafe {
        libc::kill(burr.pid(), libc::SIGHUP);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !burr.stderr_text().contains("reload refused") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        burr.stderr_text()
            .contains(&format!("cannot listen on 127.0.0.1:{taken}")),
        "{}",
        burr.stderr_text()
    );
    assert_eq!(burr.generation(), generation);
    assert_eq!(get(port_a, "/").await.backend(), "b");
}
