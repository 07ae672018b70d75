//! Faulty targets (issue 13, "Faults"): a scripted raw-TCP target that resets the connection,
//! stalls, answers slowly, cuts a body short, floods interim responses or sends an oversized
//! head. For each, on both HTTP/1.1 paths (the fast path, and hyper behind the framing guard,
//! reached by an opening request the fast path leaves to hyper), the client gets the status the
//! fault calls for (502 for a broken answer, 504 for none within the response timeout) within the
//! time it calls for, and then the next request, on the same client connection when burr kept
//! it, is served normally.
//!
//! Timings are measured on the wall clock against burr's response timeout (1 s here), with
//! bounds wide enough for a loaded 2-core machine: the rule checked is "not before the timeout,
//! and not long after it", and "at once" for faults that need no waiting.

mod common;

use common::raw_http::*;
use common::*;
use std::time::{Duration, Instant};

/// A request the fast path hands to hyper: after it, the connection takes the general path.
const TO_GENERAL_PATH: &[u8] =
    b"POST /general HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n";

const PATHS: [(&str, &[u8]); 2] = [("fast path", b""), ("general path", TO_GENERAL_PATH)];

/// burr's response timeout in these tests.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What "at once" allows on a loaded machine.
const PROMPT: Duration = Duration::from_millis(900);

/// A target answering each path with its fault, and `200 <path>` otherwise.
async fn faulty_target() -> Scripted {
    Scripted::start(|r| match r.path() {
        "/reset" => vec![Step::Reset],
        "/stall" => vec![Step::Pause(Duration::from_secs(5))],
        "/slow" => vec![
            Step::Pause(Duration::from_millis(300)),
            Step::Write(with_length("200 OK", "", b"slow but in time")),
        ],
        "/cut-body" => vec![
            Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".to_vec()),
            Step::Close,
        ],
        "/interim-then-stall" => vec![
            Step::Write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".repeat(3)),
            Step::Pause(Duration::from_secs(5)),
        ],
        "/interim-flood" => reply(b"HTTP/1.1 100 Continue\r\n\r\n".repeat(500)),
        "/oversized-head" => {
            let mut head = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            head.resize(70 * 1024, b'b');
            head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            reply(head)
        }
        path => ok(path.as_bytes()),
    })
    .await
}

fn burr_before(target: &Scripted) -> (Burr, u16) {
    let port = free_port();
    let config = config(
        port,
        "round_robin",
        &[(target.addr, 1)],
        "",
        &format!(
            "[pool.upstream]\nresponse_timeout_secs = {}",
            RESPONSE_TIMEOUT.as_secs()
        ),
    );
    (Burr::start(&config), port)
}

async fn open_on(port: u16, opening: &[u8]) -> Conn {
    let mut conn = Conn::open(port).await;
    if !opening.is_empty() {
        conn.send(opening).await;
        assert_eq!(
            conn.response(false).await.status,
            200,
            "the opening request"
        );
    }
    conn
}

/// Sends `GET path` on `conn`: the status of the final answer (interim ones skipped) and how
/// long it took.
async fn timed_get(conn: &mut Conn, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    conn.send(&request("GET", path, "", b"")).await;
    loop {
        let r = conn.response(false).await;
        if r.status >= 200 {
            return (r.status, started.elapsed());
        }
    }
}

/// After a fault: the next request on `conn` (if burr kept it open, else on a new connection)
/// is answered by the target.
async fn next_is_served(port: u16, conn: &mut Conn, kept: bool, what: &str) {
    let mut fresh;
    let conn = if kept {
        conn
    } else {
        fresh = Conn::open(port).await;
        &mut fresh
    };
    let r = conn.get("/next").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "/next"),
        "after {what}"
    );
}

#[tokio::test]
async fn a_reset_before_the_answer_is_502_at_once_and_the_next_request_is_served() {
    let target = faulty_target().await;
    let (_burr, port) = burr_before(&target);
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        let (status, took) = timed_get(&mut conn, "/reset").await;
        assert_eq!(status, 502, "{path}");
        assert!(took < PROMPT, "{path}: 502 after {took:?}");
        next_is_served(port, &mut conn, true, &format!("{path} reset")).await;
    }
}

#[tokio::test]
async fn a_stalled_target_is_504_at_the_response_timeout_and_the_next_request_is_served() {
    let target = faulty_target().await;
    let (_burr, port) = burr_before(&target);
    for (path, opening) in PATHS {
        for stall in ["/stall", "/interim-then-stall"] {
            let mut conn = open_on(port, opening).await;
            let (status, took) = timed_get(&mut conn, stall).await;
            assert_eq!(status, 504, "{path} {stall}");
            assert!(
                took >= RESPONSE_TIMEOUT && took < RESPONSE_TIMEOUT + PROMPT,
                "{path} {stall}: 504 after {took:?}, the timeout is {RESPONSE_TIMEOUT:?}"
            );
            next_is_served(port, &mut conn, true, &format!("{path} {stall}")).await;
        }
    }
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_relayed() {
    let target = faulty_target().await;
    let (_burr, port) = burr_before(&target);
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        let started = Instant::now();
        let r = conn.get("/slow").await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "slow but in time"),
            "{path}"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        next_is_served(port, &mut conn, true, &format!("{path} slow")).await;
    }
}

#[tokio::test]
async fn a_body_cut_short_closes_the_client_connection_before_its_end() {
    let target = faulty_target().await;
    let (_burr, port) = burr_before(&target);
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        conn.send(&request("GET", "/cut-body", "", b"")).await;
        // The head went out before the cut: the client learns of it by the connection closing
        // before the 100 bytes its head promised, never by a complete response.
        let status_line = conn.line().await;
        assert!(status_line.starts_with("HTTP/1.1 200"), "{path}");
        let started = Instant::now();
        while conn.fill().await > 0 {}
        assert!(started.elapsed() < PROMPT, "{path}: not closed at once");
        let body_start = find(&conn.buf, b"\r\n\r\n").expect("the head") + 4;
        assert!(conn.buf.len() - body_start < 100, "{path}: a full body");
        next_is_served(port, &mut conn, false, &format!("{path} cut body")).await;
    }
}

#[tokio::test]
async fn interim_floods_and_oversized_heads_are_502_and_the_next_request_is_served() {
    let target = faulty_target().await;
    let (_burr, port) = burr_before(&target);
    // hyper's client drops interim responses; the fast path relays the first 100 then gives up.
    // Either way the client's final answer is a prompt 502 (or hyper's bound: the timeout).
    let mut conn = Conn::open(port).await;
    let (status, took) = timed_get(&mut conn, "/interim-flood").await;
    assert_eq!(status, 502);
    assert!(took < PROMPT, "502 after {took:?}");
    next_is_served(port, &mut conn, true, "an interim flood").await;
    for (path, opening) in PATHS {
        let mut conn = open_on(port, opening).await;
        let (status, took) = timed_get(&mut conn, "/oversized-head").await;
        assert_eq!(status, 502, "{path}");
        assert!(took < PROMPT, "{path}: 502 after {took:?}");
        next_is_served(port, &mut conn, true, &format!("{path} oversized head")).await;
    }
}
