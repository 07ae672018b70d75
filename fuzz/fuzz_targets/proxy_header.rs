//! PROXY protocol headers: burr's reading of a front proxy's header
//! (`proxy_protocol::inbound::parse`, over the `ppp` crate) and its writing of headers with TLVs
//! (`proxy_protocol::header_with_tlvs`).
//!
//! Input: byte 0 picks the mode. Mode 0: the rest is a header as a front proxy might send it.
//! Invariants: parsing never panics; only a v1 line (`PROXY ` … CRLF, at most 107 bytes) or a
//! v2 header (the signature, at most 16 + 4096 bytes) is accepted; `too long` is only said of
//! input past those bounds. Mode 1: the rest chooses two addresses, a version, TLVs and the TLS
//! facts; the header burr writes for them reads back as those addresses, and no proper prefix
//! of it is accepted (a header cut short never passes for a whole one).
#![no_main]

use burr_model::ProxyTlvs;
use burr_proxy::fuzzing::{
    ClientTls, ProxyReceived, ProxyRefusal, V1_MAX, V2_MAX_LENGTH, header_with_tlvs,
    parse_proxy_header,
};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check_any(rest);
    } else {
        check_written(rest);
    }
});

fn check_any(input: &[u8]) {
    let v2 = input.starts_with(V2_SIGNATURE);
    match parse_proxy_header(input) {
        Ok(_) if v2 => assert!(input.len() <= 16 + V2_MAX_LENGTH),
        Ok(_) => {
            assert!(input.starts_with(b"PROXY ") && input.ends_with(b"\r\n"));
            assert!(input.len() <= V1_MAX);
        }
        Err(ProxyRefusal::TooLong) if v2 => assert!(input.len() > 16 + V2_MAX_LENGTH),
        Err(ProxyRefusal::TooLong) => assert!(input.len() > V1_MAX),
        Err(ProxyRefusal::Malformed) => {}
        Err(other) => panic!("parsing alone cannot say {other:?}"),
    }
}

fn check_written(input: &[u8]) {
    if input.len() < 3 + 2 * 18 {
        return;
    }
    let (flags, rest) = (input[0], &input[1..]);
    let address = |b: &[u8]| -> SocketAddr {
        let port = u16::from_be_bytes([b[16], b[17]]);
        let ip = if flags & 0x40 != 0 {
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&b[..16]).unwrap()))
        } else {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        };
        SocketAddr::new(ip, port)
    };
    let (client, local) = (address(&rest[..18]), address(&rest[18..36]));
    let name = &rest[36..rest.len().min(36 + 255)];
    let version = if flags & 0x01 != 0 { 2 } else { 1 };
    let tlvs = ProxyTlvs {
        authority: flags & 0x02 != 0,
        unique_id: flags & 0x04 != 0,
        ssl: flags & 0x08 != 0,
        crc32c: flags & 0x10 != 0,
    };
    let tls = (flags & 0x20 != 0).then(|| ClientTls {
        server_name: Some(String::from_utf8_lossy(name).into_owned()),
        version: Some("TLSv1.3"),
        cipher: Some("TLS_AES_128_GCM_SHA256".into()),
    });
    let header = header_with_tlvs(version, tlvs, client, local, tls.as_ref());
    match parse_proxy_header(&header) {
        Ok(ProxyReceived::Proxied {
            client: c,
            local: l,
        }) => {
            assert_eq!(c.ip().to_canonical(), client.ip().to_canonical());
            assert_eq!(l.ip().to_canonical(), local.ip().to_canonical());
            assert_eq!((c.port(), l.port()), (client.port(), local.port()));
        }
        other => panic!("burr's own header {header:?} read as {other:?}"),
    }
    for cut in 0..header.len() {
        assert!(
            parse_proxy_header(&header[..cut]).is_err(),
            "a prefix of {cut} bytes passed for the whole header"
        );
    }
}
