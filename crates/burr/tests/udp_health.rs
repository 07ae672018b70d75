//! UDP health checks through the real binary: a udp listener's pool checked with
//! `protocol = "udp"` over UDP targets on loopback that answer with the expected bytes, answer
//! with other bytes, and answer until their socket closes (the kernel then answers the probe with
//! ICMP port unreachable). Health states and recorded failure reasons are read from the binary's
//! metrics; the checks run on real time (5 s, the shortest interval), so the test takes about
//! 15 s.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// A UDP target on loopback answering every datagram with `answer` followed by the datagram,
/// until `stop` fires (or is dropped): then its socket closes.
async fn udp_target(answer: &'static [u8]) -> (SocketAddr, oneshot::Sender<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                received = socket.recv_from(&mut buf) => {
                    let Ok((n, from)) = received else { continue };
                    let mut reply = answer.to_vec();
                    reply.extend_from_slice(&buf[..n]);
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        }
    });
    (addr, stop)
}

/// Polls the metrics until `targets` have the `want` states (1 healthy, 2 unhealthy), for at
/// most `within`; returns the metrics that showed them.
async fn wait_for_states(
    burr: &Burr,
    targets: &[SocketAddr],
    want: &[f64],
    within: Duration,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let metrics = burr.metrics();
        let states: Vec<Option<f64>> = targets
            .iter()
            .map(|t| health_state_of(&metrics, *t))
            .collect();
        if states.iter().zip(want).all(|(s, w)| *s == Some(*w)) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "states {states:?}, want {want:?}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn udp_checks_pass_on_the_expected_reply_and_fail_on_icmp_and_wrong_bytes() {
    let (answering, _keep) = udp_target(b"pong:").await;
    let (wrong, _keep_wrong) = udp_target(b"nope:").await;
    let (stopping, stop) = udp_target(b"pong:").await;
    let targets = [answering, wrong, stopping];
    let port = free_port();
    // `udp_expect` in hex ("pong") so both spellings of probe bytes go through the binary.
    let text = config(port, "round_robin", &targets.map(|t| (t, 1)), "", "")
        .replace("protocol = \"http\"", "protocol = \"udp\"")
        .replace(
            "[pool.health_check]\nenabled = false",
            "[pool.health_check]\nprotocol = \"udp\"\nudp_payload = \"health?\"\n\
             udp_expect = \"hex:706f6e67\"\ninterval_secs = 5\ntimeout_secs = 2\n\
             unhealthy_threshold = 2\nhealthy_threshold = 2",
        );
    let burr = Burr::start(&text);

    // Two checks 5 s apart decide each state.
    let metrics = wait_for_states(&burr, &targets, &[1.0, 2.0, 1.0], Duration::from_secs(15)).await;
    assert_eq!(health_failure_of(&metrics, answering), None, "{metrics}");
    assert_eq!(
        health_failure_of(&metrics, wrong).as_deref(),
        Some("reason=\"unexpected_reply\""),
        "{metrics}"
    );

    // Closed, the target's port answers the probe with ICMP port unreachable: after two more
    // checks (unhealthy_threshold) it is unhealthy, and the reason is the failed "connection".
    stop.send(()).unwrap();
    let metrics = wait_for_states(&burr, &targets, &[1.0, 2.0, 2.0], Duration::from_secs(15)).await;
    assert_eq!(
        health_failure_of(&metrics, stopping).as_deref(),
        Some("reason=\"connection_failed\""),
        "{metrics}"
    );
    assert_eq!(health_failure_of(&metrics, answering), None, "{metrics}");
}

/// A udp check without a payload, or with bad hex, is refused at start-up with the field named.
#[test]
fn a_udp_check_needs_a_payload_of_valid_bytes() {
    for (check, says) in [
        ("protocol = \"udp\"", "udp_payload"),
        (
            "protocol = \"udp\"\nudp_payload = \"hex:abc\"",
            "they must come in pairs",
        ),
        (
            "protocol = \"tcp\"\nudp_payload = \"ping\"",
            "applies only to udp health checks",
        ),
    ] {
        let target: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let text = config(free_port(), "round_robin", &[(target, 1)], "", "").replace(
            "[pool.health_check]\nenabled = false",
            &format!("[pool.health_check]\n{check}"),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("udp.toml");
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(BURR)
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{check}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{check}: {stderr}");
    }
}
