//! burr's own line, the default (`--access-log-format burr`) and the format burr always wrote:
//!
//! `TIME CLIENT BALANCER:PORT "METHOD PATH VERSION" STATUS TARGET DURATION_MS`
//!
//! TIME is RFC 3339 UTC with milliseconds (when the request arrived), TARGET is `-` when no
//! target answered, and DURATION_MS the whole exchange in milliseconds: from the request head's
//! arrival to the response sent in full (or the exchange given up), a 504 after a timeout
//! included.

use super::Record;
use std::io::Write;

/// Appends the line of `record` (with its newline) to `out`.
pub fn line(record: &Record, out: &mut Vec<u8>) {
    let target: &dyn std::fmt::Display = match &record.target {
        Some(address) => address,
        None => &"-",
    };
    let _ = writeln!(
        out,
        "{} {} {}:{} \"{} {} {:?}\" {} {} {:.3}",
        humantime::format_rfc3339_millis(record.received_at),
        record.client,
        record.texts.balancer(),
        record.port,
        record.texts.method(),
        record.texts.uri().escape_debug(),
        record.version,
        record.status,
        target,
        record.elapsed.as_secs_f64() * 1000.0,
    );
}
