//! The PROXY protocol: the header a connection to a target begins with when its pool has
//! `upstream.proxy_protocol`, naming the client and the address the client connected to, so the
//! target learns who its peer really is. Version 1 is the text line Classic ELB's
//! `ProxyProtocolPolicyType` sends; version 2 (`upstream.proxy_protocol_version = 2`, NLB's
//! `proxy_protocol_v2.enabled`) the binary form: a 12-byte signature, the `PROXY` command,
//! `TCP` over IPv4 or IPv6, then the addresses and ports in network byte order.
//!
//! Version 2 headers may carry TLVs (`upstream.proxy_protocol_tlvs`), built in [`tlv`].
//! [`inbound`] is the other direction: reading the header a trusted front proxy puts before a
//! client connection on a listener with `accept_proxy_protocol`.
//!
//! Only formatting and parsing live here; when the line is sent (once per target connection) and
//! which connections may be shared is decided by the relay and the upstream pools.

pub mod inbound;
pub mod tlv;

pub use tlv::{ClientTls, datagram_header_with_tlvs, header_with_tlvs};

use std::net::{IpAddr, SocketAddr};

/// The header of `version` (1 or 2; anything else is taken as 1) for a connection from
/// `client` accepted on `local`.
pub fn header(version: u8, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    match version {
        2 => v2_header(client, local),
        _ => v1_header(client, local).into_bytes(),
    }
}

/// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The v2 header for a connection from `client` accepted on `local`: signature, version 2 with
/// the `PROXY` command (0x21), `TCP` over IPv4 (0x11) or IPv6 (0x21), the length of what
/// follows (12 or 36, big-endian), then source and destination addresses and ports. Families
/// are reconciled as for v1.
pub fn v2_header(client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    v2_header_over(STREAM, client, local)
}

/// The v2 header that begins every datagram of a UDP flow from `client` received on `local`:
/// as [`v2_header`], with the `DGRAM` transport (0x12 over IPv4, 0x22 over IPv6).
pub fn datagram_header(client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    v2_header_over(DGRAM, client, local)
}

/// The low nibble of the family-and-transport byte.
const STREAM: u8 = 0x1;
const DGRAM: u8 = 0x2;

pub(crate) fn v2_header_over(transport: u8, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 36);
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(0x21);
    match (client.ip().to_canonical(), local.ip().to_canonical()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(0x10 | transport);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        (s, d) => {
            out.push(0x20 | transport);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&as_v6(s).octets());
            out.extend_from_slice(&as_v6(d).octets());
        }
    }
    out.extend_from_slice(&client.port().to_be_bytes());
    out.extend_from_slice(&local.port().to_be_bytes());
    out
}

/// The v1 header for a connection from `client` accepted on `local`, CRLF included:
/// `PROXY TCP4 <client-ip> <local-ip> <client-port> <local-port>\r\n` (`TCP6` for IPv6).
///
/// The protocol needs both addresses in one family. IPv4-mapped IPv6 addresses (a dual-stack
/// socket's view of an IPv4 client) are written as IPv4; if the families still differ, the IPv4
/// one is written in its mapped IPv6 form.
pub fn v1_header(client: SocketAddr, local: SocketAddr) -> String {
    let (source, destination) = match (client.ip().to_canonical(), local.ip().to_canonical()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (IpAddr::V4(s), IpAddr::V4(d)),
        (s, d) => (IpAddr::V6(as_v6(s)), IpAddr::V6(as_v6(d))),
    };
    let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {family} {source} {destination} {} {}\r\n",
        client.port(),
        local.port()
    )
}

fn as_v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    #[test]
    fn ipv4_header_is_byte_exact() {
        assert_eq!(
            v1_header(addr("192.0.2.7:51234"), addr("10.0.0.1:443")),
            "PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n"
        );
    }

    #[test]
    fn ipv6_header_uses_compressed_addresses() {
        assert_eq!(
            v1_header(addr("[2001:db8::7]:60000"), addr("[2001:db8::1]:8443")),
            "PROXY TCP6 2001:db8::7 2001:db8::1 60000 8443\r\n"
        );
    }

    #[test]
    fn mapped_ipv4_on_a_dual_stack_socket_is_written_as_ipv4() {
        assert_eq!(
            v1_header(
                addr("[::ffff:192.0.2.7]:1000"),
                addr("[::ffff:10.0.0.1]:80")
            ),
            "PROXY TCP4 192.0.2.7 10.0.0.1 1000 80\r\n"
        );
    }

    #[test]
    fn mixed_families_are_both_written_as_ipv6() {
        assert_eq!(
            v1_header(addr("192.0.2.7:1000"), addr("[2001:db8::1]:80")),
            "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 1000 80\r\n"
        );
    }

    #[test]
    fn v2_headers_are_byte_exact() {
        let mut want = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
        want.extend_from_slice(&[192, 0, 2, 7, 10, 0, 0, 1, 0xc8, 0x22, 0x01, 0xbb]);
        assert_eq!(
            v2_header(addr("192.0.2.7:51234"), addr("10.0.0.1:443")),
            want
        );
        assert_eq!(
            header(2, addr("[::ffff:192.0.2.7]:51234"), addr("10.0.0.1:443")),
            want
        );

        let v6 = v2_header(addr("[2001:db8::7]:60000"), addr("192.0.2.1:80"));
        assert_eq!(&v6[12..16], b"\x21\x21\x00\x24");
        assert_eq!(v6.len(), 16 + 36);
        assert_eq!(v6[16..18], [0x20, 0x01]);
        assert_eq!(
            v6[16 + 16..16 + 32],
            "::ffff:192.0.2.1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(v6[48..], [0xea, 0x60, 0x00, 0x50]);
        assert_eq!(
            header(1, addr("192.0.2.7:1"), addr("10.0.0.1:2")),
            b"PROXY TCP4 192.0.2.7 10.0.0.1 1 2\r\n"
        );
    }

    #[test]
    fn datagram_headers_name_the_udp_transport() {
        let v4 = datagram_header(addr("192.0.2.7:53"), addr("10.0.0.1:5353"));
        assert_eq!(&v4[12..16], b"\x21\x12\x00\x0c");
        assert_eq!(
            v4[16..],
            v2_header(addr("192.0.2.7:53"), addr("10.0.0.1:5353"))[16..]
        );
        let v6 = datagram_header(addr("[2001:db8::7]:53"), addr("[2001:db8::1]:53"));
        assert_eq!(&v6[12..16], b"\x21\x22\x00\x24");
    }

    #[test]
    fn the_longest_header_fits_the_protocol_limit() {
        // The specification bounds a v1 line at 107 bytes, CRLF included.
        let longest = v1_header(
            addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"),
            addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
        );
        assert!(longest.len() <= 107, "{} bytes", longest.len());
        assert!(longest.ends_with("\r\n"));
    }
}
