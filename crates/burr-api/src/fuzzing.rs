//! Entry points for the fuzz targets in `fuzz/` (cargo fuzz, libFuzzer), not an API: the
//! SigV4 canonical forms and the decoded query parameters, which live behind private paths,
//! made callable for the fuzzers. It owns no logic of its own.

use crate::error::ApiError;
use crate::query::Params;

use crate::sigv4::canonical;

/// The query protocol's parameters decoded from `query` and `body`, as name-value pairs in
/// name order.
pub fn decode_params(query: &str, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    Params::decode(query, body).map(|params| params.values.into_iter().collect())
}

/// The canonical query string SigV4 signs for the raw query `query`.
pub fn canonical_query(query: &str) -> String {
    canonical::canonical_query(query)
}

/// The canonical URI SigV4 signs for the raw path `path`.
pub fn canonical_uri(path: &str) -> String {
    canonical::canonical_uri(path)
}
