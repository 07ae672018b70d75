//! The HPACK encoder for burr's responses: stateless, it never inserts into the dynamic table, so
//! the peer's SETTINGS_HEADER_TABLE_SIZE never matters and no table size update is ever sent
//! (RFC 7541 §4.2 requires one only after the encoder's table size changes, and ours is 0 in use).
//!
//! Strings go raw (H=0), never Huffman coded: Huffman saves about a quarter of the header bytes,
//! but costs a table walk per byte on the hot path of every response, and burr is CPU-bound
//! there long before its response headers fill the link.

use super::table::static_find;

/// Appends `:status` = `status`: the indexed form for the 7 statuses in the static table, else a
/// literal without indexing under the static name `:status` (index 8).
pub(crate) fn encode_status(status: u16, out: &mut Vec<u8>) {
    let index = match status {
        200 => 8,
        204 => 9,
        206 => 10,
        304 => 11,
        400 => 12,
        404 => 13,
        500 => 14,
        _ => 0,
    };
    if index != 0 {
        out.push(0x80 | index);
        return;
    }
    out.push(0x08);
    let mut digits = itoa::Buffer::new();
    write_raw(digits.format(status).as_bytes(), out);
}

/// Appends the field `name` (lowercase) = `value`: indexed when the pair is in the static table;
/// otherwise a literal without indexing (§6.2.2), its name by static index when the name is in
/// the static table; `sensitive` makes it a literal never indexed (§6.2.3), so intermediaries
/// re-encoding it keep it out of their tables too.
pub(crate) fn encode_field(name: &[u8], value: &[u8], sensitive: bool, out: &mut Vec<u8>) {
    let first = if sensitive { 0x10 } else { 0x00 };
    match static_find(name, value) {
        Some((index, true)) if !sensitive => write_int(0x80, 7, index, out),
        Some((index, _)) => {
            write_int(first, 4, index, out);
            write_raw(value, out);
        }
        None => {
            out.push(first);
            write_raw(name, out);
            write_raw(value, out);
        }
    }
}

/// An integer with a `prefix`-bit prefix (RFC 7541 §5.1), `high` holding the bits above it.
#[inline]
fn write_int(high: u8, prefix: u32, value: usize, out: &mut Vec<u8>) {
    let max_prefix = (1usize << prefix) - 1;
    if value < max_prefix {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A raw string literal (H=0, §5.2).
#[inline]
fn write_raw(s: &[u8], out: &mut Vec<u8>) {
    write_int(0x00, 7, s.len(), out);
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_statuses_are_one_byte_and_others_are_literals() {
        for (status, byte) in [
            (200, 0x88),
            (204, 0x89),
            (206, 0x8a),
            (304, 0x8b),
            (400, 0x8c),
            (404, 0x8d),
            (500, 0x8e),
        ] {
            let mut out = Vec::new();
            encode_status(status, &mut out);
            assert_eq!(out, [byte], "{status}");
        }
        let mut out = Vec::new();
        encode_status(302, &mut out);
        assert_eq!(out, b"\x08\x03302");
    }

    #[test]
    fn representations_follow_the_static_table() {
        let mut out = Vec::new();
        encode_field(b":method", b"GET", false, &mut out);
        assert_eq!(out, [0x82], "a static pair is indexed");
        out.clear();
        encode_field(b"accept-encoding", b"gzip, deflate", false, &mut out);
        assert_eq!(out, [0x90]);
        out.clear();
        encode_field(b"content-type", b"text/html", false, &mut out);
        assert_eq!(
            out, b"\x0f\x10\x09text/html",
            "static name 31 = 15 + 16, literal value"
        );
        out.clear();
        encode_field(b"x-id", b"7", false, &mut out);
        assert_eq!(out, b"\x00\x04x-id\x017", "a literal name");
        out.clear();
        encode_field(b"authorization", b"s", true, &mut out);
        assert_eq!(out, b"\x1f\x08\x01s", "never indexed, static name 23");
        out.clear();
        encode_field(b":method", b"GET", true, &mut out);
        assert_eq!(
            out, b"\x12\x03GET",
            "sensitive is never indexed, even a static pair"
        );
        out.clear();
        encode_field(b"x-secret", b"", true, &mut out);
        assert_eq!(out, b"\x10\x08x-secret\x00");
    }

    #[test]
    fn long_strings_use_continuation_bytes() {
        let value = vec![b'a'; 1337];
        let mut out = Vec::new();
        encode_field(b"x", &value, false, &mut out);
        // 1337 (RFC 7541 C.1.2 has it with a 5-bit prefix) with a 7-bit one: 127, then 1210 = 0xba 0x09.
        assert_eq!(out[..6], [0x00, 0x01, b'x', 0x7f, 0xba, 0x09]);
        assert_eq!(out.len(), 6 + 1337);
    }
}
