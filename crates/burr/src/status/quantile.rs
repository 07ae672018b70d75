//! Latency quantiles (p50, p90, p99) estimated from a latency histogram's cumulative bucket
//! counts (`burr_proxy::metrics::histogram`), the way Prometheus' `histogram_quantile` does:
//! find the bucket the rank falls in and interpolate linearly inside it. The estimate is only
//! as fine as the buckets (a value in the 100-250 ms bucket is somewhere in it); the status
//! document says so.

use burr_proxy::metrics::histogram::BOUNDS_MICROS;
use serde::Serialize;

/// Cumulative counts per bound of [`BOUNDS_MICROS`], `+Inf` last (`Histogram::cumulative`).
pub type Cumulative = [u64; BOUNDS_MICROS.len() + 1];

/// The quantiles the console shows, in seconds, over some window of observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Observations in the window.
    pub count: u64,
    pub p50_seconds: f64,
    pub p90_seconds: f64,
    pub p99_seconds: f64,
}

/// The observations between two readings of the same histogram (`later - earlier`, bucket by
/// bucket); a histogram that started afresh in between (a new listener) reads as `later`.
pub fn window(earlier: &Cumulative, later: &Cumulative) -> Cumulative {
    if later.iter().zip(earlier).any(|(l, e)| l < e) {
        return *later;
    }
    std::array::from_fn(|i| later[i] - earlier[i])
}

/// p50/p90/p99 of `buckets`, or `None` when it holds no observation.
pub fn latency(buckets: &Cumulative) -> Option<Latency> {
    Some(Latency {
        count: buckets[BOUNDS_MICROS.len()],
        p50_seconds: quantile(0.5, buckets)?,
        p90_seconds: quantile(0.9, buckets)?,
        p99_seconds: quantile(0.99, buckets)?,
    })
}

/// The `q` quantile (0 to 1) in seconds: linear interpolation within the bucket the rank falls
/// in, from its lower bound (0 for the first); a rank in the `+Inf` bucket reads as the largest
/// finite bound (nothing better is known). `None` without observations or for `q` outside 0-1.
pub fn quantile(q: f64, buckets: &Cumulative) -> Option<f64> {
    let total = buckets[BOUNDS_MICROS.len()];
    if total == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total as f64;
    let index = buckets.iter().position(|&c| c as f64 >= rank)?;
    let Some(&upper) = BOUNDS_MICROS.get(index) else {
        return Some(BOUNDS_MICROS[BOUNDS_MICROS.len() - 1] as f64 / 1e6);
    };
    let (lower, below) = match index {
        0 => (0, 0),
        i => (BOUNDS_MICROS[i - 1], buckets[i - 1]),
    };
    let in_bucket = buckets[index] - below;
    let fraction = if in_bucket == 0 {
        // Only for q = 0 with an empty first bucket: the rank sits on the lower bound.
        0.0
    } else {
        (rank - below as f64) / in_bucket as f64
    };
    Some((lower as f64 + (upper - lower) as f64 * fraction) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burr_proxy::metrics::histogram::Histogram;
    use std::time::Duration;

    fn observed(micros: &[u64]) -> Cumulative {
        let h = Histogram::default();
        for &m in micros {
            h.observe(Duration::from_micros(m));
        }
        h.cumulative()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn no_observation_has_no_quantile() {
        assert_eq!(quantile(0.5, &[0; BOUNDS_MICROS.len() + 1]), None);
        assert_eq!(latency(&[0; BOUNDS_MICROS.len() + 1]), None);
    }

    #[test]
    fn the_rank_is_interpolated_within_its_bucket() {
        // 100 observations in the 1-2.5 ms bucket: the median is half-way through it.
        let buckets = observed(&[2_000; 100]);
        let p50 = quantile(0.5, &buckets).unwrap();
        assert!(close(p50, 0.001_75), "{p50}");
        let p99 = quantile(0.99, &buckets).unwrap();
        assert!(close(p99, 0.001 + 0.0015 * 0.99), "{p99}");
    }

    #[test]
    fn quantiles_pick_the_bucket_the_rank_falls_in() {
        // 90 fast (<= 100 µs), 9 at 40 ms, 1 at 3 s.
        let mut values = vec![50; 90];
        values.extend([40_000; 9]);
        values.push(3_000_000);
        let l = latency(&observed(&values)).unwrap();
        assert_eq!(l.count, 100);
        // Rank 50 of 90 in the first bucket (0-100 µs).
        assert!(close(l.p50_seconds, 0.0001 * 50.0 / 90.0), "{l:?}");
        // Rank 90 is the last of the first bucket: its upper bound.
        assert!(close(l.p90_seconds, 0.0001), "{l:?}");
        // Rank 99 is the last of the 25-50 ms bucket.
        assert!(close(l.p99_seconds, 0.05), "{l:?}");
    }

    #[test]
    fn a_rank_past_the_last_bound_reads_as_the_last_bound() {
        let buckets = observed(&[60_000_000; 4]);
        assert!(close(quantile(0.5, &buckets).unwrap(), 10.0));
    }

    #[test]
    fn a_quantile_outside_zero_to_one_is_refused() {
        let buckets = observed(&[100]);
        assert_eq!(quantile(1.5, &buckets), None);
        assert_eq!(quantile(-0.1, &buckets), None);
    }

    #[test]
    fn the_window_is_the_difference_and_a_reset_reads_afresh() {
        let earlier = observed(&[50, 50]);
        let later = observed(&[50, 50, 50, 3_000]);
        let w = window(&earlier, &later);
        assert_eq!(w[0], 1);
        assert_eq!(w[BOUNDS_MICROS.len()], 2);
        let reset = observed(&[50]);
        assert_eq!(window(&later, &reset), reset);
    }
}
