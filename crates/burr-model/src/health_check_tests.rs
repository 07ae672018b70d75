//! The rules of the UDP health check's settings: each error names its field and says why.

use super::*;

fn udp(payload: Option<&str>, expect: Option<&str>) -> HealthCheck {
    HealthCheck {
        protocol: HealthCheckProtocol::Udp,
        udp_payload: payload.map(Into::into),
        udp_expect: expect.map(Into::into),
        ..HealthCheck::default()
    }
}

/// The one error of `check`, as (field, text).
fn one_error(check: &HealthCheck) -> (&'static str, String) {
    let errors = check.check().expect_err("the check should be refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    (e.path.leaf_field().unwrap_or(""), e.to_string())
}

#[test]
fn a_udp_check_with_a_text_or_hex_payload_is_valid() {
    for (payload, expect, bytes) in [
        ("ping", None, b"ping".to_vec()),
        ("hex:00ff10", Some("hex:ABcd"), vec![0, 0xff, 0x10]),
        ("x", Some("pong"), b"x".to_vec()),
    ] {
        let check = udp(Some(payload), expect);
        assert_eq!(check.check(), Ok(()), "{payload}");
        assert_eq!(check.udp_payload_bytes(), bytes);
    }
    assert_eq!(
        udp(Some("a"), Some("hex:ABcd")).udp_expect_bytes(),
        Some(vec![0xab, 0xcd])
    );
    let largest = "a".repeat(MAX_UDP_PROBE_BYTES);
    assert_eq!(udp(Some(&largest), Some(&largest)).check(), Ok(()));
}

#[test]
fn a_udp_check_without_a_payload_is_refused() {
    let (field, text) = one_error(&udp(None, None));
    assert_eq!(field, "udp_payload");
    assert!(text.contains("needs the datagram it sends"), "{text}");
}

#[test]
fn bad_hex_is_refused_saying_what_is_wrong() {
    for (value, says) in [
        (
            "hex:abc",
            "3 hex digits after hex:; they must come in pairs",
        ),
        ("hex:zz", "'z' at position 1 after hex:"),
        ("hex:0g", "'g' at position 2 after hex:"),
    ] {
        let (field, text) = one_error(&udp(Some(value), None));
        assert_eq!(field, "udp_payload");
        assert!(text.contains(says), "{value}: {text}");
        let (field, text) = one_error(&udp(Some("ping"), Some(value)));
        assert_eq!(field, "udp_expect");
        assert!(text.contains(says), "{value}: {text}");
    }
}

#[test]
fn empty_and_oversized_probe_bytes_are_refused_with_the_range() {
    let oversized = "a".repeat(MAX_UDP_PROBE_BYTES + 1);
    let oversized_hex = format!("hex:{}", "00".repeat(MAX_UDP_PROBE_BYTES + 1));
    for (value, length) in [
        ("", 0),
        ("hex:", 0),
        (&oversized, 1025),
        (&oversized_hex, 1025),
    ] {
        let (field, text) = one_error(&udp(Some(value), None));
        assert_eq!(field, "udp_payload");
        assert!(
            text.contains(&format!(
                "is {length} bytes; must be between 1 and 1024 bytes"
            )),
            "{text}"
        );
        let (field, _) = one_error(&udp(Some("ping"), Some(value)));
        assert_eq!(field, "udp_expect");
    }
}

#[test]
fn udp_fields_on_other_protocols_are_refused() {
    for protocol in [
        HealthCheckProtocol::Tcp,
        HealthCheckProtocol::Ssl,
        HealthCheckProtocol::Http,
        HealthCheckProtocol::Https,
    ] {
        for (payload, expect, field) in [
            (Some("ping"), None, "udp_payload"),
            (None, Some("pong"), "udp_expect"),
        ] {
            let check = HealthCheck {
                protocol,
                ..udp(payload, expect)
            };
            let (got, text) = one_error(&check);
            assert_eq!(got, field);
            assert!(
                text.contains(&format!(
                    "applies only to udp health checks (this one is {})",
                    protocol.as_str()
                )),
                "{text}"
            );
        }
    }
}
