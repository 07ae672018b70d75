//! Load-balancing algorithms: given the pool's targets, which may take a request now and how
//! loaded each is, choose one.
//!
//! A [`Picker`] is built once per configuration snapshot and shared by all worker threads; the
//! only state it keeps between calls is a rotation counter (an atomic), so picking never locks.
//!
//! Slow start (ALB `slow_start.duration_seconds`) is a gate after the algorithm: a candidate
//! `elapsed` into its window of `window` is taken with probability `elapsed / window`,
//! otherwise the algorithm is asked again. With the rotations slow start is allowed with
//! (round_robin, weighted_round_robin) a refused turn passes to the next in rotation, so over a
//! rotation the ramping target is offered its usual turns and keeps a fraction `f` of them:
//! its share is that of a target whose weight is `f` times its own, ramping linearly from 0 to
//! its full weight. The time comes in as an argument ([`SlowStart::now_ms`]); this crate reads
//! no clock.

use crate::consistent::ConsistentHash;
use burr_model::{Algorithm, TargetId};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// One target as the picker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: TargetId,
    /// Relative weight; 0 = never chosen for a new request.
    pub weight: u32,
}

/// What one decision depends on besides the pool itself.
pub struct PickInput<'a> {
    /// [`hash_ip`] of the client address (used by `source_ip_hash`).
    pub client_hash: u64,
    /// A fresh random number (used by `random`).
    pub random: u64,
    /// Whether candidate `i` may be chosen now (healthy, not already tried for this request).
    pub eligible: &'a dyn Fn(usize) -> bool,
    /// Current load of candidate `i`: open connections or requests in flight, per algorithm.
    pub load: &'a dyn Fn(usize) -> u64,
    /// The pool's slow start, when on.
    pub slow_start: Option<SlowStart<'a>>,
}

/// Slow start as one decision sees it.
pub struct SlowStart<'a> {
    /// Now, in milliseconds of the clock `since_ms` is read on.
    pub now_ms: u64,
    /// The ramp's length in milliseconds (more than 0).
    pub window_ms: u64,
    /// When candidate `i` entered service with slow start on, if it did; a candidate whose
    /// window has passed (or that has none) is taken as the algorithm chooses it.
    pub since_ms: &'a dyn Fn(usize) -> Option<u64>,
}

impl SlowStart<'_> {
    /// Whether candidate `i` takes this turn; `draw` is a fresh random number.
    fn admits(&self, i: usize, draw: u64) -> bool {
        let Some(since) = (self.since_ms)(i) else {
            return true;
        };
        let elapsed = self.now_ms.saturating_sub(since);
        elapsed >= self.window_ms || draw % self.window_ms < elapsed
    }
}

const IP_SEED: u64 = 0x6275_7272_7372_6369; // "burrsrci"

/// A stable hash of a client address; IPv4-mapped IPv6 addresses hash as their IPv4 form.
pub fn hash_ip(ip: IpAddr) -> u64 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => xxh3_64_with_seed(&v4.octets(), IP_SEED),
        IpAddr::V6(v6) => xxh3_64_with_seed(&v6.octets(), IP_SEED),
    }
}

/// Chooses targets for one pool with one algorithm.
#[derive(Debug)]
pub struct Picker {
    algorithm: Algorithm,
    weights: Vec<u32>,
    /// Rotation for round robin, weighted round robin and tie-breaking.
    counter: AtomicUsize,
    /// One full period of smooth weighted round robin (weighted_round_robin only).
    sequence: Vec<u32>,
    /// Running sums of weights (random only).
    cumulative: Vec<u64>,
    table: Option<Arc<ConsistentHash>>,
}

impl Picker {
    pub fn new(algorithm: Algorithm, candidates: &[Candidate]) -> Self {
        Self::with_previous(algorithm, candidates, None)
    }

    /// As [`Picker::new`], reusing `previous`'s consistent-hash table when it was built over
    /// the same candidates.
    pub fn with_previous(
        algorithm: Algorithm,
        candidates: &[Candidate],
        previous: Option<&Picker>,
    ) -> Self {
        let weights: Vec<u32> = candidates.iter().map(|c| c.weight).collect();
        let sequence = match algorithm {
            Algorithm::WeightedRoundRobin => smooth_wrr_period(&weights),
            _ => Vec::new(),
        };
        let cumulative = match algorithm {
            Algorithm::Random => weights
                .iter()
                .scan(0u64, |sum, &w| {
                    *sum += u64::from(w);
                    Some(*sum)
                })
                .collect(),
            _ => Vec::new(),
        };
        let table = match algorithm {
            Algorithm::SourceIpHash => {
                ConsistentHash::build_or_reuse(candidates, previous.and_then(|p| p.table.as_ref()))
            }
            _ => None,
        };
        Self {
            algorithm,
            weights,
            counter: AtomicUsize::new(0),
            sequence,
            cumulative,
            table,
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Index of the chosen candidate, or `None` when no candidate with a weight is eligible.
    pub fn pick(&self, input: &PickInput<'_>) -> Option<usize> {
        let mut chosen = self.pick_once(input)?;
        let Some(slow_start) = &input.slow_start else {
            return Some(chosen);
        };
        // Every turn in a few rotations refused (all usable targets ramping, early in their
        // windows): take the last one chosen rather than fail the request.
        let turns = 2 * self.weights.len() as u64 + 2;
        for turn in 0..turns {
            let draw = xxh3_64_with_seed(&input.random.to_le_bytes(), turn);
            if slow_start.admits(chosen, draw) {
                break;
            }
            chosen = self.pick_once(input)?;
        }
        Some(chosen)
    }

    /// The algorithm's choice, slow start aside.
    fn pick_once(&self, input: &PickInput<'_>) -> Option<usize> {
        if self.weights.is_empty() {
            return None;
        }
        let usable = |i: usize| self.weights[i] > 0 && (input.eligible)(i);
        match self.algorithm {
            Algorithm::RoundRobin => self.round_robin(&usable),
            Algorithm::WeightedRoundRobin => self.weighted_round_robin(&usable),
            Algorithm::LeastConnections | Algorithm::LeastOutstandingRequests => {
                self.least(&usable, |i| (input.load)(i), |_| 1)
            }
            Algorithm::WeightedLeastConnections => {
                self.least(&usable, |i| (input.load)(i), |i| u64::from(self.weights[i]))
            }
            Algorithm::Random => self.random(&usable, input.random),
            Algorithm::SourceIpHash => self.source_ip_hash(&usable, input.client_hash),
        }
    }

    fn next_turn(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn round_robin(&self, usable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let n = self.weights.len();
        (0..n).map(|_| self.next_turn() % n).find(|&i| usable(i))
    }

    fn weighted_round_robin(&self, usable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let period = self.sequence.len();
        if period == 0 {
            return None;
        }
        // Follow the precomputed sequence for as many steps as there are targets; if they are
        // all unusable (several targets down), fall back to the first usable in rotation.
        for _ in 0..self.weights.len() {
            let i = self.sequence[self.next_turn() % period] as usize;
            if usable(i) {
                return Some(i);
            }
        }
        self.first_usable_from(self.next_turn(), usable)
    }

    fn first_usable_from(&self, start: usize, usable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let n = self.weights.len();
        (0..n).map(|k| (start + k) % n).find(|&i| usable(i))
    }

    /// Minimum of `load / weight` among usable candidates; ties are taken in rotation so equal
    /// loads spread evenly.
    fn least(
        &self,
        usable: &dyn Fn(usize) -> bool,
        load: impl Fn(usize) -> u64,
        weight: impl Fn(usize) -> u64,
    ) -> Option<usize> {
        let n = self.weights.len();
        // l / w < bl / bw  ⇔  l · bw < bl · w, in u128 so nothing overflows.
        let ratio = |i: usize| (u128::from(load(i)), u128::from(weight(i)));
        let mut best: Option<(u128, u128)> = None;
        let mut ties = 0usize;
        for i in (0..n).filter(|&i| usable(i)) {
            let (l, w) = ratio(i);
            match best {
                Some((bl, bw)) if l * bw == bl * w => ties += 1,
                Some((bl, bw)) if l * bw > bl * w => {}
                _ => {
                    best = Some((l, w));
                    ties = 1;
                }
            }
        }
        let (bl, bw) = best?;
        let chosen = self.next_turn() % ties;
        (0..n)
            .filter(|&i| usable(i))
            .filter(|&i| {
                let (l, w) = ratio(i);
                l * bw == bl * w
            })
            .nth(chosen)
    }

    fn random(&self, usable: &dyn Fn(usize) -> bool, random: u64) -> Option<usize> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let draw = random % total;
        let i = self.cumulative.partition_point(|&sum| sum <= draw);
        if i < self.weights.len() && usable(i) {
            return Some(i);
        }
        // Redraw among the usable ones only, with the bits the first draw did not use.
        let usable_total: u64 = (0..self.weights.len())
            .filter(|&i| usable(i))
            .map(|i| u64::from(self.weights[i]))
            .sum();
        if usable_total == 0 {
            return None;
        }
        let mut draw = random.rotate_left(32) % usable_total;
        for i in 0..self.weights.len() {
            if !usable(i) {
                continue;
            }
            let w = u64::from(self.weights[i]);
            if draw < w {
                return Some(i);
            }
            draw -= w;
        }
        None
    }

    fn source_ip_hash(&self, usable: &dyn Fn(usize) -> bool, client_hash: u64) -> Option<usize> {
        let table = self.table.as_ref()?;
        if let Some(i) = table.walk(client_hash, 8 * self.weights.len() + 64, usable) {
            return Some(i);
        }
        self.first_usable_from((client_hash % self.weights.len() as u64) as usize, usable)
    }
}

/// One full period of nginx's smooth weighted round robin: each step, every target gains its
/// weight, the one with the most (first on ties) is chosen and loses the total. The period is
/// Σw / gcd(w) steps.
pub fn smooth_wrr_period(weights: &[u32]) -> Vec<u32> {
    let g = weights.iter().copied().filter(|&w| w > 0).fold(0u32, gcd);
    if g == 0 {
        return Vec::new();
    }
    let reduced: Vec<i64> = weights.iter().map(|&w| i64::from(w / g)).collect();
    let total: i64 = reduced.iter().sum();
    let mut current = vec![0i64; weights.len()];
    let mut period = Vec::with_capacity(total as usize);
    let Some(first) = reduced.iter().position(|&w| w > 0) else {
        return Vec::new();
    };
    for _ in 0..total {
        let mut best = first;
        for i in 0..reduced.len() {
            current[i] += reduced[i];
            if reduced[i] > 0 && current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        period.push(best as u32);
    }
    period
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests;
