//! Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted.
//!
//! Each target owns a pseudo-random permutation of the table's slots (an offset and a skip
//! derived from its id); targets take turns claiming their next free slot until the table is
//! full. A target of weight `w` takes `w / max_weight` turns per round (integer credit), so its
//! share of slots is proportional to its weight within one slot. Targets are ordered by id before
//! filling, so the table depends only on the set of (id, weight) pairs, never on input order.

use crate::balance::Candidate;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Default table size: a prime well above 100 × the largest pool we plan for, as the paper
/// recommends, so shares stay within 1% of the ideal.
pub const DEFAULT_TABLE_SIZE: usize = 65_537;

const OFFSET_SEED: u64 = 0x6275_7272_6d61_676c; // "burrmagl"
const SKIP_SEED: u64 = 0x6275_7272_736b_6970; // "burrskip"

/// A filled Maglev lookup table. Entries are indices into the candidate list it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maglev {
    table: Vec<u32>,
}

impl Maglev {
    /// Builds the table over `candidates` (weight 0 ones get no slot). `size` should be prime;
    /// it is raised to at least 2. Returns `None` when no candidate has a weight.
    pub fn new(candidates: &[Candidate], size: usize) -> Option<Self> {
        let size = size.max(2);
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].weight > 0)
            .collect();
        if order.is_empty() {
            return None;
        }
        order.sort_by_key(|&i| (candidates[i].id, i));
        let max_weight = order
            .iter()
            .map(|&i| candidates[i].weight)
            .max()
            .unwrap_or(1) as u64;
        let m = size as u64;
        // Per target: (offset, skip, next permutation index, turn credit).
        let mut state: Vec<(u64, u64, u64, u64)> = order
            .iter()
            .map(|&i| {
                let bytes = candidates[i].id.0.to_le_bytes();
                let offset = xxh3_64_with_seed(&bytes, OFFSET_SEED) % m;
                let skip = xxh3_64_with_seed(&bytes, SKIP_SEED) % (m - 1) + 1;
                (offset, skip, 0, 0)
            })
            .collect();
        const EMPTY: u32 = u32::MAX;
        let mut table = vec![EMPTY; size];
        let mut filled = 0usize;
        'fill: loop {
            for (k, &candidate) in order.iter().enumerate() {
                let (offset, skip, next, credit) = &mut state[k];
                *credit += candidates[candidate].weight as u64;
                while *credit >= max_weight {
                    *credit -= max_weight;
                    // Walk this target's permutation to its next free slot. A permutation
                    // visits every slot (skip < m and m prime), so this always ends.
                    loop {
                        let slot = ((*offset + *next * *skip) % m) as usize;
                        *next += 1;
                        if table[slot] == EMPTY {
                            table[slot] = candidate as u32;
                            filled += 1;
                            break;
                        }
                    }
                    if filled == size {
                        break 'fill;
                    }
                }
            }
        }
        Some(Self { table })
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

#[cfg(test)]
mod tests;
