"""Authentication (Signature V4) and dispatch by Action and Version, as a client meets them:
boto3 clients with wrong credentials, and raw query-API requests sent with urllib, signed by
botocore's own SigV4 signer or not signed at all."""

import hashlib
import re
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from burr_e2e import (ACCESS_KEY_ID, API_VERSION, REGION, SECRET_ACCESS_KEY, create_lb,
                      http_status, listener, snapshot)

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def error_of(body: str) -> tuple[str, str]:
    """(Code, Message) of an `<ErrorResponse>` body."""
    assert body.startswith("<?xml"), body
    assert "<ErrorResponse" in body, body
    code = re.search(r"<Code>([^<]*)</Code>", body)
    message = re.search(r"<Message>([^<]*)</Message>", body)
    assert code and message, body
    assert re.search(r"<RequestId>[^<]+</RequestId>", body), body
    return code.group(1), message.group(1)


def signed_post(burr, body: str, *, query: str = "", content_sha256: str | None = None,
                send_body: str | None = None) -> tuple[int, str]:
    """POSTs a raw form to `/?query`, signed by botocore's SigV4Auth over `body`, and sends
    `send_body` (default: `body`) under that signature. With `content_sha256`, the
    X-Amz-Content-SHA256 header is set before signing, and botocore signs it as the payload
    hash in place of the body's own. Returns (HTTP status, body text)."""
    url = burr.endpoint + "/" + (f"?{query}" if query else "")
    headers = {"Content-Type": FORM}
    if content_sha256 is not None:
        headers["X-Amz-Content-SHA256"] = content_sha256
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body, headers=headers)
    credentials = botocore.credentials.Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    botocore.auth.SigV4Auth(credentials, "elasticloadbalancing", REGION).add_auth(request)
    sent = (body if send_body is None else send_body).encode()
    req = urllib.request.Request(url, data=sent, headers=dict(request.headers.items()),
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_unsigned_request_is_403_missing_authentication_token(burr, elb):
    status, body = burr.raw({"Action": "DescribeLoadBalancers", "Version": API_VERSION},
                            sign=False)
    assert status == 403
    assert error_of(body) == ("MissingAuthenticationToken", "Request is missing Authentication Token")

    before = snapshot(elb)
    status, body = burr.raw(
        {"Action": "CreateLoadBalancer", "Version": API_VERSION, "LoadBalancerName": "sneaky",
         "Listeners.member.1.Protocol": "HTTP", "Listeners.member.1.LoadBalancerPort": "8080",
         "Listeners.member.1.InstancePort": "80"},
        sign=False,
    )
    assert status == 403
    assert error_of(body)[0] == "MissingAuthenticationToken"
    assert snapshot(elb) == before


def test_signed_raw_request_is_served(burr):
    status, body = burr.raw({"Action": "DescribeLoadBalancers", "Version": API_VERSION})
    assert status == 200, body
    assert "<DescribeLoadBalancersResponse" in body
    assert "<DescribeLoadBalancersResult>" in body


def test_wrong_secret_is_403_signature_does_not_match(burr, elb):
    bad = burr.client(secret_key="not-the-secret-access-key-0123456789abcdef")
    before = snapshot(elb)
    for call in (
        lambda: bad.describe_load_balancers(),
        lambda: bad.create_load_balancer(LoadBalancerName="sneaky", Listeners=[listener()]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert http_status(info.value.response) == 403
        assert info.value.response["Error"]["Message"].startswith(
            "The request signature we calculated does not match the signature you provided."
        )
    assert snapshot(elb) == before


def test_unknown_access_key_id_is_403_invalid_client_token_id(burr, elb):
    stranger = burr.client(access_key="AKIDUNKNOWN000000000")
    before = snapshot(elb)
    for call in (
        lambda: stranger.describe_load_balancers(),
        lambda: stranger.create_load_balancer(LoadBalancerName="sneaky", Listeners=[listener()]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert http_status(info.value.response) == 403
        assert info.value.response["Error"]["Message"] == (
            "The security token included in the request is invalid."
        )
    assert snapshot(elb) == before
    # Signed with burr's secret but another id is still a stranger.
    status, body = burr.raw({"Action": "DescribeLoadBalancers", "Version": API_VERSION},
                            access_key="AKIDUNKNOWN000000000")
    assert status == 403
    assert error_of(body)[0] == "InvalidClientTokenId"
    assert ACCESS_KEY_ID not in body


def test_unknown_action_is_invalid_action(burr, elb):
    create_lb(elb, "web")
    before = snapshot(elb)
    status, body = burr.raw({"Action": "DestroyEverything", "Version": API_VERSION,
                             "LoadBalancerName": "web"})
    assert status == 400
    assert error_of(body) == (
        "InvalidAction", "Could not find operation DestroyEverything for version 2012-06-01"
    )
    assert snapshot(elb) == before


def test_version_chooses_the_api(burr, elb):
    """`Version` picks the API: 2015-12-01 is ELBv2, which neither sees nor touches a Classic
    balancer; any other version is InvalidAction, naming both that burr serves."""
    create_lb(elb, "web")
    before = snapshot(elb)
    status, body = burr.raw({"Action": "DescribeLoadBalancers", "Version": "2015-12-01"})
    assert status == 200
    assert "<LoadBalancers/>" in body or "<LoadBalancers></LoadBalancers>" in body
    status, body = burr.raw({"Action": "DeleteLoadBalancer", "Version": "2015-12-01",
                             "LoadBalancerName": "web"})
    assert status == 400
    assert error_of(body) == (
        "MissingParameter", "The request must contain the parameter LoadBalancerArn")
    status, body = burr.raw({"Action": "DescribeLoadBalancers", "Version": "2099-01-01"})
    assert status == 400
    code, message = error_of(body)
    assert code == "InvalidAction"
    assert "2012-06-01" in message and "2015-12-01" in message
    assert snapshot(elb) == before


def test_missing_action_and_missing_version(burr):
    status, body = burr.raw({"Version": API_VERSION})
    assert status == 400
    assert error_of(body) == ("MissingAction", "The request must name an Action")
    status, body = burr.raw({"Action": "DescribeLoadBalancers"})
    assert status == 400
    assert error_of(body) == ("MissingParameter", "The request must contain the parameter Version")


def test_unsigned_payload_is_403_so_a_captured_signature_cannot_carry_another_body(burr, elb):
    """With `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` the signature would not cover the body,
    which holds the whole operation: anyone who saw one request on the plain-HTTP API could
    replay its headers with any body for 15 minutes. burr refuses it, whatever the body."""
    create_lb(elb, "web")
    before = snapshot(elb)
    describe = f"Action=DescribeLoadBalancers&Version={API_VERSION}"
    delete = f"Action=DeleteLoadBalancer&Version={API_VERSION}&LoadBalancerName=web"
    for send_body in (describe, delete):
        status, body = signed_post(burr, describe, content_sha256="UNSIGNED-PAYLOAD",
                                   send_body=send_body)
        assert status == 403, body
        code, message = error_of(body)
        assert code == "SignatureDoesNotMatch"
        assert "UNSIGNED-PAYLOAD" in message and "signed payload hash" in message, message
    assert snapshot(elb) == before
    # The body's own hash in the header is what botocore sends over HTTP: accepted.
    status, body = signed_post(burr, describe,
                               content_sha256=hashlib.sha256(describe.encode()).hexdigest())
    assert status == 200, body


def test_a_parameter_given_twice_is_400_validation_error_and_runs_nothing(burr, elb):
    """The signature covers the query sorted, so with a name given twice the order, and so the
    operation, could be changed under the same signature: burr refuses any repeated name."""
    create_lb(elb, "web")
    before = snapshot(elb)
    describe = f"Action=DescribeLoadBalancers&Version={API_VERSION}"
    delete = "Action=DeleteLoadBalancer&LoadBalancerName=web"
    twice = ("ValidationError", "Action: given 2 times; each parameter may appear once")
    for query, body in (
        ("", f"{describe}&{delete}"),  # in the body
        ("", f"{delete}&{describe}"),  # in the body, the other order
        (f"{describe}&{delete}", ""),  # in the query
        (f"{delete}&{describe}", ""),  # in the query, the other order (same canonical query)
        (delete, describe),  # in the query and in the body
    ):
        status, text = signed_post(burr, body, query=query)
        assert status == 400, (query, body, text)
        assert error_of(text) == twice, (query, body)
    assert snapshot(elb) == before
