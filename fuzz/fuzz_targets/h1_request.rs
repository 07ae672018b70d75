//! The HTTP/1.1 fast path's request head: `parse` then `write_upstream`, on any bytes.
//!
//! Beyond "no panic": a head the fast path forwards must be framed exactly as its bytes say
//! (the one `Content-Length` it carries, or none, and never `Transfer-Encoding`), and the head
//! it writes for the target must parse again as one complete HTTP/1.1 request with the same
//! method, target, framing and `Host` fields, and no hop-by-hop header: the target must read
//! the same request boundaries burr did.
#![no_main]

use burr_proxy::fuzzing::{BodyFraming, Forwarded, NotFast, header_slots, parse_request};
use libfuzzer_sys::fuzz_target;

#[path = "shared/fields.rs"]
mod shared_fields;
use shared_fields::{decimal, fields, show};

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

fuzz_target!(|data: &[u8]| {
    let mut slots = header_slots();
    let head = match parse_request(data, &mut slots, 100) {
        Ok(head) => head,
        Err(NotFast::Refused | NotFast::Unusual) => return,
    };
    // The framing the bytes declare, counted independently of the parser's own rules.
    let lengths: Vec<&[u8]> = fields(head.headers, "content-length");
    assert!(
        fields(head.headers, "transfer-encoding").is_empty(),
        "a Transfer-Encoding head took the fast path"
    );
    match head.body {
        BodyFraming::None => assert!(lengths.is_empty()),
        BodyFraming::Length(n) => {
            assert_eq!(lengths.len(), 1, "one Content-Length for {n}");
            assert_eq!(decimal(lengths[0]), Some(n), "Content-Length value");
        }
        BodyFraming::Chunked => panic!("a chunked request took the fast path"),
    }
    let forwarded = Forwarded::new("192.0.2.7".parse().unwrap(), false, 8080);
    let mut out = Vec::new();
    head.write_upstream(&mut out, &forwarded, None, false);

    let mut headers = [httparse::EMPTY_HEADER; 256];
    let mut upstream = httparse::Request::new(&mut headers);
    match upstream.parse(&out) {
        Ok(httparse::Status::Complete(n)) => assert_eq!(n, out.len(), "bytes after the head"),
        other => panic!(
            "the upstream head does not parse: {other:?}\n{}",
            show(&out)
        ),
    }
    assert_eq!(upstream.method, Some(head.method));
    assert_eq!(upstream.path, Some(head.target));
    assert_eq!(upstream.version, Some(1));
    let sent = upstream.headers;
    let upstream_lengths = fields(sent, "content-length");
    assert_eq!(
        upstream_lengths,
        lengths,
        "the target must see the framing the client sent\n{}",
        show(&out)
    );
    assert_eq!(
        fields(sent, "host"),
        fields(head.headers, "host"),
        "Host must reach the target unchanged\n{}",
        show(&out)
    );
    for h in sent.iter() {
        // burr's own `Connection: close` on a request that must end its upstream connection.
        if head.last_upstream && h.name == "Connection" && h.value == b"close" {
            continue;
        }
        assert!(
            !HOP_BY_HOP.iter().any(|n| n.eq_ignore_ascii_case(h.name)),
            "hop-by-hop {} forwarded",
            h.name
        );
    }
});
