//! burr's local certificate authority, which answers ACM `RequestCertificate` offline: a
//! self-signed ECDSA P-256 root made on first use and kept in the state (its key encrypted by
//! the store like every certificate key), and the leaf certificates it issues. Clients trust the
//! root by importing what `burr ca export` prints.

use super::{CertError, CertErrorKind, PrivateKeyPem};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long the root is valid: 10 years.
const ROOT_VALIDITY_SECS: i64 = 10 * 365 * 86_400;
/// How long an issued certificate is valid: 395 days, as ACM's.
const LEAF_VALIDITY_SECS: i64 = 395 * 86_400;
/// Certificates start being valid this much before they are made, for clocks a little behind.
const BACKDATE_SECS: i64 = 3600;

/// The root certificate and its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalAuthority {
    pub certificate_pem: String,
    #[serde(skip)]
    pub private_key: PrivateKeyPem,
}

/// A certificate the authority issued, with its new key.
pub struct Issued {
    pub certificate_pem: String,
    pub private_key_pem: String,
}

fn failed(what: &str, e: rcgen::Error) -> CertError {
    // Only burr's own parameters reach rcgen, so this is burr's fault, not the client's.
    CertError::new(
        CertErrorKind::InvalidParameter,
        format!("the local certificate authority could not {what}: {e}"),
    )
}

fn at(secs: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| {
        CertError::new(
            CertErrorKind::InvalidParameter,
            format!("time {secs} is out of range: {e}"),
        )
    })
}

fn authority_name() -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "burr");
    name.push(DnType::CommonName, "burr local certificate authority");
    name
}

/// Makes a new root valid from `now` (UTC seconds) for ten years.
pub fn create_authority(now: u64) -> Result<LocalAuthority, CertError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| failed("make a key", e))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = authority_name();
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = at(now - BACKDATE_SECS)?;
    params.not_after = at(now + ROOT_VALIDITY_SECS)?;
    let certificate = params
        .self_signed(&key)
        .map_err(|e| failed("sign its root", e))?;
    Ok(LocalAuthority {
        certificate_pem: certificate.pem(),
        private_key: PrivateKeyPem(key.serialize_pem()),
    })
}

/// burr's default certificate ([`SELF_SIGNED_CERTIFICATE`](super::SELF_SIGNED_CERTIFICATE)): a
/// self-signed ECDSA P-256 certificate for `localhost` with a new key, as PEM. rcgen's default
/// validity (1975–4096) is kept: the certificate is made in memory per process and never stored.
pub fn self_signed() -> Result<(String, PrivateKeyPem), CertError> {
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| failed("make a key", e))?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])
        .map_err(|e| failed("name the default certificate", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "burr default certificate (self-signed)");
    let certificate = params
        .self_signed(&key)
        .map_err(|e| failed("sign the default certificate", e))?;
    Ok((certificate.pem(), PrivateKeyPem(key.serialize_pem())))
}

/// Issues a server certificate for `names` (the first is the subject's common name when it fits
/// in 64 characters) with a new ECDSA P-256 key; `serial` is its serial number.
pub fn issue(
    authority: &LocalAuthority,
    names: &[String],
    now: u64,
    serial: &[u8; 16],
) -> Result<Issued, CertError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
    let ca_key =
        KeyPair::from_pem(&authority.private_key.0).map_err(|e| failed("read its key", e))?;
    let issuer = Issuer::from_ca_cert_pem(&authority.certificate_pem, ca_key)
        .map_err(|e| failed("read its root", e))?;
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| failed("make a key", e))?;
    let mut params =
        CertificateParams::new(names.to_vec()).map_err(|e| failed("take these names", e))?;
    if let Some(first) = names.first().filter(|n| n.len() <= 64) {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    // A positive serial: the top bit clear.
    let mut serial = serial.to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = at(now - BACKDATE_SECS)?;
    params.not_after = at(now + LEAF_VALIDITY_SECS)?;
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|e| failed("sign the certificate", e))?;
    Ok(Issued {
        certificate_pem: certificate.pem(),
        private_key_pem: key.serialize_pem(),
    })
}
