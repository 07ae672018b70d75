//! Opening cookie values as stickiness tokens (`burr_affinity::token::KeyRing::open`) with a
//! fixed key ring: one retired key within its grace, one active, and tokens of both formats
//! sealed by each.
//!
//! Input: byte 0 picks the mode. Mode 0: the rest is a cookie value as a client sends it.
//! Other modes: a genuine token (picked by byte 0) with the rest applied to it as edits
//! (position, xor) pairs, to search the space next to real tokens. Invariants: opening never
//! panics; it succeeds only for a value that was sealed, byte for byte, and then yields the
//! body that was sealed; a genuine value always opens; a retired key's tokens stop opening
//! once its grace is over; the ring's memo and the full check (a copy of the ring without
//! memo) agree.
#![no_main]

use burr_affinity::token::{KeyRing, TokenBody, TokenError};
use burr_model::{PoolId, TargetId};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const CREATED: u64 = 1_700_000_000;
const ROTATED: u64 = CREATED + 3_600;
const GRACE: u64 = 86_400;
const NOW: u64 = ROTATED + 60;

struct Fixture {
    ring: KeyRing,
    /// Every value sealed, its body, and whether its key is the retired one.
    sealed: Vec<(Vec<u8>, TokenBody, bool)>,
}

fn body(seed: u64, session: u64) -> TokenBody {
    TokenBody {
        pool: PoolId(seed ^ 0x5eed),
        target: TargetId(seed.wrapping_mul(31)),
        home: TargetId(seed.wrapping_mul(37)),
        issued_at: CREATED + seed,
        last_seen: CREATED + seed + 42,
        expires_at: 0,
        policy_generation: seed as u32,
        arm: 0,
        session,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut ring = KeyRing::generate(CREATED, [7; 32], GRACE);
        let mut sealed = Vec::new();
        let mut seal = |ring: &KeyRing, retired: bool, seed: u64| {
            // A 48-bit session fits version 2; a 64-bit one takes version 1.
            for session in [seed << 8, u64::MAX - seed] {
                let b = body(seed, session);
                let value = ring.seal(&b, [seed as u8; 24]);
                sealed.push((value.as_ref().to_vec(), b, retired));
            }
        };
        seal(&ring, true, 1);
        ring.rotate(ROTATED, [9; 32]);
        seal(&ring, false, 2);
        Fixture { ring, sealed }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Fixture { ring, sealed } = fixture();
    let value = if mode == 0 {
        rest.to_vec()
    } else {
        let mut value = sealed[usize::from(mode) % sealed.len()].0.clone();
        for edit in rest.chunks_exact(2) {
            let at = usize::from(edit[0]) % value.len();
            value[at] ^= edit[1];
        }
        value
    };
    let genuine = sealed.iter().find(|(v, _, _)| *v == value);
    let copy = KeyRing::from_bytes(&ring.to_bytes()).expect("the ring reads back");
    for now in [NOW, ROTATED + GRACE] {
        let opened = ring.open(&value, now);
        assert_eq!(
            copy.open(&value, now),
            opened,
            "memo and full check disagree"
        );
        match (opened, genuine) {
            (Ok(got), Some((_, b, retired))) => {
                assert_eq!(got, *b);
                assert!(
                    !retired || now < ROTATED + GRACE,
                    "opened past its key's grace"
                );
            }
            (Ok(got), None) => panic!("opened a value that was never sealed: {got:?}"),
            (Err(e), Some((_, _, retired))) => {
                assert!(
                    *retired && now >= ROTATED + GRACE,
                    "a genuine token failed: {e}"
                );
                assert_eq!(e, TokenError::KeyRetired);
            }
            (Err(_), None) => {}
        }
    }
});
