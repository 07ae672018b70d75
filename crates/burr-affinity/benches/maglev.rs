//! Placeholder, replaced by the maglev benchmark.
fn main() {}
