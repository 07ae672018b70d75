//! UDP and TCP_UDP listeners' datagram side: one flow per client address and port, each relayed
//! over its own connected socket to the target chosen for its first datagram, with replies sent
//! back from the listener's socket and address.
//!
//! The pieces, one job each: [`socket`] binds the listening sockets and owns the per-worker
//! receive buffers (batched `recvmmsg` through `quinn-udp`); [`table`] is a worker's flow table,
//! ordered by activity so the flow idle the longest is the one evicted at the listener's
//! `max_flows`; [`flow`] opens a flow (target choice as a TCP connection's, PROXY v2 header) and
//! runs its reply direction, idle expiry on the rule clock, ICMP errors and the target's drain
//! deadline; [`relay`] is the listener's receive loop that ties them together; [`stats`] counts
//! and renders what happens.
//!
//! A flow lives on the worker whose socket received its first datagram: with `SO_REUSEPORT` the
//! kernel hashes the client's address and port to one socket, so a flow's datagrams all reach
//! the same worker and its table needs no lock.

mod flow;
pub mod relay;
pub mod socket;
pub mod stats;
mod table;

pub use relay::serve;
pub use socket::bind_all;
pub use stats::UdpStats;
