//! The TCP load client of bench/l4.py, against a proxy in front of `tcp-target`.
//!
//! - `--mode short`: `--connections` threads, each in a loop for `--seconds`: connect, send a
//!   100-byte request, read the whole reply until the target closes, close. Prints connections
//!   completed, errors (connect/read failures or short replies) and seconds, as one JSON line.
//! - `--mode up --bytes N`: one connection sends N bytes and half-closes, then checks the count
//!   the target read. `--mode down --bytes N`: one connection receives N bytes. Both print bytes,
//!   seconds and whether the count matched.

use l4_tools::{arg, fail, parse_addr};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

fn main() {
    let target = parse_addr(
        "target",
        &arg::<String>("target", None, "the proxy's IP:port"),
    );
    let mode: String = arg("mode", None, "short, up or down");
    match mode.as_str() {
        "short" => short(target),
        "up" | "down" => bulk(target, mode == "up"),
        other => fail(&format!("--mode {other:?}: expected short, up or down")),
    }
}

fn short(target: SocketAddr) {
    let connections: usize = arg("connections", Some(16), "concurrent connections, 1-1000");
    let seconds: f64 = arg("seconds", Some(5.0), "seconds of load, 0.1-600");
    let reply_size: usize = arg("reply-size", Some(100), "bytes the target answers");
    if !(1..=1000).contains(&connections) || !(0.1..=600.0).contains(&seconds) {
        fail(&format!(
            "--connections {connections} (1-1000), --seconds {seconds} (0.1-600)"
        ));
    }
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (done, errors) = (done.clone(), errors.clone());
            std::thread::spawn(move || {
                let mut request = [b'q'; 100];
                request[0] = b'S';
                let mut reply = vec![0u8; reply_size + 16];
                while Instant::now() < deadline {
                    match one_short(target, &request, &mut reply) {
                        Ok(n) if n == reply_size => done.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        r#"{{"connections": {}, "errors": {}, "seconds": {elapsed:.3}}}"#,
        done.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
}

fn one_short(target: SocketAddr, request: &[u8], reply: &mut [u8]) -> std::io::Result<usize> {
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(request)?;
    let mut got = 0;
    loop {
        let n = stream.read(&mut reply[got..])?;
        if n == 0 || got + n == reply.len() {
            return Ok(got + n);
        }
        got += n;
    }
}

fn bulk(target: SocketAddr, up: bool) {
    let bytes: u64 = arg("bytes", None, "bytes to transfer");
    let started = Instant::now();
    let result = if up {
        upload(target, bytes)
    } else {
        download(target, bytes)
    };
    let elapsed = started.elapsed().as_secs_f64();
    match result {
        Ok(moved) => println!(
            r#"{{"bytes": {moved}, "seconds": {elapsed:.3}, "complete": {}}}"#,
            moved == bytes
        ),
        Err(e) => fail(&format!(
            "{} {target}: {e}",
            if up { "upload to" } else { "download from" }
        )),
    }
}

fn upload(target: SocketAddr, bytes: u64) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(target)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(b"U")?;
    let buffer = vec![b'u'; CHUNK];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        stream.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    stream.shutdown(Shutdown::Write)?;
    let mut count = [0u8; 8];
    stream.read_exact(&mut count)?;
    Ok(u64::from_be_bytes(count))
}

fn download(target: SocketAddr, bytes: u64) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(target)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(b"D")?;
    stream.write_all(&bytes.to_be_bytes())?;
    let mut buffer = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}
