//! The one way a change reaches the running burr, whichever front door it came through (the
//! configuration file at start-up and on SIGHUP, or the AWS API): run the change on a copy of
//! the state, validate it, bind any new listener, write it durably, then put it in service.
//!
//! Changes take turns on one lock held from before the store write until after the commit, so
//! when changes race (parallel API calls, a reload during API calls) the data plane always ends
//! on the newest generation, and no listener is bound twice by two changes that both saw it
//! missing.

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
        }
    }

    /// Applies `change`; on success the returned snapshot is durable and in service.
    pub fn apply<E>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(), E>,
    ) -> Result<Arc<Snapshot>, Refusal<E>> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let mut prepared = None;
        let result = self.store.apply(|state: &mut State| {
            change(state).map_err(Refusal::Rejected)?;
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

    /// Puts the stored state in service as it is (start-up without a configuration file).
    pub fn serve_stored(&self) -> Result<(), Vec<BindError>> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.store.snapshot();
        let prepared = self
            .dataplane
            .prepare(&snapshot.state, snapshot.generation)?;
        self.dataplane.commit(prepared);
        Ok(())
    }
}
