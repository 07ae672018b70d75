//! The running burr as the API's [`ControlPlane`]: a change is applied to the store the same way
//! a configuration file is (validate, bind new listeners, write durably, then put in service),
//! and target health is read from the data plane.

use burr_api::control::Change;
use burr_api::error::ApiError;
use burr_api::{ControlPlane, TargetHealth};
use burr_model::classic::{self, AddressPool};
use burr_model::{State, TargetAddress};
use burr_proxy::runtime::Health;
use burr_proxy::{BindError, DataPlane};
use burr_store::{ApplyError, Store};
use std::net::IpAddr;
use std::sync::Arc;

pub struct Control {
    pub store: Arc<Store>,
    pub dataplane: Arc<DataPlane>,
    pub listen_host: Option<IpAddr>,
    pub address_pool: AddressPool,
}

/// Why an API change was refused after the operation itself accepted it.
enum Refusal {
    Operation(classic::ClassicError),
    Bind(Vec<BindError>),
}

/// A listener that could not be put in service: a certificate that cannot be loaded is
/// `CertificateNotFound` (the certificate id is its file), a port that cannot be bound is a
/// conflict with something else on the machine.
fn bind_refusal(errors: &[BindError]) -> ApiError {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let text = text.join("; ");
    let certificate = errors.iter().all(|e| matches!(e, BindError::Compile(_)));
    if certificate {
        ApiError::new(
            classic::ErrorCode::CertificateNotFound.as_str(),
            400,
            format!("SSLCertificateId: {text}"),
        )
    } else {
        classic::ClassicError::conflict(text).into()
    }
}

impl ControlPlane for Control {
    fn state(&self) -> Arc<State> {
        Arc::new(self.store.snapshot().state.clone())
    }

    fn apply(&self, change: &mut Change<'_>) -> Result<(), ApiError> {
        let mut prepared = None;
        let result = self.store.apply(|state: &mut State| {
            change(state).map_err(Refusal::Operation)?;
            state
                .validate(self.listen_host)
                .map_err(|errors| Refusal::Operation(classic::translate(&errors[0])))?;
            prepared = Some(self.dataplane.prepare(state, 0).map_err(Refusal::Bind)?);
            Ok(())
        });
        match result {
            Ok(snapshot) => {
                if let Some(mut prepared) = prepared {
                    prepared.set_generation(snapshot.generation);
                    self.dataplane.commit(prepared);
                }
                Ok(())
            }
            Err(ApplyError::Rejected(Refusal::Operation(e))) => Err(e.into()),
            Err(ApplyError::Rejected(Refusal::Bind(errors))) => Err(bind_refusal(&errors)),
            Err(ApplyError::Invalid(errors)) => Err(classic::translate(&errors[0]).into()),
            Err(ApplyError::Storage(e)) => {
                tracing::error!("API change not written: {e}");
                Err(ApiError::new(
                    "InternalFailure",
                    500,
                    "the change could not be written to the data directory; nothing changed",
                ))
            }
        }
    }

    fn health(&self, pool: &str, target: &TargetAddress) -> TargetHealth {
        let runtime = self.dataplane.runtime();
        let Some(t) = runtime
            .pools
            .get(pool)
            .and_then(|p| p.targets.iter().find(|t| &t.shared.address == target))
        else {
            return TargetHealth::Unknown;
        };
        if t.drain_deadline.is_some() {
            return TargetHealth::Draining;
        }
        if !t.shared.is_available() {
            return TargetHealth::Unhealthy;
        }
        match t.shared.health() {
            Health::Healthy => TargetHealth::Healthy,
            Health::Unhealthy => TargetHealth::Unhealthy,
            Health::Unknown => TargetHealth::Unknown,
        }
    }

    fn listen_host(&self) -> Option<IpAddr> {
        self.listen_host
    }

    fn address_pool(&self) -> &AddressPool {
        &self.address_pool
    }

    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
