//! The CloudFront operations as changes to a [`State`](crate::State).
