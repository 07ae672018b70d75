//! The CloudFront (2020-05-31) view of the model: distributions, staging distributions and
//! continuous-deployment policies, and the operations of that API as changes to
//! [`State`](crate::State), with the error codes of the botocore model.
//!
//! A distribution is an HTTP(S) front end on its own address (its `DomainName`) whose origins
//! are pools and whose cache behaviours are routing rules. burr does not cache: the cache and
//! edge members of a `DistributionConfig` are kept as given ([`Node`]) so clients read back
//! what they wrote, and only the members burr acts on are interpreted
//! ([`Distribution::front_end`]). A staging distribution is never bound: its front end is the
//! second arm of its primary's listeners while a continuous-deployment policy links the two
//! ([`front_ends`]).
//!
//! No I/O, no clock, no XML: the API parses requests into [`Node`] trees (checked against the
//! botocore shapes) and brings `now` and fresh ids through [`Context`].

#[cfg(test)]
mod distribution_tests;
mod document;
mod error;
mod front_end;
#[cfg(test)]
mod front_end_tests;
mod ops;
pub mod schema;
#[cfg(test)]
mod tests;
mod types;
mod validate;

pub(crate) use validate::validate_into;

pub use document::Node;
pub use error::{CfError, CfErrorCode};
pub use front_end::*;
pub use ops::*;
pub use types::*;

/// Checks `node` against the botocore shape `shape` (unknown members, types, enums, required
/// members, `Quantity` against `Items`): every operation that takes a config calls this first,
/// and so does [`State::validate`](crate::State::validate) for every stored one.
pub(crate) fn schema_check(shape: &str, node: &Node) -> Result<(), CfError> {
    schema::check(shape, node)
}
