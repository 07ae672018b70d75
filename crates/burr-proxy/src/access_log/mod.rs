//! The access log: one line per request, written by a background thread so a slow disk never
//! stalls a worker. Off unless a path is given. This module owns the handle workers queue
//! records through, the counters of written and dropped records, and the choice of format;
//! `writer` owns the thread (batching, rotation, reopening), `classic`, `alb` and `burr` the
//! three line formats, `names` the AWS names the ELB formats print.
//!
//! A worker only moves its record into a bounded queue (`try_send`); when the queue is full the
//! record is dropped and counted, so a slow or stuck disk costs log lines, never latency.

mod alb;
mod burr;
mod classic;
mod fields;
mod names;
mod texts;
mod writer;

#[cfg(test)]
mod tests;

pub use names::Names;
pub use texts::{TextFields, Texts};

use arc_swap::ArcSwap;
use burr_model::TargetAddress;
use http::Version;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};
use writer::{Rotation, Sink, Writer};

/// Records queued before new ones are dropped (and counted) rather than block a worker.
const QUEUE: usize = 65_536;

/// The line format (`--access-log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// AWS Classic Load Balancer's entry.
    Classic,
    /// AWS Application Load Balancer's entry.
    Alb,
    /// burr's own short line (the default, and what burr wrote before the ELB formats).
    #[default]
    Burr,
}

/// How `burr serve` opens the access log.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file, or `-` for standard output.
    pub path: PathBuf,
    pub format: Format,
    /// Rotate once the file would pass this size (`--access-log-max-bytes`); files only.
    pub max_bytes: Option<u64>,
    /// Rotated files kept (`--access-log-keep`).
    pub keep: u32,
    /// The account id ARNs in ALB lines carry (target groups), as the API writes them.
    pub account_id: String,
}

/// What the writer did, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    rotations: AtomicU64,
}

impl Counters {
    fn add_written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }
    fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
    fn add_rotation(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    pub fn rotations(&self) -> u64 {
        self.rotations.load(Ordering::Relaxed)
    }
}

/// What travels the queue to the writer thread. Records travel unboxed: they move into the
/// channel's slots, where a box would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Message {
    Record(Record),
    /// Wakes the writer so a requested reopen happens now rather than at the next record.
    Reopen,
    /// Write everything queued before this, then answer (at shutdown).
    Flush(mpsc::SyncSender<()>),
}

#[derive(Clone)]
pub struct AccessLog {
    sender: mpsc::SyncSender<Message>,
    counters: Arc<Counters>,
    reopen: Arc<AtomicBool>,
    names: Arc<ArcSwap<Names>>,
    account_id: Arc<str>,
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
/// ELB's split as AWS defines it: `request_processing` from the request head's arrival to the
/// request sent to a target, `target_processing` from then to the target's response head,
/// `response_processing` from then to the moment burr started sending the response to the
/// client (the body's transfer is not in it); all three are `None` (logged `-1`) when no target
/// answered (none could be reached, it closed or timed out), and `response_processing` also when
/// the response did not go out in full (the client left, the target's body broke). `elapsed`
/// is the whole exchange, whatever happened.
pub struct Record {
    /// When the request head arrived (Classic's `timestamp`, ALB's `request_creation_time`).
    pub received_at: SystemTime,
    pub client: SocketAddr,
    /// The listener's port (its balancer's name is in `texts`).
    pub port: u16,
    pub protocol: ClientProtocol,
    /// The balancer's name, the method, the request target as the client sent it (path and
    /// query, or absolute form), `Host` (or `:authority`), `User-Agent`, a redirect's location
    /// and the pool the request was forwarded to (ALB's `target_group_arn` when it has one),
    /// packed into one buffer.
    pub texts: Texts,
    pub version: Version,
    /// The status burr sent the client.
    pub status: u16,
    /// The target that answered, and its status (`None`: no target answered).
    pub target: Option<TargetAddress>,
    pub target_status: Option<u16>,
    pub request_processing: Option<Duration>,
    pub target_processing: Option<Duration>,
    pub response_processing: Option<Duration>,
    /// From the request head's arrival to the end of the exchange (the response sent in full,
    /// or the exchange given up): burr's `DURATION_MS`, and ALB's `time` is `received_at` plus
    /// it.
    pub elapsed: Duration,
    /// Bytes of the request (head and body) received from the client, and of the response sent
    /// to it.
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// The client's TLS, on TLS listeners.
    pub tls: Option<std::sync::Arc<crate::proxy_protocol::tlv::ClientTls>>,
    /// The request went through the listener's rules (false: refused before routing, e.g. for
    /// ambiguous framing; ALB then logs `-` as the rule priority and the actions executed).
    pub routed: bool,
    /// The listener rule's priority that chose the action (`None`: the default action).
    pub rule_priority: Option<u32>,
    /// The action taken (`forward`, `fixed-response`, `redirect`), when `routed`.
    pub action: &'static str,
    /// Why burr answered itself when a target did not (ALB's `error_reason`), e.g.
    /// `TargetConnectionError`, `TargetResponseTimeout`.
    pub error_reason: Option<&'static str>,
}

impl AccessLog {
    /// Opens the file (`-` is standard output) for appending and starts the writer thread.
    pub fn open(settings: &Settings) -> std::io::Result<Self> {
        let to_stdout = settings.path == Path::new("-");
        let sink = if to_stdout {
            Sink::Stream(Box::new(std::io::stdout()))
        } else {
            Sink::file(&settings.path)?
        };
        let rotation = match settings.max_bytes {
            Some(max_bytes) if !to_stdout => Some(Rotation {
                max_bytes,
                keep: settings.keep.max(1),
            }),
            _ => None,
        };
        Self::start(sink, settings.format, rotation, &settings.account_id, QUEUE)
    }

    fn start(
        sink: Sink,
        format: Format,
        rotation: Option<Rotation>,
        account_id: &str,
        queue: usize,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel::<Message>(queue);
        let counters = Arc::new(Counters::default());
        let reopen = Arc::new(AtomicBool::new(false));
        let names = Arc::new(ArcSwap::from_pointee(Names::default()));
        let writer = Writer::new(
            sink,
            format,
            names.clone(),
            counters.clone(),
            rotation,
            reopen.clone(),
        );
        std::thread::Builder::new()
            .name("burr-access-log".into())
            .spawn(move || writer.run(receiver))?;
        Ok(Self {
            sender,
            counters,
            reopen,
            names,
            account_id: account_id.into(),
        })
    }

    /// Queues `record` for the writer thread; when the queue is full it is dropped and counted.
    pub fn write(&self, record: Record) {
        if self.sender.try_send(Message::Record(record)).is_err() {
            self.counters.add_dropped(1);
        }
    }

    /// Has the writer reopen the file at its path (logrotate moves it away, then sends SIGHUP):
    /// every line written after the writer takes this goes to the new file.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
        // A full queue wakes the writer anyway.
        let _ = self.sender.try_send(Message::Reopen);
    }

    /// Writes every record queued so far and waits for it, at most `wait`; whether it was
    /// done. At shutdown, so the last requests' lines do not leave with the process.
    pub fn flush(&self, wait: Duration) -> bool {
        let deadline = std::time::Instant::now() + wait;
        let (done, finished) = mpsc::sync_channel(1);
        let mut message = Message::Flush(done);
        loop {
            match self.sender.try_send(message) {
                Ok(()) => break,
                Err(mpsc::TrySendError::Full(again)) if std::time::Instant::now() < deadline => {
                    message = again;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return false,
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        finished.recv_timeout(left).is_ok()
    }

    /// The names the ELB formats print for `state`'s objects; [`Self::publish`] them once the
    /// state is in service.
    pub fn names_of(&self, state: &burr_model::State) -> Names {
        Names::of(state, &self.account_id)
    }

    pub fn publish(&self, names: Names) {
        self.names.store(Arc::new(names));
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Writes `burr_access_log_records_total` and `burr_access_log_rotations_total`.
    pub fn render_metrics(&self, out: &mut String) {
        crate::metrics::header(
            out,
            "burr_access_log_records_total",
            "counter",
            "Access-log records written, and dropped (queue full or a write error).",
        );
        let c = &self.counters;
        let _ = writeln!(
            out,
            "burr_access_log_records_total{{result=\"written\"}} {}",
            c.written()
        );
        let _ = writeln!(
            out,
            "burr_access_log_records_total{{result=\"dropped\"}} {}",
            c.dropped()
        );
        crate::metrics::header(
            out,
            "burr_access_log_rotations_total",
            "counter",
            "Access-log files rotated by size (--access-log-max-bytes).",
        );
        let _ = writeln!(out, "burr_access_log_rotations_total {}", c.rotations());
    }
}
