//! The decoder against RFC 7541 Appendix C (fields and the dynamic table after every block), and
//! each way a block can be malformed: an error, never a panic, never a wrong field.

use super::decode::{DecodeError, Decoder};
use super::{encode_field, encode_status};

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

pub(super) fn unhex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub(super) fn decode(
    d: &mut Decoder,
    block: &[u8],
    max_list: usize,
) -> Result<Fields, DecodeError> {
    let mut fields = Vec::new();
    d.decode(block, max_list, |n, v| {
        fields.push((n.to_vec(), v.to_vec()))
    })
    .map(|()| fields)
}

fn owned(fields: &[(&str, &str)]) -> Fields {
    fields
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn entries(d: &Decoder) -> Fields {
    let t = d.table();
    (0..t.len())
        .map(|i| t.get(i).unwrap())
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect()
}

/// One block of an Appendix C example: its bytes, the fields, the table's size and entries
/// (newest first) after it.
struct Step<'a> {
    hex: &'a str,
    fields: &'a [(&'a str, &'a str)],
    size: usize,
    table: &'a [(&'a str, &'a str)],
}

fn run(table_size: usize, steps: &[Step<'_>]) {
    let mut d = Decoder::new(table_size);
    for (i, step) in steps.iter().enumerate() {
        let got = decode(&mut d, &unhex(step.hex), usize::MAX);
        assert_eq!(got, Ok(owned(step.fields)), "block {i}");
        assert_eq!(entries(&d), owned(step.table), "table after block {i}");
        assert_eq!(d.table().size(), step.size, "table size after block {i}");
    }
}

#[test]
fn c_2_1_literal_with_indexing() {
    let step = Step {
        hex: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        fields: &[("custom-key", "custom-header")],
        size: 55,
        table: &[("custom-key", "custom-header")],
    };
    run(4096, &[step]);
}

#[test]
fn c_2_2_literal_without_indexing() {
    let step = Step {
        hex: "040c 2f73 616d 706c 652f 7061 7468",
        fields: &[(":path", "/sample/path")],
        size: 0,
        table: &[],
    };
    run(4096, &[step]);
}

#[test]
fn c_2_3_literal_never_indexed() {
    let step = Step {
        hex: "1008 7061 7373 776f 7264 0673 6563 7265 74",
        fields: &[("password", "secret")],
        size: 0,
        table: &[],
    };
    run(4096, &[step]);
}

#[test]
fn c_2_4_indexed() {
    let step = Step {
        hex: "82",
        fields: &[(":method", "GET")],
        size: 0,
        table: &[],
    };
    run(4096, &[step]);
}

const REQ1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const REQ_TABLES: [&[(&str, &str)]; 3] = [
    &[(":authority", "www.example.com")],
    &[
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ],
    &[
        ("custom-key", "custom-value"),
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ],
];

fn requests(hex: [&str; 3]) -> [Step<'_>; 3] {
    [
        Step {
            hex: hex[0],
            fields: REQ1,
            size: 57,
            table: REQ_TABLES[0],
        },
        Step {
            hex: hex[1],
            fields: REQ2,
            size: 110,
            table: REQ_TABLES[1],
        },
        Step {
            hex: hex[2],
            fields: REQ3,
            size: 164,
            table: REQ_TABLES[2],
        },
    ]
}

#[test]
fn c_3_requests_without_huffman() {
    run(
        4096,
        &requests([
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ]),
    );
}

#[test]
fn c_4_requests_with_huffman() {
    run(
        4096,
        &requests([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]),
    );
}

const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION: &str = "https://www.example.com";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

fn responses(hex: [&str; 3]) -> Vec<Step<'_>> {
    // Leaked so the steps can borrow them for the test's length: three small arrays.
    let fields1: &'static [(&str, &str)] = Box::leak(Box::new([
        (":status", "302"),
        ("cache-control", "private"),
        ("date", DATE1),
        ("location", LOCATION),
    ]));
    let fields2: &'static [(&str, &str)] = Box::leak(Box::new([
        (":status", "307"),
        ("cache-control", "private"),
        ("date", DATE1),
        ("location", LOCATION),
    ]));
    let fields3: &'static [(&str, &str)] = Box::leak(Box::new([
        (":status", "200"),
        ("cache-control", "private"),
        ("date", DATE2),
        ("location", LOCATION),
        ("content-encoding", "gzip"),
        ("set-cookie", COOKIE),
    ]));
    vec![
        Step {
            hex: hex[0],
            fields: fields1,
            size: 222,
            table: &[
                ("location", LOCATION),
                ("date", DATE1),
                ("cache-control", "private"),
                (":status", "302"),
            ],
        },
        // The 256-byte table is full: ":status: 307" evicts ":status: 302".
        Step {
            hex: hex[1],
            fields: fields2,
            size: 222,
            table: &[
                (":status", "307"),
                ("location", LOCATION),
                ("date", DATE1),
                ("cache-control", "private"),
            ],
        },
        Step {
            hex: hex[2],
            fields: fields3,
            size: 215,
            table: &[
                ("set-cookie", COOKIE),
                ("content-encoding", "gzip"),
                ("date", DATE2),
            ],
        },
    ]
}

#[test]
fn c_5_responses_without_huffman_evict() {
    run(
        256,
        &responses([
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
             3d31",
        ]),
    );
}

#[test]
fn c_6_responses_with_huffman_evict() {
    run(
        256,
        &responses([
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]),
    );
}

fn refused(block: &[u8]) -> DecodeError {
    let mut d = Decoder::new(4096);
    decode(&mut d, block, usize::MAX).expect_err("the block is malformed")
}

fn reason(block: &[u8]) -> &'static str {
    match refused(block) {
        DecodeError::Compression(reason) => reason,
        DecodeError::ListTooLarge => panic!("not a compression error"),
    }
}

#[test]
fn index_0_is_refused() {
    assert_eq!(reason(&[0x80]), "index 0");
}

#[test]
fn an_index_past_the_tables_is_refused() {
    assert_eq!(reason(&[0x80 | 62]), "index past the tables");
    assert_eq!(reason(&[0x40 | 62, 0x01, b'v']), "index past the tables");
    assert_eq!(reason(&[0x0f, 0x2f, 0x01, b'v']), "index past the tables"); // 15 + 47 = 62
    // After one insert, 62 exists and 63 does not.
    let mut d = Decoder::new(4096);
    let insert = unhex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    decode(&mut d, &insert, usize::MAX).unwrap();
    assert!(decode(&mut d, &[0x80 | 62], usize::MAX).is_ok());
    assert_eq!(
        decode(&mut d, &[0x80 | 63], usize::MAX),
        Err(DecodeError::Compression("index past the tables"))
    );
}

#[test]
fn a_size_update_above_the_advertised_size_is_refused() {
    // 4097 with a 5-bit prefix: 31, then 4066 = 0xe2 0x1f.
    assert_eq!(
        reason(&[0x3f, 0xe2, 0x1f]),
        "table size update above the advertised size"
    );
    let mut d = Decoder::new(4096);
    assert!(
        decode(&mut d, &[0x3f, 0xe1, 0x1f], usize::MAX).is_ok(),
        "4096 is allowed"
    );
}

#[test]
fn a_size_update_after_a_field_is_refused() {
    assert_eq!(reason(&[0x82, 0x20]), "table size update after a field");
    // At the start, two in a row are fine (RFC 7541 §4.2), and the table follows them.
    let mut d = Decoder::new(4096);
    let insert = unhex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    decode(&mut d, &insert, usize::MAX).unwrap();
    assert_eq!(
        decode(&mut d, &[0x20, 0x3f, 0x11, 0x82], usize::MAX)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(d.table().len(), 0, "the update to 0 emptied the table");
    assert_eq!(d.table().size(), 0);
}

#[test]
fn integers_are_bounded_and_never_wrap() {
    // Four continuation bytes are the most: a fifth is refused, however the bits look.
    assert_eq!(
        reason(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x00]),
        "integer too long"
    );
    assert_eq!(
        reason(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]),
        "integer too long"
    );
    // The largest four-byte value is a (huge) index past the tables, not an overflow.
    assert_eq!(
        reason(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
        "index past the tables"
    );
    assert_eq!(reason(&[0xff]), "integer runs past the block");
    assert_eq!(reason(&[0xff, 0x80]), "integer runs past the block");
    // A string length of 2^28: past the block.
    assert_eq!(
        reason(&[0x00, 0x7f, 0xff, 0xff, 0xff, 0x7f]),
        "string runs past the block"
    );
}

#[test]
fn strings_past_the_block_are_refused() {
    assert_eq!(
        reason(&[0x00, 0x03, b'a', b'b']),
        "string runs past the block"
    );
    assert_eq!(
        reason(&[0x00, 0x01, b'a', 0x02, b'b']),
        "string runs past the block"
    );
    assert_eq!(reason(&[0x00, 0x01, b'a']), "field runs past the block");
    assert_eq!(reason(&[0x04]), "field runs past the block");
    assert_eq!(reason(&[0x00]), "field runs past the block");
    // Huffman flag set, length past the block.
    assert_eq!(reason(&[0x04, 0x85, 0xff]), "string runs past the block");
}

#[test]
fn bad_huffman_strings_are_refused() {
    // ":path" (static 4) with a Huffman value.
    assert_eq!(
        reason(&[0x04, 0x82, 0x07, 0xff]),
        "Huffman padding longer than 7 bits"
    );
    assert_eq!(reason(&[0x04, 0x81, 0x06]), "Huffman padding not all ones");
    assert_eq!(
        reason(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]),
        "Huffman string contains EOS"
    );
    // A Huffman name too.
    assert_eq!(
        reason(&[0x00, 0x81, 0x06, 0x00]),
        "Huffman padding not all ones"
    );
}

#[test]
fn an_entry_larger_than_the_table_empties_it() {
    let mut d = Decoder::new(256);
    let insert = unhex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    decode(&mut d, &insert, usize::MAX).unwrap();
    assert_eq!(d.table().len(), 1);
    // name "x" + a 224-byte value + 32 = 257 > 256.
    let mut big = vec![0x40, 0x01, b'x', 0x7f, 224 - 127];
    big.extend(std::iter::repeat_n(b'v', 224));
    let fields = decode(&mut d, &big, usize::MAX).unwrap();
    assert_eq!(fields[0].1.len(), 224, "the field itself is still decoded");
    assert_eq!(d.table().len(), 0);
    assert_eq!(d.table().size(), 0);
    // Exactly 256 fits, alone.
    big[4] -= 1;
    big.pop();
    decode(&mut d, &big, usize::MAX).unwrap();
    assert_eq!(d.table().size(), 256);
    assert_eq!(d.table().len(), 1);
}

#[test]
fn a_new_entry_may_take_its_name_from_the_entry_it_evicts() {
    // A 64-byte table holds one entry "custom-key: a" (10 + 1 + 32 = 43). The next literal with
    // indexing names it (index 62) and is larger together: inserting it evicts its own name's
    // entry first (RFC 7541 §4.4).
    let mut d = Decoder::new(64);
    let first = [&[0x40, 0x0a][..], b"custom-key", &[0x01, b'a']].concat();
    decode(&mut d, &first, usize::MAX).unwrap();
    let second = [&[0x40 | 62, 0x0b][..], b"bbbbbbbbbbb"].concat();
    let fields = decode(&mut d, &second, usize::MAX).unwrap();
    assert_eq!(fields, owned(&[("custom-key", "bbbbbbbbbbb")]));
    assert_eq!(entries(&d), owned(&[("custom-key", "bbbbbbbbbbb")]));
    assert_eq!(d.table().size(), 10 + 11 + 32);
}

#[test]
fn a_list_past_the_limit_stops_fields_but_decodes_the_whole_block() {
    // C.3.1: 4 fields, sizes 7+3+32, 7+4+32, 5+1+32, 10+15+32 = 42, 43, 38, 57.
    let block = unhex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
    let mut d = Decoder::new(4096);
    let mut seen = Vec::new();
    let got = d.decode(&block, 42 + 43 + 38, |n, _| seen.push(n.to_vec()));
    assert_eq!(got, Err(DecodeError::ListTooLarge));
    assert_eq!(seen, [&b":method"[..], b":scheme", b":path"]);
    assert_eq!(
        entries(&d),
        owned(&[(":authority", "www.example.com")]),
        "still in step"
    );
    // At exactly the limit, all fields and Ok.
    let mut d = Decoder::new(4096);
    assert_eq!(
        decode(&mut d, &block, 42 + 43 + 38 + 57).map(|f| f.len()),
        Ok(4)
    );
    // A malformed block after the limit is a compression error, the graver of the two.
    let mut bad = block.clone();
    bad.push(0x80);
    let mut d = Decoder::new(4096);
    assert_eq!(
        decode(&mut d, &bad, 10),
        Err(DecodeError::Compression("index 0"))
    );
}

#[test]
fn what_we_encode_decodes_to_the_same_fields() {
    let fields: &[(&str, &str)] = &[
        (":method", "GET"),
        (":path", "/index.html"),
        ("content-type", "text/plain"),
        ("x-long", &"z".repeat(300)),
        ("authorization", "Bearer x"),
        ("", ""),
    ];
    let mut out = Vec::new();
    encode_status(200, &mut out);
    encode_status(302, &mut out);
    encode_status(1000, &mut out);
    for (i, (n, v)) in fields.iter().enumerate() {
        encode_field(n.as_bytes(), v.as_bytes(), i % 2 == 0, &mut out);
    }
    let mut d = Decoder::new(4096);
    let got = decode(&mut d, &out, usize::MAX).unwrap();
    let mut want = owned(&[(":status", "200"), (":status", "302"), (":status", "1000")]);
    want.extend(owned(fields));
    assert_eq!(got, want);
    assert_eq!(d.table().len(), 0, "the encoder never indexes");
}
