"""The AWS CLI against burr with the credentials burr generated itself: the credentials file is
the CLI's own format (profile `burr`), private, `burr credentials` shows the same pair, and the
secret never reaches burr's log."""

import configparser
import json
import os
import stat
import subprocess
import sys

from burr_e2e import REGION, accepts, http_get, wait_until

CLI_TIMEOUT = 60


def aws(burr, *args):
    """`aws … --endpoint-url … --region us-east-1 --profile burr`, with the shared credentials
    file in burr's data directory (and no other AWS configuration)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(burr.data_dir / "credentials"),
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
    )
    return subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--endpoint-url", burr.endpoint,
         "--region", REGION, "--profile", "burr", "--output", "json"],
        capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT,
    )


def test_aws_cli_with_generated_credentials(burr_factory):
    burr = burr_factory("generated", env_credentials=False)

    credentials = burr.data_dir / "credentials"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    parser = configparser.ConfigParser()
    parser.read(credentials)
    assert parser.sections() == ["burr"]
    key_id = parser["burr"]["aws_access_key_id"]
    secret = parser["burr"]["aws_secret_access_key"]
    assert key_id and secret

    shown = burr.run("credentials")
    assert shown.returncode == 0, shown.stderr
    again = configparser.ConfigParser()
    again.read_string(shown.stdout)
    assert dict(again["burr"]) == {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    # The first start names the file, the key id and the command, never the secret: standard
    # error often ends up in a log collector.
    log = burr.log()
    assert secret not in log
    announced = (f"created API credentials in {credentials} (access key id {key_id}); "
                 f"`burr credentials --data-dir {burr.data_dir}` shows the pair")
    assert log.count(announced) == 1, log

    created = aws(burr, "elb", "create-load-balancer", "--load-balancer-name", "cli-lb",
                  "--listeners",
                  "Protocol=HTTP,LoadBalancerPort=8080,InstanceProtocol=HTTP,InstancePort=80")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == {"DNSName": f"{burr.subnet}.1"}

    policy = aws(burr, "elb", "create-lb-cookie-stickiness-policy", "--load-balancer-name",
                 "cli-lb", "--policy-name", "my-duration-cookie-policy",
                 "--cookie-expiration-period", "60")
    assert policy.returncode == 0, policy.stderr
    assert policy.stdout.strip() == ""  # an empty result prints nothing

    described = aws(burr, "elb", "describe-load-balancers")
    assert described.returncode == 0, described.stderr
    [d] = json.loads(described.stdout)["LoadBalancerDescriptions"]
    assert d["LoadBalancerName"] == "cli-lb"
    assert d["DNSName"] == f"{burr.subnet}.1"
    assert d["ListenerDescriptions"] == [
        {"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 8080, "InstanceProtocol": "HTTP",
                      "InstancePort": 80},
         "PolicyNames": []}
    ]
    assert d["Policies"]["LBCookieStickinessPolicies"] == [
        {"PolicyName": "my-duration-cookie-policy", "CookieExpirationPeriod": 60}
    ]

    # Errors reach the CLI with their code and message.
    missing = aws(burr, "elb", "describe-load-balancers", "--load-balancer-names", "ghost")
    assert missing.returncode != 0, missing.stderr
    assert ("An error occurred (LoadBalancerNotFound) when calling the DescribeLoadBalancers "
            "operation: There is no ACTIVE Load Balancer named 'ghost'") in missing.stderr

    # After a restart the same stored pair is used and not shown again.
    burr.stop()
    burr.start()
    log = burr.log()
    assert secret not in log
    assert log.count(announced) == 1, log
    assert (burr.data_dir / "credentials").read_text() == credentials.read_text()
    again = aws(burr, "elb", "describe-load-balancers", "--load-balancer-names", "cli-lb")
    assert again.returncode == 0, again.stderr


def test_aws_cli_drives_an_application_load_balancer(burr_factory, targets):
    """`aws elbv2` end to end: a balancer, a target group with a target, a listener whose rule
    answers a fixed response, the target's health, attributes, an error with its code, and the
    deletes; traffic goes through the listener the CLI made."""
    burr = burr_factory("cli-v2", env_credentials=False)
    t = targets("t")

    def ok(*args):
        done = aws(burr, "elbv2", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    [lb] = ok("create-load-balancer", "--name", "cli-alb", "--subnets", "subnet-a",
              "subnet-b")["LoadBalancers"]
    assert (lb["State"]["Code"], lb["Type"]) == ("active", "application")
    [tg] = ok("create-target-group", "--name", "cli-tg", "--protocol", "HTTP", "--port",
              str(t.port), "--vpc-id", "vpc-1", "--target-type", "ip",
              "--health-check-path", "/health")["TargetGroups"]
    ok("register-targets", "--target-group-arn", tg["TargetGroupArn"], "--targets",
       "Id=127.0.0.1")
    attributes = ok("modify-target-group-attributes", "--target-group-arn", tg["TargetGroupArn"],
                    "--attributes", "Key=stickiness.enabled,Value=true",
                    "Key=stickiness.type,Value=lb_cookie")["Attributes"]
    assert {"Key": "stickiness.type", "Value": "lb_cookie"} in attributes
    [listener] = ok("create-listener", "--load-balancer-arn", lb["LoadBalancerArn"],
                    "--protocol", "HTTP", "--port", "8080", "--default-actions",
                    f"Type=forward,TargetGroupArn={tg['TargetGroupArn']}")["Listeners"]
    [rule] = ok("create-rule", "--listener-arn", listener["ListenerArn"], "--priority", "5",
                "--conditions", "Field=path-pattern,Values=/status",
                "--actions", "Type=fixed-response,FixedResponseConfig={StatusCode=200,"
                "ContentType=text/plain,MessageBody=up}")["Rules"]
    assert rule["Priority"] == "5"

    host = lb["DNSName"]
    wait_until(lambda: accepts(host, 8080), 10, what="the listener the CLI made")
    assert http_get(host, 8080, "/").target == "t"
    status = http_get(host, 8080, "/status")
    assert (status.status, status.body) == (200, "up")
    [health] = ok("describe-target-health", "--target-group-arn",
                  tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert health["Target"] == {"Id": "127.0.0.1", "Port": t.port}
    assert health["TargetHealth"]["State"] in ("initial", "healthy")

    # Errors reach the CLI with their code.
    busy = aws(burr, "elbv2", "delete-target-group", "--target-group-arn", tg["TargetGroupArn"])
    assert busy.returncode != 0
    assert "An error occurred (ResourceInUse) when calling the DeleteTargetGroup" in busy.stderr

    ok("delete-rule", "--rule-arn", rule["RuleArn"])
    ok("delete-listener", "--listener-arn", listener["ListenerArn"])
    ok("delete-target-group", "--target-group-arn", tg["TargetGroupArn"])
    ok("delete-load-balancer", "--load-balancer-arn", lb["LoadBalancerArn"])
    assert ok("describe-load-balancers")["LoadBalancers"] == []
