//! Cutting a byte stream into the pieces successive reads would deliver, from fuzzer-chosen cut
//! positions, for the targets that check an answer does not depend on the split.

/// `stream` cut at the positions that `cut_bytes` encodes (little-endian `u16` pairs, modulo
/// the stream's length, sorted): the pieces, in order, which together are `stream`.
pub fn pieces<'s>(stream: &'s [u8], cut_bytes: &[u8]) -> Vec<&'s [u8]> {
    let mut at: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in at.into_iter().chain([stream.len()]) {
        pieces.push(&stream[start..cut]);
        start = cut;
    }
    pieces
}
