//! burr's own HTTP/2 server (`http::h2::server`: frames, HPACK decoding, streams, flow control)
//! over a client's byte stream cut into reads wherever the fuzzer likes.
//!
//! Input: byte 0 gives the number of cuts (low 3 bits), then two bytes per cut (little-endian
//! offsets), then the stream; the stream is preceded by the client preface unless bit 3 of
//! byte 0 is set (so the fuzzer spends its time on frames, and still tries bad prefaces).
//! Invariants: the server never panics and never stops making progress; what it writes is a
//! sequence of whole frames that starts with its SETTINGS, every frame no larger than 16 KiB;
//! nothing is sent on a stream after the frame that ended it (END_STREAM or RST_STREAM); no
//! stream gets more than one response head; and nothing at all follows a GOAWAY with an error.
#![no_main]

use burr_proxy::fuzzing::h2_server;
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

#[path = "shared/split.rs"]
mod split;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(control & 0b111);
    if rest.len() < 2 * cuts {
        return;
    }
    let (cut_bytes, frames) = rest.split_at(2 * cuts);
    let stream = if control & 0b1000 == 0 {
        [PREFACE, frames].concat()
    } else {
        frames.to_vec()
    };
    let pieces = split::pieces(&stream, cut_bytes);
    let written = h2_server(&pieces, 16 * 1024);
    check_frames(&written);
});

fn check_frames(mut out: &[u8]) {
    let mut first = true;
    let mut ended: HashSet<u32> = HashSet::new();
    let mut heads: HashMap<u32, u32> = HashMap::new();
    let mut failed = false;
    while !out.is_empty() {
        assert!(out.len() >= 9, "a partial frame header: {out:?}");
        let len = usize::from(out[0]) << 16 | usize::from(out[1]) << 8 | usize::from(out[2]);
        let (kind, flags) = (out[3], out[4]);
        let id = u32::from_be_bytes([out[5], out[6], out[7], out[8]]);
        assert!(len <= 16_384, "a frame of {len} bytes");
        assert!(out.len() >= 9 + len, "a partial frame");
        assert!(!failed, "a frame after GOAWAY with an error");
        if first {
            assert_eq!((kind, flags), (4, 0), "the first frame is not SETTINGS");
            first = false;
        }
        let payload = &out[9..9 + len];
        match kind {
            0 | 1 | 9 => {
                assert!(id != 0 && !ended.contains(&id), "a frame on ended stream {id}");
                if kind == 1 && !ended.contains(&id) {
                    let count = heads.entry(id).or_default();
                    *count += 1;
                    // A response head, then at most trailers.
                    assert!(*count <= 2, "stream {id} got {count} header blocks");
                }
                if kind != 9 && flags & 1 != 0 {
                    ended.insert(id);
                }
            }
            3 => {
                assert!(id != 0 && len == 4, "a bad RST_STREAM");
                ended.insert(id);
            }
            7 => {
                assert!(id == 0 && len == 8, "a bad GOAWAY");
                failed = u32::from_be_bytes(payload[4..8].try_into().unwrap()) != 0;
            }
            4 | 6 | 8 => {}
            other => panic!("burr sent a frame of type {other}"),
        }
        out = &out[9 + len..];
    }
}
