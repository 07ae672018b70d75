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
    sender: mpsc::SyncSender<String>,
}

/// One request, as logged.
pub struct Entry<'a> {
    pub client: SocketAddr,
    pub listener: &'a ListenerKey,
    pub method: &'a str,
    pub path: &'a str,
    pub version: Version,
    pub status: u16,
    pub target: Option<&'a TargetAddress>,
    pub elapsed: Duration,
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
        let (sender, receiver) = mpsc::sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("burr-access-log".into())
            .spawn(move || {
                while let Ok(line) = receiver.recv() {
                    let _ = out.write_all(line.as_bytes());
                    // Drain what is queued before flushing, so bursts cost one write.
                    while let Ok(line) = receiver.try_recv() {
                        let _ = out.write_all(line.as_bytes());
                    }
                    let _ = out.flush();
                }
            })?;
        Ok(Self { sender })
    }

    pub fn write(&self, e: Entry<'_>) {
        let target: &dyn std::fmt::Display = match e.target {
            Some(address) => address,
            None => &"-",
        };
        let line = format!(
            "{} {} {} \"{} {} {:?}\" {} {} {:.3}\n",
            humantime::format_rfc3339_millis(SystemTime::now()),
            e.client,
            e.listener,
            e.method,
            e.path.escape_debug(),
            e.version,
            e.status,
            target,
            e.elapsed.as_secs_f64() * 1000.0,
        );
        let _ = self.sender.try_send(line);
    }
}
