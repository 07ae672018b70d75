//! Which operation a request asks for, from its method, path and query, exactly as the botocore
//! model's `requestUri`s lay them out (`/2020-05-31/distribution?WithTags`,
//! `/2020-05-31/distribution/{Id}/promote-staging-config`, `/2020-05-31/tagging?Operation=Tag`,
//! ...). Anything else is no operation (the caller answers 404).

use super::request::Request;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    CreatePolicy,
    ListPolicies,
    GetPolicy(&'a str),
    GetPolicyConfig(&'a str),
    UpdatePolicy(&'a str),
    DeletePolicy(&'a str),
    CreateDistribution,
    CreateDistributionWithTags,
    ListDistributions,
    GetDistribution(&'a str),
    GetDistributionConfig(&'a str),
    UpdateDistribution(&'a str),
    DeleteDistribution(&'a str),
    CopyDistribution(&'a str),
    PromoteStagingConfig(&'a str),
    TagResource,
    UntagResource,
    ListTagsForResource,
}

/// The operation `r` names, if any.
pub(crate) fn route<'r>(r: &'r Request<'_>) -> Option<Route<'r>> {
    let segments: Vec<&str> = r.segments.as_ref()?.iter().map(String::as_str).collect();
    // A trailing slash names the same resource (`distribution/` is `distribution`).
    let segments = match segments.split_last() {
        Some((&"", rest)) if !rest.is_empty() => rest,
        _ => &segments[..],
    };
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let route = match (r.method, segments) {
        ("POST", ["continuous-deployment-policy"]) => Route::CreatePolicy,
        ("GET", ["continuous-deployment-policy"]) => Route::ListPolicies,
        ("GET", ["continuous-deployment-policy", id]) => Route::GetPolicy(id),
        ("GET", ["continuous-deployment-policy", id, "config"]) => Route::GetPolicyConfig(id),
        ("PUT", ["continuous-deployment-policy", id]) => Route::UpdatePolicy(id),
        ("DELETE", ["continuous-deployment-policy", id]) => Route::DeletePolicy(id),
        ("POST", ["distribution"]) if r.has_query("WithTags") => Route::CreateDistributionWithTags,
        ("POST", ["distribution"]) => Route::CreateDistribution,
        ("GET", ["distribution"]) => Route::ListDistributions,
        ("GET", ["distribution", id]) => Route::GetDistribution(id),
        ("DELETE", ["distribution", id]) => Route::DeleteDistribution(id),
        ("GET", ["distribution", id, "config"]) => Route::GetDistributionConfig(id),
        ("PUT", ["distribution", id, "config"]) => Route::UpdateDistribution(id),
        ("POST", ["distribution", id, "copy"]) => Route::CopyDistribution(id),
        ("PUT", ["distribution", id, "promote-staging-config"]) => Route::PromoteStagingConfig(id),
        ("POST", ["tagging"]) => match r.query("Operation") {
            Some("Tag") => Route::TagResource,
            Some("Untag") => Route::UntagResource,
            _ => return None,
        },
        ("GET", ["tagging"]) => Route::ListTagsForResource,
        _ => return None,
    };
    Some(route)
}
