//! CloudFront ARNs: `arn:aws:cloudfront::<account>:distribution/<Id>` (no region: CloudFront is
//! global), with the account id burr's ELBv2 ARNs carry; and reading one back for the tagging
//! operations' `Resource`.

use crate::control::ControlPlane;
use burr_model::cloudfront::{CfError, CfErrorCode};

/// The ARN of distribution `id`.
pub(crate) fn distribution(c: &dyn ControlPlane, id: &str) -> String {
    format!("arn:aws:cloudfront::{}:distribution/{id}", c.account_id())
}

/// The distribution id `arn` names. Not an ARN of this API → `InvalidArgument`; another
/// account's, or a resource type burr does not tag → `NoSuchResource`.
pub(crate) fn distribution_id<'a>(c: &dyn ControlPlane, arn: &'a str) -> Result<&'a str, CfError> {
    let malformed = || {
        CfError::invalid(format!(
            "Resource: {arn:?} is not allowed: must be a CloudFront ARN, \
             arn:aws:cloudfront::<account>:distribution/<Id>"
        ))
    };
    let rest = arn
        .strip_prefix("arn:aws:cloudfront::")
        .ok_or_else(malformed)?;
    let (account, resource) = rest.split_once(':').ok_or_else(malformed)?;
    let (kind, id) = resource.split_once('/').ok_or_else(malformed)?;
    if id.is_empty() || account.is_empty() {
        return Err(malformed());
    }
    if account != c.account_id() || kind != "distribution" {
        return Err(CfError::new(
            CfErrorCode::NoSuchResource,
            format!(
                "Resource: {arn} names no distribution of this burr (account {})",
                c.account_id()
            ),
        ));
    }
    Ok(id)
}
