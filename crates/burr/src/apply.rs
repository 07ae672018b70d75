//! The one way a change reaches the running burr, whichever front door it came through (the
//! configuration file at start-up and on SIGHUP, or the AWS API): run the change on a copy of
//! the state, validate it, bind any new listener, write it durably, then put it in service.
//!
//! A change is also where a drain starts: the targets it removes from a pool are recorded in the
//! state with their drain deadline, at the time of the data plane's clock (the model reads no
//! clock), so the deadline is as durable as the change and a restart honours what is left of it.
//!
//! Every change, applied or refused, is also recorded in [`ChangeLog`] for the console
//! (`/api/v1/status`), attributed to where it came from ([`crate::changes::with_origin`]).
//!
//! Changes take turns on one lock held from before the store write until after the commit, so
//! when changes race (parallel API calls, a reload during API calls) the data plane always ends
//! on the newest generation, and no listener is bound twice by two changes that both saw it
//! missing.

use crate::changes::{self, Change, ChangeLog, Outcome};
use burr_model::{State, ValidationError};
use burr_proxy::{BindError, DataPlane};
use burr_store::{ApplyError, Snapshot, Store, StoreError};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub struct Applier {
    pub store: Arc<Store>,
    pub dataplane: Arc<DataPlane>,
    listen_host: Option<IpAddr>,
    turn: Mutex<()>,
    /// The recent changes, for the console.
    pub changes: ChangeLog,
}

/// Why a change was not applied; nothing changed.
pub enum Refusal<E> {
    /// The change refused itself.
    Rejected(E),
    /// The resulting state breaks model rules.
    Invalid(Vec<ValidationError>),
    /// A new listener could not be put in service (a port in use, a certificate that does not
    /// load).
    Bind(Vec<BindError>),
    /// The store could not write.
    Storage(StoreError),
}

impl Applier {
    pub fn new(store: Arc<Store>, dataplane: Arc<DataPlane>, listen_host: Option<IpAddr>) -> Self {
        Self {
            store,
            dataplane,
            listen_host,
            turn: Mutex::new(()),
            changes: ChangeLog::default(),
        }
    }

    /// Applies `change`; on success the returned snapshot is durable and in service.
    pub fn apply<E: std::fmt::Display>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(), E>,
    ) -> Result<Arc<Snapshot>, Refusal<E>> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.apply_in_turn(change);
        let refusal = result.as_ref().err().map(Refusal::describe);
        self.record(refusal);
        result
    }

    /// Records the change just applied (or refused, with why) in [`Applier::changes`],
    /// attributed to the current [`changes::with_origin`].
    pub fn record(&self, refusal: Option<String>) {
        let (source, what) = changes::current_origin();
        self.changes.record(Change {
            at: changes::rfc3339(std::time::SystemTime::now()),
            source,
            what,
            generation: self.dataplane.runtime().generation,
            result: if refusal.is_some() {
                Outcome::Refused
            } else {
                Outcome::Applied
            },
            reason: refusal,
        });
    }

    fn apply_in_turn<E>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(), E>,
    ) -> Result<Arc<Snapshot>, Refusal<E>> {
        let mut prepared = None;
        let now = self.dataplane.clock().unix_now();
        let result = self.store.apply(|state: &mut State| {
            let before = state.clone();
            change(state).map_err(Refusal::Rejected)?;
            state.settle_drains(&before, now);
            state.validate(self.listen_host).map_err(Refusal::Invalid)?;
            prepared = Some(self.dataplane.prepare(state, 0).map_err(Refusal::Bind)?);
            Ok(())
        });
        match result {
            Ok(snapshot) => {
                if let Some(mut prepared) = prepared {
                    prepared.set_generation(snapshot.generation);
                    self.dataplane.commit(prepared);
                }
                Ok(snapshot)
            }
            Err(ApplyError::Rejected(refusal)) => Err(refusal),
            Err(ApplyError::Invalid(errors)) => Err(Refusal::Invalid(errors)),
            Err(ApplyError::Storage(e)) => Err(Refusal::Storage(e)),
        }
    }

    /// Puts the stored state in service (start-up without a configuration file), less the
    /// drains that ended while burr was not running.
    pub fn serve_stored(&self) -> Result<(), Vec<BindError>> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.dataplane.clock().unix_now();
        if self.store.snapshot().state.has_ended_drains(now) {
            let pruned = self.store.apply(|state: &mut State| {
                let before = state.clone();
                state.settle_drains(&before, now);
                Ok::<(), std::convert::Infallible>(())
            });
            // An ended drain left in the state is harmless (its sessions move, its relays
            // end), so a failed write is no reason not to serve.
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "could not remove ended drains from the store");
            }
        }
        let snapshot = self.store.snapshot();
        let result = self
            .dataplane
            .prepare(&snapshot.state, snapshot.generation)
            .map(|prepared| self.dataplane.commit(prepared));
        let refusal = result.as_ref().err().map(|errors| join(errors));
        changes::with_origin(
            changes::Source::Start,
            "stored state put in service",
            || self.record(refusal),
        );
        result
    }
}

impl<E: std::fmt::Display> Refusal<E> {
    /// One line saying why, for the console's list of recent changes.
    fn describe(&self) -> String {
        match self {
            Self::Rejected(e) => e.to_string(),
            Self::Invalid(errors) => join(errors),
            Self::Bind(errors) => join(errors),
            Self::Storage(e) => format!("not written to the data directory: {e}"),
        }
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
