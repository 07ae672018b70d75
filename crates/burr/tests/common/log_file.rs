//! Reading a file burr appends lines to (its access log) while it writes them.

use super::eventually;
use std::path::Path;
use std::time::Duration;

/// The lines `path` holds now (none if it does not exist yet).
pub fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits (up to 10 s) until `path` holds at least `count` lines and returns them.
pub async fn wait_lines(path: &Path, count: usize) -> Vec<String> {
    let arrived = eventually(Duration::from_secs(10), || file_lines(path).len() >= count).await;
    assert!(arrived, "{} lines expected in {}", count, path.display());
    file_lines(path)
}
