//! The HTTP/1.1 fast path's response head: `parse` then `write_client`, on any bytes.
//!
//! Input: byte 0 (bit 0: the request was HEAD; bit 1: the client's connection closes after
//! this response), then the head. Beyond "no panic": a `Length(n)` body is what the
//! `Content-Length` fields say and comes with no transfer coding; a `Chunked` body is what
//! the last transfer coding says; and the head written for the client parses again with the same
//! status and the same body framing, never carrying both `Content-Length` and
//! `Transfer-Encoding`: the client must find the end of the body where burr found it.
#![no_main]

use burr_proxy::fuzzing::{ResponseBody, end_head, header_slots, parse_response};
use libfuzzer_sys::fuzz_target;

#[path = "shared/fields.rs"]
mod shared_fields;
use shared_fields::{decimal, fields, show};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, raw)) = data.split_first() else {
        return;
    };
    let to_head = flags & 1 != 0;
    let close = flags & 2 != 0;
    let mut slots = header_slots();
    let Ok(head) = parse_response(raw, &mut slots, to_head) else {
        return;
    };
    // What the bytes declare, read independently of the parser.
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    assert!(matches!(
        response.parse(raw),
        Ok(httparse::Status::Complete(_))
    ));
    let lengths = fields(response.headers, "content-length");
    // An empty `Transfer-Encoding` field names no coding (an empty list): not a framing.
    let codings: Vec<&[u8]> = fields(response.headers, "transfer-encoding")
        .into_iter()
        .filter(|v| v.split(|&b| b == b',').any(|c| !c.trim_ascii().is_empty()))
        .collect();
    match head.body {
        ResponseBody::Length(n) => {
            assert!(codings.is_empty(), "Length({n}) with Transfer-Encoding");
            assert!(!lengths.is_empty(), "Length({n}) without Content-Length");
            for value in &lengths {
                assert_eq!(decimal(value), Some(n), "Content-Length value");
            }
        }
        ResponseBody::Chunked => {
            let last = codings.iter().rev().find_map(|v| {
                v.split(|&b| b == b',')
                    .map(<[u8]>::trim_ascii)
                    .rfind(|c| !c.is_empty())
            });
            assert!(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")));
        }
        ResponseBody::None | ResponseBody::UntilClose => {}
    }

    let mut out = Vec::new();
    head.write_client(&mut out, &[]);
    end_head(&mut out, close);
    let mut again_slots = header_slots();
    let again = match parse_response(&out, &mut again_slots, to_head) {
        Ok(again) => again,
        // `Connection: close` added to a head that had every header slot in use.
        Err("too many response headers") if close => return,
        Err(e) => panic!("the client's head does not parse: {e}\n{}", show(&out)),
    };
    assert_eq!(again.status, head.status);
    assert_eq!(
        again.body,
        head.body,
        "the client would frame the body differently\n{}",
        show(&out)
    );
    let mut headers = [httparse::EMPTY_HEADER; 80];
    let mut client = httparse::Response::new(&mut headers);
    assert_eq!(
        client.parse(&out),
        Ok(httparse::Status::Complete(out.len()))
    );
    assert!(
        fields(client.headers, "content-length").is_empty()
            || fields(client.headers, "transfer-encoding").is_empty(),
        "both Content-Length and Transfer-Encoding reach the client\n{}",
        show(&out)
    );
});
