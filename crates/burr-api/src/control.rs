//! What the API needs from the running burr, as a trait so this crate knows nothing of sockets
//! or SQLite: the current state, a way to apply a change durably and put it in service, and
//! the health the data plane sees for each target.

use crate::error::ApiError;
use burr_model::State;
use burr_model::TargetAddress;
use burr_model::classic::{AddressPool, ClassicError, Context};
use std::net::IpAddr;
use std::sync::Arc;

/// What the data plane knows of one target's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    /// Passed the healthy threshold of consecutive checks.
    Healthy,
    /// Failed the unhealthy threshold of checks, or refused connections.
    Unhealthy,
    /// Not yet decided: checks are still running towards a threshold.
    Unknown,
    /// Deregistered and draining its connections.
    Draining,
}

/// A change to the state, written by a Classic operation.
pub type Change<'a> = dyn FnMut(&mut State) -> Result<(), ClassicError> + 'a;

pub trait ControlPlane: Send + Sync {
    /// The configuration in service.
    fn state(&self) -> Arc<State>;

    /// Runs `change` on a copy of the state; when it succeeds, validates the result, binds any
    /// new listener, writes it durably and puts it in service, all before returning. On any
    /// error nothing changes: the change's own error, the model's verdict in API terms, a
    /// listener that cannot bind (`InvalidConfigurationRequest`), or a storage failure (500).
    /// Returns the state as committed, which answers must be built from (a later change may
    /// already be in service by the time the caller looks again).
    fn apply(&self, change: &mut Change<'_>) -> Result<Arc<State>, ApiError>;

    /// The health of a target of a pool.
    fn health(&self, pool: &str, target: &TargetAddress) -> TargetHealth;

    /// `--listen-host`, if given.
    fn listen_host(&self) -> Option<IpAddr>;

    /// `--address-pool`.
    fn address_pool(&self) -> &AddressPool;

    /// UTC seconds.
    fn now(&self) -> u64;

    /// The context Classic operations take.
    fn context(&self) -> Context<'_> {
        Context {
            listen_host: self.listen_host(),
            address_pool: self.address_pool(),
            now: self.now(),
        }
    }
}
