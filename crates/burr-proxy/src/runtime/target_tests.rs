//! A target's slow start follows its health as ALB's does: turning unhealthy ends it, coming
//! back from unhealthy starts it again (when the pool has it on), and the ramp ends when the
//! window has passed; the reason of a failed check is kept until one passes.

use super::*;
use std::time::Duration;

fn target(clock: &Arc<Clock>) -> TargetShared {
    let address = TargetAddress::parse("127.0.0.1:9", None).unwrap();
    TargetShared::new(TargetId(1), "p", address, 1, clock.clone())
}

#[test]
fn slow_start_ends_when_unhealthy_and_starts_again_when_healthy() {
    let clock = Clock::manual();
    let t = target(&clock);
    t.slow_start_ms.store(60_000, Ordering::Relaxed);
    t.set_health(Health::Healthy);
    assert_eq!(
        t.slow_start_since(),
        None,
        "healthy from unknown is not entering service"
    );
    t.set_health(Health::Unhealthy);
    clock.advance(Duration::from_secs(5)).unwrap();
    t.set_health(Health::Healthy);
    let since = t.slow_start_since().expect("back from unhealthy: ramping");
    assert_eq!(since, clock.now_ms());
    clock.advance(Duration::from_secs(30)).unwrap();
    assert_eq!(t.slow_start_since(), Some(since));
    t.set_health(Health::Unhealthy);
    assert_eq!(t.slow_start_since(), None, "unhealthy ends the ramp");
    t.set_health(Health::Healthy);
    assert_eq!(
        t.slow_start_since(),
        Some(clock.now_ms()),
        "a new ramp from now"
    );
    clock.advance(Duration::from_secs(60)).unwrap();
    assert_eq!(t.slow_start_since(), None, "the window has passed");
}

#[test]
fn without_slow_start_recovering_does_not_ramp() {
    let clock = Clock::manual();
    let t = target(&clock);
    t.set_health(Health::Unhealthy);
    t.set_health(Health::Healthy);
    assert_eq!(t.slow_start_since(), None);
}

#[test]
fn a_failure_reason_is_kept_until_cleared() {
    let clock = Clock::manual();
    let t = target(&clock);
    for failure in [
        HealthFailure::Timeout,
        HealthFailure::ConnectionFailed,
        HealthFailure::UnexpectedReply,
        HealthFailure::ResponseCodeMismatch(503),
        HealthFailure::ResponseCodeMismatch(499),
    ] {
        t.set_health_failure(Some(failure));
        assert_eq!(t.health_failure(), Some(failure));
    }
    t.set_health_failure(None);
    assert_eq!(t.health_failure(), None);
}
