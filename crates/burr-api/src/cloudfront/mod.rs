//! The CloudFront (2020-05-31, rest-xml) API.

pub mod document;
