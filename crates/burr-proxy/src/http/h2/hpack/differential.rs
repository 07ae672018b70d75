//! Differential tests against independent HPACK implementations, over sequences of blocks that
//! share one connection's state:
//! - proptest, with `httlib-hpack` (a dev-dependency): blocks its encoder makes (Huffman coding,
//!   incremental indexing, never-indexed fields, table size updates) decode to the same fields in
//!   ours; blocks ours makes decode to the same fields in its decoder;
//! - a committed corpus from the Python `hpack` package (`tests/data/hpack_python.txt`, made by
//!   `tools/gen_hpack_corpus.py`), whose values hold every byte 0-255: Huffman decoding of every
//!   symbol is checked against an encoder that is not ours.

use super::decode::Decoder;
use super::encode_field;
use super::table::STATIC;
use super::tests::{decode, unhex};
use httlib_hpack::{Decoder as RefDecoder, Encoder as RefEncoder};
use proptest::prelude::*;

type Field = (Vec<u8>, Vec<u8>);

/// Lowercase token names, a third of them static-table names; values of bytes 0x20-0xff (empty
/// too), a fifth of them the static entry's own pair.
fn field() -> impl Strategy<Value = Field> {
    let name = prop_oneof![
        1 => (0..STATIC.len()).prop_map(|i| STATIC[i].0.to_vec()),
        2 => "[a-z][a-z0-9-]{0,14}".prop_map(String::into_bytes),
    ];
    let value = proptest::collection::vec(0x20u8..=0xff, 0..40);
    prop_oneof![
        4 => (name, value),
        1 => (0..STATIC.len()).prop_map(|i| (STATIC[i].0.to_vec(), STATIC[i].1.to_vec())),
    ]
}

/// How the reference encoder writes one field: Huffman for name and value, and the
/// representation (0: without indexing, 1: incremental indexing, 2: never indexed).
type How = (bool, bool, u8);

/// A connection: a pool of fields, and blocks of (pool index, how), each maybe after a table
/// size update. Fields recur across blocks, so the dynamic table is used and evicted.
#[allow(clippy::type_complexity)]
fn connection() -> impl Strategy<Value = (Vec<Field>, Vec<(Option<u32>, Vec<(usize, How)>)>)> {
    let update = prop_oneof![
        6 => Just(None),
        1 => prop_oneof![Just(0u32), 0u32..300, Just(4096)].prop_map(Some),
    ];
    let how = (any::<bool>(), any::<bool>(), 0u8..3);
    (
        proptest::collection::vec(field(), 1..12),
        proptest::collection::vec(
            (
                update,
                proptest::collection::vec((any::<usize>(), how), 0..14),
            ),
            1..8,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn blocks_from_the_reference_encoder_decode_to_the_same_fields((pool, blocks) in connection()) {
        let mut reference = RefEncoder::with_dynamic_size(4096);
        let mut ours = Decoder::new(4096);
        for (update, picks) in blocks {
            let mut block = Vec::new();
            if let Some(size) = update {
                reference.update_max_dynamic_size(size, &mut block).unwrap();
            }
            let mut want = Vec::new();
            for (pick, (huff_name, huff_value, rep)) in picks {
                let (name, value) = pool[pick % pool.len()].clone();
                let mut flags = RefEncoder::BEST_FORMAT;
                flags |= if huff_name { RefEncoder::HUFFMAN_NAME } else { 0 };
                flags |= if huff_value { RefEncoder::HUFFMAN_VALUE } else { 0 };
                flags |= [0, RefEncoder::WITH_INDEXING, RefEncoder::NEVER_INDEXED][usize::from(rep)];
                reference.encode((name.clone(), value.clone(), flags), &mut block).unwrap();
                want.push((name, value));
            }
            prop_assert_eq!(decode(&mut ours, &block, usize::MAX), Ok(want));
        }
    }

    #[test]
    fn blocks_from_our_encoder_decode_to_the_same_fields_in_the_reference(
        (pool, blocks) in connection()
    ) {
        let mut reference = RefDecoder::with_dynamic_size(4096);
        for (_, picks) in blocks {
            let mut block = Vec::new();
            let mut want = Vec::new();
            for (pick, (sensitive, _, _)) in picks {
                let (name, value) = &pool[pick % pool.len()];
                encode_field(name, value, sensitive, &mut block);
                want.push((name.clone(), value.clone()));
            }
            let mut got = Vec::new();
            reference.decode(&mut block.clone(), &mut got).unwrap();
            let got: Vec<Field> = got.into_iter().map(|(n, v, _)| (n, v)).collect();
            prop_assert_eq!(&got, &want);
            // And ours reads its own output the same way, the table untouched.
            let mut ours = Decoder::new(4096);
            prop_assert_eq!(decode(&mut ours, &block, usize::MAX), Ok(want));
            prop_assert_eq!(ours.table().len(), 0);
        }
    }
}

#[test]
fn blocks_from_python_hpack_decode_to_the_same_fields() {
    let corpus = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hpack_python.txt"
    ));
    let hex = |s: &str| if s == "-" { Vec::new() } else { unhex(s) };
    let mut decoder = Decoder::new(4096);
    let mut block: Option<Vec<u8>> = None;
    let mut want: Vec<Field> = Vec::new();
    let mut blocks = 0;
    let mut check = |decoder: &mut Decoder, block: &mut Option<Vec<u8>>, want: &mut Vec<Field>| {
        if let Some(b) = block.take() {
            assert_eq!(
                decode(decoder, &b, usize::MAX),
                Ok(std::mem::take(want)),
                "block {blocks}"
            );
            blocks += 1;
        }
    };
    for line in corpus.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[..] {
            ["sequence"] => {
                check(&mut decoder, &mut block, &mut want);
                decoder = Decoder::new(4096);
            }
            ["block", b] => {
                check(&mut decoder, &mut block, &mut want);
                block = Some(hex(b));
            }
            ["field", n, v] => want.push((hex(n), hex(v))),
            _ => panic!("a corpus line of no known form: {line}"),
        }
    }
    check(&mut decoder, &mut block, &mut want);
    assert_eq!(blocks, 300);
}

/// Instruction counts for docs/performance.md, not a timing assertion: run under callgrind
/// twice, with HPACK_ITERS=0 and HPACK_ITERS=100000, the difference over 100000 is the cost of
/// one iteration. HPACK_WHAT: `warm` (h2load's request again: all indexed), `cold` (its first
/// block: Huffman literals, indexed), `curl`, or `encode` (a 6-field response). E.g.
/// `HPACK_WHAT=warm HPACK_ITERS=100000 valgrind --tool=callgrind <lib test binary> --ignored
/// --exact http::h2::hpack::differential::hpack_instructions`. Blocks made by the reference
/// encoder (Huffman, incremental indexing), as nghttp2 and curl send them.
#[test]
#[ignore = "a measurement, run by hand under callgrind"]
fn hpack_instructions() {
    use std::hint::black_box;
    let iters: usize = std::env::var("HPACK_ITERS").map_or(0, |n| n.parse().unwrap());
    let what = std::env::var("HPACK_WHAT").unwrap_or_default();
    fn request(ua: &str, accept_encoding: bool) -> Vec<(&str, &str)> {
        let mut fields = vec![
            (":method", "GET"),
            (":path", "/"),
            (":scheme", "https"),
            (":authority", "127.0.0.1:8443"),
            ("accept", "*/*"),
            ("user-agent", ua),
        ];
        if accept_encoding {
            fields.push(("accept-encoding", "gzip, deflate"));
        }
        fields
    }
    let mut reference = RefEncoder::with_dynamic_size(4096);
    let mut encode_ref = |fields: &[(&str, &str)]| {
        let mut block = Vec::new();
        for (n, v) in fields {
            let flags = RefEncoder::BEST_FORMAT
                | RefEncoder::WITH_INDEXING
                | RefEncoder::HUFFMAN_NAME
                | RefEncoder::HUFFMAN_VALUE;
            let field = (n.as_bytes().to_vec(), v.as_bytes().to_vec(), flags);
            reference.encode(field, &mut block).unwrap();
        }
        block
    };
    let h2load = request("h2load nghttp2/1.64.0", true);
    let cold = encode_ref(&h2load);
    let warm = encode_ref(&h2load);
    let curl = encode_ref(&request("curl/8.14.1", false));
    let mut decoder = Decoder::new(4096);
    let mut fields = 0usize;
    let block = match what.as_str() {
        "cold" => &cold,
        "curl" => &curl,
        _ => &warm,
    };
    if what != "encode" {
        decode(&mut decoder, &cold, usize::MAX).unwrap();
        for _ in 0..iters {
            decoder
                .decode(black_box(block), 65536, |n, v| fields += n.len() + v.len())
                .unwrap();
        }
        black_box(fields);
        return;
    }
    let response: [(&[u8], &[u8]); 5] = [
        (b"content-type", b"application/json"),
        (b"content-length", b"1234"),
        (b"date", b"Sat, 06 Dec 2026 16:37:00 GMT"),
        (b"server", b"burr"),
        (b"cache-control", b"no-cache"),
    ];
    let mut out = Vec::with_capacity(256);
    for _ in 0..iters {
        out.clear();
        super::encode_status(black_box(200), &mut out);
        for (n, v) in black_box(&response) {
            encode_field(n, v, false, &mut out);
        }
        black_box(&out);
    }
}
