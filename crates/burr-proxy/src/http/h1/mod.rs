//! burr's own HTTP/1.1 proxy loop, the fast path for plain keep-alive traffic.
//!
//! One task per client connection does everything: it reads a request head, parses it in place
//! with `httparse`, chooses the target, writes the rewritten head (and the body) to a raw
//! upstream connection it holds for the exchange, reads the response head, writes the rewritten
//! head and relays the body, then hands the upstream connection back to the target's idle list.
//! No header map is built, no second task or channel carries the exchange, and each message
//! crosses each socket in as few `send`/`recv` calls as its size allows. This is what brings
//! burr's CPU per request under HAProxy's (see `docs/performance.md`).
//!
//! Each request's head is matched against the listener's rules (`crate::actions::route`, the
//! same decision hyper's path takes): a forward goes on as below with the pool the action
//! chose; a fixed response or redirect is written here, the request body (if short enough)
//! read and dropped so the connection stays usable.
//!
//! It serves only what it can serve simply and strictly: HTTP/1.1 requests in origin form with
//! no body or a `Content-Length` body, to pools without PROXY protocol. Anything else (HTTP/1.0,
//! upgrades, `CONNECT`, `Expect`, chunked uploads, malformed or refused heads, heads too large
//! for its header slots) ends the fast path: the connection, with the bytes already read, goes
//! to hyper behind the framing guard ([`Ending::Fallback`]), which answers it and every later
//! request exactly as before. Responses of every framing are relayed here (length, chunked
//! verbatim with its end found by the chunk scanner, until close, none).
//!
//! The upstream half of an exchange (target choice, checkout, send, response head with its
//! timeout and interim heads, replays) is [`reach`], which HTTP/2 streams (`http::h2`) share.

mod buffer;
mod connections;
mod names;
pub(crate) mod reach;
mod relay;
pub(crate) mod request;
pub(crate) mod response;

pub use connections::RawConnection;
pub use request::Forwarded;
pub(crate) use request::write_field;
pub(crate) use response::SetCookieLines;

pub(crate) use connections::release;
use reach::Reached;

use super::Connection;
use super::observe::{self, Ended, LogHead, Times};
use super::proxy::ProxyError;
use crate::actions::{self, GroupCookie, Outcome};
use crate::affinity::{Affinity, RequestHeaders, client_hash};
use crate::attempts::Attempts;
use crate::canary::{ArmMark, Extras, Strip};
use crate::framing::{self, BodyFraming};
use crate::routing::{RequestView, split_target};
use crate::runtime::{ListenerRuntime, PoolRuntime, TargetShared};
use crate::splice::ClientSocket;
use crate::target_stream::TargetStream;
use buffer::InputBuffer;
use http::StatusCode;
use relay::{discard_body, relay_request_body, relay_response, send};
use request::{NotFast, header_slots};
use response::ResponseBody;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// Client read buffer to start with (grown up to the head limit for larger heads).
const CLIENT_BUFFER: usize = 4096;

/// Body bytes already read that are copied behind a head so both leave in one `send`; more
/// are written separately.
const COALESCE: usize = 16 * 1024;

/// Interim (1xx) responses relayed before the final one; past this the client gets a 502.
pub(crate) const MAX_INTERIM_RESPONSES: usize = 100;

/// What the idle watchdog needs to know of the connection, shared with the loop.
#[derive(Default)]
pub struct Flags {
    /// A request is being read or served (the watchdog must not cut it).
    busy: AtomicBool,
    /// The connection idled out while busy: close once the current exchange is done.
    close_after: AtomicBool,
}

impl Flags {
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    pub fn close_after_exchange(&self) {
        self.close_after.store(true, Ordering::Relaxed);
    }
}

/// How the fast path left a connection.
pub enum Ending<I> {
    /// Closed, or to be dropped.
    Closed,
    /// Left to hyper from here on, with the bytes read and not yet served.
    Fallback { io: I, buffered: Vec<u8> },
}

/// The connection's limits.
#[derive(Clone, Copy)]
pub struct Limits {
    pub head_timeout: Duration,
    pub max_head: usize,
    pub max_headers: usize,
}

/// Serves HTTP/1.1 requests on `io` until the connection closes or needs hyper.
pub(super) async fn serve<I>(
    mut io: I,
    conn: &Connection,
    flags: &Flags,
    limits: Limits,
) -> Ending<I>
where
    I: AsyncRead + AsyncWrite + Unpin + ClientSocket,
{
    let mut input = InputBuffer::new(CLIENT_BUFFER);
    let mut out = Vec::new();
    loop {
        if flags.close_after.load(Ordering::Relaxed) {
            break;
        }
        let head_len = match read_head(&mut io, &mut input, flags, limits).await {
            HeadRead::Complete(n) => n,
            HeadRead::TooLarge => return fallback(io, input),
            HeadRead::Closed => return Ending::Closed,
            HeadRead::TimedOut => {
                let text = format!(
                    "request timeout: request head not received within {} s\n",
                    limits.head_timeout.as_secs()
                );
                framing::plain_response(&mut out, StatusCode::REQUEST_TIMEOUT, &text, true);
                let _ = send(&mut io, &out).await;
                break;
            }
        };
        match exchange(&mut io, &mut input, head_len, conn, flags, limits, &mut out).await {
            // Room a bulk request body took goes back before the connection waits again.
            Exchanged::KeepAlive => input.shrink(CLIENT_BUFFER),
            Exchanged::Close => break,
            Exchanged::Broken => return Ending::Closed,
            Exchanged::NotFast => return fallback(io, input),
        }
    }
    let _ = io.shutdown().await;
    Ending::Closed
}

fn fallback<I>(io: I, input: InputBuffer) -> Ending<I> {
    Ending::Fallback {
        io,
        buffered: input.into_rest(),
    }
}

enum HeadRead {
    /// A complete head of this many bytes is available.
    Complete(usize),
    /// Larger than the limit without ending: hyper answers 431.
    TooLarge,
    /// The client closed or failed (an incomplete head is dropped, as hyper does).
    Closed,
    /// The head's first byte came longer than the head timeout ago.
    TimedOut,
}

/// Waits for a complete request head. The head timeout runs from the first byte of a head that
/// did not arrive in one read; waiting for a new request is the idle watchdog's business.
async fn read_head<I: AsyncRead + Unpin>(
    io: &mut I,
    input: &mut InputBuffer,
    flags: &Flags,
    limits: Limits,
) -> HeadRead {
    let mut deadline = None;
    loop {
        // Empty lines between requests are ignored (RFC 9112 §2.2): they start no head.
        let blank = input
            .available()
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        input.consume(blank);
        if let Some(end) = framing::head_end(input.available()) {
            return if end > limits.max_head {
                HeadRead::TooLarge
            } else {
                HeadRead::Complete(end)
            };
        }
        if input.available().len() > limits.max_head {
            return HeadRead::TooLarge;
        }
        let read = if input.is_empty() {
            flags.busy.store(false, Ordering::Relaxed);
            input.fill(io).await
        } else {
            let at =
                *deadline.get_or_insert_with(|| tokio::time::Instant::now() + limits.head_timeout);
            match tokio::time::timeout_at(at, input.fill(io)).await {
                Ok(read) => read,
                Err(_) => return HeadRead::TimedOut,
            }
        };
        match read {
            Ok(n) if n > 0 => flags.busy.store(true, Ordering::Relaxed),
            _ => return HeadRead::Closed,
        }
    }
}

/// How one exchange left the client connection.
enum Exchanged {
    /// Ready for the next request.
    KeepAlive,
    /// Answered; the connection closes now (asked for, or required by the response).
    Close,
    /// Broken mid-message: drop the connection without another word.
    Broken,
    /// The request is hyper's to serve (nothing of it was consumed or counted).
    NotFast,
}

/// What the request said that outlives its parsed head.
struct Asked {
    is_head: bool,
    /// The upstream connection is not used again after this request.
    last_upstream: bool,
    /// A method the client expects to be safe to repeat (RFC 9110 §9.2.2).
    idempotent: bool,
    close: bool,
    /// Body bytes still to be read from the client after those already in `out`.
    body_left: u64,
    /// The access log's parts of the request, kept only when there is an access log (boxed:
    /// an exchange without a log carries a pointer's worth of it).
    log: Option<Box<LogHead>>,
    /// The request's timing points (none taken when nothing is timed).
    times: Times,
    /// Bytes written to the client for this request.
    sent: u64,
    /// The final response head burr is relaying: its status and target (kept only when there
    /// is an access log, so a broken exchange's record says what the client was being sent).
    answered: Option<(u16, Arc<TargetShared>)>,
}

/// Serves the request whose head is the first `head_len` available bytes of `input`.
async fn exchange<I>(
    io: &mut I,
    input: &mut InputBuffer,
    head_len: usize,
    conn: &Connection,
    flags: &Flags,
    limits: Limits,
    out: &mut Vec<u8>,
) -> Exchanged
where
    I: AsyncRead + AsyncWrite + Unpin + ClientSocket,
{
    let times = Times::start(conn);
    let listener = conn.slot.current();
    let Ok((begun, mut asked)) = begin(input, head_len, conn, &listener, limits, out) else {
        return Exchanged::NotFast;
    };
    asked.times = times;
    let (served, pool_name) = match begun {
        Begun::Forward {
            pool,
            session,
            client_hash,
            group,
            mark,
            strip,
        } => {
            let served = match Attempts::new(pool, session, client_hash) {
                Ok(attempts) => {
                    let route = Route {
                        listener: &listener,
                        pool,
                        extras: Extras {
                            strip,
                            group: group.as_ref(),
                            mark: mark.as_ref(),
                        },
                    };
                    forward(io, input, route, attempts, &mut asked, flags, out).await
                }
                Err(unavailable) => Err(Failure::Reply(unavailable.into())),
            };
            (served, pool.spec.name.as_str())
        }
        Begun::Answered { status, close } => {
            // `out` holds the whole answer; the request's body goes nowhere.
            if !close && asked.body_left > 0 {
                if discard_body(io, input, asked.body_left).await.is_err() {
                    return broken(conn, &listener, asked, None);
                }
                asked.body_left = 0;
            }
            asked.sent = out.len() as u64;
            if send(io, out).await.is_err() {
                return broken(conn, &listener, asked, None);
            }
            finish(conn, &listener, asked, status, None, None);
            listener.stats.count_response(status);
            return if close {
                Exchanged::Close
            } else {
                Exchanged::KeepAlive
            };
        }
    };
    let mut error_reason = None;
    let (status, target, outcome) = match served {
        Ok(Served {
            status,
            target,
            close,
        }) => (
            status,
            Some(target),
            if close {
                Exchanged::Close
            } else {
                Exchanged::KeepAlive
            },
        ),
        Err(Failure::Broken) => return broken(conn, &listener, asked, None),
        Err(Failure::Reply(error)) => {
            tracing::debug!(listener = %listener.key, %error, "request failed");
            if asked.log.is_some() {
                error_reason = observe::error_reason(&error);
            }
            let (status, text) = error.status_and_text(pool_name);
            // A body not read to its end leaves the stream unusable for another request.
            let close = asked.close || asked.body_left > 0 || status == StatusCode::BAD_REQUEST;
            framing::plain_response(out, status, &text, close);
            asked.sent += out.len() as u64;
            if send(io, out).await.is_err() {
                return broken(conn, &listener, asked, error_reason);
            }
            let outcome = if close {
                Exchanged::Close
            } else {
                Exchanged::KeepAlive
            };
            (status.as_u16(), None, outcome)
        }
    };
    listener.stats.count_response(status);
    finish(
        conn,
        &listener,
        asked,
        status,
        target.as_deref(),
        error_reason,
    );
    outcome
}

/// Records an exchange that was answered in full: the histograms, and the access log's record.
fn finish(
    conn: &Connection,
    listener: &ListenerRuntime,
    asked: Asked,
    status: u16,
    target: Option<&TargetShared>,
    error_reason: Option<&'static str>,
) {
    let end = asked.times.end();
    observe::observe(conn, listener, target, &asked.times, end);
    let ended = Ended {
        status,
        // The fast path relays the target's status line as it is.
        target: target.map(|t| (t, status)),
        sent_bytes: asked.sent,
        error_reason,
        complete: true,
        upgraded: false,
    };
    observe::log(conn, listener, asked.log, &asked.times, end, ended);
}

/// ALB's status for a request whose client closed the connection before burr answered it.
const CLIENT_CLOSED: u16 = 460;

/// Records an exchange that broke mid-message in the access log (the histograms count only
/// exchanges answered in full): with the status and target of the response head when it was
/// going out (its body then broke: the target cut it short or framed it badly, or the client
/// left), else ALB's 460, as every break before the head is the client leaving (a target that
/// fails before its head is answered with a 502 of burr's own, not broken).
fn broken(
    conn: &Connection,
    listener: &ListenerRuntime,
    mut asked: Asked,
    error_reason: Option<&'static str>,
) -> Exchanged {
    if asked.log.is_some() {
        let answered = asked.answered.take();
        let status = answered
            .as_ref()
            .map_or(CLIENT_CLOSED, |(status, _)| *status);
        let ended = Ended {
            status,
            target: answered.as_ref().map(|(status, t)| (&**t, *status)),
            sent_bytes: asked.sent,
            error_reason,
            complete: false,
            upgraded: false,
        };
        let end = asked.times.end();
        observe::log(conn, listener, asked.log, &asked.times, end, ended);
    }
    Exchanged::Broken
}

/// What [`begin`] settled for a request. The large variant is the common one, and the value
/// lives only until it is matched: boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Begun<'p> {
    /// To a target of `pool`; `out` holds the rewritten head and the first body bytes.
    Forward {
        pool: &'p PoolRuntime,
        session: Option<Affinity<'p>>,
        client_hash: u64,
        group: Option<GroupCookie>,
        /// The canary arm's marks on the response.
        mark: Option<ArmMark<'p>>,
        strip: Strip<'p>,
    },
    /// Answered by the balancer (fixed response, redirect, no pool): `out` holds the whole
    /// response; `close` when the connection closes after it.
    Answered { status: u16, close: bool },
}

/// Parses the request head (the first `head_len` available bytes of `input`), evaluates the
/// listener's rules, starts its session and writes what goes to the target into `out`: the
/// rewritten head and the body bytes already read, all consumed from `input` (or, for an
/// answer of the balancer's own, that answer). Not async, so the header slots live on the
/// stack, not in every connection's future.
fn begin<'p>(
    input: &mut InputBuffer,
    head_len: usize,
    conn: &Connection,
    listener: &'p ListenerRuntime,
    limits: Limits,
    out: &mut Vec<u8>,
) -> Result<(Begun<'p>, Asked), NotFast> {
    let mut slots = header_slots();
    let head = request::parse(
        &input.available()[..head_len],
        &mut slots,
        limits.max_headers,
    )?;
    let (path, query) = split_target(head.target.as_bytes());
    let view = RequestView {
        method: head.method.as_bytes(),
        host: head.first("host"),
        path,
        query,
        headers: head.headers,
        source: conn.client.ip(),
    };
    let routed = crate::canary::route(listener, &view, &conn.request_context);
    if let Outcome::Forward { pool, .. } = &routed.outcome
        && pool.spec.upstream.proxy_protocol
    {
        // Upstream connections private to one client: hyper's pool keeps those.
        return Err(NotFast::Unusual);
    }
    listener
        .stats
        .count_request(routed.kind, routed.priority.is_some());
    let body_len = match head.body {
        BodyFraming::Length(n) => n,
        BodyFraming::None | BodyFraming::Chunked => 0, // chunked never reaches the fast path
    };
    let mut asked = Asked {
        is_head: head.method == "HEAD",
        last_upstream: head.last_upstream,
        idempotent: framing::rules::idempotent(head.method),
        close: head.close,
        body_left: body_len,
        log: None,
        times: Times::default(),
        sent: 0,
        answered: None,
    };
    if conn.access_log.is_some() {
        let host = LogHead::text(head.first("host"));
        let user_agent = LogHead::text(head.first("user-agent"));
        let parts = observe::HeadParts {
            method: head.method,
            uri: head.target,
            host: host.as_deref(),
            user_agent: user_agent.as_deref(),
            version: http::Version::HTTP_11,
            received_bytes: head_len as u64 + body_len,
        };
        asked.log = Some(Box::new(LogHead::new(listener, parts, Some(&routed))));
    }
    let begun = match routed.outcome {
        Outcome::Forward { pool, group } => {
            let client_hash = client_hash(pool, conn.client.ip());
            let session = Affinity::begin(pool, &head, client_hash);
            head.write_upstream_stripped(
                out,
                &conn.fast_forwarded,
                session.as_ref(),
                &routed.strip,
            );
            Begun::Forward {
                pool,
                session,
                client_hash,
                group,
                mark: routed.mark,
                strip: routed.strip,
            }
        }
        Outcome::Answer(answer) => {
            // A body too long to read for nothing closes the connection instead.
            let close = asked.close || body_len > actions::MAX_DISCARDED_BODY;
            answer.write_h1(out, close, asked.is_head, routed.mark.as_ref());
            input.consume(head_len);
            let early = (body_len.min(input.available().len() as u64)) as usize;
            input.consume(early);
            asked.body_left -= early as u64;
            let status = answer.status().as_u16();
            return Ok((Begun::Answered { status, close }, asked));
        }
    };
    input.consume(head_len);
    // The body bytes already read leave with the head.
    let early = (body_len.min(input.available().len() as u64)) as usize;
    out.extend_from_slice(&input.available()[..early]);
    input.consume(early);
    asked.body_left -= early as u64;
    Ok((begun, asked))
}

/// Where [`forward`] sends a request: the listener, the pool its rules chose and burr's marks
/// on the response (group cookie, canary arm).
struct Route<'a> {
    listener: &'a ListenerRuntime,
    pool: &'a PoolRuntime,
    extras: Extras<'a>,
}

/// A response relayed in full.
struct Served {
    status: u16,
    target: Arc<TargetShared>,
    /// The client connection closes after it.
    close: bool,
}

pub(crate) enum Failure {
    /// Nothing was sent to the client yet: answer this error.
    Reply(ProxyError),
    /// The client connection broke, or a response was cut short: drop it.
    Broken,
}

/// Sends the request in `out` (head and first body bytes) to a target of the pool, retrying
/// other targets when connecting fails ([`reach`]), and relays the response.
async fn forward<I>(
    io: &mut I,
    input: &mut InputBuffer,
    route: Route<'_>,
    mut attempts: Attempts<'_>,
    asked: &mut Asked,
    flags: &Flags,
    out: &mut Vec<u8>,
) -> Result<Served, Failure>
where
    I: AsyncRead + AsyncWrite + Unpin + ClientSocket,
{
    let Route {
        listener,
        pool,
        extras,
    } = route;
    let tls = listener.spec.target_protocol().is_tls();
    let mut request = ClientRequest {
        io,
        input,
        asked,
        out,
    };
    let reached = reach::reach(&mut attempts, pool, tls, &mut request).await?;
    let ClientRequest { io, asked, out, .. } = request;
    let Reached {
        index,
        mut upstream,
        head_len,
        lease: _lease,
    } = reached;
    let target = &pool.targets[index].shared;
    asked.times.response_head();
    let (status, body, keep_upstream, close) = answer_head(
        &upstream, head_len, asked, &attempts, target, &extras, flags, out,
    )?;
    upstream.input.consume(head_len);
    asked.times.response_start();
    if asked.log.is_some() {
        asked.answered = Some((status, target.clone()));
    }
    let complete = relay_response(io, &mut upstream, body, out, &mut asked.sent).await?;
    if keep_upstream && complete && upstream.input.is_empty() && !asked.last_upstream {
        connections::release(target, upstream, tls);
    }
    Ok(Served {
        status,
        target: target.clone(),
        close,
    })
}

/// An HTTP/1.1 client's request as the attempt loop sends it: the head and first body bytes
/// in `out`, the rest of a `Content-Length` body still on the client connection.
struct ClientRequest<'a, I> {
    io: &'a mut I,
    input: &'a mut InputBuffer,
    asked: &'a mut Asked,
    out: &'a mut Vec<u8>,
}

impl<I: AsyncRead + AsyncWrite + Unpin + ClientSocket> reach::Outgoing for ClientRequest<'_, I> {
    fn whole(&self) -> bool {
        self.asked.body_left == 0
    }

    fn idempotent(&self) -> bool {
        self.asked.idempotent
    }

    async fn send_head(&mut self, upstream: &mut TargetStream) -> std::io::Result<()> {
        send(upstream, self.out).await?;
        self.asked.times.sent_upstream();
        Ok(())
    }

    async fn send_body(&mut self, upstream: &mut TargetStream) -> Result<(), Failure> {
        if self.asked.body_left > 0 {
            relay_request_body(self.io, self.input, upstream, self.asked.body_left).await?;
            self.asked.body_left = 0;
        }
        Ok(())
    }

    async fn interim(&mut self, raw: &[u8]) -> Result<(), Failure> {
        // Rewritten like a final head: no hop-by-hop or framing fields reach the client.
        interim_head(raw, self.out)
            .map_err(|e| Failure::Reply(ProxyError::Upstream(e.to_string())))?;
        self.asked.sent += self.out.len() as u64;
        send(self.io, self.out).await.map_err(|_| Failure::Broken)
    }
}

/// Writes the interim response head `raw` as the client gets it into `out`.
fn interim_head(raw: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut slots = header_slots();
    let head = response::parse(raw, &mut slots, false)?;
    if head.has_framing_fields() {
        // A 1xx has no body (RFC 9110 §15.2): a target framing one means something else by
        // the bytes that follow than burr would read.
        return Err("framing fields in an interim response");
    }
    head.write_client(out, &[]);
    response::end_head(out, false);
    Ok(())
}

/// True for a 1xx head other than 101 (`HTTP/1.x 1dd `).
fn is_interim(head: &[u8]) -> bool {
    let line = head.trim_ascii_start();
    line.len() > 12 && line.starts_with(b"HTTP/1.") && line[9] == b'1' && &line[9..12] != b"101"
}

/// What the client is told of a final response head: its rewritten head goes into `out`.
/// Returns the status, the body's framing, whether the target keeps the connection and
/// whether the client's closes. Not async, for the same reason as [`begin`].
#[allow(clippy::too_many_arguments)]
fn answer_head(
    upstream: &RawConnection,
    head_len: usize,
    asked: &Asked,
    attempts: &Attempts<'_>,
    target: &TargetShared,
    extras: &Extras<'_>,
    flags: &Flags,
    out: &mut Vec<u8>,
) -> Result<(u16, ResponseBody, bool, bool), Failure> {
    let mut slots = header_slots();
    let head = response::parse(
        &upstream.input.available()[..head_len],
        &mut slots,
        asked.is_head,
    )
    .map_err(|e| Failure::Reply(ProxyError::Upstream(e.to_string())))?;
    if head.status == 101 {
        // No upgrade was asked for (those are hyper's): a target switching anyway is broken.
        return Err(Failure::Reply(ProxyError::Upstream(
            "101 without an upgrade request".into(),
        )));
    }
    let close = asked.close
        || head.body == ResponseBody::UntilClose
        || flags.close_after.load(Ordering::Relaxed);
    head.write_client(out, attempts.own_cookie_names());
    attempts.served(target, head.set_cookies(), &mut SetCookieLines(out));
    extras.write_response(&mut SetCookieLines(out));
    if let Some(mark) = extras.mark {
        mark.write_arm_header_h1(out);
    }
    response::end_head(out, close);
    Ok((head.status, head.body, head.keep_alive, close))
}
