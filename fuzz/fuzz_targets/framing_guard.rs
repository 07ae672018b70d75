//! The framing guard (`FramingGuard`: head check, `request_body`, body tracking) over a client's
//! byte stream cut into reads wherever the fuzzer likes.
//!
//! Input: byte 0 gives the number of cuts (low 3 bits), hyper's read size (bits 3-4) and
//! whether upgrade requests are answered 101 (bit 5), then two bytes per cut (little-endian
//! offsets), then the stream. Invariants: what the guard delivers to hyper and what it answers
//! do not depend on how the stream was cut or read; it delivers a prefix of the stream; it
//! answers only with a 4xx; and a first head the request rules (`check_request`) refuse is
//! never delivered, not even in part.
#![no_main]

use burr_proxy::fuzzing::{check_request, framing_guard};
use libfuzzer_sys::fuzz_target;

#[path = "shared/split.rs"]
mod split;

const MAX_HEAD: usize = 65_536;
const MAX_HEADERS: usize = 100;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(control & 0b111);
    let read_size = [8192, 1, 16, 300][usize::from(control >> 3 & 0b11)];
    let switch = control & 0b10_0000 != 0;
    if rest.len() < 2 * cuts {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * cuts);
    let pieces = split::pieces(&stream, cut_bytes);

    let whole = framing_guard(&[stream], MAX_HEAD, MAX_HEAD, MAX_HEADERS, switch);
    let split = framing_guard(&pieces, read_size, MAX_HEAD, MAX_HEADERS, switch);
    assert_eq!(split, whole, "the verdict depends on the split {pieces:?}");
    assert!(
        stream.starts_with(&whole.delivered),
        "delivered bytes not sent"
    );
    assert!(
        whole.answer.is_empty() || whole.answer.starts_with(b"HTTP/1.1 4"),
        "answer: {}",
        String::from_utf8_lossy(&whole.answer)
    );

    // The first head, parsed independently: when the rules refuse it nothing goes through.
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    if let Ok(httparse::Status::Complete(_)) = request.parse(stream)
        && request.method != Some("PRI")
        && let (Some(method), Some(target)) = (request.method, request.path)
        && let Err(refusal) = check_request(method, target, request.version, request.headers)
    {
        let reason = refusal.reason;
        assert!(
            whole.delivered.is_empty(),
            "a refused head ({reason}) was delivered"
        );
        assert!(
            !whole.answer.is_empty(),
            "a refused head ({reason}) was not answered"
        );
    }
});
