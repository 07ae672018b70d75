//! Consistent-hash figures computed exactly over whole tables: balance, disruption on removal, order
//! independence, and a golden table that pins the hashing across releases.

use super::*;
use burr_model::TargetId;
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

fn candidates(weights: &[u32]) -> Vec<Candidate> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| Candidate {
            id: TargetId(0x5eed_0000 + (i as u64) * 7919),
            weight: w,
        })
        .collect()
}

/// max over targets of (slots / weight), divided by the average (table size / Σ weight).
fn imbalance(table: &ConsistentHash, cands: &[Candidate]) -> f64 {
    let shares = table.shares(cands.len());
    let total_weight: u32 = cands.iter().map(|c| c.weight).sum();
    let ideal = table.len() as f64 / f64::from(total_weight);
    cands
        .iter()
        .zip(&shares)
        .filter(|(c, _)| c.weight > 0)
        .map(|(c, &s)| s as f64 / f64::from(c.weight) / ideal)
        .fold(0.0, f64::max)
}

#[test]
fn weighted_shares_are_within_one_percent() {
    let mut rng = StdRng::seed_from_u64(11);
    for n in [1, 2, 3, 10, 50, 100, 200] {
        let weights: Vec<u32> = (0..n).map(|_| rng.random_range(1..=4)).collect();
        let cands = candidates(&weights);
        let table = ConsistentHash::new(&cands, DEFAULT_TABLE_SIZE).unwrap();
        let ratio = imbalance(&table, &cands);
        assert!(ratio <= 1.01, "n = {n}: max/avg = {ratio:.5}");
    }
}

/// Worst case over which target is removed: the fraction of all slots whose owner changes
/// (the removed target's own ≈1/n of slots included, since they must move).
fn worst_removal_disruption(n: usize) -> f64 {
    let cands = candidates(&vec![1; n]);
    let before = ConsistentHash::new(&cands, DEFAULT_TABLE_SIZE).unwrap();
    (0..n)
        .map(|removed| {
            let rest: Vec<Candidate> = cands
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != removed)
                .map(|(_, c)| *c)
                .collect();
            let after = ConsistentHash::new(&rest, DEFAULT_TABLE_SIZE).unwrap();
            let moved = (0..before.len())
                .filter(|&s| cands[before.owner(s)].id != rest[after.owner(s)].id)
                .count();
            moved as f64 / before.len() as f64
        })
        .fold(0.0, f64::max)
}

/// Requirement: removing one of n targets moves at most 1.8/n of the keys, worst case over
/// which target is removed, at table size 65537.
fn assert_removal_disruption(n: usize) {
    let moved = worst_removal_disruption(n);
    assert!(
        moved <= 1.8 / n as f64,
        "n = {n}: moved {moved:.5} > {:.5}",
        1.8 / n as f64
    );
    assert!(
        moved >= 1.0 / n as f64 - 1.0 / DEFAULT_TABLE_SIZE as f64,
        "n = {n}: the removed target's slots must move"
    );
}

#[test]
fn removing_one_of_up_to_100_targets_moves_at_most_1_8_over_n() {
    for n in [2, 10, 50, 100] {
        assert_removal_disruption(n);
    }
}

#[test]
fn removing_one_of_200_targets_moves_at_most_1_8_over_n() {
    assert_removal_disruption(200);
}

#[test]
fn weighted_shares_hold_for_small_and_lopsided_pools() {
    // A lone heavy target among light ones, and pools where shares are a few slots.
    for weights in [vec![1000, 1, 1], vec![1, 2], vec![4; 7], vec![1; 13]] {
        let cands = candidates(&weights);
        let table = ConsistentHash::new(&cands, DEFAULT_TABLE_SIZE).unwrap();
        assert!(imbalance(&table, &cands) <= 1.01, "{weights:?}");
    }
    // 251 slots over 13 targets: a share of 19.3 cannot be held within 1%; the cap is the
    // share rounded up.
    let cands = candidates(&[1; 13]);
    let table = ConsistentHash::new(&cands, 251).unwrap();
    assert!(table.shares(13).iter().all(|&s| (1..=20).contains(&s)));
}

/// The figures for docs/performance.md:
/// `cargo test -p burr-affinity --release -- --ignored --nocapture report_consistent_hash_figures`.
#[test]
#[ignore = "prints figures; the asserting tests above cover the requirements"]
fn report_consistent_hash_figures() {
    let mut rng = StdRng::seed_from_u64(11);
    for n in [10, 50, 100, 200] {
        let weights: Vec<u32> = (0..n).map(|_| rng.random_range(1..=4)).collect();
        let cands = candidates(&weights);
        let started = std::time::Instant::now();
        let table = ConsistentHash::new(&cands, DEFAULT_TABLE_SIZE).unwrap();
        let built = started.elapsed();
        println!(
            "n = {n}: weights 1-4 max/avg {:.4}, build {built:?}; equal weights: worst removal moves {:.3}/n",
            imbalance(&table, &cands),
            worst_removal_disruption(n) * n as f64
        );
    }
}

#[test]
fn an_unchanged_pool_reuses_its_table_and_a_changed_one_does_not() {
    let cands = candidates(&[1, 2, 3]);
    let first = ConsistentHash::build_or_reuse(&cands, None).unwrap();
    let same = ConsistentHash::build_or_reuse(&cands, Some(&first)).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &same));
    let reweighted = candidates(&[1, 2, 4]);
    let rebuilt = ConsistentHash::build_or_reuse(&reweighted, Some(&first)).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &rebuilt));
    assert_eq!(
        *rebuilt,
        ConsistentHash::new(&reweighted, DEFAULT_TABLE_SIZE).unwrap()
    );
}

#[test]
fn weight_zero_targets_get_no_slots_and_all_zero_builds_nothing() {
    let cands = candidates(&[1, 0, 2]);
    let table = ConsistentHash::new(&cands, 251).unwrap();
    assert_eq!(table.shares(3)[1], 0);
    assert!(ConsistentHash::new(&candidates(&[0, 0]), 251).is_none());
    assert!(ConsistentHash::new(&[], 251).is_none());
}

#[test]
fn golden_table_is_stable_across_releases() {
    // Pinned: changing the hashing or the fill order silently moves every client, so it must
    // be a deliberate decision that updates this expectation.
    let cands = [
        Candidate {
            id: TargetId(1),
            weight: 1,
        },
        Candidate {
            id: TargetId(2),
            weight: 1,
        },
        Candidate {
            id: TargetId(3),
            weight: 2,
        },
    ];
    let table = ConsistentHash::new(&cands, 13).unwrap();
    let owners: Vec<usize> = (0..13).map(|s| table.owner(s)).collect();
    assert_eq!(owners, GOLDEN);
}

const GOLDEN: [usize; 13] = [2, 0, 0, 2, 0, 2, 1, 2, 1, 2, 0, 2, 2];

proptest! {
    #[test]
    fn table_ignores_input_order(seed in any::<u64>(), n in 1usize..30) {
        let mut rng = StdRng::seed_from_u64(seed);
        let cands: Vec<Candidate> = (0..n)
            .map(|i| Candidate { id: TargetId(rng.random::<u64>() ^ i as u64), weight: rng.random_range(0..=4) })
            .collect();
        let mut shuffled: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            shuffled.swap(i, rng.random_range(0..=i));
        }
        let reordered: Vec<Candidate> = shuffled.iter().map(|&i| cands[i]).collect();
        let a = ConsistentHash::new(&cands, 251);
        let b = ConsistentHash::new(&reordered, 251);
        prop_assert_eq!(a.is_some(), b.is_some());
        if let (Some(a), Some(b)) = (a, b) {
            for s in 0..251 {
                prop_assert_eq!(cands[a.owner(s)].id, reordered[b.owner(s)].id);
            }
        }
    }
}
