"""Terraform (hashicorp/aws) against burr's ELBv2 listeners and rules: aws_lb_listener and
aws_lb_listener_rule applied for real on an ALB, `plan -detailed-exitcode` = 0 after each apply
(what burr answers is what Terraform wrote), traffic through the listener Terraform made, an
in-place change of the default action, the rules' priorities, conditions and actions, and
destroy. Skipped without terraform or the provider mirror (terraform_harness.require)."""

from __future__ import annotations

from burr_e2e import http_get, wait_until
from test_terraform_elbv2 import elbv2_client, target_group_block

PORT = 18080


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

    module.destroy()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
