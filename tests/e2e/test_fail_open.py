"""ELBv2 fail-open routing through boto3: a target group whose targets all fail their health
checks still serves, from all of them (AWS's default `unhealthy_state_routing` count of 1);
with the requirement turned off it answers 503; with two required and one healthy, all serve."""

from __future__ import annotations

import collections

from burr_e2e import http_get, wait_until
from test_elbv2 import create_alb, create_tg

ROUTING = "target_group_health.unhealthy_state_routing.minimum_healthy_targets"


def test_a_group_fails_open_as_its_attributes_say(elbv2, targets):
    ts = [targets(name) for name in ("a", "b", "c")]
    for t in ts:
        t.unhealthy = True
    lb = create_alb(elbv2)
    group = create_tg(elbv2, "blue", port=ts[0].port, HealthCheckPath="/health",
                      HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                      HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group,
                           Targets=[{"Id": "127.0.0.1", "Port": t.port} for t in ts])
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=18080,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])

    def states() -> list[str]:
        health = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        return sorted(h["TargetHealth"]["State"] for h in health)

    def spread(n: int) -> collections.Counter:
        return collections.Counter(http_get(lb["DNSName"], 18080).target for _ in range(n))

    wait_until(lambda: states() == ["unhealthy"] * 3, 30, what="every target unhealthy")
    seen = spread(9)
    assert set(seen) == {"a", "b", "c"}, seen

    # No requirement at all: the group never fails open.
    elbv2.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": f"{ROUTING}.count", "Value": "off"}])
    wait_until(lambda: http_get(lb["DNSName"], 18080).status == 503, 10, what="503 without fail-open")

    # Two required, one healthy: all three serve.
    ts[0].unhealthy = False
    wait_until(lambda: states().count("healthy") == 1, 30, what="a healthy again")
    assert spread(6) == {"a": 6}
    elbv2.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": f"{ROUTING}.count", "Value": "2"}])
    wait_until(lambda: len(spread(6)) == 3, 10, what="all three serving")
    attributes = {a["Key"]: a["Value"] for a in
                  elbv2.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]}
    assert attributes[f"{ROUTING}.count"] == "2" and attributes[f"{ROUTING}.percentage"] == "off"
