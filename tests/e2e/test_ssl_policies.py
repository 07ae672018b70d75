"""ELBv2 security policies honoured by HTTPS and TLS listeners: real Python `ssl` clients pinned
to TLS 1.2 or 1.3 see exactly the protocol versions and cipher suites the listener's
`SslPolicy` lists, for the default certificate and for SNI certificates, and a changed policy
reaches the next handshake."""

from __future__ import annotations

import socket
import ssl

from burr_e2e import wait_until
from test_elbv2 import create_alb, create_tg

TLS12 = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
TLS13 = "ELBSecurityPolicy-TLS13-1-3-2021-06"
# The policies' suites, as OpenSSL names them (DescribeSSLPolicies lists the same).
TLS12_SUITES = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def handshake(host: str, port: int, version: ssl.TLSVersion, ciphers: str | None = None,
              server_name: str | None = None):
    """(protocol, cipher) a client limited to `version` negotiates, or None if refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = version
    context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    with socket.create_connection((host, port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                return tls.version(), tls.cipher()[0]
        except (ssl.SSLError, ConnectionResetError):
            return None


def test_listeners_speak_exactly_their_policys_versions_and_suites(burr, elbv2, targets):
    acm = burr.client(service="acm")
    default_arn = acm.request_certificate(DomainName="web.example.com")["CertificateArn"]
    sni_arn = acm.request_certificate(DomainName="api.example.com")["CertificateArn"]
    lb = create_alb(elbv2)
    host = lb["DNSName"]
    target = targets("blue")
    blue = create_tg(elbv2, "blue", port=target.port)["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=blue, Targets=[{"Id": "127.0.0.1"}])
    arns = {}
    for port, policy in [(18443, TLS12), (18445, TLS13)]:
        arns[port] = elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=port, SslPolicy=policy,
            Certificates=[{"CertificateArn": default_arn}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
        )["Listeners"][0]["ListenerArn"]
        elbv2.add_listener_certificates(ListenerArn=arns[port], Certificates=[{"CertificateArn": sni_arn}])
    wait_until(lambda: handshake(host, 18445, ssl.TLSVersion.TLSv1_3), 10, what="the listeners")

    for name in [None, "api.example.com"]:
        # TLS 1.3 only: a TLS 1.2 client is refused, a TLS 1.3 one gets a policy suite.
        assert handshake(host, 18445, ssl.TLSVersion.TLSv1_2, server_name=name) is None
        version, cipher = handshake(host, 18445, ssl.TLSVersion.TLSv1_3, server_name=name)
        assert version == "TLSv1.3" and cipher in TLS13_SUITES, cipher
        # TLS 1.2 with ECDHE AEAD suites: served, with one of them.
        version, cipher = handshake(host, 18443, ssl.TLSVersion.TLSv1_2, server_name=name)
        assert version == "TLSv1.2" and cipher in TLS12_SUITES, cipher
        # rustls would agree to ChaCha20 over TLS 1.2; the policy does not list it.
        chacha = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
        assert handshake(host, 18443, ssl.TLSVersion.TLSv1_2, chacha, server_name=name) is None
        version, cipher = handshake(host, 18443, ssl.TLSVersion.TLSv1_3, server_name=name)
        assert version == "TLSv1.3" and cipher in TLS13_SUITES, cipher

    # A changed policy reaches the next handshake.
    elbv2.modify_listener(ListenerArn=arns[18443], SslPolicy=TLS13)
    wait_until(lambda: handshake(host, 18443, ssl.TLSVersion.TLSv1_2) is None, 10,
               what="TLS 1.2 refused after the change")
    assert handshake(host, 18443, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
