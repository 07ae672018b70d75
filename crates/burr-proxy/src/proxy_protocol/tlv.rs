//! PROXY protocol v2 TLVs that burr appends to the header it sends a target, chosen per pool by
//! `upstream.proxy_protocol_tlvs` (the type numbers and layouts of the PROXY protocol
//! specification, §2.2): `authority` (PP2_TYPE_AUTHORITY, the TLS server name the client asked
//! for), `unique_id` (PP2_TYPE_UNIQUE_ID, 32 hex characters drawn at random per connection),
//! `ssl` (PP2_TYPE_SSL with the PP2_SUBTYPE_SSL_VERSION and PP2_SUBTYPE_SSL_CIPHER sub-TLVs) and
//! `crc32c` (PP2_TYPE_CRC32C, a checksum over the whole header).
//!
//! The TLVs that describe the client's TLS are only written when burr terminated it (ssl and
//! https listeners); elsewhere they are left out rather than sent empty, as HAProxy does.

use burr_model::ProxyTlvs;
use std::net::SocketAddr;

const PP2_TYPE_AUTHORITY: u8 = 0x02;
const PP2_TYPE_CRC32C: u8 = 0x03;
const PP2_TYPE_UNIQUE_ID: u8 = 0x05;
const PP2_TYPE_SSL: u8 = 0x20;
const PP2_SUBTYPE_SSL_VERSION: u8 = 0x21;
const PP2_SUBTYPE_SSL_CIPHER: u8 = 0x23;
/// The `client` bit of PP2_TYPE_SSL saying the client connected over TLS.
const PP2_CLIENT_SSL: u8 = 0x01;
/// The `verify` field of PP2_TYPE_SSL: zero only when the client presented a certificate that
/// was verified; burr never asks for one, so it is always non-zero.
const VERIFY_NO_CLIENT_CERTIFICATE: u32 = 1;

/// What burr learnt of the client's TLS when it terminated it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// The server name (SNI) the client sent, if any.
    pub server_name: Option<String>,
    /// The protocol version in OpenSSL's spelling (`TLSv1.2`, `TLSv1.3`).
    pub version: Option<&'static str>,
    /// The cipher suite's IANA name (`TLS_AES_128_GCM_SHA256`).
    pub cipher: Option<String>,
}

impl ClientTls {
    /// What a finished handshake tells of the client's TLS.
    pub fn of(connection: &rustls::ServerConnection) -> Self {
        let version = connection.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            _ => "unknown",
        });
        // rustls names TLS 1.3 suites TLS13_*; the IANA registry (and targets) say TLS_*.
        let cipher = connection
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .map(|name| match name.strip_prefix("TLS13_") {
                Some(rest) => format!("TLS_{rest}"),
                None => name.to_owned(),
            });
        Self {
            server_name: connection.server_name().map(str::to_owned),
            version,
            cipher,
        }
    }
}

/// The PROXY header of `version` for a connection from `client` accepted on `local`, with the
/// pool's `tlvs` when the version is 2; `tls` is what burr learnt if it terminated the client's
/// TLS. Without TLVs this is exactly [`super::header`].
pub fn header_with_tlvs(
    version: u8,
    tlvs: ProxyTlvs,
    client: SocketAddr,
    local: SocketAddr,
    tls: Option<&ClientTls>,
) -> Vec<u8> {
    if version != 2 || tlvs.is_empty() {
        return super::header(version, client, local);
    }
    with_tlvs(super::v2_header(client, local), tlvs, tls)
}

/// The v2 header that begins every datagram of a UDP flow from `client` received on `local`,
/// with the pool's `tlvs` (a flow has no TLS, so `authority` and `ssl` are left out; a unique id
/// is drawn per call, so a relay that makes the header once per flow gives each flow its own).
/// Without TLVs this is exactly [`super::datagram_header`].
#[allow(dead_code)] // The UDP relay's, being written.
pub fn datagram_header_with_tlvs(
    tlvs: ProxyTlvs,
    client: SocketAddr,
    local: SocketAddr,
) -> Vec<u8> {
    let header = super::datagram_header(client, local);
    if tlvs.is_empty() {
        return header;
    }
    with_tlvs(header, tlvs, None)
}

/// Appends `tlvs` to a v2 header without any, fixing its length field (and checksum).
fn with_tlvs(mut out: Vec<u8>, tlvs: ProxyTlvs, tls: Option<&ClientTls>) -> Vec<u8> {
    if tlvs.authority
        && let Some(name) = tls.and_then(|t| t.server_name.as_deref())
    {
        push_tlv(&mut out, PP2_TYPE_AUTHORITY, name.as_bytes());
    }
    if tlvs.unique_id {
        let id = format!("{:032x}", rand::random::<u128>());
        push_tlv(&mut out, PP2_TYPE_UNIQUE_ID, id.as_bytes());
    }
    if tlvs.ssl
        && let Some(tls) = tls
    {
        push_tlv(&mut out, PP2_TYPE_SSL, &ssl_value(tls));
    }
    let crc_at = tlvs.crc32c.then(|| {
        push_tlv(&mut out, PP2_TYPE_CRC32C, &[0; 4]);
        out.len() - 4
    });
    // The length field counts everything after the 16-byte fixed part; TLVs are bounded (a
    // server name is at most 255 bytes), so it cannot overflow.
    let length = u16::try_from(out.len() - 16).unwrap_or(u16::MAX);
    out[14..16].copy_from_slice(&length.to_be_bytes());
    // The checksum covers the whole header with its own field zero, so it is written last.
    if let Some(at) = crc_at {
        let checksum = crc32c::crc32c(&out);
        out[at..at + 4].copy_from_slice(&checksum.to_be_bytes());
    }
    out
}

/// PP2_TYPE_SSL's value: the client bits, the verify result, then the sub-TLVs.
fn ssl_value(tls: &ClientTls) -> Vec<u8> {
    let mut value = vec![PP2_CLIENT_SSL];
    value.extend_from_slice(&VERIFY_NO_CLIENT_CERTIFICATE.to_be_bytes());
    if let Some(version) = tls.version {
        push_tlv(&mut value, PP2_SUBTYPE_SSL_VERSION, version.as_bytes());
    }
    if let Some(cipher) = &tls.cipher {
        push_tlv(&mut value, PP2_SUBTYPE_SSL_CIPHER, cipher.as_bytes());
    }
    value
}

fn push_tlv(out: &mut Vec<u8>, kind: u8, value: &[u8]) {
    out.push(kind);
    // Every value here is far below 64 KiB (names, ids, short TLS facts).
    out.extend_from_slice(&(value.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(&value[..value.len().min(usize::from(u16::MAX))]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    fn all() -> ProxyTlvs {
        ProxyTlvs {
            authority: true,
            unique_id: true,
            ssl: true,
            crc32c: true,
        }
    }

    fn tls() -> ClientTls {
        ClientTls {
            server_name: Some("example.com".into()),
            version: Some("TLSv1.3"),
            cipher: Some("TLS_AES_128_GCM_SHA256".into()),
        }
    }

    #[test]
    fn without_tlvs_the_header_is_the_plain_one() {
        let (c, l) = (addr("192.0.2.7:51234"), addr("10.0.0.1:443"));
        assert_eq!(
            header_with_tlvs(2, ProxyTlvs::default(), c, l, Some(&tls())),
            super::super::header(2, c, l)
        );
        // Version 1 has no room for TLVs.
        assert_eq!(
            header_with_tlvs(1, all(), c, l, Some(&tls())),
            super::super::header(1, c, l)
        );
    }

    #[test]
    fn authority_ssl_and_crc32c_are_byte_exact() {
        let tlvs = ProxyTlvs {
            unique_id: false,
            ..all()
        };
        let got = header_with_tlvs(
            2,
            tlvs,
            addr("192.0.2.7:51234"),
            addr("10.0.0.1:443"),
            Some(&tls()),
        );
        let mut want = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
        let mut body = vec![192, 0, 2, 7, 10, 0, 0, 1, 0xc8, 0x22, 0x01, 0xbb];
        body.extend_from_slice(b"\x02\x00\x0bexample.com");
        body.extend_from_slice(b"\x20\x00\x28\x01\x00\x00\x00\x01");
        body.extend_from_slice(b"\x21\x00\x07TLSv1.3");
        body.extend_from_slice(b"\x23\x00\x16TLS_AES_128_GCM_SHA256");
        body.extend_from_slice(b"\x03\x00\x04\0\0\0\0");
        want.extend_from_slice(&(body.len() as u16).to_be_bytes());
        want.extend_from_slice(&body);
        let crc = crc32c::crc32c(&want);
        let n = want.len();
        want[n - 4..].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(got, want);
        // The check a receiver does: zero the field, recompute, compare.
        let mut zeroed = got.clone();
        zeroed[n - 4..].fill(0);
        assert_eq!(crc32c::crc32c(&zeroed).to_be_bytes(), got[n - 4..]);
    }

    #[test]
    fn datagram_headers_carry_tlvs_after_the_dgram_block() {
        let (c, l) = (addr("192.0.2.7:53"), addr("10.0.0.1:5353"));
        let tlvs = ProxyTlvs {
            unique_id: true,
            crc32c: true,
            ..Default::default()
        };
        let got = datagram_header_with_tlvs(tlvs, c, l);
        assert_eq!(&got[12..16], b"\x21\x12\x00\x36"); // 12 + (3 + 32) + (3 + 4) = 54
        assert_eq!(got[16..28], super::super::datagram_header(c, l)[16..]);
        assert_eq!(&got[28..31], b"\x05\x00\x20");
        let mut zeroed = got.clone();
        zeroed[got.len() - 4..].fill(0);
        assert_eq!(crc32c::crc32c(&zeroed).to_be_bytes(), got[got.len() - 4..]);
        assert_eq!(
            datagram_header_with_tlvs(ProxyTlvs::default(), c, l),
            super::super::datagram_header(c, l)
        );
    }

    #[test]
    fn unique_ids_differ_per_connection_and_tls_tlvs_need_tls() {
        let only_id = ProxyTlvs {
            unique_id: true,
            ..Default::default()
        };
        let (c, l) = (addr("192.0.2.7:1"), addr("10.0.0.1:2"));
        let a = header_with_tlvs(2, only_id, c, l, None);
        let b = header_with_tlvs(2, only_id, c, l, None);
        assert_eq!(a.len(), 16 + 12 + 3 + 32);
        assert_eq!(&a[28..31], b"\x05\x00\x20");
        assert!(a[31..].iter().all(u8::is_ascii_hexdigit));
        assert_ne!(a, b);
        // Without terminated TLS, authority and ssl are left out.
        let tls_only = ProxyTlvs {
            authority: true,
            ssl: true,
            ..Default::default()
        };
        assert_eq!(
            header_with_tlvs(2, tls_only, c, l, None),
            super::super::header(2, c, l)
        );
    }
}
