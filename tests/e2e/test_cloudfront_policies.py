"""CloudFront continuous-deployment policies through boto3's `cloudfront` client against the real
binary: the six operations, their statuses and headers (201 + Location + ETag, 200 + ETag, 204),
the ETag rules (missing If-Match, stale If-Match, the new ETag works), every reachable error with
its boto3 exception, raw requests for what boto3 cannot send (malformed XML, an unknown element,
no body), nothing changed after each refusal, persistence across `kill -9`, and the AWS CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import botocore.exceptions
import pytest

from burr_e2e import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from cloudfront_e2e import (NAMESPACE, PREFIX, cloudfront_burr, create, distribution_config,
                            header_policy, refused, staging_copy, weight_policy)

ETAG = re.compile(r"^E[0-9A-Z]{13}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def burr(burr_factory):
    """This module's burr: API-made distributions on free ports (`cf`, `raw_cf` use it)."""
    return cloudfront_burr(burr_factory)


@pytest.fixture
def stagings(cf):
    """A primary distribution and two staging copies of it: their DomainNames."""
    primary, etag, _ = create(cf, distribution_config("primary"))
    names = []
    for i in range(2):
        _, _, dns = staging_copy(cf, primary, etag, f"staging-{i}")
        names.append(dns)
    return names


def everything(cf) -> list:
    """Every policy with its ETag and config, to compare before and after a refused call."""
    listed = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    out = []
    for item in listed.get("Items", []):
        pid = item["ContinuousDeploymentPolicy"]["Id"]
        got = cf.get_continuous_deployment_policy(Id=pid)
        out.append((pid, got["ETag"], got["ContinuousDeploymentPolicy"]))
    return out


def test_policy_lifecycle(cf, stagings):
    first, second = stagings
    created = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(first, 0.1))
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    policy = created["ContinuousDeploymentPolicy"]
    pid = policy["Id"]
    assert UUID.match(pid), pid
    assert ETAG.match(created["ETag"]), created["ETag"]
    assert created["Location"] == \
        f"https://cloudfront.amazonaws.com/2020-05-31/continuous-deployment-policy/{pid}"
    assert policy["ContinuousDeploymentPolicyConfig"] == weight_policy(first, 0.1)
    assert policy["LastModifiedTime"].tzinfo is not None

    got = cf.get_continuous_deployment_policy(Id=pid)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["ETag"] == created["ETag"]
    assert got["ContinuousDeploymentPolicy"] == policy
    config = cf.get_continuous_deployment_policy_config(Id=pid)
    assert config["ETag"] == created["ETag"]
    assert config["ContinuousDeploymentPolicyConfig"] == weight_policy(first, 0.1)

    # Update: full replacement, a new ETag; the old one is stale from then on.
    updated = cf.update_continuous_deployment_policy(
        Id=pid, IfMatch=created["ETag"],
        ContinuousDeploymentPolicyConfig=header_policy(first))
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert updated["ETag"] != created["ETag"] and ETAG.match(updated["ETag"])
    assert updated["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"] == \
        header_policy(first)
    assert cf.get_continuous_deployment_policy(Id=pid)["ETag"] == updated["ETag"]
    refused(cf.update_continuous_deployment_policy, "PreconditionFailed", 412, Id=pid,
            IfMatch=created["ETag"], ContinuousDeploymentPolicyConfig=weight_policy(first))

    # List, and paging with MaxItems=1.
    other = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(second, 0.15, idle=None))
    listed = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    assert listed["Quantity"] == 2 and listed["MaxItems"] == 100
    ids = {i["ContinuousDeploymentPolicy"]["Id"] for i in listed["Items"]}
    assert ids == {pid, other["ContinuousDeploymentPolicy"]["Id"]}
    page = cf.list_continuous_deployment_policies(MaxItems="1")["ContinuousDeploymentPolicyList"]
    assert page["Quantity"] == 1 and page["MaxItems"] == 1 and page["NextMarker"]
    rest = cf.list_continuous_deployment_policies(
        MaxItems="1", Marker=page["NextMarker"])["ContinuousDeploymentPolicyList"]
    assert rest["Quantity"] == 1 and "NextMarker" not in rest
    assert {page["Items"][0]["ContinuousDeploymentPolicy"]["Id"],
            rest["Items"][0]["ContinuousDeploymentPolicy"]["Id"]} == ids

    # Delete: the ETag rules, then 204 and gone.
    refused(cf.delete_continuous_deployment_policy, "InvalidIfMatchVersion", 400, Id=pid)
    refused(cf.delete_continuous_deployment_policy, "PreconditionFailed", 412, Id=pid,
            IfMatch=created["ETag"])
    deleted = cf.delete_continuous_deployment_policy(Id=pid, IfMatch=updated["ETag"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (cf.get_continuous_deployment_policy, cf.get_continuous_deployment_policy_config):
        with pytest.raises(cf.exceptions.NoSuchContinuousDeploymentPolicy) as info:
            call(Id=pid)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    refused(cf.delete_continuous_deployment_policy, "NoSuchContinuousDeploymentPolicy", 404,
            Id=pid, IfMatch=updated["ETag"])
    refused(cf.update_continuous_deployment_policy, "NoSuchContinuousDeploymentPolicy", 404,
            Id=pid, IfMatch=updated["ETag"], ContinuousDeploymentPolicyConfig=header_policy(first))
    listed = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    assert listed["Quantity"] == 1


def test_missing_if_match_is_invalid_if_match_version(cf, stagings):
    created = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(stagings[0]))
    pid = created["ContinuousDeploymentPolicy"]["Id"]
    before = everything(cf)
    with pytest.raises(cf.exceptions.InvalidIfMatchVersion) as info:
        cf.update_continuous_deployment_policy(
            Id=pid, ContinuousDeploymentPolicyConfig=weight_policy(stagings[0], 0.1))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(cf.exceptions.PreconditionFailed):
        cf.update_continuous_deployment_policy(
            Id=pid, IfMatch="E0000000000000",
            ContinuousDeploymentPolicyConfig=weight_policy(stagings[0], 0.1))
    assert everything(cf) == before


@pytest.mark.parametrize("change, code, names", [
    (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(Weight=0.16),
     "InvalidArgument", "Weight"),
    (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(Weight=-0.01),
     "InvalidArgument", "Weight"),
    (lambda c: c["TrafficConfig"]["SingleWeightConfig"]["SessionStickinessConfig"].update(
        IdleTTL=299), "InvalidArgument", "IdleTTL"),
    (lambda c: c["TrafficConfig"]["SingleWeightConfig"]["SessionStickinessConfig"].update(
        MaximumTTL=3601), "InvalidArgument", "MaximumTTL"),
    (lambda c: c["TrafficConfig"]["SingleWeightConfig"]["SessionStickinessConfig"].update(
        IdleTTL=900, MaximumTTL=600), "InvalidArgument", "IdleTTL"),
    (lambda c: c["TrafficConfig"].update(Type="SingleHeader"), "InvalidArgument", "Type"),
    (lambda c: c["StagingDistributionDnsNames"].update(Quantity=2), "InconsistentQuantities",
     "StagingDistributionDnsNames"),
    (lambda c: c["StagingDistributionDnsNames"].update(Items=["127.0.0.254"]), "InvalidArgument",
     "127.0.0.254"),
])
def test_policy_refusals_name_the_member_and_change_nothing(raw_cf, cf, stagings, change, code,
                                                            names):
    config = weight_policy(stagings[0])
    change(config)
    before = everything(cf)
    message = refused(raw_cf.create_continuous_deployment_policy, code, 400,
                      ContinuousDeploymentPolicyConfig=config)
    assert names in message, message
    assert everything(cf) == before

    # The same refusal on update leaves the policy and its ETag as they were.
    created = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(stagings[0]))
    pid, etag = created["ContinuousDeploymentPolicy"]["Id"], created["ETag"]
    before = everything(cf)
    message = refused(raw_cf.update_continuous_deployment_policy, code, 400, Id=pid, IfMatch=etag,
                      ContinuousDeploymentPolicyConfig=config)
    assert names in message, message
    assert everything(cf) == before


def test_header_policy_rules(raw_cf, cf, stagings):
    message = refused(raw_cf.create_continuous_deployment_policy, "InvalidArgument", 400,
                      ContinuousDeploymentPolicyConfig=header_policy(stagings[0], "x-canary"))
    assert "Header" in message and "aws-cf-cd-" in message, message
    ok = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=header_policy(stagings[0]))
    assert ok["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"] == \
        header_policy(stagings[0])


def test_one_policy_per_staging_distribution_and_in_use(cf, stagings):
    first = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(stagings[0]))
    before = everything(cf)
    with pytest.raises(cf.exceptions.StagingDistributionInUse) as info:
        cf.create_continuous_deployment_policy(
            ContinuousDeploymentPolicyConfig=header_policy(stagings[0]))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert everything(cf) == before
    # An identical config is the same policy again.
    with pytest.raises(cf.exceptions.ContinuousDeploymentPolicyAlreadyExists) as info:
        cf.create_continuous_deployment_policy(
            ContinuousDeploymentPolicyConfig=weight_policy(stagings[0]))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert everything(cf) == before

    # Attached to a primary, the policy cannot be deleted.
    pid = first["ContinuousDeploymentPolicy"]["Id"]
    [primary] = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]
                 if not d["Staging"]]
    got = cf.get_distribution_config(Id=primary)
    config = got["DistributionConfig"]
    config["ContinuousDeploymentPolicyId"] = pid
    cf.update_distribution(Id=primary, IfMatch=got["ETag"], DistributionConfig=config)
    before = everything(cf)
    with pytest.raises(cf.exceptions.ContinuousDeploymentPolicyInUse) as info:
        cf.delete_continuous_deployment_policy(Id=pid, IfMatch=first["ETag"])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert everything(cf) == before


def test_too_many_policies(cf):
    primary, etag, _ = create(cf, distribution_config("primary"))
    names = [staging_copy(cf, primary, etag, f"s{i}")[2] for i in range(21)]
    for name in names[:20]:
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_policy(name))
    before = everything(cf)
    with pytest.raises(cf.exceptions.TooManyContinuousDeploymentPolicies) as info:
        cf.create_continuous_deployment_policy(
            ContinuousDeploymentPolicyConfig=weight_policy(names[20]))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert everything(cf) == before


def test_max_items_that_is_not_a_number(raw_cf, cf):
    for bad in ("abc", "0", "-1"):
        message = refused(raw_cf.list_continuous_deployment_policies, "InvalidArgument", 400,
                          MaxItems=bad)
        assert "MaxItems" in message


POLICY_XML = (f'<ContinuousDeploymentPolicyConfig xmlns="{NAMESPACE}">'
              "<StagingDistributionDnsNames><Quantity>1</Quantity><Items><DnsName>{dns}</DnsName>"
              "</Items></StagingDistributionDnsNames><Enabled>true</Enabled>{extra}"
              "</ContinuousDeploymentPolicyConfig>")


def test_raw_bodies_boto3_cannot_send(burr, cf, stagings):
    path = f"{PREFIX}/continuous-deployment-policy"
    before = everything(cf)
    cases = [
        (b"", "MissingBody", None),
        (b"<ContinuousDeploymentPolicyConfig", "MalformedInput", None),
        (POLICY_XML.format(dns=stagings[0], extra="<Colour>red</Colour>").encode(),
         "MalformedInput", "Colour"),
    ]
    for body, code, names in cases:
        status, headers, text = burr.signed("POST", path, body=body)
        assert status == 400, (body, status, text)
        assert f"<Code>{code}</Code>" in text, text
        assert f'<ErrorResponse xmlns="{NAMESPACE}">' in text and "<Type>Sender</Type>" in text
        assert "<RequestId>" in text
        if names:
            assert names in text, text
    assert everything(cf) == before
    # An unknown route is a 404 with an error body, never an empty one.
    status, _, text = burr.signed("GET", f"{PREFIX}/invalidation")
    assert status == 404 and "<Code>" in text, (status, text)
    # The raw form boto3 would send works, and answers ETag and Location headers.
    status, headers, text = burr.signed(
        "POST", path, body=POLICY_XML.format(dns=stagings[0], extra="").encode())
    assert status == 201, text
    assert ETAG.match(headers["ETag"]) and "/continuous-deployment-policy/" in headers["Location"]


def test_any_signing_region_is_accepted(burr, stagings):
    cf_eu = burr.client(service="cloudfront", region="eu-west-1")
    created = cf_eu.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(stagings[0]))
    # CloudFront is global: another region sees the same policy.
    cf_us = burr.client(service="cloudfront", region="us-west-2")
    got = cf_us.get_continuous_deployment_policy(Id=created["ContinuousDeploymentPolicy"]["Id"])
    assert got["ETag"] == created["ETag"]


def test_policy_survives_kill_9(burr, cf, stagings):
    created = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(stagings[0], 0.15))
    before = everything(cf)
    burr.kill9_and_restart()
    assert everything(cf) == before
    pid = created["ContinuousDeploymentPolicy"]["Id"]
    # The ETag from before the crash still works.
    cf.update_continuous_deployment_policy(Id=pid, IfMatch=created["ETag"],
                                           ContinuousDeploymentPolicyConfig=header_policy(
                                               stagings[0]))


def aws(burr, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1", AWS_PAGER="")
    run = subprocess.run(
        [sys.executable, "-m", "awscli", "cloudfront", *args, "--endpoint-url", burr.endpoint,
         "--region", REGION, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    return run


def test_aws_cli(burr):
    def ok(*args):
        run = aws(burr, *args)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else None

    created = ok("create-distribution", "--distribution-config",
                 json.dumps(distribution_config("cli-primary")))
    primary = created["Distribution"]["Id"]
    got = ok("get-distribution-config", "--id", primary)
    assert got["DistributionConfig"]["CallerReference"] == "cli-primary"
    copy = ok("copy-distribution", "--primary-distribution-id", primary, "--staging",
              "--if-match", got["ETag"], "--caller-reference", "cli-staging")
    staging_dns = copy["Distribution"]["DomainName"]

    policy = ok("create-continuous-deployment-policy", "--continuous-deployment-policy-config",
                json.dumps(weight_policy(staging_dns)))
    pid = policy["ContinuousDeploymentPolicy"]["Id"]
    got = ok("get-continuous-deployment-policy", "--id", pid)
    assert got["ETag"] == policy["ETag"]
    updated = ok("update-continuous-deployment-policy", "--id", pid, "--if-match", got["ETag"],
                 "--continuous-deployment-policy-config", json.dumps(header_policy(staging_dns)))
    assert updated["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"][
        "TrafficConfig"]["Type"] == "SingleHeader"
    stale = aws(burr, "delete-continuous-deployment-policy", "--id", pid, "--if-match",
                got["ETag"])
    assert stale.returncode != 0 and "PreconditionFailed" in stale.stderr, stale.stderr
    ok("delete-continuous-deployment-policy", "--id", pid, "--if-match", updated["ETag"])
    gone = aws(burr, "get-continuous-deployment-policy", "--id", pid)
    assert gone.returncode != 0 and "NoSuchContinuousDeploymentPolicy" in gone.stderr


def test_a_bad_signature_is_answered_in_cloudfronts_envelope(burr):
    wrong = burr.client(service="cloudfront", secret_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        wrong.list_continuous_deployment_policies()
    error = info.value.response["Error"]
    assert error["Code"] == "SignatureDoesNotMatch", error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Message"]
    # Answers carry their request id where boto3 looks for it.
    ok = burr.client(service="cloudfront").list_continuous_deployment_policies()
    assert ok["ResponseMetadata"]["RequestId"]
