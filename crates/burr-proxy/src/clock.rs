//! Time as the data plane's rules see it: [`Clock`], handed to the data plane at start-up and
//! read through the compiled runtime (targets and pools hold an `Arc<Clock>`), never through a
//! global. It gives a monotonic millisecond count (passive-down marks) and the UTC second
//! (stickiness tokens, session estimates, drain deadlines).
//!
//! Reading either costs one relaxed atomic load, as before the clock was injected: the system
//! clock is refreshed by one background thread every [`RESOLUTION`]; a manual clock (tests only)
//! moves only when [`Clock::advance`] is called, so failover, fail-back and drain deadlines can be
//! tested without sleeping and without the wall clock deciding the outcome.
//!
//! I/O timeouts (connection idle time, see `idle.rs`) are not rules about sessions: they pair
//! with tokio's timers, which run on real time, so they read [`io_now_ms`], a real coarse clock
//! that no test controls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the system clock is refreshed; also its resolution.
pub const RESOLUTION: Duration = Duration::from_millis(20);

/// A source of time for the data plane's rules.
pub struct Clock {
    /// Milliseconds since the clock was made.
    monotonic_ms: AtomicU64,
    /// UTC milliseconds since the Unix epoch when the clock was made.
    unix_start_ms: u64,
    /// UTC seconds now (kept apart so a read is one load).
    unix_secs: AtomicU64,
    manual: bool,
    /// Bumped on every manual advance, so waits on a deadline look again.
    advanced: watch::Sender<u64>,
}

/// [`Clock::advance`] on the system clock.
#[derive(Debug, thiserror::Error)]
#[error("the clock is the system clock; only a manual clock (--manual-clock) can be advanced")]
pub struct NotManual;

impl Clock {
    fn new(manual: bool) -> Self {
        let unix_start_ms = system_unix_ms();
        Self {
            monotonic_ms: AtomicU64::new(0),
            unix_start_ms,
            unix_secs: AtomicU64::new(unix_start_ms / 1000),
            manual,
            advanced: watch::Sender::new(0),
        }
    }

    /// The process's system clock (one refreshing thread, started on first use).
    pub fn system() -> Arc<Clock> {
        static SYSTEM: OnceLock<Arc<Clock>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let clock = Arc::new(Clock::new(false));
                let refreshed = clock.clone();
                let start = Instant::now();
                std::thread::Builder::new()
                    .name("burr-clock".into())
                    .spawn(move || {
                        loop {
                            let elapsed = start.elapsed().as_millis() as u64;
                            refreshed.monotonic_ms.store(elapsed, Ordering::Relaxed);
                            refreshed
                                .unix_secs
                                .store(system_unix_ms() / 1000, Ordering::Relaxed);
                            IO_NOW_MS.store(elapsed, Ordering::Relaxed);
                            std::thread::sleep(RESOLUTION);
                        }
                    })
                    .expect("spawning the clock thread");
                clock
            })
            .clone()
    }

    /// A clock that starts at the current UTC time and moves only when advanced (tests).
    pub fn manual() -> Arc<Clock> {
        // Idle tracking still needs the real coarse clock.
        Clock::system();
        Arc::new(Clock::new(true))
    }

    pub fn is_manual(&self) -> bool {
        self.manual
    }

    /// Milliseconds since the clock was made, at [`RESOLUTION`] for the system clock.
    #[inline]
    pub fn now_ms(&self) -> u64 {
        self.monotonic_ms.load(Ordering::Relaxed)
    }

    /// UTC seconds since the Unix epoch, at [`RESOLUTION`] for the system clock.
    #[inline]
    pub fn unix_now(&self) -> u64 {
        self.unix_secs.load(Ordering::Relaxed)
    }

    /// Moves a manual clock forward by `by`.
    pub fn advance(&self, by: Duration) -> Result<(), NotManual> {
        if !self.manual {
            return Err(NotManual);
        }
        let by_ms = by.as_millis().min(u128::from(u64::MAX / 4)) as u64;
        let now = self.monotonic_ms.fetch_add(by_ms, Ordering::Relaxed) + by_ms;
        self.unix_secs
            .store((self.unix_start_ms + now) / 1000, Ordering::Relaxed);
        self.advanced.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Resolves once [`Clock::unix_now`] reaches `deadline` (UTC seconds).
    pub async fn reached(&self, deadline: u64) {
        let mut advanced = self.advanced.subscribe();
        loop {
            let now = self.unix_now();
            if now >= deadline {
                return;
            }
            // A manual clock wakes its waiters when advanced; the system clock when the time
            // has passed (plus the refresh period, so the coarse reading has caught up).
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(deadline - now) + RESOLUTION),
                    if !self.manual => {}
                _ = advanced.changed() => {}
            }
        }
    }
}

static IO_NOW_MS: AtomicU64 = AtomicU64::new(0);

/// Real milliseconds since the system clock started, at [`RESOLUTION`]: for I/O timeouts only.
#[inline]
pub fn io_now_ms() -> u64 {
    IO_NOW_MS.load(Ordering::Relaxed)
}

fn system_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let (ms, secs) = (clock.now_ms(), clock.unix_now());
        std::thread::sleep(RESOLUTION * 3);
        assert_eq!((clock.now_ms(), clock.unix_now()), (ms, secs));
        clock.advance(Duration::from_millis(10_500)).unwrap();
        assert_eq!(clock.now_ms(), ms + 10_500);
        assert!((secs + 10..=secs + 11).contains(&clock.unix_now()));
    }

    #[test]
    fn the_system_clock_refuses_to_be_advanced() {
        assert!(Clock::system().advance(Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn a_deadline_wait_ends_when_a_manual_clock_passes_it() {
        let clock = Clock::manual();
        let deadline = clock.unix_now() + 100;
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.reached(deadline).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_secs(101)).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the advance")
            .unwrap();
    }
}
