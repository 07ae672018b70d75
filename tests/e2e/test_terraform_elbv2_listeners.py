"""Terraform (hashicorp/aws) against burr's ELBv2 listeners and rules: aws_lb_listener and
aws_lb_listener_rule applied for real on an ALB, `plan -detailed-exitcode` = 0 after each apply
(what burr answers is what Terraform wrote), traffic through the listener Terraform made, an
in-place change of the default action, the rules' priorities, conditions and actions, and
destroy. Skipped without terraform or the provider mirror (terraform_harness.require)."""

from __future__ import annotations


from burr_e2e import http_get, wait_until
from test_terraform import import_again
from terraform_harness import elbv2_client, https_get, peer_certificate, target_group_block

PORT = 18080
HTTPS_PORT = 18443


def test_alb_listener_and_rules_without_drift(terraform, module, burr, backends):
    elbv2 = elbv2_client(burr)
    a, b = backends.http("a"), backends.http("b")

    def config(*, default: str, api_priority: int, api_path: str, fixed_status: int) -> str:
        return module.provider(burr.endpoint) + f"""
resource "aws_lb" "web" {{
  name               = "web"
  load_balancer_type = "application"
  subnets            = ["subnet-a", "subnet-b"]
}}
{target_group_block("blue", backends.port)}{target_group_block("green", backends.port)}
resource "aws_lb_target_group_attachment" "a" {{
  target_group_arn = aws_lb_target_group.blue.arn
  target_id        = "{a.host}"
}}

resource "aws_lb_target_group_attachment" "b" {{
  target_group_arn = aws_lb_target_group.green.arn
  target_id        = "{b.host}"
}}

resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.web.arn
  port              = {PORT}
  protocol          = "HTTP"

  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.{default}.arn
  }}

  tags = {{
    team = "web"
  }}
}}

resource "aws_lb_listener_rule" "api" {{
  listener_arn = aws_lb_listener.http.arn
  priority     = {api_priority}

  action {{
    type = "forward"
    forward {{
      target_group {{
        arn    = aws_lb_target_group.blue.arn
        weight = 1
      }}
      target_group {{
        arn    = aws_lb_target_group.green.arn
        weight = 3
      }}
      stickiness {{
        enabled  = true
        duration = 600
      }}
    }}
  }}

  condition {{
    path_pattern {{
      values = ["{api_path}"]
    }}
  }}

  condition {{
    http_header {{
      http_header_name = "X-Env"
      values           = ["beta"]
    }}
  }}
}}

resource "aws_lb_listener_rule" "maintenance" {{
  listener_arn = aws_lb_listener.http.arn
  priority     = 50

  action {{
    type = "fixed-response"
    fixed_response {{
      content_type = "text/plain"
      message_body = "down for maintenance"
      status_code  = "{fixed_status}"
    }}
  }}

  condition {{
    host_header {{
      values = ["maintenance.example.com"]
    }}
  }}

  condition {{
    source_ip {{
      values = ["10.0.0.0/8"]
    }}
  }}
}}

output "lb" {{
  value = aws_lb.web.dns_name
}}

output "listener" {{
  value = aws_lb_listener.http.arn
}}
"""

    module.write(config(default="blue", api_priority=10, api_path="/api/*", fixed_status=503))
    module.apply()
    module.assert_no_changes("the first apply")
    outputs = module.outputs()
    host, listener = outputs["lb"], outputs["listener"]
    wait_until(lambda: http_get(host, PORT).status == 200, 15, what="the listener serving")
    assert http_get(host, PORT).target == "a"
    rules = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "50", "default"]
    assert rules[1]["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "503"

    # In place: the default action, a rule's priority and condition, another rule's action.
    module.write(config(default="green", api_priority=20, api_path="/v2/*", fixed_status=500))
    module.apply()
    module.assert_no_changes("the in-place change")
    assert elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["ListenerArn"] == listener
    rules = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["20", "50", "default"]
    # Terraform keeps conditions in a set: their order is its own.
    paths = [c["PathPatternConfig"]["Values"] for c in rules[0]["Conditions"] if c["Field"] == "path-pattern"]
    assert paths == [["/v2/*"]]
    wait_until(lambda: http_get(host, PORT).target == "b", 15, what="green's target answering")

    # terraform import by ARN: a rule comes back without drift. (Not the listener: imported,
    # a lone forward target is read as both target_group_arn and a forward block, and the plan
    # drops the block; the provider does so against AWS too, which answers both shapes.)
    import_again(module, "aws_lb_listener_rule.api", rules[0]["RuleArn"])

    module.destroy()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def https_config(module, burr, backends, a, *, ssl_policy: str, http_listener: str = "") -> str:
    """An ALB with an HTTPS listener on a requested ACM certificate (and a second one served by
    SNI, aws_lb_listener_certificate), forwarding to one target group."""
    return module.provider(burr.endpoint) + f"""
resource "aws_acm_certificate" "main" {{
  domain_name       = "www.example.test"
  validation_method = "DNS"
}}

resource "aws_acm_certificate" "other" {{
  domain_name       = "api.example.test"
  validation_method = "DNS"
}}

resource "aws_lb" "web" {{
  name               = "web"
  load_balancer_type = "application"
  subnets            = ["subnet-a", "subnet-b"]
}}
{target_group_block("blue", backends.port)}
resource "aws_lb_target_group_attachment" "a" {{
  target_group_arn = aws_lb_target_group.blue.arn
  target_id        = "{a.host}"
}}

resource "aws_lb_listener" "https" {{
  load_balancer_arn = aws_lb.web.arn
  port              = {HTTPS_PORT}
  protocol          = "HTTPS"
  ssl_policy        = "{ssl_policy}"
  certificate_arn   = aws_acm_certificate.main.arn

  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.blue.arn
  }}
}}

resource "aws_lb_listener_certificate" "other" {{
  listener_arn    = aws_lb_listener.https.arn
  certificate_arn = aws_acm_certificate.other.arn
}}
{http_listener}
output "lb" {{
  value = aws_lb.web.dns_name
}}

output "listener" {{
  value = aws_lb_listener.https.arn
}}
"""


def test_https_listener_with_a_second_certificate_without_drift(terraform, module, burr, backends):
    elbv2 = elbv2_client(burr)
    a = backends.http("a")
    module.write(https_config(module, burr, backends, a,
                              ssl_policy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06"))
    module.apply()
    module.assert_no_changes("the first apply")
    outputs = module.outputs()
    host, listener = outputs["lb"], outputs["listener"]
    assert b"www.example.test" in peer_certificate(host, HTTPS_PORT)
    wait_until(lambda: https_get(host, HTTPS_PORT)[0] == 200, 15, what="the HTTPS listener serving")
    certificates = elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
    assert [c["IsDefault"] for c in certificates] == [True, False]

    module.write(https_config(module, burr, backends, a,
                              ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06"))
    module.apply()
    module.assert_no_changes("the policy change")
    assert elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["SslPolicy"] == (
        "ELBSecurityPolicy-TLS13-1-3-2021-06")

    module.destroy()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_http_to_https_redirect_listener(terraform, module, burr, backends):
    a = backends.http("a")
    redirect = f"""
resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.web.arn
  port              = {PORT}
  protocol          = "HTTP"

  default_action {{
    type = "redirect"
    redirect {{
      port        = "{HTTPS_PORT}"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }}
  }}
}}
"""
    module.write(https_config(module, burr, backends, a,
                              ssl_policy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                              http_listener=redirect))
    module.apply()
    module.assert_no_changes("the first apply")
    response = http_get(module.outputs()["lb"], PORT)
    assert response.status == 301
    assert response.headers["Location"].startswith("https://")
    module.destroy()
