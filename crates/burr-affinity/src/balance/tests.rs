//! Tests of the algorithms. Deterministic algorithms are checked exactly; `random` is checked
//! against binomial bounds derived below.

use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

fn candidates(weights: &[u32]) -> Vec<Candidate> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| Candidate {
            id: TargetId(1000 + i as u64),
            weight: w,
        })
        .collect()
}

fn all(_: usize) -> bool {
    true
}

fn no_load(_: usize) -> u64 {
    0
}

fn pick_with(
    picker: &Picker,
    eligible: &dyn Fn(usize) -> bool,
    load: &dyn Fn(usize) -> u64,
    random: u64,
    client_hash: u64,
) -> Option<usize> {
    picker.pick(&PickInput {
        client_hash,
        random,
        eligible,
        load,
        slow_start: None,
    })
}

fn counts(picker: &Picker, n: usize, picks: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for _ in 0..picks {
        c[pick_with(picker, &all, &no_load, 0, 0).unwrap()] += 1;
    }
    c
}

#[test]
fn round_robin_is_exactly_even_and_skips_weight_zero() {
    let p = Picker::new(Algorithm::RoundRobin, &candidates(&[1, 5, 0, 1]));
    assert_eq!(counts(&p, 4, 300), vec![100, 100, 0, 100]);
}

#[test]
fn smooth_wrr_matches_nginx() {
    // nginx's documented example: weights a=5, b=1, c=1 give a a b a c a a.
    assert_eq!(smooth_wrr_period(&[5, 1, 1]), vec![0, 0, 1, 0, 2, 0, 0]);
    // Reduced by the gcd; zero weights never appear.
    assert_eq!(smooth_wrr_period(&[4, 0, 2]), vec![0, 2, 0]);
    assert!(smooth_wrr_period(&[0, 0]).is_empty());
}

#[test]
fn weighted_round_robin_is_exactly_proportional_over_a_period() {
    let p = Picker::new(Algorithm::WeightedRoundRobin, &candidates(&[3, 2, 1, 0]));
    assert_eq!(counts(&p, 4, 6 * 50), vec![150, 100, 50, 0]);
}

#[test]
fn least_connections_takes_the_minimum_and_rotates_ties() {
    let p = Picker::new(Algorithm::LeastConnections, &candidates(&[1, 1, 1]));
    let load = |i: usize| [5, 2, 7][i];
    for _ in 0..10 {
        assert_eq!(pick_with(&p, &all, &load, 0, 0), Some(1));
    }
    // Equal loads: ties spread exactly evenly.
    assert_eq!(counts(&p, 3, 300), vec![100, 100, 100]);
}

#[test]
fn weighted_least_connections_compares_load_per_weight() {
    let p = Picker::new(Algorithm::WeightedLeastConnections, &candidates(&[1, 4]));
    // 2/1 = 2 > 7/4 = 1.75, so the heavier target wins despite more connections.
    assert_eq!(pick_with(&p, &all, &|i| [2, 7][i], 0, 0), Some(1));
    assert_eq!(pick_with(&p, &all, &|i| [1, 7][i], 0, 0), Some(0));
}

#[test]
fn least_outstanding_requests_avoids_the_busy_target() {
    let p = Picker::new(Algorithm::LeastOutstandingRequests, &candidates(&[1, 1, 1]));
    let load = |i: usize| if i == 0 { 10 } else { 0 };
    let mut c = [0; 3];
    for _ in 0..100 {
        c[pick_with(&p, &all, &load, 0, 0).unwrap()] += 1;
    }
    assert_eq!(c, [0, 50, 50]);
}

/// Each count of `n` independent draws with probability `p` is binomial: mean np, standard
/// deviation σ = √(np(1−p)). By Chebyshev, |X − np| ≥ 5σ has probability at most 1/25, and the
/// normal approximation (valid here, np ≥ 10⁴) puts it below 6·10⁻⁷. The bound is also tight
/// enough to fail an implementation that is off by a few percent: at n = 120,000 and p = 1/2,
/// 5σ is 0.72% of the mean.
fn assert_binomial(count: usize, n: usize, p: f64, what: &str) {
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (count as f64 - mean).abs() <= 5.0 * sigma,
        "{what}: {count} draws, expected {mean:.0} ± {:.0}",
        5.0 * sigma
    );
}

#[test]
fn random_is_proportional_to_weight_within_binomial_bounds() {
    let p = Picker::new(Algorithm::Random, &candidates(&[1, 2, 3, 0]));
    let mut rng = StdRng::seed_from_u64(7);
    let n = 120_000;
    let mut c = [0usize; 4];
    for _ in 0..n {
        c[pick_with(&p, &all, &no_load, rng.random(), 0).unwrap()] += 1;
    }
    assert_eq!(c[3], 0);
    for (i, w) in [1.0, 2.0, 3.0].iter().enumerate() {
        assert_binomial(c[i], n, w / 6.0, &format!("target {i}"));
    }
}

#[test]
fn random_redraws_among_eligible_targets_proportionally() {
    let p = Picker::new(Algorithm::Random, &candidates(&[1, 2, 3]));
    let mut rng = StdRng::seed_from_u64(9);
    let n = 100_000;
    let eligible = |i: usize| i != 2;
    let mut c = [0usize; 3];
    for _ in 0..n {
        c[pick_with(&p, &eligible, &no_load, rng.random(), 0).unwrap()] += 1;
    }
    assert_eq!(c[2], 0);
    assert_binomial(c[0], n, 1.0 / 3.0, "target 0");
}

#[test]
fn source_ip_hash_is_sticky_and_spreads() {
    let p = Picker::new(Algorithm::SourceIpHash, &candidates(&[1, 1, 1]));
    let mut c = [0usize; 3];
    for last in 0..=255u8 {
        let h = hash_ip(IpAddr::from([10, 0, 0, last]));
        let first = pick_with(&p, &all, &no_load, 0, h).unwrap();
        for _ in 0..5 {
            assert_eq!(pick_with(&p, &all, &no_load, 0, h), Some(first));
        }
        c[first] += 1;
    }
    // 256 clients over 3 equal targets: binomial(256, 1/3), 5σ ≈ 38.
    for (i, &count) in c.iter().enumerate() {
        assert_binomial(count, 256, 1.0 / 3.0, &format!("target {i}"));
    }
    assert_eq!(
        hash_ip("::ffff:10.0.0.1".parse().unwrap()),
        hash_ip("10.0.0.1".parse().unwrap())
    );
}

#[test]
fn source_ip_hash_moves_only_the_clients_of_a_down_target() {
    let p = Picker::new(Algorithm::SourceIpHash, &candidates(&[1, 1, 1, 1]));
    for last in 0..=255u8 {
        let h = hash_ip(IpAddr::from([10, 0, 1, last]));
        let before = pick_with(&p, &all, &no_load, 0, h).unwrap();
        let after = pick_with(&p, &|i| i != 2, &no_load, 0, h).unwrap();
        if before != 2 {
            assert_eq!(before, after, "a client of a healthy target moved");
        } else {
            assert_ne!(after, 2);
        }
    }
}

#[test]
fn nothing_to_choose_gives_none_for_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let empty = Picker::new(algorithm, &[]);
        assert_eq!(
            pick_with(&empty, &all, &no_load, 1, 1),
            None,
            "{algorithm}: empty"
        );
        let zero = Picker::new(algorithm, &candidates(&[0, 0]));
        assert_eq!(
            pick_with(&zero, &all, &no_load, 1, 1),
            None,
            "{algorithm}: all weight 0"
        );
        let down = Picker::new(algorithm, &candidates(&[1, 2]));
        assert_eq!(
            pick_with(&down, &|_| false, &no_load, 1, 1),
            None,
            "{algorithm}: all ineligible"
        );
    }
}

#[test]
fn every_algorithm_skips_ineligible_targets() {
    for algorithm in Algorithm::ALL {
        let p = Picker::new(algorithm, &candidates(&[3, 1, 2]));
        let mut rng = StdRng::seed_from_u64(3);
        for k in 0..300u64 {
            let got = pick_with(
                &p,
                &|i| i == 1,
                &|i| i as u64,
                rng.random(),
                k.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            assert_eq!(got, Some(1), "{algorithm}");
        }
    }
}

/// Picks `n` times from `p` with candidate `ramping` `elapsed_ms` into a slow start of
/// `window_ms`; the count per candidate.
fn slow_start_counts(p: &Picker, ramping: usize, elapsed_ms: u64, n: usize) -> Vec<usize> {
    let window_ms = 100_000;
    let now_ms = 1_000_000;
    let since = |i: usize| (i == ramping).then(|| now_ms - elapsed_ms);
    let mut rng = StdRng::seed_from_u64(11);
    let mut c = vec![0usize; 3];
    for _ in 0..n {
        let i = p
            .pick(&PickInput {
                client_hash: 0,
                random: rng.random(),
                eligible: &all,
                load: &no_load,
                slow_start: Some(SlowStart {
                    now_ms,
                    window_ms,
                    since_ms: &since,
                }),
            })
            .unwrap();
        c[i] += 1;
    }
    c
}

/// A ramping target `f` into its window is offered its usual turns and takes each with
/// probability `f`, so over `K` of its offers it serves Binomial(K, f) and the others serve
/// their turns: its share is `f·w / (W − w + f·w)` (weight `w`, pool total `W`), as if its
/// weight were `f·w`. Its count in `n` picks varies less than a Binomial(n, share) would (by
/// the delta method, the variance ratio is (1 − f)(W − w)/(W − w + f·w) < 1), so the binomial
/// bound of [`assert_binomial`] holds with room.
#[test]
fn slow_start_ramps_a_targets_share_linearly_in_its_weight() {
    let n = 120_000;
    let rr = Picker::new(Algorithm::RoundRobin, &candidates(&[1, 1, 1]));
    assert_eq!(
        slow_start_counts(&rr, 2, 0, 3000)[2],
        0,
        "0% into the window"
    );
    let c = slow_start_counts(&rr, 2, 25_000, n);
    assert_binomial(c[2], n, 0.25 / 2.25, "round robin, 25% into the window");
    let c = slow_start_counts(&rr, 2, 100_000, 3000);
    assert_eq!(c, [1000, 1000, 1000], "window over: plain round robin");

    let wrr = Picker::new(Algorithm::WeightedRoundRobin, &candidates(&[1, 2, 1]));
    let c = slow_start_counts(&wrr, 1, 50_000, n);
    assert_binomial(
        c[1],
        n,
        1.0 / 3.0,
        "weighted round robin, 50% into the window",
    );
    assert_binomial(
        c[0],
        n,
        1.0 / 3.0,
        "weighted round robin, a target in service",
    );
}

#[test]
fn slow_start_never_fails_a_request_when_only_ramping_targets_are_usable() {
    let rr = Picker::new(Algorithm::RoundRobin, &candidates(&[1, 1, 1]));
    let only_2 = |i: usize| i == 2;
    let since = |_: usize| Some(1_000_000);
    let pick = rr.pick(&PickInput {
        client_hash: 0,
        random: 42,
        eligible: &only_2,
        load: &no_load,
        slow_start: Some(SlowStart {
            now_ms: 1_000_000,
            window_ms: 100_000,
            since_ms: &since,
        }),
    });
    assert_eq!(pick, Some(2));
}

proptest! {
    #[test]
    fn picks_are_always_usable(
        weights in proptest::collection::vec(0u32..=1000, 0..40),
        eligible_mask in any::<u64>(),
        loads in proptest::collection::vec(any::<u32>(), 40),
        random in any::<u64>(),
        client_hash in any::<u64>(),
        algorithm in proptest::sample::select(Algorithm::ALL.to_vec()),
    ) {
        let p = Picker::new(algorithm, &candidates(&weights));
        let eligible = |i: usize| eligible_mask & (1 << (i % 64)) != 0;
        let load = |i: usize| u64::from(loads[i % loads.len()]);
        let got = pick_with(&p, &eligible, &load, random, client_hash);
        let any_usable = (0..weights.len()).any(|i| weights[i] > 0 && eligible(i));
        match got {
            Some(i) => {
                prop_assert!(i < weights.len());
                prop_assert!(weights[i] > 0 && eligible(i));
            }
            None => prop_assert!(!any_usable, "{algorithm} found nothing though a target was usable"),
        }
    }
}
