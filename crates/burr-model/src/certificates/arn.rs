//! The ARNs of certificates and load balancers: ACM certificates are per region
//! (`arn:aws:acm:<region>:<account>:certificate/<uuid>`), IAM server certificates are global and
//! carry their path (`arn:aws:iam::<account>:server-certificate<path><name>`).

use super::{CertError, CertErrorKind};

/// The parts of an ACM certificate ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcmArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub id: &'a str,
}

pub fn acm_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:acm:{region}:{account}:certificate/{id}")
}

pub fn iam_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:server-certificate{path}{name}")
}

/// The ARN of a Classic load balancer stored under `key` (see [`crate::region`]).
pub fn balancer_arn(account: &str, key: &str) -> String {
    let (region, name) = crate::region::split(key);
    format!("arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{name}")
}

fn arn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Parses an ACM certificate ARN, or says why it is not one (`InvalidArn`).
pub fn parse_acm_arn(arn: &str) -> Result<AcmArn<'_>, CertError> {
    let invalid = |why: &str| {
        CertError::new(
            CertErrorKind::InvalidArn,
            format!(
                "CertificateArn: {arn:?} is not allowed: {why}; an ACM certificate ARN is \
                 arn:aws:acm:<region>:<account>:certificate/<id>"
            ),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(invalid("it does not have six colon-separated parts"));
    };
    if *prefix != "arn" || partition.is_empty() {
        return Err(invalid("it does not start with arn:<partition>:"));
    }
    if *service != "acm" {
        return Err(invalid("its service is not acm"));
    }
    if region.is_empty() || !region.chars().all(|c| arn_char(c) || c == '/') {
        return Err(invalid("its region is empty or has characters not allowed"));
    }
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("its account is not a number"));
    }
    let Some(id) = resource.strip_prefix("certificate/") else {
        return Err(invalid("its resource is not certificate/<id>"));
    };
    if id.is_empty() || !id.chars().all(arn_char) {
        return Err(invalid(
            "its certificate id is empty or has characters not allowed",
        ));
    }
    Ok(AcmArn {
        partition,
        region,
        account,
        id,
    })
}

/// Whether `id` is written as a certificate ARN (ACM or IAM server certificate); anything else
/// in `SSLCertificateId` is a PEM file path.
pub fn is_certificate_arn(id: &str) -> bool {
    id.starts_with("arn:")
}
