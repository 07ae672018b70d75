//! burr's sans-IO selection core: which target a request goes to.
//!
//! It owns the load-balancing algorithms ([`balance::Picker`]) and Maglev consistent hashing
//! ([`maglev::Maglev`]); the stickiness tokens and the affinity engine will live here too. It
//! opens no socket, reads no clock and draws no randomness of its own: health, load, the client's
//! address hash and random numbers come in as arguments, so every decision can be tested exactly.

#![forbid(unsafe_code)]

pub mod balance;
pub mod maglev;
