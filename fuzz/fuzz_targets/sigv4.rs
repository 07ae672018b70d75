//! SigV4 canonicalisation and the verifier entry (`burr_api::sigv4`), on any request.
//!
//! Beyond "no panic" for any `Authorization` header: the canonical query is a fixed point
//! (canonicalising it again changes nothing) and the canonical URI is made of unreserved
//! characters, `/` and escapes; a request signed as botocore signs it (`authorization`)
//! verifies, whatever its method, path, query, headers and body; and the same request with its
//! body or its signed `Host` changed does not.
#![no_main]

use arbitrary::Arbitrary;
use burr_api::fuzzing::{canonical_query, canonical_uri};
use burr_api::sigv4::{AuthError, Credentials, SignedRequest, authorization, verify};
use libfuzzer_sys::fuzz_target;

/// 2026-01-05T12:00:00Z, and its two spellings.
const NOW: i64 = 1_767_614_400;
const AMZ_DATE: &[u8] = b"20260105T120000Z";
const HTTP_DATE: &[u8] = b"Mon, 05 Jan 2026 12:00:00 GMT";
const SERVICE: &str = "elasticloadbalancing";

/// Headers the round trip sets itself.
const OWN: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "date",
    "x-amz-content-sha256",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
    /// Which of `headers` are signed too (by index).
    signed: Vec<u8>,
    /// Date by `Date` rather than `X-Amz-Date`.
    http_date: bool,
    /// Seconds between signing and verifying, within AWS's 15 minutes.
    skew: i16,
    /// An `Authorization` header as a client might send it, for the no-panic check.
    raw_authorization: &'a [u8],
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let credentials = Credentials {
        access_key_id: "AKIDFUZZ".to_owned(),
        secret_access_key: "fuzz/secret+key".to_owned(),
    };
    // Any Authorization header, on any request: an answer, never a panic.
    let mut raw_headers = input.headers.clone();
    raw_headers.push(("Authorization", input.raw_authorization));
    let raw = SignedRequest {
        method: input.method,
        path: input.path,
        query: input.query,
        headers: &raw_headers,
        body: input.body,
    };
    let _ = verify(&raw, &credentials, &[SERVICE], NOW);

    let query = canonical_query(input.query);
    assert_eq!(canonical_query(&query), query, "not a fixed point");
    let uri = canonical_uri(input.path);
    // A path on the wire starts with `/` (origin form); the canonical URI of any other (`*`)
    // stays relative, as botocore's would.
    if input.path.is_empty() || input.path.starts_with('/') {
        assert!(uri.starts_with('/'), "{uri}");
    }
    assert!(!uri.contains("//"), "{uri}");
    assert!(
        uri.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~/%".contains(&b)),
        "{uri}"
    );

    // Sign as a client does, then verify.
    let mut headers: Vec<(&str, &[u8])> = vec![("Host", b"elb.burr.test")];
    headers.extend(
        input
            .headers
            .iter()
            .filter(|(name, _)| !OWN.iter().any(|own| own.eq_ignore_ascii_case(name))),
    );
    headers.push(if input.http_date {
        ("Date", HTTP_DATE)
    } else {
        ("X-Amz-Date", AMZ_DATE)
    });
    let mut signed = vec![
        "host",
        if input.http_date {
            "date"
        } else {
            "x-amz-date"
        },
    ];
    for &i in &input.signed {
        if let Some(&(name, _)) = input.headers.get(usize::from(i))
            && !name.is_empty()
            && !name.contains([';', ',', '='])
            && !name.contains(char::is_whitespace)
            && !OWN.iter().any(|own| own.eq_ignore_ascii_case(name))
        {
            signed.push(name);
        }
    }
    let request = SignedRequest {
        method: input.method,
        path: input.path,
        query: input.query,
        headers: &headers,
        body: input.body,
    };
    let value = authorization(&request, &credentials, "eu-west-3", SERVICE, &signed)
        .unwrap_or_else(|e| panic!("signing failed: {e}"));
    let now = NOW + i64::from(input.skew) % 900;
    let with = |request: SignedRequest<'_>| {
        let mut headers = request.headers.to_vec();
        headers.push(("Authorization", value.as_bytes()));
        verify(
            &SignedRequest {
                headers: &headers,
                ..request
            },
            &credentials,
            &[SERVICE],
            now,
        )
    };
    let verified = with(request).unwrap_or_else(|e| panic!("{e}\n{value}"));
    assert_eq!(
        (verified.access_key_id.as_str(), verified.region.as_str()),
        ("AKIDFUZZ", "eu-west-3")
    );

    let mut other_body = input.body.to_vec();
    match other_body.first_mut() {
        Some(b) => *b ^= 1,
        None => other_body.push(b'x'),
    }
    assert!(matches!(
        with(SignedRequest {
            body: &other_body,
            ..request
        }),
        Err(AuthError::SignatureDoesNotMatch(_))
    ));
    let mut other_host = headers.clone();
    other_host[0].1 = b"elb.burr.test.evil";
    assert!(matches!(
        with(SignedRequest {
            headers: &other_host,
            ..request
        }),
        Err(AuthError::SignatureDoesNotMatch(_))
    ));
});
