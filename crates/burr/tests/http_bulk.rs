//! Large bodies on the HTTP fast path, where burr splices `Content-Length` and until-close
//! bodies between plain sockets and copies the rest through buffers that grow on a sustained
//! transfer: bodies of every size around the switch points cross byte-exact both ways, the
//! upstream connection serves the next response intact after a spliced body (splice never
//! takes a byte past the body's end), a client leaving mid-body costs the upstream connection
//! (it is not reused), and the listener's byte counters stay exact with splice.

mod common;

use common::raw_http::*;
use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sizes around every switch point: the 8 KiB upstream read buffer, the 16 KiB splice
/// threshold, the 64 KiB pipe, the 256 KiB largest buffer, and a few MiB.
const SIZES: &[usize] = &[
    0,
    1,
    100,
    8191,
    8192,
    8193,
    16383,
    16384,
    16385,
    65535,
    65536,
    65537,
    262_143,
    262_145,
    1_000_003,
    3 << 20,
];

/// A target that answers `GET /size/N` with N bytes of noise (`Content-Length`), `GET
/// /close/N` with N bytes ended by closing the connection, and any request with a body with
/// the checksum of the body it read.
async fn sizes_target() -> Scripted {
    Scripted::start(|request| {
        let path = request.path().to_string();
        if let Some(n) = path.strip_prefix("/size/") {
            let n: usize = n.parse().unwrap();
            ok(&noise(n, n as u64))
        } else if let Some(n) = path.strip_prefix("/overlong/") {
            // A response whose bytes go on past its Content-Length: a second response, which no
            // request asked for.
            let n: usize = n.parse().unwrap();
            let mut bytes = with_length("200 OK", "", &noise(n, n as u64));
            bytes.extend_from_slice(&with_length("200 OK", "", b"smuggled"));
            reply(bytes)
        } else if let Some(n) = path.strip_prefix("/close/") {
            let n: usize = n.parse().unwrap();
            let mut bytes = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
            bytes.extend_from_slice(&noise(n, n as u64));
            vec![Step::Write(bytes), Step::Close]
        } else {
            ok(checksum(&request.body).to_string().as_bytes())
        }
    })
    .await
}

fn burr_in_front_of(target: &Scripted) -> (Burr, u16) {
    let port = free_port();
    let burr = Burr::start(&config(port, "round_robin", &[(target.addr, 1)], "", ""));
    (burr, port)
}

#[tokio::test]
async fn bodies_of_every_size_cross_intact_on_one_kept_upstream_connection() {
    let target = sizes_target().await;
    let (_burr, port) = burr_in_front_of(&target);
    let mut conn = Conn::open(port).await;
    for &size in SIZES {
        conn.send(&request("GET", &format!("/size/{size}"), "", b""))
            .await;
        let response = conn.response(false).await;
        assert_eq!(response.status, 200, "size {size}");
        assert_eq!(response.body.len(), size, "size {size}");
        assert!(
            checksum(&response.body) == checksum(&noise(size, size as u64)),
            "response body of {size} bytes differs"
        );
        // Uploads of the same size: the target saw exactly the bytes sent.
        let body = noise(size, !(size as u64));
        conn.send(&request("POST", "/upload", "", &body)).await;
        let response = conn.response(false).await;
        assert_eq!(
            response.text(),
            checksum(&body).to_string(),
            "upload {size}"
        );
    }
    // Every exchange, spliced or copied, left the upstream connection at a message boundary.
    assert_eq!(target.accepted(), 1, "upstream connections opened");
}

#[tokio::test]
async fn no_byte_past_a_spliced_body_reaches_the_client() {
    let target = sizes_target().await;
    let (_burr, port) = burr_in_front_of(&target);
    let mut conn = Conn::open(port).await;
    for size in [100_000, 1 << 20] {
        conn.send(&request("GET", &format!("/overlong/{size}"), "", b""))
            .await;
        let response = conn.response(false).await;
        assert!(response.body == noise(size, size as u64), "{size} bytes");
        // The next answer is the one asked for, not the bytes the target sent past the body
        // (they stayed in the upstream socket, which is then not used again).
        conn.send(&request("GET", "/size/10", "", b"")).await;
        let response = conn.response(false).await;
        assert!(response.body == noise(10, 10), "{:?}", response.text());
    }
}

#[tokio::test]
async fn bodies_until_close_cross_intact() {
    let target = sizes_target().await;
    let (_burr, port) = burr_in_front_of(&target);
    for size in [10, 70_000, 2 << 20] {
        let mut conn = Conn::open(port).await;
        conn.send(&request("GET", &format!("/close/{size}"), "", b""))
            .await;
        let response = conn.response(false).await;
        assert!(response.until_close);
        assert_eq!(response.body.len(), size);
        assert!(response.body == noise(size, size as u64), "{size} bytes");
    }
}

#[tokio::test]
async fn a_client_leaving_mid_body_costs_the_upstream_connection() {
    let target = sizes_target().await;
    let (burr, port) = burr_in_front_of(&target);
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    client
        .write_all(&request("GET", "/size/16777216", "", b""))
        .await
        .unwrap();
    let mut first = vec![0; 256 * 1024];
    tokio::time::timeout(WAIT, client.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    drop(client); // unread bytes: the kernel resets the connection
    // The next request gets a new upstream connection and an intact response: the broken one,
    // whose socket still held the rest of the body, was dropped.
    let mut conn = Conn::open(port).await;
    conn.send(&request("GET", "/size/100000", "", b"")).await;
    let response = conn.response(false).await;
    assert!(response.body == noise(100_000, 100_000));
    assert_eq!(target.accepted(), 2, "upstream connections opened");
    // And burr keeps no pipe holding bytes of the broken body (at most its few empty ones).
    let pipes = std::fs::read_dir(format!("/proc/{}/fd", burr.pid()))
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("pipe:"))
        })
        .count();
    assert!(pipes <= 2 * 4 + 2, "pipe ends open: {pipes}");
}

#[tokio::test]
async fn byte_counters_stay_exact_with_spliced_bodies() {
    let target = sizes_target().await;
    let (burr, port) = burr_in_front_of(&target);
    let (mut received, mut sent) = (0, 0);
    for (path, body) in [
        ("/size/1048576", Vec::new()),
        ("/upload", noise(1 << 20, 7)),
        ("/close/1048576", Vec::new()),
        ("/size/100", Vec::new()),
    ] {
        let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let bytes = request("GET", path, "Connection: close\r\n", &body);
        client.write_all(&bytes).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(WAIT, client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        received += bytes.len();
        sent += answer.len();
        assert!(
            answer.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{path}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    }
    let series = |name: &str| format!("{name}{{balancer=\"t\",port=\"{port}\"}}");
    let counted = eventually(Duration::from_secs(5), || {
        let text = burr.metrics();
        metric(&text, &series("burr_received_bytes_total")) == Some(received as f64)
            && metric(&text, &series("burr_sent_bytes_total")) == Some(sent as f64)
    })
    .await;
    let text = burr.metrics();
    assert!(
        counted,
        "counted received {:?} sent {:?}, the client sent {received} and read {sent}",
        metric(&text, &series("burr_received_bytes_total")),
        metric(&text, &series("burr_sent_bytes_total")),
    );
}
