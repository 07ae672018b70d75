//! The pieces the ELB-style formats share: ISO 8601 times with microseconds, durations in
//! seconds (`-1` when the step did not happen), `ip:port` pairs, the request line as ELB writes
//! it, escaping of quoted fields, and the mapping of the TLS cipher's IANA name to the OpenSSL
//! name ELB logs.

use super::{ClientProtocol, Record};
use http::Version;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// `2026-12-06T07:10:16.123456Z`, as ELB writes `timestamp`, `time` and
/// `request_creation_time`.
pub fn time(out: &mut Vec<u8>, at: SystemTime) {
    let _ = write!(out, "{}", humantime::format_rfc3339_micros(at));
}

/// Seconds with `decimals` digits, or `-1` when the step did not happen (ELB's convention for
/// a request that never reached a target or whose target never answered).
pub fn seconds(out: &mut Vec<u8>, duration: Option<Duration>, decimals: usize) {
    match duration {
        Some(d) => {
            let _ = write!(out, "{:.*}", decimals, d.as_secs_f64());
        }
        None => out.extend_from_slice(b"-1"),
    }
}

/// `ip:port` with the address bare (no brackets around IPv6), as ELB writes `client:port`;
/// splitters take the port after the last colon.
pub fn address(out: &mut Vec<u8>, address: SocketAddr) {
    let _ = write!(out, "{}:{}", address.ip(), address.port());
}

/// The target's `ip:port` (or `host:port`), or `-` when no target answered.
pub fn target(out: &mut Vec<u8>, record: &Record) {
    match &record.target {
        Some(burr_model::TargetAddress::Ip(a)) => address(out, *a),
        Some(burr_model::TargetAddress::Host { host, port }) => {
            let _ = write!(out, "{host}:{port}");
        }
        None => out.push(b'-'),
    }
}

/// A status code, or `-` when there is none.
pub fn status(out: &mut Vec<u8>, status: Option<u16>) {
    match status {
        Some(s) => {
            let _ = write!(out, "{s}");
        }
        None => out.push(b'-'),
    }
}

/// Copies `text` into a field, writing `"`, `\`, control bytes and (where `space` is set) the
/// space as `\xHH`, so a line always splits with AWS's published regular expressions whatever
/// bytes the client sent.
pub fn escaped(out: &mut Vec<u8>, text: &str, space: bool) {
    for &b in text.as_bytes() {
        if b < 0x20 || b == 0x7f || b == b'"' || b == b'\\' || (space && b == b' ') {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b);
        }
    }
}

/// A quoted free-text field (`"user_agent"`, `"redirect_url"`), `"-"` when absent.
pub fn quoted(out: &mut Vec<u8>, text: Option<&str>) {
    out.push(b'"');
    match text {
        Some(t) if !t.is_empty() => escaped(out, t, false),
        _ => out.push(b'-'),
    }
    out.push(b'"');
}

/// The `"request"` field: `METHOD scheme://host:port/path VERSION`, the URL rebuilt as ELB
/// logs it, with the client's `Host` (its own port dropped) and the listener's port.
pub fn request_line(out: &mut Vec<u8>, record: &Record) {
    out.push(b'"');
    escaped(out, &record.method, true);
    out.push(b' ');
    if record.uri.starts_with('/') || record.uri == "*" {
        let scheme = match record.protocol {
            ClientProtocol::Http | ClientProtocol::Ws => "http",
            ClientProtocol::Https | ClientProtocol::H2 | ClientProtocol::Wss => "https",
        };
        out.extend_from_slice(scheme.as_bytes());
        out.extend_from_slice(b"://");
        match record.host.as_deref().map(host_without_port) {
            Some(host) if !host.is_empty() => escaped(out, host, true),
            _ => out.push(b'-'),
        }
        let _ = write!(out, ":{}", record.listener.port);
        if record.uri == "*" {
            out.push(b'/');
        }
    }
    // The absolute form already names scheme, host and port.
    escaped(out, &record.uri, true);
    out.push(b' ');
    out.extend_from_slice(version(record.version).as_bytes());
    out.push(b'"');
}

/// `HTTP/1.1`, `HTTP/2.0`, as ELB spells the protocol version.
pub fn version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "-",
    }
}

/// `example.com` of `example.com:8080`, `[::1]` of `[::1]:8080`.
fn host_without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

/// `ssl_cipher ssl_protocol`: OpenSSL's names, `- -` on plain connections.
pub fn tls(out: &mut Vec<u8>, record: &Record) {
    let tls = record.tls.as_deref();
    let cipher = tls
        .and_then(|t| t.cipher.as_deref())
        .map(openssl_cipher_name);
    out.extend_from_slice(cipher.unwrap_or("-").as_bytes());
    out.push(b' ');
    let protocol = tls.and_then(|t| t.version);
    out.extend_from_slice(protocol.unwrap_or("-").as_bytes());
}

/// The OpenSSL name of a TLS 1.2 suite's IANA name (the spelling ELB logs and security policies
/// use). TLS 1.3 suites keep their IANA names, as OpenSSL and ALB both write them; a suite not
/// in the table (rustls negotiates none other) is written as given.
pub fn openssl_cipher_name(iana: &str) -> &str {
    match iana {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" => "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" => "ECDHE-RSA-AES128-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" => "ECDHE-ECDSA-AES256-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" => "ECDHE-RSA-AES256-SHA384",
        "TLS_RSA_WITH_AES_128_GCM_SHA256" => "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384" => "AES256-GCM-SHA384",
        other => other,
    }
}

/// When the response was sent in full: the request's arrival plus the steps that happened.
pub fn response_time(record: &Record) -> SystemTime {
    let steps = [
        record.request_processing,
        record.target_processing,
        record.response_processing,
    ];
    record.received_at + steps.iter().flatten().sum::<Duration>()
}
