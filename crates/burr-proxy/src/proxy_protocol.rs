//! The PROXY protocol, version 1 (the text form, as Classic ELB's `ProxyProtocolPolicyType`
//! sends it): the line a connection to a target begins with when its pool has
//! `upstream.proxy_protocol`, naming the client and the address the client connected to, so the
//! target learns who its peer really is.
//!
//! Only formatting lives here; when the line is sent (once per target connection) and which
//! connections may be shared is decided by the relay and the upstream pools.

use std::net::{IpAddr, SocketAddr};

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
