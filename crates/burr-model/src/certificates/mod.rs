//! Server certificates held by burr itself, so a listener can name one by ARN the AWS way:
//! ACM certificates (imported, or issued at once by burr's local certificate authority) and IAM
//! server certificates. This module owns the certificate objects, their ARNs, the checks of the
//! PEM a client hands in, the ACM and IAM operations as changes to [`State`], and the rule that
//! a certificate in use by a listener cannot be deleted.
//!
//! The private keys live in the state in memory (the data plane needs them) inside
//! [`PrivateKeyPem`], whose `Debug` prints nothing of the key and which is never serialised
//! with the certificate: the store encrypts it into a column of its own. No I/O, no clock: the
//! time and the randomness of new identifiers come in with [`CertContext`].

mod acm;
mod arn;
mod authority;
mod iam;
mod parse;
#[cfg(test)]
mod tests;

pub use acm::*;
pub use arn::{AcmArn, acm_arn, balancer_arn, iam_arn, is_certificate_arn, parse_acm_arn};
pub use authority::{LocalAuthority, create_authority, issue};
pub use iam::*;
pub use parse::{Checked, FieldNames, check};

use crate::State;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most certificates burr holds, ACM and IAM together (`LimitExceeded` beyond).
pub const MAX_CERTIFICATES: usize = 2500;
/// Most tags on one certificate.
pub const MAX_CERTIFICATE_TAGS: usize = 50;

/// A private key in PEM. Its `Debug` is redacted so the key never reaches a log line.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PrivateKeyPem(pub String);

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem(<redacted>)")
    }
}

/// Where a certificate came from, which decides the API that manages it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// ACM `ImportCertificate`.
    Imported,
    /// ACM `RequestCertificate`, issued by burr's local certificate authority.
    Issued { validation_method: String },
    /// IAM `UploadServerCertificate`.
    Iam {
        path: String,
        name: String,
        /// `ServerCertificateId`: `ASCA` and 17 upper-case letters and digits.
        id: String,
    },
}

/// A tag of a certificate (ACM tags may have no value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What the leaf certificate says about itself, read once when it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// The subject's common name, else its first subject alternative name.
    pub domain_name: String,
    pub subject_alternative_names: Vec<String>,
    /// Hex bytes separated by colons, as ACM writes it.
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    /// UTC seconds.
    pub not_before: u64,
    pub not_after: u64,
    /// ACM's name of the key algorithm, e.g. `EC_prime256v1`.
    pub key_algorithm: String,
    pub signature_algorithm: String,
    pub key_usages: Vec<String>,
    /// (ACM name, OID).
    pub extended_key_usages: Vec<(String, String)>,
}

/// A server certificate with its chain and private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub arn: String,
    pub source: Source,
    /// The leaf certificate, PEM.
    pub certificate_pem: String,
    /// The intermediate certificates, PEM, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_pem: Option<String>,
    /// Never serialised: the store keeps it encrypted in a column of its own.
    #[serde(skip)]
    pub private_key: PrivateKeyPem,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// UTC seconds of the import, issue or upload (the last re-import for ACM).
    pub created_at: u64,
    pub details: Details,
}

impl Certificate {
    /// A certificate of checked PEM, stored under `arn`, made by `source` at `created_at`.
    pub fn from_checked(
        arn: String,
        source: Source,
        checked: Checked,
        tags: Vec<Tag>,
        created_at: u64,
    ) -> Self {
        Self {
            arn,
            source,
            certificate_pem: checked.certificate_pem,
            chain_pem: checked.chain_pem,
            private_key: PrivateKeyPem(checked.private_key_pem),
            tags,
            created_at,
            details: checked.details,
        }
    }

    /// The region of an ACM certificate; `None` for an IAM one (global).
    pub fn region(&self) -> Option<&str> {
        parse_acm_arn(&self.arn).ok().map(|a| a.region)
    }

    pub fn is_acm(&self) -> bool {
        !matches!(self.source, Source::Iam { .. })
    }

    /// The chain the data plane sends: the leaf, then the intermediates.
    pub fn full_chain_pem(&self) -> String {
        let mut out = self.certificate_pem.clone();
        if let Some(chain) = &self.chain_pem {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(chain);
        }
        out
    }
}

/// The kinds of refusal; each front door names them with its own AWS error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertErrorKind {
    /// PEM or X.509 that cannot be read.
    Malformed,
    /// The private key is not the certificate's.
    KeyMismatch,
    /// The certificate's NotAfter has passed.
    Expired,
    /// A key type or size burr cannot serve.
    UnsupportedKey,
    /// No certificate by that ARN or name.
    NotFound,
    /// Not an ARN of the right form.
    InvalidArn,
    /// A listener uses the certificate.
    InUse,
    /// A certificate with that name exists.
    AlreadyExists,
    /// A parameter breaks a documented pattern or length.
    Validation,
    /// A parameter that is well-formed but not acceptable here.
    InvalidParameter,
    InvalidTag,
    TooManyTags,
    LimitExceeded,
}

/// Why a certificate operation changed nothing: the kind and a message naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError {
    pub kind: CertErrorKind,
    pub message: String,
}

impl CertError {
    pub fn new(kind: CertErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CertError {}

/// What a certificate operation needs besides the state.
#[derive(Debug, Clone, Copy)]
pub struct CertContext<'a> {
    /// The account id ARNs carry.
    pub account: &'a str,
    /// The region of the request (from its signature's credential scope).
    pub region: &'a str,
    /// UTC seconds.
    pub now: u64,
    /// Random bytes for a new certificate's identifier.
    pub fresh: [u8; 16],
}

impl State {
    /// The keys (`name` or `<region>/<name>`) of the balancers with a listener on `arn`, as its
    /// default certificate or one chosen by SNI, and the front-end balancer names
    /// (`cloudfront-<id>`) of the CloudFront distributions whose viewer certificate it is.
    pub fn certificate_users(&self, arn: &str) -> Vec<String> {
        let distributions = self
            .distributions
            .values()
            .filter(|d| {
                crate::cloudfront::viewer_certificate(self, d)
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(arn)
            })
            .map(|d| crate::cloudfront::balancer_name(&d.id));
        self.balancers
            .iter()
            .filter(|(_, b)| {
                b.listeners
                    .iter()
                    .any(|l| l.certificate_arns().any(|a| a == arn))
            })
            .map(|(key, _)| key.clone())
            .chain(distributions)
            .collect()
    }
}

/// Sets a listener's certificate from an `SSLCertificateId`: an ARN names a certificate burr
/// holds (the state's validation refuses one it does not hold), anything else is the path of a
/// PEM file holding the chain and its key.
pub fn name_listener_certificate(listener: &mut crate::Listener, id: &str) {
    if is_certificate_arn(id) {
        listener.certificate = Some(id.to_string());
        listener.tls = None;
    } else {
        let path = std::path::PathBuf::from(id);
        listener.tls = Some(crate::TlsFiles {
            certificate: path.clone(),
            private_key: path,
        });
        listener.certificate = None;
    }
}

/// Refuses to remove a certificate a listener uses.
fn check_unused(state: &State, arn: &str, what: &str) -> Result<(), CertError> {
    let users = state.certificate_users(arn);
    if users.is_empty() {
        return Ok(());
    }
    Err(CertError::new(
        CertErrorKind::InUse,
        format!(
            "{what} is in use by load balancer(s) {}; remove it from their listeners first",
            users
                .iter()
                .map(|u| format!("'{u}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// Upper-case letters and digits drawn from `fresh`, `len` of them.
fn alphanumeric(fresh: &[u8; 16], len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(len);
    let mut value = u128::from_le_bytes(*fresh);
    for _ in 0..len {
        out.push(ALPHABET[(value % 36) as usize] as char);
        value /= 36;
    }
    out
}

/// A version 4 UUID made from `fresh`.
fn uuid(fresh: &[u8; 16]) -> String {
    let mut b = *fresh;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Checks tags: at most [`MAX_CERTIFICATE_TAGS`] on the certificate, keys of 1–128 and values
/// of 0–256 characters from AWS's tag alphabet, keys not starting with `aws:`.
fn check_tags(field: &str, tags: &[Tag]) -> Result<(), CertError> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    for (i, tag) in tags.iter().enumerate() {
        let at = format!("{field}[{}]", i + 1);
        if tag.key.is_empty() || tag.key.chars().count() > 128 || !tag.key.chars().all(allowed) {
            return Err(CertError::new(
                CertErrorKind::InvalidTag,
                format!(
                    "{at}.Key: {:?} is not allowed: must be 1 to 128 letters, digits, spaces or \
                     _.:/=+-@",
                    tag.key
                ),
            ));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(CertError::new(
                CertErrorKind::InvalidTag,
                format!(
                    "{at}.Key: {:?} is not allowed: the prefix aws: is reserved",
                    tag.key
                ),
            ));
        }
        if let Some(value) = &tag.value
            && (value.chars().count() > 256 || !value.chars().all(allowed))
        {
            return Err(CertError::new(
                CertErrorKind::InvalidTag,
                format!(
                    "{at}.Value: {value:?} is not allowed: must be at most 256 letters, digits, \
                     spaces or _.:/=+-@"
                ),
            ));
        }
    }
    Ok(())
}

/// `existing` with `added` merged in (a key given again takes the new value).
fn merge_tags(existing: &mut Vec<Tag>, added: &[Tag]) -> Result<(), CertError> {
    for tag in added {
        match existing.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => existing.push(tag.clone()),
        }
    }
    if existing.len() > MAX_CERTIFICATE_TAGS {
        return Err(CertError::new(
            CertErrorKind::TooManyTags,
            format!(
                "Tags: the certificate would have {} tags; at most {MAX_CERTIFICATE_TAGS} are allowed",
                existing.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses a new certificate beyond [`MAX_CERTIFICATES`].
fn check_room(state: &State) -> Result<(), CertError> {
    if state.certificates.len() >= MAX_CERTIFICATES {
        return Err(CertError::new(
            CertErrorKind::LimitExceeded,
            format!("burr holds at most {MAX_CERTIFICATES} certificates; delete one first"),
        ));
    }
    Ok(())
}
