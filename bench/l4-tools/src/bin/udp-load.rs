//! The UDP load client of bench/l4.py. Two modes:
//!
//! - load (default): `--flows` connected sockets (one source port each, so one proxy flow each)
//!   keep up to `--window` datagrams of `--size` bytes in flight, sent and received in batches
//!   (sendmmsg/recvmmsg), for `--seconds` or until `--count` replies. A datagram not answered
//!   within 200 ms of silence is counted lost and its slot reused. Prints one JSON line: sent,
//!   received, lost, seconds.
//! - `--open-flows N`: opens N flows and leaves them open in the proxy: from each source address
//!   of `--sources` (e.g. 127.0.1.1-127.0.1.10) and each port from `--first-port` up, one
//!   datagram, its echo awaited (100 ms at most), the socket closed. Prints opened and answered.

use l4_tools::{BATCH, Batch, arg, fail, parse_addr, poll_readable, send_copies};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn main() {
    let target = parse_addr(
        "target",
        &arg::<String>("target", None, "the proxy's IP:port"),
    );
    let size: usize = arg("size", Some(64), "payload bytes, 1-65507");
    if !(1..=l4_tools::MAX_DATAGRAM).contains(&size) {
        fail(&format!("--size {size}: expected 1-65507"));
    }
    let open_flows: usize = arg(
        "open-flows",
        Some(0),
        "a number of flows to open, 0 for load mode",
    );
    if open_flows > 0 {
        return open(target, size, open_flows);
    }
    let flows: usize = arg("flows", Some(64), "sockets (flows), 1-10000");
    let window: usize = arg("window", Some(8), "datagrams in flight per flow, 1-1024");
    let seconds: f64 = arg("seconds", Some(5.0), "seconds of load, 0.1-600");
    let count: u64 = arg("count", Some(u64::MAX), "replies after which to stop");
    if !(1..=10_000).contains(&flows)
        || !(1..=1024).contains(&window)
        || !(0.1..=600.0).contains(&seconds)
    {
        fail(&format!(
            "--flows {flows} (1-10000), --window {window} (1-1024), --seconds {seconds} (0.1-600)"
        ));
    }
    let payload = vec![b'x'; size];
    let sockets: Vec<UdpSocket> = (0..flows)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| fail(&format!("bind: {e}")));
            s.connect(target)
                .unwrap_or_else(|e| fail(&format!("connect {target}: {e}")));
            s.set_nonblocking(true)
                .unwrap_or_else(|e| fail(&e.to_string()));
            s
        })
        .collect();
    let mut in_flight = vec![0usize; flows];
    let mut batch = Batch::new(size.max(2048));
    let mut ready = Vec::new();
    let (mut sent, mut received, mut lost) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut last_reply = Instant::now();
    while Instant::now() < deadline && received < count {
        for (i, socket) in sockets.iter().enumerate() {
            let room = window - in_flight[i];
            if room > 0 {
                match send_copies(socket, &payload, room.min(BATCH)) {
                    Ok(n) => {
                        in_flight[i] += n;
                        sent += n as u64;
                    }
                    Err(e) => fail(&format!("send: {e}")),
                }
            }
        }
        if let Err(e) = poll_readable(&sockets, 50, &mut ready) {
            fail(&format!("poll: {e}"));
        }
        for &i in &ready {
            while let Ok(n) = batch.receive(&sockets[i]) {
                if n == 0 {
                    break;
                }
                in_flight[i] = in_flight[i].saturating_sub(n);
                received += n as u64;
                last_reply = Instant::now();
            }
        }
        if last_reply.elapsed() > Duration::from_millis(200) {
            // Nothing came back for a while: what is in flight is lost; send afresh.
            lost += in_flight.iter().sum::<usize>() as u64;
            in_flight.iter_mut().for_each(|f| *f = 0);
            last_reply = Instant::now();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        r#"{{"sent": {sent}, "received": {received}, "lost": {lost}, "seconds": {elapsed:.3}}}"#
    );
}

fn open(target: SocketAddr, size: usize, flows: usize) {
    let sources = arg::<String>(
        "sources",
        Some("127.0.1.1-127.0.1.10".into()),
        "A.B.C.D-A.B.C.E",
    );
    let (first, last) = sources
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<Ipv4Addr>().ok()?, b.parse::<Ipv4Addr>().ok()?)))
        .filter(|(a, b)| a <= b)
        .unwrap_or_else(|| {
            fail(&format!(
                "--sources {sources:?}: expected A.B.C.D-A.B.C.E, first <= last"
            ))
        });
    let first_port: u16 = arg("first-port", Some(20_000), "a port, 1024-65535");
    let addresses: Vec<Ipv4Addr> = (u32::from(first)..=u32::from(last))
        .map(Ipv4Addr::from)
        .collect();
    let payload = vec![b'f'; size];
    let mut buffer = vec![0u8; size.max(2048)];
    let (mut opened, mut answered) = (0usize, 0usize);
    'ports: for port in first_port..=u16::MAX {
        for address in &addresses {
            if opened == flows {
                break 'ports;
            }
            let Ok(socket) = UdpSocket::bind((*address, port)) else {
                continue;
            };
            if socket.connect(target).is_err() || socket.send(&payload).is_err() {
                continue;
            }
            opened += 1;
            let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
            if socket.recv(&mut buffer).is_ok() {
                answered += 1;
            }
        }
    }
    println!(r#"{{"opened": {opened}, "answered": {answered}}}"#);
}
