//! Consistent-hash lookup cost (goal: ≤ 10 ns) on a full 65537-slot table of 200 weighted targets, over
//! keys spread across the table so the measurement includes cache misses, not one hot slot;
//! and the table build cost, paid once per configuration change.

use burr_affinity::balance::Candidate;
use burr_affinity::consistent::{ConsistentHash, DEFAULT_TABLE_SIZE};
use burr_model::TargetId;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn candidates(n: u64) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            id: TargetId(0xb0b0_0000 + i * 104_729),
            weight: (i % 4) as u32 + 1,
        })
        .collect()
}

fn consistent(c: &mut Criterion) {
    let cands = candidates(200);
    let table = ConsistentHash::new(&cands, DEFAULT_TABLE_SIZE).expect("weights are positive");
    // Keys from a 64-bit mixer: consecutive lookups land on unrelated slots.
    let keys: Vec<u64> = (0..4096u64)
        .map(|i| (i ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (i << 29))
        .collect();
    let mut group = c.benchmark_group("consistent");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("lookup x4096", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for &k in &keys {
                acc = acc.wrapping_add(table.lookup(black_box(k)));
            }
            black_box(acc)
        })
    });
    group.finish();
    c.bench_function("consistent build 200 targets", |b| {
        b.iter(|| black_box(ConsistentHash::new(black_box(&cands), DEFAULT_TABLE_SIZE)))
    });
}

criterion_group!(benches, consistent);
criterion_main!(benches);
