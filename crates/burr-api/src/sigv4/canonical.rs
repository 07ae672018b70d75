//! The SigV4 canonical request, rebuilt from the request as it arrived the way botocore builds
//! it before signing for every service but S3: normalised and doubly encoded path, decoded and
//! re-encoded sorted query, folded signed headers, and the payload hash.

use sha2::{Digest, Sha256};

use super::{AuthError, SignedRequest, incomplete};

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER` and kin: S3's
/// chunked uploads, whose body is not covered by this signature either.
const STREAMING_PREFIX: &str = "STREAMING-";

/// The SigV4 canonical request, as bytes because header values need not be UTF-8.
pub(super) fn canonical_request(
    request: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::with_capacity(512);
    for part in [
        request.method,
        &canonical_uri(request.path),
        &canonical_query(request.query),
    ] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&canonical_header_value(request, name)?);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash(request)?.as_bytes());
    Ok(out)
}

/// Dot segments and empty segments removed (as botocore does for every service but S3), then
/// percent-encoded again. The path arrives already encoded, so `%` becomes `%25`: non-S3
/// services sign a doubly encoded path.
pub(crate) fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let leading = if path.starts_with('/') || segments.is_empty() {
        "/"
    } else {
        ""
    };
    let trailing = if path.ends_with('/') && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    uri_encode(
        format!("{leading}{}{trailing}", segments.join("/")).as_bytes(),
        true,
    )
}

/// Parameters decoded (`+` as space, as in the form encoding the query protocol uses), then
/// re-encoded with `%20` and uppercase hex, sorted by name and then value.
pub(crate) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&form_decode(name), false),
                uri_encode(&form_decode(value), false),
            )
        })
        .collect();
    pairs.sort_unstable();
    let pairs: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.join("&")
}

/// Every value of the header, each trimmed with inner whitespace runs collapsed, joined by `,`.
fn canonical_header_value(request: &SignedRequest<'_>, name: &str) -> Result<Vec<u8>, AuthError> {
    let values: Vec<Vec<u8>> = request
        .headers
        .iter()
        .filter(|(header_name, _)| header_name.eq_ignore_ascii_case(name))
        .map(|(_, value)| collapse_whitespace(value))
        .collect();
    if values.is_empty() {
        return Err(incomplete(format!(
            "Signed header '{name}' is not present in the request."
        )));
    }
    Ok(values.join(&b','))
}

/// Python's `' '.join(value.split())`, which botocore applies, restricted to ASCII.
pub(super) fn collapse_whitespace(value: &[u8]) -> Vec<u8> {
    let is_space = |b: &u8| b.is_ascii_whitespace() || matches!(b, 0x0b | 0x1c..=0x1f);
    let words: Vec<&[u8]> = value
        .split(is_space)
        .filter(|word| !word.is_empty())
        .collect();
    words.join(&b' ')
}

/// The hash the client says it signed, which must be the SHA-256 of the body: otherwise the
/// signature would vouch for a body that was never sent.
///
/// `UNSIGNED-PAYLOAD` (and the `STREAMING-…` forms) are refused. S3 honours them, but the query
/// protocol carries the whole operation in the body, over the plain HTTP `--api` speaks, so a
/// signature over no body lets anyone who sees one request replay its headers with any body for
/// 15 minutes. The code is `SignatureDoesNotMatch`, the one a real ELB endpoint gives: ELB takes
/// no unsigned payloads, so it builds the canonical request over the body's own hash and a
/// signature made over `UNSIGNED-PAYLOAD` simply does not match. (`IncompleteSignature` is for an
/// unusable `Authorization` header; this one is well formed.)
fn payload_hash(request: &SignedRequest<'_>) -> Result<String, AuthError> {
    let body_hash = hex::encode(Sha256::digest(request.body));
    let Some(claimed) = header(request, "x-amz-content-sha256") else {
        return Ok(body_hash);
    };
    match std::str::from_utf8(claimed) {
        Ok(claimed) if claimed.eq_ignore_ascii_case(&body_hash) => Ok(claimed.to_owned()),
        Ok(claimed) if claimed == UNSIGNED_PAYLOAD || claimed.starts_with(STREAMING_PREFIX) => {
            Err(AuthError::SignatureDoesNotMatch(format!(
                "'x-amz-content-sha256: {claimed}' is not accepted: burr requires a signed \
                 payload hash, the hex SHA-256 of the request body."
            )))
        }
        _ => Err(AuthError::SignatureDoesNotMatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_owned(),
        )),
    }
}

/// The first value of the named header (case-insensitive), if any.
pub(super) fn header<'a>(request: &SignedRequest<'a>, name: &str) -> Option<&'a [u8]> {
    let mut matching = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name));
    matching.next().map(|(_, value)| *value)
}

/// RFC 3986 encoding: unreserved characters stay, everything else is `%XX` in uppercase.
fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding; malformed escapes stay as they are.
fn form_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 3).and_then(|hex| {
            let mut byte = [0];
            hex::decode_to_slice(hex, &mut byte).ok().map(|()| byte[0])
        });
        let (byte, consumed) = match (bytes[i], escaped) {
            (b'%', Some(byte)) => (byte, 3),
            (b'+', _) => (b' ', 1),
            (byte, _) => (byte, 1),
        };
        out.push(byte);
        i += consumed;
    }
    out
}
