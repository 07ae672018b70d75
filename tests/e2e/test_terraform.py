"""Terraform (hashicorp/aws) against burr's Classic ELB API: every resource that configures a
Classic balancer, applied for real. Each test applies a module, checks that a second plan wants
nothing (`plan -detailed-exitcode` = 0: what burr answers is what Terraform wrote), sends real
traffic through the listener Terraform made to see the configuration at work, applies an
in-place change and plans again, forgets the balancer (as `state rm` does) and imports it
back with `terraform import` and plans again, and destroys, leaving nothing behind. Targets
answer with their own name, so the tests see where each request went.

Without terraform or the provider mirror these tests are skipped with the reason, except when
CI=true, where that is a failure (terraform_harness.require).
"""

from __future__ import annotations

import collections

import boto3
import pytest

from burr_e2e import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    accepts,
    boto_config,
    describe,
    http_get,
    snapshot,
    wait_until,
)
from terraform_harness import (
    hcl_string,
    https_get,
    peer_certificate,
    self_signed,
)

PORT = 8080
TCP_PORT = 8081
HTTPS_PORT = 8443


def client(burr, service: str = "elb", region: str = "us-east-1"):
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=region,
    )
    return session.client(service, endpoint_url=burr.endpoint, config=boto_config())


def assert_nothing_left(elb, *hosts_ports):
    """No balancer, policy, attribute or tag is left, and no listener accepts any more."""
    state = snapshot(elb)
    assert state["descriptions"] == [], state
    for host, port in hosts_ports:
        wait_until(lambda: not accepts(host, port), 5, what=f"{host}:{port} to stop accepting")


def seen(host: str, port: int, n: int, cookie: str | None = None) -> collections.Counter:
    counts = collections.Counter()
    for _ in range(n):
        r = http_get(host, port, cookie=cookie)
        assert r.status == 200, (host, port, r.status, r.body)
        counts[r.target] += 1
    return counts


def wait_serving(host: str, port: int, names: set[str], n: int = 20, timeout: float = 15):
    """Waits (bounded) until `n` requests reach exactly the targets `names`, all of them."""
    last = []

    def exactly():
        try:
            got = seen(host, port, n)
        except (AssertionError, OSError) as e:
            last.append(repr(e))
            return False
        last.append(dict(got))
        return set(got) == names and got

    try:
        return wait_until(exactly, timeout, what=f"{host}:{port} to serve exactly {sorted(names)}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last seen: {last[-1] if last else None}") from None


def elb_block(name: str, instances: list[str], port: int, *, idle: int = 60,
              draining_timeout: int = 300,
              cross_zone: bool = True, hc_interval: int = 30, tags: dict | None = None,
              listeners: str | None = None, extra: str = "", resource: str = "web",
              provider: str | None = None) -> str:
    """An `aws_elb` resource with an HTTP listener on PORT and a TCP one on TCP_PORT (both to
    instance `port`), an HTTP health check of /health on that port, the attributes Terraform
    sets, and tags."""
    listeners = listeners if listeners is not None else f"""
  listener {{
    lb_port           = {PORT}
    lb_protocol       = "http"
    instance_port     = {port}
    instance_protocol = "http"
  }}

  listener {{
    lb_port           = {TCP_PORT}
    lb_protocol       = "tcp"
    instance_port     = {port}
    instance_protocol = "tcp"
  }}
"""
    tags = tags if tags is not None else {"team": "edge", "env": "test"}
    tag_lines = "\n".join(f'    {k} = "{v}"' for k, v in tags.items())
    instance_list = ", ".join(f'"{i}"' for i in instances)
    provider_line = f"  provider = {provider}\n" if provider else ""
    return f"""
resource "aws_elb" "{resource}" {{
{provider_line}  name               = "{name}"
  availability_zones = ["us-east-1a"]
{listeners}
  health_check {{
    healthy_threshold   = 2
    unhealthy_threshold = 2
    timeout             = 3
    target              = "HTTP:{port}/health"
    interval            = {hc_interval}
  }}

  instances                   = [{instance_list}]
  cross_zone_load_balancing   = {str(cross_zone).lower()}
  idle_timeout                = {idle}
  connection_draining         = true
  connection_draining_timeout = {draining_timeout}

  tags = {{
{tag_lines}
  }}
{extra}
}}
"""


def import_again(module, address: str, resource_id: str):
    """Forgets `address` and imports it back from burr; the plan after must want nothing."""
    module.forget(address)
    module.import_(address, resource_id)
    module.assert_no_changes(f"terraform import {address} {resource_id}")


# ---- aws_elb ----


def test_aws_elb_lifecycle(terraform, module, burr, backends):
    """aws_elb with HTTP and TCP listeners, health check, instances, idle timeout, draining,
    cross-zone and tags; data sources aws_elb, aws_elb_hosted_zone_id, aws_elb_service_account."""
    elb = burr.client()
    a, b, c = backends.http("a"), backends.http("b"), backends.http("c")
    port = backends.port
    provider = module.provider(burr.endpoint)
    data = """
data "aws_elb" "web" {
  name = aws_elb.web.name
}

data "aws_elb_hosted_zone_id" "main" {}

data "aws_elb_service_account" "main" {}

output "dns_name" {
  value = aws_elb.web.dns_name
}

output "read_back" {
  value = {
    idle_timeout = data.aws_elb.web.idle_timeout
    instances    = sort(data.aws_elb.web.instances)
    tags         = data.aws_elb.web.tags
    listeners    = length(data.aws_elb.web.listener)
  }
}

output "hosted_zone_id" {
  value = data.aws_elb_hosted_zone_id.main.id
}
"""
    module.write(provider + elb_block("web", [a.host, b.host], port) + data)
    module.apply()
    module.assert_no_changes("the first apply")

    out = module.outputs()
    host = out["dns_name"]
    assert out["read_back"] == {
        "idle_timeout": 60,
        "instances": sorted([a.host, b.host]),
        "tags": {"team": "edge", "env": "test"},
        "listeners": 2,
    }
    assert out["hosted_zone_id"]
    # What Terraform wrote is what the API tells.
    d = describe(elb, "web")
    assert d["DNSName"] == host
    assert sorted(i["InstanceId"] for i in d["Instances"]) == sorted([a.host, b.host])
    assert d["HealthCheck"] == {"Target": f"HTTP:{port}/health", "Interval": 30, "Timeout": 3,
                                "UnhealthyThreshold": 2, "HealthyThreshold": 2}
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]
    assert attributes["ConnectionSettings"] == {"IdleTimeout": 60}
    assert attributes["ConnectionDraining"] == {"Enabled": True, "Timeout": 300}
    assert attributes["CrossZoneLoadBalancing"] == {"Enabled": True}
    # Real traffic through both listeners reaches both instances.
    wait_serving(host, PORT, {"a", "b"})
    wait_serving(host, TCP_PORT, {"a", "b"})

    # In place: instances (b out, c in), idle timeout, draining timeout, health-check interval,
    # cross-zone, tags.
    module.write(provider + elb_block("web", [a.host, c.host], port, idle=120,
                                      draining_timeout=30, cross_zone=False, hc_interval=10,
                                      tags={"team": "edge", "env": "prod"}) + data)
    module.apply()
    module.assert_no_changes("the in-place change")
    assert describe(elb, "web")["DNSName"] == host, "an in-place change must not replace it"
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]
    assert attributes["ConnectionSettings"] == {"IdleTimeout": 120}
    assert attributes["ConnectionDraining"] == {"Enabled": True, "Timeout": 30}
    assert attributes["CrossZoneLoadBalancing"] == {"Enabled": False}
    assert describe(elb, "web")["HealthCheck"]["Interval"] == 10
    assert elb.describe_tags(LoadBalancerNames=["web"])["TagDescriptions"][0]["Tags"] in (
        [{"Key": "team", "Value": "edge"}, {"Key": "env", "Value": "prod"}],
        [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "edge"}],
    )
    wait_serving(host, PORT, {"a", "c"})

    import_again(module, "aws_elb.web", "web")

    module.destroy()
    assert_nothing_left(elb, (host, PORT), (host, TCP_PORT))


def test_terraform_imports_a_balancer_made_with_the_api(terraform, module, burr, backends):
    """A balancer made with boto3 (not Terraform), then written down in HCL and imported: the
    plan after the import wants nothing, and Terraform can then change and destroy it."""
    elb = burr.client()
    a = backends.http("a")
    port = backends.port
    host = elb.create_load_balancer(
        LoadBalancerName="legacy", AvailabilityZones=["us-east-1a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": PORT, "InstanceProtocol": "HTTP",
                    "InstancePort": port},
                   {"Protocol": "TCP", "LoadBalancerPort": TCP_PORT, "InstanceProtocol": "TCP",
                    "InstancePort": port}],
        Tags=[{"Key": "team", "Value": "edge"}, {"Key": "env", "Value": "test"}],
    )["DNSName"]
    elb.configure_health_check(LoadBalancerName="legacy", HealthCheck={
        "Target": f"HTTP:{port}/health", "Interval": 30, "Timeout": 3, "UnhealthyThreshold": 2,
        "HealthyThreshold": 2})
    elb.register_instances_with_load_balancer(LoadBalancerName="legacy",
                                              Instances=[{"InstanceId": a.host}])
    elb.modify_load_balancer_attributes(LoadBalancerName="legacy", LoadBalancerAttributes={
        "ConnectionDraining": {"Enabled": True, "Timeout": 300},
        "ConnectionSettings": {"IdleTimeout": 60},
        "CrossZoneLoadBalancing": {"Enabled": True}})

    # The `endpoints` block users write (the other tests pass the endpoints in the environment:
    # the provider spends seconds validating the block on every command).
    module.write(module.provider(burr.endpoint, endpoints_block=True)
                 + elb_block("legacy", [a.host], port, resource="legacy"))
    module.import_("aws_elb.legacy", "legacy")
    module.assert_no_changes("terraform import of a balancer made with the API")
    wait_serving(host, PORT, {"a"})

    module.destroy()
    assert_nothing_left(elb, (host, PORT))


# ---- stickiness policies ----


def test_lb_cookie_stickiness_policy(terraform, module, burr, backends):
    elb = burr.client()
    ts = [backends.http(f"t{i}") for i in range(3)]
    provider = module.provider(burr.endpoint)

    def config(period: int) -> str:
        return provider + elb_block("web", [t.host for t in ts], backends.port) + f"""
resource "aws_lb_cookie_stickiness_policy" "sticky" {{
  name                     = "sticky"
  load_balancer            = aws_elb.web.id
  lb_port                  = {PORT}
  cookie_expiration_period = {period}
}}

output "dns_name" {{
  value = aws_elb.web.dns_name
}}
"""

    module.write(config(60))
    module.apply()
    module.assert_no_changes("the first apply")
    host = module.outputs()["dns_name"]
    wait_serving(host, PORT, {"t0", "t1", "t2"}, n=30)

    def sticky_with(max_age: int):
        first = http_get(host, PORT)
        [set_cookie] = [c for c in first.set_cookies() if c.startswith("AWSELB=")]
        assert f"Max-Age={max_age}" in set_cookie, set_cookie
        counts = seen(host, PORT, 20, cookie=first.cookie("AWSELB"))
        assert counts == {first.target: 20}, counts

    sticky_with(60)

    # A changed period (the provider replaces the policy; the listener keeps one policy).
    module.write(config(300))
    module.apply()
    module.assert_no_changes("changing cookie_expiration_period")
    sticky_with(300)
    listener = [ld for ld in describe(elb, "web")["ListenerDescriptions"]
                if ld["Listener"]["LoadBalancerPort"] == PORT][0]
    assert listener["PolicyNames"] == ["sticky"]

    import_again(module, "aws_elb.web", "web")
    # aws_lb_cookie_stickiness_policy has no importer in the provider.

    module.destroy()
    assert_nothing_left(elb, (host, PORT))


def test_app_cookie_stickiness_policy(terraform, module, burr, backends):
    elb = burr.client()
    ts = [backends.http(f"t{i}", app_cookie="SESSIONID=s-1") for i in range(3)]
    provider = module.provider(burr.endpoint)

    def config(cookie_name: str) -> str:
        return provider + elb_block("web", [t.host for t in ts], backends.port) + f"""
resource "aws_app_cookie_stickiness_policy" "app" {{
  name          = "app"
  load_balancer = aws_elb.web.name
  lb_port       = {PORT}
  cookie_name   = "{cookie_name}"
}}

output "dns_name" {{
  value = aws_elb.web.dns_name
}}
"""

    module.write(config("SESSIONID"))
    module.apply()
    module.assert_no_changes("the first apply")
    host = module.outputs()["dns_name"]
    wait_serving(host, PORT, {"t0", "t1", "t2"}, n=30)

    # No application cookie, no AWSELB; the application's cookie brings one that pins.
    assert http_get(host, PORT).cookie("AWSELB") is None
    login = http_get(host, PORT, "/login")
    assert login.cookie("SESSIONID") == "SESSIONID=s-1"
    awselb = login.cookie("AWSELB")
    assert awselb, login.set_cookies()
    counts = seen(host, PORT, 20, cookie=f"{awselb}; SESSIONID=s-1")
    assert counts == {login.target: 20}, counts

    # Another cookie name: SESSIONID no longer brings stickiness.
    module.write(config("OTHER"))
    module.apply()
    module.assert_no_changes("changing cookie_name")
    assert http_get(host, PORT, "/login").cookie("AWSELB") is None

    import_again(module, "aws_elb.web", "web")
    import_again(module, "aws_app_cookie_stickiness_policy.app", f"web:{PORT}:app")

    module.destroy()
    assert_nothing_left(elb, (host, PORT))


# ---- generic policies and PROXY protocol ----


def test_load_balancer_policy_listener_and_backend_server_policies(terraform, module, burr,
                                                                    backends):
    """aws_load_balancer_policy (an LB-cookie stickiness policy and a PROXY protocol policy) set
    on the listener by aws_load_balancer_listener_policy and on the instance port by
    aws_load_balancer_backend_server_policy."""
    elb = burr.client()
    ts = [backends.proxy(f"p{i}") for i in range(2)]
    provider = module.provider(burr.endpoint)

    def config(period: int, backend_policy: bool) -> str:
        backend = f"""
resource "aws_load_balancer_backend_server_policy" "web" {{
  load_balancer_name = aws_elb.web.name
  instance_port      = {backends.port}
  policy_names       = [aws_load_balancer_policy.proxy.policy_name]
}}
""" if backend_policy else ""
        return provider + elb_block("web", [t.host for t in ts], backends.port) + f"""
resource "aws_load_balancer_policy" "sticky" {{
  load_balancer_name = aws_elb.web.name
  policy_name        = "sticky"
  policy_type_name   = "LBCookieStickinessPolicyType"

  policy_attribute {{
    name  = "CookieExpirationPeriod"
    value = "{period}"
  }}
}}

resource "aws_load_balancer_policy" "proxy" {{
  load_balancer_name = aws_elb.web.name
  policy_name        = "proxy"
  policy_type_name   = "ProxyProtocolPolicyType"

  policy_attribute {{
    name  = "ProxyProtocol"
    value = "true"
  }}
}}

resource "aws_load_balancer_listener_policy" "web" {{
  load_balancer_name = aws_elb.web.name
  load_balancer_port = {PORT}
  policy_names       = [aws_load_balancer_policy.sticky.policy_name]
}}
{backend}
output "dns_name" {{
  value = aws_elb.web.dns_name
}}
"""

    module.write(config(60, backend_policy=True))
    module.apply()
    module.assert_no_changes("the first apply")
    host = module.outputs()["dns_name"]
    wait_serving(host, PORT, {"p0", "p1"})

    first = http_get(host, PORT)
    assert first.status == 200, (first.status, first.body)
    assert first.headers["X-Proxy-Line"].startswith("PROXY TCP4 127.0.0.1 "), first.headers
    [set_cookie] = [c for c in first.set_cookies() if c.startswith("AWSELB=")]
    assert "Max-Age=60" in set_cookie
    assert seen(host, PORT, 10, cookie=first.cookie("AWSELB")) == {first.target: 10}

    # In place: a new stickiness period; the backend policy goes (the provider cannot set an
    # empty list: it refuses `policy_names = []` itself).
    module.write(config(120, backend_policy=False))
    module.apply()
    module.assert_no_changes("the policy change")
    plain = http_get(host, PORT)
    assert plain.status == 200, (plain.status, plain.body)
    assert plain.headers["X-Proxy-Line"] == "-", plain.headers
    [set_cookie] = [c for c in plain.set_cookies() if c.startswith("AWSELB=")]
    assert "Max-Age=120" in set_cookie

    import_again(module, "aws_elb.web", "web")
    # The aws_load_balancer_*_policy resources have no importer in the provider.

    module.destroy()
    assert_nothing_left(elb, (host, PORT))


def test_proxy_protocol_policy(terraform, module, burr, backends):
    elb = burr.client()
    ts = [backends.proxy(f"p{i}") for i in range(2)]
    provider = module.provider(burr.endpoint)
    http_port, tcp_port = backends.port, backends.second_port
    listeners = f"""
  listener {{
    lb_port           = {PORT}
    lb_protocol       = "http"
    instance_port     = {http_port}
    instance_protocol = "http"
  }}

  listener {{
    lb_port           = {TCP_PORT}
    lb_protocol       = "tcp"
    instance_port     = {tcp_port}
    instance_protocol = "tcp"
  }}
"""

    def config(*ports: int) -> str:
        port_list = ", ".join(f'"{p}"' for p in ports)
        return provider + elb_block("web", [t.host for t in ts], http_port,
                                    listeners=listeners) + f"""
resource "aws_proxy_protocol_policy" "proxy" {{
  load_balancer  = aws_elb.web.name
  instance_ports = [{port_list}]
}}

output "dns_name" {{
  value = aws_elb.web.dns_name
}}
"""

    def proxy_line(port: int) -> str:
        r = http_get(host, port)
        assert r.status == 200, (port, r.status, r.body)
        return r.headers["X-Proxy-Line"]

    module.write(config(tcp_port))
    module.apply()
    module.assert_no_changes("the first apply")
    host = module.outputs()["dns_name"]
    wait_serving(host, TCP_PORT, {"p0", "p1"})
    # A PROXY line behind the TCP listener's instance port, none behind the HTTP one's.
    assert proxy_line(TCP_PORT).startswith("PROXY TCP4 127.0.0.1 ")
    assert proxy_line(PORT) == "-"

    module.write(config(http_port, tcp_port))
    module.apply()
    module.assert_no_changes("adding the HTTP listener's instance port")
    assert proxy_line(PORT).startswith("PROXY TCP4 127.0.0.1 ")
    assert proxy_line(TCP_PORT).startswith("PROXY TCP4 127.0.0.1 ")

    import_again(module, "aws_elb.web", "web")

    module.destroy()
    assert_nothing_left(elb, (host, PORT), (host, TCP_PORT))


# ---- aws_elb_attachment ----


def test_elb_attachment(terraform, module, burr, backends):
    elb = burr.client()
    a, b, c = backends.http("a"), backends.http("b"), backends.http("c")
    provider = module.provider(burr.endpoint)
    # The balancer leaves `instances` to the attachments.
    base = elb_block("web", [], backends.port).replace(
        "  instances                   = []\n", "")

    def config(*attached) -> str:
        blocks = "".join(f"""
resource "aws_elb_attachment" "{t.name}" {{
  elb      = aws_elb.web.id
  instance = "{t.host}"
}}
""" for t in attached)
        return provider + base + blocks + """
output "dns_name" {
  value = aws_elb.web.dns_name
}
"""

    module.write(config(a, b))
    module.apply()
    module.assert_no_changes("the first apply")
    host = module.outputs()["dns_name"]
    wait_serving(host, PORT, {"a", "b"})

    module.write(config(a, c))
    module.apply()
    module.assert_no_changes("moving an attachment from b to c")
    wait_serving(host, PORT, {"a", "c"})
    assert sorted(i["InstanceId"] for i in describe(elb, "web")["Instances"]) == sorted(
        [a.host, c.host])

    import_again(module, "aws_elb.web", "web")

    module.destroy()
    assert_nothing_left(elb, (host, PORT))


# ---- regions ----


def test_two_regions_each_own_a_balancer_called_web(terraform, module, burr, backends):
    """Two providers (us-east-1 and eu-west-1): regions are namespaces, so each owns a `web`."""
    us_target, eu_target = backends.http("us"), backends.http("eu")
    port = backends.port
    providers = module.provider(burr.endpoint) + module.provider(
        burr.endpoint, region="eu-west-1", alias="eu")

    def config(us_idle: int) -> str:
        return (providers
                + elb_block("web", [us_target.host], port, resource="us", idle=us_idle)
                + elb_block("web", [eu_target.host], port, resource="eu", provider="aws.eu")
                .replace('["us-east-1a"]', '["eu-west-1a"]')
                + """
output "us" {
  value = aws_elb.us.dns_name
}

output "eu" {
  value = aws_elb.eu.dns_name
}

output "arns" {
  value = [aws_elb.us.arn, aws_elb.eu.arn]
}
""")

    module.write(config(60))
    module.apply()
    module.assert_no_changes("the first apply")
    out = module.outputs()
    assert out["us"] != out["eu"]
    assert [":us-east-1:" in out["arns"][0], ":eu-west-1:" in out["arns"][1]] == [True, True]
    wait_serving(out["us"], PORT, {"us"})
    wait_serving(out["eu"], PORT, {"eu"})
    us, eu = client(burr), client(burr, region="eu-west-1")
    assert [d["Instances"] for d in us.describe_load_balancers()["LoadBalancerDescriptions"]] == [
        [{"InstanceId": us_target.host}]]
    assert [d["Instances"] for d in eu.describe_load_balancers()["LoadBalancerDescriptions"]] == [
        [{"InstanceId": eu_target.host}]]

    # Changing one region's `web` leaves the other's alone.
    module.write(config(90))
    module.apply()
    module.assert_no_changes("changing us-east-1's web")
    idle = {r: c.describe_load_balancer_attributes(LoadBalancerName="web")[
        "LoadBalancerAttributes"]["ConnectionSettings"]["IdleTimeout"] for r, c in
        (("us", us), ("eu", eu))}
    assert idle == {"us": 90, "eu": 60}

    import_again(module, "aws_elb.eu", "web")

    module.destroy()
    assert_nothing_left(us, (out["us"], PORT))
    assert_nothing_left(eu, (out["eu"], PORT))


# ---- certificates: HTTPS listeners on ACM and IAM ARNs ----


def https_listener(certificate_arn: str, port: int) -> str:
    return f"""
  listener {{
    lb_port            = {PORT}
    lb_protocol        = "http"
    instance_port      = {port}
    instance_protocol  = "http"
  }}

  listener {{
    lb_port            = {HTTPS_PORT}
    lb_protocol        = "https"
    instance_port      = {port}
    instance_protocol  = "http"
    ssl_certificate_id = {certificate_arn}
  }}
"""


def test_https_listener_on_an_imported_acm_certificate(terraform, module, burr, backends):
    """aws_acm_certificate (import) on an HTTPS listener, with aws_lb_ssl_negotiation_policy and
    the aws_acm_certificate data source; re-importing a new body reaches new handshakes."""
    elb, acm = burr.client(), client(burr, "acm")
    a = backends.http("a")
    provider = module.provider(burr.endpoint)

    def config(cert: str, key: str) -> str:
        return provider + f"""
resource "aws_acm_certificate" "imported" {{
  private_key      = {hcl_string(key)}
  certificate_body = {hcl_string(cert)}
}}
""" + elb_block("web", [a.host], backends.port, listeners=https_listener(
            "aws_acm_certificate.imported.arn", backends.port)) + f"""
resource "aws_lb_ssl_negotiation_policy" "tls" {{
  name          = "tls"
  load_balancer = aws_elb.web.id
  lb_port       = {HTTPS_PORT}

  attribute {{
    name  = "Reference-Security-Policy"
    value = "ELBSecurityPolicy-TLS-1-2-2017-01"
  }}
}}

data "aws_acm_certificate" "by_domain" {{
  domain     = "www.example.test"
  statuses   = ["ISSUED"]
  # ListCertificates lists only RSA_2048 certificates unless told other key types (as AWS).
  key_types  = ["EC_prime256v1"]
  depends_on = [aws_acm_certificate.imported]
}}

output "dns_name" {{
  value = aws_elb.web.dns_name
}}

output "arns" {{
  value = [aws_acm_certificate.imported.arn, data.aws_acm_certificate.by_domain.arn]
}}
"""

    cert1, key1, der1 = self_signed("www.example.test")
    module.write(config(cert1, key1))
    module.apply()
    module.assert_no_changes("the first apply")
    out = module.outputs()
    host = out["dns_name"]
    arn = out["arns"][0]
    assert arn.startswith("arn:aws:acm:us-east-1:") and out["arns"][1] == arn
    assert peer_certificate(host, HTTPS_PORT) == der1
    wait_serving(host, PORT, {"a"})

    # Re-import into the same ARN: a new handshake sees the new certificate.
    cert2, key2, der2 = self_signed("www.example.test")
    module.write(config(cert2, key2))
    module.apply()
    module.assert_no_changes("re-importing the certificate")
    assert module.outputs()["arns"][0] == arn
    assert peer_certificate(host, HTTPS_PORT) == der2

    import_again(module, "aws_elb.web", "web")
    # An imported ACM certificate is not imported back into Terraform: its private key cannot
    # be read, so the provider plans a re-import (on AWS too).

    module.destroy()
    assert_nothing_left(elb, (host, PORT), (host, HTTPS_PORT))
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_https_listener_on_a_requested_acm_certificate(terraform, module, burr, backends):
    """aws_acm_certificate (request, issued by burr's local CA at once) waited for by
    aws_acm_certificate_validation, on an HTTPS listener."""
    elb, acm = burr.client(), client(burr, "acm")
    a = backends.http("a")
    provider = module.provider(burr.endpoint)

    def config(idle: int) -> str:
        return provider + """
resource "aws_acm_certificate" "requested" {
  domain_name       = "www.example.test"
  validation_method = "DNS"
}

# As users write it (minus the Route 53 records burr has no use for): the names must be
# those of the certificate's DNS validation records.
resource "aws_acm_certificate_validation" "requested" {
  certificate_arn         = aws_acm_certificate.requested.arn
  validation_record_fqdns = [
    for o in aws_acm_certificate.requested.domain_validation_options : o.resource_record_name
  ]
}
""" + elb_block("web", [a.host], backends.port, idle=idle, listeners=https_listener(
            "aws_acm_certificate_validation.requested.certificate_arn", backends.port)) + """
output "dns_name" {
  value = aws_elb.web.dns_name
}

output "status" {
  value = aws_acm_certificate.requested.status
}

output "arn" {
  value = aws_acm_certificate.requested.arn
}
"""

    module.write(config(60))
    module.apply()
    module.assert_no_changes("the first apply")
    out = module.outputs()
    host = out["dns_name"]
    assert out["status"] == "ISSUED"
    der = peer_certificate(host, HTTPS_PORT)
    assert b"www.example.test" in der
    status, headers, body = https_get(host, HTTPS_PORT)
    assert (status, body) == (200, "a\n")

    module.write(config(90))
    module.apply()
    module.assert_no_changes("changing the idle timeout")
    assert peer_certificate(host, HTTPS_PORT) == der

    import_again(module, "aws_elb.web", "web")
    import_again(module, "aws_acm_certificate.requested", out["arn"])

    module.destroy()
    assert_nothing_left(elb, (host, PORT), (host, HTTPS_PORT))
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_https_listener_on_an_iam_server_certificate(terraform, module, burr, backends):
    """aws_iam_server_certificate on an HTTPS listener, with the aws_iam_server_certificate data
    source; a new certificate (replaced before the old one goes) moves the listener to it."""
    elb, iam = burr.client(), client(burr, "iam")
    a = backends.http("a")
    provider = module.provider(burr.endpoint)

    def config(name: str, cert: str, key: str) -> str:
        return provider + f"""
resource "aws_iam_server_certificate" "web" {{
  name             = "{name}"
  certificate_body = {hcl_string(cert)}
  private_key      = {hcl_string(key)}

  lifecycle {{
    create_before_destroy = true
  }}
}}

data "aws_iam_server_certificate" "web" {{
  name       = aws_iam_server_certificate.web.name
  depends_on = [aws_iam_server_certificate.web]
}}
""" + elb_block("web", [a.host], backends.port, listeners=https_listener(
            "aws_iam_server_certificate.web.arn", backends.port)) + """
output "dns_name" {
  value = aws_elb.web.dns_name
}

output "arns" {
  value = [aws_iam_server_certificate.web.arn, data.aws_iam_server_certificate.web.arn]
}
"""

    cert1, key1, der1 = self_signed("www.example.test")
    module.write(config("web-1", cert1, key1))
    module.apply()
    module.assert_no_changes("the first apply")
    out = module.outputs()
    host = out["dns_name"]
    assert out["arns"][0].endswith(":server-certificate/web-1") and out["arns"][1] == out["arns"][0]
    assert peer_certificate(host, HTTPS_PORT) == der1

    cert2, key2, der2 = self_signed("www.example.test")
    module.write(config("web-2", cert2, key2))
    module.apply()
    module.assert_no_changes("moving to a new server certificate")
    assert peer_certificate(host, HTTPS_PORT) == der2
    names = [m["ServerCertificateName"]
             for m in iam.list_server_certificates()["ServerCertificateMetadataList"]]
    assert names == ["web-2"]

    import_again(module, "aws_elb.web", "web")
    # Nor a server certificate: its private key cannot be read, so the provider plans a
    # replacement (on AWS too).

    module.destroy()
    assert_nothing_left(elb, (host, PORT), (host, HTTPS_PORT))
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []


def test_missing_terraform_fails_only_when_ci_is_true(monkeypatch):
    """The CI rule itself: without terraform a test is skipped, or fails when CI=true."""
    import terraform_harness

    def outcome() -> tuple[str, str]:
        # Skip and fail are BaseExceptions: caught here so a wrong one fails this test
        # instead of skipping it.
        try:
            terraform_harness.require()
        except pytest.skip.Exception as e:
            return "skip", str(e)
        except pytest.fail.Exception as e:
            return "fail", str(e)
        return "run", ""

    monkeypatch.setattr(terraform_harness, "TERRAFORM", "/nonexistent/terraform")
    monkeypatch.setenv("CI", "false")
    kind, message = outcome()
    assert kind == "skip" and "/nonexistent/terraform" in message, (kind, message)
    monkeypatch.setenv("CI", "true")
    kind, message = outcome()
    assert kind == "fail" and "CI=true and the Terraform tests cannot run" in message, (
        kind, message)
    # A missing provider is named as such.
    monkeypatch.setattr(terraform_harness, "TERRAFORM", "/bin/true")
    monkeypatch.setattr(terraform_harness, "PROVIDER_DIR", terraform_harness.PLUGINS / "none")
    kind, message = outcome()
    assert kind == "fail" and "provider is not in the filesystem mirror" in message, (
        kind, message)
