//! The Application Load Balancer's access-log entry, every field in AWS's order:
//!
//! `type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//! "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//! "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//! "classification" "classification_reason" conn_trace_id`
//!
//! `time` is when the exchange ended (the response sent), `request_creation_time` when the
//! request arrived; `elb` is `app/<name>/<id>` for an ELBv2 balancer; `matched_rule_priority`
//! is 0 for the default action, as ALB logs it, and it and `actions_executed` are `-` for a
//! request refused before the rules ran (ALB's `-` for "any other error"). burr has no X-Ray trace ids, desync classification (it
//! refuses ambiguous requests outright) or connection trace ids: those fields are `-`.

use super::fields;
use super::names::Names;
use super::{ClientProtocol, Record};

/// Appends the line of `record` (with its newline) to `out`.
pub fn line(record: &Record, names: &Names, out: &mut Vec<u8>) {
    let kind = match record.protocol {
        ClientProtocol::Http => "http",
        ClientProtocol::Https => "https",
        ClientProtocol::H2 => "h2",
        ClientProtocol::Ws => "ws",
        ClientProtocol::Wss => "wss",
    };
    out.extend_from_slice(kind.as_bytes());
    out.push(b' ');
    fields::time(out, fields::response_time(record));
    out.push(b' ');
    out.extend_from_slice(names.alb_elb(record.texts.balancer()).as_bytes());
    out.push(b' ');
    fields::shared_elb_fields(out, record, 3);
    out.push(b' ');
    let group = record.texts.pool().and_then(|p| names.target_group_arn(p));
    out.extend_from_slice(group.unwrap_or("-").as_bytes());
    // trace_id: burr sets no X-Amzn-Trace-Id.
    out.extend_from_slice(b" \"-\" ");
    let server_name = record.tls.as_deref().and_then(|t| t.server_name.as_deref());
    fields::quoted(out, server_name);
    out.push(b' ');
    let certificate = record
        .tls
        .as_ref()
        .and_then(|_| names.chosen_certificate(record.texts.balancer(), record.port));
    fields::quoted(out, certificate);
    out.push(b' ');
    if record.routed {
        fields::number(out, record.rule_priority.unwrap_or(0));
    } else {
        out.push(b'-');
    }
    out.push(b' ');
    fields::time(out, record.received_at);
    out.push(b' ');
    fields::quoted(out, record.routed.then_some(record.action));
    out.push(b' ');
    fields::quoted(out, record.texts.redirect_url());
    out.push(b' ');
    fields::quoted(out, record.error_reason);
    // target:port_list and target_status_code_list: burr sends a request to one target.
    out.extend_from_slice(b" \"");
    fields::target(out, record);
    out.extend_from_slice(b"\" \"");
    fields::status(out, record.target_status);
    // classification, classification_reason, conn_trace_id.
    out.extend_from_slice(b"\" \"-\" \"-\" -\n");
}
