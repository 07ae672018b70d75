//! Measuring burr under resource exhaustion (`tests/resource_exhaustion.rs`): its CPU time,
//! RSS and open descriptors from `/proc`, a probe client and a `/healthz` watcher on their own
//! threads, many connections opened at once, answers read within a bound, metrics awaited.

use super::{Burr, http_get_body, http_get_status, metric};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The probe's latency bound at the 99th percentile (the figure).
pub const PROBE_P99: Duration = Duration::from_millis(50);

/// Raises this process's descriptor limit (burr inherits it unless a test sets its own):
/// to 65,536 where permitted, else to the hard limit. Returns the soft limit now in force.
pub fn raise_nofile() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let wanted = libc::rlimit {
            rlim_cur: 65_536,
            rlim_max: limit.rlim_max.max(65_536),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
            let hard = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &hard);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// burr's user + system CPU time so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at field 3, "state".
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Cores burr used on average since `start`.
pub struct CpuMeter {
    pid: i32,
    cpu: Duration,
    wall: Instant,
}

impl CpuMeter {
    pub fn start(pid: i32) -> Self {
        Self {
            pid,
            cpu: cpu_time(pid),
            wall: Instant::now(),
        }
    }

    pub fn cores(&self) -> f64 {
        (cpu_time(self.pid) - self.cpu).as_secs_f64() / self.wall.elapsed().as_secs_f64()
    }
}

pub fn rss_mib(pid: i32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

pub fn open_descriptors(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Reads one response (head, then a `Content-Length` body) from a blocking stream; its status.
pub fn read_response(stream: &mut StdTcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// A client on its own thread sending `GET /probe` every 20 ms on one keep-alive connection,
/// opened before the phase begins (when the caps are full, a new connection waits in the
/// backlog by design; an established one must keep being served).
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<Duration>, Vec<String>)>,
}

impl Probe {
    pub fn start(port: u16) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let mut stream = StdTcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = Vec::new();
        // One request before the phase, so the probe's upstream connection is pooled already.
        stream
            .write_all(b"GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut stream, &mut buf).unwrap(), 200);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut latencies, mut failures) = (Vec::new(), Vec::new());
            while !flag.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let result = stream
                    .write_all(b"GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n")
                    .and_then(|()| read_response(&mut stream, &mut buf));
                match result {
                    Ok(200) => latencies.push(sent.elapsed()),
                    Ok(status) => failures.push(format!("status {status}")),
                    Err(e) => {
                        failures.push(e.to_string());
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (latencies, failures)
        });
        Probe { stop, thread }
    }

    /// Stops the probe; checks it was served throughout, within [`PROBE_P99`] at the 99th
    /// percentile, and returns (requests, p50, p99, max).
    pub fn finish(self) -> (usize, Duration, Duration, Duration) {
        let figures = self.finish_served();
        // A 99th percentile needs enough samples to mean something.
        assert!(figures.0 > 20, "only {} probe requests", figures.0);
        assert!(
            figures.2 < PROBE_P99,
            "probe p99 {:?} (p50 {:?}, max {:?}, {} requests)",
            figures.2,
            figures.1,
            figures.3,
            figures.0
        );
        figures
    }

    /// Stops the probe; checks only that every request was answered 200 (how many there were
    /// depends on how long the phase took, which depends on the machine's load).
    pub fn finish_served(self) -> (usize, Duration, Duration, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let (mut latencies, failures) = self.thread.join().unwrap();
        assert!(failures.is_empty(), "probe failures: {failures:?}");
        assert!(!latencies.is_empty(), "no probe request was answered");
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        (latencies.len(), at(0.5), at(0.99), at(1.0))
    }
}

/// Polls `/healthz` on a fresh connection every 100 ms from its own thread.
pub struct HealthWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>, Duration)>,
}

impl HealthWatch {
    pub fn start(api: SocketAddr) -> HealthWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut polls, mut failures, mut slowest) = (0, Vec::new(), Duration::ZERO);
            while !flag.load(Ordering::Relaxed) {
                let sent = Instant::now();
                match http_get_status(api, "/healthz") {
                    Some(200) => polls += 1,
                    other => failures.push(format!("{other:?} after {:?}", sent.elapsed())),
                }
                slowest = slowest.max(sent.elapsed());
                std::thread::sleep(Duration::from_millis(100));
            }
            (polls, failures, slowest)
        });
        HealthWatch { stop, thread }
    }

    /// Stops polling; checks every poll was answered 200 and returns (polls, slowest).
    pub fn finish(self) -> (usize, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let (polls, failures, slowest) = self.thread.join().unwrap();
        assert!(failures.is_empty(), "/healthz failed: {failures:?}");
        assert!(polls > 3, "only {polls} /healthz polls");
        (polls, slowest)
    }
}

/// Opens `count` connections to `port`, `parallel` at a time, each within `timeout`; returns
/// those that connected (a full backlog drops SYNs, and then a connect times out).
pub async fn open_connections(
    port: u16,
    count: usize,
    parallel: usize,
    timeout: Duration,
) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(count);
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..count {
        if i >= parallel
            && let Some(Ok(Some(s))) = pending.join_next().await
        {
            out.push(s);
        }
        pending.spawn(async move {
            tokio::time::timeout(timeout, TcpStream::connect(("127.0.0.1", port)))
                .await
                .ok()
                .and_then(Result::ok)
        });
    }
    while let Some(r) = pending.join_next().await {
        if let Ok(Some(s)) = r {
            out.push(s);
        }
    }
    out
}

/// Reads one response (head and `Content-Length` body) within `wait`; its status.
pub async fn read_answer(stream: &mut TcpStream, wait: Duration) -> Option<u16> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        head.split(' ').nth(1).and_then(|s| s.parse().ok())
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}

/// Waits (bounded) until `metric(name)` of burr equals `value`.
pub async fn wait_metric(burr: &Burr, name: &str, value: f64, within: Duration) {
    let deadline = Instant::now() + within;
    let api = burr.api;
    loop {
        let name2 = name.to_string();
        let seen = tokio::task::spawn_blocking(move || {
            metric(&http_get_body(api, "/metrics").unwrap_or_default(), &name2)
        })
        .await
        .unwrap();
        if seen == Some(value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is {seen:?}, not {value}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn metrics_of(api: SocketAddr) -> String {
    http_get_body(api, "/metrics").unwrap_or_default()
}
