"""Every Classic ELB operation burr serves, through the real boto3: the exact shape of a
successful answer, and that the change it made is what the describe calls report."""

import pytest
from botocore.exceptions import ClientError

from burr_e2e import (
    accepts,
    create_lb,
    describe,
    http_get,
    http_status,
    listener,
    wait_until,
    without_metadata,
)


# ---- balancers ----


def test_create_load_balancer_answers_its_address_and_listens_there(elb, burr):
    dns = create_lb(elb, "web", listener(8080, 80), Tags=[{"Key": "team", "Value": "edge"}])
    assert dns == f"{burr.subnet}.1"
    # The listener is bound when the call returns: no targets yet, so 503.
    assert http_get(dns, 8080).status == 503

    # A second balancer gets the next address of the pool, and may use the same port.
    second = elb.create_load_balancer(LoadBalancerName="api", Listeners=[listener(8080, 80)])
    assert without_metadata(second) == {"DNSName": f"{burr.subnet}.2"}
    assert accepts(f"{burr.subnet}.2", 8080)

    # Creating it again with the same listeners changes nothing and answers the same.
    again = elb.create_load_balancer(LoadBalancerName="web", Listeners=[listener(8080, 80)])
    assert without_metadata(again) == {"DNSName": dns}

    d = describe(elb, "web")
    assert d["LoadBalancerName"] == "web"
    assert d["DNSName"] == dns
    assert d["ListenerDescriptions"] == [
        {
            "Listener": {"Protocol": "HTTP", "LoadBalancerPort": 8080, "InstanceProtocol": "HTTP",
                         "InstancePort": 80},
            "PolicyNames": [],
        }
    ]
    assert d["Instances"] == []
    assert d["Scheme"] == "internet-facing"
    assert d["Policies"] == {
        "AppCookieStickinessPolicies": [],
        "LBCookieStickinessPolicies": [],
        "OtherPolicies": [],
    }
    assert d["BackendServerDescriptions"] == []
    assert elb.describe_tags(LoadBalancerNames=["web"])["TagDescriptions"] == [
        {"LoadBalancerName": "web", "Tags": [{"Key": "team", "Value": "edge"}]}
    ]


def test_create_load_balancer_keeps_its_scheme(elb):
    create_lb(elb, "inside", Scheme="internal")
    assert describe(elb, "inside")["Scheme"] == "internal"


def test_delete_load_balancer_removes_it_and_a_missing_one_is_success(elb, burr):
    dns = create_lb(elb, "doomed")
    assert accepts(dns, 8080)

    response = elb.delete_load_balancer(LoadBalancerName="doomed")
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    with pytest.raises(elb.exceptions.AccessPointNotFoundException):
        elb.describe_load_balancers(LoadBalancerNames=["doomed"])
    assert elb.describe_load_balancers()["LoadBalancerDescriptions"] == []
    wait_until(lambda: not accepts(dns, 8080), 2, interval=0.05, what="the listener to close")

    # Deleting what does not exist succeeds, as on AWS.
    missing = elb.delete_load_balancer(LoadBalancerName="never-was")
    assert set(missing) == {"ResponseMetadata"}
    assert http_status(missing) == 200

    # The address went back to the pool.
    assert create_lb(elb, "reborn") == dns


def test_describe_load_balancers_pages_with_next_marker(elb, raw_elb):
    names = [f"lb-{i}" for i in range(5)]
    for n in names:
        create_lb(elb, n)

    seen, pages, marker = [], [], None
    for _ in range(10):
        kw = {"Marker": marker} if marker else {}
        page = elb.describe_load_balancers(PageSize=2, **kw)
        pages.append([d["LoadBalancerName"] for d in page["LoadBalancerDescriptions"]])
        seen += pages[-1]
        marker = page.get("NextMarker")
        if marker is None:
            break
    assert pages == [["lb-0", "lb-1"], ["lb-2", "lb-3"], ["lb-4"]]
    assert seen == names  # every balancer exactly once

    # boto3's own paginator follows the same chain.
    paginated = [
        d["LoadBalancerName"]
        for page in elb.get_paginator("describe_load_balancers").paginate(PageSize=2)
        for d in page["LoadBalancerDescriptions"]
    ]
    assert paginated == names

    # By name: in name order, as every page is (the marker is a name).
    by_name = elb.describe_load_balancers(LoadBalancerNames=["lb-3", "lb-1"])
    assert [d["LoadBalancerName"] for d in by_name["LoadBalancerDescriptions"]] == ["lb-1", "lb-3"]
    assert "NextMarker" not in by_name

    for size in (0, 401):
        with pytest.raises(ClientError) as info:
            raw_elb.describe_load_balancers(PageSize=size)
        assert info.value.response["Error"]["Code"] == "ValidationError"
        assert http_status(info.value.response) == 400
        assert info.value.response["Error"]["Message"] == (
            f"PageSize: {size} is not allowed: must be between 1 and 400"
        )


# ---- listeners ----


def test_create_and_delete_load_balancer_listeners(elb):
    dns = create_lb(elb, "web", listener(8080, 80))

    response = elb.create_load_balancer_listeners(
        LoadBalancerName="web", Listeners=[listener(8081, 81), listener(8082, 82, "TCP")]
    )
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    assert accepts(dns, 8081) and accepts(dns, 8082)
    got = [l["Listener"] for l in describe(elb, "web")["ListenerDescriptions"]]
    assert got == [listener(8080, 80), listener(8081, 81), listener(8082, 82, "TCP")]

    # An identical listener again is accepted as is.
    elb.create_load_balancer_listeners(LoadBalancerName="web", Listeners=[listener(8081, 81)])
    assert len(describe(elb, "web")["ListenerDescriptions"]) == 3

    # Ports without a listener are ignored.
    response = elb.delete_load_balancer_listeners(
        LoadBalancerName="web", LoadBalancerPorts=[8081, 8082, 9999]
    )
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    got = [l["Listener"] for l in describe(elb, "web")["ListenerDescriptions"]]
    assert got == [listener(8080, 80)]
    wait_until(lambda: not accepts(dns, 8081) and not accepts(dns, 8082), 2, interval=0.05,
               what="deleted listeners to close")
    assert accepts(dns, 8080)


# ---- instances and health ----


def test_register_and_deregister_instances_echo_the_instances(elb):
    create_lb(elb, "web", listener(8080, 80))

    response = elb.register_instances_with_load_balancer(
        LoadBalancerName="web",
        Instances=[{"InstanceId": "127.0.0.1"}, {"InstanceId": "127.0.0.1:8081"}],
    )
    assert set(response) == {"Instances", "ResponseMetadata"}
    assert response["Instances"] == [{"InstanceId": "127.0.0.1"}, {"InstanceId": "127.0.0.1:8081"}]

    # The answer lists every registered instance, old and new; a repeat is registered once.
    response = elb.register_instances_with_load_balancer(
        LoadBalancerName="web",
        Instances=[{"InstanceId": "[::1]:8082"}, {"InstanceId": "127.0.0.1"}],
    )
    assert response["Instances"] == [
        {"InstanceId": "127.0.0.1"},
        {"InstanceId": "127.0.0.1:8081"},
        {"InstanceId": "[::1]:8082"},
    ]
    assert describe(elb, "web")["Instances"] == response["Instances"]

    response = elb.deregister_instances_from_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": "127.0.0.1:8081"}]
    )
    assert set(response) == {"Instances", "ResponseMetadata"}
    assert response["Instances"] == [{"InstanceId": "127.0.0.1"}, {"InstanceId": "[::1]:8082"}]
    assert describe(elb, "web")["Instances"] == response["Instances"]


def test_describe_instance_health_reports_every_instance_or_those_asked(elb):
    create_lb(elb, "web", listener(8080, 80))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web",
        Instances=[{"InstanceId": "127.0.0.1:8081"}, {"InstanceId": "127.0.0.1:8082"}],
    )
    unknown = {
        "State": "Unknown",
        "ReasonCode": "ELB",
        "Description": "Instance registration is still in progress.",
    }
    response = elb.describe_instance_health(LoadBalancerName="web")
    assert set(response) == {"InstanceStates", "ResponseMetadata"}
    # The default check (TCP, every 30 s, 10 to be healthy) has not decided yet.
    assert response["InstanceStates"] == [
        {"InstanceId": "127.0.0.1:8081", **unknown},
        {"InstanceId": "127.0.0.1:8082", **unknown},
    ]
    one = elb.describe_instance_health(
        LoadBalancerName="web", Instances=[{"InstanceId": "127.0.0.1:8082"}]
    )
    assert one["InstanceStates"] == [{"InstanceId": "127.0.0.1:8082", **unknown}]


def test_configure_health_check_echoes_the_check(elb):
    create_lb(elb, "web", listener(8080, 80))
    default = describe(elb, "web")["HealthCheck"]
    assert default == {"Target": "TCP:80", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2,
                       "HealthyThreshold": 10}

    check = {"Target": "HTTP:80/health", "Interval": 5, "Timeout": 2, "UnhealthyThreshold": 3,
             "HealthyThreshold": 4}
    response = elb.configure_health_check(LoadBalancerName="web", HealthCheck=check)
    assert set(response) == {"HealthCheck", "ResponseMetadata"}
    assert response["HealthCheck"] == check
    assert describe(elb, "web")["HealthCheck"] == check

    tcp = {"Target": "TCP:81", "Interval": 30, "Timeout": 29, "UnhealthyThreshold": 10,
           "HealthyThreshold": 2}
    assert elb.configure_health_check(LoadBalancerName="web", HealthCheck=tcp)["HealthCheck"] == tcp
    assert describe(elb, "web")["HealthCheck"] == tcp


# ---- policies ----


def test_create_stickiness_and_other_policies_and_describe_them(elb):
    create_lb(elb, "web")

    for response in (
        elb.create_lb_cookie_stickiness_policy(
            LoadBalancerName="web", PolicyName="timed", CookieExpirationPeriod=60
        ),
        elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web", PolicyName="browser"),
        elb.create_app_cookie_stickiness_policy(
            LoadBalancerName="web", PolicyName="app", CookieName="SESSIONID"
        ),
        elb.create_load_balancer_policy(
            LoadBalancerName="web",
            PolicyName="proxy",
            PolicyTypeName="ProxyProtocolPolicyType",
            PolicyAttributes=[{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}],
        ),
    ):
        assert set(response) == {"ResponseMetadata"}
        assert http_status(response) == 200

    response = elb.describe_load_balancer_policies(LoadBalancerName="web")
    assert set(response) == {"PolicyDescriptions", "ResponseMetadata"}
    by_name = {p["PolicyName"]: p for p in response["PolicyDescriptions"]}
    assert set(by_name) == {"timed", "browser", "app", "proxy"}
    assert by_name["timed"] == {
        "PolicyName": "timed",
        "PolicyTypeName": "LBCookieStickinessPolicyType",
        "PolicyAttributeDescriptions": [
            {"AttributeName": "CookieExpirationPeriod", "AttributeValue": "60"}
        ],
    }
    # Without a period (a browser-session cookie): nothing to describe, as on AWS.
    assert by_name["browser"]["PolicyAttributeDescriptions"] == []
    assert by_name["app"] == {
        "PolicyName": "app",
        "PolicyTypeName": "AppCookieStickinessPolicyType",
        "PolicyAttributeDescriptions": [{"AttributeName": "CookieName", "AttributeValue": "SESSIONID"}],
    }
    assert by_name["proxy"] == {
        "PolicyName": "proxy",
        "PolicyTypeName": "ProxyProtocolPolicyType",
        "PolicyAttributeDescriptions": [{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}],
    }

    # Some, by name.
    some = elb.describe_load_balancer_policies(LoadBalancerName="web", PolicyNames=["app", "timed"])
    assert [p["PolicyName"] for p in some["PolicyDescriptions"]] == ["app", "timed"]

    # DescribeLoadBalancers sorts them by kind.
    policies = describe(elb, "web")["Policies"]
    assert policies["AppCookieStickinessPolicies"] == [{"PolicyName": "app", "CookieName": "SESSIONID"}]
    assert sorted(policies["LBCookieStickinessPolicies"], key=lambda p: p["PolicyName"]) == [
        {"PolicyName": "browser"},
        {"PolicyName": "timed", "CookieExpirationPeriod": 60},
    ]
    assert policies["OtherPolicies"] == ["proxy"]


def test_describe_load_balancer_policies_without_a_balancer_lists_the_samples(elb):
    response = elb.describe_load_balancer_policies()
    names = [p["PolicyName"] for p in response["PolicyDescriptions"]]
    assert "ELBSample-ELBDefaultCipherPolicy" in names
    assert "ELBSample-OpenSSLDefaultCipherPolicy" in names
    for p in response["PolicyDescriptions"]:
        assert p["PolicyTypeName"] == "SSLNegotiationPolicyType", p
        assert p["PolicyAttributeDescriptions"], p
    one = elb.describe_load_balancer_policies(PolicyNames=["ELBSample-ELBDefaultCipherPolicy"])
    assert [p["PolicyName"] for p in one["PolicyDescriptions"]] == ["ELBSample-ELBDefaultCipherPolicy"]


def test_describe_load_balancer_policy_types_all_and_by_name(elb):
    response = elb.describe_load_balancer_policy_types()
    assert set(response) == {"PolicyTypeDescriptions", "ResponseMetadata"}
    names = [t["PolicyTypeName"] for t in response["PolicyTypeDescriptions"]]
    for expected in ("LBCookieStickinessPolicyType", "AppCookieStickinessPolicyType",
                     "ProxyProtocolPolicyType", "BackendServerAuthenticationPolicyType",
                     "PublicKeyPolicyType", "SSLNegotiationPolicyType"):
        assert expected in names
    assert len(names) == len(set(names))

    def attributes_of(type_name):
        [t] = elb.describe_load_balancer_policy_types(PolicyTypeNames=[type_name])[
            "PolicyTypeDescriptions"
        ]
        assert t["PolicyTypeName"] == type_name
        assert t["Description"]
        return [
            (a["AttributeName"], a["AttributeType"], a["Cardinality"])
            for a in t["PolicyAttributeTypeDescriptions"]
        ]

    assert attributes_of("LBCookieStickinessPolicyType") == [
        ("CookieExpirationPeriod", "Long", "ZERO_OR_ONE")
    ]
    assert attributes_of("AppCookieStickinessPolicyType") == [("CookieName", "String", "ONE")]
    assert attributes_of("ProxyProtocolPolicyType") == [("ProxyProtocol", "Boolean", "ONE")]

    two = elb.describe_load_balancer_policy_types(
        PolicyTypeNames=["ProxyProtocolPolicyType", "LBCookieStickinessPolicyType"]
    )
    assert [t["PolicyTypeName"] for t in two["PolicyTypeDescriptions"]] == [
        "ProxyProtocolPolicyType",
        "LBCookieStickinessPolicyType",
    ]


def test_delete_load_balancer_policy(elb):
    create_lb(elb, "web")
    elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web", PolicyName="gone")
    elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web", PolicyName="kept")

    response = elb.delete_load_balancer_policy(LoadBalancerName="web", PolicyName="gone")
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    names = [
        p["PolicyName"]
        for p in elb.describe_load_balancer_policies(LoadBalancerName="web")["PolicyDescriptions"]
    ]
    assert names == ["kept"]
    # A policy that does not exist: success, nothing changes.
    assert http_status(elb.delete_load_balancer_policy(LoadBalancerName="web", PolicyName="gone")) == 200


def test_set_load_balancer_policies_of_listener_and_clear_them(elb):
    create_lb(elb, "web", listener(8080, 80), listener(8081, 81))
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=60
    )

    response = elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky"]
    )
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    listeners = describe(elb, "web")["ListenerDescriptions"]
    assert [(l["Listener"]["LoadBalancerPort"], l["PolicyNames"]) for l in listeners] == [
        (8080, ["sticky"]),
        (8081, []),
    ]

    response = elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=[]
    )
    assert set(response) == {"ResponseMetadata"}
    listeners = describe(elb, "web")["ListenerDescriptions"]
    assert [l["PolicyNames"] for l in listeners] == [[], []]
    # Once no listener uses it, it may be deleted.
    elb.delete_load_balancer_policy(LoadBalancerName="web", PolicyName="sticky")


def test_set_load_balancer_policies_for_backend_server(elb):
    create_lb(elb, "web", listener(8080, 80, "TCP"))
    elb.create_load_balancer_policy(
        LoadBalancerName="web",
        PolicyName="proxy",
        PolicyTypeName="ProxyProtocolPolicyType",
        PolicyAttributes=[{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}],
    )

    response = elb.set_load_balancer_policies_for_backend_server(
        LoadBalancerName="web", InstancePort=80, PolicyNames=["proxy"]
    )
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    assert describe(elb, "web")["BackendServerDescriptions"] == [
        {"InstancePort": 80, "PolicyNames": ["proxy"]}
    ]

    elb.set_load_balancer_policies_for_backend_server(
        LoadBalancerName="web", InstancePort=80, PolicyNames=[]
    )
    assert describe(elb, "web")["BackendServerDescriptions"] == []


# ---- attributes ----

DEFAULT_ATTRIBUTES = {
    "CrossZoneLoadBalancing": {"Enabled": False},
    "AccessLog": {"Enabled": False},
    "ConnectionDraining": {"Enabled": False, "Timeout": 300},
    "ConnectionSettings": {"IdleTimeout": 60},
    "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "defensive"}],
}


def test_modify_and_describe_load_balancer_attributes_round_trip(elb):
    create_lb(elb, "web")
    response = elb.describe_load_balancer_attributes(LoadBalancerName="web")
    assert set(response) == {"LoadBalancerAttributes", "ResponseMetadata"}
    assert response["LoadBalancerAttributes"] == DEFAULT_ATTRIBUTES

    wanted = {
        "CrossZoneLoadBalancing": {"Enabled": True},
        "AccessLog": {"Enabled": True, "S3BucketName": "logs", "EmitInterval": 5,
                      "S3BucketPrefix": "burr/web"},
        "ConnectionDraining": {"Enabled": True, "Timeout": 120},
        "ConnectionSettings": {"IdleTimeout": 30},
        "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "strictest"}],
    }
    response = elb.modify_load_balancer_attributes(
        LoadBalancerName="web", LoadBalancerAttributes=wanted
    )
    assert set(response) == {"LoadBalancerName", "LoadBalancerAttributes", "ResponseMetadata"}
    assert response["LoadBalancerName"] == "web"
    assert response["LoadBalancerAttributes"] == wanted
    described = elb.describe_load_balancer_attributes(LoadBalancerName="web")
    assert described["LoadBalancerAttributes"] == wanted

    # One attribute at a time leaves the others; disabled draining keeps its timeout.
    response = elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": False}},
    )
    assert response["LoadBalancerName"] == "web"
    assert response["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": False,
                                                                        "Timeout": 120}
    expected = dict(wanted, ConnectionDraining={"Enabled": False, "Timeout": 120})
    assert elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"
    ] == expected


def test_modify_load_balancer_attributes_echoes_only_what_was_set(elb):
    create_lb(elb, "web")
    response = elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"CrossZoneLoadBalancing": {"Enabled": True}},
    )
    assert without_metadata(response) == {
        "LoadBalancerName": "web",
        "LoadBalancerAttributes": {"CrossZoneLoadBalancing": {"Enabled": True}},
    }


# ---- tags and limits ----


def test_add_remove_and_describe_tags(elb):
    create_lb(elb, "web")
    create_lb(elb, "api")

    response = elb.add_tags(
        LoadBalancerNames=["web", "api"],
        Tags=[{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "edge"}],
    )
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    elb.add_tags(LoadBalancerNames=["web"], Tags=[{"Key": "env", "Value": "prod"}])

    response = elb.describe_tags(LoadBalancerNames=["web", "api"])
    assert set(response) == {"TagDescriptions", "ResponseMetadata"}
    assert response["TagDescriptions"] == [
        {"LoadBalancerName": "web",
         "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "edge"}]},
        {"LoadBalancerName": "api",
         "Tags": [{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "edge"}]},
    ]

    response = elb.remove_tags(LoadBalancerNames=["web"], Tags=[{"Key": "env"}, {"Key": "nope"}])
    assert set(response) == {"ResponseMetadata"}
    assert http_status(response) == 200
    assert elb.describe_tags(LoadBalancerNames=["web"])["TagDescriptions"] == [
        {"LoadBalancerName": "web", "Tags": [{"Key": "owner", "Value": "edge"}]}
    ]


def test_describe_account_limits(elb):
    response = elb.describe_account_limits()
    assert set(response) == {"Limits", "ResponseMetadata"}
    assert response["Limits"] == [
        {"Name": "classic-load-balancers", "Max": "100"},
        {"Name": "classic-listeners", "Max": "100"},
        {"Name": "classic-registered-instances", "Max": "1000"},
    ]


# ---- a balancer whose listeners were all deleted ----

CHECK = {"Target": "HTTP:80/ping", "Interval": 7, "Timeout": 3, "UnhealthyThreshold": 4,
         "HealthyThreshold": 5}


def test_settings_of_a_balancer_without_listeners_are_kept(elb):
    create_lb(elb, "web", listener(8080, 80))
    elb.delete_load_balancer_listeners(LoadBalancerName="web", LoadBalancerPorts=[8080])

    response = elb.configure_health_check(LoadBalancerName="web", HealthCheck=CHECK)
    assert response["HealthCheck"] == CHECK
    assert describe(elb, "web")["HealthCheck"] == CHECK

    response = elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 42},
                                "ConnectionSettings": {"IdleTimeout": 33}},
    )
    assert response["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True,
                                                                        "Timeout": 42}
    assert response["LoadBalancerAttributes"]["ConnectionSettings"] == {"IdleTimeout": 33}
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]
    assert attributes["ConnectionDraining"] == {"Enabled": True, "Timeout": 42}
    assert attributes["ConnectionSettings"] == {"IdleTimeout": 33}


def test_deleting_the_last_listener_keeps_instances_and_settings(elb):
    create_lb(elb, "web", listener(8080, 80))
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": "127.0.0.1:9001"}]
    )
    elb.configure_health_check(LoadBalancerName="web", HealthCheck=CHECK)
    elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 42},
                                "ConnectionSettings": {"IdleTimeout": 33}},
    )
    before = elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]

    elb.delete_load_balancer_listeners(LoadBalancerName="web", LoadBalancerPorts=[8080])
    assert describe(elb, "web")["Instances"] == [{"InstanceId": "127.0.0.1:9001"}]
    elb.create_load_balancer_listeners(LoadBalancerName="web", Listeners=[listener(8080, 80)])

    d = describe(elb, "web")
    assert d["Instances"] == [{"InstanceId": "127.0.0.1:9001"}]
    assert d["HealthCheck"] == CHECK
    assert elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"] == before


def test_pages_of_named_balancers_go_by_name_whatever_the_order_asked(elb):
    for name in ["b", "c", "a"]:
        create_lb(elb, name, listener(8080, 80))
    seen, marker = [], None
    for _ in range(5):
        kwargs = {"Marker": marker} if marker else {}
        page = elb.describe_load_balancers(
            LoadBalancerNames=["c", "a", "b", "a"], PageSize=1, **kwargs)
        seen += [d["LoadBalancerName"] for d in page["LoadBalancerDescriptions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["a", "b", "c"]


def test_a_cookie_policy_made_through_create_load_balancer_policy_is_stored_like_its_own_call(elb):
    create_lb(elb, "web", listener(8080, 80))
    elb.create_load_balancer_policy(
        LoadBalancerName="web", PolicyName="generic",
        PolicyTypeName="LBCookieStickinessPolicyType", PolicyAttributes=[])
    policies = elb.describe_load_balancer_policies(
        LoadBalancerName="web", PolicyNames=["generic"])["PolicyDescriptions"]
    # No period given: none described, as for CreateLBCookieStickinessPolicy without one.
    assert policies[0]["PolicyAttributeDescriptions"] == []
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer_policy(
            LoadBalancerName="web", PolicyName="negative",
            PolicyTypeName="LBCookieStickinessPolicyType",
            PolicyAttributes=[{"AttributeName": "CookieExpirationPeriod", "AttributeValue": "-5"}])
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_an_instance_registered_with_its_port_is_reported_and_carried_with_it(elb):
    create_lb(elb, "web", listener(8080, 9001))
    registered = elb.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": "127.0.0.1:9001"}])
    assert registered["Instances"] == [{"InstanceId": "127.0.0.1:9001"}]
    elb.create_load_balancer_listeners(LoadBalancerName="web", Listeners=[listener(8081, 9002)])
    assert describe(elb, "web")["Instances"] == [{"InstanceId": "127.0.0.1:9001"}]
