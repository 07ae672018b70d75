//! Bounded-load placement for source-IP sessions: how many live sessions each target holds, and
//! the bound a target must be under to take a new one.
//!
//! A new client goes to the first target, in its key's order through the consistent table, that
//! is under its bound: `share + max(ε·share, √share)`, where `share` is the target's weighted
//! share of the load once the new client is counted (Mirrokni, Thorup and Zadimoghaddam,
//! "Consistent Hashing with Bounded Loads", SODA 2018, with the slack widened to one standard
//! deviation of the hash's own spread for small loads). Most clients land on their hashed target
//! (which every node and a restarted burr agree on); only those whose target is above its share
//! by more than the hash's natural noise walk on, so no target ends more than 1% (or one standard
//! deviation) above its share.

use burr_model::TargetId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The relative slack above a target's share at large loads (the 1% of the placement goal).
pub const EPSILON: f64 = 0.01;

/// Whether a target carrying `load`, with `weight` of `weight_sum` among the usable targets
/// that carry `load_sum` in all, may take one more.
pub fn under_bound(load: u64, weight: u32, load_sum: u64, weight_sum: u64) -> bool {
    if weight == 0 || weight_sum == 0 {
        return false;
    }
    let share = (load_sum + 1) as f64 * f64::from(weight) / weight_sum as f64;
    let bound = share + (EPSILON * share).max(share.sqrt());
    (load + 1) as f64 <= bound
}

/// Live sessions per target, shared by every snapshot of the pool (as the session table is).
/// Counters are created once per target and then updated without a lock.
#[derive(Debug, Default)]
pub struct TargetLoads {
    counters: RwLock<HashMap<TargetId, Arc<AtomicU64>>>,
}

impl TargetLoads {
    /// The counter of `target`, made on first use.
    pub fn counter(&self, target: TargetId) -> Arc<AtomicU64> {
        if let Some(c) = self
            .counters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&target)
        {
            return c.clone();
        }
        self.counters
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(target)
            .or_default()
            .clone()
    }

    pub fn add(&self, target: TargetId) {
        self.counter(target).fetch_add(1, Ordering::Relaxed);
    }

    pub fn remove(&self, target: TargetId) {
        // Never below zero, whatever order updates race in.
        let _ = self
            .counter(target)
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_one_percent_at_large_loads_and_one_deviation_at_small_ones() {
        // 100 equal targets, 10^6 sessions: share 10,000, bound 10,100.
        assert!(under_bound(10_099, 1, 999_999, 100));
        assert!(!under_bound(10_100, 1, 999_999, 100));
        // 10 targets, 100 sessions: share 10, bound 10 + √10 ≈ 13.2.
        assert!(under_bound(12, 1, 99, 10));
        assert!(!under_bound(13, 1, 99, 10));
        // Weighted: a target of weight 3 of 4 takes three quarters.
        // share 7,500, bound 7,500 + √7,500 ≈ 7,586.6.
        assert!(under_bound(7_585, 3, 9_999, 4));
        assert!(!under_bound(7_586, 3, 9_999, 4));
        assert!(!under_bound(0, 0, 10, 4), "weight 0 takes nothing new");
    }

    #[test]
    fn counters_never_go_below_zero() {
        let loads = TargetLoads::default();
        loads.remove(TargetId(1));
        loads.add(TargetId(1));
        loads.add(TargetId(1));
        loads.remove(TargetId(1));
        assert_eq!(loads.counter(TargetId(1)).load(Ordering::Relaxed), 1);
    }
}
