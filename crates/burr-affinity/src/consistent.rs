//! Consistent hashing for `source_ip_hash` and header stickiness: a lookup table with a prime
//! number of slots (65537 by default), each owned by one target, so a lookup is one modulo and
//! one load, as in Maglev (Eisenbud et al., NSDI 2016).
//!
//! The table is filled differently from Maglev. Every (slot, target) pair has a weighted
//! rendezvous score (`ln(u) / weight` for a hash `u` of the pair, so a target's chance of
//! ranking first is proportional to its weight), and every target a capacity: its weighted
//! share of the table plus 0.9%, never less than the share rounded up. The table is the stable
//! matching of slots to targets under those scores and capacities, found by deferred
//! acceptance: a slot asks targets in score order, a full target keeps its best-scoring slots
//! and sends the worst one on. Scores are a strict order, so the matching is unique: the table
//! depends only on the set of (id, weight) pairs, never on the order targets were added.
//!
//! Why not Maglev's permutation race: it balances to one slot, but at 65537 slots removing one of
//! 200 targets moves up to 2.65/N of the keys, because every later claim in the race shifts. Here a
//! removal frees the target's own slots, which go to their next-ranked targets; only the few that
//! land on a target already at capacity push another slot on (≤ 1.6/N moved at N = 200, every
//! target within 1% of its share; figures in docs/performance.md). The price is the build, O(slots
//! × targets) score evaluations (≈ 40 ms for 200 equal-weight targets, ≈ 220 ms with mixed weights,
//! which need a logarithm per pair), paid only when the pool's targets or weights change
//! ([`ConsistentHash::build_or_reuse`]), off the request path.

use crate::balance::Candidate;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Default table size: a prime well above 100 × the largest pool we plan for, so each target's
/// share can be held within 1%.
pub const DEFAULT_TABLE_SIZE: usize = 65_537;

/// Capacity above a target's exact share, in thousandths: headroom that absorbs most of a
/// removed target's slots without pushing others on, while keeping max/avg ≤ 1.01.
const CAPACITY_SLACK_PER_MILLE: u128 = 9;

const SLOT_SEED: u64 = 0x6275_7272_736c_6f74; // "burrslot"
const TARGET_SEED: u64 = 0x6275_7272_7467_7274; // "burrtgrt"

/// A filled lookup table. Entries are indices into the candidate list it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistentHash {
    table: Vec<u32>,
    /// The candidates it was built over, so an unchanged pool can reuse it.
    built_over: Vec<Candidate>,
}

/// A pair's rank: its score, then an id that makes the order strict.
#[derive(Debug, Clone, Copy)]
struct Rank {
    score: f64,
    tie: u64,
}

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Rank {}
impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.tie.cmp(&other.tie))
    }
}

/// One target as the fill sees it.
struct Bidder {
    /// Index into the caller's candidate list.
    index: u32,
    id: u64,
    key: u64,
    /// `None` when every target has the same weight (see [`pair_score`]).
    inverse_weight: Option<f64>,
    capacity: usize,
    /// Slots held, worst-ranked on top.
    held: BinaryHeap<Reverse<(Rank, u32)>>,
}

impl ConsistentHash {
    /// Builds the table over `candidates` (weight 0 ones get no slot). `size` should be prime;
    /// it is raised to at least 2. Returns `None` when no candidate has a weight.
    pub fn new(candidates: &[Candidate], size: usize) -> Option<Self> {
        let size = size.max(2);
        let total_weight: u128 = candidates.iter().map(|c| u128::from(c.weight)).sum();
        if total_weight == 0 {
            return None;
        }
        let mut weights = candidates.iter().map(|c| c.weight).filter(|&w| w > 0);
        let first_weight = weights.next();
        let uniform = weights.all(|w| Some(w) == first_weight);
        let mut bidders: Vec<Bidder> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.weight > 0)
            .map(|(i, c)| {
                let share = size as u128 * u128::from(c.weight);
                let exact_up = share.div_ceil(total_weight);
                let with_slack = share * (1000 + CAPACITY_SLACK_PER_MILLE) / (1000 * total_weight);
                Bidder {
                    index: i as u32,
                    id: c.id.0,
                    key: xxh3_64_with_seed(&c.id.0.to_le_bytes(), TARGET_SEED),
                    inverse_weight: (!uniform).then(|| 1.0 / f64::from(c.weight)),
                    capacity: exact_up.max(with_slack) as usize,
                    held: BinaryHeap::new(),
                }
            })
            .collect();
        // Capacities sum to at least `size` (each is ≥ its exact share rounded up), so a slot
        // is only ever turned away by a target holding better slots, and never by all of them.
        let slot_keys: Vec<u64> = (0..size as u64)
            .map(|s| xxh3_64_with_seed(&s.to_le_bytes(), SLOT_SEED))
            .collect();
        // The rank of the last target each slot asked; it next asks the best one below that.
        let mut asked_last: Vec<Option<Rank>> = vec![None; size];
        let mut waiting: Vec<u32> = (0..size as u32).rev().collect();
        while let Some(slot) = waiting.pop() {
            let slot_key = slot_keys[slot as usize];
            let below = asked_last[slot as usize];
            let Some((b, rank)) = best_below(&bidders, slot_key, below) else {
                // Unreachable by the capacity argument above; leaving the slot to the
                // fallback below keeps the table total even if it were not.
                continue;
            };
            asked_last[slot as usize] = Some(rank);
            let bidder = &mut bidders[b];
            // The target ranks slots by the same score, ties by slot number.
            let offer = (
                Rank {
                    score: rank.score,
                    tie: u64::from(slot),
                },
                slot,
            );
            if bidder.held.len() < bidder.capacity {
                bidder.held.push(Reverse(offer));
            } else if bidder
                .held
                .peek()
                .is_some_and(|Reverse(worst)| *worst < offer)
            {
                if let Some(Reverse((_, pushed_out))) = bidder.held.pop() {
                    waiting.push(pushed_out);
                }
                bidder.held.push(Reverse(offer));
            } else {
                waiting.push(slot);
            }
        }
        let fallback = bidders[0].index;
        let mut table = vec![fallback; size];
        for bidder in &bidders {
            for Reverse((_, slot)) in &bidder.held {
                table[*slot as usize] = bidder.index;
            }
        }
        Some(Self {
            table,
            built_over: candidates.to_vec(),
        })
    }

    /// The table over `candidates` at the default size: `previous` itself when it was built
    /// over exactly these candidates (a configuration change elsewhere, or to the pool's other
    /// settings, does not pay for a rebuild), else a new one.
    pub fn build_or_reuse(
        candidates: &[Candidate],
        previous: Option<&Arc<ConsistentHash>>,
    ) -> Option<Arc<ConsistentHash>> {
        match previous {
            Some(table)
                if table.built_over == candidates && table.table.len() == DEFAULT_TABLE_SIZE =>
            {
                Some(table.clone())
            }
            _ => Self::new(candidates, DEFAULT_TABLE_SIZE).map(Arc::new),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The slot a key hash falls in.
    #[inline]
    pub fn slot(&self, key_hash: u64) -> usize {
        (key_hash % self.table.len() as u64) as usize
    }

    /// The candidate owning `slot` (taken modulo the table size).
    #[inline]
    pub fn owner(&self, slot: usize) -> usize {
        self.table[slot % self.table.len()] as usize
    }

    /// The candidate a key hash maps to.
    #[inline]
    pub fn lookup(&self, key_hash: u64) -> usize {
        self.owner(self.slot(key_hash))
    }

    /// The first owner `usable` accepts, walking from the key's slot over at most `max_steps`
    /// slots. Every key of a slot walks the same way, so when a target is unusable its keys
    /// spread over the next owners in the table, weighted as the table is, and come back
    /// together when it returns.
    pub fn walk(
        &self,
        key_hash: u64,
        max_steps: usize,
        usable: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        let first = self.slot(key_hash);
        (0..self.len().min(max_steps))
            .map(|k| self.owner(first + k))
            .find(|&i| usable(i))
    }

    /// Slots owned by each candidate index (for tests and diagnostics).
    pub fn shares(&self, candidates: usize) -> Vec<usize> {
        let mut counts = vec![0; candidates];
        for &owner in &self.table {
            if let Some(c) = counts.get_mut(owner as usize) {
                *c += 1;
            }
        }
        counts
    }
}

/// The best-ranked bidder for a slot strictly below `below` (or the best overall).
fn best_below(bidders: &[Bidder], slot_key: u64, below: Option<Rank>) -> Option<(usize, Rank)> {
    let mut best: Option<(usize, Rank)> = None;
    for (b, bidder) in bidders.iter().enumerate() {
        let rank = Rank {
            score: pair_score(slot_key, bidder.key, bidder.inverse_weight),
            tie: bidder.id,
        };
        if below.is_some_and(|limit| rank >= limit) {
            continue;
        }
        if best.is_none_or(|(_, top)| rank > top) {
            best = Some((b, rank));
        }
    }
    best
}

/// Weighted rendezvous score: `ln(u) / weight` for `u` uniform in (0, 1) drawn from the pair's
/// hash. Larger is better; the chance a target scores highest is its weight over the total.
/// When all weights are equal `u` itself orders pairs exactly as `ln(u) / weight` would, so the
/// logarithm (most of the build time) is skipped with the same table as the result. Only `ln`
/// is not exactly specified by IEEE 754, so two platforms could disagree on a pair only when
/// two scores are within one rounding error of each other.
#[inline]
fn pair_score(slot_key: u64, target_key: u64, inverse_weight: Option<f64>) -> f64 {
    let h = mix64(slot_key ^ target_key);
    let u = ((h >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    match inverse_weight {
        None => u,
        Some(inverse) => u.ln() * inverse,
    }
}

/// SplitMix64's finalizer: a bijective 64-bit mixer.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
