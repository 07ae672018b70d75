//! A per-thread memo of tokens this process has sealed or opened: a returning client presents
//! the same cookie value request after request, and authenticating it again each time would be
//! most of what stickiness costs.
//!
//! Direct-mapped, 512 entries per thread (≈ 100 KiB), keyed by the whole value and the identity
//! of the ring that vouched for it. Only values that opened (or were sealed) are stored, so
//! forged values always pay the full check and cannot evict much. A hit is exactly as strong as
//! opening: the same ring instance authenticated these very bytes; retirement is checked again
//! by the caller on every hit, since it depends on `now`.

use super::{TokenBody, TokenText};
use std::cell::RefCell;

const ENTRIES: usize = 512;
const _: () = assert!(ENTRIES.is_power_of_two(), "`slot` takes the top bits");

#[derive(Clone, Copy)]
struct Entry {
    ring: u64,
    value: TokenText,
    key_id: u32,
    body: TokenBody,
}

thread_local! {
    static MEMO: RefCell<Vec<Option<Entry>>> = RefCell::new(vec![None; ENTRIES]);
}

/// The entry a value maps to, from its last eight characters: they encode the end of the
/// authentication tag, which is uniformly random for every token a ring sealed. A value made up
/// to collide can only evict (forged values are never stored), and eviction costs a full open.
fn slot(value: &[u8]) -> usize {
    let mut tail = [0u8; 8];
    let n = value.len().min(8);
    tail[..n].copy_from_slice(&value[value.len() - n..]);
    // Fibonacci hashing: the top bits of the product mix all eight characters.
    let mixed = u64::from_le_bytes(tail).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - ENTRIES.trailing_zeros())) as usize
}

/// The key id and body of `value` if ring `ring` vouched for it on this thread.
pub(super) fn recall(ring: u64, value: &[u8]) -> Option<(u32, TokenBody)> {
    MEMO.with(|memo| {
        let memo = memo.borrow();
        match &memo[slot(value)] {
            Some(e) if e.ring == ring && e.value.as_ref() == value => Some((e.key_id, e.body)),
            _ => None,
        }
    })
}

/// Remembers that ring `ring` vouches for `value` (sealed by key `key_id`, saying `body`).
pub(super) fn remember(ring: u64, value: TokenText, key_id: u32, body: TokenBody) {
    MEMO.with(|memo| {
        memo.borrow_mut()[slot(value.as_ref())] = Some(Entry {
            ring,
            value,
            key_id,
            body,
        });
    });
}
