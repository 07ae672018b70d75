//! The desync corpus (issue 13, adversarial suite): hundreds of request-side and response-side
//! vectors (`desync/requests.rs`, `desync/responses.rs`) run through the real `burr` binary
//! against recording raw-TCP targets ([`Recorder`]) that keep the exact bytes they receive.
//!
//! One burr serves [`LANES`] listeners, each with its own pool and recording target, and the
//! vectors run concurrently across lanes and one after another within a lane, so an upstream
//! connection a vector left in a bad state is reused by the next vector of its lane, and by the
//! probe that follows every vector. Each vector has a tag (`~NNN~`) that replaces `{TAG}` in
//! its bytes and appears in every path it sends, so the target's log says whose bytes it saw.
//!
//! Definitions (the assertions, for every vector):
//!
//! - **Well-framed** (what the client gets): the bytes burr sends on the client connection, up
//!   to its close, are exactly a sequence of responses that the strict parser (`strict.rs`)
//!   accepts: CRLF line ends, no folded, nameless or control-character fields, at most one
//!   `Content-Length` (digits) or a `Transfer-Encoding` ending in `chunked` (never both), no
//!   framing field named in `Connection`, a body exactly as framed, nothing left over. A
//!   response whose body burr had to cut (the target broke mid-body) may end at the close only
//!   after a complete head whose framing shows it is incomplete. A success (< 400) always comes
//!   from the target (it carries the target's `X-Target` id); burr's own answers are errors.
//! - **Unambiguous** (what the target gets): the bytes on each upstream connection parse
//!   strictly, one request after another, as requests with an origin-form target, `HTTP/1.1`,
//!   exactly one valid `Host`, one framing at most, no `Connection` naming `Content-Length`,
//!   `Transfer-Encoding` or `Host`, chunked bodies exactly per the grammar; the connection may
//!   end inside a request only when the client gave up mid-body (nothing follows on that
//!   connection). Every received head is also judged by AWS's `http_desync_guardian`, which
//!   must classify it `Compliant` or `Acceptable` (never `Ambiguous` or `Severe`).
//! - **One per client request**: the target's requests of a vector, in order, are exactly the
//!   requests whose answers the client got relayed (matched by `X-Target` id, the body echoing
//!   the path the target saw); so nothing reaches the target that the client is not answered
//!   for, and no answer reaches the client for a request it did not send.
//! - **Next requests**: after every vector, a fresh client's `GET /p/<tag>` must be answered by
//!   the target with its own echo; after every response-side vector, the same client's next
//!   request, if burr kept the connection, too. A response marked `X-Smuggled` (hidden in
//!   another response's framing) must never reach a client.
//!
//! Vectors may also say what burr must do (refuse with a 4xx, forward n requests, use the
//! absolute-form authority as `Host`). Vectors listed in [`PENDING`] fail today for a defect
//! named in issue 13 that is being fixed on main; the test fails if one of them passes (so the
//! list shrinks as fixes land) or if any other vector fails. The report printed at the end lists
//! every failing vector with its bytes and what burr did.

#[path = "desync/client.rs"]
mod client;
mod common;
#[path = "desync/request_heads.rs"]
mod request_heads;
#[path = "desync/requests.rs"]
mod requests;
#[path = "desync/responses.rs"]
mod responses;

use client::{Read, echo_request, exchange, probe, read_final};
use common::raw_http::{Recorder, Seen, Step};
use common::strict::{self, Message, Parsed};
use common::*;
use http_desync_guardian::RequestSafetyTier;
use http_desync_guardian::request_analyzer::HttpRequestData;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Listeners (each with its own pool and target) the vectors are spread over.
const LANES: usize = 8;

/// The bound of one read or of a whole vector's exchange.
const WAIT: Duration = Duration::from_secs(5);

/// Vectors that fail until the fix named beside them lands (`§n`: the numbered defect of issue
/// 13 it belongs to, `new`: a defect found beyond the issue's list). Empty: every defect this
/// corpus found is fixed; a vector added for a known, unfixed defect goes here with its reason.
const PENDING: &[(&str, &str)] = &[];

/// What burr must do with a request-side vector, beyond the rules every vector obeys.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Only the general rules.
    Any,
    /// The first answer is burr's own error (4xx or 5xx), nothing reaches the target and
    /// nothing follows.
    Refused,
    /// As `Refused`, with this status.
    Status(u16),
    /// The target receives exactly this many requests.
    Forwarded(usize),
    /// The target receives one request, with this `Host`.
    ForwardedHost(&'static str),
}

/// Bytes a client sends.
pub struct RequestVector {
    pub name: String,
    /// `{TAG}` stands for the vector's tag.
    pub bytes: Vec<u8>,
    pub expect: Expect,
    /// Its requests are HEAD requests (answers without a body).
    pub head: bool,
}

/// One step of a crafted response.
pub enum Piece {
    Bytes(Vec<u8>),
    /// Milliseconds.
    Pause(u64),
    Close,
}

/// What the client may get for a crafted response.
#[derive(Clone, Copy, Debug)]
pub enum ResponseExpect {
    /// The response relayed (not burr's own error).
    Relay,
    /// burr's 502.
    BadGateway,
    /// A well-framed relay or burr's 502.
    Either,
    /// burr's own answer with this status.
    Status(u16),
}

/// A response a target sends for `GET /r/<index>/<tag>`.
pub struct ResponseVector {
    pub name: String,
    pub pieces: Vec<Piece>,
    /// The client asks with HEAD.
    pub head_request: bool,
    pub expect: ResponseExpect,
    /// Milliseconds the client waits before its next request on the same connection.
    pub settle_ms: u64,
}

/// The tag of vector `n`: as long as `{TAG}`, so lengths computed on the template hold.
fn tag(n: usize) -> String {
    format!("~{n:03}~")
}

/// The first tag in `bytes`.
fn find_tag(bytes: &[u8]) -> Option<String> {
    bytes
        .windows(5)
        .find(|w| w[0] == b'~' && w[4] == b'~' && w[1..4].iter().all(u8::is_ascii_digit))
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

fn with_tag(template: &[u8], tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = raw_http::find(rest, b"{TAG}") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(tag.as_bytes());
        rest = &rest[i + 5..];
    }
    out.extend_from_slice(rest);
    out
}

fn show(bytes: &[u8]) -> String {
    const MAX: usize = 600;
    let text = format!(
        "{:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)])
    );
    if bytes.len() > MAX {
        format!("{text}... ({} bytes)", bytes.len())
    } else {
        text
    }
}

/// How `http_desync_guardian` classifies the head at the start of `bytes`.
fn oracle(bytes: &[u8]) -> RequestSafetyTier {
    let end = raw_http::find(bytes, b"\r\n\r\n").map_or(bytes.len(), |i| i + 4);
    HttpRequestData::analyze_raw_request(&bytes[..end]).tier
}

// ---------------------------------------------------------------------------------------------
// The targets

/// The answer to a request the target parsed: a crafted response for `/r/<index>/...`, else
/// an echo of the target path with the request's id.
fn answer(message: &Message, id: &str, crafted: &[ResponseVector]) -> Vec<Step> {
    let target = message.target();
    if let Some(rest) = target.strip_prefix("/r/")
        && let Some(index) = rest.split('/').next().and_then(|i| i.parse::<usize>().ok())
        && let Some(vector) = crafted.get(index)
    {
        return vector
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => Step::Write(b.clone()),
                Piece::Pause(ms) => Step::Pause(Duration::from_millis(*ms)),
                Piece::Close => Step::Close,
            })
            .collect();
    }
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nX-Target: {id}\r\nContent-Length: {}\r\n\r\n",
        target.len()
    )
    .into_bytes();
    if message.method() != "HEAD" {
        out.extend_from_slice(target.as_bytes());
    }
    vec![Step::Write(out)]
}

/// burr with [`LANES`] listeners, listener `i` forwarding to `targets[i]` alone.
fn lanes_config(ports: &[u16], targets: &[std::net::SocketAddr]) -> String {
    let mut config = String::from("[[balancer]]\nname = \"d\"\n");
    for (i, port) in ports.iter().enumerate() {
        config.push_str(&format!(
            "\n[[balancer.listener]]\nport = {port}\nprotocol = \"http\"\npool = \"lane{i}\"\n\
             header_read_timeout_secs = 2\nidle_timeout_secs = 5\n"
        ));
    }
    for (i, target) in targets.iter().enumerate() {
        config.push_str(&format!(
            "\n[[pool]]\nname = \"lane{i}\"\ntargets = [ {{ address = \"{target}\" }} ]\n\
             [pool.upstream]\nresponse_timeout_secs = 1\n[pool.health_check]\nenabled = false\n"
        ));
    }
    config
}

/// What the target logged for `tag`, excluding the probe's request.
fn seen_for(recorder: &Recorder, tag: &str) -> Vec<Seen> {
    let probe = format!("/p/{tag}");
    recorder
        .seen()
        .into_iter()
        .filter(|s| find_tag(s.raw()).as_deref() == Some(tag))
        .filter(|s| !matches!(s, Seen::Request { message, .. } if message.target() == probe))
        .collect()
}

/// The rules on what the target received, common to both sides.
fn check_received(seen: &[Seen], problems: &mut Vec<String>) {
    for s in seen {
        match s {
            Seen::Invalid {
                connection,
                reason,
                raw,
            } => problems.push(format!(
                "the target received ambiguous bytes on its connection {connection}: {reason}; \
                 bytes {}",
                show(raw)
            )),
            Seen::Request { id, raw, message } => {
                let tier = oracle(raw);
                if tier > RequestSafetyTier::Acceptable && !isolated_get_with_body(message, tier) {
                    let verdict = HttpRequestData::analyze_raw_request(raw);
                    problems.push(format!(
                        "http_desync_guardian classifies the request {id} the target received \
                         {tier:?} ({:?}: {}); bytes {}",
                        verdict.reason,
                        verdict.message.unwrap_or_default(),
                        show(raw)
                    ));
                }
            }
            Seen::Truncated { .. } => {}
        }
    }
}

/// A GET or HEAD with a body, which the guardian rates `Ambiguous` (its body has no defined
/// meaning, so a target may read it as the next request): burr forwards it as ALB's defensive
/// mode does, with `Connection: close` as the last request on its upstream connection, so
/// nothing can follow it there. That is the one ambiguous request allowed through.
fn isolated_get_with_body(message: &Message, tier: RequestSafetyTier) -> bool {
    tier == RequestSafetyTier::Ambiguous
        && matches!(message.start.split(' ').next(), Some("GET" | "HEAD"))
        && message.fields.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case(b"close")
        })
}

/// Runs a request-side vector; returns what went wrong (nothing when it passed).
async fn run_request(port: u16, recorder: &Recorder, tag: &str, v: &RequestVector) -> Vec<String> {
    let bytes = with_tag(&v.bytes, tag);
    let mut problems = Vec::new();
    let received = match exchange(port, &bytes).await {
        Ok(r) => r,
        Err(e) => {
            problems.push(e);
            Vec::new()
        }
    };
    let responses = match strict::responses(&received, |_| v.head) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!(
                "the client got a badly framed stream: {e}; all bytes {}",
                show(&received)
            ));
            Vec::new()
        }
    };
    let finals: Vec<&Message> = responses
        .iter()
        .filter(|m| m.status() >= 200 || m.status() == 101)
        .collect();
    let seen = seen_for(recorder, tag);
    check_received(&seen, &mut problems);
    let requests: Vec<(&String, &Message)> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Request { id, message, .. } => Some((id, message)),
            _ => None,
        })
        .collect();
    let mut relayed = Vec::new();
    for m in &finals {
        match m.header("x-target") {
            Some(id) => {
                relayed.push(id.clone());
                if let Some((_, request)) = requests.iter().find(|(i, _)| **i == id)
                    && !v.head
                    && m.body != request.target().as_bytes()
                {
                    problems.push(format!(
                        "the answer carrying X-Target {id} has the body {} instead of its \
                         request's path {}",
                        show(&m.body),
                        request.target()
                    ));
                }
            }
            None if m.status() < 400 => problems.push(format!(
                "a {} answer that is not the target's: {}",
                m.status(),
                m.start
            )),
            None => {}
        }
    }
    let ids: Vec<String> = requests.iter().map(|(id, _)| (*id).clone()).collect();
    if relayed != ids {
        problems.push(format!(
            "the target received {ids:?} but the client got the answers of {relayed:?}"
        ));
    }
    let statuses: Vec<u16> = finals.iter().map(|m| m.status()).collect();
    let refused = |problems: &mut Vec<String>, status: Option<u16>| {
        let first = finals.first();
        let own_error = first.is_some_and(|m| m.header("x-target").is_none() && m.status() >= 400);
        if !own_error || status.is_some_and(|s| first.unwrap().status() != s) || !ids.is_empty() {
            problems.push(format!(
                "expected burr to refuse it{} and forward nothing; statuses {statuses:?}, the \
                 target received {} request(s)",
                status.map(|s| format!(" with {s}")).unwrap_or_default(),
                ids.len()
            ));
        } else if finals.len() > 1 {
            problems.push(format!("answers after the refusal: statuses {statuses:?}"));
        }
    };
    match v.expect {
        Expect::Any => {}
        Expect::Refused => refused(&mut problems, None),
        Expect::Status(s) => refused(&mut problems, Some(s)),
        Expect::Forwarded(n) => {
            if ids.len() != n {
                problems.push(format!(
                    "expected {n} request(s) at the target, it received {}; statuses {statuses:?}",
                    ids.len()
                ));
            }
        }
        Expect::ForwardedHost(host) => {
            let hosts: Vec<String> = requests
                .iter()
                .map(|(_, m)| m.header("host").unwrap_or_default())
                .collect();
            if hosts != [host] {
                problems.push(format!(
                    "expected one request with Host {host}, the target received Hosts \
                     {hosts:?}; statuses {statuses:?}"
                ));
            }
        }
    }
    if let Err(e) = probe(port, tag, recorder).await {
        problems.push(e);
    }
    problems
}

/// Runs a response-side vector (crafted response `index`).
async fn run_response(
    port: u16,
    recorder: &Recorder,
    tag: &str,
    index: usize,
    v: &ResponseVector,
) -> Vec<String> {
    let mut problems = Vec::new();
    let method = if v.head_request { "HEAD" } else { "GET" };
    let mut stream = match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(s) => s,
        Err(e) => return vec![format!("connect: {e}")],
    };
    let _ = stream.set_nodelay(true);
    let request = format!("{method} /r/{index}/{tag} HTTP/1.1\r\nHost: d.test\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut buf = Vec::new();
    let first = read_final(&mut stream, &mut buf, v.head_request).await;
    let mut may_continue = false;
    let mut what = String::new();
    match &first {
        Read::Complete(m) => {
            let own = |status: u16, text: &str| {
                m.status() == status && m.body.starts_with(text.as_bytes())
            };
            let bad_gateway = own(502, "bad gateway");
            what = format!("{} {}", m.start, show(&m.body));
            if m.header("x-smuggled").is_some() {
                problems.push(format!("the client got the smuggled response: {m:?}"));
            }
            let ok = match v.expect {
                ResponseExpect::Relay => !bad_gateway && !own(504, "gateway timeout"),
                ResponseExpect::BadGateway => bad_gateway,
                ResponseExpect::Either => true,
                ResponseExpect::Status(s) => m.status() == s,
            };
            if !ok {
                problems.push(format!("expected {:?}, got {what}", v.expect));
            }
            let closing = m
                .values("connection")
                .any(|c| c.eq_ignore_ascii_case(b"close"))
                || m.framing == strict::Framing::UntilClose;
            may_continue = !closing;
        }
        Read::Closed => problems.push("burr closed the connection without an answer".into()),
        Read::CutShort(b) => {
            what = format!("cut short: {}", show(b));
            if matches!(v.expect, ResponseExpect::Relay | ResponseExpect::BadGateway) {
                problems.push(format!("expected {:?}, got {what}", v.expect));
            }
        }
        Read::Invalid(e) => problems.push(format!("the client got a badly framed answer: {e}")),
    }
    if may_continue {
        tokio::time::sleep(Duration::from_millis(v.settle_ms)).await;
        let next = format!("/n/{tag}");
        if let Err(e) = echo_request(&mut stream, &mut buf, &next, recorder, true).await {
            problems.push(format!("the next request on the same connection: {e}"));
        }
    }
    drop(stream);
    if let Err(e) = probe(port, tag, recorder).await {
        problems.push(e);
    }
    check_received(&seen_for(recorder, tag), &mut problems);
    if !problems.is_empty() && !what.is_empty() {
        problems.push(format!("(first answer: {what})"));
    }
    problems
}

/// One vector of either side, as a lane runs it.
enum Vector {
    Request(usize),
    Response(usize),
}

/// A vector's outcome, for the report.
struct Outcome {
    name: String,
    bytes: Vec<u8>,
    problems: Vec<String>,
    /// The oracle's verdict on the client's first head (request side) and whether burr
    /// forwarded anything of it.
    verdict: Option<(RequestSafetyTier, bool)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desync_corpus_leaves_every_client_and_target_in_step() {
    let started = Instant::now();
    let request_vectors = Arc::new(requests::all());
    let response_vectors = Arc::new(responses::all());
    assert!(request_vectors.len() >= 300, "{}", request_vectors.len());
    assert!(response_vectors.len() >= 50, "{}", response_vectors.len());
    let mut names = std::collections::HashSet::new();
    for name in request_vectors
        .iter()
        .map(|v| &v.name)
        .chain(response_vectors.iter().map(|v| &v.name))
    {
        assert!(names.insert(name.clone()), "two vectors named {name}");
    }
    assert!(names.len() < 1000, "tags have three digits");

    let mut recorders = Vec::new();
    for lane in 0..LANES {
        let crafted = response_vectors.clone();
        recorders.push(Arc::new(
            Recorder::start(&format!("t{lane}"), move |m, id| answer(m, id, &crafted)).await,
        ));
    }
    let ports: Vec<u16> = (0..LANES).map(|_| free_port()).collect();
    let targets: Vec<_> = recorders.iter().map(|r| r.addr).collect();
    let burr = Burr::start(&lanes_config(&ports, &targets));

    // Request and response vectors interleaved, dealt to lanes in turn.
    let mut order: Vec<Vector> = (0..request_vectors.len()).map(Vector::Request).collect();
    let every = request_vectors.len() / response_vectors.len().max(1);
    for i in (0..response_vectors.len()).rev() {
        order.insert((i * every).min(order.len()), Vector::Response(i));
    }
    let mut lanes: Vec<Vec<(usize, Vector)>> = (0..LANES).map(|_| Vec::new()).collect();
    for (n, vector) in order.into_iter().enumerate() {
        lanes[n % LANES].push((n, vector));
    }
    let mut running = tokio::task::JoinSet::new();
    for (lane, vectors) in lanes.into_iter().enumerate() {
        let (port, recorder) = (ports[lane], recorders[lane].clone());
        let (request_vectors, response_vectors) =
            (request_vectors.clone(), response_vectors.clone());
        running.spawn(async move {
            let mut outcomes = Vec::new();
            for (n, vector) in vectors {
                let tag = tag(n);
                outcomes.push(match vector {
                    Vector::Request(i) => {
                        let v = &request_vectors[i];
                        let bytes = with_tag(&v.bytes, &tag);
                        let problems = run_request(port, &recorder, &tag, v).await;
                        let forwarded = seen_for(&recorder, &tag)
                            .iter()
                            .any(|s| matches!(s, Seen::Request { .. }));
                        Outcome {
                            name: v.name.clone(),
                            verdict: Some((oracle(&bytes), forwarded)),
                            bytes,
                            problems,
                        }
                    }
                    Vector::Response(i) => {
                        let v = &response_vectors[i];
                        let bytes: Vec<u8> = v
                            .pieces
                            .iter()
                            .flat_map(|p| match p {
                                Piece::Bytes(b) => b.clone(),
                                _ => Vec::new(),
                            })
                            .collect();
                        Outcome {
                            name: v.name.clone(),
                            problems: run_response(port, &recorder, &tag, i, v).await,
                            bytes,
                            verdict: None,
                        }
                    }
                });
            }
            outcomes
        });
    }
    let mut outcomes = Vec::new();
    while let Some(lane) = running.join_next().await {
        outcomes.extend(lane.unwrap());
    }
    // Late entries (a connection closed after its vector was judged) are judged too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut late = Vec::new();
    for recorder in &recorders {
        for s in recorder.seen() {
            if let Seen::Invalid { .. } = s {
                let mut problems = Vec::new();
                check_received(std::slice::from_ref(&s), &mut problems);
                late.push((find_tag(s.raw()), problems));
            }
        }
    }
    for (tag, problems) in late {
        let index = tag.and_then(|t| t[1..4].parse::<usize>().ok());
        if let Some(o) = outcomes
            .iter_mut()
            .find(|o| index.is_some_and(|i| tag_of(&o.bytes) == Some(i)))
        {
            for p in problems {
                if !o.problems.contains(&p) {
                    o.problems.push(p);
                }
            }
        }
    }
    let elapsed = started.elapsed();
    drop(burr);

    // The report.
    let pending: BTreeMap<&str, &str> = PENDING.iter().copied().collect();
    let failing: Vec<&Outcome> = outcomes.iter().filter(|o| !o.problems.is_empty()).collect();
    let mut report = String::new();
    for o in &failing {
        report.push_str(&format!(
            "\nFAIL {}{}\n  sent: {}\n",
            o.name,
            pending
                .get(o.name.as_str())
                .map(|why| format!(" (pending: {why})"))
                .unwrap_or_default(),
            show(&o.bytes)
        ));
        for p in &o.problems {
            report.push_str(&format!("  - {p}\n"));
        }
    }
    let mut verdicts: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for (tier, forwarded) in outcomes.iter().filter_map(|o| o.verdict) {
        *verdicts
            .entry((format!("{tier:?}"), forwarded))
            .or_default() += 1;
    }
    report.push_str(&format!(
        "\n{} request-side and {} response-side vectors in {:.1} s over {LANES} lanes; {} \
         failing ({} of them pending fixes)\nhttp_desync_guardian on the client's first head \
         (tier, burr forwarded something): {verdicts:?}\n",
        request_vectors.len(),
        response_vectors.len(),
        elapsed.as_secs_f64(),
        failing.len(),
        failing
            .iter()
            .filter(|o| pending.contains_key(o.name.as_str()))
            .count(),
    ));
    println!("{report}");
    let unexpected: Vec<&str> = failing
        .iter()
        .map(|o| o.name.as_str())
        .filter(|n| !pending.contains_key(n))
        .collect();
    let fixed: Vec<&str> = pending
        .keys()
        .copied()
        .filter(|n| !failing.iter().any(|o| o.name == *n))
        .collect();
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "failing vectors not known to be pending: {unexpected:?}\npending vectors that now \
         pass (remove them from PENDING): {fixed:?}\n{report}"
    );
}

/// The tag number in a vector's bytes.
fn tag_of(bytes: &[u8]) -> Option<usize> {
    find_tag(bytes).and_then(|t| t[1..4].parse().ok())
}

#[test]
fn strict_parser_refuses_ambiguous_messages() {
    let ok = "GET /a HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    assert!(matches!(strict::request(ok.as_bytes()), Parsed::Complete(m) if m.len == ok.len()));
    let chunked = "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n";
    assert!(
        matches!(strict::request(chunked.as_bytes()), Parsed::Complete(m) if m.body == b"hello")
    );
    for bad in [
        "GET /a HTTP/1.1\nHost: a\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
        "GET /a HTTP/1.1\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a, b\r\n\r\n",
        "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a HTTP/1.0\r\nHost: a\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n",
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 1\r\n\r\n",
    ] {
        assert!(
            matches!(strict::request(bad.as_bytes()), Parsed::Invalid(_)),
            "{bad:?}"
        );
    }
    // Incomplete, not invalid, while more bytes could complete it.
    assert!(matches!(
        strict::request(b"GET /a HTTP/1.1\r\nHost: a\r"),
        Parsed::Incomplete
    ));
    let stream = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n\r\nrest";
    let all = strict::responses(stream.as_bytes(), |_| false).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].body, b"rest");
    for bad in [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi!",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhi",
    ] {
        assert!(
            strict::responses(bad.as_bytes(), |_| false).is_err(),
            "{bad:?}"
        );
    }
}
