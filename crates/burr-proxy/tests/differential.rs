//! Differential test of burr's two HTTP/1.1 paths (issue 13, adversarial suite): the fast path
//! (`src/http/h1/`) and the general path (hyper behind the framing guard, `src/framing/`,
//! `src/http/proxy.rs`) must accept and refuse the same request heads and forward the same
//! bytes.
//!
//! In-process, with real loopback sockets: one [`DataPlane`] (one worker) serves two HTTP
//! listeners, each before its own raw-TCP target. The `fast` listener's pool is plain, so its
//! connections start on the fast path (and fall to the general path exactly where production
//! traffic would). The `general` listener's pool sends the PROXY protocol, and such pools always
//! take the general path (the fast path hands them over before reading anything of the request,
//! `h1::exchange`), so this needs no test-only hook in burr: the target strips the PROXY line
//! and what follows is what the general path forwards.
//!
//! Each generated head (proptest: methods, targets, versions, header names and values including
//! tricky ones, framing headers, `Connection` tokens, `Host` variants, bodies as the head frames
//! them) is sent to both listeners on a fresh connection, the client half-closing after it. The
//! outcomes compared are the statuses the client got, in order, and each request the target
//! received, normalised for the documented differences between the paths:
//!
//! - header name case: hyper writes names in lower case, the fast path as the client sent them;
//! - the order of fields with different names: hyper groups a name's fields together where its
//!   first one was (the order of same-named fields is kept by both, and compared);
//! - `X-Forwarded-Port`, which names each listener's own port.
//!
//! A target that received bytes that do not parse strictly (see `strict.rs`) records them as
//! such, and the two records must still agree.

#[path = "../../burr/tests/common/strict.rs"]
mod strict;

use arc_swap::ArcSwap;
use burr_affinity::token::KeyRing;
use burr_model::{Balancer, HealthCheck, Listener, Pool, Protocol, State, Target, TargetAddress};
use burr_proxy::{DataPlane, DataPlaneOptions};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strict::Parsed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bound of every wait on a socket.
const WAIT: Duration = Duration::from_secs(5);

/// Heads in flight at once (each on both paths).
const CONCURRENT: usize = 16;

/// What a target received on one connection, normalised, keyed by the head's case number.
type Records = Arc<Mutex<Vec<(u64, String)>>>;

/// The case number a head carries in its `X-Case` field (every generated head has one).
fn case_of(bytes: &[u8]) -> Option<u64> {
    let at = bytes
        .windows(8)
        .position(|w| w.eq_ignore_ascii_case(b"x-case: "))?;
    let digits: String = bytes[at + 8..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}

/// A request as the target received it, with the documented differences normalised away.
fn normalise(message: &strict::Message) -> String {
    let mut fields: Vec<(String, String)> = message
        .fields
        .iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let value = if name == "x-forwarded-port" {
                "(listener port)".to_string()
            } else {
                String::from_utf8_lossy(value).into_owned()
            };
            (name, value)
        })
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0)); // stable: same-named fields keep their order
    let mut out = format!("{}\n", message.start);
    for (name, value) in fields {
        out.push_str(&format!("{name}: {value:?}\n"));
    }
    out.push_str(&format!(
        "body {:?} {:?}\n",
        message.framing,
        String::from_utf8_lossy(&message.body)
    ));
    if !message.trailers.is_empty() {
        out.push_str(&format!("trailers {:?}\n", message.trailers));
    }
    out
}

/// A raw-TCP target that records what it receives (PROXY line stripped) and answers `200`.
async fn target(records: Records) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(record(stream, records.clone()));
        }
    });
    addr
}

async fn record(mut stream: TcpStream, records: Records) {
    let mut buf = Vec::new();
    let mut proxy_line_done = false;
    loop {
        if !proxy_line_done && buf.len() >= 6 {
            if buf.starts_with(b"PROXY ") {
                let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
                    if !read_more(&mut stream, &mut buf).await {
                        return;
                    }
                    continue;
                };
                buf.drain(..end + 2);
            }
            proxy_line_done = true;
        }
        let parsed = if proxy_line_done {
            strict::request(&buf)
        } else {
            Parsed::Incomplete
        };
        match parsed {
            Parsed::Complete(m) => {
                let case = case_of(&buf[..m.head_len]).unwrap_or(u64::MAX);
                records.lock().unwrap().push((case, normalise(&m)));
                buf.drain(..m.len);
                if stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Parsed::Incomplete => {
                if !read_more(&mut stream, &mut buf).await {
                    if !buf.is_empty() {
                        let case = case_of(&buf).unwrap_or(u64::MAX);
                        let text = format!("incomplete: {:?}", String::from_utf8_lossy(&buf));
                        records.lock().unwrap().push((case, text));
                    }
                    return;
                }
            }
            Parsed::Invalid(reason) => {
                let case = case_of(&buf).unwrap_or(u64::MAX);
                records
                    .lock()
                    .unwrap()
                    .push((case, format!("not strict ({reason})")));
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                return;
            }
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    matches!(
        tokio::time::timeout(WAIT, stream.read_buf(buf)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// The statuses of the responses in `bytes` (what burr sent until it closed), or why they do
/// not parse.
fn statuses(bytes: &[u8], head: bool) -> String {
    match strict::responses(bytes, |_| head) {
        Ok(responses) => responses
            .iter()
            .map(|m| m.status().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("badly framed: {e}"),
    }
}

/// Sends `bytes` to `port`, half-closes, and reads until burr closes.
async fn send(port: u16, bytes: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return b"(connect failed)".to_vec();
    };
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut received = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.read_buf(&mut received)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return received,
            Err(_) => {
                received.extend_from_slice(b"(no close within the wait)");
                return received;
            }
        }
    }
}

/// The two listeners and their targets' records.
struct Paths {
    _dataplane: Arc<DataPlane>,
    fast: (u16, Records),
    general: (u16, Records),
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start() -> Paths {
    let fast_records: Records = Arc::default();
    let general_records: Records = Arc::default();
    let fast_target = target(fast_records.clone()).await;
    let general_target = target(general_records.clone()).await;
    let (fast_port, general_port) = (free_port(), free_port());
    let mut state = State::default();
    let mut balancer = Balancer::new("diff");
    for (port, pool, target, proxy_protocol) in [
        (fast_port, "fast", fast_target, false),
        (general_port, "general", general_target, true),
    ] {
        balancer
            .listeners
            .push(Listener::new(port, Protocol::Http, pool));
        let mut p = Pool::new(pool);
        p.targets.push(Target {
            address: TargetAddress::Ip(target),
            weight: 1,
        });
        p.health_check = HealthCheck {
            enabled: false,
            ..HealthCheck::default()
        };
        p.upstream.proxy_protocol = proxy_protocol;
        state.pools.insert(pool.to_string(), p);
    }
    state.balancers.insert("diff".to_string(), balancer);
    state.validate(None).expect("a valid state");
    let keys = Arc::new(ArcSwap::from_pointee(KeyRing::generate(
        1_700_000_000,
        [7; 32],
        3600,
    )));
    let dataplane = DataPlane::start(DataPlaneOptions {
        workers: 1,
        listen_host: Some("127.0.0.1".parse().unwrap()),
        access_log: None,
        keys,
        clock: burr_proxy::clock::Clock::system(),
        max_connections: None,
        latency_histograms: true,
        http2_codec: Default::default(),
    })
    .unwrap();
    let prepared = dataplane
        .prepare(&state, 1)
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    dataplane.commit(prepared);
    Paths {
        _dataplane: dataplane,
        fast: (fast_port, fast_records),
        general: (general_port, general_records),
    }
}

/// What one path did with one head.
async fn outcome(port: u16, records: &Records, case: u64, bytes: &[u8], head: bool) -> String {
    let answered = send(port, bytes).await;
    // The target answered before burr did, so its record is there; take this case's.
    let mut received: Vec<String> = Vec::new();
    records.lock().unwrap().retain(|(c, text)| {
        if *c == case {
            received.push(text.clone());
            false
        } else {
            true
        }
    });
    format!(
        "client got: {}\ntarget got {} request(s):\n{}",
        statuses(&answered, head),
        received.len(),
        received.join("---\n")
    )
}

// ---------------------------------------------------------------------------------------------
// Generated heads

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("GET"),
        3 => Just("POST"),
        1 => Just("PUT"),
        1 => Just("HEAD"),
        1 => Just("DELETE"),
        1 => Just("OPTIONS"),
        1 => Just("PATCH"),
        1 => Just("FROB"),
        1 => Just("get"),
        1 => Just("CONNECT"),
        1 => Just("G@T"),
    ]
}

fn request_target() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("/"),
        4 => Just("/a/b?c=d&e"),
        1 => Just("/%2e%2e/x"),
        1 => Just("//x/y"),
        1 => Just("*"),
        1 => Just("http://a.example/x?y"),
        1 => Just("http://a.example:8080"),
        1 => Just("a.example:443"),
        1 => Just("/caf\u{e9}"),
        1 => Just("/a#frag"),
        1 => Just("/a\"b"),
    ]
}

fn version() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => Just("HTTP/1.1"),
        2 => Just("HTTP/1.0"),
        1 => Just("HTTP/1.2"),
        1 => Just("http/1.1"),
    ]
}

fn header_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("X-A"),
        1 => Just("x-a"),
        1 => Just("X-B"),
        2 => Just("Host"),
        1 => Just("host"),
        3 => Just("Connection"),
        1 => Just("connection"),
        2 => Just("Content-Length"),
        1 => Just("content-length"),
        2 => Just("Transfer-Encoding"),
        1 => Just("Upgrade"),
        1 => Just("Expect"),
        2 => Just("Cookie"),
        2 => Just("X-Forwarded-For"),
        1 => Just("X-Forwarded-Proto"),
        1 => Just("X-Forwarded-Port"),
        1 => Just("Keep-Alive"),
        1 => Just("TE"),
        1 => Just("Trailer"),
        1 => Just("Proxy-Connection"),
        1 => Just("Proxy-Authorization"),
        1 => Just("Transfer_Encoding"),
        1 => Just("X-A "),
        1 => Just(" X-A"),
        1 => Just("X\u{e9}"),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("a".to_string()),
        2 => Just("".to_string()),
        2 => Just("close".to_string()),
        2 => Just("keep-alive".to_string()),
        2 => Just("chunked".to_string()),
        1 => Just("gzip, chunked".to_string()),
        1 => Just("identity".to_string()),
        2 => Just("0".to_string()),
        2 => Just("5".to_string()),
        1 => Just("5, 5".to_string()),
        1 => Just("+5".to_string()),
        2 => Just("content-length".to_string()),
        1 => Just("Transfer-Encoding".to_string()),
        1 => Just("host".to_string()),
        2 => Just("X-A".to_string()),
        1 => Just("x-b, keep-alive".to_string()),
        1 => Just("upgrade".to_string()),
        1 => Just("websocket".to_string()),
        1 => Just("100-continue".to_string()),
        1 => Just("trailers".to_string()),
        1 => Just("1.2.3.4".to_string()),
        1 => Just("a.example".to_string()),
        1 => Just("a.example, b.example".to_string()),
        1 => Just("  spaced  ".to_string()),
        1 => Just("\tx".to_string()),
        1 => Just("caf\u{e9}".to_string()),
        1 => Just("a\u{0}b".to_string()),
        1 => Just("a\rb".to_string()),
        1 => Just("AWSALB=abc; other=1".to_string()),
        2 => "[ -~]{0,12}",
    ]
}

/// A request head (with the body its framing asks for, when small) and whether it is a HEAD.
fn head() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        method(),
        request_target(),
        version(),
        prop::option::weighted(0.85, Just("Host: a.example\r\n")),
        prop::collection::vec((header_name(), header_value()), 0..7),
        prop::option::weighted(0.1, Just("\n")),
    )
        .prop_map(|(method, target, version, host, fields, lf)| {
            let eol = lf.unwrap_or("\r\n");
            let mut head = format!("{method} {target} {version}{eol}").into_bytes();
            if let Some(host) = host {
                head.extend_from_slice(host.as_bytes());
            }
            let mut body = Vec::new();
            let mut chunked = false;
            let mut length = None;
            for (name, value) in &fields {
                head.extend_from_slice(format!("{name}: {value}{eol}").as_bytes());
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
                if name.eq_ignore_ascii_case("transfer-encoding") && value.ends_with("chunked") {
                    chunked = true;
                }
            }
            head.extend_from_slice(b"X-Case: {CASE}\r\n\r\n");
            if chunked {
                body.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
            } else if let Some(n) = length.filter(|&n| n <= 16) {
                body.extend(std::iter::repeat_n(b'b', n));
            }
            head.extend_from_slice(&body);
            (head, method == "HEAD")
        })
}

/// Runs `count` generated heads through both paths; returns the differences (head, fast
/// outcome, general outcome).
async fn compare(count: u64, seed: u8) -> (u64, Vec<(String, String, String)>) {
    let paths = Arc::new(start().await);
    let config = Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &[seed; 32],
        ),
    );
    let strategy = head();
    let mut differences = Vec::new();
    let mut compared = 0;
    let mut running = tokio::task::JoinSet::new();
    for case in 0..count {
        let (template, is_head) = strategy.new_tree(&mut runner).unwrap().current();
        let text = String::from_utf8_lossy(&template).replace("{CASE}", &case.to_string());
        let bytes = text.into_bytes();
        let paths = paths.clone();
        running.spawn(async move {
            let fast = outcome(paths.fast.0, &paths.fast.1, case, &bytes, is_head);
            let general = outcome(paths.general.0, &paths.general.1, case, &bytes, is_head);
            let (fast, general) = tokio::join!(fast, general);
            (bytes, fast, general)
        });
        while running.len() >= CONCURRENT || (case + 1 == count && !running.is_empty()) {
            let (bytes, fast, general) = running.join_next().await.unwrap().unwrap();
            compared += 1;
            if fast != general {
                differences.push((String::from_utf8_lossy(&bytes).into_owned(), fast, general));
            }
        }
    }
    (compared, differences)
}

/// Differences known today, each a defect to fix (the head decides which): `§n` names the
/// numbered defect of issue 13 whose fix removes it, `new` one this test found. A difference of
/// no known kind fails the test.
fn known_difference(head: &str, fast: &str, general: &str) -> Option<&'static str> {
    let method = head.split(' ').next().unwrap_or_default();
    let glued = [fast, general].iter().any(|outcome| {
        outcome.lines().nth(2).is_some_and(|line| {
            line.split(' ').count() == 3 && !line.starts_with(&format!("{method} "))
        })
    });
    if glued {
        // The target read this request behind bytes an earlier request left on the upstream
        // connection: the fast path dropped a `Content-Length` named in `Connection` but sent
        // its body (the desync of issue 13).
        return Some(
            "§1: an earlier request's body glued in front (Connection naming Content-Length)",
        );
    }
    let text = head;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let request_line = lines.next().unwrap_or_default();
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    let fields: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    let named = |name: &'static str| {
        fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    };
    if named("host").count() != 1 {
        return Some("§1: a missing or duplicate Host (fast path forwards, hyper varies)");
    }
    if named("connection").any(|v| {
        v.split(',')
            .any(|t| matches!(t.trim(), "content-length" | "transfer-encoding" | "host"))
    }) {
        return Some("§1: Connection naming a framing field or Host");
    }
    if target.contains('#') {
        return Some("new: a fragment in the target: the fast path forwards it, hyper strips it");
    }
    if !target.is_ascii() {
        return Some(
            "new: raw non-ASCII bytes in the target: the fast path forwards them, hyper answers 400",
        );
    }
    if target == "*" {
        return Some(
            "new: an asterisk target: forwarded by hyper on a plain pool, 400 on a PROXY-protocol pool",
        );
    }
    if named("x-forwarded-for").any(|v| !v.is_ascii()) {
        return Some(
            "new: X-Forwarded-For with non-ASCII bytes: hyper's path drops that value, the fast path keeps it",
        );
    }
    None
}

fn report(compared: u64, differences: &[(String, String, String)]) -> String {
    let mut out = format!(
        "{compared} generated heads compared, {} differences\n",
        differences.len()
    );
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for (head, fast, general) in differences {
        *kinds
            .entry(known_difference(head, fast, general).unwrap_or("UNKNOWN"))
            .or_default() += 1;
    }
    for (kind, n) in &kinds {
        out.push_str(&format!("{n:>6}  {kind}\n"));
    }
    let unknown_first = differences
        .iter()
        .filter(|(head, fast, general)| known_difference(head, fast, general).is_none())
        .chain(differences.iter());
    for (head, fast, general) in unknown_first.take(30) {
        out.push_str(&format!(
            "\nhead: {head:?}\n-- fast path:\n{fast}\n-- general path:\n{general}\n"
        ));
    }
    out
}

async fn run(count: u64, seed: u8) {
    let (compared, differences) = compare(count, seed).await;
    let report = report(compared, &differences);
    println!("{report}");
    assert_eq!(compared, count);
    // Every kind of difference this test has found is fixed: any difference now is a defect
    // (the classification only helps read the report).
    assert!(differences.is_empty(), "the two paths differ\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_http1_paths_accept_refuse_and_forward_alike() {
    run(2_000, 1).await;
}

/// The long run (10^5 heads, a few minutes): `cargo test -p burr-proxy --test differential --
/// --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn both_http1_paths_accept_refuse_and_forward_alike_over_100k_heads() {
    run(100_000, 2).await;
}
