//! The TCP target of bench/l4.py, on `--bind`, a thread per connection. The first byte a client
//! sends says what it wants:
//!
//! - `S` + 99 more bytes (a short request): answered with `--reply-size` bytes (default 100),
//!   then the connection is closed.
//! - `U` then any number of bytes until the client shuts down its sending side (an upload): the
//!   bytes are counted and discarded, the count is sent back as 8 bytes (big-endian), closed.
//! - `D` + an 8-byte big-endian length (a download): that many bytes are sent, then closed.
//!
//! Runs until `--seconds` pass (a bound) or it is killed.

use l4_tools::{arg, fail, parse_addr};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

const SHORT_REQUEST: usize = 100;
const CHUNK: usize = 256 * 1024;

fn main() {
    let bind = parse_addr("bind", &arg::<String>("bind", None, "IP:port to listen on"));
    let reply_size: usize = arg("reply-size", Some(100), "bytes of a short reply");
    let seconds: u64 = arg(
        "seconds",
        Some(3600),
        "a whole number of seconds, the lifetime bound",
    );
    let listener = TcpListener::bind(bind).unwrap_or_else(|e| fail(&format!("--bind {bind}: {e}")));
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds));
        std::process::exit(0);
    });
    let reply = vec![b'r'; reply_size];
    let reply: &'static [u8] = reply.leak();
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = serve(stream, reply);
        });
    }
}

fn serve(mut stream: TcpStream, reply: &[u8]) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut kind = [0u8; 1];
    stream.read_exact(&mut kind)?;
    match kind[0] {
        b'S' => {
            let mut rest = [0u8; SHORT_REQUEST - 1];
            stream.read_exact(&mut rest)?;
            stream.write_all(reply)?;
        }
        b'U' => {
            let mut buffer = vec![0u8; CHUNK];
            let mut total: u64 = 0;
            loop {
                let n = stream.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            stream.write_all(&total.to_be_bytes())?;
        }
        b'D' => {
            let mut length = [0u8; 8];
            stream.read_exact(&mut length)?;
            let mut left = u64::from_be_bytes(length);
            let buffer = vec![b'd'; CHUNK];
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                stream.write_all(&buffer[..n])?;
                left -= n as u64;
            }
        }
        _ => {}
    }
    stream.shutdown(Shutdown::Write)?;
    // Wait for the client's close so ours never meets unread bytes (which would reset).
    let mut sink = [0u8; 64];
    while stream.read(&mut sink)? > 0 {}
    Ok(())
}
