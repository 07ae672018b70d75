//! A per-thread memo of tokens this process has sealed or opened: a returning client presents
//! the same cookie value request after request, and authenticating it again each time would be
//! most of what stickiness costs.
//!
//! Direct-mapped, 512 entries per thread (≈ 100 KiB), keyed by the whole value and the identity
//! of the ring that vouched for it. Only values that opened (or were sealed) are stored, so
//! forged values always pay the full check and cannot evict much. A hit is exactly as strong as
//! opening: the same ring instance authenticated these very bytes; retirement is checked again
//! by the caller on every hit, since it depends on `now`.

use super::{TOKEN_CHARS, TokenBody};
use std::cell::RefCell;
use xxhash_rust::xxh3::xxh3_64;

const ENTRIES: usize = 512;

#[derive(Clone, Copy)]
struct Entry {
    ring: u64,
    value: [u8; TOKEN_CHARS],
    key_id: u32,
    body: TokenBody,
}

thread_local! {
    static MEMO: RefCell<Vec<Option<Entry>>> = RefCell::new(vec![None; ENTRIES]);
}

fn slot(value: &[u8]) -> usize {
    (xxh3_64(value) % ENTRIES as u64) as usize
}

/// The key id and body of `value` if ring `ring` vouched for it on this thread.
pub(super) fn recall(ring: u64, value: &str) -> Option<(u32, TokenBody)> {
    let bytes = value.as_bytes();
    if bytes.len() != TOKEN_CHARS {
        return None;
    }
    MEMO.with(|memo| {
        let memo = memo.borrow();
        match &memo[slot(bytes)] {
            Some(e) if e.ring == ring && e.value[..] == *bytes => Some((e.key_id, e.body)),
            _ => None,
        }
    })
}

/// Remembers that ring `ring` vouches for `value` (sealed by key `key_id`, saying `body`).
pub(super) fn remember(ring: u64, value: &str, key_id: u32, body: TokenBody) {
    let Ok(fixed) = <[u8; TOKEN_CHARS]>::try_from(value.as_bytes()) else {
        return;
    };
    MEMO.with(|memo| {
        memo.borrow_mut()[slot(&fixed)] = Some(Entry {
            ring,
            value: fixed,
            key_id,
            body,
        });
    });
}
