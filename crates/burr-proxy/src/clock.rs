//! Coarse clocks for hot paths: a monotonic millisecond counter (idle tracking, passive health
//! marks) and the UTC second (stickiness tokens), both refreshed by a background thread, so
//! reading them costs one relaxed atomic load instead of a clock call per read.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();
static NOW_MS: AtomicU64 = AtomicU64::new(0);
static UNIX_SECS: AtomicU64 = AtomicU64::new(0);

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
                    UNIX_SECS.store(system_unix_secs(), Ordering::Relaxed);
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

/// UTC seconds since the Unix epoch, at [`RESOLUTION`] once [`start`] has run.
#[inline]
pub fn unix_now() -> u64 {
    match UNIX_SECS.load(Ordering::Relaxed) {
        0 => system_unix_secs(),
        secs => secs,
    }
}

fn system_unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
