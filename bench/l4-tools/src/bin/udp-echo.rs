//! The UDP echo target of bench/l4.py: every datagram received on `--bind` is sent back to its
//! sender unchanged, batched with recvmmsg/sendmmsg, one thread, until `--seconds` pass (a bound,
//! so a forgotten target does not run forever) or it is killed.

use l4_tools::{Batch, MAX_DATAGRAM, arg, fail, parse_addr, poll_readable};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() {
    let bind = parse_addr("bind", &arg::<String>("bind", None, "IP:port to listen on"));
    let seconds: u64 = arg(
        "seconds",
        Some(3600),
        "a whole number of seconds, the lifetime bound",
    );
    let socket = UdpSocket::bind(bind).unwrap_or_else(|e| fail(&format!("--bind {bind}: {e}")));
    socket
        .set_nonblocking(true)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let sockets = [socket];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut batch = Batch::new(MAX_DATAGRAM);
    let mut ready = Vec::new();
    while Instant::now() < deadline {
        if let Err(e) = poll_readable(&sockets, 1000, &mut ready) {
            fail(&format!("poll: {e}"));
        }
        // Drain what is queued, then wait again.
        while batch.receive(&sockets[0]).unwrap_or(0) > 0 {
            let _ = batch.echo(&sockets[0]);
        }
    }
}
