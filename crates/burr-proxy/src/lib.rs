//! burr's data plane: it binds the listeners, proxies HTTP/1.1 and HTTP/2 (plain, h2c and TLS) to
//! the targets, relays TCP and SSL listeners' connections byte for byte and UDP listeners'
//! datagrams per flow ([`udp`]), keeps upstream
//! keep-alive pools, runs health checks and counts what happens.
//!
//! It owns sockets and time; it owns no configuration rule. It reads configuration only from
//! immutable [`burr_model::State`] snapshots handed to [`DataPlane::prepare`], which compiles
//! each into a [`runtime::Runtime`] (pools with their pickers, targets with live counters) and
//! binds new listeners, and [`DataPlane::commit`], which swaps it in atomically, so a request
//! never waits on the control plane. An HTTP listener's rules and actions are compiled into each
//! runtime too ([`actions`]); both HTTP paths evaluate them per request. Target selection is delegated to the sans-IO
//! `burr-affinity` crate.

pub mod access_log;
pub mod actions;
mod affinity;
mod attempts;
mod byte_count;
pub mod canary;
pub mod clock;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
mod http;
mod idle;
pub mod limits;
mod listeners;
pub mod metrics;
mod proxy_protocol;
pub mod routing;
pub mod runtime;
pub mod sessions;
pub mod sni;
mod splice;
mod target_stream;
mod tcp;
mod tcp_pump;
pub mod tls;
pub mod udp;
mod upstream;
mod workers;

pub use http::{Http2Codec, starts_with_h2_preface};
pub use listeners::{BindError, DataPlane, DataPlaneOptions, Prepared};
