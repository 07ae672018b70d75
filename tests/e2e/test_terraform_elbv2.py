"""Terraform (hashicorp/aws) against burr's ELBv2 API: aws_lb, aws_lb_target_group and
aws_lb_target_group_attachment applied for real, then `plan -detailed-exitcode` = 0 (what burr
answers is what Terraform wrote), an in-place change, no drift again, and destroy. Without
terraform or the provider mirror these tests are skipped with the reason, except when CI=true,
where that is a failure (terraform_harness.require)."""

from __future__ import annotations

import boto3

from burr_e2e import ACCESS_KEY_ID, SECRET_ACCESS_KEY, boto_config


def elbv2_client(burr):
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name="us-east-1",
    )
    return session.client("elbv2", endpoint_url=burr.endpoint, config=boto_config())


def target_group_block(name: str, port: int, *, protocol: str = "HTTP", stickiness: str = "",
                       health: str = "", extra: str = "") -> str:
    return f"""
resource "aws_lb_target_group" "{name}" {{
  name        = "{name}"
  port        = {port}
  protocol    = "{protocol}"
  vpc_id      = "vpc-0burr"
  target_type = "ip"
{extra}{health}{stickiness}}}
"""


def test_alb_and_target_groups_without_drift(terraform, module, burr, backends):
    """An ALB with two target groups (lb_cookie stickiness in one, app_cookie in the other),
    health checks, deregistration delay, tags, attachments; then an in-place change of
    attributes, health check, stickiness and tags; no drift after either apply; destroy leaves
    nothing."""
    elbv2 = elbv2_client(burr)
    a, b = backends.http("a"), backends.http("b")
    port = backends.port

    def config(*, idle: int, blue_duration: int, green_cookie: str, interval: int,
               env: str) -> str:
        blue = target_group_block(
            "blue", port,
            health=f"""
  health_check {{
    path                = "/health"
    interval            = {interval}
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
    matcher             = "200-299"
  }}
""",
            stickiness=f"""
  stickiness {{
    type            = "lb_cookie"
    cookie_duration = {blue_duration}
    enabled         = true
  }}
""",
            extra="  deregistration_delay = 30\n",
        )
        green = target_group_block(
            "green", port,
            stickiness=f"""
  stickiness {{
    type            = "app_cookie"
    cookie_name     = "{green_cookie}"
    cookie_duration = 600
  }}
""",
        )
        return module.provider(burr.endpoint) + f"""
resource "aws_lb" "web" {{
  name               = "web"
  load_balancer_type = "application"
  subnets            = ["subnet-a", "subnet-b"]
  security_groups    = ["sg-web"]
  idle_timeout       = {idle}
  tags = {{
    env = "{env}"
  }}
}}
{blue}{green}
resource "aws_lb_target_group_attachment" "a" {{
  target_group_arn = aws_lb_target_group.blue.arn
  target_id        = "{a.host}"
}}

resource "aws_lb_target_group_attachment" "b" {{
  target_group_arn = aws_lb_target_group.green.arn
  target_id        = "{b.host}"
  port             = {port}
}}

output "lb" {{
  value = {{
    arn      = aws_lb.web.arn
    dns_name = aws_lb.web.dns_name
    subnets  = sort(aws_lb.web.subnets)
  }}
}}
"""

    module.write(config(idle=60, blue_duration=3600, green_cookie="SESSION", interval=30,
                        env="test"))
    module.apply()
    module.assert_no_changes("the first apply")
    out = module.outputs()["lb"]
    assert out["subnets"] == ["subnet-a", "subnet-b"]
    lb = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]
    assert lb["LoadBalancerArn"] == out["arn"] and lb["DNSName"] == out["dns_name"]
    groups = {t["TargetGroupName"]: t for t in elbv2.describe_target_groups()["TargetGroups"]}
    assert groups["blue"]["HealthCheckPath"] == "/health"
    assert groups["blue"]["Matcher"] == {"HttpCode": "200-299"}

    def attributes(name):
        arn = groups[name]["TargetGroupArn"]
        return {a["Key"]: a["Value"] for a in
                elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}

    blue = attributes("blue")
    assert (blue["stickiness.enabled"], blue["stickiness.type"],
            blue["stickiness.lb_cookie.duration_seconds"]) == ("true", "lb_cookie", "3600")
    assert blue["deregistration_delay.timeout_seconds"] == "30"
    green = attributes("green")
    assert (green["stickiness.type"], green["stickiness.app_cookie.cookie_name"]) == (
        "app_cookie", "SESSION")
    health = elbv2.describe_target_health(TargetGroupArn=groups["blue"]["TargetGroupArn"])
    assert [h["Target"]["Id"] for h in health["TargetHealthDescriptions"]] == [a.host]

    # In place: idle timeout, stickiness duration and cookie, health-check interval, tags.
    module.write(config(idle=120, blue_duration=7200, green_cookie="OTHER", interval=10,
                        env="prod"))
    module.apply()
    module.assert_no_changes("the in-place change")
    assert elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0][
        "LoadBalancerArn"] == out["arn"], "an in-place change must not replace the balancer"
    groups = {t["TargetGroupName"]: t for t in elbv2.describe_target_groups()["TargetGroups"]}
    assert attributes("blue")["stickiness.lb_cookie.duration_seconds"] == "7200"
    assert attributes("green")["stickiness.app_cookie.cookie_name"] == "OTHER"
    assert groups["blue"]["HealthCheckIntervalSeconds"] == 10
    lb_attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=out["arn"])["Attributes"]}
    assert lb_attributes["idle_timeout.timeout_seconds"] == "120"

    module.destroy()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_nlb_and_tcp_target_group_with_source_ip_stickiness(terraform, module, burr, backends):
    """A network load balancer and a TCP target group with source_ip stickiness and a TCP
    health check: no drift after apply; destroy leaves nothing."""
    elbv2 = elbv2_client(burr)
    a = backends.http("a")
    tg = target_group_block(
        "tcp", backends.port, protocol="TCP",
        stickiness="""
  stickiness {
    type    = "source_ip"
    enabled = true
  }
""",
    )
    module.write(module.provider(burr.endpoint) + f"""
resource "aws_lb" "net" {{
  name               = "net"
  load_balancer_type = "network"
  subnets            = ["subnet-a"]
}}
{tg}
resource "aws_lb_target_group_attachment" "a" {{
  target_group_arn = aws_lb_target_group.tcp.arn
  target_id        = "{a.host}"
}}
""")
    module.apply()
    module.assert_no_changes("the first apply")
    group = elbv2.describe_target_groups(Names=["tcp"])["TargetGroups"][0]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"])["Attributes"]}
    assert (attributes["stickiness.enabled"], attributes["stickiness.type"]) == ("true", "source_ip")
    module.destroy()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
