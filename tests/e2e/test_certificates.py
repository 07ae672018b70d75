"""Certificates by ARN: ACM (import, request, describe, get, list, tags, delete) and IAM server
certificates (upload, get, list, update, delete) through boto3, and HTTPS/SSL listeners that
name them, seen from a TLS client: the certificate served, its hot replacement, and refusals
with the exception classes boto3 raises on AWS."""

from __future__ import annotations

import datetime
import http.client
import socket
import ssl

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from burr_e2e import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    boto_config,
    create_lb,
    describe,
    listener,
    wait_for_listener,
)

NOW = datetime.datetime.now(datetime.timezone.utc)


# ---- certificates made here ----


def new_key(kind: str = "ec"):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def make_cert(name: str, *, key=None, kind: str = "ec", issuer=None, ca: bool = False,
              not_before=None, not_after=None):
    """A certificate for `name` (self-signed unless `issuer` = (cert, key)); returns
    (certificate, key)."""
    key = key or new_key(kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer or (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm), key


def pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# ---- clients ----


def client(burr, service: str, region: str = REGION):
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY_ID,
                                    aws_secret_access_key=SECRET_ACCESS_KEY, region_name=region)
    return session.client(service, endpoint_url=burr.endpoint, config=boto_config())


@pytest.fixture
def acm(burr):
    return client(burr, "acm")


@pytest.fixture
def iam(burr):
    return client(burr, "iam")


def import_cert(acm, cert, key, **extra) -> str:
    return acm.import_certificate(Certificate=pem(cert).encode(), PrivateKey=key_pem(key).encode(),
                                  **extra)["CertificateArn"]


def all_ec(acm, **extra) -> list[str]:
    """Every ACM certificate of the client's region, of every key type."""
    paginator = acm.get_paginator("list_certificates")
    arns = []
    for page in paginator.paginate(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]}, **extra):
        arns += [c["CertificateArn"] for c in page["CertificateSummaryList"]]
    return arns


def served_certificate(host: str, port: int) -> bytes:
    """The DER certificate a TLS client is shown on host:port."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def https_connection(host: str, port: int) -> http.client.HTTPSConnection:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(host, port, timeout=5, context=context)


def get(conn: http.client.HTTPSConnection) -> tuple[int, str]:
    conn.request("GET", "/")
    r = conn.getresponse()
    return r.status, r.read().decode()


def error_of(excinfo) -> tuple[str, int, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


# ---- ACM ----


def test_acm_import_describe_get_tags_and_delete(acm):
    root, root_key = make_cert("Test Root", ca=True)
    leaf, leaf_key = make_cert("www.example.com", issuer=(root, root_key))
    arn = acm.import_certificate(
        Certificate=pem(leaf).encode(), PrivateKey=key_pem(leaf_key).encode(),
        CertificateChain=pem(root).encode(), Tags=[{"Key": "team", "Value": "web"}],
    )["CertificateArn"]
    assert arn.startswith("arn:aws:acm:us-east-1:") and ":certificate/" in arn
    account = arn.split(":")[4]
    assert len(account) == 12 and account.isdigit()

    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["CertificateArn"] == arn
    assert detail["DomainName"] == "www.example.com"
    assert detail["SubjectAlternativeNames"] == ["www.example.com"]
    assert detail["Type"] == "IMPORTED"
    assert detail["Status"] == "ISSUED"
    assert detail["KeyAlgorithm"] == "EC_prime256v1"
    assert detail["InUseBy"] == []
    assert "CN=Test Root" in detail["Issuer"]
    # Timestamps arrive as epoch seconds, which botocore turns into datetimes.
    assert detail["NotAfter"] == leaf.not_valid_after_utc
    assert abs((detail["ImportedAt"] - NOW).total_seconds()) < 120

    got = acm.get_certificate(CertificateArn=arn)
    assert x509.load_pem_x509_certificate(got["Certificate"].encode()) == leaf
    assert x509.load_pem_x509_certificate(got["CertificateChain"].encode()) == root
    assert "PrivateKey" not in got

    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [
        {"Key": "team", "Value": "web"}]
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "env", "Value": "test"},
                                                         {"Key": "bare"}])
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "team", "Value": "other"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [
        {"Key": "team", "Value": "web"}, {"Key": "env", "Value": "test"}, {"Key": "bare"}]
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "team"}, {"Key": "bare"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [
        {"Key": "env", "Value": "test"}]

    acm.delete_certificate(CertificateArn=arn)
    with pytest.raises(acm.exceptions.ResourceNotFoundException) as e:
        acm.describe_certificate(CertificateArn=arn)
    code, status, message = error_of(e)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert arn in message
    with pytest.raises(acm.exceptions.InvalidArnException):
        acm.describe_certificate(CertificateArn="arn:aws:s3:::not-a-certificate")


def test_acm_list_filters_and_pages(acm):
    rsa_arns = [import_cert(acm, *make_cert(f"r{i}.example.com", kind="rsa")) for i in range(3)]
    ec_arns = [import_cert(acm, *make_cert(f"e{i}.example.com")) for i in range(2)]
    # ACM lists only RSA_1024 and RSA_2048 certificates unless asked for other key types.
    default = acm.list_certificates()["CertificateSummaryList"]
    assert sorted(c["CertificateArn"] for c in default) == sorted(rsa_arns)
    only_ec = acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1"]})
    assert sorted(c["CertificateArn"] for c in only_ec["CertificateSummaryList"]) == sorted(ec_arns)
    summary = only_ec["CertificateSummaryList"][0]
    assert summary["KeyAlgorithm"] == "EC_prime256v1" and summary["Status"] == "ISSUED"
    assert summary["Type"] == "IMPORTED" and summary["InUse"] is False

    # Pages of two: every certificate exactly once, NextToken on all pages but the last.
    page = acm.list_certificates(MaxItems=2, Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})
    assert len(page["CertificateSummaryList"]) == 2 and "NextToken" in page
    seen = all_ec(acm, PaginationConfig={"PageSize": 2})
    assert sorted(seen) == sorted(rsa_arns + ec_arns)

    assert acm.list_certificates(CertificateStatuses=["EXPIRED"])["CertificateSummaryList"] == []
    assert len(acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]) == 3
    with pytest.raises(acm.exceptions.ValidationException):
        acm.list_certificates(NextToken="not-a-token")


def test_acm_certificates_belong_to_a_region(burr):
    eu = client(burr, "acm", "eu-west-1")
    us = client(burr, "acm", "us-east-1")
    arn = import_cert(eu, *make_cert("eu.example.com"))
    assert arn.startswith("arn:aws:acm:eu-west-1:")
    assert all_ec(eu) == [arn]
    assert all_ec(us) == []
    with pytest.raises(us.exceptions.ResourceNotFoundException):
        us.describe_certificate(CertificateArn=arn)
    # A balancer of us-east-1 may not use it.
    elb = burr.client()
    with pytest.raises(elb.exceptions.CertificateNotFoundException) as e:
        create_lb(elb, "eu", listener(8443, 80, "HTTPS", SSLCertificateId=arn))
    assert "region eu-west-1" in error_of(e)[2]
    # A balancer of eu-west-1 may, and ACM names it by its eu-west-1 ARN.
    elb_eu = client(burr, "elb", "eu-west-1")
    create_lb(elb_eu, "eu", listener(8443, 80, "HTTPS", SSLCertificateId=arn))
    assert describe(elb_eu, "eu")["ListenerDescriptions"][0]["Listener"]["SSLCertificateId"] == arn
    [user] = eu.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"]
    assert user.startswith("arn:aws:elasticloadbalancing:eu-west-1:") and user.endswith(
        ":loadbalancer/eu")
    with pytest.raises(eu.exceptions.ResourceInUseException):
        eu.delete_certificate(CertificateArn=arn)


def test_request_certificate_is_issued_at_once_by_the_local_authority(burr, acm):
    assert burr.run("ca", "export").returncode == 2  # nothing to export before the first request
    arn = acm.request_certificate(DomainName="app.example.com",
                                  SubjectAlternativeNames=["www.app.example.com"],
                                  ValidationMethod="DNS")["CertificateArn"]
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["Status"] == "ISSUED"
    assert detail["Type"] == "AMAZON_ISSUED"
    assert detail["SubjectAlternativeNames"] == ["app.example.com", "www.app.example.com"]
    for option in detail["DomainValidationOptions"]:
        assert option["ValidationStatus"] == "SUCCESS"
        assert option["ResourceRecord"]["Type"] == "CNAME"
        assert option["ResourceRecord"]["Name"].endswith(option["DomainName"] + ".")
    got = acm.get_certificate(CertificateArn=arn)
    leaf = x509.load_pem_x509_certificate(got["Certificate"].encode())

    exported = burr.run("ca", "export")
    assert exported.returncode == 0, exported.stderr
    root = x509.load_pem_x509_certificate(exported.stdout.encode())
    assert x509.load_pem_x509_certificate(got["CertificateChain"].encode()) == root
    leaf.verify_directly_issued_by(root)  # raises unless the root signed the leaf
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "PRIVATE" not in exported.stdout

    # A client trusting only the exported root accepts the certificate for its names.
    store = ssl.create_default_context(cadata=exported.stdout)
    assert store.get_ca_certs()[0]["subject"]


# ---- IAM ----


def test_iam_upload_get_list_update_delete(iam):
    root, root_key = make_cert("Test Root", ca=True)
    leaf, leaf_key = make_cert("iam.example.com", issuer=(root, root_key))
    meta = iam.upload_server_certificate(
        ServerCertificateName="site", Path="/cloudfront/", CertificateBody=pem(leaf),
        PrivateKey=key_pem(leaf_key), CertificateChain=pem(root),
    )["ServerCertificateMetadata"]
    account = meta["Arn"].split(":")[4]
    assert meta["Arn"] == f"arn:aws:iam::{account}:server-certificate/cloudfront/site"
    assert meta["Path"] == "/cloudfront/" and meta["ServerCertificateName"] == "site"
    assert meta["ServerCertificateId"].startswith("ASCA") and len(meta["ServerCertificateId"]) >= 16
    assert meta["Expiration"] == leaf.not_valid_after_utc

    got = iam.get_server_certificate(ServerCertificateName="site")["ServerCertificate"]
    assert x509.load_pem_x509_certificate(got["CertificateBody"].encode()) == leaf
    assert x509.load_pem_x509_certificate(got["CertificateChain"].encode()) == root
    # Answered without the surrounding whitespace it was uploaded with, as IAM does (Terraform
    # trims its configuration and compares).
    assert got["CertificateBody"] == pem(leaf).strip() and got["CertificateChain"] == pem(root).strip()
    assert "PrivateKey" not in got

    for i in range(3):
        iam.upload_server_certificate(ServerCertificateName=f"other{i}", CertificateBody=pem(leaf),
                                      PrivateKey=key_pem(leaf_key))
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert [m["ServerCertificateName"] for m in listed] == ["site"]
    first = iam.list_server_certificates(MaxItems=2)
    assert first["IsTruncated"] is True and len(first["ServerCertificateMetadataList"]) == 2
    rest = iam.list_server_certificates(MaxItems=2, Marker=first["Marker"])
    names = [m["ServerCertificateName"] for m in
             first["ServerCertificateMetadataList"] + rest["ServerCertificateMetadataList"]]
    assert names == ["other0", "other1", "other2", "site"] and rest["IsTruncated"] is False

    iam.update_server_certificate(ServerCertificateName="site", NewServerCertificateName="site2",
                                  NewPath="/")
    moved = iam.get_server_certificate(ServerCertificateName="site2")["ServerCertificate"]
    assert moved["ServerCertificateMetadata"]["Arn"] == f"arn:aws:iam::{account}:server-certificate/site2"
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_server_certificate(ServerCertificateName="site")
    assert error_of(e)[:2] == ("NoSuchEntity", 404)

    iam.delete_server_certificate(ServerCertificateName="site2")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.delete_server_certificate(ServerCertificateName="site2")


# ---- listeners ----


@pytest.fixture
def target(targets):
    return targets("t1")


def test_https_listener_on_an_acm_arn_and_its_hot_replacement(burr, acm, target):
    elb = burr.client()
    first, first_key = make_cert("one.example.com")
    arn = import_cert(acm, first, first_key)
    host = create_lb(elb, "secure", listener(8443, 80, "HTTPS", SSLCertificateId=arn))
    elb.register_instances_with_load_balancer(LoadBalancerName="secure",
                                              Instances=[{"InstanceId": target.address}])
    [desc] = describe(elb, "secure")["ListenerDescriptions"]
    assert desc["Listener"]["SSLCertificateId"] == arn
    wait_for_listener(host, 8443)
    assert served_certificate(host, 8443) == der(first)

    # A connection opened before the replacement...
    established = https_connection(host, 8443)
    assert get(established) == (200, "t1\n")
    assert established.sock.getpeercert(binary_form=True) == der(first)

    second, second_key = make_cert("two.example.com")
    import_cert(acm, second, second_key, CertificateArn=arn)
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainName"] == \
        "two.example.com"
    # ...keeps working on its session, while a new handshake sees the new certificate.
    assert served_certificate(host, 8443) == der(second)
    assert get(established) == (200, "t1\n")
    established.close()

    # In use: ACM refuses to delete it, and says who uses it.
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [
        f"arn:aws:elasticloadbalancing:us-east-1:{arn.split(':')[4]}:loadbalancer/secure"]
    with pytest.raises(acm.exceptions.ResourceInUseException) as e:
        acm.delete_certificate(CertificateArn=arn)
    assert error_of(e)[:2] == ("ResourceInUseException", 400)
    assert "secure" in error_of(e)[2]

    # SetLoadBalancerListenerSSLCertificate to another ARN; an unknown one is refused.
    third, third_key = make_cert("three.example.com")
    other = import_cert(acm, third, third_key)
    elb.set_load_balancer_listener_ssl_certificate(LoadBalancerName="secure",
                                                   LoadBalancerPort=8443, SSLCertificateId=other)
    assert served_certificate(host, 8443) == der(third)
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    with pytest.raises(elb.exceptions.CertificateNotFoundException) as e:
        elb.set_load_balancer_listener_ssl_certificate(
            LoadBalancerName="secure", LoadBalancerPort=8443, SSLCertificateId=missing)
    assert error_of(e)[:2] == ("CertificateNotFound", 400)
    assert describe(elb, "secure")["ListenerDescriptions"][0]["Listener"]["SSLCertificateId"] == other
    # The first certificate is free again.
    acm.delete_certificate(CertificateArn=arn)

    # The key survives a kill -9 (stored encrypted, read back).
    burr.kill9_and_restart()
    wait_for_listener(host, 8443)
    assert served_certificate(host, 8443) == der(third)


def test_ssl_listener_on_an_iam_arn(burr, iam, target):
    elb = burr.client()
    cert, key = make_cert("tcp.example.com", kind="rsa")
    arn = iam.upload_server_certificate(ServerCertificateName="relay", CertificateBody=pem(cert),
                                        PrivateKey=key_pem(key))["ServerCertificateMetadata"]["Arn"]
    host = create_lb(elb, "relay", listener(8444, 80, "SSL", SSLCertificateId=arn))
    elb.register_instances_with_load_balancer(LoadBalancerName="relay",
                                              Instances=[{"InstanceId": target.address}])
    assert describe(elb, "relay")["ListenerDescriptions"][0]["Listener"]["SSLCertificateId"] == arn
    wait_for_listener(host, 8444)
    assert served_certificate(host, 8444) == der(cert)
    conn = https_connection(host, 8444)
    assert get(conn) == (200, "t1\n")
    conn.close()
    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_server_certificate(ServerCertificateName="relay")
    assert error_of(e)[:2] == ("DeleteConflict", 409)
    # IAM's wording: Terraform retries a delete only when it reads "currently in use by arn".
    assert ":loadbalancer/relay. Please remove it first" in error_of(e)[2]
    assert "is currently in use by arn:aws:elasticloadbalancing:us-east-1:" in error_of(e)[2]
    elb.delete_load_balancer(LoadBalancerName="relay")
    iam.delete_server_certificate(ServerCertificateName="relay")


# ---- refusals ----


def bad_inputs():
    cert, key = make_cert("a.example.com")
    _, other_key = make_cert("b.example.com")
    expired, expired_key = make_cert("old.example.com", not_before=NOW - datetime.timedelta(days=30),
                                     not_after=NOW - datetime.timedelta(days=1))
    weak, weak_key = make_cert("weak.example.com", kind="rsa1024")
    edwards, edwards_key = make_cert("ed.example.com", kind="ed25519")
    return [
        # (what, certificate, key, ACM wording, IAM code)
        ("malformed", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
         key_pem(key), "is not valid PEM", "MalformedCertificate"),
        ("no certificate", "hello", key_pem(key), "holds no PEM CERTIFICATE block",
         "MalformedCertificate"),
        ("mismatched key", pem(cert), key_pem(other_key), "does not match the public key",
         "KeyPairMismatch"),
        ("expired", pem(expired), key_pem(expired_key), "expired", "MalformedCertificate"),
        ("rsa 1024", pem(weak), key_pem(weak_key), "RSA of 1024 bits", "MalformedCertificate"),
        ("ed25519", pem(edwards), key_pem(edwards_key), "Ed25519", "MalformedCertificate"),
    ]


def test_bad_certificates_are_refused_and_nothing_is_stored(acm, iam):
    for what, body, key, wording, iam_code in bad_inputs():
        with pytest.raises(acm.exceptions.ValidationException) as e:
            acm.import_certificate(Certificate=body.encode(), PrivateKey=key.encode())
        code, status, message = error_of(e)
        assert (code, status) == ("ValidationException", 400), what
        assert wording in message and ("Certificate" in message or "PrivateKey" in message), \
            (what, message)
        exception = getattr(iam.exceptions, iam_code + "Exception")
        with pytest.raises(exception) as e:
            iam.upload_server_certificate(ServerCertificateName="x", CertificateBody=body,
                                          PrivateKey=key)
        code, status, message = error_of(e)
        assert (code, status) == (iam_code, 400), what
        assert wording in message and ("CertificateBody" in message or "PrivateKey" in message), \
            (what, message)
    assert all_ec(acm) == []
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []

    cert, key = make_cert("dup.example.com")
    iam.upload_server_certificate(ServerCertificateName="dup", CertificateBody=pem(cert),
                                  PrivateKey=key_pem(key))
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        iam.upload_server_certificate(ServerCertificateName="dup", CertificateBody=pem(cert),
                                      PrivateKey=key_pem(key))
    assert error_of(e)[:2] == ("EntityAlreadyExists", 409)
    # Tags on a re-import, and a re-import into an ARN that does not exist.
    arn = import_cert(acm, cert, key)
    with pytest.raises(acm.exceptions.InvalidParameterException) as e:
        import_cert(acm, cert, key, CertificateArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert "Tags" in error_of(e)[2]
    with pytest.raises(acm.exceptions.ResourceNotFoundException):
        import_cert(acm, cert, key, CertificateArn=arn[:-4] + "0000")
    with pytest.raises(acm.exceptions.ValidationException) as e:
        acm.request_certificate(DomainName="localhost")
    assert "DomainName" in error_of(e)[2]


def test_an_unknown_arn_is_certificate_not_found(burr):
    elb = burr.client()
    for arn in ("arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000",
                "arn:aws:iam::123456789012:server-certificate/none"):
        with pytest.raises(elb.exceptions.CertificateNotFoundException) as e:
            create_lb(elb, "nope", listener(8443, 80, "HTTPS", SSLCertificateId=arn))
        code, status, message = error_of(e)
        assert (code, status) == ("CertificateNotFound", 400)
        assert "SSLCertificateId" in message and arn in message
    assert elb.describe_load_balancers()["LoadBalancerDescriptions"] == []


def test_acm_and_iam_signature_failures_speak_their_protocols(burr):
    import botocore.exceptions

    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY_ID,
                                    aws_secret_access_key="wrong-secret", region_name=REGION)
    acm = session.client("acm", endpoint_url=burr.endpoint, config=boto_config())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        acm.list_certificates()
    assert error_of(e)[:2] == ("InvalidSignatureException", 403)  # parsed from JSON
    iam = session.client("iam", endpoint_url=burr.endpoint, config=boto_config())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.list_server_certificates()
    assert error_of(e)[:2] == ("SignatureDoesNotMatch", 403)  # parsed from XML
