//! A coarse monotonic clock for hot paths (idle tracking, passive health marks): a millisecond
//! counter refreshed by a background thread, so reading it costs one relaxed atomic load instead of
//! a clock syscall per read or write.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();
static NOW_MS: AtomicU64 = AtomicU64::new(0);

/// How often the coarse clock is refreshed; also its resolution.
pub const RESOLUTION: Duration = Duration::from_millis(20);

/// Starts the refreshing thread (idempotent).
pub fn start() {
    let mut first = false;
    START.get_or_init(|| {
        first = true;
        Instant::now()
    });
    if first {
        std::thread::Builder::new()
            .name("burr-clock".into())
            .spawn(|| {
                let start = *START.get().expect("set above");
                loop {
                    NOW_MS.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                    std::thread::sleep(RESOLUTION);
                }
            })
            .expect("spawning the clock thread");
    }
}

/// Milliseconds since [`start`], at [`RESOLUTION`].
#[inline]
pub fn now_ms() -> u64 {
    NOW_MS.load(Ordering::Relaxed)
}
