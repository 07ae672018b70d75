//! The IAM server certificate operations as changes to [`State`]: upload, rename or move
//! (update), delete. IAM is global: names are unique across paths, and the ARN carries the path.

use super::{
    CertContext, CertError, CertErrorKind, Certificate, FieldNames, Source, Tag, alphanumeric,
    check, check_room, check_tags, iam_arn, merge_tags,
};
use crate::State;

const IAM_FIELDS: FieldNames = FieldNames {
    certificate: "CertificateBody",
    private_key: "PrivateKey",
    chain: "CertificateChain",
};

/// Largest `CertificateBody` and `CertificateChain` (characters) and `PrivateKey` IAM accepts.
pub const MAX_IAM_BODY: usize = 16_384;
pub const MAX_IAM_CHAIN: usize = 2_097_152;
pub const MAX_IAM_KEY: usize = 16_384;

/// The IAM server certificate named `name`, or `NoSuchEntity`.
pub fn iam_certificate<'s>(state: &'s State, name: &str) -> Result<&'s Certificate, CertError> {
    state
        .certificates
        .values()
        .find(|c| matches!(&c.source, Source::Iam { name: n, .. } if n == name))
        .ok_or_else(|| {
            CertError::new(
                CertErrorKind::NotFound,
                format!("The Server Certificate with name {name} cannot be found."),
            )
        })
}

/// The IAM server certificates whose path starts with `path_prefix`, by name.
pub fn list_iam<'s>(state: &'s State, path_prefix: &str) -> Vec<&'s Certificate> {
    let mut out: Vec<&Certificate> = state
        .certificates
        .values()
        .filter(|c| matches!(&c.source, Source::Iam { path, .. } if path.starts_with(path_prefix)))
        .collect();
    out.sort_by_key(|c| match &c.source {
        Source::Iam { name, .. } => name.clone(),
        _ => String::new(),
    });
    out
}

/// Checks `ServerCertificateName`: 1–128 characters of `[\w+=,.@-]`.
pub fn check_iam_name(field: &str, name: &str) -> Result<(), CertError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(CertError::new(
            CertErrorKind::Validation,
            format!(
                "{field}: {name:?} is not allowed: must be 1 to 128 letters, digits or _+=,.@-"
            ),
        ))
    }
}

/// Checks a `Path`: `/`, or `/` … `/` of printable ASCII, at most 512 characters.
pub fn check_iam_path(field: &str, path: &str) -> Result<(), CertError> {
    let ok = path == "/"
        || (path.len() >= 2
            && path.len() <= 512
            && path.starts_with('/')
            && path.ends_with('/')
            && path.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(CertError::new(
            CertErrorKind::Validation,
            format!(
                "{field}: {path:?} is not allowed: must be / or begin and end with / and hold \
                 only printable ASCII characters, at most 512"
            ),
        ))
    }
}

fn already_exists(name: &str) -> CertError {
    CertError::new(
        CertErrorKind::AlreadyExists,
        format!("The Server Certificate with name {name} already exists."),
    )
}

/// The metadata of an uploaded certificate: what `UploadServerCertificate` answers.
#[allow(clippy::too_many_arguments)]
pub fn upload_server_certificate(
    state: &mut State,
    context: CertContext,
    name: &str,
    path: Option<&str>,
    body: &str,
    private_key: &str,
    chain: Option<&str>,
    tags: &[Tag],
) -> Result<String, CertError> {
    check_iam_name("ServerCertificateName", name)?;
    let path = path.unwrap_or("/");
    check_iam_path("Path", path)?;
    for (field, len, max) in [
        ("CertificateBody", body.len(), MAX_IAM_BODY),
        ("PrivateKey", private_key.len(), MAX_IAM_KEY),
        ("CertificateChain", chain.map_or(0, str::len), MAX_IAM_CHAIN),
    ] {
        if len > max {
            return Err(CertError::new(
                CertErrorKind::Validation,
                format!("{field}: {len} characters is not allowed: must be at most {max}"),
            ));
        }
    }
    check_tags("Tags", tags)?;
    if iam_certificate(state, name).is_ok() {
        return Err(already_exists(name));
    }
    check_room(state)?;
    let checked = check(
        body.as_bytes(),
        private_key.as_bytes(),
        chain.map(str::as_bytes),
        IAM_FIELDS,
        context.now,
    )?;
    let arn = iam_arn(context.account, path, name);
    let mut merged = Vec::new();
    merge_tags(&mut merged, tags)?;
    state.certificates.insert(
        arn.clone(),
        Certificate::from_checked(
            arn.clone(),
            Source::Iam {
                path: path.to_string(),
                name: name.to_string(),
                id: format!("ASCA{}", alphanumeric(&context.fresh, 17)),
            },
            checked,
            merged,
            context.now,
        ),
    );
    Ok(arn)
}

/// `UpdateServerCertificate`: a new name and/or path. The ARN changes with them; listeners
/// using the certificate follow it to the new ARN.
pub fn update_server_certificate(
    state: &mut State,
    account: &str,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<(), CertError> {
    let current = iam_certificate(state, name)?.clone();
    let Source::Iam { path, id, .. } = &current.source else {
        unreachable!("iam_certificate returns IAM certificates");
    };
    let name_after = new_name.unwrap_or(name);
    let path_after = new_path.unwrap_or(path);
    if let Some(n) = new_name {
        check_iam_name("NewServerCertificateName", n)?;
        if n != name && iam_certificate(state, n).is_ok() {
            return Err(already_exists(n));
        }
    }
    if let Some(p) = new_path {
        check_iam_path("NewPath", p)?;
    }
    let arn = iam_arn(account, path_after, name_after);
    let mut moved = current.clone();
    moved.arn = arn.clone();
    moved.source = Source::Iam {
        path: path_after.to_string(),
        name: name_after.to_string(),
        id: id.clone(),
    };
    state.certificates.remove(&current.arn);
    state.certificates.insert(arn.clone(), moved);
    for balancer in state.balancers.values_mut() {
        for listener in &mut balancer.listeners {
            let stored = listener.certificate.iter_mut();
            for named in stored.chain(listener.sni_certificates.iter_mut()) {
                if *named == current.arn {
                    *named = arn.clone();
                }
            }
        }
    }
    Ok(())
}

/// `DeleteServerCertificate`: refused (`DeleteConflict`) while a listener uses it, in IAM's
/// words ("… is currently in use by arn:…"): Terraform retries a delete refused so, which it
/// meets when it deletes a certificate and its balancer in parallel.
pub fn delete_server_certificate(
    state: &mut State,
    account: &str,
    name: &str,
) -> Result<(), CertError> {
    let certificate = iam_certificate(state, name)?;
    let arn = certificate.arn.clone();
    if let Some(user) = state.certificate_users(&arn).first() {
        let id = match &certificate.source {
            Source::Iam { id, .. } => id.as_str(),
            _ => name,
        };
        return Err(CertError::new(
            CertErrorKind::InUse,
            format!(
                "Certificate: {id} is currently in use by {}. Please remove it first before \
                 deleting it from IAM.",
                super::balancer_arn(account, user)
            ),
        ));
    }
    state.certificates.remove(&arn);
    Ok(())
}

/// `TagServerCertificate`: adds or replaces tags.
pub fn tag_server_certificate(
    state: &mut State,
    name: &str,
    tags: &[Tag],
) -> Result<(), CertError> {
    let arn = iam_certificate(state, name)?.arn.clone();
    check_tags("Tags", tags)?;
    let entry = state.certificates.get_mut(&arn).expect("found above");
    merge_tags(&mut entry.tags, tags)
}

/// `UntagServerCertificate`: removes the tags with these keys.
pub fn untag_server_certificate(
    state: &mut State,
    name: &str,
    keys: &[String],
) -> Result<(), CertError> {
    let arn = iam_certificate(state, name)?.arn.clone();
    let entry = state.certificates.get_mut(&arn).expect("found above");
    entry.tags.retain(|t| !keys.contains(&t.key));
    Ok(())
}
