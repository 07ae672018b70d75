//! What the access log's fields mean, on both request paths, as AWS defines them: the three
//! processing times (`-1` when no target answered; `response_processing` ends when the response
//! starts out to the client, not when its body is through), exchanges that broke mid-message
//! (logged, with ALB's 460 for a client that left before its answer), requests refused before
//! the rules ran (`-` as rule priority and actions), and bodiless answers on hyper's path.
//! Lines are ALB's, split by spaces up to the request field (those fields hold none).

mod common;

use common::log_file::wait_lines;
use common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a scripted target holds its response body back after the head: long enough that
/// a `response_processing` that included the body's transfer could not pass for ~0.
const BODY_HELD: Duration = Duration::from_millis(300);

struct Setup {
    _dir: tempfile::TempDir,
    burr: Burr,
    port: u16,
    log: PathBuf,
}

/// burr with an ALB-format access log in front of `target`.
fn start(target: SocketAddr) -> Setup {
    start_with(target, "")
}

/// As [`start`], with `extra_pool` appended to the pool's table.
fn start_with(target: SocketAddr, extra_pool: &str) -> Setup {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let args = [
        "--access-log",
        log.to_str().unwrap(),
        "--access-log-format",
        "alb",
    ];
    let burr = Burr::try_start(
        &config(port, "round_robin", &[(target, 1)], "", extra_pool),
        &args,
    )
    .unwrap_or_else(|e| panic!("burr did not start: {e}"));
    Setup {
        _dir: dir,
        burr,
        port,
        log,
    }
}

/// The first ALB line once there is one, split into its fields up to `sent_bytes`.
async fn first_line(path: &Path) -> (String, Vec<String>) {
    let line = wait_lines(path, 1).await.remove(0);
    let fields = line.split(' ').take(12).map(str::to_string).collect();
    (line, fields)
}

/// ALB's fields by position: type time elb client target request_processing
/// target_processing response_processing elb_status target_status received sent.
const REQUEST_PROCESSING: usize = 5;
const TARGET_PROCESSING: usize = 6;
const RESPONSE_PROCESSING: usize = 7;
const STATUS: usize = 8;
const TARGET_STATUS: usize = 9;

fn seconds(field: &str) -> f64 {
    field
        .parse()
        .unwrap_or_else(|_| panic!("not seconds: {field}"))
}

/// A target that answers one request with `head` at once, then `body` after `hold`, then
/// closes.
async fn scripted_target(head: &'static str, body: &'static str, hold: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
                _ => return,
            }
        }
        let _ = stream.write_all(head.as_bytes()).await;
        tokio::time::sleep(hold).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let _ = stream.shutdown().await;
    });
    addr
}

/// Sends `request` and reads until burr closes (at most 10 s).
async fn exchange(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    response
}

/// `response_processing` ends when burr starts sending the response, not when the body is
/// through; the body's time is in the exchange (`time` minus `request_creation_time`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_processing_ends_when_the_response_starts_out() {
    let target = scripted_target(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        "hello",
        BODY_HELD,
    )
    .await;
    let s = start(target);
    let response = exchange(
        s.port,
        b"GET /slow-body HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.ends_with(b"hello"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "200", "{line}");
    assert!(seconds(&f[REQUEST_PROCESSING]) >= 0.0, "{line}");
    assert!(seconds(&f[TARGET_PROCESSING]) >= 0.0, "{line}");
    let response_processing = seconds(&f[RESPONSE_PROCESSING]);
    assert!(
        response_processing < BODY_HELD.as_secs_f64() / 2.0,
        "the body's transfer counted: {line}"
    );
    let _ = &s.burr;
}

/// A target that closes the connection without answering: burr sent the request, but no step
/// of AWS's split completed, so all three are -1 (not the time until the request was sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_no_target_answered_has_no_processing_times() {
    let target = scripted_target("", "", Duration::ZERO).await;
    let s = start(target);
    exchange(
        s.port,
        b"GET /down HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "502", "{line}");
    assert_eq!(
        &f[REQUEST_PROCESSING..=RESPONSE_PROCESSING],
        ["-1", "-1", "-1"],
        "{line}"
    );
}

/// The fast path logs a client that left mid-body, before it was answered: ALB's 460, no
/// target, no processing times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_body_is_logged_with_460() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let s = start(backend.addr);
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "460", "{line}");
    assert_eq!(f[TARGET_STATUS], "-", "{line}");
    assert_eq!(
        &f[REQUEST_PROCESSING..=RESPONSE_PROCESSING],
        ["-1", "-1", "-1"],
        "{line}"
    );
}

/// The fast path logs a response whose target cut its body short: the status that went out,
/// the target's times, and `response_processing` -1 as the response did not complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_is_logged_as_incomplete() {
    let target = scripted_target(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        "0123456789",
        Duration::ZERO,
    )
    .await;
    let s = start(target);
    let response = exchange(
        s.port,
        b"GET /short HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "200", "{line}");
    assert_eq!(f[TARGET_STATUS], "200", "{line}");
    assert!(seconds(&f[REQUEST_PROCESSING]) >= 0.0, "{line}");
    assert!(seconds(&f[TARGET_PROCESSING]) >= 0.0, "{line}");
    assert_eq!(f[RESPONSE_PROCESSING], "-1", "{line}");
}

/// A request refused before the rules ran (userinfo in the target, hyper's path) executed no
/// action and matched no rule: `-` for both, not `0` and `"forward"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_before_routing_has_no_rule_or_action() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let s = start(backend.addr);
    let response = exchange(
        s.port,
        b"GET http://user@a/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with(b"HTTP/1.1 400"), "{response:?}");
    let (line, _) = first_line(&s.log).await;
    assert!(
        regex::Regex::new(r#" "[^"]*" "[^"]*" - \S+ "-" "-" "#)
            .unwrap()
            .is_match(&line),
        "rule priority and actions should be -: {line}"
    );
}

/// A HEAD answered through hyper's path (HTTP/1.0) is complete once its head went out: it has
/// a `response_processing` and is counted in the listener's duration histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_on_hypers_path_is_complete() {
    let backend = Backend::start("b1", Behavior::default()).await;
    let s = start(backend.addr);
    let response = exchange(s.port, b"HEAD /h HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert!(response.starts_with(b"HTTP/1.0 200"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "200", "{line}");
    assert!(seconds(&f[RESPONSE_PROCESSING]) >= 0.0, "{line}");
    let count = metric(&s.burr.metrics(), "burr_request_duration_seconds_count");
    assert_eq!(count, Some(1.0), "{}", s.burr.metrics());
}

/// A HEAD that burr answers itself on hyper's path (its target is down): hyper never sends
/// the 502's text, and the request still counts as complete in the duration histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_burr_answers_on_hypers_path_is_complete() {
    let nobody = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = nobody.local_addr().unwrap();
    drop(nobody);
    let s = start(target);
    let response = exchange(s.port, b"HEAD /h HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert!(response.starts_with(b"HTTP/1.0 502"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "502", "{line}");
    let count = metric(&s.burr.metrics(), "burr_request_duration_seconds_count");
    assert_eq!(count, Some(1.0), "{}", s.burr.metrics());
}

/// Seconds since midnight of an ISO 8601 time as ALB writes it (`…THH:MM:SS.ffffffZ`).
fn seconds_of_day(time: &str) -> f64 {
    let clock = time.split('T').nth(1).unwrap().trim_end_matches('Z');
    let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

/// A 504 after the response timeout (1 s, the shortest allowed): no step of AWS's split
/// completed, yet ALB's `time` is a second after `request_creation_time` (it used to be the
/// arrival plus the steps that happened, about 1 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_stamped_when_it_was_answered() {
    let target = scripted_target("", "", Duration::from_secs(5)).await;
    let s = start_with(target, "[pool.upstream]\nresponse_timeout_secs = 1");
    let response = exchange(
        s.port,
        b"GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with(b"HTTP/1.1 504"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    assert_eq!(f[STATUS], "504", "{line}");
    assert_eq!(
        &f[REQUEST_PROCESSING..=RESPONSE_PROCESSING],
        ["-1", "-1", "-1"],
        "{line}"
    );
    // The request ("METHOD URL VERSION") is three space-separated pieces and the user agent
    // "-" one: request_creation_time is the 24th.
    let created = line.split(' ').nth(23).unwrap();
    // (A request that crossed midnight UTC.)
    let took = (seconds_of_day(&f[1]) - seconds_of_day(created)).rem_euclid(86_400.0);
    assert!(
        (0.9..4.0).contains(&took),
        "time - request_creation_time = {took}: {line}"
    );
}

/// A chunked upload (hyper's path) declares no length: its body bytes are counted as they are
/// read, so `received_bytes` holds them (it used to hold the head only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_counts_its_body_in_received_bytes() {
    const BODY: usize = 3000;
    let backend = Backend::start("b1", Behavior::default()).await;
    let s = start(backend.addr);
    let mut request = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\n"
        .to_vec();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", BODY / 3).as_bytes());
        request.extend(std::iter::repeat_n(b'x', BODY / 3));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = exchange(s.port, &request).await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    let (line, f) = first_line(&s.log).await;
    let received: usize = f[10].parse().unwrap();
    assert!(
        (BODY..BODY + 400).contains(&received),
        "received_bytes {received}: {line}"
    );
}
