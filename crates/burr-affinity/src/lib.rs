//! burr's sans-IO selection core: which target a request goes to.
//!
//! It owns the load-balancing algorithms ([`balance::Picker`]), consistent hashing
//! ([`consistent::ConsistentHash`]), the sealed stickiness tokens and their key ring ([`token`]), cookie
//! text ([`cookies`]), the affinity engine for cookie sessions ([`sticky`]), the staged-rollout
//! split of CloudFront continuous deployment ([`canary`]) and target group
//! stickiness for weighted forward actions ([`groups`]). It opens no
//! socket, reads no clock and draws no randomness of its own: health, load, the client's address
//! hash, `now` and random numbers come in as arguments, so every decision can be tested exactly.

#![forbid(unsafe_code)]

pub mod balance;
pub mod canary;
pub mod consistent;
pub mod cookies;
pub mod groups;
pub mod keyed;
pub mod sticky;
pub mod token;
