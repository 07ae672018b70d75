//! Draining as part of the state: a target removed from a pool keeps serving the sticky sessions
//! bound to it until a deadline, and that deadline is stored with the change that removed it, so
//! a restart (or a `kill -9`) in the middle of a drain honours what is left of it.
//!
//! The model reads no clock: whoever applies a change passes the time of the change to
//! [`State::settle_drains`], which records the drains the change started, keeps those still
//! running, and forgets those that ended (deadline passed, target registered again, pool gone
//! or its `deregistration_delay_secs` set to 0).

use crate::State;
use crate::address::TargetAddress;
use serde::{Deserialize, Serialize};

/// A target no longer registered in its pool, serving its sessions until `deadline_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainingTarget {
    pub address: TargetAddress,
    /// UTC seconds at which its sessions stop being honoured and its connections are closed.
    pub deadline_secs: u64,
}

impl State {
    /// Brings every pool's draining targets up to date after a change from `previous` to
    /// `self`, made at `now` (UTC seconds): a target that `previous` registered and `self` does
    /// not starts draining until `now + deregistration_delay_secs`; earlier drains keep their
    /// deadline (whichever front door rewrote the pool, e.g. a reloaded file that no longer
    /// names the target); a drain ends when its deadline is not after `now`, when the target
    /// is registered again, or when the pool's delay is 0.
    pub fn settle_drains(&mut self, previous: &State, now: u64) {
        for (name, pool) in &mut self.pools {
            let registered =
                |address: &TargetAddress| pool.targets.iter().any(|t| &t.address == address);
            let mut drains = std::mem::take(&mut pool.draining_targets);
            if let Some(old) = previous.pools.get(name) {
                let delay = u64::from(pool.draining.deregistration_delay_secs);
                let started = old
                    .targets
                    .iter()
                    .filter(|t| !registered(&t.address))
                    .map(|t| DrainingTarget {
                        address: t.address.clone(),
                        deadline_secs: now.saturating_add(delay),
                    });
                for drain in old.draining_targets.iter().cloned().chain(started) {
                    if !drains.iter().any(|d| d.address == drain.address) {
                        drains.push(drain);
                    }
                }
            }
            let delay = pool.draining.deregistration_delay_secs;
            drains.retain(|d| delay > 0 && d.deadline_secs > now && !registered(&d.address));
            pool.draining_targets = drains;
        }
    }

    /// Whether some drain has ended by `now` (so [`State::settle_drains`] would change the
    /// state).
    pub fn has_ended_drains(&self, now: u64) -> bool {
        let mut settled = self.clone();
        settled.settle_drains(self, now);
        settled != *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pool, Target};

    fn address(port: u16) -> TargetAddress {
        TargetAddress::parse(&format!("10.0.0.1:{port}"), None).unwrap()
    }

    fn state(ports: &[u16], delay: u32) -> State {
        let mut pool = Pool::new("p");
        pool.draining.deregistration_delay_secs = delay;
        pool.targets = ports
            .iter()
            .map(|&p| Target {
                address: address(p),
                weight: 1,
            })
            .collect();
        let mut state = State::default();
        state.pools.insert("p".into(), pool);
        state
    }

    fn drains(state: &State) -> Vec<(u16, u64)> {
        state.pools["p"]
            .draining_targets
            .iter()
            .map(|d| (d.address.port(), d.deadline_secs))
            .collect()
    }

    #[test]
    fn a_removed_target_drains_until_now_plus_the_delay() {
        let before = state(&[1, 2], 300);
        let mut after = state(&[2], 300);
        after.settle_drains(&before, 1000);
        assert_eq!(drains(&after), [(1, 1300)]);
    }

    #[test]
    fn a_drain_keeps_its_deadline_through_later_changes_even_when_the_pool_is_rewritten() {
        let before = state(&[1, 2], 300);
        let mut draining = state(&[2], 300);
        draining.settle_drains(&before, 1000);
        // A reloaded file rewrites the pool without the stored drains: they are carried over.
        let mut reloaded = state(&[2, 3], 600);
        reloaded.settle_drains(&draining, 1100);
        assert_eq!(drains(&reloaded), [(1, 1300)]);
        // An API change edits the stored pool in place: same answer.
        let mut edited = reloaded.clone();
        edited.settle_drains(&reloaded, 1200);
        assert_eq!(drains(&edited), [(1, 1300)]);
    }

    #[test]
    fn a_drain_ends_at_its_deadline_on_reregistration_or_with_delay_zero() {
        let before = state(&[1, 2], 300);
        let mut draining = state(&[2], 300);
        draining.settle_drains(&before, 1000);
        assert!(!draining.has_ended_drains(1299));
        assert!(draining.has_ended_drains(1300));
        let mut later = draining.clone();
        later.settle_drains(&draining, 1300);
        assert_eq!(drains(&later), []);

        let mut back = state(&[1, 2], 300);
        back.settle_drains(&draining, 1100);
        assert_eq!(drains(&back), []);

        let mut no_delay = state(&[2], 0);
        no_delay.settle_drains(&draining, 1100);
        assert_eq!(drains(&no_delay), []);
        let mut at_once = state(&[2], 0);
        at_once.settle_drains(&before, 1000);
        assert_eq!(drains(&at_once), []);
    }
}
