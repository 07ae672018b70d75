//! A latency histogram cheap enough for the request path: fixed bucket bounds in seconds
//! (Prometheus' conventional series, from 100 µs to 10 s), one relaxed atomic add to a bucket
//! and one to the sum per observation, no lock and no registry lookup. The exposition adds the
//! buckets up into Prometheus' cumulative `le` series at scrape time.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (a value equal to a bound counts in its bucket,
/// as Prometheus' `le` says); one more bucket holds everything larger (`+Inf`).
pub const BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// One histogram series (one label set).
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_MICROS.partition_point(|bound| *bound < micros);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Sum of the observations, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    }

    /// Cumulative counts per bound, `+Inf` last: what the exposition and `/api/v1/status` show.
    pub fn cumulative(&self) -> [u64; BOUNDS_MICROS.len() + 1] {
        let mut total = 0;
        std::array::from_fn(|i| {
            total += self.buckets[i].load(Ordering::Relaxed);
            total
        })
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with `labels` (already
    /// escaped, `key="value"` pairs joined by commas, no braces; may be empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let comma = if labels.is_empty() { "" } else { "," };
        let cumulative = self.cumulative();
        for (bound, count) in BOUNDS_MICROS.iter().zip(&cumulative) {
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{{labels}{comma}le=\"{le}\"}} {count}");
        }
        let count = cumulative[BOUNDS_MICROS.len()];
        let _ = writeln!(out, "{name}_bucket{{{labels}{comma}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_seconds());
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_a_bound_counts_in_that_bucket_and_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100)); // on the first bound
        h.observe(Duration::from_micros(101)); // just past it
        h.observe(Duration::from_secs(60)); // past the last bound
        let c = h.cumulative();
        assert_eq!(c[0], 1);
        assert_eq!(c[1], 2);
        assert_eq!(c[BOUNDS_MICROS.len() - 1], 2);
        assert_eq!(c[BOUNDS_MICROS.len()], 3);
        assert_eq!(h.count(), 3);
        assert!((h.sum_seconds() - 60.000201).abs() < 1e-9);
    }

    #[test]
    fn renders_prometheus_series_with_and_without_labels() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "pool=\"p\"");
        assert!(out.contains("x_seconds_bucket{pool=\"p\",le=\"0.0025\"} 0\n"));
        assert!(out.contains("x_seconds_bucket{pool=\"p\",le=\"0.005\"} 1\n"));
        assert!(out.contains("x_seconds_bucket{pool=\"p\",le=\"+Inf\"} 1\n"));
        assert!(out.contains("x_seconds_sum{pool=\"p\"} 0.003\n"));
        assert!(out.contains("x_seconds_count{pool=\"p\"} 1\n"));
        let mut bare = String::new();
        h.render(&mut bare, "y_seconds", "");
        assert!(bare.contains("y_seconds_bucket{le=\"0.0001\"} 0\n"));
        assert!(bare.contains("y_seconds_count 1\n"));
    }
}
