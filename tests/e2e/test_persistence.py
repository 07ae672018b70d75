"""What the API made survives `kill -9`: a restart on the same data directory and API port
describes exactly the same balancers, policies, attributes and tags, and serves traffic through
the same listeners, with stickiness cookies issued before the crash still honoured."""

import collections

from burr_e2e import create_lb, describe, http_get, listener, snapshot, wait_for_listener


def test_state_survives_kill_9(burr, elb, targets):
    ts = [targets(f"t{i}") for i in range(3)]
    host = create_lb(elb, "web", listener(8080, 80), listener(8081, 81, "TCP"),
                     Tags=[{"Key": "env", "Value": "test"}])
    create_lb(elb, "api", listener(8080, 80))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": t.address} for t in ts]
    )
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=600
    )
    elb.create_app_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="app", CookieName="SESSIONID"
    )
    elb.create_load_balancer_policy(
        LoadBalancerName="web", PolicyName="proxy", PolicyTypeName="ProxyProtocolPolicyType",
        PolicyAttributes=[{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}],
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky"]
    )
    # On an instance port no listener uses, so the HTTP targets are not sent PROXY headers.
    elb.set_load_balancer_policies_for_backend_server(
        LoadBalancerName="web", InstancePort=9999, PolicyNames=["proxy"]
    )
    elb.configure_health_check(
        LoadBalancerName="web",
        HealthCheck={"Target": "TCP:80", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2,
                     "HealthyThreshold": 10},
    )
    elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={
            "CrossZoneLoadBalancing": {"Enabled": True},
            "AccessLog": {"Enabled": True, "S3BucketName": "logs", "EmitInterval": 60},
            "ConnectionDraining": {"Enabled": True, "Timeout": 45},
            "ConnectionSettings": {"IdleTimeout": 120},
            "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode",
                                      "Value": "monitor"}],
        },
    )
    elb.add_tags(LoadBalancerNames=["web", "api"], Tags=[{"Key": "owner", "Value": "edge"}])

    first = http_get(host, 8080)
    assert first.status == 200
    cookie = first.cookie("AWSELB")
    assert cookie
    before = snapshot(elb)
    assert len(before["descriptions"]) == 2

    burr.kill9_and_restart()
    elb = burr.client()

    after = snapshot(elb)
    assert after == before
    # Traffic flows again through the same listener, and the session cookie issued before the
    # crash still leads to the same target.
    wait_for_listener(host, 8080)
    sticky = collections.Counter(http_get(host, 8080, cookie=cookie).target for _ in range(10))
    assert sticky == {first.target: 10}, sticky
    fresh = http_get(host, 8080)
    assert fresh.status == 200 and fresh.target in {t.name for t in ts}
    assert fresh.cookie("AWSELB")
    # And the API keeps working on the restored state.
    elb.deregister_instances_from_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": ts[0].address}]
    )
    assert len(describe(elb, "web")["Instances"]) == 2
