//! Balancer attributes: connection draining and the idle timeout take effect on the pools and
//! listeners; the others are stored and returned.

use super::*;

/// The attributes `ModifyLoadBalancerAttributes` may change; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeChanges {
    /// (Enabled, Timeout)
    pub connection_draining: Option<(bool, Option<i64>)>,
    pub idle_timeout: Option<i64>,
    pub cross_zone: Option<bool>,
    pub access_log: Option<AccessLogSettings>,
    pub additional: Vec<(String, String)>,
}

/// A balancer's attributes as `DescribeLoadBalancerAttributes` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub draining_enabled: bool,
    pub draining_timeout: u32,
    pub idle_timeout: u32,
    pub cross_zone: bool,
    pub access_log: AccessLogSettings,
    pub additional: Vec<(String, String)>,
}

/// The one additional attribute Classic ELB has, and its allowed values.
pub const DESYNC_MITIGATION_MODE: &str = "elb.http.desyncmitigationmode";

const DESYNC_MODES: [&str; 3] = ["monitor", "defensive", "strictest"];

const DEFAULT_DRAINING_TIMEOUT: u32 = 300;

/// `ModifyLoadBalancerAttributes`.
pub fn modify_attributes(
    state: &mut State,
    name: &str,
    changes: &AttributeChanges,
    context: Context,
) -> Result<(), ClassicError> {
    let b = balancer(state, name)?.clone();
    for (key, value) in &changes.additional {
        if key != DESYNC_MITIGATION_MODE {
            return Err(ClassicError::new(
                ErrorCode::LoadBalancerAttributeNotFound,
                format!(
                    "AdditionalAttributes: {key:?} is not an attribute; the one additional attribute is {DESYNC_MITIGATION_MODE}"
                ),
            ));
        }
        if !DESYNC_MODES.contains(&value.as_str()) {
            return Err(ClassicError::invalid(format!(
                "{DESYNC_MITIGATION_MODE}: {value:?} is not allowed: must be monitor, defensive or strictest"
            )));
        }
    }
    if let Some(log) = &changes.access_log {
        if let Some(minutes) = log.emit_interval
            && minutes != 5
            && minutes != 60
        {
            return Err(ClassicError::invalid(format!(
                "AccessLog.EmitInterval: {minutes} is not allowed: must be 5 or 60 minutes"
            )));
        }
        if log.enabled && log.s3_bucket_name.as_deref().is_none_or(str::is_empty) {
            return Err(ClassicError::conflict(
                "AccessLog.S3BucketName: is required when AccessLog.Enabled is true",
            ));
        }
    }
    let draining = match changes.connection_draining {
        Some((enabled, timeout)) => {
            let timeout = match timeout {
                Some(t) => Some(number_in("ConnectionDraining.Timeout", t, 1, 3600)?),
                None => None,
            };
            Some((enabled, timeout))
        }
        None => None,
    };
    let idle = match changes.idle_timeout {
        Some(t) => Some(number_in("ConnectionSettings.IdleTimeout", t, 1, 3600)?),
        None => None,
    };
    let current = attributes(state, &b);
    if let Some((enabled, timeout)) = draining {
        let delay = if enabled {
            timeout.unwrap_or(current.draining_timeout)
        } else {
            0
        };
        for listener in &b.listeners {
            pool_of_mut(state, listener)?
                .draining
                .deregistration_delay_secs = delay;
        }
        if b.listeners.is_empty() {
            detached_mut(state, name)?.deregistration_delay_secs = delay;
        }
    }
    if let Some(idle) = idle
        && b.listeners.is_empty()
    {
        detached_mut(state, name)?.idle_timeout_secs = idle;
    }
    let bm = balancer_mut(state, name)?;
    if let Some((enabled, timeout)) = draining {
        bm.aws.draining_timeout_secs = if enabled {
            None
        } else {
            Some(timeout.unwrap_or(current.draining_timeout))
        };
    }
    if let Some(idle) = idle {
        for listener in &mut bm.listeners {
            listener.idle_timeout_secs = idle;
        }
    }
    if let Some(cross_zone) = changes.cross_zone {
        bm.aws.cross_zone = cross_zone;
    }
    if let Some(log) = &changes.access_log {
        bm.aws.access_log = Some(log.clone());
    }
    for (key, value) in &changes.additional {
        bm.aws
            .additional_attributes
            .insert(key.clone(), value.clone());
    }
    finish(state, context)
}

/// The attributes of a balancer: draining and idle timeout read from its pools and listeners
/// (where they take effect), the rest as stored.
pub fn attributes(state: &State, b: &Balancer) -> Attributes {
    let current = settings(state, b);
    let delay = current.deregistration_delay_secs;
    let mut additional: Vec<(String, String)> = b
        .aws
        .additional_attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !b
        .aws
        .additional_attributes
        .contains_key(DESYNC_MITIGATION_MODE)
    {
        additional.push((DESYNC_MITIGATION_MODE.into(), "defensive".into()));
    }
    Attributes {
        draining_enabled: delay > 0,
        draining_timeout: if delay > 0 {
            delay
        } else {
            b.aws
                .draining_timeout_secs
                .unwrap_or(DEFAULT_DRAINING_TIMEOUT)
        },
        idle_timeout: current.idle_timeout_secs,
        cross_zone: b.aws.cross_zone,
        access_log: b.aws.access_log.clone().unwrap_or_default(),
        additional,
    }
}
