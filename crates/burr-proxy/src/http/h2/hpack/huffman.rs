//! Huffman decoding of HPACK string literals (RFC 7541 §5.2, code of Appendix B in
//! `huffman_codes.rs`), four bits at a time through a state table built at compile time.
//!
//! A state is an internal node of the code's tree (256 of them for 257 leaves, so a `u8`): the
//! bits read since the last complete symbol. Each of a state's 16 steps says where four more bits
//! lead, the symbol they complete if any (at most one: the shortest code is 5 bits), whether they
//! reach EOS (an error inside a string, §5.2), and whether the string may end there. It may end
//! only where the bits since the last symbol are all ones and at most 7 of them: that is the
//! padding rule of §5.2 (a prefix of EOS, shorter than a byte). Two table reads per input byte,
//! no bit-by-bit tree walk.

use super::huffman_codes::CODES;

/// The step completes a symbol (in `sym`).
const EMIT: u8 = 1;
/// The string may end after this step: the bits since the last symbol are ≤ 7 ones.
const ACCEPT: u8 = 2;
/// The step decodes EOS.
const FAIL: u8 = 4;
/// Not `ACCEPT` because the bits since the last symbol are ones but more than 7 of them.
const LONG_PAD: u8 = 8;

#[derive(Clone, Copy)]
struct Step {
    next: u8,
    sym: u8,
    flags: u8,
}

/// A child in the tree: an internal node's number, or a leaf (`LEAF | symbol`).
const LEAF: u16 = 0x8000;
const NODES: usize = 256;

/// The code's tree, and for each internal node whether the path to it is all ones (`Some(depth)`).
struct Tree {
    children: [[u16; 2]; NODES],
    ones: [Option<u8>; NODES],
}

const fn build_tree() -> Tree {
    // 0 is the root; as the root is nobody's child, a child of 0 means "not made yet".
    let mut tree = Tree {
        children: [[0; 2]; NODES],
        ones: [None; NODES],
    };
    tree.ones[0] = Some(0);
    let mut made = 1;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        let mut node = 0;
        let mut depth = 0;
        while depth < len {
            let bit = ((code >> (len - 1 - depth)) & 1) as usize;
            if depth + 1 == len {
                assert!(
                    tree.children[node][bit] == 0,
                    "a code is a prefix of another"
                );
                tree.children[node][bit] = LEAF | sym as u16;
            } else {
                if tree.children[node][bit] == 0 {
                    tree.children[node][bit] = made as u16;
                    tree.ones[made] = match tree.ones[node] {
                        Some(d) if bit == 1 => Some(d + 1),
                        _ => None,
                    };
                    made += 1;
                }
                let child = tree.children[node][bit];
                assert!(child & LEAF == 0, "a code runs through another's leaf");
                node = child as usize;
            }
            depth += 1;
        }
        sym += 1;
    }
    assert!(
        made == NODES,
        "a complete code of 257 symbols has 256 internal nodes"
    );
    tree
}

const fn build_steps() -> [[Step; 16]; NODES] {
    let tree = build_tree();
    let mut steps = [[Step {
        next: 0,
        sym: 0,
        flags: 0,
    }; 16]; NODES];
    let mut state = 0;
    while state < NODES {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut flags = 0;
            let mut sym = 0;
            let mut bit = 4;
            while bit > 0 {
                bit -= 1;
                let child = tree.children[node][(nibble >> bit) & 1];
                if child & LEAF == 0 {
                    node = child as usize;
                } else if child & !LEAF == 256 {
                    flags |= FAIL;
                    break;
                } else {
                    flags |= EMIT;
                    sym = (child & !LEAF) as u8;
                    node = 0;
                }
            }
            match tree.ones[node] {
                Some(depth) if depth <= 7 => flags |= ACCEPT,
                Some(_) => flags |= LONG_PAD,
                None => {}
            }
            steps[state][nibble] = Step {
                next: node as u8,
                sym,
                flags,
            };
            nibble += 1;
        }
        state += 1;
    }
    steps
}

/// 256 × 16 steps of 3 bytes: 12 KiB, built by the compiler.
static STEPS: [[Step; 16]; NODES] = build_steps();

/// Decodes the Huffman-coded `src` into `out` (cleared first; its capacity is kept and reused).
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    // The shortest code is 5 bits: at most 8/5 symbols per byte, so no push reallocates.
    out.reserve(src.len() * 8 / 5 + 1);
    let mut state = 0u8;
    let mut flags = ACCEPT;
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            let step = STEPS[usize::from(state)][usize::from(nibble)];
            if step.flags & FAIL != 0 {
                return Err("Huffman string contains EOS");
            }
            if step.flags & EMIT != 0 {
                out.push(step.sym);
            }
            state = step.next;
            flags = step.flags;
        }
    }
    if flags & ACCEPT != 0 {
        Ok(())
    } else if flags & LONG_PAD != 0 {
        Err("Huffman padding longer than 7 bits")
    } else {
        Err("Huffman padding not all ones")
    }
}

/// The Huffman coding of `src` (tests only: burr's encoder sends strings raw, see `encode.rs`).
#[cfg(test)]
pub(super) fn encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = acc << len | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        // Pad with the most significant bits of EOS (ones).
        out.push((acc << (8 - bits)) as u8 | (0xff >> bits));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(src: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        decode(src, &mut out).map(|()| out)
    }

    #[test]
    fn every_symbol_alone_and_all_together_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(decoded(&encode(&[b])).unwrap(), [b], "symbol {b}");
            assert_eq!(
                decoded(&encode(&[b, b, b])).unwrap(),
                [b, b, b],
                "symbol {b}"
            );
        }
        let all: Vec<u8> = (0..=255).rev().collect();
        assert_eq!(decoded(&encode(&all)).unwrap(), all);
        assert_eq!(decoded(b"").unwrap(), b"");
    }

    #[test]
    fn rfc_7541_c_4_1_authority() {
        let src = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(decoded(&src).unwrap(), b"www.example.com");
        assert_eq!(encode(b"www.example.com"), src);
    }

    #[test]
    fn padding_longer_than_seven_bits_is_refused() {
        // "0" is 00000 (5 bits): then 3 padding ones fill the byte; a whole byte more of ones is
        // 11 bits of padding.
        assert_eq!(decoded(&[0x07]).unwrap(), b"0");
        assert_eq!(
            decoded(&[0x07, 0xff]),
            Err("Huffman padding longer than 7 bits")
        );
        // A lone byte of ones: 8 bits of padding, no symbol.
        assert_eq!(decoded(&[0xff]), Err("Huffman padding longer than 7 bits"));
    }

    #[test]
    fn padding_not_all_ones_is_refused() {
        // "0" then padding 110 instead of 111.
        assert_eq!(decoded(&[0x06]), Err("Huffman padding not all ones"));
        // "0" then 000: the start of another code, not padding.
        assert_eq!(decoded(&[0x00]), Err("Huffman padding not all ones"));
    }

    #[test]
    fn eos_inside_a_string_is_refused() {
        // EOS is 30 ones: four bytes of ones reach it.
        assert_eq!(
            decoded(&[0xff, 0xff, 0xff, 0xff]),
            Err("Huffman string contains EOS")
        );
        // After a symbol too: "0" (00000), then 35 ones, among which EOS's 30.
        assert_eq!(
            decoded(&[0x07, 0xff, 0xff, 0xff, 0xff]),
            Err("Huffman string contains EOS")
        );
    }
}
