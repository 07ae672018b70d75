//! The running burr as the API's [`ControlPlane`]: a change goes through the same [`Applier`] as
//! a configuration file (validate, bind new listeners, write durably, then put in service, one
//! change at a time), and target health is read from the data plane.

use crate::apply::{Applier, Refusal};
use burr_api::control::Change;
use burr_api::error::ApiError;
use burr_api::{ControlPlane, TargetHealth, UnhealthyReason};
use burr_model::classic::{self, AddressPool};
use burr_model::{State, TargetAddress};
use burr_proxy::BindError;
use burr_proxy::runtime::{Health, HealthFailure};
use std::net::IpAddr;
use std::sync::Arc;

pub struct Control {
    pub applier: Arc<Applier>,
    pub listen_host: Option<IpAddr>,
    pub address_pool: AddressPool,
    /// The account id of the ARNs this burr makes ([`account_id`]).
    pub account_id: String,
    /// The ports new CloudFront distributions listen on.
    pub cloudfront_ports: burr_model::cloudfront::FrontEndPorts,
}

/// Key of the account id in the store's key/value area.
const ACCOUNT_ID: &str = "account_id";

/// The 12-digit account id of this data directory: made once, at random, on first start, and
/// kept in the store so ARNs stay the same across restarts and across nodes sharing the store.
pub fn account_id(store: &burr_store::Store) -> Result<String, String> {
    let stored = store
        .get_meta(ACCOUNT_ID)
        .map_err(|e| format!("burr: cannot read the account id: {e}"))?;
    if let Some(bytes) = stored {
        return String::from_utf8(bytes)
            .ok()
            .filter(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                format!(
                    "burr: the account id in {} is damaged; restore the store from a backup",
                    store.path().display()
                )
            });
    }
    // 12 digits, the first not zero (as AWS account ids read).
    let id = format!(
        "{}",
        rand::random_range(100_000_000_000u64..1_000_000_000_000)
    );
    store
        .put_meta(ACCOUNT_ID, id.as_bytes())
        .map_err(|e| format!("burr: cannot store the account id: {e}"))?;
    tracing::info!(account_id = %id, "created the account id of this data directory");
    Ok(id)
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
        Arc::new(self.applier.store.snapshot().state.clone())
    }

    fn apply(&self, change: &mut Change<'_>) -> Result<Arc<State>, ApiError> {
        match self.applier.apply(|state: &mut State| change(state)) {
            Ok(snapshot) => Ok(Arc::new(snapshot.state.clone())),
            Err(Refusal::Rejected(e)) => Err(e.into()),
            Err(Refusal::Invalid(errors)) => Err(classic::translate(&errors[0]).into()),
            Err(Refusal::Bind(errors)) => Err(bind_refusal(&errors)),
            Err(Refusal::Storage(e)) => {
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
        let runtime = self.applier.dataplane.runtime();
        let Some((pool_runtime, t)) = runtime.pools.get(pool).and_then(|p| {
            let t = p.targets.iter().find(|t| &t.shared.address == target)?;
            Some((p, t))
        }) else {
            return TargetHealth::Unknown;
        };
        if t.drain_deadline.is_some() {
            return TargetHealth::Draining;
        }
        match t.shared.health() {
            Health::Unhealthy => TargetHealth::Unhealthy(Some(reason(
                t.shared.health_failure(),
                &pool_runtime.spec.health_check,
            ))),
            // Skipped after refusing traffic's connections: no check decided it.
            _ if !t.shared.is_available() => TargetHealth::Unhealthy(None),
            Health::Healthy => TargetHealth::Healthy,
            Health::Unknown => TargetHealth::Unknown,
        }
    }

    fn listen_host(&self) -> Option<IpAddr> {
        self.listen_host
    }

    fn address_pool(&self) -> &AddressPool {
        &self.address_pool
    }

    fn account_id(&self) -> String {
        self.account_id.clone()
    }

    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn cloudfront_ports(&self) -> burr_model::cloudfront::FrontEndPorts {
        self.cloudfront_ports
    }
}

/// The API's reason for a target the health checks found unhealthy, from why its last check
/// failed (a target turned unhealthy always has one; `FailedHealthChecks` covers the rest) and
/// the pool's check (which names the bytes a UDP reply lacked).
fn reason(failure: Option<HealthFailure>, check: &burr_model::HealthCheck) -> UnhealthyReason {
    match failure {
        Some(HealthFailure::UnexpectedReply) => UnhealthyReason::UnexpectedReply {
            expected: check.udp_expect.clone().unwrap_or_default(),
        },
        Some(HealthFailure::Timeout) => UnhealthyReason::Timeout,
        Some(HealthFailure::ResponseCodeMismatch(code)) => {
            UnhealthyReason::ResponseCodeMismatch(code)
        }
        Some(HealthFailure::ConnectionFailed) | None => UnhealthyReason::FailedHealthChecks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_health_failure_has_its_api_reason() {
        for (failure, want) in [
            (Some(HealthFailure::Timeout), UnhealthyReason::Timeout),
            (
                Some(HealthFailure::ResponseCodeMismatch(503)),
                UnhealthyReason::ResponseCodeMismatch(503),
            ),
            (
                Some(HealthFailure::ConnectionFailed),
                UnhealthyReason::FailedHealthChecks,
            ),
            (None, UnhealthyReason::FailedHealthChecks),
            (
                Some(HealthFailure::UnexpectedReply),
                UnhealthyReason::UnexpectedReply {
                    expected: "hex:beef".into(),
                },
            ),
        ] {
            let check = burr_model::HealthCheck {
                protocol: burr_model::HealthCheckProtocol::Udp,
                udp_payload: Some("ping".into()),
                udp_expect: Some("hex:beef".into()),
                ..burr_model::HealthCheck::default()
            };
            assert_eq!(reason(failure, &check), want, "{failure:?}");
        }
    }
}
