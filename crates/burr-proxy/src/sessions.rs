//! Live sticky sessions per target, estimated: a HyperLogLog sketch of the session ids that
//! reached the target, over a sliding window.
//!
//! Cookie sessions live in the clients' cookies, not in burr, so burr cannot count them
//! exactly; it counts the distinct sessions that made a request to the target in the last
//! [`WINDOW_SECS`] to 2 × [`WINDOW_SECS`] seconds. Each target keeps three banks of 1024
//! one-byte registers (3 KiB), one per window epoch; the estimate is the union of the current
//! and the previous epoch, with HyperLogLog's standard error of 1.04/√1024 ≈ 3.3%. Updates are
//! lock-free (`fetch_max` on a register); the first update of a new epoch clears the bank it
//! reuses, and an update racing that clear may be lost, which an estimate can afford.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Length of one epoch: a session counts as live for 150–300 s after its last request.
pub const WINDOW_SECS: u64 = 150;
const PRECISION: u32 = 10;
const REGISTERS: usize = 1 << PRECISION;
const BANKS: usize = 3;
const SEED: u64 = 0x6275_7272_686c_6c73; // "burrhlls"

/// The sketch of one target.
pub struct SessionSketch {
    registers: Box<[[AtomicU8; REGISTERS]; BANKS]>,
    /// The epoch each bank holds (u64::MAX: none yet).
    epochs: [AtomicU64; BANKS],
}

impl Default for SessionSketch {
    fn default() -> Self {
        Self {
            registers: Box::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| AtomicU8::new(0))
            })),
            epochs: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
        }
    }
}

impl SessionSketch {
    /// Session `id` made a request at `now` (UTC seconds).
    pub fn observe(&self, id: u64, now: u64) {
        let epoch = now / WINDOW_SECS;
        let bank = (epoch % BANKS as u64) as usize;
        let held = self.epochs[bank].load(Ordering::Acquire);
        if held != epoch
            && self.epochs[bank]
                .compare_exchange(held, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            for register in &self.registers[bank] {
                register.store(0, Ordering::Relaxed);
            }
        }
        let hash = xxh3_64_with_seed(&id.to_le_bytes(), SEED);
        let index = (hash >> (64 - PRECISION)) as usize;
        // Rank: position of the first 1 bit in the remaining 54 bits, 1-based (55 if none).
        let rest = hash << PRECISION;
        let rank = (rest.leading_zeros().min(64 - PRECISION) + 1) as u8;
        let register = &self.registers[bank][index];
        // A returning session finds its rank already there: a plain load, no locked write.
        if register.load(Ordering::Relaxed) < rank {
            register.fetch_max(rank, Ordering::Relaxed);
        }
    }

    /// Distinct sessions seen in the current and the previous epoch at `now`.
    pub fn estimate(&self, now: u64) -> u64 {
        let epoch = now / WINDOW_SECS;
        let live: Vec<usize> = (0..BANKS)
            .filter(|&b| {
                let held = self.epochs[b].load(Ordering::Acquire);
                held == epoch || held.checked_add(1) == Some(epoch)
            })
            .collect();
        if live.is_empty() {
            return 0;
        }
        let mut sum = 0.0f64;
        let mut zeros = 0usize;
        for i in 0..REGISTERS {
            let rank = live
                .iter()
                .map(|&b| self.registers[b][i].load(Ordering::Relaxed))
                .max()
                .unwrap_or(0);
            if rank == 0 {
                zeros += 1;
            }
            sum += (-f64::from(rank)).exp2();
        }
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        // Small counts: linear counting over the empty registers is the better estimator.
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000 / WINDOW_SECS * WINDOW_SECS;

    #[test]
    fn counts_distinct_sessions_within_the_error_bound() {
        // Relative standard error 1.04/√1024 = 3.25%; 4σ = 13% bounds a failure at ~6e-5.
        for n in [1u64, 10, 100, 1_000, 10_000, 100_000] {
            let sketch = SessionSketch::default();
            for id in 0..n {
                // Every session several times: repeats must not count.
                for _ in 0..3 {
                    sketch.observe(id.wrapping_mul(0x9e37_79b9_7f4a_7c15), T0);
                }
            }
            let estimate = sketch.estimate(T0) as f64;
            let error = (estimate - n as f64).abs() / n as f64;
            assert!(error <= 0.13, "n = {n}: estimate {estimate}");
        }
    }

    /// Linear counting's standard deviation at n ≪ 1024 registers is √(m(eᵗ − t − 1)),
    /// t = n/m: 1.1 at n = 50, 1.6 at 70, 0.6 at 20; 4σ bounds.
    fn near(estimate: u64, n: u64, bound: u64) -> bool {
        estimate.abs_diff(n) <= bound
    }

    #[test]
    fn sessions_lapse_after_two_windows() {
        let sketch = SessionSketch::default();
        assert_eq!(sketch.estimate(T0), 0);
        for id in 0..50 {
            sketch.observe(id, T0);
        }
        // Still live through the next epoch, gone in the one after.
        assert!(near(sketch.estimate(T0 + WINDOW_SECS), 50, 5));
        for id in 100..120 {
            sketch.observe(id, T0 + WINDOW_SECS);
        }
        assert!(near(sketch.estimate(T0 + WINDOW_SECS + 1), 70, 7));
        assert!(near(sketch.estimate(T0 + 2 * WINDOW_SECS), 20, 3));
        // The bank of T0 is reused (cleared) three epochs on.
        sketch.observe(7, T0 + 3 * WINDOW_SECS);
        assert_eq!(sketch.estimate(T0 + 3 * WINDOW_SECS), 1);
    }
}
