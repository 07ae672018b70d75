"""ELBv2 listeners and rules through boto3's `elbv2` client against the real binary: the shapes
of Listener and Rule as the botocore model has them, the default rule, traffic through a
listener made by the API, and the refusals with their boto3 error codes (the state unchanged)."""

from __future__ import annotations

import http.client
import ssl

from burr_e2e import accepts, http_get, wait_until
from test_certificates import der, key_pem, make_cert, pem, served_certificate
from test_elbv2 import create_alb, create_tg, refused


def forward(arn: str) -> dict:
    """A forward action as burr (and AWS) answer it: both shapes."""
    return {
        "Type": "forward",
        "Order": 1,
        "TargetGroupArn": arn,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }


def listeners_and_rules(elbv2, lb_arn: str) -> dict:
    """Everything the API reports of a balancer's listeners, to compare around a refusal."""
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    return {
        "listeners": listeners,
        "rules": [elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] for listener in listeners],
    }


def test_listener_and_rules_lifecycle(elbv2, targets):
    lb = create_alb(elbv2)
    lb_arn = lb["LoadBalancerArn"]
    blue_target = targets("blue")
    blue = create_tg(elbv2, "blue", port=blue_target.port)["TargetGroupArn"]
    green = create_tg(elbv2, "green")["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])

    listener = elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
    )["Listeners"][0]
    arn = listener["ListenerArn"]
    port = listener["Port"]
    assert ":listener/app/web/" in arn and len(arn.rsplit("/", 1)[1]) == 16
    assert listener == {
        "ListenerArn": arn,
        "LoadBalancerArn": lb_arn,
        "Port": port,
        "Protocol": "HTTP",
        "DefaultActions": [forward(blue)],
    }
    assert elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"] == [listener]
    assert elbv2.describe_listeners(ListenerArns=[arn])["Listeners"] == [listener]

    # The listener serves at once: the request reaches blue's target.
    wait_until(lambda: http_get(lb["DNSName"], port).status == 200, 10, what="blue's target answering")
    assert http_get(lb["DNSName"], port).target == "blue"

    # The default rule is listed with IsDefault and Priority=default.
    [default_rule] = elbv2.describe_rules(ListenerArn=arn)["Rules"]
    assert default_rule["IsDefault"] is True and default_rule["Priority"] == "default"
    assert default_rule["Conditions"] == [] and default_rule["Actions"] == [forward(blue)]
    assert ":listener-rule/app/web/" in default_rule["RuleArn"]

    # A rule with a weighted forward and group stickiness.
    weighted = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}, {"TargetGroupArn": green, "Weight": 3}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
        },
    }
    rule = elbv2.create_rule(
        ListenerArn=arn, Priority=10, Actions=[weighted],
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Tags=[{"Key": "team", "Value": "web"}],
    )["Rules"][0]
    assert rule == {
        "RuleArn": rule["RuleArn"],
        "Priority": "10",
        "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}}],
        "Actions": [dict(weighted, Order=1)],
        "IsDefault": False,
    }
    assert elbv2.describe_tags(ResourceArns=[rule["RuleArn"]])["TagDescriptions"][0]["Tags"] == [
        {"Key": "team", "Value": "web"}]
    assert [r["Priority"] for r in elbv2.describe_rules(ListenerArn=arn)["Rules"]] == ["10", "default"]
    assert elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"] == [rule]

    # ModifyRule, then SetRulePriorities.
    hosts = [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}]
    modified = elbv2.modify_rule(RuleArn=rule["RuleArn"], Conditions=hosts)["Rules"][0]
    assert modified["Conditions"] == [{"Field": "host-header", "Values": ["api.example.com"],
                                       "HostHeaderConfig": {"Values": ["api.example.com"]}}]
    moved = elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": rule["RuleArn"], "Priority": 20}])["Rules"]
    assert [r["Priority"] for r in moved] == ["20"]

    # The default rule stays; another rule goes.
    refused(elbv2.delete_rule, "OperationNotPermitted", RuleArn=default_rule["RuleArn"])
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    assert elbv2.describe_rules(ListenerArn=arn)["Rules"] == [default_rule]

    # ModifyListener: the default action changes to green.
    changed = elbv2.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": green}])
    assert changed["Listeners"][0]["DefaultActions"] == [forward(green)]

    # Attributes.
    attributes = elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"]
    assert attributes == [{"Key": "routing.http.response.server.enabled", "Value": "true"}]
    elbv2.modify_listener_attributes(
        ListenerArn=arn, Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}])
    assert elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"][0]["Value"] == "false"

    # A target group in use cannot go; after DeleteListener it can.
    refused(elbv2.delete_target_group, "ResourceInUse", TargetGroupArn=green)
    elbv2.delete_listener(ListenerArn=arn)
    refused(elbv2.describe_listeners, "ListenerNotFound", ListenerArns=[arn])
    elbv2.delete_target_group(TargetGroupArn=green)


def test_listener_and_rule_refusals_change_nothing(elbv2):
    lb_arn = create_alb(elbv2)["LoadBalancerArn"]
    blue = create_tg(elbv2, "blue")["TargetGroupArn"]
    tcp = create_tg(elbv2, "tcp", protocol="TCP")["TargetGroupArn"]
    arn = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18081,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(ListenerArn=arn, Priority=5, Actions=[{"Type": "forward", "TargetGroupArn": blue}],
                      Conditions=[{"Field": "path-pattern", "Values": ["/a"]}])
    before = listeners_and_rules(elbv2, lb_arn)
    to_blue = [{"Type": "forward", "TargetGroupArn": blue}]
    path = [{"Field": "path-pattern", "Values": ["/b"]}]
    missing_group = blue.rsplit("/", 1)[0] + "/0000000000000000"
    cases = [
        (elbv2.create_listener, "DuplicateListener",
         dict(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18081, DefaultActions=to_blue)),
        (elbv2.create_listener, "UnsupportedProtocol",
         dict(LoadBalancerArn=lb_arn, Protocol="UDP", Port=18082, DefaultActions=to_blue)),
        (elbv2.create_listener, "TargetGroupNotFound",
         dict(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18082,
              DefaultActions=[{"Type": "forward", "TargetGroupArn": missing_group}])),
        (elbv2.create_listener, "IncompatibleProtocols",
         dict(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18082,
              DefaultActions=[{"Type": "forward", "TargetGroupArn": tcp}])),
        (elbv2.create_listener, "CertificateNotFound",
         dict(LoadBalancerArn=lb_arn, Protocol="HTTPS", Port=18443, DefaultActions=to_blue,
              Certificates=[{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/nope"}])),
        (elbv2.create_listener, "InvalidLoadBalancerAction",
         dict(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18082, DefaultActions=[
             {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
                 "Issuer": "https://idp", "AuthorizationEndpoint": "https://idp/a", "TokenEndpoint": "https://idp/t",
                 "UserInfoEndpoint": "https://idp/u", "ClientId": "c"}},
             {"Type": "forward", "Order": 2, "TargetGroupArn": blue}])),
        (elbv2.create_rule, "PriorityInUse", dict(ListenerArn=arn, Priority=5, Actions=to_blue, Conditions=path)),
        (elbv2.create_rule, "ValidationError", dict(ListenerArn=arn, Priority=6, Actions=to_blue, Conditions=[
            {"Field": "host-header", "Values": ["no_dot"]}])),
        (elbv2.create_rule, "ValidationError", dict(ListenerArn=arn, Priority=6, Actions=to_blue, Conditions=[
            {"Field": "cookie", "Values": ["x"]}])),
    ]
    for call, code, kwargs in cases:
        message = refused(call, code, **kwargs)
        assert message, (code, kwargs)
        assert listeners_and_rules(elbv2, lb_arn) == before, (code, kwargs)
    message = refused(elbv2.create_rule, "ValidationError", ListenerArn=arn, Priority=6, Actions=to_blue,
                      Conditions=[{"Field": "host-header", "Values": ["no_dot"]}])
    assert message.startswith("Conditions.member.1.HostHeaderConfig.Values.member.1: \"no_dot\""), message


def test_https_listener_serves_its_certificate_and_takes_more(elbv2, burr, targets):
    acm_client = burr.client(service="acm")
    default_arn = acm_client.request_certificate(DomainName="web.example.com")["CertificateArn"]
    extra_arn = acm_client.request_certificate(DomainName="api.example.com")["CertificateArn"]
    lb = create_alb(elbv2)
    target = targets("blue")
    blue = create_tg(elbv2, "blue", port=target.port)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=18443,
        Certificates=[{"CertificateArn": default_arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
    )["Listeners"][0]
    arn = listener["ListenerArn"]
    assert listener["Certificates"] == [{"CertificateArn": default_arn}]
    # The default policy burr honours.
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    served = served_certificate(lb["DNSName"], 18443)
    described = acm_client.get_certificate(CertificateArn=default_arn)["Certificate"]
    assert served == ssl.PEM_cert_to_DER_cert(described)

    added = elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": extra_arn}])
    assert added["Certificates"] == [{"CertificateArn": extra_arn, "IsDefault": False}]
    assert elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"] == [
        {"CertificateArn": default_arn, "IsDefault": True},
        {"CertificateArn": extra_arn, "IsDefault": False},
    ]
    refused(elbv2.remove_listener_certificates, "OperationNotPermitted", ListenerArn=arn,
            Certificates=[{"CertificateArn": default_arn}])
    refused(elbv2.add_listener_certificates, "CertificateNotFound", ListenerArn=arn,
            Certificates=[{"CertificateArn": default_arn.rsplit("/", 1)[0] + "/nope"}])
    elbv2.remove_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": extra_arn}])
    assert [c["IsDefault"] for c in elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"]] == [True]

    # Made HTTP again, the listener drops its certificate and policy.
    plain = elbv2.modify_listener(ListenerArn=arn, Protocol="HTTP")["Listeners"][0]
    assert "Certificates" not in plain and "SslPolicy" not in plain
    wait_until(lambda: http_get(lb["DNSName"], 18443).status == 200, 10, what="the plain listener")


def test_https_listener_on_a_pem_file(elbv2, targets, tmp_path):
    """The default certificate may be the path of a PEM file holding the chain and its key, as
    Classic's SSLCertificateId may: served, and described as given. A path that cannot be read
    refuses the listener and changes nothing."""
    cert, key = make_cert("file.example.com")
    path = tmp_path / "listener.pem"
    path.write_text(pem(cert) + key_pem(key))
    path.chmod(0o600)
    lb = create_alb(elbv2)
    target = targets("blue")
    blue = create_tg(elbv2, "blue", port=target.port)["TargetGroupArn"]
    before = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    message = refused(elbv2.create_listener, "CertificateNotFound",
                      LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=18444,
                      Certificates=[{"CertificateArn": str(tmp_path / "missing.pem")}],
                      DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])
    assert message.startswith("Certificates: ") and "missing.pem" in message, message
    assert elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] == before
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=18444,
        Certificates=[{"CertificateArn": str(path)}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
    )["Listeners"][0]
    assert listener["Certificates"] == [{"CertificateArn": str(path)}]
    assert served_certificate(lb["DNSName"], 18444) == der(cert)
    assert elbv2.describe_listener_certificates(ListenerArn=listener["ListenerArn"])[
        "Certificates"] == [{"CertificateArn": str(path), "IsDefault": True}]


def test_network_listener_relays_tcp_to_one_target_group(elbv2, targets):
    lb = elbv2.create_load_balancer(Name="net", Subnets=["subnet-a"], Type="network")["LoadBalancers"][0]
    target = targets("blue")
    blue = create_tg(elbv2, "blue", protocol="TCP", port=target.port)["TargetGroupArn"]
    http_group = create_tg(elbv2, "http")["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=18090,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]
    assert listener["Protocol"] == "TCP" and listener["DefaultActions"] == [forward(blue)]
    wait_until(lambda: http_get(lb["DNSName"], 18090).status == 200, 10, what="the TCP relay")
    assert http_get(lb["DNSName"], 18090).target == "blue"
    arn = listener["ListenerArn"]
    assert elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"] == [
        {"Key": "tcp.idle_timeout.seconds", "Value": "350"}]
    # The relay's idle timeout, up to NLB's 6000 s (beyond Classic's 3600); the range is NLB's.
    elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[{"Key": "tcp.idle_timeout.seconds", "Value": "6000"}])
    assert elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"] == [
        {"Key": "tcp.idle_timeout.seconds", "Value": "6000"}]
    for bad in ["59", "6001"]:
        message = refused(elbv2.modify_listener_attributes, "ValidationError", ListenerArn=arn,
                          Attributes=[{"Key": "tcp.idle_timeout.seconds", "Value": bad}])
        assert "between 60 and 6000" in message, message
    assert http_get(lb["DNSName"], 18090).target == "blue"
    refused(elbv2.create_rule, "UnsupportedProtocol", ListenerArn=arn, Priority=1,
            Actions=[{"Type": "forward", "TargetGroupArn": blue}],
            Conditions=[{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}])
    refused(elbv2.modify_listener, "IncompatibleProtocols", ListenerArn=arn,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": http_group}])
    refused(elbv2.modify_listener, "InvalidLoadBalancerAction", ListenerArn=arn,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    refused(elbv2.create_listener, "UnsupportedProtocol", LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
            Port=18091, DefaultActions=[{"Type": "forward", "TargetGroupArn": http_group}])


def test_pages_and_a_listener_moving_port(elbv2, targets):
    lb = create_alb(elbv2)
    target = targets("blue")
    blue = create_tg(elbv2, "blue", port=target.port)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])
    to_blue = [{"Type": "forward", "TargetGroupArn": blue}]
    arns = [elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                  DefaultActions=to_blue)["Listeners"][0]["ListenerArn"]
            for port in (18102, 18100, 18101)]
    first = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"], PageSize=2)
    assert [listener["Port"] for listener in first["Listeners"]] == [18100, 18101]
    rest = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"], PageSize=2, Marker=first["NextMarker"])
    assert [listener["Port"] for listener in rest["Listeners"]] == [18102] and "NextMarker" not in rest
    rules = [elbv2.create_rule(ListenerArn=arns[0], Priority=p, Actions=to_blue,
                               Conditions=[{"Field": "path-pattern", "Values": [f"/{p}"]}])["Rules"][0]["RuleArn"]
             for p in (3, 1, 2)]
    paged = elbv2.get_paginator("describe_rules").paginate(ListenerArn=arns[0], PaginationConfig={"PageSize": 2})
    assert [r["Priority"] for page in paged for r in page["Rules"]] == ["1", "2", "3", "default"]
    asked = elbv2.describe_rules(RuleArns=[rules[2], rules[0]])["Rules"]
    assert [r["RuleArn"] for r in asked] == [rules[2], rules[0]]

    # Moved to another port, the listener serves there and no longer on the old one.
    wait_until(lambda: http_get(lb["DNSName"], 18102).status == 200, 10, what="port 18102")
    elbv2.modify_listener(ListenerArn=arns[0], Port=18103)
    assert http_get(lb["DNSName"], 18103).target == "blue"
    wait_until(lambda: not accepts(lb["DNSName"], 18102), 5, what="port 18102 to close")
    refused(elbv2.modify_listener, "DuplicateListener", ListenerArn=arns[0], Port=18100)


def test_listeners_rules_and_certificates_survive_kill_9(burr, elbv2):
    acm_client = burr.client(service="acm")
    default_arn = acm_client.request_certificate(DomainName="web.example.com")["CertificateArn"]
    extra_arn = acm_client.request_certificate(DomainName="api.example.com")["CertificateArn"]
    lb_arn = create_alb(elbv2)["LoadBalancerArn"]
    blue = create_tg(elbv2, "blue")["TargetGroupArn"]
    https = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTPS", Port=18443,
                                  Certificates=[{"CertificateArn": default_arn}],
                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
                                  Tags=[{"Key": "team", "Value": "web"}])["Listeners"][0]["ListenerArn"]
    elbv2.add_listener_certificates(ListenerArn=https, Certificates=[{"CertificateArn": extra_arn}])
    elbv2.modify_listener_attributes(
        ListenerArn=https, Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}])
    elbv2.create_rule(ListenerArn=https, Priority=7,
                      Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418"}}],
                      Conditions=[{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}])

    def everything(client) -> dict:
        return {
            **listeners_and_rules(client, lb_arn),
            "certificates": client.describe_listener_certificates(ListenerArn=https)["Certificates"],
            "attributes": client.describe_listener_attributes(ListenerArn=https)["Attributes"],
            "tags": client.describe_tags(ResourceArns=[https])["TagDescriptions"],
        }

    before = everything(elbv2)
    burr.kill9_and_restart()
    assert everything(burr.client(service="elbv2")) == before


def test_tls_listener_terminates_tls_and_relays_to_a_tcp_group(burr, elbv2, targets):
    arn = burr.client(service="acm").request_certificate(DomainName="net.example.com")["CertificateArn"]
    lb = elbv2.create_load_balancer(Name="net", Subnets=["subnet-a"], Type="network")["LoadBalancers"][0]
    target = targets("blue")
    blue = create_tg(elbv2, "blue", protocol="TCP", port=target.port)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TLS", Port=18444,
        Certificates=[{"CertificateArn": arn}], AlpnPolicy=["HTTP1Only"],
        SslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06",
        DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
    )["Listeners"][0]
    assert (listener["Protocol"], listener["SslPolicy"], listener["AlpnPolicy"]) == (
        "TLS", "ELBSecurityPolicy-TLS13-1-3-2021-06", ["HTTP1Only"])

    def get() -> tuple[int, str | None]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(lb["DNSName"], 18444, timeout=5, context=context)
        try:
            conn.request("GET", "/", headers={"Connection": "close"})
            r = conn.getresponse()
            r.read()
            return r.status, r.getheader("X-Target")
        finally:
            conn.close()

    wait_until(lambda: get()[0] == 200, 10, what="the TLS listener relaying")
    assert get() == (200, "blue")
    refused(elbv2.create_listener, "ValidationError", LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TLS",
            Port=18445, Certificates=[{"CertificateArn": arn}], AlpnPolicy=["HTTP3"],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])
