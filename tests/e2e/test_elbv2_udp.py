"""UDP and TCP_UDP through the ELBv2 API with boto3 and the AWS CLI against the real binary:
target groups and listeners of a network load balancer described back with their protocols,
AWS's rules on which listener forwards to which group and how a UDP group is health-checked, the
UDP attribute defaults, and datagrams relayed through a UDP listener to an echo target on
loopback."""

from __future__ import annotations

import json
import socket
import threading

from burr_e2e import wait_until
from test_awscli import aws
from test_elbv2 import VPC, create_tg, refused


class UdpEcho:
    """A UDP target on loopback answering each datagram with `echo:` and the datagram."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                continue
            self.sock.sendto(b"echo:" + data, peer)

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def exchange(host: str, port: int, payload: bytes) -> bytes | None:
    """One datagram to `host:port` and the reply, or None after a second without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(1)
        client.sendto(payload, (host, port))
        try:
            return client.recvfrom(65535)[0]
        except OSError:
            return None


def test_udp_groups_and_listeners_on_a_network_load_balancer(elbv2, targets):
    lb_arn = elbv2.create_load_balancer(Name="dns", Subnets=["subnet-a"], Type="network")["LoadBalancers"][0][
        "LoadBalancerArn"]
    # The UDP service's TCP health check goes to another port, as NLB allows (no UDP checks).
    health_port = targets("health").port
    udp = create_tg(elbv2, "dns-udp", protocol="UDP", port=5353, HealthCheckPort=str(health_port))
    both = create_tg(elbv2, "dns-both", protocol="TCP_UDP", port=53)
    tcp = create_tg(elbv2, "dns-tcp", protocol="TCP", port=53)
    assert (udp["Protocol"], udp["HealthCheckProtocol"], udp["HealthCheckPort"]) == ("UDP", "TCP", str(health_port))
    assert (both["Protocol"], both["HealthCheckProtocol"], both["HealthCheckPort"]) == (
        "TCP_UDP", "TCP", "traffic-port")
    described = elbv2.describe_target_groups(TargetGroupArns=[udp["TargetGroupArn"], both["TargetGroupArn"]])
    assert sorted(g["Protocol"] for g in described["TargetGroups"]) == ["TCP_UDP", "UDP"]

    # Health checks: TCP, HTTP or HTTPS; never UDP, TCP_UDP or TLS.
    for protocol in ["UDP", "TCP_UDP", "TLS"]:
        message = refused(elbv2.modify_target_group, "InvalidConfigurationRequest",
                          TargetGroupArn=udp["TargetGroupArn"], HealthCheckProtocol=protocol)
        assert "use TCP, HTTP or HTTPS" in message, message
    modified = elbv2.modify_target_group(TargetGroupArn=both["TargetGroupArn"], HealthCheckProtocol="HTTP",
                                         HealthCheckPath="/ready")["TargetGroups"][0]
    assert (modified["HealthCheckProtocol"], modified["HealthCheckPath"]) == ("HTTP", "/ready")

    # Attributes: UDP's defaults, its refusals, source-IP stickiness.
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
        TargetGroupArn=udp["TargetGroupArn"])["Attributes"]}
    assert attributes["preserve_client_ip.enabled"] == "true"
    assert attributes["deregistration_delay.connection_termination.enabled"] == "true"
    assert attributes["stickiness.type"] == "source_ip"
    message = refused(elbv2.modify_target_group_attributes, "InvalidConfigurationRequest",
                      TargetGroupArn=udp["TargetGroupArn"],
                      Attributes=[{"Key": "preserve_client_ip.enabled", "Value": "false"}])
    assert "cannot be disabled for UDP and TCP_UDP target groups" in message, message
    elbv2.modify_target_group_attributes(TargetGroupArn=udp["TargetGroupArn"], Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "source_ip"}])

    # Which listener forwards to which group: AWS's table.
    def listener(protocol: str, port: int, group: dict) -> dict:
        return elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol=protocol, Port=port, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])["Listeners"][0]

    for protocol, group in [("UDP", tcp), ("TCP_UDP", udp), ("TCP_UDP", tcp), ("TCP", udp)]:
        refused(elbv2.create_listener, "IncompatibleProtocols", LoadBalancerArn=lb_arn, Protocol=protocol,
                Port=18060, DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
    dns = listener("UDP", 18053, udp)
    combined = listener("TCP_UDP", 18054, both)
    listener("TCP", 18055, both)
    assert (dns["Protocol"], combined["Protocol"]) == ("UDP", "TCP_UDP")
    assert sorted((entry["Port"], entry["Protocol"]) for entry in elbv2.describe_listeners(
        LoadBalancerArn=lb_arn)["Listeners"]) == [(18053, "UDP"), (18054, "TCP_UDP"), (18055, "TCP")]


def test_datagrams_through_a_udp_listener_come_back_whole(elbv2, targets):
    lb = elbv2.create_load_balancer(Name="echo", Subnets=["subnet-a"], Type="network")["LoadBalancers"][0]
    echo = UdpEcho()
    try:
        group = create_tg(elbv2, "echo", protocol="UDP", port=echo.port,
                          HealthCheckPort=str(targets("health").port))["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1"}])
        [health] = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        assert (health["Target"]["Id"], health["Target"]["Port"]) == ("127.0.0.1", echo.port)
        elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="UDP", Port=18053,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
        wait_until(lambda: exchange(lb["DNSName"], 18053, b"q0") == b"echo:q0", 10,
                   what="a datagram relayed through the UDP listener")
        for i, size in enumerate([1, 512, 1200, 8000]):
            payload = bytes([65 + i]) * size
            assert exchange(lb["DNSName"], 18053, payload) == b"echo:" + payload
    finally:
        echo.close()


def test_aws_cli_creates_and_describes_a_udp_listener(burr_factory):
    burr = burr_factory("generated", env_credentials=False)

    def cli(*args) -> dict:
        done = aws(burr, "elbv2", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    lb = cli("create-load-balancer", "--name", "syslog", "--type", "network",
             "--subnets", "subnet-a")["LoadBalancers"][0]
    group = cli("create-target-group", "--name", "syslog", "--protocol", "UDP", "--port", "514",
                "--vpc-id", VPC, "--target-type", "ip")["TargetGroups"][0]
    assert (group["Protocol"], group["HealthCheckProtocol"]) == ("UDP", "TCP")
    created = cli("create-listener", "--load-balancer-arn", lb["LoadBalancerArn"], "--protocol", "UDP",
                  "--port", "18514", "--default-actions",
                  f"Type=forward,TargetGroupArn={group['TargetGroupArn']}")["Listeners"][0]
    described = cli("describe-listeners", "--listener-arns", created["ListenerArn"])["Listeners"][0]
    assert (described["Protocol"], described["Port"]) == ("UDP", 18514)
    assert described["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    refused_call = aws(burr, "elbv2", "modify-target-group", "--target-group-arn", group["TargetGroupArn"],
                       "--health-check-protocol", "UDP")
    assert refused_call.returncode != 0 and "InvalidConfigurationRequest" in refused_call.stderr, refused_call.stderr
