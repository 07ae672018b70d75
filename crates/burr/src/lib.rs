//! The part of the `burr` binary that is also a library: the TOML front door ([`config`]), so
//! the fuzz targets in `fuzz/` load configuration text exactly as `burr check` does. The rest
//! of the binary (serving, the API endpoint, the CLI) stays in `main.rs` and its modules.

pub mod config;
