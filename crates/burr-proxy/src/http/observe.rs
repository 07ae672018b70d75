//! What one HTTP request records as it is served, on both paths: its timing points as ELB
//! splits them (head received, request sent to the target, the target's response head, the
//! response starting out to the client, response sent in full), the latency histograms they
//! feed, and the access-log [`Record`].
//!
//! Nothing here costs anything when neither the histograms nor the access log is on: no
//! `Instant` is taken ([`Times::start`] leaves `received` empty and every later stamp follows
//! it), and the record's parts ([`LogHead`]) are built only under `if let Some(log)`.

use super::Connection;
use super::proxy::ProxyError;
use crate::access_log::{ClientProtocol, Record, TextFields, Texts};
use crate::runtime::{ListenerRuntime, TargetShared};
use http::Version;
use std::borrow::Cow;
use std::time::{Instant, SystemTime};

/// A request's timing points; all `None` when nothing is timed.
#[derive(Clone, Copy, Default)]
pub(super) struct Times {
    /// The request head arrived (t0).
    pub received: Option<Instant>,
    /// The request head was written to the target (t1; the last attempt's).
    pub sent_upstream: Option<Instant>,
    /// The target's final response head arrived (t2): taken only for the access log.
    pub response_head: Option<Instant>,
    /// burr started sending the response to the client (the end of ELB's
    /// `response_processing`): taken only for the access log.
    pub response_start: Option<Instant>,
    wants_head: bool,
}

impl Times {
    /// Stamps the head's arrival, when the histograms or the access log are on.
    pub fn start(conn: &Connection) -> Self {
        let logged = conn.access_log.is_some();
        Self {
            received: (conn.histograms || logged).then(Instant::now),
            wants_head: logged,
            ..Self::default()
        }
    }

    pub fn sent_upstream(&mut self) {
        if self.received.is_some() {
            self.sent_upstream = Some(Instant::now());
        }
    }

    pub fn response_head(&mut self) {
        if self.wants_head {
            self.response_head = Some(Instant::now());
        }
    }

    pub fn response_start(&mut self) {
        if self.wants_head {
            self.response_start = Some(Instant::now());
        }
    }

    /// The end of the request (t3), when it is timed.
    pub fn end(&self) -> Option<Instant> {
        self.received.map(|_| Instant::now())
    }
}

/// Feeds the histograms with a request that ended at `end`: the listener's (t0 → t3) always,
/// the target's (t1 → t3) when a target answered in full.
pub(super) fn observe(
    conn: &Connection,
    listener: &ListenerRuntime,
    target: Option<&TargetShared>,
    times: &Times,
    end: Option<Instant>,
) {
    if !conn.histograms {
        return;
    }
    let (Some(received), Some(end)) = (times.received, end) else {
        return;
    };
    listener
        .stats
        .request_duration
        .observe(end.saturating_duration_since(received));
    if let (Some(target), Some(sent)) = (target, times.sent_upstream) {
        target
            .stats
            .response_duration
            .observe(end.saturating_duration_since(sent));
    }
}

/// The parts of a request's access-log record known once its head is read and routed.
pub(super) struct LogHead {
    /// The balancer, method, target, `Host`, `User-Agent`, redirect location and pool.
    pub texts: Texts,
    pub version: Version,
    /// Request head and body as received (the fast path's exact count; hyper's path: the head
    /// as HTTP/1.1 text and the declared body length, or, without one, the body bytes counted
    /// as they were read, added at the end).
    pub received_bytes: u64,
    pub action: &'static str,
    pub rule_priority: Option<u32>,
    /// The listener's rules ran (false: refused before routing).
    pub routed: bool,
}

/// What a request's log head reads from the request itself (both paths' views of it).
pub(super) struct HeadParts<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub host: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub version: Version,
    pub received_bytes: u64,
}

impl LogHead {
    /// The log head of a request on `listener` that the rules decided (`routed`; `None` for
    /// one refused before routing): its texts packed in one buffer.
    pub fn new(
        listener: &ListenerRuntime,
        parts: HeadParts<'_>,
        routed: Option<&crate::actions::Routed<'_>>,
    ) -> Self {
        use crate::actions::{ACTION_KINDS, Answer, Outcome};
        let (redirect_url, pool) = match routed.map(|r| &r.outcome) {
            Some(Outcome::Answer(Answer::Redirect { location, .. })) => {
                (Some(location.as_str()), None)
            }
            Some(Outcome::Forward { pool, .. }) => (None, Some(pool.spec.name.as_str())),
            _ => (None, None),
        };
        LogHead {
            texts: Texts::pack(TextFields {
                balancer: &listener.key.balancer,
                method: parts.method,
                uri: parts.uri,
                host: parts.host,
                user_agent: parts.user_agent,
                redirect_url,
                pool,
            }),
            version: parts.version,
            received_bytes: parts.received_bytes,
            action: routed
                .and_then(|r| ACTION_KINDS.get(r.kind))
                .copied()
                .unwrap_or("forward"),
            rule_priority: routed.and_then(|r| r.priority),
            routed: routed.is_some(),
        }
    }

    /// Text of a header value as the log shows it (lossy: a log line is text). Valid UTF-8,
    /// the usual case, is borrowed as it is: `from_utf8_lossy` alone cost 650 instructions a
    /// request for `Host` and `User-Agent` (callgrind).
    pub fn text(value: Option<&[u8]>) -> Option<Cow<'_, str>> {
        value.map(|v| match std::str::from_utf8(v) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(v),
        })
    }
}

/// How a request ended, besides its times.
pub(super) struct Ended<'a> {
    pub status: u16,
    /// The target that answered, and the status it answered with.
    pub target: Option<(&'a TargetShared, u16)>,
    pub sent_bytes: u64,
    pub error_reason: Option<&'static str>,
    /// The response went out in full (else the client left, or the response broke).
    pub complete: bool,
    /// A 101 switched the connection to another protocol (`ws`/`wss` in the log).
    pub upgraded: bool,
}

/// Queues the access-log record of a request, when the log is on.
pub(super) fn log(
    conn: &Connection,
    listener: &ListenerRuntime,
    head: Option<Box<LogHead>>,
    times: &Times,
    end: Option<Instant>,
    ended: Ended<'_>,
) {
    let (Some(log), Some(head), Some(received)) = (&conn.access_log, head, times.received) else {
        return;
    };
    let end = end.unwrap_or_else(Instant::now);
    let between = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
        (Some(from), Some(to)) => Some(to.saturating_duration_since(from)),
        _ => None,
    };
    let head = *head;
    // AWS's three times exist only for a request a target answered; the response's own time
    // ends when it started out to the client, and only counts when it went out in full.
    let answered = ended.target.is_some();
    let (request_processing, target_processing, response_processing) = if answered {
        (
            between(Some(received), times.sent_upstream),
            between(times.sent_upstream, times.response_head),
            if ended.complete {
                between(times.response_head, times.response_start)
            } else {
                None
            },
        )
    } else {
        (None, None, None)
    };
    let tls = conn.client_tls.get().cloned();
    let protocol = match (
        tls.is_some(),
        head.version == Version::HTTP_2,
        ended.upgraded,
    ) {
        (false, _, true) => ClientProtocol::Ws,
        (true, _, true) => ClientProtocol::Wss,
        (true, true, false) => ClientProtocol::H2,
        (true, false, false) => ClientProtocol::Https,
        (false, _, false) => ClientProtocol::Http,
    };
    log.write(Record {
        received_at: SystemTime::now()
            .checked_sub(end.saturating_duration_since(received))
            .unwrap_or(SystemTime::UNIX_EPOCH),
        client: conn.client,
        port: listener.key.port,
        protocol,
        texts: head.texts,
        version: head.version,
        status: ended.status,
        target: ended.target.map(|(t, _)| t.address.clone()),
        target_status: ended.target.map(|(_, status)| status),
        request_processing,
        target_processing,
        response_processing,
        elapsed: end.saturating_duration_since(received),
        received_bytes: head.received_bytes,
        sent_bytes: ended.sent_bytes,
        tls,
        routed: head.routed,
        rule_priority: head.rule_priority,
        action: head.action,
        error_reason: ended.error_reason,
    });
}

/// ALB's `error_reason` for a request burr answered itself because the target did not, where
/// ALB has a name for the case; burr's own names (same style) otherwise.
pub(super) fn error_reason(error: &ProxyError) -> Option<&'static str> {
    Some(match error {
        ProxyError::ConnectFailed { .. } => "TargetConnectionError",
        ProxyError::Timeout(_) => "TargetResponseTimeout",
        ProxyError::Upstream(_) => "TargetClosedConnection",
        ProxyError::NoTarget => "NoHealthyTarget",
        ProxyError::SessionTargetDown => "SessionTargetDown",
        ProxyError::ClientBody(_) => "ClientRequestBodyError",
        // Refused by burr's request rules: an answer of its own, not a target's failure.
        ProxyError::Refused(_) => return None,
    })
}

/// What a request on hyper's path records when its response body is dropped: the body is what
/// hyper holds last, so its end is the request's (t3).
pub(super) struct RequestEnd {
    pub conn: std::sync::Arc<Connection>,
    pub listener: std::sync::Arc<ListenerRuntime>,
    pub times: Times,
    /// The target that answered (its status is the response's).
    pub target: Option<std::sync::Arc<TargetShared>>,
    pub status: u16,
    /// The response head's size as HTTP/1.1 text.
    pub head_bytes: u64,
    pub log: Option<Box<LogHead>>,
    pub error_reason: Option<&'static str>,
    pub upgraded: bool,
    /// The request body's bytes, counted as they were read when its length was not declared.
    pub body_counted: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// The response carries no body (an answer to HEAD, a 204 or a 304): hyper never polls
    /// its body, so it is complete once its head went out.
    pub bodiless: bool,
}

impl RequestEnd {
    /// Records the request: `complete` when its body went out in full, `body_bytes` of it sent.
    pub fn finish(mut self, complete: bool, body_bytes: u64) {
        let complete = complete || self.bodiless;
        if let (Some(head), Some(counted)) = (&mut self.log, &self.body_counted) {
            head.received_bytes += counted.load(std::sync::atomic::Ordering::Relaxed);
        }
        let end = self.times.end();
        if complete {
            observe(
                &self.conn,
                &self.listener,
                self.target.as_deref(),
                &self.times,
                end,
            );
        }
        let ended = Ended {
            status: self.status,
            target: self.target.as_deref().map(|t| (t, self.status)),
            sent_bytes: self.head_bytes + body_bytes,
            error_reason: self.error_reason,
            complete,
            upgraded: self.upgraded,
        };
        log(
            &self.conn,
            &self.listener,
            self.log,
            &self.times,
            end,
            ended,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_copied_and_invalid_bytes_replaced() {
        assert_eq!(
            LogHead::text(Some(b"curl/8.5")).as_deref(),
            Some("curl/8.5")
        );
        assert_eq!(
            LogHead::text(Some(b"a\xffb")).as_deref(),
            Some("a\u{fffd}b")
        );
        assert_eq!(LogHead::text(None), None);
    }

    #[test]
    fn target_failures_get_albs_error_reasons() {
        let connect = ProxyError::ConnectFailed {
            tried: 2,
            last: "refused".into(),
        };
        assert_eq!(error_reason(&connect), Some("TargetConnectionError"));
        assert_eq!(
            error_reason(&ProxyError::Timeout(3)),
            Some("TargetResponseTimeout")
        );
        assert_eq!(
            error_reason(&ProxyError::Upstream("reset".into())),
            Some("TargetClosedConnection")
        );
        let refused = ProxyError::Refused(crate::framing::rules::CONNECT_REFUSAL);
        assert_eq!(error_reason(&refused), None);
    }

    #[test]
    fn no_instant_is_taken_when_nothing_is_timed() {
        let mut times = Times::default();
        times.sent_upstream();
        times.response_head();
        times.response_start();
        assert!(times.sent_upstream.is_none() && times.response_head.is_none());
        assert!(times.response_start.is_none());
        assert!(times.end().is_none());
    }
}
