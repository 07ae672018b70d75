"""Active health checks as DescribeInstanceHealth reports them, and deregistration while
connection draining is enabled."""

import collections

from burr_e2e import create_lb, describe, http_get, listener, wait_until

IN_SERVICE = {"State": "InService", "ReasonCode": "N/A", "Description": "N/A"}
OUT_OF_SERVICE = {
    "State": "OutOfService",
    "ReasonCode": "Instance",
    "Description": "Instance has failed at least the UnhealthyThreshold number of health checks "
    "consecutively.",
}
UNKNOWN = {"State": "Unknown", "ReasonCode": "ELB",
           "Description": "Instance registration is still in progress."}
# Interval 5, thresholds 2: a change shows within two or three intervals; 30 s bounds each wait.
WAIT = 30


def states(elb):
    return {
        s["InstanceId"]: {k: s[k] for k in ("State", "ReasonCode", "Description")}
        for s in elb.describe_instance_health(LoadBalancerName="web")["InstanceStates"]
    }


def test_health_transitions_show_in_describe_instance_health(elb, burr, targets):
    # Classic instances share one instance port, so the targets are two loopback addresses on
    # the same port: "a" on 127.0.0.1, "b" on an address of this burr's own /24.
    a = targets("a")
    b = targets("b", host=f"{burr.subnet}.254", port=a.port)
    host = create_lb(elb, "web", listener(8080, a.port))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": a.host}, {"InstanceId": b.host}]
    )
    assert states(elb) == {a.host: UNKNOWN, b.host: UNKNOWN}

    elb.configure_health_check(
        LoadBalancerName="web",
        HealthCheck={"Target": f"HTTP:{a.port}/health", "Interval": 5, "Timeout": 2,
                     "UnhealthyThreshold": 2, "HealthyThreshold": 2},
    )
    wait_until(lambda: states(elb) == {a.host: IN_SERVICE, b.host: IN_SERVICE}, WAIT,
               what="both instances InService")
    assert a.health_hits >= 2 and b.health_hits >= 2

    a.unhealthy = True
    wait_until(lambda: states(elb)[a.host]["State"] != "InService", WAIT,
               what="a to leave service")
    assert states(elb) == {a.host: OUT_OF_SERVICE, b.host: IN_SERVICE}
    # Only the healthy target gets traffic.
    seen = collections.Counter(http_get(host, 8080).target for _ in range(10))
    assert seen == {"b": 10}, seen
    # One instance may be asked about.
    [one] = elb.describe_instance_health(
        LoadBalancerName="web", Instances=[{"InstanceId": a.host}]
    )["InstanceStates"]
    assert one == {"InstanceId": a.host, **OUT_OF_SERVICE}

    a.unhealthy = False
    wait_until(lambda: states(elb)[a.host]["State"] != "OutOfService", WAIT,
               what="a to return to service")
    assert states(elb) == {a.host: IN_SERVICE, b.host: IN_SERVICE}
    seen = collections.Counter(http_get(host, 8080).target for _ in range(20))
    assert set(seen) == {"a", "b"}, seen


def test_deregistered_instance_leaves_while_connection_draining_is_enabled(elb, targets):
    ts = [targets(f"t{i}") for i in range(2)]
    host = create_lb(elb, "web", listener(8080, 80))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.address} for t in ts]
    )
    response = elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 30}},
    )
    assert response["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True,
                                                                        "Timeout": 30}
    assert {http_get(host, 8080).target for _ in range(10)} == {"t0", "t1"}

    response = elb.deregister_instances_from_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": ts[0].address}]
    )
    assert response["Instances"] == [{"InstanceId": ts[1].address}]
    assert describe(elb, "web")["Instances"] == [{"InstanceId": ts[1].address}]
    assert [s["InstanceId"] for s in
            elb.describe_instance_health(LoadBalancerName="web")["InstanceStates"]] == [
        ts[1].address
    ]
    # Asked for by name, the deregistered instance is seen draining (30 s), not gone.
    assert elb.describe_instance_health(
        LoadBalancerName="web", Instances=[{"InstanceId": ts[0].address}]
    )["InstanceStates"] == [{
        "InstanceId": ts[0].address, "State": "OutOfService", "ReasonCode": "ELB",
        "Description": "Instance deregistration currently in progress.",
    }]
    # New requests go to the remaining instance only.
    assert {http_get(host, 8080).target for _ in range(10)} == {"t1"}
    # Draining stays enabled.
    assert elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True, "Timeout": 30}
