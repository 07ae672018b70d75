"""Availability zones, subnets and security groups round-trip as labels through the real boto3,
and the region a client signs with is a namespace of its own: balancers and tags of one region
are invisible from another, while listener addresses stay one machine-wide resource."""

import pytest
from botocore.exceptions import ClientError

from burr_e2e import create_lb, describe, http_get, listener, snapshot, without_metadata

PORT = 8080


def test_create_keeps_zones_subnets_and_security_groups_as_given(elb):
    create_lb(elb, "web", AvailabilityZones=["us-east-1b", "us-east-1a"],
              SecurityGroups=["sg-2", "sg-1"])
    d = describe(elb, "web")
    assert d["AvailabilityZones"] == ["us-east-1b", "us-east-1a"]
    assert d["Subnets"] == []
    assert d["SecurityGroups"] == ["sg-2", "sg-1"]
    # The members Terraform reads are always there, and VPCId (which would send it to EC2) not.
    assert {"HealthCheck", "SourceSecurityGroup", "Policies", "BackendServerDescriptions",
            "Instances", "Scheme"} <= set(d)
    assert "VPCId" not in d


def test_zone_and_subnet_operations_answer_the_whole_list_and_repeats_change_nothing(elb):
    create_lb(elb, "web", AvailabilityZones=["us-east-1a"])
    enabled = elb.enable_availability_zones_for_load_balancer(
        LoadBalancerName="web", AvailabilityZones=["us-east-1c", "us-east-1a"])
    assert without_metadata(enabled) == {"AvailabilityZones": ["us-east-1a", "us-east-1c"]}
    before = snapshot(elb)
    again = elb.enable_availability_zones_for_load_balancer(
        LoadBalancerName="web", AvailabilityZones=["us-east-1c"])
    assert again["AvailabilityZones"] == ["us-east-1a", "us-east-1c"]
    assert snapshot(elb) == before

    disabled = elb.disable_availability_zones_for_load_balancer(
        LoadBalancerName="web", AvailabilityZones=["us-east-1a"])
    assert without_metadata(disabled) == {"AvailabilityZones": ["us-east-1c"]}
    # The last zone stays: AWS's rule, with AWS's error code; nothing changes.
    before = snapshot(elb)
    with pytest.raises(elb.exceptions.InvalidConfigurationRequestException) as info:
        elb.disable_availability_zones_for_load_balancer(
            LoadBalancerName="web", AvailabilityZones=["us-east-1c"])
    assert "at least one" in info.value.response["Error"]["Message"]
    assert snapshot(elb) == before

    attached = elb.attach_load_balancer_to_subnets(
        LoadBalancerName="web", Subnets=["subnet-1", "subnet-2"])
    assert without_metadata(attached) == {"Subnets": ["subnet-1", "subnet-2"]}
    detached = elb.detach_load_balancer_from_subnets(
        LoadBalancerName="web", Subnets=["subnet-1", "subnet-9"])
    assert without_metadata(detached) == {"Subnets": ["subnet-2"]}

    groups = elb.apply_security_groups_to_load_balancer(
        LoadBalancerName="web", SecurityGroups=["sg-9", "sg-8"])
    assert without_metadata(groups) == {"SecurityGroups": ["sg-9", "sg-8"]}
    d = describe(elb, "web")
    assert (d["AvailabilityZones"], d["Subnets"], d["SecurityGroups"]) == (
        ["us-east-1c"], ["subnet-2"], ["sg-9", "sg-8"])


def test_bad_labels_and_unknown_balancers_are_refused_by_name(elb):
    create_lb(elb, "web")
    before = snapshot(elb)
    with pytest.raises(ClientError) as info:
        elb.apply_security_groups_to_load_balancer(LoadBalancerName="web",
                                                   SecurityGroups=["sg with space"])
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith('SecurityGroups: "sg with space" is not allowed')
    with pytest.raises(elb.exceptions.AccessPointNotFoundException) as info:
        elb.attach_load_balancer_to_subnets(LoadBalancerName="nope", Subnets=["subnet-1"])
    assert info.value.response["Error"]["Message"] == \
        "There is no ACTIVE Load Balancer named 'nope'"
    assert snapshot(elb) == before


def test_regions_are_namespaces_of_balancers_and_tags(burr, targets):
    east = burr.client(region="us-east-1")
    west = burr.client(region="eu-west-1")
    east_target, west_target = targets("east"), targets("west")
    east_host = create_lb(east, "web", listener(PORT, 80), Tags=[{"Key": "side", "Value": "east"}])
    west_host = create_lb(west, "web", listener(PORT, 80), Tags=[{"Key": "side", "Value": "west"}])
    # Listener addresses are one machine-wide resource: each balancer has its own.
    assert east_host != west_host
    east.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": east_target.address}])
    west.register_instances_with_load_balancer(
        LoadBalancerName="web", Instances=[{"InstanceId": west_target.address}])

    for client, side in ((east, "east"), (west, "west")):
        [d] = client.describe_load_balancers()["LoadBalancerDescriptions"]
        assert d["LoadBalancerName"] == "web"
        [tags] = client.describe_tags(LoadBalancerNames=["web"])["TagDescriptions"]
        assert tags == {"LoadBalancerName": "web", "Tags": [{"Key": "side", "Value": side}]}
    assert describe(east, "web")["DNSName"] == east_host
    assert describe(west, "web")["DNSName"] == west_host

    # Traffic reaches each region's own targets.
    assert http_get(east_host, PORT).body.strip() == "east"
    assert http_get(west_host, PORT).body.strip() == "west"

    # A balancer of one region is not found from another, and a name cannot reach across.
    create_lb(west, "only-west", listener(PORT + 1, 80))
    with pytest.raises(east.exceptions.AccessPointNotFoundException):
        east.describe_load_balancers(LoadBalancerNames=["only-west"])
    sneaky = burr.client(region="us-east-1", parameter_validation=False)
    with pytest.raises(ClientError) as info:
        sneaky.describe_load_balancers(LoadBalancerNames=["eu-west-1/only-west"])
    assert info.value.response["Error"]["Code"] == "ValidationError"

    # Deleting one region's balancer leaves the other's.
    east.delete_load_balancer(LoadBalancerName="web")
    assert east.describe_load_balancers()["LoadBalancerDescriptions"] == []
    assert describe(west, "web")["DNSName"] == west_host
    assert http_get(west_host, PORT).body.strip() == "west"
