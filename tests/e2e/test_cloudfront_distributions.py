"""CloudFront distributions through boto3's `cloudfront` client against the real binary: create
(with and without tags), get, get-config, update, delete, list, copy, promote and tagging, with
their statuses and headers, the ETag rules, every reachable error with its boto3 exception and
nothing changed after each refusal; persistence across `kill -9`; and traffic: a distribution
serves its origin on its DomainName, a header policy routes to the staging copy, promotion and
disabling the policy take effect on the next request, a weighted sticky policy keeps viewers on
their arm, an ACM viewer certificate serves HTTPS."""

from __future__ import annotations

import re

import pytest

from burr_e2e import free_port, http_get
from cloudfront_e2e import (NAMESPACE, PREFIX, cloudfront_burr, create, distribution_config,
                            header_policy, origin, refused, served_by, set_config, staging_copy,
                            weight_policy)

ETAG = re.compile(r"^E[0-9A-Z]{13}$")
ID = re.compile(r"^E[0-9A-Z]{13}$")


@pytest.fixture
def burr(burr_factory):
    """This module's burr: API-made distributions on free ports (`cf`, `raw_cf` use it)."""
    return cloudfront_burr(burr_factory)


def everything(cf) -> list:
    """Every distribution with its ETag, description and tags, to compare around refusals."""
    listed = cf.list_distributions()["DistributionList"]
    out = []
    for item in listed.get("Items", []):
        got = cf.get_distribution(Id=item["Id"])
        tags = cf.list_tags_for_resource(Resource=item["ARN"])["Tags"]
        out.append((item["Id"], got["ETag"], got["Distribution"], tags))
    return out


def test_distribution_lifecycle(burr, cf, targets):
    target = targets("origin")
    config = distribution_config("ref-1", target.host, target.port, comment="shop")
    created = cf.create_distribution(DistributionConfig=config)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    d = created["Distribution"]
    did = d["Id"]
    assert ID.match(did) and ETAG.match(created["ETag"])
    assert created["Location"] == f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{did}"
    assert d["ARN"].startswith("arn:aws:cloudfront::") and d["ARN"].endswith(f":distribution/{did}")
    assert re.fullmatch(r"arn:aws:cloudfront::\d{12}:distribution/" + did, d["ARN"])
    assert d["Status"] == "Deployed"
    assert d["InProgressInvalidationBatches"] == 0
    assert d["ActiveTrustedSigners"] == {"Enabled": False, "Quantity": 0}
    assert d["ActiveTrustedKeyGroups"] == {"Enabled": False, "Quantity": 0}
    assert d["LastModifiedTime"].tzinfo is not None
    dc = d["DistributionConfig"]
    assert dc["CallerReference"] == "ref-1" and dc["Comment"] == "shop" and dc["Enabled"] is True
    assert dc["Origins"]["Items"][0]["CustomOriginConfig"]["HTTPPort"] == target.port
    # The wrappers Terraform reads are there, empty.
    assert dc["OriginGroups"]["Quantity"] == 0
    assert dc["CacheBehaviors"]["Quantity"] == 0
    assert dc["CustomErrorResponses"]["Quantity"] == 0
    assert dc["Aliases"]["Quantity"] == 0
    dcb = dc["DefaultCacheBehavior"]
    assert dcb["AllowedMethods"]["CachedMethods"]["Quantity"] == 2
    for wrapper in ("FunctionAssociations", "LambdaFunctionAssociations"):
        assert dcb[wrapper]["Quantity"] == 0
    assert dcb["TrustedSigners"] == {"Enabled": False, "Quantity": 0}
    assert dcb["TrustedKeyGroups"] == {"Enabled": False, "Quantity": 0}

    # It serves its origin on its own address, at once.
    assert served_by(d["DomainName"], burr.cf_http_port) == "origin"

    got = cf.get_distribution(Id=did)
    assert got["ETag"] == created["ETag"] and got["Distribution"] == d
    got_config = cf.get_distribution_config(Id=did)
    assert got_config["ETag"] == created["ETag"] and got_config["DistributionConfig"] == dc

    # CallerReference reuse.
    before = everything(cf)
    message = refused(cf.create_distribution, "DistributionAlreadyExists", 409,
                      DistributionConfig=config)
    assert did in message
    assert everything(cf) == before

    # Update: the ETag rules, then a new ETag; the old one is stale.
    dc2 = dict(dc, Comment="shop 2")
    refused(cf.update_distribution, "InvalidIfMatchVersion", 400, Id=did, DistributionConfig=dc2)
    refused(cf.update_distribution, "PreconditionFailed", 412, Id=did, IfMatch="E0000000000000",
            DistributionConfig=dc2)
    assert everything(cf) == before
    updated = cf.update_distribution(Id=did, IfMatch=created["ETag"], DistributionConfig=dc2)
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert updated["ETag"] != created["ETag"]
    assert updated["Distribution"]["DistributionConfig"]["Comment"] == "shop 2"
    refused(cf.update_distribution, "PreconditionFailed", 412, Id=did, IfMatch=created["ETag"],
            DistributionConfig=dc2)
    # CallerReference cannot change.
    before = everything(cf)
    refused(cf.update_distribution, "IllegalUpdate", 400, Id=did, IfMatch=updated["ETag"],
            DistributionConfig=dict(dc2, CallerReference="other"))
    assert everything(cf) == before

    # List.
    listed = cf.list_distributions()["DistributionList"]
    assert listed["Quantity"] == 1 and listed["IsTruncated"] is False
    [summary] = listed["Items"]
    assert summary["Id"] == did and summary["Staging"] is False
    assert summary["Comment"] == "shop 2" and summary["ETag"] == updated["ETag"]

    # Delete: only once disabled.
    before = everything(cf)
    refused(cf.delete_distribution, "DistributionNotDisabled", 409, Id=did,
            IfMatch=updated["ETag"])
    refused(cf.delete_distribution, "InvalidIfMatchVersion", 400, Id=did)
    assert everything(cf) == before
    disabled = cf.update_distribution(Id=did, IfMatch=updated["ETag"],
                                      DistributionConfig=dict(dc2, Enabled=False))
    # Disabled: the front end stops serving at once.
    with pytest.raises(OSError):
        http_get(d["DomainName"], burr.cf_http_port, timeout=2)
    refused(cf.delete_distribution, "PreconditionFailed", 412, Id=did, IfMatch=updated["ETag"])
    deleted = cf.delete_distribution(Id=did, IfMatch=disabled["ETag"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(cf.exceptions.NoSuchDistribution) as info:
        cf.get_distribution(Id=did)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    refused(cf.get_distribution_config, "NoSuchDistribution", 404, Id=did)
    refused(cf.delete_distribution, "NoSuchDistribution", 404, Id=did, IfMatch=disabled["ETag"])
    assert cf.list_distributions()["DistributionList"]["Quantity"] == 0


def test_tags(cf):
    created = cf.create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": distribution_config("tagged"),
        "Tags": {"Items": [{"Key": "team", "Value": "web"}]},
    })
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = created["Distribution"]["ARN"]
    assert cf.list_tags_for_resource(Resource=arn)["Tags"] == {
        "Items": [{"Key": "team", "Value": "web"}]}
    r = cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": "env", "Value": "prod"}]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    r = cf.untag_resource(Resource=arn, TagKeys={"Items": ["team"]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert cf.list_tags_for_resource(Resource=arn)["Tags"] == {
        "Items": [{"Key": "env", "Value": "prod"}]}
    unknown = arn.rsplit("/", 1)[0] + "/E0000000000000"
    refused(cf.list_tags_for_resource, "NoSuchResource", 404, Resource=unknown)
    refused(cf.tag_resource, "NoSuchResource", 404, Resource=unknown,
            Tags={"Items": [{"Key": "a", "Value": "b"}]})
    refused(cf.list_tags_for_resource, "InvalidArgument", 400, Resource="not-an-arn")
    before = everything(cf)
    refused(cf.tag_resource, "InvalidTagging", 400, Resource=arn,
            Tags={"Items": [{"Key": "k" * 129, "Value": "v"}]})
    assert everything(cf) == before


def test_refusals_of_malformed_requests(burr, cf, raw_cf):
    did, etag, _ = create(cf, distribution_config("one"))
    before = everything(cf)
    # Quantity disagreeing with Items.
    config = distribution_config("two")
    config["Origins"]["Quantity"] = 2
    message = refused(raw_cf.create_distribution, "InconsistentQuantities", 400,
                      DistributionConfig=config)
    assert "Origins" in message
    message = refused(raw_cf.list_distributions, "InvalidArgument", 400, MaxItems="lots")
    assert "MaxItems" in message
    # Raw: malformed XML, an unknown element, no body, a wrong root.
    path = f"{PREFIX}/distribution"
    for body, code, names in [
        (b"", "MissingBody", None),
        (b"<DistributionConfig><CallerReference>x</Call", "MalformedInput", None),
        (f'<DistributionConfig xmlns="{NAMESPACE}"><CallerReference>x</CallerReference>'
         "<Flavour>mint</Flavour></DistributionConfig>".encode(), "MalformedInput", "Flavour"),
    ]:
        status, _, text = burr.signed("POST", path, body=body)
        assert status == 400 and f"<Code>{code}</Code>" in text, (body, status, text)
        if names:
            assert names in text, text
    status, _, text = burr.signed("PUT", f"{path}/{did}/config", body=b"",
                                  headers={"If-Match": etag})
    assert status == 400 and "<Code>MissingBody</Code>" in text, text
    assert everything(cf) == before


def test_copy_and_promote_rules(cf, raw_cf):
    primary, etag, _ = create(cf, distribution_config("p"))
    before = everything(cf)
    refused(cf.copy_distribution, "PreconditionFailed", 412, PrimaryDistributionId=primary,
            Staging=True, IfMatch="E0000000000000", CallerReference="s")
    refused(cf.copy_distribution, "InvalidIfMatchVersion", 400, PrimaryDistributionId=primary,
            Staging=True, CallerReference="s")
    refused(cf.copy_distribution, "NoSuchDistribution", 404, PrimaryDistributionId="E0000000000000",
            Staging=True, IfMatch=etag, CallerReference="s")
    assert everything(cf) == before
    staging, staging_etag, _ = staging_copy(cf, primary, etag, "s")
    got = cf.get_distribution(Id=staging)["Distribution"]
    assert got["DistributionConfig"]["CallerReference"] == "s"
    assert got["DistributionConfig"]["Origins"] == \
        cf.get_distribution(Id=primary)["Distribution"]["DistributionConfig"]["Origins"]
    refused(cf.copy_distribution, "DistributionAlreadyExists", 409, PrimaryDistributionId=primary,
            Staging=True, IfMatch=etag, CallerReference="s")
    # Promote needs both ETags, in order.
    before = everything(cf)
    refused(cf.update_distribution_with_staging_config, "InvalidIfMatchVersion", 400, Id=primary,
            StagingDistributionId=staging)
    refused(cf.update_distribution_with_staging_config, "PreconditionFailed", 412, Id=primary,
            StagingDistributionId=staging, IfMatch=f"{staging_etag}, {etag}")
    assert everything(cf) == before


def test_header_policy_routes_to_staging_then_promote_then_disable(burr, cf, targets):
    blue, green = targets("blue"), targets("green")
    primary, etag, host = create(cf, distribution_config("p", blue.host, blue.port))
    port = burr.cf_http_port
    staging, _, staging_dns = staging_copy(cf, primary, etag, "s")
    staging_etag = set_config(cf, staging, lambda c: c["Origins"].update(
        Items=[origin(green.host, green.port)]))
    policy = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=header_policy(staging_dns))
    pid = policy["ContinuousDeploymentPolicy"]["Id"]
    canary = {"aws-cf-cd-canary": "yes"}
    # Not attached yet: everyone on the primary.
    assert served_by(host, port, headers=canary) == "blue"
    etag = set_config(cf, primary, lambda c: c.update(ContinuousDeploymentPolicyId=pid))
    # The staging distribution is never bound on its own.
    assert served_by(host, port) == "blue"
    for _ in range(20):
        assert served_by(host, port, headers=canary) == "green"
        assert served_by(host, port, headers={"aws-cf-cd-canary": "no"}) == "blue"
        assert served_by(host, port) == "blue"

    # Disabling the policy sends the header's requests to the primary on the next request.
    got = cf.get_continuous_deployment_policy(Id=pid)
    cf.update_continuous_deployment_policy(
        Id=pid, IfMatch=got["ETag"],
        ContinuousDeploymentPolicyConfig=header_policy(staging_dns, enabled=False))
    assert served_by(host, port, headers=canary) == "blue"
    got = cf.get_continuous_deployment_policy(Id=pid)
    cf.update_continuous_deployment_policy(
        Id=pid, IfMatch=got["ETag"], ContinuousDeploymentPolicyConfig=header_policy(staging_dns))
    assert served_by(host, port, headers=canary) == "green"

    # Promotion: the primary serves the staging origin on the next request, keeps its
    # CallerReference and policy id; the policy is disabled.
    promoted = cf.update_distribution_with_staging_config(
        Id=primary, StagingDistributionId=staging, IfMatch=f"{etag}, {staging_etag}")
    assert promoted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert promoted["ETag"] != etag
    pc = promoted["Distribution"]["DistributionConfig"]
    assert pc["CallerReference"] == "p" and pc["ContinuousDeploymentPolicyId"] == pid
    assert pc["Staging"] is False
    assert pc["Origins"]["Items"][0]["CustomOriginConfig"]["HTTPPort"] == green.port
    assert served_by(host, port) == "green"
    assert served_by(host, port, headers=canary) == "green"
    after = cf.get_continuous_deployment_policy_config(Id=pid)["ContinuousDeploymentPolicyConfig"]
    assert after["Enabled"] is False


def test_weighted_sticky_policy_reaches_both_arms_and_keeps_viewers(burr, cf, targets):
    blue, green = targets("blue"), targets("green")
    primary, etag, host = create(cf, distribution_config("p", blue.host, blue.port))
    port = burr.cf_http_port
    staging, _, staging_dns = staging_copy(cf, primary, etag, "s")
    set_config(cf, staging, lambda c: c["Origins"].update(Items=[origin(green.host, green.port)]))
    pid = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_policy(staging_dns, 0.15)
    )["ContinuousDeploymentPolicy"]["Id"]
    set_config(cf, primary, lambda c: c.update(ContinuousDeploymentPolicyId=pid))
    seen = {"blue": 0, "green": 0}
    for _ in range(200):
        first = http_get(host, port)
        arm = first.body.strip()
        seen[arm] += 1
        cookie = first.cookie("x-amz-continuous-deployment-state")
        assert cookie, first.set_cookies()
        for _ in range(3):
            assert served_by(host, port, cookie=cookie) == arm
    # P(no viewer of 200 on staging at 0.15) < 1e-14; P(more than 60) < 1e-6.
    assert 0 < seen["green"] < 60, seen


def test_distribution_survives_kill_9(burr, cf, targets):
    target = targets("origin")
    did, etag, host = create(cf, distribution_config("p", target.host, target.port))
    cf.tag_resource(Resource=cf.get_distribution(Id=did)["Distribution"]["ARN"],
                    Tags={"Items": [{"Key": "k", "Value": "v"}]})
    before = everything(cf)
    burr.kill9_and_restart()
    assert everything(cf) == before
    assert served_by(host, burr.cf_http_port) == "origin"
    # The ETag from before the crash still works.
    config = cf.get_distribution_config(Id=did)["DistributionConfig"]
    updated = cf.update_distribution(Id=did, IfMatch=etag,
                                     DistributionConfig=dict(config, Comment="after"))
    assert updated["ETag"] != etag


def test_policy_attachment_and_other_update_rules(cf, raw_cf):
    primary, etag, _ = create(cf, distribution_config("p"))
    other, _, _ = create(cf, distribution_config("q"))
    staging, staging_etag, staging_dns = staging_copy(cf, primary, etag, "s")
    pid = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=header_policy(staging_dns)
    )["ContinuousDeploymentPolicy"]["Id"]

    def attempt(distribution_id, change, code, status, names):
        got = cf.get_distribution_config(Id=distribution_id)
        config = got["DistributionConfig"]
        change(config)
        before = everything(cf)
        message = refused(raw_cf.update_distribution, code, status, Id=distribution_id,
                          IfMatch=got["ETag"], DistributionConfig=config)
        assert names in message, message
        assert everything(cf) == before

    # A policy cannot be named at creation (the provider's documentation says so of AWS).
    before = everything(cf)
    message = refused(cf.create_distribution, "IllegalUpdate", 400,
                      DistributionConfig=distribution_config(
                          "r", ContinuousDeploymentPolicyId=pid))
    assert "ContinuousDeploymentPolicyId" in message
    assert everything(cf) == before
    attempt(primary, lambda c: c.update(ContinuousDeploymentPolicyId="no-such-policy"),
            "NoSuchContinuousDeploymentPolicy", 404, "no-such-policy")
    attempt(staging, lambda c: c.update(ContinuousDeploymentPolicyId=pid),
            "IllegalUpdate", 400, "staging")
    attempt(primary, lambda c: c.update(Staging=True), "IllegalUpdate", 400, "Staging")
    attempt(primary, lambda c: c["DefaultCacheBehavior"].update(TargetOriginId="nowhere"),
            "NoSuchOrigin", 404, "nowhere")
    set_config(cf, primary, lambda c: c.update(ContinuousDeploymentPolicyId=pid))
    attempt(other, lambda c: c.update(ContinuousDeploymentPolicyId=pid),
            "ContinuousDeploymentPolicyInUse", 409, primary)
    attempt(primary, lambda c: c.update(HttpVersion="http2and3"), "IllegalUpdate", 400,
            "HttpVersion")

    # A staging distribution a policy names cannot be deleted, even disabled.
    disabled = set_config(cf, staging, lambda c: c.update(Enabled=False))
    before = everything(cf)
    with pytest.raises(cf.exceptions.ResourceInUse) as info:
        cf.delete_distribution(Id=staging, IfMatch=disabled)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert everything(cf) == before


def test_a_front_end_the_rest_of_burr_refuses_is_invalid_argument(burr_factory, tmp_path,
                                                                   targets):
    """A distribution whose front end would take a port a file-declared balancer holds on
    every address: refused in CloudFront's terms (`InvalidArgument` naming the clash), nothing
    changed, and the file's balancer keeps serving."""
    target = targets("file")
    port = free_port()
    config = tmp_path / "burr.toml"
    config.write_text(f"""
[[balancer]]
name = "wide"
address = "0.0.0.0"

[[balancer.listener]]
port = {port}
protocol = "http"
pool = "app"

[[pool]]
name = "app"
targets = [ {{ address = "{target.address}" }} ]
""")
    b = burr_factory("clash", config=config,
                     extra_args=["--cloudfront-http-port", str(port),
                                 "--cloudfront-https-port", str(free_port())])
    cf = b.client(service="cloudfront")
    message = refused(cf.create_distribution, "InvalidArgument", 400,
                      DistributionConfig=distribution_config("x", target.host, target.port))
    assert str(port) in message, message
    assert cf.list_distributions()["DistributionList"]["Quantity"] == 0
    assert served_by("127.0.0.1", port) == "file"


def test_acm_viewer_certificate_serves_https_and_redirects_http(burr, cf, targets):
    """`ViewerCertificate.ACMCertificateArn` names a certificate imported into burr's ACM: the
    front end serves HTTPS with it on the HTTPS port; `redirect-to-https` on the HTTP port; an
    ARN burr does not hold is `InvalidViewerCertificate`."""
    from terraform_harness import https_get, peer_certificate, self_signed

    target = targets("origin")
    cert, key, der = self_signed("shop.example.test")
    arn = burr.client(service="acm").import_certificate(
        Certificate=cert.encode(), PrivateKey=key.encode())["CertificateArn"]
    https_port = burr.cf_https_port

    def config(certificate_arn):
        c = distribution_config("tls", target.host, target.port,
                                ViewerCertificate={"ACMCertificateArn": certificate_arn,
                                                   "SSLSupportMethod": "sni-only",
                                                   "MinimumProtocolVersion": "TLSv1.2_2021"})
        c["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "redirect-to-https"
        return c

    before = everything(cf)
    refused(cf.create_distribution, "InvalidViewerCertificate", 400,
            DistributionConfig=config(
                arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"))
    assert everything(cf) == before
    _, _, host = create(cf, config(arn))
    assert peer_certificate(host, https_port, "shop.example.test") == der
    status, _, body = https_get(host, https_port)
    assert (status, body.strip()) == (200, "origin")
    r = http_get(host, burr.cf_http_port)
    assert r.status == 301 and r.headers["Location"].startswith("https://"), (r.status, r.headers)
