//! The `--api` endpoint of the real binary as a hostile or careless client meets it: request
//! heads and bodies that stall (closed, or answered 408, within the 30 s limits), a body over
//! 1 MiB (413), and signed requests that name a parameter twice (400, nothing run).
//!
//! The stall test waits out the real 30 s limits (the three stalls share the wait, and nextest
//! runs it beside the rest of the suite); `admin.rs` tests the same code at 300 ms.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The endpoint's limits, as `admin.rs` sets them.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BODY: usize = 1 << 20;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// burr with one balancer, `t`, from its configuration file.
fn start() -> Burr {
    let target = "127.0.0.1:9".parse().unwrap();
    Burr::start(&config(free_port(), "round_robin", &[(target, 1)], "", ""))
}

/// A query-API POST signed now, as an SDK would sign it, with `Connection: close`.
fn signed_post(burr: &Burr, query: &str, body: &str) -> Vec<u8> {
    common::api::signed_post(burr.api, &common::api::api_credentials(burr), query, body)
}

/// Sends `request` and returns the whole answer (the server closes after it).
async fn send(burr: &Burr, request: &[u8]) -> String {
    let answer = raw(burr.api.port(), request, Duration::from_secs(10)).await;
    assert!(answer.ends_with("<EOF>"), "not closed: {answer}");
    answer
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Connects, sends `sent`, then waits for the server to close: what it answered, and how long
/// after the connect it closed.
async fn stall(burr: &Burr, sent: &[u8]) -> (String, Duration) {
    let connected = Instant::now();
    let mut stream = TcpStream::connect(burr.api).await.unwrap();
    stream.write_all(sent).await.unwrap();
    let bound = HEAD_TIMEOUT.max(BODY_TIMEOUT) + Duration::from_secs(10);
    let answer = read_to_close(&mut stream, bound).await.unwrap_or_else(|| {
        panic!(
            "{:?}: still open after {bound:?}",
            String::from_utf8_lossy(sent)
        )
    });
    (answer, connected.elapsed())
}

fn assert_within(what: &str, elapsed: Duration, limit: Duration) {
    let margin = Duration::from_secs(5);
    assert!(
        elapsed + margin >= limit && elapsed <= limit + margin,
        "{what}: closed after {elapsed:?}, limit {limit:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_clients_are_disconnected_within_the_limits() {
    let burr = start();
    let half_head = stall(&burr, b"POST / HTTP/1.1\r\nHost: burr\r\nContent-Le");
    let silent = stall(&burr, b"");
    let half_body = stall(
        &burr,
        b"POST / HTTP/1.1\r\nHost: burr\r\nContent-Length: 100\r\n\r\nAction=Describe",
    );
    let (half_head, silent, half_body) = tokio::join!(half_head, silent, half_body);

    assert_eq!(status(&half_head.0), 408, "half a head: {}", half_head.0);
    assert_within("half a head", half_head.1, HEAD_TIMEOUT);
    assert_eq!(silent.0, "");
    assert_within("silent", silent.1, HEAD_TIMEOUT);
    assert_eq!(status(&half_body.0), 408, "{}", half_body.0);
    assert!(
        half_body
            .0
            .ends_with("request body not received within 30 s\n"),
        "{}",
        half_body.0
    );
    assert_within("half a body", half_body.1, BODY_TIMEOUT);
    // Other clients were served all along.
    assert_eq!(http_get_status(burr.api, "/healthz"), Some(200));
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let burr = start();
    let post = |length: usize| {
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: burr\r\nContent-Type: {FORM}\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes();
        request.resize(request.len() + length, b'a');
        request
    };
    let answer = send(&burr, &post(MAX_BODY + 1)).await;
    assert_eq!(status(&answer), 413, "{answer}");
    assert!(
        answer.contains("request body larger than 1048576 bytes"),
        "{answer}"
    );
    // 1 MiB exactly is read, and then refused for what it is: unsigned.
    let answer = send(&burr, &post(MAX_BODY)).await;
    assert_eq!(status(&answer), 403, "{answer}");
    assert!(
        answer.contains("<Code>MissingAuthenticationToken</Code>"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_parameter_given_twice_is_400_and_runs_nothing() {
    let burr = start();
    let describe = "Action=DescribeLoadBalancers&Version=2012-06-01";
    let answer = send(&burr, &signed_post(&burr, "", describe)).await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(
        answer.contains("<LoadBalancerName>t</LoadBalancerName>"),
        "{answer}"
    );

    let twice = "<Message>Action: given 2 times; each parameter may appear once</Message>";
    let cases = [
        // Within the body, in either order.
        (
            "",
            format!("{describe}&Action=DeleteLoadBalancer&LoadBalancerName=t"),
        ),
        (
            "",
            format!("Action=DeleteLoadBalancer&LoadBalancerName=t&{describe}"),
        ),
        // Within the query: the signature covers it sorted, so any order verifies.
        (
            "Action=DeleteLoadBalancer&Version=2012-06-01&LoadBalancerName=t&Action=DescribeLoadBalancers",
            String::new(),
        ),
        // In the query and in the body.
        (
            "Action=DeleteLoadBalancer&LoadBalancerName=t",
            describe.to_string(),
        ),
    ];
    for (query, body) in cases {
        let answer = send(&burr, &signed_post(&burr, query, &body)).await;
        assert_eq!(status(&answer), 400, "{query} / {body}: {answer}");
        assert!(answer.contains("<Code>ValidationError</Code>"), "{answer}");
        assert!(answer.contains(twice), "{answer}");
    }
    let answer = send(&burr, &signed_post(&burr, "", describe)).await;
    assert!(
        answer.contains("<LoadBalancerName>t</LoadBalancerName>"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_ambiguously_framed_request_is_400_and_runs_nothing() {
    let burr = start();
    let delete = "Action=DeleteLoadBalancer&LoadBalancerName=t&Version=2012-06-01";
    let signed = String::from_utf8(signed_post(&burr, "", delete)).unwrap();
    // The same signed request, its body also sent chunked: hyper alone would read it chunked.
    let (head, body) = signed.split_once("\r\n\r\n").unwrap();
    let ambiguous = format!(
        "{head}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let answer = send(&burr, ambiguous.as_bytes()).await;
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(
        answer.contains("both Content-Length and Transfer-Encoding"),
        "{answer}"
    );
    let describe = "Action=DescribeLoadBalancers&Version=2012-06-01";
    let answer = send(&burr, &signed_post(&burr, "", describe)).await;
    assert!(
        answer.contains("<LoadBalancerName>t</LoadBalancerName>"),
        "the refused request ran: {answer}"
    );
}

#[tokio::test]
async fn methods_other_than_get_and_post_are_405() {
    let burr = start();
    let host = burr.api;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let request = format!("{method} / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
        let answer = send(&burr, request.as_bytes()).await;
        assert_eq!(status(&answer), 405, "{method}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("allow: get, post"),
            "{method}: {answer}"
        );
    }
}
