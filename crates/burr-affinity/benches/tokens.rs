//! Placeholder, replaced by the tokens benchmark.
fn main() {}
