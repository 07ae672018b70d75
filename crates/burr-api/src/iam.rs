//! The IAM server certificate actions (2010-05-08, query protocol, XML answers): upload, get,
//! list, update, delete, and their tags. IAM is global: the region of the signature does not
//! matter, and ARNs carry no region but the certificate's path. Rules live in
//! `burr_model::certificates`.

use crate::control::{ControlPlane, apply_change};
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::{Response, Xml};
use burr_model::certificates::{self as certs, CertError, CertErrorKind, Certificate, Source, Tag};

pub const VERSION: &str = "2010-05-08";
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

type Handler = fn(&dyn ControlPlane, &Params, &mut Xml) -> Result<(), ApiError>;

/// Every IAM action burr serves.
pub const ACTIONS: &[(&str, Handler)] = &[
    ("UploadServerCertificate", upload),
    ("GetServerCertificate", get),
    ("ListServerCertificates", list),
    ("UpdateServerCertificate", update),
    ("DeleteServerCertificate", delete),
    ("TagServerCertificate", tag),
    ("UntagServerCertificate", untag),
    ("ListServerCertificateTags", list_tags),
];

/// IAM's code and HTTP status for a refusal of the model.
fn refused(e: CertError) -> ApiError {
    let (code, status) = match e.kind {
        CertErrorKind::Malformed | CertErrorKind::Expired | CertErrorKind::UnsupportedKey => {
            ("MalformedCertificate", 400)
        }
        CertErrorKind::KeyMismatch => ("KeyPairMismatch", 400),
        CertErrorKind::NotFound => ("NoSuchEntity", 404),
        CertErrorKind::InUse => ("DeleteConflict", 409),
        CertErrorKind::AlreadyExists => ("EntityAlreadyExists", 409),
        CertErrorKind::LimitExceeded | CertErrorKind::TooManyTags => ("LimitExceeded", 409),
        CertErrorKind::Validation | CertErrorKind::InvalidArn => ("ValidationError", 400),
        CertErrorKind::InvalidParameter | CertErrorKind::InvalidTag => ("InvalidInput", 400),
    };
    ApiError::new(code, status, e.message)
}

/// Answers one IAM request whose parameters are decoded: the XML body, or the error.
pub fn run(
    control: &dyn ControlPlane,
    params: &Params,
    request_id: &str,
) -> Result<Vec<u8>, ApiError> {
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::new("MissingAction", 400, "The request must name an Action"))?;
    let version = params.required("Version")?;
    if version != VERSION {
        return Err(ApiError::new(
            "InvalidAction",
            400,
            format!(
                "Could not find operation {action} for version {version}; burr's IAM serves version {VERSION}"
            ),
        ));
    }
    let handler = ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, h)| *h)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidAction",
                400,
                format!(
                    "burr's IAM serves only the server certificate actions; {action} is not one"
                ),
            )
        })?;
    let mut response = Response::start(action, NAMESPACE);
    handler(control, params, response.body())?;
    Ok(response.finish(request_id))
}

/// The XML error document of IAM.
pub fn error_body(request_id: &str, error: &ApiError) -> Vec<u8> {
    crate::xml::error(NAMESPACE, request_id, error)
}

fn timestamp(unix: u64) -> String {
    let unix = unix.min(burr_model::classic::MAX_TIMESTAMP);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(time).to_string()
}

fn name(p: &Params) -> Result<&str, ApiError> {
    p.required("ServerCertificateName")
}

fn tags(p: &Params) -> Result<Vec<Tag>, ApiError> {
    let tags = p.structures("Tags");
    if tags.len() > certs::MAX_CERTIFICATE_TAGS {
        return Err(ApiError::new(
            "LimitExceeded",
            409,
            format!(
                "Tags: {} tags is not allowed: at most {}",
                tags.len(),
                certs::MAX_CERTIFICATE_TAGS
            ),
        ));
    }
    tags.iter()
        .enumerate()
        .map(|(i, t)| {
            let key = t
                .get("Key")
                .ok_or_else(|| ApiError::missing(&format!("Tags.member.{}.Key", i + 1)))?;
            let value = t
                .get("Value")
                .ok_or_else(|| ApiError::missing(&format!("Tags.member.{}.Value", i + 1)))?;
            Ok(Tag {
                key: key.to_string(),
                value: Some(value.to_string()),
            })
        })
        .collect()
}

fn write_metadata(x: &mut Xml, cert: &Certificate) {
    let Source::Iam { path, name, id } = &cert.source else {
        return;
    };
    x.text("Path", path);
    x.text("ServerCertificateName", name);
    x.text("ServerCertificateId", id);
    x.text("Arn", &cert.arn);
    x.text("UploadDate", &timestamp(cert.created_at));
    x.text("Expiration", &timestamp(cert.details.not_after));
}

fn write_tags(x: &mut Xml, tags: &[Tag]) {
    x.members("Tags", tags, |x, t| {
        x.text("Key", &t.key);
        x.text("Value", t.value.as_deref().unwrap_or_default());
    });
}

fn upload(c: &dyn ControlPlane, p: &Params, x: &mut Xml) -> Result<(), ApiError> {
    let name = name(p)?.to_string();
    let body = p.required("CertificateBody")?.to_string();
    let key = p.required("PrivateKey")?.to_string();
    let chain = p.get("CertificateChain").map(str::to_string);
    let path = p.get("Path").map(str::to_string);
    let tags = tags(p)?;
    let account = c.account_id();
    let context = certs::CertContext {
        account: &account,
        region: "",
        now: c.now(),
        fresh: rand::random(),
    };
    let (arn, state) = apply_change(
        c,
        |s| {
            certs::upload_server_certificate(
                s,
                context,
                &name,
                path.as_deref(),
                &body,
                &key,
                chain.as_deref(),
                &tags,
            )
        },
        refused,
    )?;
    let cert = &state.certificates[&arn];
    x.element("ServerCertificateMetadata", |x| write_metadata(x, cert));
    write_tags(x, &cert.tags);
    Ok(())
}

fn get(c: &dyn ControlPlane, p: &Params, x: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let cert = certs::iam_certificate(&state, name(p)?).map_err(refused)?;
    x.element("ServerCertificate", |x| {
        x.element("ServerCertificateMetadata", |x| write_metadata(x, cert));
        // IAM answers the PEM without surrounding whitespace, whatever was uploaded; Terraform
        // trims its configuration the same way and compares the two.
        x.text("CertificateBody", cert.certificate_pem.trim());
        if let Some(chain) = &cert.chain_pem {
            x.text("CertificateChain", chain.trim());
        }
        write_tags(x, &cert.tags);
    });
    Ok(())
}

fn list(c: &dyn ControlPlane, p: &Params, x: &mut Xml) -> Result<(), ApiError> {
    let prefix = p.get("PathPrefix").unwrap_or("/");
    let max_items = p.int("MaxItems")?.unwrap_or(100);
    if !(1..=1000).contains(&max_items) {
        return Err(ApiError::invalid(format!(
            "MaxItems: {max_items} is not allowed: must be between 1 and 1000"
        )));
    }
    let state = c.state();
    let all = certs::list_iam(&state, prefix);
    let start = match p.get("Marker") {
        None => 0,
        Some(marker) => marker
            .parse::<usize>()
            .ok()
            .filter(|&i| i <= all.len())
            .ok_or_else(|| {
                ApiError::invalid(format!("Marker: {marker:?} is not a marker burr gave"))
            })?,
    };
    let end = (start + max_items as usize).min(all.len());
    x.members(
        "ServerCertificateMetadataList",
        &all[start..end],
        |x, cert| write_metadata(x, cert),
    );
    x.text(
        "IsTruncated",
        if end < all.len() { "true" } else { "false" },
    );
    if end < all.len() {
        x.text("Marker", &end.to_string());
    }
    Ok(())
}

fn update(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let name = name(p)?.to_string();
    let new_name = p.get("NewServerCertificateName").map(str::to_string);
    let new_path = p.get("NewPath").map(str::to_string);
    let account = c.account_id();
    apply_change(
        c,
        |s| {
            certs::update_server_certificate(
                s,
                &account,
                &name,
                new_name.as_deref(),
                new_path.as_deref(),
            )
        },
        refused,
    )?;
    Ok(())
}

fn delete(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let name = name(p)?.to_string();
    let account = c.account_id();
    apply_change(
        c,
        |s| certs::delete_server_certificate(s, &account, &name),
        refused,
    )?;
    Ok(())
}

fn tag(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let name = name(p)?.to_string();
    let tags = tags(p)?;
    apply_change(
        c,
        |s| certs::tag_server_certificate(s, &name, &tags),
        refused,
    )?;
    Ok(())
}

fn untag(c: &dyn ControlPlane, p: &Params, _: &mut Xml) -> Result<(), ApiError> {
    let name = name(p)?.to_string();
    let keys = p.list("TagKeys");
    apply_change(
        c,
        |s| certs::untag_server_certificate(s, &name, &keys),
        refused,
    )?;
    Ok(())
}

fn list_tags(c: &dyn ControlPlane, p: &Params, x: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let cert = certs::iam_certificate(&state, name(p)?).map_err(refused)?;
    write_tags(x, &cert.tags);
    x.text("IsTruncated", "false");
    Ok(())
}
