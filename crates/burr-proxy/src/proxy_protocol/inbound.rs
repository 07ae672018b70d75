//! Accepting a PROXY protocol header from a front proxy (HAProxy's `accept-proxy`): on a listener
//! with `accept_proxy_protocol`, every connection must begin with a v1 line or a v2 header, told
//! apart by their first bytes. The header is read before anything else (before TLS), exactly to
//! its last byte, so whatever the client sent after it in the same segment stays in the socket
//! for TLS, HTTP or the relay. Parsing is the `ppp` crate's; this module bounds what it is given
//! (a v1 line of at most 107 bytes, a v2 header of at most [`V2_MAX_LENGTH`] bytes after its
//! fixed part) and decides what the header means for the connection.
//!
//! A `PROXY` command names the client: its source address becomes the client's address for
//! everything downstream, and its destination the address the client connected to. A `LOCAL`
//! command (the front proxy's own health check) or an address family burr cannot use
//! (`UNKNOWN`, AF_UNIX) keeps the real peer's addresses.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The longest v1 line, CRLF included (the specification's bound).
pub const V1_MAX: usize = 107;
/// The v2 signature and the fixed part it begins (signature, version and command, family and
/// transport, length).
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V2_FIXED: usize = 16;
/// The most bytes a v2 header may carry after its fixed part (addresses and TLVs). The protocol
/// allows 65,535; front proxies send a few hundred at most (HAProxy's own buffer for a received
/// header is smaller than this), and a cap keeps a connection that is not yet anyone's cheap.
pub const V2_MAX_LENGTH: usize = 4096;
/// The shortest header of either version: `PROXY UNKNOWN\r\n` is 15 bytes, a v2 header 16. This
/// many bytes are read before the version is known, certain not to reach into the payload.
const SHORTEST: usize = 15;

/// Why a connection's PROXY header was refused; each closes the connection and is counted as
/// `burr_proxy_protocol_refused_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a PROXY header, or one that does not parse.
    Malformed,
    /// A v1 line longer than 107 bytes, or a v2 length past [`V2_MAX_LENGTH`].
    TooLong,
    /// Not complete within the listener's `header_read_timeout_secs`.
    Timeout,
    /// The peer closed (or the socket failed) before the header was complete.
    Closed,
}

impl Refusal {
    pub const ALL: [Refusal; 4] = [
        Refusal::Malformed,
        Refusal::TooLong,
        Refusal::Timeout,
        Refusal::Closed,
    ];

    /// The metric label, and the index in per-listener counters.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::TooLong => "too_long",
            Refusal::Timeout => "timeout",
            Refusal::Closed => "closed",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a complete header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A `PROXY` command: the client's address and the address it connected to.
    Proxied {
        client: SocketAddr,
        local: SocketAddr,
    },
    /// `LOCAL`, or addresses burr cannot use: keep the real peer's.
    KeepPeer,
}

impl Received {
    /// The client's and the local address the rest of the connection uses.
    pub fn addresses(self, peer: SocketAddr, local: SocketAddr) -> (SocketAddr, SocketAddr) {
        match self {
            Received::Proxied { client, local } => (client, local),
            Received::KeepPeer => (peer, local),
        }
    }
}

/// The client's and the local address of a connection accepted on `listener` from `peer` on
/// `local`: with `accept_proxy_protocol`, what its PROXY header says (read first); without, the
/// socket's. `None` when the header was refused: the caller closes the connection (the refusal
/// is counted and logged here).
pub async fn connection_addresses(
    stream: &mut TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    listener: &crate::runtime::ListenerRuntime,
) -> Option<(SocketAddr, SocketAddr)> {
    if !listener.spec.accept_proxy_protocol {
        return Some((peer, local));
    }
    let timeout = Duration::from_secs(u64::from(listener.spec.header_read_timeout_secs));
    match read_header(stream, timeout).await {
        Ok(received) => Some(received.addresses(peer, local)),
        Err(refusal) => {
            listener.stats.proxy_refused[refusal.index()]
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%peer, listener = %listener.key, reason = refusal.label(), "PROXY header refused, connection closed");
            None
        }
    }
}

/// Reads one PROXY header from the start of `stream` within `timeout`, consuming exactly its
/// bytes.
pub async fn read_header(stream: &mut TcpStream, timeout: Duration) -> Result<Received, Refusal> {
    match tokio::time::timeout(timeout, read_exactly_the_header(stream)).await {
        Ok(result) => result,
        Err(_) => Err(Refusal::Timeout),
    }
}

async fn read_exactly_the_header(stream: &mut TcpStream) -> Result<Received, Refusal> {
    let mut header = vec![0u8; SHORTEST];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|_| Refusal::Closed)?;
    if header.starts_with(V2_SIGNATURE) {
        header.resize(V2_FIXED, 0);
        stream
            .read_exact(&mut header[SHORTEST..])
            .await
            .map_err(|_| Refusal::Closed)?;
        let length = usize::from(u16::from_be_bytes([header[14], header[15]]));
        if length > V2_MAX_LENGTH {
            return Err(Refusal::TooLong);
        }
        header.resize(V2_FIXED + length, 0);
        stream
            .read_exact(&mut header[V2_FIXED..])
            .await
            .map_err(|_| Refusal::Closed)?;
    } else if header.starts_with(b"PROXY ") {
        read_rest_of_v1_line(stream, &mut header).await?;
    } else {
        return Err(Refusal::Malformed);
    }
    parse(&header)
}

/// Reads up to and including the line's LF, never past it: what the socket holds is peeked,
/// and only the bytes up to the LF (or all of them, when none is an LF, since they are all the
/// line's) are then read.
async fn read_rest_of_v1_line(stream: &mut TcpStream, line: &mut Vec<u8>) -> Result<(), Refusal> {
    let mut peeked = [0u8; V1_MAX];
    while !line.ends_with(b"\n") {
        let room = V1_MAX - line.len();
        if room == 0 {
            return Err(Refusal::TooLong);
        }
        let n = stream
            .peek(&mut peeked[..room])
            .await
            .map_err(|_| Refusal::Closed)?;
        if n == 0 {
            return Err(Refusal::Closed);
        }
        let take = memchr::memchr(b'\n', &peeked[..n]).map_or(n, |at| at + 1);
        let start = line.len();
        line.resize(start + take, 0);
        stream
            .read_exact(&mut line[start..])
            .await
            .map_err(|_| Refusal::Closed)?;
    }
    Ok(())
}

/// What one complete header (nothing before or after it) says. Every byte sequence gives an
/// answer; none panics (the `proxy_header` fuzz target holds it to that).
pub fn parse(header: &[u8]) -> Result<Received, Refusal> {
    if header.starts_with(V2_SIGNATURE) {
        if header.len() > V2_FIXED + V2_MAX_LENGTH {
            return Err(Refusal::TooLong);
        }
        parse_v2(header)
    } else {
        if header.len() > V1_MAX {
            return Err(Refusal::TooLong);
        }
        parse_v1(header)
    }
}

fn parse_v1(line: &[u8]) -> Result<Received, Refusal> {
    use ppp::v1::{Addresses, Header};
    // The line ends with CRLF; ppp lets an UNKNOWN line end with a bare LF (the fuzzer's find).
    if !line.ends_with(b"\r\n") {
        return Err(Refusal::Malformed);
    }
    // Addresses and ports are hex digits, dots, colons and single spaces; ppp reads ports
    // with Rust's integer parser, which also takes a leading `+`.
    if line.starts_with(b"PROXY TCP")
        && !line[..line.len() - 2]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b" .:".contains(b))
    {
        return Err(Refusal::Malformed);
    }
    let parsed = Header::try_from(line).map_err(|_| Refusal::Malformed)?;
    // ppp accepts bytes after the line; a header given here is the whole line.
    if parsed.header.len() != line.len() {
        return Err(Refusal::Malformed);
    }
    Ok(match parsed.addresses {
        Addresses::Tcp4(a) => Received::Proxied {
            client: SocketAddr::new(a.source_address.into(), a.source_port),
            local: SocketAddr::new(a.destination_address.into(), a.destination_port),
        },
        Addresses::Tcp6(a) => Received::Proxied {
            client: SocketAddr::new(a.source_address.into(), a.source_port),
            local: SocketAddr::new(a.destination_address.into(), a.destination_port),
        },
        Addresses::Unknown => Received::KeepPeer,
    })
}

fn parse_v2(header: &[u8]) -> Result<Received, Refusal> {
    use ppp::v2::{Addresses, Command, Header};
    // LOCAL: the specification has the receiver discard the whole block, whatever its family
    // and length say (ppp would check the address length against the family).
    if header.len() >= V2_FIXED && header[12] == 0x20 {
        let length = usize::from(u16::from_be_bytes([header[14], header[15]]));
        return match V2_FIXED + length == header.len() {
            true => Ok(Received::KeepPeer),
            false => Err(Refusal::Malformed),
        };
    }
    let parsed = Header::try_from(header).map_err(|_| Refusal::Malformed)?;
    if parsed.len() != header.len() {
        return Err(Refusal::Malformed);
    }
    // The TLVs must tile what follows the addresses, and a checksum, when sent, must hold.
    let mut checksum = None;
    let tlv_start = header.len() - parsed.tlv_bytes().len();
    let mut offset = tlv_start;
    for tlv in parsed.tlvs() {
        let tlv = tlv.map_err(|_| Refusal::Malformed)?;
        if tlv.kind == 0x03 {
            let value: [u8; 4] = tlv
                .value
                .as_ref()
                .try_into()
                .map_err(|_| Refusal::Malformed)?;
            checksum = Some((offset + 3, u32::from_be_bytes(value)));
        }
        offset += 3 + tlv.value.len();
    }
    if let Some((at, sent)) = checksum {
        let mut zeroed = header.to_vec();
        zeroed[at..at + 4].fill(0);
        if crc32c::crc32c(&zeroed) != sent {
            return Err(Refusal::Malformed);
        }
    }
    if parsed.command == Command::Local {
        return Ok(Received::KeepPeer);
    }
    Ok(match parsed.addresses {
        Addresses::IPv4(a) => Received::Proxied {
            client: SocketAddr::new(a.source_address.into(), a.source_port),
            local: SocketAddr::new(a.destination_address.into(), a.destination_port),
        },
        Addresses::IPv6(a) => Received::Proxied {
            client: SocketAddr::new(a.source_address.into(), a.source_port),
            local: SocketAddr::new(a.destination_address.into(), a.destination_port),
        },
        Addresses::Unspecified | Addresses::Unix(_) => Received::KeepPeer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burr_model::ProxyTlvs;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    fn proxied(client: &str, local: &str) -> Result<Received, Refusal> {
        Ok(Received::Proxied {
            client: addr(client),
            local: addr(local),
        })
    }

    #[test]
    fn what_burr_sends_it_reads_back() {
        let (c, l) = (addr("192.0.2.7:51234"), addr("10.0.0.1:443"));
        let (c6, l6) = (addr("[2001:db8::7]:60000"), addr("[2001:db8::1]:8443"));
        for version in [1, 2] {
            assert_eq!(
                parse(&super::super::header(version, c, l)),
                proxied("192.0.2.7:51234", "10.0.0.1:443")
            );
            assert_eq!(
                parse(&super::super::header(version, c6, l6)),
                proxied("[2001:db8::7]:60000", "[2001:db8::1]:8443")
            );
        }
        let all = ProxyTlvs {
            authority: true,
            unique_id: true,
            ssl: true,
            crc32c: true,
        };
        let tls = super::super::ClientTls {
            server_name: Some("a.example".into()),
            version: Some("TLSv1.3"),
            cipher: Some("TLS_AES_128_GCM_SHA256".into()),
        };
        let with_tlvs = super::super::header_with_tlvs(2, all, c, l, Some(&tls));
        assert_eq!(
            parse(&with_tlvs),
            proxied("192.0.2.7:51234", "10.0.0.1:443")
        );
        // A flipped bit anywhere past the fixed part fails the checksum (or the parse), except
        // in the checksum TLV's type byte: that makes it another TLV, and no checksum is sent.
        let crc_type_at = with_tlvs.len() - 7;
        for at in (V2_FIXED..with_tlvs.len()).filter(|&at| at != crc_type_at) {
            let mut bent = with_tlvs.clone();
            bent[at] ^= 0x01;
            assert_ne!(
                parse(&bent),
                proxied("192.0.2.7:51234", "10.0.0.1:443"),
                "bit at {at}"
            );
        }
    }

    #[test]
    fn local_and_unknown_keep_the_peer() {
        assert_eq!(parse(b"PROXY UNKNOWN\r\n"), Ok(Received::KeepPeer));
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(b"\x20\x00\x00\x00");
        assert_eq!(parse(&local), Ok(Received::KeepPeer));
        // LOCAL with an address block too short for its family: discarded, not checked.
        let mut local_short = V2_SIGNATURE.to_vec();
        local_short.extend_from_slice(b"\x20\x11\x00\x03abc");
        assert_eq!(parse(&local_short), Ok(Received::KeepPeer));
        let mut unspec = V2_SIGNATURE.to_vec();
        unspec.extend_from_slice(b"\x21\x00\x00\x00");
        assert_eq!(parse(&unspec), Ok(Received::KeepPeer));
    }

    #[test]
    fn garbage_and_oversize_are_refused() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(Refusal::Malformed));
        assert_eq!(parse(b"PROXY UNKNOWN \n"), Err(Refusal::Malformed));
        for line in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert_eq!(parse(line), Err(Refusal::Malformed), "{line:?}");
        }
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4\r\n"), Err(Refusal::Malformed));
        assert_eq!(
            parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nX"),
            Err(Refusal::Malformed)
        );
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(V1_MAX, b'a');
        long.extend_from_slice(b"\r\n");
        assert_eq!(parse(&long), Err(Refusal::TooLong));
        let mut truncated = super::super::header(2, addr("1.2.3.4:1"), addr("5.6.7.8:2"));
        truncated.pop();
        assert_eq!(parse(&truncated), Err(Refusal::Malformed));
    }
}
