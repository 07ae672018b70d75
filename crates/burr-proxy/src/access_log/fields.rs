//! The pieces the ELB-style formats share: ISO 8601 times with microseconds, durations in
//! seconds (`-1` when the step did not happen), `ip:port` pairs, the request line as ELB writes
//! it, escaping of quoted fields, and the mapping of the TLS cipher's IANA name to the OpenSSL
//! name ELB logs.

use super::{ClientProtocol, Record};
use http::Version;
use std::cell::Cell;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last second humantime can write (9999-12-31T23:59:59Z); later times are written as it.
const LAST_WRITABLE_SECOND: u64 = 253_402_300_799;

thread_local! {
    /// The writer thread's last `YYYY-MM-DDTHH:MM:SS`, by Unix second: the lines of one second
    /// share it, so the calendar arithmetic runs once a second rather than twice a line.
    static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// `2026-12-06T07:10:16.123456Z`, as ELB writes `timestamp`, `time` and
/// `request_creation_time` (a time before 1970 is written as 1970's first second).
pub fn time(out: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since.as_secs().min(LAST_WRITABLE_SECOND);
    let prefix = SECOND.with(|cache| {
        let (cached, text) = cache.get();
        if cached == second {
            return text;
        }
        let at = UNIX_EPOCH + Duration::from_secs(second);
        let formatted = humantime::format_rfc3339_seconds(at).to_string();
        let mut text = [0u8; 19];
        text.copy_from_slice(&formatted.as_bytes()[..19]);
        cache.set((second, text));
        text
    });
    out.extend_from_slice(&prefix);
    out.push(b'.');
    digits(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
}

/// `value` with exactly `width` digits, zero-padded (`value` below `10^width`).
fn digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// An integer in decimal.
pub fn number(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Seconds with `decimals` digits (3 or 6, rounded half up), or `-1` when the step did not
/// happen (ELB's convention for a request that never reached a target or whose target never
/// answered).
pub fn seconds(out: &mut Vec<u8>, duration: Option<Duration>, decimals: u32) {
    let Some(d) = duration else {
        out.extend_from_slice(b"-1");
        return;
    };
    let unit = 10u128.pow(9 - decimals);
    let scale = 10u128.pow(decimals);
    let ticks = (d.as_nanos() + unit / 2) / unit;
    number(out, ticks / scale);
    out.push(b'.');
    digits(out, (ticks % scale) as u64, decimals as usize);
}

/// `ip:port` with the address bare (no brackets around IPv6), as ELB writes `client:port`;
/// splitters take the port after the last colon.
pub fn address(out: &mut Vec<u8>, address: SocketAddr) {
    match address.ip() {
        // Most lines carry two IPv4 addresses: their octets without `core::fmt`'s machinery
        // (its padding and dispatch were the writer's largest cost after the time).
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                number(out, octet);
            }
        }
        ip @ std::net::IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
    out.push(b':');
    number(out, address.port());
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
        Some(s) => number(out, s),
        None => out.push(b'-'),
    }
}

/// Copies `text` into a field, writing `"`, `\`, control bytes and (where `space` is set) the
/// space as `\xHH`, so a line always splits with AWS's published regular expressions whatever
/// bytes the client sent.
pub fn escaped(out: &mut Vec<u8>, text: &str, space: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut clean = 0; // start of the run of bytes that need no escape
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 || b == 0x7f || b == b'"' || b == b'\\' || (space && b == b' ') {
            out.extend_from_slice(&bytes[clean..i]);
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
            clean = i + 1;
        }
    }
    out.extend_from_slice(&bytes[clean..]);
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
    escaped(out, record.texts.method(), true);
    out.push(b' ');
    let uri = record.texts.uri();
    if uri.starts_with('/') || uri == "*" {
        let scheme = match record.protocol {
            ClientProtocol::Http | ClientProtocol::Ws => "http",
            ClientProtocol::Https | ClientProtocol::H2 | ClientProtocol::Wss => "https",
        };
        out.extend_from_slice(scheme.as_bytes());
        out.extend_from_slice(b"://");
        match record.texts.host().map(host_without_port) {
            Some(host) if !host.is_empty() => escaped(out, host, true),
            _ => out.push(b'-'),
        }
        out.push(b':');
        number(out, record.port);
        if uri == "*" {
            out.push(b'/');
        }
    }
    // The absolute form already names scheme, host and port.
    escaped(out, uri, true);
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

/// When the exchange ended (the response sent in full, or given up): the request's arrival
/// plus the whole exchange, so a 504 after a timeout is stamped when it was sent.
pub fn response_time(record: &Record) -> SystemTime {
    record.received_at + record.elapsed
}

/// The run of fields the Classic and ALB entries share, in their order: `client:port
/// target:port request_processing_time target_processing_time response_processing_time
/// elb_status_code target_status_code received_bytes sent_bytes "request" "user_agent"
/// ssl_cipher ssl_protocol`, the times with `decimals` digits (Classic 6, ALB 3).
pub fn shared_elb_fields(out: &mut Vec<u8>, record: &Record, decimals: u32) {
    address(out, record.client);
    out.push(b' ');
    target(out, record);
    for step in [
        record.request_processing,
        record.target_processing,
        record.response_processing,
    ] {
        out.push(b' ');
        seconds(out, step, decimals);
    }
    out.push(b' ');
    number(out, record.status);
    out.push(b' ');
    status(out, record.target_status);
    out.push(b' ');
    number(out, record.received_bytes);
    out.push(b' ');
    number(out, record.sent_bytes);
    out.push(b' ');
    request_line(out, record);
    out.push(b' ');
    quoted(out, record.texts.user_agent());
    out.push(b' ');
    tls(out, record);
}
