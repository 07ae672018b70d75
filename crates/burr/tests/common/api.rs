//! AWS API calls to a running burr as an SDK makes them: a query-protocol form POST signed with
//! Signature V4 (burr-api's own signer) by the key pair burr accepts, over a plain blocking
//! socket, so tests can call it from many threads and see exactly when an answer did not come.

use super::Burr;
use burr_api::SignedRequest;
use burr_api::sigv4::{self, Credentials};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The key pair burr accepts: from the environment it inherited, or the one it generated in
/// its data directory.
pub fn api_credentials(burr: &Burr) -> Credentials {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("BURR_ACCESS_KEY_ID"),
        std::env::var("BURR_SECRET_ACCESS_KEY"),
    ) {
        return Credentials {
            access_key_id: id,
            secret_access_key: secret,
        };
    }
    let file = std::fs::read_to_string(burr.dir.path().join("data").join("credentials")).unwrap();
    let value = |key: &str| {
        file.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {key} in {file}"))
    };
    Credentials {
        access_key_id: value("aws_access_key_id"),
        secret_access_key: value("aws_secret_access_key"),
    }
}

/// Calls `action` (API version 2012-06-01) with `params` on `api`; the status and body of the
/// answer, or `None` when no complete answer came (burr was killed, or is not listening).
pub fn api_call(
    api: std::net::SocketAddr,
    credentials: &Credentials,
    action: &str,
    params: &[(&str, &str)],
) -> Option<(u16, String)> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", action)
        .append_pair("Version", "2012-06-01")
        .extend_pairs(params.iter().copied())
        .finish();
    let raw = signed_post(api, credentials, "", &body);
    let mut stream = TcpStream::connect_timeout(&api, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(&raw).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    // A complete answer: as long as it says (burr answers with Content-Length).
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().ok())
        })
        .flatten()?;
    (body.len() == length).then(|| (status, body.to_string()))
}

/// A query-API `POST` to `api` with `query` and form `body`, signed now by `credentials` as an
/// SDK signs it, with `Connection: close`: the raw bytes to send.
pub fn signed_post(
    api: std::net::SocketAddr,
    credentials: &Credentials,
    query: &str,
    body: &str,
) -> Vec<u8> {
    let host = api.to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let amz_date = sigv4::format_amz_date(now as i64);
    let headers: [(&str, &[u8]); 3] = [
        ("Host", host.as_bytes()),
        ("Content-Type", FORM.as_bytes()),
        ("X-Amz-Date", amz_date.as_bytes()),
    ];
    let request = SignedRequest {
        method: "POST",
        path: "/",
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let authorization = sigv4::authorization(
        &request,
        credentials,
        "us-east-1",
        "elasticloadbalancing",
        &["content-type", "host", "x-amz-date"],
    )
    .unwrap();
    let target = if query.is_empty() {
        "/".to_string()
    } else {
        format!("/?{query}")
    };
    format!(
        "POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\nX-Amz-Date: {amz_date}\r\n\
         Authorization: {authorization}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Calls ACM's `action` (JSON protocol, `X-Amz-Target: CertificateManager.<action>`) with the
/// JSON `body` on `api`: the status and the JSON answer.
pub fn acm_call(
    api: std::net::SocketAddr,
    credentials: &Credentials,
    action: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    const JSON: &str = "application/x-amz-json-1.1";
    let body = body.to_string();
    let host = api.to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let amz_date = sigv4::format_amz_date(now as i64);
    let target = format!("CertificateManager.{action}");
    let headers: [(&str, &[u8]); 4] = [
        ("Host", host.as_bytes()),
        ("Content-Type", JSON.as_bytes()),
        ("X-Amz-Date", amz_date.as_bytes()),
        ("X-Amz-Target", target.as_bytes()),
    ];
    let request = SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let authorization = sigv4::authorization(
        &request,
        credentials,
        "us-east-1",
        "acm",
        &["content-type", "host", "x-amz-date", "x-amz-target"],
    )
    .unwrap();
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {JSON}\r\nX-Amz-Date: {amz_date}\r\n\
         X-Amz-Target: {target}\r\nAuthorization: {authorization}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect_timeout(&api, Duration::from_secs(1)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// Imports (or, given `arn`, re-imports) a certificate and key, PEM, through ACM as boto3
/// does (blobs base64-encoded); returns its ARN.
pub fn acm_import(burr: &Burr, arn: Option<&str>, certificate: &str, key: &str) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut body = serde_json::json!({ "Certificate": b64(certificate), "PrivateKey": b64(key) });
    if let Some(arn) = arn {
        body["CertificateArn"] = arn.into();
    }
    let (status, answer) = acm_call(burr.api, &api_credentials(burr), "ImportCertificate", &body);
    assert_eq!(status, 200, "{answer}");
    answer["CertificateArn"].as_str().unwrap().to_string()
}
