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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHealth {
    /// Passed the healthy threshold of consecutive checks.
    Healthy,
    /// Failed the unhealthy threshold of checks (with why the last one failed), or refused
    /// connections of traffic (no reason: no health check decided it).
    Unhealthy(Option<UnhealthyReason>),
    /// Not yet decided: checks are still running towards a threshold.
    Unknown,
    /// Deregistered and draining its connections.
    Draining,
}

/// Why an unhealthy target's last health check failed, in ELBv2 `DescribeTargetHealth` terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnhealthyReason {
    /// `Target.Timeout`: no answer within the check's timeout.
    Timeout,
    /// `Target.ResponseCodeMismatch`: an HTTP(S) answer with this code, not a success code.
    ResponseCodeMismatch(u16),
    /// `Target.FailedHealthChecks`: the connection was refused or reset, or TLS failed.
    FailedHealthChecks,
    /// `Target.FailedHealthChecks` too (AWS has no UDP check, so no code of its own): a UDP
    /// check's reply lacked `expected`, the check's `udp_expect` as configured.
    UnexpectedReply { expected: String },
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

    /// UTC milliseconds (CloudFront's `LastModifiedTime` carries them).
    fn now_ms(&self) -> u64 {
        self.now().saturating_mul(1000)
    }

    /// The ports new CloudFront distributions listen on (`--cloudfront-http-port`,
    /// `--cloudfront-https-port`).
    fn cloudfront_ports(&self) -> burr_model::cloudfront::FrontEndPorts {
        burr_model::cloudfront::FrontEndPorts::default()
    }

    /// The 12-digit account id this burr's ARNs carry (stable for its data directory).
    fn account_id(&self) -> String;

    /// The region the request was signed for: the namespace its names live in (see
    /// [`burr_model::region`]). The running burr itself is every region; [`Regional`] narrows it.
    fn region(&self) -> &str {
        burr_model::region::HOME_REGION
    }

    /// The key under which the state holds the balancer `name` of this request's region.
    fn key(&self, name: &str) -> String {
        burr_model::region::qualified(self.region(), name)
    }

    /// Whether the object stored under `key` belongs to this request's region.
    fn owns(&self, key: &str) -> bool {
        burr_model::region::region_of(key) == self.region()
    }

    /// The context Classic operations take.
    fn context(&self) -> Context<'_> {
        Context {
            listen_host: self.listen_host(),
            address_pool: self.address_pool(),
            now: self.now(),
        }
    }
}

/// The control plane as one request sees it: the region of its signature.
pub struct Regional<'a> {
    pub control: &'a dyn ControlPlane,
    pub region: &'a str,
}

impl ControlPlane for Regional<'_> {
    fn state(&self) -> Arc<State> {
        self.control.state()
    }

    fn apply(&self, change: &mut Change<'_>) -> Result<Arc<State>, ApiError> {
        self.control.apply(change)
    }

    fn health(&self, pool: &str, target: &TargetAddress) -> TargetHealth {
        self.control.health(pool, target)
    }

    fn listen_host(&self) -> Option<IpAddr> {
        self.control.listen_host()
    }

    fn address_pool(&self) -> &AddressPool {
        self.control.address_pool()
    }

    fn now(&self) -> u64 {
        self.control.now()
    }

    fn now_ms(&self) -> u64 {
        self.control.now_ms()
    }

    fn cloudfront_ports(&self) -> burr_model::cloudfront::FrontEndPorts {
        self.control.cloudfront_ports()
    }

    fn account_id(&self) -> String {
        self.control.account_id()
    }

    fn region(&self) -> &str {
        self.region
    }
}

/// Runs a change of one of the model's front doors (ACM, IAM, ELBv2 operations) durably through
/// the control plane and gives back what it returned: the model's refusal keeps its own meaning
/// through `map`; anything else the control plane says (a listener that cannot bind, storage) is
/// answered as it is.
pub(crate) fn apply_change<T, E: std::fmt::Display>(
    control: &dyn ControlPlane,
    mut op: impl FnMut(&mut State) -> Result<T, E>,
    map: impl FnOnce(E) -> ApiError,
) -> Result<(T, Arc<State>), ApiError> {
    let mut refusal = None;
    let mut out = None;
    let result = control.apply(&mut |state| match op(state) {
        Ok(value) => {
            out = Some(value);
            Ok(())
        }
        Err(e) => {
            let message = e.to_string();
            refusal = Some(e);
            Err(ClassicError::conflict(message))
        }
    });
    match (result, refusal, out) {
        (Ok(state), _, Some(value)) => Ok((value, state)),
        (Err(_), Some(e), _) => Err(map(e)),
        (Err(e), None, _) => Err(e),
        (Ok(_), _, None) => Err(ApiError::new(
            "ServiceUnavailableException",
            500,
            "the change ran without an answer; nothing changed",
        )),
    }
}
