//! The chunked decoder of the HTTP/2 path (`ChunkedBody::decode`), on arbitrary bytes cut into
//! arbitrary reads.
//!
//! Input: byte 0 (bits 0-2: number of cuts; bits 4-7: trailer line limit), two bytes per cut
//! (little-endian offsets), then the stream. The decoder must agree with the chunk scanner
//! (`ChunkedBody::scan`, the fast path's) on where the body ends or breaks, whatever the
//! split; the data it yields must not depend on the split; and on a body that ends, the data
//! must be what a reference decoder written from RFC 9112 §7.1's grammar reads.
#![no_main]

use burr_proxy::fuzzing::{Scan, chunked_decode, chunked_scan};
use libfuzzer_sys::fuzz_target;

#[path = "shared/split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(control & 0b111);
    let max_trailer_line = 1 + usize::from(control >> 4) * 64;
    if rest.len() < 2 * cuts {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * cuts);
    let pieces = split::pieces(stream, cut_bytes);

    let (whole_data, whole) = chunked_decode(&[stream], max_trailer_line);
    assert_eq!(whole, chunked_scan(&[stream], max_trailer_line), "decode and scan disagree");
    let (split_data, split) = chunked_decode(&pieces, max_trailer_line);
    assert_eq!(split, whole, "the outcome depends on the split {pieces:?}");
    assert_eq!(split_data, whole_data, "the data depend on the split {pieces:?}");
    if let Scan::End(n) = whole {
        assert_eq!(Some(whole_data), reference(&stream[..n]), "differs from the reference");
    }
});

/// RFC 9112 §7.1, read straight from the grammar: `*chunk last-chunk trailer-section CRLF`,
/// `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`. Only for a body the decoder says
/// ends exactly at the end of `body`; `None` if the grammar disagrees.
fn reference(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let line = &body[..line_end];
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            // Trailer fields, each ending with CRLF, then the empty line.
            loop {
                let end = body.windows(2).position(|w| w == b"\r\n")?;
                body = &body[end + 2..];
                if end == 0 {
                    return body.is_empty().then_some(data);
                }
            }
        }
        let size = usize::try_from(size).ok()?;
        if body.len() < size + 2 || &body[size..size + 2] != b"\r\n" {
            return None;
        }
        data.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}
