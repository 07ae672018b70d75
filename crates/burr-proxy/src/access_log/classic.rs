//! The Classic Load Balancer's access-log entry, field for field as AWS documents it:
//!
//! `timestamp elb client:port backend:port request_processing_time backend_processing_time
//! response_processing_time elb_status_code backend_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol`
//!
//! `timestamp` is when the request arrived; `elb` the balancer's name; times in seconds with
//! microseconds, `-1` for a step that did not happen; `backend:port` and `backend_status_code`
//! are `-` when no target answered.

use super::Record;
use super::fields;
use super::names::Names;

/// Appends the line of `record` (with its newline) to `out`.
pub fn line(record: &Record, names: &Names, out: &mut Vec<u8>) {
    fields::time(out, record.received_at);
    out.push(b' ');
    out.extend_from_slice(names.classic_elb(record.texts.balancer()).as_bytes());
    out.push(b' ');
    fields::shared_elb_fields(out, record, 6);
    out.push(b'\n');
}
