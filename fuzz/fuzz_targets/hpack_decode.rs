//! The HPACK decoder (`http::h2::hpack`) on arbitrary header blocks, as one connection would
//! receive them.
//!
//! Input: byte 0 (bits 0-2: number of cuts), two bytes per cut (little-endian offsets), then the
//! data, cut into that many + 1 blocks decoded in order by one decoder (table size 4096, field
//! list limit 16 KiB), so the dynamic table carries over from block to block.
//! - Never a panic, whatever the bytes.
//! - A block that decodes: its fields, encoded by burr's encoder (`encode_field`, some fields
//!   sensitive) and decoded by a fresh decoder, come back the same.
//! - A block over the list limit delivered fields within the limit only.
#![no_main]

use burr_proxy::fuzzing::{HpackDecoder, HpackRefusal, hpack_encode};
use libfuzzer_sys::fuzz_target;

#[path = "shared/split.rs"]
mod split;

const TABLE_SIZE: usize = 4096;
const MAX_LIST: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(control & 0b111);
    if rest.len() < 2 * cuts {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * cuts);
    let mut decoder = HpackDecoder::new(TABLE_SIZE);
    let mut fields = Vec::new();
    for block in split::pieces(stream, cut_bytes) {
        match decoder.decode(block, MAX_LIST, &mut fields) {
            Ok(()) => {
                let encoded = hpack_encode(&fields, control);
                let mut again = Vec::new();
                HpackDecoder::new(TABLE_SIZE)
                    .decode(&encoded, usize::MAX, &mut again)
                    .expect("our own encoding decodes");
                assert_eq!(again, fields, "re-encoded fields differ");
            }
            Err(HpackRefusal::ListTooLarge) => {
                let size: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
                assert!(size <= MAX_LIST, "fields past the list limit were delivered");
            }
            // The connection would end here (COMPRESSION_ERROR).
            Err(HpackRefusal::Compression(_)) => return,
        }
    }
});
