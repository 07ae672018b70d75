//! The ACM API (2015-12-08, JSON 1.1: `X-Amz-Target: CertificateManager.<Op>`): one handler per
//! operation, reading the JSON body, running the model's certificate operation through the
//! [`ControlPlane`] (changes) or reading the state, and writing the JSON answer. Timestamps are
//! epoch seconds; errors are `{"__type": "...Exception", "message": "..."}` with HTTP 400.
//! Certificates are per region: the region is the request signature's.

use crate::control::{ControlPlane, apply_change};
use crate::error::ApiError;
use base64::Engine as _;
use burr_model::State;
use burr_model::certificates::{
    self as certs, CertContext, CertError, CertErrorKind, Certificate, Source, Tag,
};
use serde_json::{Map, Value, json};

/// The `X-Amz-Target` prefix of the ACM operations.
pub const TARGET_PREFIX: &str = "CertificateManager.";
/// The content type of JSON 1.1 answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

type Handler = fn(&dyn ControlPlane, &Request) -> Result<Value, ApiError>;

/// Every ACM operation burr serves.
pub const OPERATIONS: &[(&str, Handler)] = &[
    ("ImportCertificate", import_certificate),
    ("DescribeCertificate", describe_certificate),
    ("GetCertificate", get_certificate),
    ("ListCertificates", list_certificates),
    ("DeleteCertificate", delete_certificate),
    ("AddTagsToCertificate", add_tags),
    ("RemoveTagsFromCertificate", remove_tags),
    ("ListTagsForCertificate", list_tags),
    ("RequestCertificate", request_certificate),
];

/// One decoded request: its JSON body and the region it was signed for.
pub struct Request {
    body: Map<String, Value>,
    region: String,
}

/// ACM's name of a refusal of the model.
fn code(kind: CertErrorKind) -> &'static str {
    match kind {
        CertErrorKind::Malformed
        | CertErrorKind::KeyMismatch
        | CertErrorKind::Expired
        | CertErrorKind::UnsupportedKey
        | CertErrorKind::Validation => "ValidationException",
        CertErrorKind::NotFound => "ResourceNotFoundException",
        CertErrorKind::InvalidArn => "InvalidArnException",
        CertErrorKind::InUse => "ResourceInUseException",
        CertErrorKind::AlreadyExists => "ConflictException",
        CertErrorKind::InvalidParameter => "InvalidParameterException",
        CertErrorKind::InvalidTag => "InvalidTagException",
        CertErrorKind::TooManyTags => "TooManyTagsException",
        CertErrorKind::LimitExceeded => "LimitExceededException",
    }
}

fn refused(e: CertError) -> ApiError {
    ApiError::new(code(e.kind), 400, e.message)
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", 400, message)
}

/// Answers one ACM request: `target` is the `X-Amz-Target` header, `region` the signature's.
/// Returns the status and the JSON body.
pub fn handle(
    control: &dyn ControlPlane,
    target: &str,
    body: &[u8],
    region: &str,
) -> (u16, Vec<u8>) {
    match run(control, target, body, region) {
        Ok(value) => (200, value.to_string().into_bytes()),
        Err(e) => (e.status, error_body(&e)),
    }
}

/// The JSON error document.
pub fn error_body(error: &ApiError) -> Vec<u8> {
    json!({"__type": error.code, "message": error.message})
        .to_string()
        .into_bytes()
}

/// An authentication failure in the JSON protocol's words (botocore reads `__type`).
pub fn auth_error_body(error: &ApiError) -> Vec<u8> {
    let code = match error.code {
        "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
        "IncompleteSignature" => "IncompleteSignatureException",
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        other => other,
    };
    json!({"__type": code, "message": error.message})
        .to_string()
        .into_bytes()
}

fn run(
    control: &dyn ControlPlane,
    target: &str,
    body: &[u8],
    region: &str,
) -> Result<Value, ApiError> {
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let handler = OPERATIONS
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, h)| *h)
        .ok_or_else(|| {
            ApiError::new(
                "UnknownOperationException",
                400,
                format!("X-Amz-Target: burr does not serve the ACM operation {operation:?}"),
            )
        })?;
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(ApiError::new(
                    "SerializationException",
                    400,
                    "the request body must be a JSON object",
                ));
            }
            Err(e) => {
                return Err(ApiError::new(
                    "SerializationException",
                    400,
                    format!("the request body is not valid JSON: {e}"),
                ));
            }
        }
    };
    handler(
        control,
        &Request {
            body,
            region: region.to_string(),
        },
    )
}

impl Request {
    fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(validation(format!("{name}: must be a string"))),
        }
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.string(name)?
            .ok_or_else(|| validation(format!("{name}: is required")))
    }

    /// A base64 blob (botocore encodes blobs).
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
        self.string(name)?
            .map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| validation(format!("{name}: is not base64: {e}")))
            })
            .transpose()
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ApiError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| validation(format!("{name}[{}]: must be a string", i + 1)))
                })
                .collect(),
            Some(_) => Err(validation(format!("{name}: must be a list of strings"))),
        }
    }

    fn tags(&self) -> Result<Vec<Tag>, ApiError> {
        match self.body.get("Tags") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                if items.is_empty() || items.len() > certs::MAX_CERTIFICATE_TAGS {
                    return Err(validation(format!(
                        "Tags: {} tags is not allowed: must be between 1 and {}",
                        items.len(),
                        certs::MAX_CERTIFICATE_TAGS
                    )));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let key = item.get("Key").and_then(Value::as_str).ok_or_else(|| {
                            validation(format!("Tags[{}].Key: is required", i + 1))
                        })?;
                        let value = match item.get("Value") {
                            None | Some(Value::Null) => None,
                            Some(Value::String(v)) => Some(v.clone()),
                            Some(_) => {
                                return Err(validation(format!(
                                    "Tags[{}].Value: must be a string",
                                    i + 1
                                )));
                            }
                        };
                        Ok(Tag {
                            key: key.to_string(),
                            value,
                        })
                    })
                    .collect()
            }
            Some(_) => Err(validation("Tags: must be a list of {Key, Value}")),
        }
    }
}

fn context<'a>(control: &dyn ControlPlane, account: &'a str, region: &'a str) -> CertContext<'a> {
    CertContext {
        account,
        region,
        now: control.now(),
        fresh: rand::random(),
    }
}

fn import_certificate(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let arn = r.string("CertificateArn")?.map(str::to_string);
    let certificate = r
        .blob("Certificate")?
        .ok_or_else(|| validation("Certificate: is required"))?;
    let private_key = r
        .blob("PrivateKey")?
        .ok_or_else(|| validation("PrivateKey: is required"))?;
    let chain = r.blob("CertificateChain")?;
    let tags = r.tags()?;
    let account = c.account_id();
    let ctx = context(c, &account, &r.region);
    let (arn, _) = apply_change(
        c,
        |s| {
            certs::import_certificate(
                s,
                ctx,
                arn.as_deref(),
                &certificate,
                &private_key,
                chain.as_deref(),
                &tags,
            )
        },
        refused,
    )?;
    Ok(json!({ "CertificateArn": arn }))
}

fn certificate_arn(r: &Request) -> Result<&str, ApiError> {
    r.required("CertificateArn")
}

/// `ISSUED`, or `EXPIRED` once its NotAfter has passed.
fn status(c: &dyn ControlPlane, cert: &Certificate) -> &'static str {
    if cert.details.not_after < c.now() {
        "EXPIRED"
    } else {
        "ISSUED"
    }
}

fn certificate_type(cert: &Certificate) -> &'static str {
    match cert.source {
        Source::Issued { .. } => "AMAZON_ISSUED",
        _ => "IMPORTED",
    }
}

/// The DNS record ACM would ask for, stable for a certificate and a name.
fn validation_record(cert: &Certificate, domain: &str) -> Value {
    use sha2::{Digest, Sha256};
    let base = domain.strip_prefix("*.").unwrap_or(domain);
    let digest = hex::encode(Sha256::digest(format!("{}|{base}", cert.arn)));
    json!({
        "Name": format!("_{}.{base}.", &digest[..32]),
        "Type": "CNAME",
        "Value": format!("_{}.acm-validations.burr.invalid.", &digest[32..]),
    })
}

fn detail(c: &dyn ControlPlane, state: &State, cert: &Certificate) -> Value {
    let d = &cert.details;
    let account = c.account_id();
    let in_use: Vec<String> = state
        .certificate_users(&cert.arn)
        .iter()
        .map(|key| certs::balancer_arn(&account, key))
        .collect();
    let mut out = json!({
        "CertificateArn": cert.arn,
        "DomainName": d.domain_name,
        "SubjectAlternativeNames": d.subject_alternative_names,
        "Serial": d.serial,
        "Subject": d.subject,
        "Issuer": d.issuer,
        "NotBefore": d.not_before,
        "NotAfter": d.not_after,
        "Status": status(c, cert),
        "KeyAlgorithm": d.key_algorithm,
        "SignatureAlgorithm": d.signature_algorithm,
        "InUseBy": in_use,
        "Type": certificate_type(cert),
        "KeyUsages": d.key_usages.iter().map(|n| json!({"Name": n})).collect::<Vec<_>>(),
        "ExtendedKeyUsages": d
            .extended_key_usages
            .iter()
            .map(|(n, oid)| json!({"Name": n, "OID": oid}))
            .collect::<Vec<_>>(),
        "RenewalEligibility": "INELIGIBLE",
        "Options": {"CertificateTransparencyLoggingPreference": "DISABLED"},
    });
    let map = out.as_object_mut().expect("an object");
    match &cert.source {
        Source::Issued { validation_method } => {
            map.insert("CreatedAt".into(), json!(cert.created_at));
            map.insert("IssuedAt".into(), json!(cert.created_at));
            let options: Vec<Value> = d
                .subject_alternative_names
                .iter()
                .map(|name| {
                    let mut o = json!({
                        "DomainName": name,
                        "ValidationDomain": name,
                        "ValidationStatus": "SUCCESS",
                        "ValidationMethod": validation_method,
                    });
                    let m = o.as_object_mut().expect("an object");
                    if validation_method == "EMAIL" {
                        let base = name.strip_prefix("*.").unwrap_or(name);
                        m.insert(
                            "ValidationEmails".into(),
                            json!([format!("admin@{base}"), format!("hostmaster@{base}")]),
                        );
                    } else {
                        m.insert("ResourceRecord".into(), validation_record(cert, name));
                    }
                    o
                })
                .collect();
            map.insert("DomainValidationOptions".into(), json!(options));
        }
        _ => {
            map.insert("ImportedAt".into(), json!(cert.created_at));
        }
    }
    out
}

fn describe_certificate(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let state = c.state();
    let cert = certs::acm_certificate(&state, &r.region, certificate_arn(r)?).map_err(refused)?;
    Ok(json!({ "Certificate": detail(c, &state, cert) }))
}

fn get_certificate(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let state = c.state();
    let cert = certs::acm_certificate(&state, &r.region, certificate_arn(r)?).map_err(refused)?;
    let mut out = json!({ "Certificate": cert.certificate_pem });
    let chain = match &cert.source {
        Source::Issued { .. } => cert.chain_pem.clone().or_else(|| {
            state
                .certificate_authority
                .as_ref()
                .map(|a| a.certificate_pem.clone())
        }),
        _ => cert.chain_pem.clone(),
    };
    if let Some(chain) = chain {
        out["CertificateChain"] = json!(chain);
    }
    Ok(out)
}

const KEY_TYPES: [&str; 7] = [
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
];
const STATUSES: [&str; 7] = [
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
];

/// Checks that every value of list `field` is one of `allowed`.
fn check_enum(field: &str, values: &[String], allowed: &[&str]) -> Result<(), ApiError> {
    for v in values {
        if !allowed.contains(&v.as_str()) {
            return Err(validation(format!(
                "{field}: {v:?} is not allowed: must be one of {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn list_certificates(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let statuses = r.strings("CertificateStatuses")?;
    check_enum("CertificateStatuses", &statuses, &STATUSES)?;
    let includes = match r.body.get("Includes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(validation("Includes: must be an object")),
    };
    let list_of = |name: &str| -> Result<Vec<String>, ApiError> {
        Request {
            body: includes.clone(),
            region: String::new(),
        }
        .strings(name)
        .map_err(|e| validation(format!("Includes.{}", e.message)))
    };
    let key_types = list_of("keyTypes")?;
    check_enum("Includes.keyTypes", &key_types, &KEY_TYPES)?;
    let key_usage = list_of("keyUsage")?;
    let extended_key_usage = list_of("extendedKeyUsage")?;
    let max_items = match r.body.get("MaxItems") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if (1..=1000).contains(&n) => Some(n as usize),
            _ => {
                return Err(validation(format!(
                    "MaxItems: {v} is not allowed: must be between 1 and 1000"
                )));
            }
        },
    };
    let sort_by = r.string("SortBy")?;
    let sort_order = r.string("SortOrder")?;
    match (sort_by, sort_order) {
        (Some("CREATED_AT"), Some("ASCENDING" | "DESCENDING")) | (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            return Err(validation("SortBy and SortOrder: give both or neither"));
        }
        (Some(by), Some(order)) => {
            return Err(validation(format!(
                "SortBy {by:?} / SortOrder {order:?}: SortBy must be CREATED_AT and SortOrder \
                 ASCENDING or DESCENDING"
            )));
        }
    }
    let state = c.state();
    let mut matching: Vec<&Certificate> = certs::list_acm(&state, &r.region)
        .into_iter()
        .filter(|cert| statuses.is_empty() || statuses.iter().any(|s| s == status(c, cert)))
        .filter(|cert| {
            let algorithm = cert.details.key_algorithm.as_str();
            if key_types.is_empty() {
                // ACM lists RSA_1024 and RSA_2048 unless asked for other types; burr issues
                // EC_prime256v1 where ACM issues RSA_2048, so its own certificates are listed
                // too.
                matches!(algorithm, "RSA_1024" | "RSA_2048")
                    || matches!(cert.source, Source::Issued { .. })
            } else {
                key_types.iter().any(|k| k == algorithm)
            }
        })
        .filter(|cert| {
            key_usage
                .iter()
                .all(|u| u == "ANY" || cert.details.key_usages.contains(u))
        })
        .filter(|cert| {
            extended_key_usage.iter().all(|u| {
                u == "ANY"
                    || (u == "NONE" && cert.details.extended_key_usages.is_empty())
                    || cert.details.extended_key_usages.iter().any(|(n, _)| n == u)
            })
        })
        .collect();
    if sort_by.is_some() {
        matching.sort_by_key(|cert| (cert.created_at, cert.arn.clone()));
        if sort_order == Some("DESCENDING") {
            matching.reverse();
        }
    }
    let start = match r.string("NextToken")? {
        None => 0,
        Some(token) => decode_token(token)
            .filter(|&i| i <= matching.len())
            .ok_or_else(|| validation(format!("NextToken: {token:?} is not a token burr gave")))?,
    };
    let end = max_items.map_or(matching.len(), |n| (start + n).min(matching.len()));
    let summaries: Vec<Value> = matching[start..end]
        .iter()
        .map(|cert| summary(c, &state, cert))
        .collect();
    let mut out = json!({ "CertificateSummaryList": summaries });
    if end < matching.len() {
        out["NextToken"] = json!(encode_token(end));
    }
    Ok(out)
}

fn encode_token(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("burr-acm-page:{index}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("burr-acm-page:")?
        .parse()
        .ok()
}

fn summary(c: &dyn ControlPlane, state: &State, cert: &Certificate) -> Value {
    let d = &cert.details;
    let mut out = json!({
        "CertificateArn": cert.arn,
        "DomainName": d.domain_name,
        "SubjectAlternativeNameSummaries": d.subject_alternative_names.iter().take(100).collect::<Vec<_>>(),
        "HasAdditionalSubjectAlternativeNames": d.subject_alternative_names.len() > 100,
        "Status": status(c, cert),
        "Type": certificate_type(cert),
        "KeyAlgorithm": d.key_algorithm,
        "KeyUsages": d.key_usages,
        "ExtendedKeyUsages": d.extended_key_usages.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "InUse": !state.certificate_users(&cert.arn).is_empty(),
        "RenewalEligibility": "INELIGIBLE",
        "NotBefore": d.not_before,
        "NotAfter": d.not_after,
    });
    let map = out.as_object_mut().expect("an object");
    match cert.source {
        Source::Issued { .. } => {
            map.insert("CreatedAt".into(), json!(cert.created_at));
            map.insert("IssuedAt".into(), json!(cert.created_at));
        }
        _ => {
            map.insert("ImportedAt".into(), json!(cert.created_at));
        }
    }
    out
}

fn delete_certificate(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let arn = certificate_arn(r)?.to_string();
    let region = r.region.clone();
    apply_change(c, |s| certs::delete_certificate(s, &region, &arn), refused)?;
    Ok(json!({}))
}

fn required_tags(r: &Request) -> Result<Vec<Tag>, ApiError> {
    if r.body.get("Tags").is_none_or(Value::is_null) {
        return Err(validation("Tags: is required"));
    }
    r.tags()
}

fn add_tags(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let arn = certificate_arn(r)?.to_string();
    let tags = required_tags(r)?;
    let region = r.region.clone();
    apply_change(
        c,
        |s| certs::add_certificate_tags(s, &region, &arn, &tags),
        refused,
    )?;
    Ok(json!({}))
}

fn remove_tags(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let arn = certificate_arn(r)?.to_string();
    let tags = required_tags(r)?;
    let region = r.region.clone();
    apply_change(
        c,
        |s| certs::remove_certificate_tags(s, &region, &arn, &tags),
        refused,
    )?;
    Ok(json!({}))
}

fn list_tags(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let state = c.state();
    let cert = certs::acm_certificate(&state, &r.region, certificate_arn(r)?).map_err(refused)?;
    let tags: Vec<Value> = cert
        .tags
        .iter()
        .map(|t| match &t.value {
            Some(v) => json!({"Key": t.key, "Value": v}),
            None => json!({"Key": t.key}),
        })
        .collect();
    Ok(json!({ "Tags": tags }))
}

fn request_certificate(c: &dyn ControlPlane, r: &Request) -> Result<Value, ApiError> {
    let domain = r.required("DomainName")?.to_string();
    let sans = r.strings("SubjectAlternativeNames")?;
    if r.body.contains_key("SubjectAlternativeNames") && (sans.is_empty() || sans.len() > 100) {
        return Err(validation(format!(
            "SubjectAlternativeNames: {} names is not allowed: must be between 1 and 100",
            sans.len()
        )));
    }
    let method = r.string("ValidationMethod")?.map(str::to_string);
    if let Some(algorithm) = r.string("KeyAlgorithm")?
        && algorithm != "EC_prime256v1"
    {
        return Err(ApiError::new(
            "InvalidParameterException",
            400,
            format!(
                "KeyAlgorithm: {algorithm:?} is not allowed: burr's local certificate authority \
                 issues EC_prime256v1 keys only"
            ),
        ));
    }
    if r.string("CertificateAuthorityArn")?.is_some() {
        return Err(ApiError::new(
            "InvalidParameterException",
            400,
            "CertificateAuthorityArn: burr has no private certificate authorities (ACM PCA); \
             leave it out to have burr's local authority issue the certificate",
        ));
    }
    let tags = r.tags()?;
    let account = c.account_id();
    let ctx = context(c, &account, &r.region);
    let (arn, _) = apply_change(
        c,
        |s| certs::request_certificate(s, ctx, &domain, &sans, method.as_deref(), &tags),
        refused,
    )?;
    Ok(json!({ "CertificateArn": arn }))
}
