//! How many client connections the data plane takes, and what its accept loops do when they
//! cannot take more: the process-wide and per-listener connection caps, the file-descriptor
//! budget the process-wide cap is derived from, and the back-off (with a rate-limited log and
//! counters) after `accept` fails.
//!
//! At a cap a listener stops accepting, as HAProxy's `maxconn` does: new clients wait in the
//! kernel's accept backlog (which costs burr no descriptor and no CPU) and are taken in order as
//! connections close; once the backlog is full the kernel drops their SYNs and TCP retries
//! them. Accepting and closing at once (Envoy's overflow) would spend a descriptor, two system
//! calls and a log line on every attempt of a client that retries in a loop.
//!
//! The process-wide cap leaves descriptors in reserve — for the admin endpoint, health checks,
//! the SQLite store, listening sockets and log files — so those keep working while clients hold
//! every connection the cap allows. A proxied connection costs two descriptors (client and
//! upstream; TLS changes neither).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Descriptors one proxied connection may hold: the client's and one upstream connection.
pub const DESCRIPTORS_PER_CONNECTION: u64 = 2;

/// The descriptor limit of the process and the connection cap it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorBudget {
    /// `RLIMIT_NOFILE` (soft), after raising it to the hard limit.
    pub limit: u64,
    /// Descriptors kept out of the data plane's reach.
    pub reserve: u64,
    /// The largest process-wide cap that keeps the reserve: `(limit - reserve) / 2`.
    pub max_connections: usize,
}

impl DescriptorBudget {
    /// The budget for a descriptor limit of `limit`.
    ///
    /// The reserve is a tenth of the limit, at least 64 (stdio, SQLite's three files, the
    /// runtimes' epoll and event descriptors, a worker's listening sockets, a few admin
    /// connections and health checks) and at most 2048 (beyond that a tenth would be waste:
    /// the admin endpoint serves at most 1024 connections and health checks one per target).
    pub fn for_limit(limit: u64) -> Self {
        let reserve = (limit / 10).clamp(64, 2048).min(limit);
        let max_connections = ((limit - reserve) / DESCRIPTORS_PER_CONNECTION).max(1);
        Self {
            limit,
            reserve,
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        }
    }

    /// Raises the process's soft descriptor limit to its hard limit (as Go's runtime does at
    /// start: the soft limit of 1024 many systems default to is a relic of `select`, which burr
    /// does not use) and returns the budget of the result.
    pub fn of_process() -> Self {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own; setrlimit only reads it.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                // Unknown: assume the common default rather than refusing to start.
                return Self::for_limit(1024);
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
        }
        // RLIM_INFINITY is not a real bound; Linux never allows more than 2^20 descriptors.
        Self::for_limit(limit.rlim_cur.min(1 << 20))
    }
}

/// Why `accept` failed, as counted in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// `EMFILE` or `ENFILE`: the process or the system is out of descriptors.
    Descriptors,
    /// `ENOBUFS` or `ENOMEM`: the kernel is out of socket memory.
    Memory,
    /// The client went away between its handshake and the accept (`ECONNABORTED`, `EPROTO`,
    /// `ECONNRESET`): nothing is exhausted, the next accept is tried at once.
    Aborted,
    Other,
}

impl AcceptFailure {
    pub const ALL: [Self; 4] = [Self::Descriptors, Self::Memory, Self::Aborted, Self::Other];

    pub fn of(error: &io::Error) -> Self {
        match error.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE) => Self::Descriptors,
            Some(libc::ENOBUFS | libc::ENOMEM) => Self::Memory,
            Some(libc::ECONNABORTED | libc::EPROTO | libc::ECONNRESET) => Self::Aborted,
            _ => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Descriptors => "descriptors",
            Self::Memory => "memory",
            Self::Aborted => "aborted",
            Self::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether the accept loop should pause before trying again: every failure but a client's
    /// own abort may repeat at once, and retrying it at once is the spin this module prevents.
    pub fn backs_off(self) -> bool {
        self != Self::Aborted
    }
}

/// First and longest pause after a failed accept; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const LONGEST_BACKOFF: Duration = Duration::from_secs(1);
/// At most one "accept failed" log line per this many milliseconds, process-wide.
const LOG_INTERVAL_MS: u64 = 1000;

/// The pause before an accept loop's next attempt after failures in a row.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub fn next_pause(&mut self) -> Duration {
        let pause = FIRST_BACKOFF.saturating_mul(1 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        pause.min(LONGEST_BACKOFF)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Open client connections of one listener (kept in its `ListenerStats`, so the count survives
/// configuration changes with the listener).
#[derive(Debug, Default)]
pub struct ListenerConnections {
    pub open: AtomicUsize,
    /// Times an accept loop of this listener stopped accepting because a cap was reached.
    pub paused: AtomicU64,
}

/// The process-wide cap, its count, and what the accept loops share when they wait or fail.
pub struct ConnectionLimits {
    pub budget: DescriptorBudget,
    pub max_connections: usize,
    open: AtomicUsize,
    /// Accept loops waiting for a connection to close; a closing connection signals `freed`
    /// only when some are, so the common close costs one atomic load.
    waiting: AtomicUsize,
    freed: Notify,
    accept_failures: [AtomicU64; AcceptFailure::ALL.len()],
    /// Millisecond (since `started`) of the last "accept failed" log line, and failures since.
    /// Failed accepts are rare, so they may read the system clock.
    started: std::time::Instant,
    last_log_ms: AtomicU64,
    unlogged: AtomicU64,
}

impl ConnectionLimits {
    pub fn new(budget: DescriptorBudget, max_connections: usize) -> Self {
        Self {
            budget,
            max_connections: max_connections.max(1),
            open: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            accept_failures: Default::default(),
            started: std::time::Instant::now(),
            last_log_ms: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    pub fn accept_failures(&self, kind: AcceptFailure) -> u64 {
        self.accept_failures[kind.index()].load(Ordering::Relaxed)
    }

    fn has_room(&self, listener: &ListenerConnections, listener_cap: Option<usize>) -> bool {
        self.open.load(Ordering::SeqCst) < self.max_connections
            && listener_cap.is_none_or(|cap| listener.open.load(Ordering::SeqCst) < cap)
    }

    /// Counts a new connection against both caps if both have room.
    fn try_admit(
        self: &Arc<Self>,
        listener: &Arc<ListenerConnections>,
        listener_cap: Option<usize>,
    ) -> Option<ConnectionPermit> {
        let max = self.max_connections;
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        let admitted = listener
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                listener_cap.is_none_or(|cap| n < cap).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            self.release();
            return None;
        }
        Some(ConnectionPermit {
            limits: self.clone(),
            listener: listener.clone(),
        })
    }

    /// Waits until `ready` holds, waking whenever a connection closes or [`Self::wake_all`]
    /// is called (a configuration change may raise a listener's cap).
    async fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the check, so a close between the check and the await wakes
            // this waiter (the counters and `waiting` are SeqCst, see `release`).
            freed.as_mut().enable();
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let done = ready();
            if !done {
                freed.await;
            }
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            if done {
                return;
            }
        }
    }

    /// Returns once both caps have room for one more connection (without taking it: the
    /// connection is taken with [`Self::admit`] once accepted).
    pub async fn room(
        &self,
        listener: &ListenerConnections,
        listener_cap: impl Fn() -> Option<usize>,
    ) {
        if self.has_room(listener, listener_cap()) {
            return;
        }
        listener.paused.fetch_add(1, Ordering::Relaxed);
        self.wait_until(|| self.has_room(listener, listener_cap()))
            .await;
    }

    /// Counts an accepted connection, waiting (holding it unserved, as if still in the backlog)
    /// in the rare case another accept loop took the last room since [`Self::room`] returned.
    pub async fn admit(
        self: &Arc<Self>,
        listener: &Arc<ListenerConnections>,
        listener_cap: impl Fn() -> Option<usize>,
    ) -> ConnectionPermit {
        loop {
            if let Some(permit) = self.try_admit(listener, listener_cap()) {
                return permit;
            }
            self.wait_until(|| self.has_room(listener, listener_cap()))
                .await;
        }
    }

    /// Wakes every waiting accept loop to re-check its caps.
    pub fn wake_all(&self) {
        self.freed.notify_waiters();
    }

    fn release(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }

    /// Counts a failed accept, logs it (at most once a second, process-wide, with the number
    /// of failures not logged since) and returns how to react.
    pub fn accept_failed(
        &self,
        error: &io::Error,
        listener: &dyn std::fmt::Display,
    ) -> AcceptFailure {
        let kind = AcceptFailure::of(error);
        self.accept_failures[kind.index()].fetch_add(1, Ordering::Relaxed);
        // +1 so that 0 can mean "never logged".
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let last = self.last_log_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= LOG_INTERVAL_MS;
        if due
            && self
                .last_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::warn!(
                %listener,
                error = %error,
                reason = kind.as_str(),
                open_connections = self.open(),
                not_logged_since_last = unlogged,
                "accept failed; backing off"
            );
        } else {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
        }
        kind
    }

    /// Waits out a back-off pause, ending early when a connection closes (which frees
    /// descriptors, the usual cause).
    pub async fn back_off(&self, pause: Duration) {
        let freed = self.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        tokio::select! {
            () = freed => {}
            () = tokio::time::sleep(pause) => {}
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One client connection counted against the caps; dropping it frees its room.
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    listener: Arc<ListenerConnections>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.listener.open.fetch_sub(1, Ordering::SeqCst);
        self.limits.release();
    }
}

tokio::task_local! {
    /// The permit of the connection a task serves, so a part of it that outlives the task
    /// (an upgraded connection's relay) keeps it counted.
    static CONNECTION: Arc<ConnectionPermit>;
}

impl ConnectionPermit {
    /// Runs `serve` with this permit as the task's connection.
    pub async fn scope<F: std::future::Future>(self, serve: F) -> F::Output {
        CONNECTION.scope(Arc::new(self), serve).await
    }
}

/// The permit of the connection the current task serves, for a relay that outlives the task.
pub fn current_connection() -> Option<Arc<ConnectionPermit>> {
    CONNECTION.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_the_reserve_and_two_descriptors_per_connection() {
        let b = DescriptorBudget::for_limit(1024);
        assert_eq!((b.reserve, b.max_connections), (102, 461));
        let b = DescriptorBudget::for_limit(256);
        assert_eq!((b.reserve, b.max_connections), (64, 96));
        let b = DescriptorBudget::for_limit(1 << 20);
        assert_eq!((b.reserve, b.max_connections), (2048, 523_264));
        // Absurdly low limits still give a cap of one rather than zero or an underflow.
        let b = DescriptorBudget::for_limit(10);
        assert_eq!((b.reserve, b.max_connections), (10, 1));
        for limit in [0, 1, 64, 65, 129, 1000, 65_536] {
            let b = DescriptorBudget::for_limit(limit);
            assert!(b.reserve <= limit);
            assert!(
                limit < 66 || b.max_connections as u64 * 2 + b.reserve <= limit,
                "{b:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_to_one_second_and_resets() {
        let mut b = Backoff::default();
        let pauses: Vec<u64> = (0..10).map(|_| b.next_pause().as_millis() as u64).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_pause(), FIRST_BACKOFF);
    }

    #[test]
    fn accept_failures_are_classified_by_errno() {
        let of = |code| AcceptFailure::of(&io::Error::from_raw_os_error(code));
        assert_eq!(of(libc::EMFILE), AcceptFailure::Descriptors);
        assert_eq!(of(libc::ENFILE), AcceptFailure::Descriptors);
        assert_eq!(of(libc::ENOBUFS), AcceptFailure::Memory);
        assert_eq!(of(libc::ECONNABORTED), AcceptFailure::Aborted);
        assert_eq!(of(libc::EINVAL), AcceptFailure::Other);
        assert!(!AcceptFailure::Aborted.backs_off());
        assert!(AcceptFailure::Descriptors.backs_off());
    }

    #[test]
    fn failed_accepts_are_all_counted_but_logged_once_a_second() {
        let limits = ConnectionLimits::new(DescriptorBudget::for_limit(1024), 10);
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        for _ in 0..1000 {
            limits.accept_failed(&emfile, &"t:80");
        }
        assert_eq!(limits.accept_failures(AcceptFailure::Descriptors), 1000);
        // The first was logged; the 999 others (within a second, on any machine that runs
        // 1000 loop turns in less) wait for the next line.
        assert_eq!(limits.unlogged.load(Ordering::Relaxed), 999);
    }

    #[tokio::test]
    async fn caps_are_exact_and_a_close_wakes_a_waiting_loop() {
        let limits = Arc::new(ConnectionLimits::new(DescriptorBudget::for_limit(1024), 3));
        let a = Arc::new(ListenerConnections::default());
        let b = Arc::new(ListenerConnections::default());
        let one = limits.admit(&a, || Some(2)).await;
        let _two = limits.admit(&a, || Some(2)).await;
        // Listener a is at its own cap; b still has room under the process-wide cap.
        assert!(limits.try_admit(&a, Some(2)).is_none());
        let _three = limits.admit(&b, || None).await;
        // Now the process-wide cap is reached for every listener.
        assert!(limits.try_admit(&b, None).is_none());
        assert_eq!(limits.open(), 3);
        let waiter = {
            let (limits, b) = (limits.clone(), b.clone());
            tokio::spawn(async move {
                limits.room(&b, || None).await;
                limits.admit(&b, || None).await
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(b.paused.load(Ordering::Relaxed), 1);
        drop(one);
        let four = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the close")
            .unwrap();
        assert_eq!((limits.open(), a.open.load(Ordering::SeqCst)), (3, 1));
        drop(four);
        assert_eq!(limits.open(), 2);
    }
}
