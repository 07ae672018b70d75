//! The ACM operations as changes to [`State`]: import (and re-import into an ARN), request (issued
//! at once by burr's local certificate authority), delete, and tagging. Reads (describe, get,
//! list) use [`acm_certificate`] and [`list_acm`]. ACM certificates belong to a region: a
//! certificate of another region is not found.

use super::{
    CertContext, CertError, CertErrorKind, Certificate, FieldNames, Source, Tag, acm_arn, check,
    check_room, check_tags, check_unused, create_authority, issue, merge_tags, parse_acm_arn, uuid,
};
use crate::State;

/// Largest `Certificate` and `CertificateChain` ACM accepts, in bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 32_768;
/// Largest `PrivateKey` ACM accepts, in bytes.
pub const MAX_PRIVATE_KEY_BYTES: usize = 5_120;
/// Most names one requested certificate may carry (ACM's default quota).
pub const MAX_DOMAIN_NAMES: usize = 10;

const ACM_FIELDS: FieldNames = FieldNames {
    certificate: "Certificate",
    private_key: "PrivateKey",
    chain: "CertificateChain",
};

/// The ACM certificate `arn` of `region`, or `InvalidArn` / `ResourceNotFound`.
pub fn acm_certificate<'s>(
    state: &'s State,
    region: &str,
    arn: &str,
) -> Result<&'s Certificate, CertError> {
    parse_acm_arn(arn)?;
    state
        .certificates
        .get(arn)
        .filter(|c| c.is_acm() && c.region() == Some(region))
        .ok_or_else(|| {
            CertError::new(
                CertErrorKind::NotFound,
                format!("CertificateArn: could not find certificate {arn} in region {region}"),
            )
        })
}

/// The ACM certificates of `region`, in ARN order.
pub fn list_acm<'s>(state: &'s State, region: &str) -> Vec<&'s Certificate> {
    state
        .certificates
        .values()
        .filter(|c| c.is_acm() && c.region() == Some(region))
        .collect()
}

fn check_sizes(
    certificate: &[u8],
    private_key: &[u8],
    chain: Option<&[u8]>,
) -> Result<(), CertError> {
    for (field, len, max) in [
        ("Certificate", certificate.len(), MAX_CERTIFICATE_BYTES),
        ("PrivateKey", private_key.len(), MAX_PRIVATE_KEY_BYTES),
        (
            "CertificateChain",
            chain.map_or(0, <[u8]>::len),
            2 * MAX_CERTIFICATE_BYTES,
        ),
    ] {
        if len > max {
            return Err(CertError::new(
                CertErrorKind::Validation,
                format!("{field}: {len} bytes is not allowed: must be at most {max} bytes"),
            ));
        }
    }
    for (field, len) in [
        ("Certificate", certificate.len()),
        ("PrivateKey", private_key.len()),
    ] {
        if len == 0 {
            return Err(CertError::new(
                CertErrorKind::Validation,
                format!("{field}: is empty; it must hold PEM"),
            ));
        }
    }
    Ok(())
}

/// `ImportCertificate`: stores a new certificate, or replaces the one at `arn` (tags kept, and
/// none may be given). Returns the ARN.
pub fn import_certificate(
    state: &mut State,
    context: CertContext,
    arn: Option<&str>,
    certificate: &[u8],
    private_key: &[u8],
    chain: Option<&[u8]>,
    tags: &[Tag],
) -> Result<String, CertError> {
    check_sizes(certificate, private_key, chain)?;
    check_tags("Tags", tags)?;
    let checked = check(certificate, private_key, chain, ACM_FIELDS, context.now)?;
    match arn {
        Some(arn) => {
            if !tags.is_empty() {
                return Err(CertError::new(
                    CertErrorKind::InvalidParameter,
                    "Tags: cannot be given when re-importing a certificate (CertificateArn is set); \
                     use AddTagsToCertificate",
                ));
            }
            let existing = acm_certificate(state, context.region, arn)?;
            if existing.source != Source::Imported {
                return Err(CertError::new(
                    CertErrorKind::InvalidParameter,
                    format!(
                        "CertificateArn: {arn} was issued by ACM (RequestCertificate); only an \
                         imported certificate can be re-imported"
                    ),
                ));
            }
            let arn = arn.to_string();
            let entry = state
                .certificates
                .get_mut(&arn)
                .expect("acm_certificate found it");
            // A re-import keeps the ARN, the source and the tags; the rest is the new PEM's.
            let tags = std::mem::take(&mut entry.tags);
            *entry = Certificate::from_checked(
                arn.clone(),
                entry.source.clone(),
                checked,
                tags,
                context.now,
            );
            Ok(arn)
        }
        None => {
            check_room(state)?;
            let arn = acm_arn(context.region, context.account, &uuid(&context.fresh));
            let mut merged = Vec::new();
            merge_tags(&mut merged, tags)?;
            state.certificates.insert(
                arn.clone(),
                Certificate::from_checked(
                    arn.clone(),
                    Source::Imported,
                    checked,
                    merged,
                    context.now,
                ),
            );
            Ok(arn)
        }
    }
}

/// Checks a domain name of a certificate request the way ACM's model does: labels of letters,
/// digits and hyphens (not at either end), at least two labels, an optional leading `*.`, at
/// most 253 characters.
fn check_domain(field: &str, name: &str) -> Result<(), CertError> {
    let invalid = |why: &str| {
        CertError::new(
            CertErrorKind::Validation,
            format!("{field}: {name:?} is not allowed: {why}"),
        )
    };
    if name.is_empty() || name.len() > 253 {
        return Err(invalid("must be 1 to 253 characters"));
    }
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid(
            "must be a fully qualified domain name such as www.example.com",
        ));
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(invalid(
                "each label must be 1 to 63 letters, digits or hyphens, not starting or ending \
                 with a hyphen",
            ));
        }
    }
    Ok(())
}

/// `RequestCertificate`: burr validates nothing with DNS or email, so the certificate is issued
/// at once by its local certificate authority (created on first use), with an ECDSA P-256 key.
/// Returns the ARN.
pub fn request_certificate(
    state: &mut State,
    context: CertContext,
    domain_name: &str,
    subject_alternative_names: &[String],
    validation_method: Option<&str>,
    tags: &[Tag],
) -> Result<String, CertError> {
    check_domain("DomainName", domain_name)?;
    for (i, san) in subject_alternative_names.iter().enumerate() {
        check_domain(&format!("SubjectAlternativeNames[{}]", i + 1), san)?;
    }
    let method = validation_method.unwrap_or("DNS");
    if !["DNS", "EMAIL", "HTTP"].contains(&method) {
        return Err(CertError::new(
            CertErrorKind::Validation,
            format!("ValidationMethod: {method:?} is not allowed: must be DNS, EMAIL or HTTP"),
        ));
    }
    let mut names = vec![domain_name.to_string()];
    for san in subject_alternative_names {
        if !names.contains(san) {
            names.push(san.clone());
        }
    }
    if names.len() > MAX_DOMAIN_NAMES {
        return Err(CertError::new(
            CertErrorKind::LimitExceeded,
            format!(
                "SubjectAlternativeNames: the certificate would carry {} names; at most \
                 {MAX_DOMAIN_NAMES} are allowed",
                names.len()
            ),
        ));
    }
    check_tags("Tags", tags)?;
    check_room(state)?;
    if state.certificate_authority.is_none() {
        state.certificate_authority = Some(create_authority(context.now)?);
    }
    let authority = state.certificate_authority.as_ref().expect("created above");
    let issued = issue(authority, &names, context.now, &context.fresh)?;
    let checked = check(
        issued.certificate_pem.as_bytes(),
        issued.private_key_pem.as_bytes(),
        Some(authority.certificate_pem.as_bytes()),
        ACM_FIELDS,
        context.now,
    )?;
    let arn = acm_arn(context.region, context.account, &uuid(&context.fresh));
    let mut merged = Vec::new();
    merge_tags(&mut merged, tags)?;
    state.certificates.insert(
        arn.clone(),
        Certificate::from_checked(
            arn.clone(),
            Source::Issued {
                validation_method: method.to_string(),
            },
            checked,
            merged,
            context.now,
        ),
    );
    Ok(arn)
}

/// `DeleteCertificate`: refused while a listener uses the certificate.
pub fn delete_certificate(state: &mut State, region: &str, arn: &str) -> Result<(), CertError> {
    acm_certificate(state, region, arn)?;
    check_unused(state, arn, &format!("CertificateArn: certificate {arn}"))?;
    state.certificates.remove(arn);
    Ok(())
}

/// `AddTagsToCertificate`.
pub fn add_certificate_tags(
    state: &mut State,
    region: &str,
    arn: &str,
    tags: &[Tag],
) -> Result<(), CertError> {
    acm_certificate(state, region, arn)?;
    check_tags("Tags", tags)?;
    let entry = state.certificates.get_mut(arn).expect("found above");
    merge_tags(&mut entry.tags, tags)
}

/// `RemoveTagsFromCertificate`: a tag given with a value is removed only when the value matches.
pub fn remove_certificate_tags(
    state: &mut State,
    region: &str,
    arn: &str,
    tags: &[Tag],
) -> Result<(), CertError> {
    acm_certificate(state, region, arn)?;
    check_tags("Tags", tags)?;
    let entry = state.certificates.get_mut(arn).expect("found above");
    entry.tags.retain(|t| {
        !tags
            .iter()
            .any(|r| r.key == t.key && (r.value.is_none() || r.value == t.value))
    });
    Ok(())
}
