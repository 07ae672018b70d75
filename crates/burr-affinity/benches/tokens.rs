//! Cost of sealing and opening one stickiness token (goal: ≤ 1 µs each), measured on a ring
//! holding a retired key as well, as it does after a rotation; opening both the full way and
//! from the per-thread memo that spares a returning client's token the full check.

use burr_affinity::token::{DEFAULT_GRACE_SECS, KeyRing, TokenBody};
use burr_model::{PoolId, TargetId};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn body() -> TokenBody {
    TokenBody {
        pool: PoolId(7),
        target: TargetId(0x1234_5678_9abc),
        home: TargetId(0x1234_5678_9abc),
        issued_at: 1_800_000_000,
        last_seen: 1_800_000_100,
        expires_at: 1_800_086_400,
        policy_generation: 0xfeed,
        arm: 0,
        session: 0x5e55_1010,
    }
}

fn tokens(c: &mut Criterion) {
    let now = 1_800_000_000;
    let mut ring = KeyRing::generate(now - 10, [3; 32], DEFAULT_GRACE_SECS);
    ring.rotate(now - 5, [4; 32]);
    let body = body();
    let mut nonce = [0u8; 24];
    c.bench_function("token seal", |b| {
        b.iter(|| {
            nonce[0] = nonce[0].wrapping_add(1);
            black_box(ring.seal(black_box(&body), nonce))
        })
    });
    // A full open: more distinct tokens than the per-thread memo has entries, cycled, and
    // opened by a copy of the ring (another instance, whose memo entries these are not).
    let sealed: Vec<_> = (0..4096u32)
        .map(|i| {
            let mut n = [0u8; 24];
            n[..4].copy_from_slice(&i.to_le_bytes());
            ring.seal(&body, n)
        })
        .collect();
    let opener = KeyRing::from_bytes(&ring.to_bytes()).expect("a ring");
    let mut next = 0;
    c.bench_function("token open (full check)", |b| {
        b.iter(|| {
            next = (next + 1) % sealed.len();
            black_box(opener.open(black_box(&sealed[next]), now))
        })
    });
    // A returning client's token: the memo vouches (retirement still checked).
    let sealed = ring.seal(&body, [9; 24]);
    c.bench_function("token open (memoized)", |b| {
        b.iter(|| black_box(ring.open(black_box(&sealed), now)))
    });
    let mut tampered = sealed.to_string().into_bytes();
    tampered[60] = if tampered[60] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("base64 stays ASCII");
    c.bench_function("token open (tampered)", |b| {
        b.iter(|| black_box(ring.open(black_box(&tampered), now)))
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
