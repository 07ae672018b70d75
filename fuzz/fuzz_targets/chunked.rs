//! The chunk scanner (`ChunkedBody::scan`), on arbitrary bytes and on bodies it must accept.
//!
//! Input: byte 0 (bit 0: mode; bits 1-3: number of cuts; bits 4-7: trailer line limit), two
//! bytes per cut (little-endian offsets), then the data.
//! - Mode 0, any bytes: the answer (more, end at N, or bad at N with a reason) is the same
//!   however the bytes are cut into pieces; an end is always just after a line feed.
//! - Mode 1, a body built from the data (chunks, extensions, trailers) with the chunked coding:
//!   the scanner ends exactly at its last byte, in any split, and not before.
#![no_main]

use burr_proxy::fuzzing::{Scan, chunked_scan};
use libfuzzer_sys::fuzz_target;

#[path = "shared/split.rs"]
mod split;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let build = control & 1 != 0;
    let cuts = usize::from(control >> 1 & 0b111);
    let max_trailer_line = 1 + usize::from(control >> 4) * 64;
    if rest.len() < 2 * cuts {
        return;
    }
    let (cut_bytes, tail) = rest.split_at(2 * cuts);
    let stream = if build { encode(tail) } else { tail.to_vec() };
    let pieces = split::pieces(&stream, cut_bytes);

    let whole = chunked_scan(&[&stream], max_trailer_line);
    let split = chunked_scan(&pieces, max_trailer_line);
    assert_eq!(split, whole, "the answer depends on the split {pieces:?}");
    let byte_by_byte: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(chunked_scan(&byte_by_byte, max_trailer_line), whole);
    match whole {
        Scan::End(n) => assert!(
            n > 0 && stream[n - 1] == b'\n',
            "an end not after a line feed"
        ),
        Scan::Bad { at, .. } => assert!(at < stream.len()),
        Scan::More => {}
    }
    if build {
        // The data are only ever chunk data, extension text or trailer text: all accepted
        // when the limits allow them.
        let longest_trailer = TRAILERS.iter().map(|t| t.len()).max().unwrap_or(0);
        if max_trailer_line >= longest_trailer {
            assert_eq!(
                whole,
                Scan::End(stream.len()),
                "{}",
                String::from_utf8_lossy(&stream)
            );
        }
    }
});

const TRAILERS: [&str; 2] = ["Expires: 0", "X-Checksum: abc"];

/// A chunked body made of `data`: each byte b starts a chunk of the next (b % 40) bytes, with an
/// extension on every third chunk; then the last chunk and a trailer section.
fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut count = 0;
    while i < data.len() {
        let len = usize::from(data[i] % 40).min(data.len() - i - 1);
        i += 1;
        if len == 0 {
            continue; // a zero-size chunk would end the body
        }
        let size = if count % 2 == 0 {
            format!("{len:x}")
        } else {
            format!("{len:X}")
        };
        out.extend_from_slice(size.as_bytes());
        if count % 3 == 0 {
            out.extend_from_slice(b";name=\"value\"");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&data[i..i + len]);
        out.extend_from_slice(b"\r\n");
        i += len;
        count += 1;
    }
    out.extend_from_slice(b"0\r\n");
    for trailer in TRAILERS.iter().take(count % 3) {
        out.extend_from_slice(trailer.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
