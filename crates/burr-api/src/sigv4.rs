//! AWS Signature Version 4 verification for burr's AWS-compatible control API: given a request
//! exactly as it arrived (method, raw path, raw query, headers, body), one key pair and the
//! current time, it decides whether the `Authorization` header was made by the holder of that
//! secret, within AWS's 15-minute window, for one of the services burr speaks. It rebuilds the
//! canonical request the way botocore (the reference client) does for non-S3 services, and
//! answers failures with the error codes and messages AWS itself sends. It is sans-IO: it reads
//! no clock (the caller passes the time in) and does no I/O. Presigned (query-string) requests
//! are not supported; they are answered as unauthenticated. Neither is `UNSIGNED-PAYLOAD`: every
//! accepted signature covers the body. [`authorization`] signs, for clients and tests.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(crate) mod canonical;
mod date;
#[cfg(test)]
mod tests;

use canonical::{canonical_request, header};
pub use date::format_amz_date;
use date::{parse_amz_date, parse_http_date};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
/// AWS rejects requests whose signing time is further than this from its own clock.
const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// One access key pair the API accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

// Hand-written so the secret never reaches a log line through `{:?}`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// A request as it arrived on the wire, before any decoding.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The request method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as sent (still percent-encoded), without the query.
    pub path: &'a str,
    /// The raw query string without the leading `?`; empty when there is none.
    pub query: &'a str,
    /// Every header in arrival order; repeats stay separate entries. HTTP/2 callers must pass
    /// `:authority` as `host`.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

/// Who signed an accepted request, and for which scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Why a request was refused. Every variant is answered with HTTP 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Neither an `Authorization` header nor anything else that could authenticate.
    MissingAuthenticationToken,
    /// The `Authorization` header, the date or the credential scope is malformed or unusable.
    IncompleteSignature(String),
    /// The access key id is not one burr knows.
    InvalidClientTokenId,
    /// Wrong signature, expired or future signing time, or a body not matching its hash.
    SignatureDoesNotMatch(String),
}

impl AuthError {
    /// The AWS error code, as written in the `<Code>` element of the error response.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature(_) => "IncompleteSignature",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
        }
    }

    /// A message naming what was wrong. It may quote parts of the request, so callers must
    /// escape it for the response format.
    pub fn message(&self) -> &str {
        match self {
            Self::MissingAuthenticationToken => "Request is missing Authentication Token",
            Self::InvalidClientTokenId => "The security token included in the request is invalid.",
            Self::IncompleteSignature(message) | Self::SignatureDoesNotMatch(message) => message,
        }
    }

    /// The HTTP status AWS answers every authentication failure with.
    pub fn http_status(&self) -> u16 {
        403
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for AuthError {}

fn incomplete(message: impl Into<String>) -> AuthError {
    AuthError::IncompleteSignature(message.into())
}

fn signature_mismatch() -> AuthError {
    AuthError::SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
            .to_owned(),
    )
}

/// Checks the request's SigV4 `Authorization` header against `credentials`, accepting any
/// region and only the given `services`, with `now_unix_secs` as the current time.
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: &Credentials,
    services: &[&str],
    now_unix_secs: i64,
) -> Result<Verified, AuthError> {
    let header_value =
        header(request, "authorization").ok_or(AuthError::MissingAuthenticationToken)?;
    let authorization = std::str::from_utf8(header_value)
        .map_err(|_| incomplete("Authorization header is not valid ASCII."))
        .and_then(Authorization::parse)?;
    let signing_time = SigningTime::of(request)?;
    authorization.check_scope(&signing_time, services)?;
    if authorization.access_key_id != credentials.access_key_id {
        return Err(AuthError::InvalidClientTokenId);
    }
    check_clock_skew(signing_time.unix_secs, now_unix_secs)?;
    let mac = signing_mac(request, credentials, &authorization, &signing_time)?;
    // `verify_slice` compares in constant time, so timing reveals nothing about the signature.
    mac.verify_slice(&authorization.signature)
        .map_err(|_| signature_mismatch())?;
    Ok(Verified {
        access_key_id: authorization.access_key_id.to_owned(),
        region: authorization.region.to_owned(),
        service: authorization.service.to_owned(),
    })
}

/// Signs `request` as botocore does: the value of its `Authorization` header, for `region` and
/// `service`, covering the headers named in `signed_headers` (which must include `host`) and
/// dated by the request's own `X-Amz-Date` (or `Date`) header. burr only verifies; this is for
/// clients of the API and for tests. A request the verifier would refuse whatever its signature
/// (a signed header missing, an `UNSIGNED-PAYLOAD` hash, no date) is refused here too.
pub fn authorization(
    request: &SignedRequest<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    signed_headers: &[&str],
) -> Result<String, AuthError> {
    let signing_time = SigningTime::of(request)?;
    let signed_headers = parse_signed_headers(&signed_headers.join(";"))?;
    let authorization = Authorization {
        access_key_id: &credentials.access_key_id,
        scope_date: signing_time.amz_date.get(..8).unwrap_or_default(),
        region,
        service,
        signed_headers,
        signature: [0; 32],
    };
    let signature = signing_mac(request, credentials, &authorization, &signing_time)?;
    Ok(format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        authorization.access_key_id,
        authorization.scope(),
        authorization.signed_headers.join(";"),
        hex::encode(signature.finalize().into_bytes()),
    ))
}

/// The HMAC over the string to sign, keyed for the authorization's scope: finalized, it is the
/// signature.
fn signing_mac(
    request: &SignedRequest<'_>,
    credentials: &Credentials,
    authorization: &Authorization<'_>,
    signing_time: &SigningTime,
) -> Result<Hmac<Sha256>, AuthError> {
    let canonical = canonical_request(request, &authorization.signed_headers)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        signing_time.amz_date,
        authorization.scope(),
        hex::encode(Sha256::digest(&canonical)),
    );
    let mut mac = hmac_sha256(&signing_key(credentials, authorization));
    mac.update(string_to_sign.as_bytes());
    Ok(mac)
}

/// The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'h> {
    access_key_id: &'h str,
    scope_date: &'h str,
    region: &'h str,
    service: &'h str,
    /// Lowercased, sorted and free of duplicates, as the canonical request lists them.
    signed_headers: Vec<String>,
    signature: [u8; 32],
}

impl<'h> Authorization<'h> {
    fn parse(value: &'h str) -> Result<Self, AuthError> {
        let (algorithm, components) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        if algorithm != ALGORITHM {
            return Err(incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'; only '{ALGORITHM}' is accepted."
            )));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for component in components
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let (key, value) = component.split_once('=').ok_or_else(|| {
                incomplete(format!(
                    "Authorization component '{component}' is not key=value."
                ))
            })?;
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => {
                    return Err(incomplete(format!(
                        "Unknown Authorization component '{key}'."
                    )));
                }
            };
            if slot.replace(value).is_some() {
                return Err(incomplete(format!(
                    "Authorization repeats the '{key}' component."
                )));
            }
        }
        let require = |slot: Option<&'h str>, name: &str| {
            slot.ok_or_else(|| {
                incomplete(format!("Authorization header requires '{name}' parameter."))
            })
        };
        let credential = require(credential, "Credential")?;
        let signed_headers = parse_signed_headers(require(signed_headers, "SignedHeaders")?)?;
        let signature = parse_signature(require(signature, "Signature")?)?;
        let [access_key_id, scope_date, region, service, terminator] =
            split_credential(credential)?;
        if terminator != TERMINATOR {
            return Err(incomplete(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
                 '{terminator}'."
            )));
        }
        Ok(Self {
            access_key_id,
            scope_date,
            region,
            service,
            signed_headers,
            signature,
        })
    }

    /// Refuses scopes burr must not honour: a date other than the signing date, a service it
    /// does not speak, or a signature that does not cover `host`.
    fn check_scope(&self, time: &SigningTime, services: &[&str]) -> Result<(), AuthError> {
        let signing_date = time.amz_date.get(..8).unwrap_or_default();
        if self.scope_date != signing_date {
            return Err(incomplete(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{}' != '{signing_date}', from '{}'.",
                self.scope_date, time.amz_date
            )));
        }
        if !services.contains(&self.service) {
            return Err(incomplete(format!(
                "Credential should be scoped to correct service: one of '{}', not '{}'.",
                services.join("', '"),
                self.service
            )));
        }
        // Without `host` a signature could be replayed against any endpoint holding the key.
        if !self.signed_headers.iter().any(|name| name == "host") {
            return Err(incomplete(
                "'Host' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        Ok(())
    }

    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.scope_date, self.region, self.service
        )
    }
}

fn split_credential(credential: &str) -> Result<[&str; 5], AuthError> {
    let malformed = || {
        incomplete(format!(
            "Credential '{credential}' is not of the form \
             <access key id>/<YYYYMMDD>/<region>/<service>/{TERMINATOR}."
        ))
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let parts: [&str; 5] = parts.try_into().map_err(|_| malformed())?;
    let date_is_valid = parts[1].len() == 8 && parts[1].bytes().all(|b| b.is_ascii_digit());
    if parts.iter().any(|part| part.is_empty()) || !date_is_valid {
        return Err(malformed());
    }
    Ok(parts)
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, AuthError> {
    if list
        .split(';')
        .any(|name| name.is_empty() || name.contains(char::is_whitespace))
    {
        return Err(incomplete(format!(
            "SignedHeaders '{list}' is not a ';'-separated list."
        )));
    }
    let mut names: Vec<String> = list.split(';').map(str::to_ascii_lowercase).collect();
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

fn parse_signature(signature: &str) -> Result<[u8; 32], AuthError> {
    let mut bytes = [0; 32];
    hex::decode_to_slice(signature, &mut bytes).map_err(|_| {
        incomplete(format!(
            "Signature '{signature}' is not 64 hexadecimal digits."
        ))
    })?;
    Ok(bytes)
}

/// When the client says it signed: `X-Amz-Date`, or else the HTTP `Date` header.
struct SigningTime {
    /// `YYYYMMDDTHHMMSSZ`, as it enters the string to sign.
    amz_date: String,
    unix_secs: i64,
}

impl SigningTime {
    fn of(request: &SignedRequest<'_>) -> Result<Self, AuthError> {
        if let Some(value) = header(request, "x-amz-date") {
            let text = std::str::from_utf8(value).unwrap_or("");
            let unix_secs = parse_amz_date(text).ok_or_else(|| {
                incomplete(
                    "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".",
                )
            })?;
            return Ok(Self {
                amz_date: text.to_owned(),
                unix_secs,
            });
        }
        let value = header(request, "date").ok_or_else(|| {
            incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header.",
            )
        })?;
        let unix_secs = parse_http_date(std::str::from_utf8(value).unwrap_or(""))
            .ok_or_else(|| incomplete("Date header must be an RFC 1123 date, in GMT."))?;
        Ok(Self {
            amz_date: format_amz_date(unix_secs),
            unix_secs,
        })
    }
}

fn check_clock_skew(signed_at: i64, now: i64) -> Result<(), AuthError> {
    let (earliest, latest) = (
        now.saturating_sub(MAX_CLOCK_SKEW_SECS),
        now.saturating_add(MAX_CLOCK_SKEW_SECS),
    );
    let (signed, now_text) = (format_amz_date(signed_at), format_amz_date(now));
    if signed_at < earliest {
        let bound = format_amz_date(earliest);
        return Err(AuthError::SignatureDoesNotMatch(format!(
            "Signature expired: {signed} is now earlier than {bound} ({now_text} - 15 min.)"
        )));
    }
    if signed_at > latest {
        let bound = format_amz_date(latest);
        return Err(AuthError::SignatureDoesNotMatch(format!(
            "Signature not yet current: {signed} is still later than {bound} ({now_text} + 15 \
             min.)"
        )));
    }
    Ok(())
}

/// `AWS4`+secret → date → region → service → `aws4_request`.
fn signing_key(credentials: &Credentials, authorization: &Authorization<'_>) -> Vec<u8> {
    let mut key = format!("AWS4{}", credentials.secret_access_key).into_bytes();
    for part in [
        authorization.scope_date,
        authorization.region,
        authorization.service,
        TERMINATOR,
    ] {
        let mut mac = hmac_sha256(&key);
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    key
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    Hmac::new_from_slice(key).expect("HMAC accepts keys of every length")
}
