//! The two HPACK tables (RFC 7541 §2.3): the static table of Appendix A, with the lookups the
//! decoder (index to field) and the encoder (field to index) need, and the dynamic table the
//! decoder keeps in step with the peer's encoder.
//!
//! The dynamic table stores its entries' bytes in one buffer allocated when the decoder is made,
//! so an insert never allocates: see [`DynamicTable`] for how entries stay contiguous.

use std::collections::VecDeque;

/// RFC 7541 Appendix A (copied from the Python `hpack` package's `HeaderTable.STATIC_TABLE`,
/// checked against the RFC's vectors in the tests): `STATIC[i - 1]` is index `i`.
pub(super) const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Number of static entries: dynamic indices start after them (RFC 7541 §2.3.3).
pub(super) const STATIC_LEN: usize = STATIC.len();

/// The longest static name (`access-control-allow-origin`, 27 bytes).
const LONGEST_NAME: usize = 27;
/// The most distinct static names of one length (6, e.g. lengths 4, 7 and 13).
const PER_LENGTH: usize = 6;

/// For each name length, the index of the first static entry of each distinct name of that
/// length (0 ends the list): the encoder compares a name with at most six candidates instead of
/// walking the table. Built at compile time so nothing runs per lookup but the comparisons.
const BY_LENGTH: [[u8; PER_LENGTH]; LONGEST_NAME + 1] = {
    let mut buckets = [[0u8; PER_LENGTH]; LONGEST_NAME + 1];
    let mut i = 0;
    while i < STATIC_LEN {
        // Entries of one name are consecutive: only the first of a run goes in the bucket.
        if i == 0 || !const_eq(STATIC[i].0, STATIC[i - 1].0) {
            let bucket = &mut buckets[STATIC[i].0.len()];
            let mut slot = 0;
            while bucket[slot] != 0 {
                slot += 1; // past PER_LENGTH: a compile-time index error, never a silent miss
            }
            bucket[slot] = (i + 1) as u8;
        }
        i += 1;
    }
    buckets
};

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// What the static table has for `(name, value)`: `Some((index, true))` for an entry with both,
/// `Some((index, false))` for the first entry with the name only, `None` if the name is absent.
pub(super) fn static_find(name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
    let (&first_byte, &last_byte) = (name.first()?, name.last()?);
    let bucket = BY_LENGTH.get(name.len())?;
    // The first and last bytes rule out nearly every candidate of the right length without a
    // call to memcmp (the encoder runs this for every response field).
    let first = bucket
        .iter()
        .take_while(|&&i| i != 0)
        .map(|&i| usize::from(i))
        .find(|&i| {
            let candidate = STATIC[i - 1].0;
            candidate[0] == first_byte
                && candidate[name.len() - 1] == last_byte
                && candidate == name
        })?;
    // The entries with this name follow the first one (e.g. `:status` 8-14).
    let run = usize::from(RUNS[first - 1]);
    let pair = (first..first + run).find(|&i| STATIC[i - 1].1 == value);
    Some(pair.map_or((first, false), |i| (i, true)))
}

/// `RUNS[i - 1]`: how many entries from index `i` on have its name (1 for most).
const RUNS: [u8; STATIC_LEN] = {
    let mut runs = [1u8; STATIC_LEN];
    let mut i = STATIC_LEN - 1;
    while i > 0 {
        if const_eq(STATIC[i - 1].0, STATIC[i].0) {
            runs[i - 1] = runs[i] + 1;
        }
        i -= 1;
    }
    runs
};

/// The per-entry overhead of RFC 7541 §4.1 (and of RFC 9113 §6.5.2's list size).
pub(super) const ENTRY_OVERHEAD: usize = 32;

/// One dynamic entry: its name then its value, contiguous in [`DynamicTable::bytes`].
#[derive(Clone, Copy, Debug)]
struct Entry {
    start: usize,
    name_len: usize,
    value_len: usize,
}

/// The dynamic table (RFC 7541 §2.3.2, §4): a FIFO of entries, newest first.
///
/// The entries' bytes live in one buffer of twice the largest table size, used as a ring in which
/// an entry never wraps: an entry that would run past the end starts at offset 0 instead, so the
/// decoder can hand out each name and value as one slice. Twice the size is what makes that
/// always fit: the live bytes are at most `max_size - len` before an insert of `len` bytes, so
/// when the new entry goes back to 0 the oldest live byte is at or past `max_size >= len`, and
/// while the live bytes wrap, the gap before the oldest is at least as long as the new entry
/// (the argument is spelt out in `insert`, and checked in debug builds).
pub(super) struct DynamicTable {
    bytes: Box<[u8]>,
    /// Newest at the front (index 62 is `entries[0]`). Its capacity is reserved up front: an
    /// entry costs at least 32 of the size, so there are never more than `capacity / 32`.
    entries: VecDeque<Entry>,
    /// Where the next entry's bytes go.
    head: usize,
    /// RFC 7541 §4.1 size of the entries: name + value + 32 each.
    size: usize,
    /// The current maximum (the last size update, at most `capacity`).
    max_size: usize,
}

impl DynamicTable {
    /// A table whose maximum size may go up to `capacity` (SETTINGS_HEADER_TABLE_SIZE), starting
    /// at `capacity` as RFC 9113 §4.3.1 says.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            bytes: vec![0; 2 * capacity].into_boxed_slice(),
            entries: VecDeque::with_capacity(capacity / ENTRY_OVERHEAD + 1),
            head: 0,
            size: 0,
            max_size: capacity,
        }
    }

    /// The RFC size of the entries (the tests check it against RFC 7541's examples).
    #[cfg(test)]
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// How many entries there are.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The largest size the table may be given (its buffer's half).
    pub(super) fn capacity(&self) -> usize {
        self.bytes.len() / 2
    }

    /// Entry `i` (0 = newest, dynamic index 62) as `(name, value)`.
    pub(super) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = self.entries.get(i)?;
        let name_end = e.start + e.name_len;
        Some((
            &self.bytes[e.start..name_end],
            &self.bytes[name_end..name_end + e.value_len],
        ))
    }

    /// A dynamic table size update (RFC 7541 §6.3; the caller checked it against the capacity):
    /// entries are evicted until the size fits (§4.3).
    pub(super) fn set_max_size(&mut self, max_size: usize) {
        debug_assert!(max_size <= self.capacity());
        self.max_size = max_size;
        while self.size > self.max_size {
            self.evict();
        }
    }

    fn evict(&mut self) {
        if let Some(e) = self.entries.pop_back() {
            self.size -= e.name_len + e.value_len + ENTRY_OVERHEAD;
        }
        if self.entries.is_empty() {
            self.head = 0;
        }
    }

    /// Adds `(name, value)` as the newest entry, evicting the oldest ones first (§4.4); an entry
    /// larger than the maximum size empties the table and is not added. `name` and `value` must
    /// not borrow from this table (the caller copies a dynamic name out first: eviction may free
    /// the entry it came from, and the new entry may be written over its bytes).
    pub(super) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let len = name.len() + value.len();
        if len + ENTRY_OVERHEAD > self.max_size {
            self.entries.clear();
            self.size = 0;
            self.head = 0;
            return;
        }
        while self.size + len + ENTRY_OVERHEAD > self.max_size {
            self.evict();
        }
        // Now the live bytes are at most max_size - len, and max_size <= capacity = buffer / 2.
        // - Not wrapped, fits after head: the bytes after head are free.
        // - Not wrapped, does not fit: head > 2 cap - len, the live bytes (contiguous, ending at
        //   head) are <= cap - len long, so the oldest starts past cap >= len: [0, len) is free.
        // - Wrapped (oldest past head): the entries before the wrap end at m > 2 cap - len' >=
        //   cap, and head + len <= live - (m - oldest) + len <= cap - m + oldest <= oldest, so
        //   it fits after head; it cannot not fit, as head <= live <= cap - len.
        let start = if self.head + len > self.bytes.len() {
            0
        } else {
            self.head
        };
        #[cfg(debug_assertions)]
        for e in &self.entries {
            let end = e.start + e.name_len + e.value_len;
            debug_assert!(
                len == 0 || e.start == end || start + len <= e.start || end <= start,
                "a new entry at {start}+{len} overlaps one at {}..{end}",
                e.start
            );
        }
        self.bytes[start..start + name.len()].copy_from_slice(name);
        self.bytes[start + name.len()..start + len].copy_from_slice(value);
        self.head = start + len;
        self.size += len + ENTRY_OVERHEAD;
        self.entries.push_front(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
        });
    }
}
