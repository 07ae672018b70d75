//! Fail-open routing (ELBv2 `target_group_health.unhealthy_state_routing.minimum_healthy_targets`):
//! when too few of a pool's targets pass their health checks, the load balancer stops trusting
//! the checks and routes to every target, healthy or not, rather than answering 503.
//!
//! The rule is the model's (how many healthy targets a pool needs); the data plane counts the
//! healthy targets and asks [`FailOpen::is_failing_open`] per pick.

use crate::error::{Errors, FieldPath};
use serde::{Deserialize, Serialize};

/// Bounds of `min_healthy_count` (the ELBv2 attribute's 1–1000000, and 0 for its `off`: no count
/// requirement).
pub const MIN_HEALTHY_COUNT: (u32, u32) = (0, 1_000_000);
/// Bounds of `min_healthy_percent` (1–100; absent means no percentage requirement).
pub const MIN_HEALTHY_PERCENT: (u8, u8) = (1, 100);

/// How many healthy targets a pool needs before it fails open. With both set, the larger
/// requirement applies (the AWS rule); with neither, the pool never fails open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailOpen {
    /// Fewer healthy targets than this: route to all. Default 1 (fail open when none is
    /// healthy, the AWS default); 0 sets no count requirement.
    pub min_healthy_count: u32,
    /// Fewer healthy targets than this share of the pool's targets in service (rounded up):
    /// route to all.
    pub min_healthy_percent: Option<u8>,
}

impl Default for FailOpen {
    fn default() -> Self {
        Self {
            min_healthy_count: 1,
            min_healthy_percent: None,
        }
    }
}

impl FailOpen {
    /// How many of `in_service` targets must be healthy for the pool to route by health.
    pub fn required(&self, in_service: usize) -> usize {
        let count = self.min_healthy_count as usize;
        // ceil(percent × in_service / 100): "at least 50 % of 3" is 2 healthy targets.
        let share = self
            .min_healthy_percent
            .map_or(0, |p| (usize::from(p) * in_service).div_ceil(100));
        count.max(share)
    }

    /// True when `healthy` of `in_service` targets is below the requirement: every target
    /// becomes eligible.
    pub fn is_failing_open(&self, healthy: usize, in_service: usize) -> bool {
        healthy < self.required(in_service)
    }

    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut Errors) {
        let (lo, hi) = MIN_HEALTHY_COUNT;
        errors.range(
            path.field("min_healthy_count"),
            self.min_healthy_count,
            lo,
            hi,
            "targets (0: no count requirement)",
        );
        if let Some(percent) = self.min_healthy_percent {
            let (lo, hi) = MIN_HEALTHY_PERCENT;
            errors.range(
                path.field("min_healthy_percent"),
                percent,
                lo,
                hi,
                "percent",
            );
        }
    }
}

impl crate::Pool {
    /// The pool's fail-open rule, if it has one. A target group stored before the rule existed
    /// has none written, yet every target group fails open (AWS): it gets the default.
    pub fn fail_open_rule(&self) -> Option<FailOpen> {
        self.fail_open
            .or_else(|| self.target_group.is_some().then(FailOpen::default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fails_open_only_when_no_target_is_healthy() {
        let rule = FailOpen::default();
        assert!(rule.is_failing_open(0, 3));
        assert!(!rule.is_failing_open(1, 3));
    }

    #[test]
    fn the_larger_requirement_applies() {
        let rule = FailOpen {
            min_healthy_count: 2,
            min_healthy_percent: Some(50),
        };
        // 50 % of 10 is 5 > 2.
        assert!(rule.is_failing_open(4, 10));
        assert!(!rule.is_failing_open(5, 10));
        // 50 % of 3 is 2 (rounded up) = 2.
        assert!(rule.is_failing_open(1, 3));
        assert!(!rule.is_failing_open(2, 3));
        let off = FailOpen {
            min_healthy_count: 0,
            min_healthy_percent: None,
        };
        assert!(!off.is_failing_open(0, 3));
    }

    #[test]
    fn out_of_range_values_name_field_value_and_range() {
        let mut errors = Errors::default();
        FailOpen {
            min_healthy_count: 1_000_001,
            min_healthy_percent: Some(101),
        }
        .validate(&FieldPath::root().field("fail_open"), &mut errors);
        let text: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("fail_open.min_healthy_count") && text[0].contains("1000000"));
        assert!(
            text[1].contains("min_healthy_percent: 101") && text[1].contains("100"),
            "{text:?}"
        );
    }
}
