"""The ELBv2 API (2015-12-01) through boto3's `elbv2` client against the real binary: load
balancers, target groups, targets and their health, attributes, tags, account limits and SSL
policies; every reachable error with its boto3 exception, and the state unchanged after each
refusal."""

from __future__ import annotations

import ipaddress

import botocore.exceptions
import pytest


VPC = "vpc-0burr"


def create_alb(elbv2, name="web", **extra):
    args = dict(Name=name, Subnets=["subnet-a", "subnet-b"], Type="application")
    args.update(extra)
    return elbv2.create_load_balancer(**args)["LoadBalancers"][0]


def create_tg(elbv2, name="blue", protocol="HTTP", port=8080, **extra):
    args = dict(Name=name, Protocol=protocol, Port=port, VpcId=VPC, TargetType="ip")
    args.update(extra)
    return elbv2.create_target_group(**args)["TargetGroups"][0]


def everything(elbv2) -> dict:
    """What the API reports of every load balancer and target group, to compare before and
    after a refused call."""
    lbs = elbv2.describe_load_balancers()["LoadBalancers"]
    tgs = elbv2.describe_target_groups()["TargetGroups"]
    return {
        "lbs": lbs,
        "lb_attributes": [elbv2.describe_load_balancer_attributes(LoadBalancerArn=b["LoadBalancerArn"])["Attributes"] for b in lbs],
        "tgs": tgs,
        "tg_attributes": [elbv2.describe_target_group_attributes(TargetGroupArn=t["TargetGroupArn"])["Attributes"] for t in tgs],
        "health": [elbv2.describe_target_health(TargetGroupArn=t["TargetGroupArn"])["TargetHealthDescriptions"] for t in tgs],
    }


def refused(call, exception: str, status: int = 400, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == exception, error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return error["Message"]


def test_load_balancer_lifecycle(elbv2, burr):
    lb = create_alb(elbv2, Tags=[{"Key": "team", "Value": "web"}], SecurityGroups=["sg-1"])
    arn = lb["LoadBalancerArn"]
    assert arn.startswith("arn:aws:elasticloadbalancing:us-east-1:")
    assert ":loadbalancer/app/web/" in arn and len(arn.rsplit("/", 1)[1]) == 16
    assert lb["State"]["Code"] == "active"
    assert lb["Type"] == "application" and lb["Scheme"] == "internet-facing"
    assert [z["SubnetId"] for z in lb["AvailabilityZones"]] == ["subnet-a", "subnet-b"]
    assert lb["SecurityGroups"] == ["sg-1"]
    assert ipaddress.ip_address(lb["DNSName"]).is_loopback  # its own address from the pool
    # Idempotent create answers the same balancer.
    assert create_alb(elbv2, SecurityGroups=["sg-1"])["LoadBalancerArn"] == arn
    assert elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"] == arn
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["LoadBalancerName"] == "web"
    tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    assert tags == [{"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "web"}]}]
    # Classic does not see it, and a Classic balancer cannot take its name.
    assert burr.client().describe_load_balancers()["LoadBalancerDescriptions"] == []
    elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=["sg-2", "sg-3"])
    elbv2.set_subnets(LoadBalancerArn=arn, Subnets=["subnet-c"])
    elbv2.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="dualstack")
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert lb["SecurityGroups"] == ["sg-2", "sg-3"]
    assert [z["SubnetId"] for z in lb["AvailabilityZones"]] == ["subnet-c"]
    assert lb["IpAddressType"] == "dualstack"
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    refused(elbv2.describe_load_balancers, "LoadBalancerNotFound", LoadBalancerArns=[arn])
    refused(elbv2.describe_load_balancers, "LoadBalancerNotFound", Names=["web"])


def test_load_balancer_errors_change_nothing(elbv2, raw_elbv2):
    create_alb(elbv2)
    before = everything(elbv2)
    refused(elbv2.create_load_balancer, "DuplicateLoadBalancerName", Name="web", Type="network", Subnets=["subnet-a"])
    refused(elbv2.create_load_balancer, "ValidationError", Name="-web", Subnets=["subnet-a"])
    refused(elbv2.create_load_balancer, "ValidationError", Name="internal-x", Subnets=["subnet-a"])
    refused(raw_elbv2.create_load_balancer, "ValidationError", Name="gw", Type="gateway")
    refused(elbv2.create_load_balancer, "InvalidScheme", Name="x", Scheme="public")
    refused(elbv2.create_load_balancer, "DuplicateTagKeys", Name="x",
            Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    arn = before["lbs"][0]["LoadBalancerArn"]
    refused(elbv2.modify_load_balancer_attributes, "ValidationError", LoadBalancerArn=arn,
            Attributes=[{"Key": "no.such.key", "Value": "1"}])
    refused(elbv2.modify_load_balancer_attributes, "ValidationError", LoadBalancerArn=arn,
            Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "4001"}])
    refused(elbv2.set_ip_address_type, "ValidationError", LoadBalancerArn=arn, IpAddressType="ipv5")
    wrong_id = arn[:-16] + "0" * 16
    refused(elbv2.delete_load_balancer, "LoadBalancerNotFound", LoadBalancerArn=wrong_id)
    refused(elbv2.describe_load_balancers, "ValidationError", LoadBalancerArns=["arn:aws:s3:::bucket"])
    assert everything(elbv2) == before


def test_load_balancer_attributes(elbv2):
    arn = create_alb(elbv2)["LoadBalancerArn"]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["deletion_protection.enabled"] == "false"
    assert attributes["routing.http2.enabled"] == "true"
    answer = elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn,
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"},
                    {"Key": "idle_timeout.timeout_seconds", "Value": "120"},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}],
    )["Attributes"]
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in answer
    refused(elbv2.delete_load_balancer, "OperationNotPermitted", LoadBalancerArn=arn)
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_network_load_balancer_attributes(elbv2):
    lb = create_alb(elbv2, name="net", Type="network")
    assert lb["Type"] == "network" and ":loadbalancer/net/net/" in lb["LoadBalancerArn"]
    attributes = {a["Key"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert "load_balancing.cross_zone.enabled" in attributes
    assert "routing.http2.enabled" not in attributes
    message = refused(elbv2.modify_load_balancer_attributes, "ValidationError",
                      LoadBalancerArn=lb["LoadBalancerArn"],
                      Attributes=[{"Key": "routing.http2.enabled", "Value": "true"}])
    # Terraform recognises this wording and drops the key.
    assert "attribute key 'routing.http2.enabled' is not recognized" in message


def test_target_group_lifecycle(elbv2):
    tg = create_tg(elbv2, HealthCheckPath="/health", Matcher={"HttpCode": "200-299"},
                   Tags=[{"Key": "colour", "Value": "blue"}])
    arn = tg["TargetGroupArn"]
    assert ":targetgroup/blue/" in arn
    assert tg["Protocol"] == "HTTP" and tg["Port"] == 8080 and tg["VpcId"] == VPC
    assert tg["HealthCheckProtocol"] == "HTTP" and tg["HealthCheckPort"] == "traffic-port"
    assert tg["HealthCheckPath"] == "/health" and tg["Matcher"] == {"HttpCode": "200-299"}
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (5, 2)
    assert tg["TargetType"] == "ip" and tg["ProtocolVersion"] == "HTTP1"
    assert tg["LoadBalancerArns"] == []
    assert create_tg(elbv2)["TargetGroupArn"] == arn  # same settings: the same group
    tg = elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckIntervalSeconds=60,
                                   HealthCheckTimeoutSeconds=30, HealthCheckPort="9000")["TargetGroups"][0]
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"], tg["HealthCheckPort"]) == (60, 30, "9000")
    assert elbv2.describe_target_groups(Names=["blue"])["TargetGroups"] == [tg]
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "colour", "Value": "blue"}]
    nlb_tg = create_tg(elbv2, name="tcp", protocol="TCP", port=7000)
    assert nlb_tg["HealthCheckProtocol"] == "TCP" and nlb_tg["HealthCheckTimeoutSeconds"] == 10
    assert "HealthCheckPath" not in nlb_tg
    elbv2.delete_target_group(TargetGroupArn=arn)
    elbv2.delete_target_group(TargetGroupArn=arn)  # gone already: still a success, as on AWS
    assert [t["TargetGroupName"] for t in elbv2.describe_target_groups()["TargetGroups"]] == ["tcp"]


def test_target_group_errors_change_nothing(elbv2, raw_elbv2):
    arn = create_tg(elbv2)["TargetGroupArn"]
    before = everything(elbv2)
    refused(elbv2.create_target_group, "DuplicateTargetGroupName", Name="blue", Protocol="HTTP", Port=9090, VpcId=VPC)
    refused(elbv2.create_target_group, "ValidationError", Name="a_b", Protocol="HTTP", Port=80, VpcId=VPC)
    # A UDP group is checked over TCP, HTTP or HTTPS (AWS has no UDP health check).
    refused(elbv2.create_target_group, "InvalidConfigurationRequest", Name="udp", Protocol="UDP", Port=53,
            VpcId=VPC, HealthCheckProtocol="UDP")
    refused(elbv2.create_target_group, "ValidationError", Name="fn", TargetType="lambda")
    refused(raw_elbv2.create_target_group, "ValidationError", Name="x", Protocol="HTTP", Port=70000, VpcId=VPC)
    for change in [dict(HealthCheckTimeoutSeconds=121), dict(HealthCheckIntervalSeconds=4),
                   dict(HealthyThresholdCount=11), dict(UnhealthyThresholdCount=1),
                   dict(HealthCheckTimeoutSeconds=40), dict(Matcher={"HttpCode": "600"}),
                   dict(HealthCheckPort="0")]:
        refused(raw_elbv2.modify_target_group, "ValidationError", TargetGroupArn=arn, **change)
    refused(elbv2.modify_target_group, "InvalidConfigurationRequest", TargetGroupArn=arn, HealthCheckProtocol="TCP")
    for bad in [[{"Key": "stickiness.type", "Value": "source_ip"}, {"Key": "stickiness.enabled", "Value": "true"}],
                [{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"}],
                [{"Key": "stickiness.lb_cookie.duration_seconds", "Value": "0"}],
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "3601"}],
                [{"Key": "slow_start.duration_seconds", "Value": "29"}],
                [{"Key": "load_balancing.algorithm.type", "Value": "fastest"}]]:
        refused(elbv2.modify_target_group_attributes, "InvalidConfigurationRequest", TargetGroupArn=arn, Attributes=bad)
    refused(elbv2.modify_target_group_attributes, "ValidationError", TargetGroupArn=arn,
            Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"},
                        {"Key": "stickiness.app_cookie.cookie_name", "Value": "AWSALBTG"}])
    refused(elbv2.modify_target_group_attributes, "ValidationError", TargetGroupArn=arn,
            Attributes=[{"Key": "made.up", "Value": "1"}])
    refused(elbv2.register_targets, "InvalidTarget", TargetGroupArn=arn, Targets=[{"Id": "i-0123456789abcdef0"}])
    refused(elbv2.register_targets, "InvalidTarget", TargetGroupArn=arn, Targets=[{"Id": "not-an-ip"}])
    gone = arn[:-16] + "f" * 16
    refused(elbv2.describe_target_group_attributes, "TargetGroupNotFound", TargetGroupArn=gone)
    refused(elbv2.register_targets, "TargetGroupNotFound", TargetGroupArn=gone, Targets=[{"Id": "127.0.0.1"}])
    refused(elbv2.describe_target_groups, "TargetGroupNotFound", Names=["green"])
    assert everything(elbv2) == before


def test_target_group_attributes(elbv2):
    arn = create_tg(elbv2)["TargetGroupArn"]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
    assert attributes["stickiness.enabled"] == "false"
    assert attributes["stickiness.type"] == "lb_cookie"
    assert attributes["stickiness.lb_cookie.duration_seconds"] == "86400"
    assert attributes["deregistration_delay.timeout_seconds"] == "300"
    assert attributes["load_balancing.algorithm.type"] == "round_robin"
    answer = elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"},
                    {"Key": "stickiness.type", "Value": "app_cookie"},
                    {"Key": "stickiness.app_cookie.cookie_name", "Value": "MYSESSION"},
                    {"Key": "stickiness.app_cookie.duration_seconds", "Value": "600"},
                    {"Key": "target_group_health.dns_failover.minimum_healthy_targets.count", "Value": "2"}],
    )["Attributes"]
    answered = {a["Key"]: a["Value"] for a in answer}
    # The whole set comes back, as on AWS, with the change in it.
    assert answered["stickiness.type"] == "app_cookie"
    assert answered["stickiness.lb_cookie.duration_seconds"] == "86400"
    assert answered["target_group_health.dns_failover.minimum_healthy_targets.count"] == "2"
    assert {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]} == answered


def test_targets_and_their_health(elbv2, targets):
    healthy = targets("h")
    arn = create_tg(elbv2, port=healthy.port, HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
                    HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1"}, {"Id": "127.0.0.1", "Port": 1}])
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    # No balancer forwards to the group: its targets are unused, as AWS reports them.
    assert [(h["Target"]["Port"], h["TargetHealth"]["State"], h["TargetHealth"]["Reason"]) for h in health] == [
        (healthy.port, "unused", "Target.NotInUse"), (1, "unused", "Target.NotInUse")]
    asked = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.9"}])["TargetHealthDescriptions"]
    assert asked[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 1}])
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert [h["Target"]["Port"] for h in health if h["TargetHealth"]["State"] != "draining"] == [healthy.port]


def test_tags_on_every_kind(elbv2):
    lb = create_alb(elbv2)["LoadBalancerArn"]
    tg = create_tg(elbv2)["TargetGroupArn"]
    elbv2.add_tags(ResourceArns=[lb, tg], Tags=[{"Key": "env", "Value": "prod"}])
    described = {d["ResourceArn"]: d["Tags"] for d in elbv2.describe_tags(ResourceArns=[lb, tg])["TagDescriptions"]}
    assert described == {lb: [{"Key": "env", "Value": "prod"}], tg: [{"Key": "env", "Value": "prod"}]}
    elbv2.remove_tags(ResourceArns=[tg], TagKeys=["env"])
    assert elbv2.describe_tags(ResourceArns=[tg])["TagDescriptions"][0]["Tags"] == []
    refused(elbv2.add_tags, "TooManyTags", ResourceArns=[lb],
            Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    refused(elbv2.add_tags, "TargetGroupNotFound", ResourceArns=[tg[:-16] + "0" * 16], Tags=[{"Key": "a", "Value": "b"}])


def test_limits_and_ssl_policies(elbv2):
    limits = {l["Name"]: l["Max"] for l in elbv2.describe_account_limits()["Limits"]}
    assert limits["application-load-balancers"] == "50"
    assert limits["target-groups"] == "3000"
    policies = elbv2.describe_ssl_policies()["SslPolicies"]
    names = [p["Name"] for p in policies]
    assert "ELBSecurityPolicy-TLS13-1-2-Res-2021-06" in names
    assert all("TLSv1" not in p["SslProtocols"] and "TLSv1.1" not in p["SslProtocols"] for p in policies)
    refused(elbv2.describe_ssl_policies, "SSLPolicyNotFound", Names=["ELBSecurityPolicy-2016-08"])


def test_pages(elbv2):
    for i in range(5):
        create_tg(elbv2, name=f"tg{i}")
    first = elbv2.describe_target_groups(PageSize=2)
    assert len(first["TargetGroups"]) == 2 and first["NextMarker"]
    seen = [t["TargetGroupName"] for t in first["TargetGroups"]]
    marker = first["NextMarker"]
    while marker:
        page = elbv2.describe_target_groups(PageSize=2, Marker=marker)
        seen += [t["TargetGroupName"] for t in page["TargetGroups"]]
        marker = page.get("NextMarker")
    assert seen == [f"tg{i}" for i in range(5)]


def test_a_change_survives_kill_9(burr, elbv2):
    lb = create_alb(elbv2)["LoadBalancerArn"]
    tg = create_tg(elbv2)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.7"}])
    before = everything(elbv2)
    burr.kill9_and_restart()
    after = everything(burr.client(service="elbv2"))
    assert after == before
    assert after["lbs"][0]["LoadBalancerArn"] == lb
