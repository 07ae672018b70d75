"""Every error code burr answers with, reached through the real boto3: the wire code, the HTTP
status, boto3's own exception class where the service model has one, and, for every refused
change, that nothing changed (balancers, policies, attributes and tags as before)."""

import pytest
from botocore.exceptions import ClientError

from burr_e2e import create_lb, describe, free_port, http_status, listener, snapshot

HEALTH = {"Target": "HTTP:80/health", "Interval": 5, "Timeout": 2, "UnhealthyThreshold": 2,
          "HealthyThreshold": 2}


def refused(call, code, status=400, exception=None, message=None, client=None):
    """Runs `call`, which must fail with `code` and `status` (and boto3's `exception` class,
    and `message`, when given); returns the error."""
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == code, info.value.response
    assert http_status(info.value.response) == status, info.value.response
    assert error["Type"] == "Sender"
    if exception:
        assert isinstance(info.value, getattr(client.exceptions, exception)), type(info.value)
    if message is not None:
        assert error["Message"] == message
    assert error["Message"]
    return error


def refused_unchanged(elb, call, code, status=400, exception=None, message=None):
    """As `refused`, for a change: everything the API reports is as it was."""
    before = snapshot(elb)
    error = refused(call, code, status, exception, message, client=elb)
    assert snapshot(elb) == before
    return error


@pytest.fixture
def web(elb):
    """A balancer with two instances, a policy in use, attributes and tags, for refused calls
    to leave alone."""
    create_lb(elb, "web", listener(8080, 80), listener(8081, 81, "TCP"),
              Tags=[{"Key": "env", "Value": "test"}])
    elb.register_instances_with_load_balancer(
        LoadBalancerName="web",
        Instances=[{"InstanceId": "127.0.0.1:9001"}, {"InstanceId": "127.0.0.1:9002"}],
    )
    elb.create_lb_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=60
    )
    elb.create_app_cookie_stickiness_policy(
        LoadBalancerName="web", PolicyName="app", CookieName="SESSIONID"
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky"]
    )
    elb.modify_load_balancer_attributes(
        LoadBalancerName="web",
        LoadBalancerAttributes={"ConnectionSettings": {"IdleTimeout": 45}},
    )
    return "web"


def test_load_balancer_not_found(elb, web):
    message = "There is no ACTIVE Load Balancer named 'ghost'"
    refused(lambda: elb.describe_load_balancers(LoadBalancerNames=["ghost"]),
            "LoadBalancerNotFound", 400, "AccessPointNotFoundException", message, client=elb)
    refused(lambda: elb.describe_load_balancer_attributes(LoadBalancerName="ghost"),
            "LoadBalancerNotFound", 400, "AccessPointNotFoundException", message, client=elb)
    refused(lambda: elb.describe_instance_health(LoadBalancerName="ghost"),
            "LoadBalancerNotFound", 400, "AccessPointNotFoundException", message, client=elb)
    refused(lambda: elb.describe_tags(LoadBalancerNames=["web", "ghost"]),
            "LoadBalancerNotFound", 400, "AccessPointNotFoundException", message, client=elb)
    refused(lambda: elb.describe_load_balancer_policies(LoadBalancerName="ghost"),
            "LoadBalancerNotFound", 400, "AccessPointNotFoundException", message, client=elb)
    for call in (
        lambda: elb.create_load_balancer_listeners(LoadBalancerName="ghost",
                                                   Listeners=[listener(8090, 90)]),
        lambda: elb.delete_load_balancer_listeners(LoadBalancerName="ghost",
                                                   LoadBalancerPorts=[8080]),
        lambda: elb.register_instances_with_load_balancer(
            LoadBalancerName="ghost", Instances=[{"InstanceId": "127.0.0.1:9003"}]),
        lambda: elb.deregister_instances_from_load_balancer(
            LoadBalancerName="ghost", Instances=[{"InstanceId": "127.0.0.1:9001"}]),
        lambda: elb.configure_health_check(LoadBalancerName="ghost", HealthCheck=HEALTH),
        lambda: elb.create_lb_cookie_stickiness_policy(LoadBalancerName="ghost",
                                                       PolicyName="p"),
        lambda: elb.create_app_cookie_stickiness_policy(LoadBalancerName="ghost",
                                                        PolicyName="p", CookieName="c"),
        lambda: elb.delete_load_balancer_policy(LoadBalancerName="ghost", PolicyName="sticky"),
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="ghost", LoadBalancerPort=8080, PolicyNames=[]),
        lambda: elb.modify_load_balancer_attributes(
            LoadBalancerName="ghost",
            LoadBalancerAttributes={"CrossZoneLoadBalancing": {"Enabled": True}}),
        # Tags are all or nothing: "web" exists, "ghost" does not.
        lambda: elb.add_tags(LoadBalancerNames=["web", "ghost"],
                             Tags=[{"Key": "k", "Value": "v"}]),
        lambda: elb.remove_tags(LoadBalancerNames=["web", "ghost"], Tags=[{"Key": "env"}]),
    ):
        refused_unchanged(elb, call, "LoadBalancerNotFound", 400, "AccessPointNotFoundException",
                          message)


def test_duplicate_load_balancer_name(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="web", Listeners=[listener(8080, 8000)]),
        "DuplicateLoadBalancerName", 400, "DuplicateAccessPointNameException",
        "Load Balancer named 'web' already exists and it is configured with different parameters.",
    )


def test_duplicate_listener(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer_listeners(
            LoadBalancerName="web", Listeners=[listener(8090, 90), listener(8080, 8000)]),
        "DuplicateListener", 400, "DuplicateListenerException",
    )


def test_duplicate_policy_name(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_lb_cookie_stickiness_policy(
            LoadBalancerName="web", PolicyName="sticky", CookieExpirationPeriod=120),
        "DuplicatePolicyName", 400, "DuplicatePolicyNameException",
    )
    refused_unchanged(
        elb,
        lambda: elb.create_app_cookie_stickiness_policy(
            LoadBalancerName="web", PolicyName="sticky", CookieName="X"),
        "DuplicatePolicyName", 400, "DuplicatePolicyNameException",
    )


def test_duplicate_tag_keys(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.add_tags(LoadBalancerNames=["web"],
                             Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]),
        "DuplicateTagKeys", 400, "DuplicateTagKeysException",
    )


def test_invalid_configuration_request_is_409(elb, web):
    elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web", PolicyName="other")
    # A stickiness policy on a TCP listener.
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="web", LoadBalancerPort=8081, PolicyNames=["sticky"]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    # Two stickiness policies on one listener.
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky", "app"]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["sticky", "other"]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    # Deleting a policy a listener uses.
    refused_unchanged(
        elb,
        lambda: elb.delete_load_balancer_policy(LoadBalancerName="web", PolicyName="sticky"),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    assert describe(elb, "web")["ListenerDescriptions"][0]["PolicyNames"] == ["sticky"]


def test_port_clash_under_listen_host_is_409(burr_factory):
    burr = burr_factory("shared-host", listen_host="127.0.0.1")
    elb = burr.client()
    port, other = free_port(), free_port()
    dns = create_lb(elb, "first", listener(port, 80))
    assert dns == "127.0.0.1"
    before = snapshot(elb)

    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="second",
                                         Listeners=[listener(port, 81)]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    create_lb(elb, "second", listener(other, 81))
    refused(
        lambda: elb.create_load_balancer_listeners(LoadBalancerName="second",
                                                   Listeners=[listener(port, 82)]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException", client=elb,
    )
    assert describe(elb, "first") == before["descriptions"][0]
    assert [l["Listener"]["LoadBalancerPort"]
            for l in describe(elb, "second")["ListenerDescriptions"]] == [other]


def test_invalid_instance(elb, web):
    error = refused_unchanged(
        elb,
        lambda: elb.register_instances_with_load_balancer(
            LoadBalancerName="web", Instances=[{"InstanceId": "i-0123abcd"}]),
        "InvalidInstance", 400, "InvalidEndPointException",
    )
    assert "i-0123abcd" in error["Message"]
    refused_unchanged(
        elb,
        lambda: elb.deregister_instances_from_load_balancer(
            LoadBalancerName="web",
            Instances=[{"InstanceId": "127.0.0.1:9001"}, {"InstanceId": "127.0.0.1:9999"}]),
        "InvalidInstance", 400, "InvalidEndPointException",
    )
    # Asked for by name, an instance that is not registered is reported, as on AWS; an id that
    # is no address at all is refused.
    states = elb.describe_instance_health(
        LoadBalancerName="web", Instances=[{"InstanceId": "127.0.0.1:9999"}])["InstanceStates"]
    assert states == [{
        "InstanceId": "127.0.0.1:9999", "State": "OutOfService", "ReasonCode": "N/A",
        "Description": "Instance is not currently registered with the LoadBalancer.",
    }]
    refused(
        lambda: elb.describe_instance_health(
            LoadBalancerName="web", Instances=[{"InstanceId": "i-0123abcd"}]),
        "InvalidInstance", 400, "InvalidEndPointException", client=elb,
    )


def test_listener_not_found(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="web", LoadBalancerPort=9999, PolicyNames=["sticky"]),
        "ListenerNotFound", 400, "ListenerNotFoundException",
        "There is no listener on port 9999 of load balancer 'web'",
    )


def test_policy_not_found(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_of_listener(
            LoadBalancerName="web", LoadBalancerPort=8080, PolicyNames=["nope"]),
        "PolicyNotFound", 400, "PolicyNotFoundException",
    )
    refused_unchanged(
        elb,
        lambda: elb.set_load_balancer_policies_for_backend_server(
            LoadBalancerName="web", InstancePort=80, PolicyNames=["nope"]),
        "PolicyNotFound", 400, "PolicyNotFoundException",
    )
    refused(
        lambda: elb.describe_load_balancer_policies(LoadBalancerName="web",
                                                    PolicyNames=["sticky", "nope"]),
        "PolicyNotFound", 400, "PolicyNotFoundException", client=elb,
    )


def test_policy_type_not_found(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer_policy(
            LoadBalancerName="web", PolicyName="mystery", PolicyTypeName="NoSuchPolicyType"),
        "PolicyTypeNotFound", 400, "PolicyTypeNotFoundException",
    )
    refused(
        lambda: elb.describe_load_balancer_policy_types(PolicyTypeNames=["NoSuchPolicyType"]),
        "PolicyTypeNotFound", 400, "PolicyTypeNotFoundException", client=elb,
    )


def test_too_many_load_balancers(elb, burr):
    # 100 is the limit; each with one listener on its own address.
    for i in range(100):
        elb.create_load_balancer(LoadBalancerName=f"lb-{i:03}", Listeners=[listener(8080, 80)])
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="lb-100",
                                         Listeners=[listener(8080, 80)]),
        "TooManyLoadBalancers", 400, "TooManyAccessPointsException",
    )
    names = [
        d["LoadBalancerName"]
        for page in elb.get_paginator("describe_load_balancers").paginate()
        for d in page["LoadBalancerDescriptions"]
    ]
    assert len(names) == 100 and "lb-100" not in names
    # One deleted, one may be created again.
    elb.delete_load_balancer(LoadBalancerName="lb-000")
    create_lb(elb, "lb-100")


def test_too_many_policies(elb, web):
    # "web" has 2 policies; 50 is the limit.
    for i in range(48):
        elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web", PolicyName=f"p-{i}")
    assert len(elb.describe_load_balancer_policies(LoadBalancerName="web")[
        "PolicyDescriptions"]) == 50
    refused_unchanged(
        elb,
        lambda: elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web",
                                                       PolicyName="one-too-many"),
        "TooManyPolicies", 400, "TooManyPoliciesException",
    )


def test_too_many_tags(elb, web):
    # "web" has 1 tag; 50 is the limit.
    elb.add_tags(LoadBalancerNames=["web"],
                 Tags=[{"Key": f"k{i}", "Value": str(i)} for i in range(49)])
    # Replacing a value is no new tag.
    elb.add_tags(LoadBalancerNames=["web"], Tags=[{"Key": "k0", "Value": "new"}])
    refused_unchanged(
        elb,
        lambda: elb.add_tags(LoadBalancerNames=["web"], Tags=[{"Key": "k50", "Value": "x"}]),
        "TooManyTags", 400, "TooManyTagsException",
    )
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(
            LoadBalancerName="tagged", Listeners=[listener(8080, 80)],
            Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]),
        "TooManyTags", 400, "TooManyTagsException",
    )


def test_unsupported_protocol(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="ftp",
                                         Listeners=[listener(2121, 21, "FTP")]),
        "UnsupportedProtocol", 400, "UnsupportedProtocolException",
    )
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer_listeners(LoadBalancerName="web",
                                                   Listeners=[listener(2121, 21, "FTP")]),
        "UnsupportedProtocol", 400, "UnsupportedProtocolException",
    )


def test_load_balancer_attribute_not_found(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.modify_load_balancer_attributes(
            LoadBalancerName="web",
            LoadBalancerAttributes={
                "CrossZoneLoadBalancing": {"Enabled": True},
                "AdditionalAttributes": [{"Key": "no.such.attribute", "Value": "x"}],
            }),
        "LoadBalancerAttributeNotFound", 400, "LoadBalancerAttributeNotFoundException",
    )


def test_certificate_not_found(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="secure",
                                         Listeners=[listener(8443, 80, "HTTPS")]),
        "CertificateNotFound", 400, "CertificateNotFoundException",
    )
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer_listeners(LoadBalancerName="web",
                                                   Listeners=[listener(8443, 80, "HTTPS")]),
        "CertificateNotFound", 400, "CertificateNotFoundException",
    )


def test_invalid_scheme(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="schemed",
                                         Listeners=[listener(8080, 80)], Scheme="sideways"),
        "InvalidScheme", 400, "InvalidSchemeException",
    )


def test_validation_errors(elb, raw_elb, web):
    for bad in ("bad_name", "-leading", "trailing-", "a" * 33):
        refused_unchanged(
            elb,
            lambda: elb.create_load_balancer(LoadBalancerName=bad,
                                             Listeners=[listener(8080, 80)]),
            "ValidationError", 400,
        )
    # botocore itself refuses an Interval below 5; burr must too.
    refused_unchanged(
        raw_elb,
        lambda: raw_elb.configure_health_check(LoadBalancerName="web",
                                               HealthCheck=dict(HEALTH, Interval=3)),
        "ValidationError", 400,
        message="HealthCheck.Interval: 3 is not allowed: must be between 5 and 300 seconds",
    )
    for timeout in (5, 10):  # the Timeout must be below the Interval
        error = refused_unchanged(
            elb,
            lambda: elb.configure_health_check(
                LoadBalancerName="web", HealthCheck=dict(HEALTH, Interval=5, Timeout=timeout)),
            "ValidationError", 400,
        )
        assert error["Message"].startswith(f"HealthCheck.Timeout: {timeout} is not allowed"), error
    refused_unchanged(
        elb,
        lambda: elb.configure_health_check(LoadBalancerName="web",
                                           HealthCheck=dict(HEALTH, Target="HTTP:80")),
        "ValidationError", 400,
    )
    refused_unchanged(
        elb,
        lambda: elb.modify_load_balancer_attributes(
            LoadBalancerName="web",
            LoadBalancerAttributes={"ConnectionSettings": {"IdleTimeout": 3601}}),
        "ValidationError", 400,
    )
    assert describe(elb, "web")["HealthCheck"]["Target"] == "TCP:80"


def test_missing_parameter(elb, raw_elb, web):
    refused_unchanged(
        raw_elb,
        lambda: raw_elb.create_load_balancer(LoadBalancerName="nolisteners"),
        "MissingParameter", 400,
        message="The request must contain the parameter Listeners",
    )
    refused_unchanged(
        raw_elb,
        lambda: raw_elb.create_load_balancer(Listeners=[listener(8080, 80)]),
        "MissingParameter", 400,
        message="The request must contain the parameter LoadBalancerName",
    )
    refused_unchanged(
        raw_elb,
        lambda: raw_elb.create_lb_cookie_stickiness_policy(LoadBalancerName="web"),
        "MissingParameter", 400,
        message="The request must contain the parameter PolicyName",
    )
    refused_unchanged(
        raw_elb,
        lambda: raw_elb.set_load_balancer_policies_of_listener(LoadBalancerName="web",
                                                               PolicyNames=[]),
        "MissingParameter", 400,
        message="The request must contain the parameter LoadBalancerPort",
    )
    refused(
        lambda: raw_elb.describe_load_balancer_attributes(),
        "MissingParameter", 400,
        message="The request must contain the parameter LoadBalancerName", client=raw_elb,
    )


def test_certificate_that_does_not_exist_is_certificate_not_found(elb, web, tmp_path):
    missing = str(tmp_path / "no-such-certificate.pem")
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(
            LoadBalancerName="secure",
            Listeners=[listener(8443, 80, "HTTPS", SSLCertificateId=missing)]),
        "CertificateNotFound", 400, "CertificateNotFoundException",
    )


def test_two_listeners_on_one_port_in_one_request(elb, web):
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer(LoadBalancerName="twice",
                                         Listeners=[listener(8080, 80), listener(8080, 81)]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )
    refused_unchanged(
        elb,
        lambda: elb.create_load_balancer_listeners(
            LoadBalancerName="web", Listeners=[listener(8090, 80), listener(8090, 81)]),
        "InvalidConfigurationRequest", 409, "InvalidConfigurationRequestException",
    )


def test_two_listeners_on_one_port_are_refused_with_a_true_message(elb, burr):
    error = refused(
        lambda: elb.create_load_balancer(LoadBalancerName="twice",
                                         Listeners=[listener(8080, 80), listener(8080, 81)]),
        "InvalidConfigurationRequest", 409, client=elb,
    )
    assert "configuration file" not in error["Message"]
    assert "8080" in error["Message"]


def test_tag_text_outside_the_aws_pattern_is_refused(elb, web):
    for key, value in [("ok", "bell\u0007"), ("semi;colon", "v"), ("aws:reserved", "v")]:
        refused_unchanged(
            elb,
            lambda: elb.add_tags(LoadBalancerNames=["web"], Tags=[{"Key": key, "Value": value}]),
            "ValidationError", 400,
        )
