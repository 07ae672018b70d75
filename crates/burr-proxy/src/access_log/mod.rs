//! The access log: one line per request, written by a background thread so a slow disk never
//! stalls a worker. Off unless a path is given.
//!
//! Format (space-separated, one request per line):
//! `TIME CLIENT BALANCER:PORT "METHOD PATH VERSION" STATUS TARGET DURATION_MS`
//! where TIME is RFC 3339 UTC with milliseconds, TARGET is `-` when no target answered, and
//! DURATION_MS is the time from request head to response head.

use crate::runtime::ListenerKey;
use burr_model::TargetAddress;
use http::Version;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// Lines queued before new ones are dropped (and counted) rather than block a worker.
const QUEUE: usize = 65_536;

#[derive(Clone)]
pub struct AccessLog {
    sender: mpsc::SyncSender<Record>,
}

/// Which protocol the client spoke, as ALB's `type` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProtocol {
    Http,
    Https,
    /// HTTP/2 over TLS (`h2`); HTTP/2 in clear text is logged as `http`, as ALB has no such type.
    H2,
    /// A WebSocket upgrade over plain HTTP (`ws`) or TLS (`wss`).
    Ws,
    Wss,
}

/// One request as the access log records it. It is owned, so a worker hands it to the writer
/// thread as it is and the line is formatted there, off the request path. Durations follow
/// ELB's split: `request_processing` from the request head's arrival to the request sent to a
/// target, `target_processing` from then to the target's response head, `response_processing`
/// from then to the response sent in full; each is `None` (logged `-1`) when that step did not
/// happen (no target, the target did not answer, the client left).
pub struct Record {
    /// When the request head arrived (Classic's `timestamp`, ALB's `request_creation_time`).
    pub received_at: SystemTime,
    pub client: SocketAddr,
    pub listener: ListenerKey,
    pub protocol: ClientProtocol,
    pub method: String,
    /// The request target as the client sent it (path and query, or absolute form).
    pub uri: String,
    /// The `Host` header or `:authority`, if any.
    pub host: Option<String>,
    pub version: Version,
    pub user_agent: Option<String>,
    /// The status burr sent the client.
    pub status: u16,
    /// The target that answered, and its status (`None`: no target answered).
    pub target: Option<TargetAddress>,
    pub target_status: Option<u16>,
    pub request_processing: Option<Duration>,
    pub target_processing: Option<Duration>,
    pub response_processing: Option<Duration>,
    /// Bytes of the request (head and body) received from the client, and of the response sent
    /// to it.
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// The client's TLS, on TLS listeners.
    pub tls: Option<std::sync::Arc<crate::proxy_protocol::tlv::ClientTls>>,
    /// The pool the request was forwarded to (ALB's `target_group_arn` when it has one).
    pub pool: Option<String>,
    /// The listener rule's priority that chose the action (`None`: the default action).
    pub rule_priority: Option<u32>,
    /// The action taken (`forward`, `fixed-response`, `redirect`).
    pub action: &'static str,
    /// The `Location` of a redirect action.
    pub redirect_url: Option<String>,
    /// Why burr answered itself when a target did not (ALB's `error_reason`), e.g.
    /// `TargetConnectionError`, `TargetResponseTimeout`.
    pub error_reason: Option<&'static str>,
}

impl AccessLog {
    /// Opens `path` for appending (`-` is standard output) and starts the writer thread.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        };
        let (sender, receiver) = mpsc::sync_channel::<Record>(QUEUE);
        std::thread::Builder::new()
            .name("burr-access-log".into())
            .spawn(move || {
                while let Ok(record) = receiver.recv() {
                    let _ = out.write_all(line(&record).as_bytes());
                    // Drain what is queued before flushing, so bursts cost one write.
                    while let Ok(record) = receiver.try_recv() {
                        let _ = out.write_all(line(&record).as_bytes());
                    }
                    let _ = out.flush();
                }
            })?;
        Ok(Self { sender })
    }

    /// Queues `record` for the writer thread; when the queue is full it is dropped.
    pub fn write(&self, record: Record) {
        let _ = self.sender.try_send(record);
    }
}

/// The line of a record.
fn line(e: &Record) -> String {
    let target: &dyn std::fmt::Display = match &e.target {
        Some(address) => address,
        None => &"-",
    };
    let elapsed = [
        e.request_processing,
        e.target_processing,
        e.response_processing,
    ]
    .iter()
    .flatten()
    .sum::<Duration>();
    format!(
        "{} {} {} \"{} {} {:?}\" {} {} {:.3}\n",
        humantime::format_rfc3339_millis(e.received_at),
        e.client,
        e.listener,
        e.method,
        e.uri.escape_debug(),
        e.version,
        e.status,
        target,
        elapsed.as_secs_f64() * 1000.0,
    )
}
