//! Reading and judging the PEM a client hands in: exactly one leaf certificate, an optional chain,
//! and a private key that belongs to the leaf. Every refusal names the field and the reason, and
//! says which of four kinds it is (malformed, key mismatch, expired, unsupported key), so each
//! front door answers with its own AWS error code.

use super::{CertError, CertErrorKind, Details};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::*;

/// A certificate, its chain and its key, checked and described.
#[derive(Debug)]
pub struct Checked {
    /// The leaf as PEM, normalised (one block, canonical line length).
    pub certificate_pem: String,
    /// The chain as PEM, normalised; `None` when none was given.
    pub chain_pem: Option<String>,
    /// The key as PEM, normalised to the block type it arrived in.
    pub private_key_pem: String,
    pub details: Details,
}

/// The names of the three inputs, as the calling API spells them.
#[derive(Debug, Clone, Copy)]
pub struct FieldNames {
    pub certificate: &'static str,
    pub private_key: &'static str,
    pub chain: &'static str,
}

fn refuse(kind: CertErrorKind, message: String) -> CertError {
    CertError { kind, message }
}

fn malformed(message: String) -> CertError {
    refuse(CertErrorKind::Malformed, message)
}

/// Parses and checks a certificate, its optional chain and its private key at time `now`
/// (UTC seconds).
pub fn check(
    certificate: &[u8],
    private_key: &[u8],
    chain: Option<&[u8]>,
    names: FieldNames,
    now: u64,
) -> Result<Checked, CertError> {
    let leaves = certificates(certificate, names.certificate)?;
    let leaf = match leaves.as_slice() {
        [one] => one.clone(),
        [] => unreachable!("certificates() refuses an empty list"),
        more => {
            return Err(malformed(format!(
                "{}: holds {} certificates; give only the server certificate here and the \
                 others in {}",
                names.certificate,
                more.len(),
                names.chain
            )));
        }
    };
    let chain = match chain {
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            Some(certificates(bytes, names.chain)?)
        }
        _ => None,
    };
    let details = describe(&leaf, names.certificate, now)?;
    let key = private_key_der(private_key, names.private_key)?;
    check_key_matches(&leaf, &key, names)?;
    Ok(Checked {
        certificate_pem: to_pem("CERTIFICATE", leaf.as_ref()),
        chain_pem: chain.map(|certs| {
            certs
                .iter()
                .map(|c| to_pem("CERTIFICATE", c.as_ref()))
                .collect::<String>()
        }),
        private_key_pem: key_to_pem(&key),
        details,
    })
}

/// Every CERTIFICATE block of `bytes`, each of which must be a readable X.509 certificate.
fn certificates(bytes: &[u8], field: &str) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| malformed(format!("{field}: is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(malformed(format!(
            "{field}: holds no PEM CERTIFICATE block (-----BEGIN CERTIFICATE-----)"
        )));
    }
    for (i, cert) in certs.iter().enumerate() {
        X509Certificate::from_der(cert.as_ref()).map_err(|e| {
            malformed(format!(
                "{field}: certificate {} is not a valid X.509 certificate: {e}",
                i + 1
            ))
        })?;
    }
    Ok(certs)
}

/// The private key of `bytes`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted.
fn private_key_der(bytes: &[u8], field: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(malformed(format!(
            "{field}: the private key is encrypted; give it unencrypted"
        )));
    }
    PrivateKeyDer::from_pem_slice(bytes).map_err(|e| {
        malformed(format!(
            "{field}: holds no readable PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC \
             PRIVATE KEY block): {e}"
        ))
    })
}

/// Reads the leaf's facts and refuses an expired certificate or an unsupported key type.
fn describe(leaf: &CertificateDer<'_>, field: &str, now: u64) -> Result<Details, CertError> {
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| malformed(format!("{field}: is not a valid X.509 certificate: {e}")))?;
    let key_algorithm = key_algorithm(&cert, field)?;
    let not_before = cert.validity().not_before.timestamp().max(0) as u64;
    let not_after = cert.validity().not_after.timestamp().max(0) as u64;
    if not_after < now {
        return Err(refuse(
            CertErrorKind::Expired,
            format!(
                "{field}: the certificate expired at {} (NotAfter); give a certificate that is \
                 still valid",
                cert.validity().not_after
            ),
        ));
    }
    let subject = cert.subject().to_string();
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let mut sans: Vec<String> = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(dns) => sans.push((*dns).to_string()),
                GeneralName::IPAddress(ip) => {
                    if let Ok(b) = <[u8; 4]>::try_from(*ip) {
                        sans.push(std::net::Ipv4Addr::from(b).to_string());
                    } else if let Ok(b) = <[u8; 16]>::try_from(*ip) {
                        sans.push(std::net::Ipv6Addr::from(b).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let domain_name = common_name
        .clone()
        .or_else(|| sans.first().cloned())
        .unwrap_or_default();
    if !domain_name.is_empty() && !sans.contains(&domain_name) {
        sans.insert(0, domain_name.clone());
    }
    let mut key_usages = Vec::new();
    if let Ok(Some(ku)) = cert.key_usage() {
        let ku = ku.value;
        for (set, name) in [
            (ku.digital_signature(), "DIGITAL_SIGNATURE"),
            (ku.non_repudiation(), "NON_REPUDIATION"),
            (ku.key_encipherment(), "KEY_ENCIPHERMENT"),
            (ku.data_encipherment(), "DATA_ENCIPHERMENT"),
            (ku.key_agreement(), "KEY_AGREEMENT"),
            (ku.key_cert_sign(), "CERTIFICATE_SIGNING"),
            (ku.crl_sign(), "CRL_SIGNING"),
            (ku.encipher_only(), "ENCIPHER_ONLY"),
            (ku.decipher_only(), "DECIPHER_ONLY"),
        ] {
            if set {
                key_usages.push(name.to_string());
            }
        }
    }
    let mut extended_key_usages = Vec::new();
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let eku = eku.value;
        for (set, name, oid) in [
            (
                eku.server_auth,
                "TLS_WEB_SERVER_AUTHENTICATION",
                "1.3.6.1.5.5.7.3.1",
            ),
            (
                eku.client_auth,
                "TLS_WEB_CLIENT_AUTHENTICATION",
                "1.3.6.1.5.5.7.3.2",
            ),
            (eku.code_signing, "CODE_SIGNING", "1.3.6.1.5.5.7.3.3"),
            (
                eku.email_protection,
                "EMAIL_PROTECTION",
                "1.3.6.1.5.5.7.3.4",
            ),
            (eku.time_stamping, "TIME_STAMPING", "1.3.6.1.5.5.7.3.8"),
            (eku.ocsp_signing, "OCSP_SIGNING", "1.3.6.1.5.5.7.3.9"),
        ] {
            if set {
                extended_key_usages.push((name.to_string(), oid.to_string()));
            }
        }
    }
    Ok(Details {
        domain_name,
        subject_alternative_names: sans,
        serial: cert.raw_serial_as_string(),
        subject,
        issuer: cert.issuer().to_string(),
        not_before,
        not_after,
        key_algorithm: key_algorithm.to_string(),
        signature_algorithm: signature_algorithm(&cert),
        key_usages,
        extended_key_usages,
    })
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// The ACM name of the leaf's key algorithm, or why burr cannot serve it: RSA of 2048, 3072 or
/// 4096 bits, and ECDSA on P-256 or P-384 (what the TLS stack signs with).
fn key_algorithm(cert: &X509Certificate<'_>, field: &str) -> Result<&'static str, CertError> {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    let unsupported = |what: String| {
        refuse(
            CertErrorKind::UnsupportedKey,
            format!(
                "{field}: the certificate's key is {what}, which burr does not support; use RSA \
                 (2048, 3072 or 4096 bits) or ECDSA (P-256 or P-384)"
            ),
        )
    };
    match algorithm.as_str() {
        RSA_ENCRYPTION => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size(),
                _ => {
                    return Err(malformed(format!(
                        "{field}: the RSA public key is unreadable"
                    )));
                }
            };
            match bits {
                2048 => Ok("RSA_2048"),
                3072 => Ok("RSA_3072"),
                4096 => Ok("RSA_4096"),
                other => Err(unsupported(format!("RSA of {other} bits"))),
            }
        }
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                P256 => Ok("EC_prime256v1"),
                P384 => Ok("EC_secp384r1"),
                "1.3.132.0.35" => Err(unsupported("ECDSA on P-521".to_string())),
                other => Err(unsupported(format!("ECDSA on the curve {other}"))),
            }
        }
        "1.3.101.112" => Err(unsupported("Ed25519".to_string())),
        "1.3.101.113" => Err(unsupported("Ed448".to_string())),
        "1.2.840.10040.4.1" => Err(unsupported("DSA".to_string())),
        other => Err(unsupported(format!("of the algorithm {other}"))),
    }
}

/// The signature algorithm as ACM names it (e.g. `SHA256WITHRSA`).
fn signature_algorithm(cert: &X509Certificate<'_>) -> String {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.113549.1.1.11" => "SHA256WITHRSA",
        "1.2.840.113549.1.1.12" => "SHA384WITHRSA",
        "1.2.840.113549.1.1.13" => "SHA512WITHRSA",
        "1.2.840.113549.1.1.5" => "SHA1WITHRSA",
        "1.2.840.113549.1.1.10" => "SSASSA-PSS",
        "1.2.840.10045.4.3.2" => "SHA256WITHECDSA",
        "1.2.840.10045.4.3.3" => "SHA384WITHECDSA",
        "1.2.840.10045.4.3.4" => "SHA512WITHECDSA",
        _ => return oid,
    }
    .to_string()
}

/// Refuses a key the TLS stack cannot load, or one whose public half is not the leaf's.
fn check_key_matches(
    leaf: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
    names: FieldNames,
) -> Result<(), CertError> {
    let signing_key = rustls::crypto::ring::sign::any_supported_type(key).map_err(|e| {
        refuse(
            CertErrorKind::UnsupportedKey,
            format!(
                "{}: the private key cannot be used: {e}; use RSA (2048, 3072 or 4096 bits) or \
                 ECDSA (P-256 or P-384)",
                names.private_key
            ),
        )
    })?;
    let certified = rustls::sign::CertifiedKey::new(vec![leaf.clone()], signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(_) => Err(refuse(
            CertErrorKind::KeyMismatch,
            format!(
                "{}: the private key does not match the public key of the certificate in {}",
                names.private_key, names.certificate
            ),
        )),
    }
}

/// PEM text of one DER block.
pub(crate) fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn key_to_pem(key: &PrivateKeyDer<'_>) -> String {
    let label = match key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    to_pem(label, key.secret_der())
}
