//! Tests of the CloudFront operations and front ends.
