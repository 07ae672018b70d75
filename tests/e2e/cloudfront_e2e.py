"""Helpers of the CloudFront end-to-end tests: a burr whose distributions listen on free
unprivileged ports, boto3 `cloudfront` clients, distribution and policy configurations as boto3
takes them, and the primary + staging + policy set-up the traffic tests share."""

from __future__ import annotations

import botocore.exceptions
import pytest

from burr_e2e import free_port, http_get

NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
PREFIX = "/2020-05-31"


def cloudfront_burr(burr_factory, name: str = "burr", **options):
    """A burr whose API-made distributions listen on free HTTP and HTTPS ports (not 80, 443)."""
    http_port = free_port()
    https_port = free_port()
    b = burr_factory(name, extra_args=["--cloudfront-http-port", str(http_port),
                                       "--cloudfront-https-port", str(https_port)], **options)
    b.cf_http_port = http_port
    b.cf_https_port = https_port
    return b


def origin(host: str, port: int, origin_id: str = "web") -> dict:
    return {
        "Id": origin_id,
        "DomainName": host,
        "CustomOriginConfig": {"HTTPPort": port, "HTTPSPort": 443,
                               "OriginProtocolPolicy": "http-only"},
    }


def distribution_config(reference: str, host: str = "127.0.0.1", port: int = 9,
                        *, enabled: bool = True, comment: str = "", **extra) -> dict:
    """A DistributionConfig with one custom origin (`host:port`, plain HTTP) behind the default
    cache behaviour."""
    config = {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": enabled,
        "Origins": {"Quantity": 1, "Items": [origin(host, port)]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "web",
            "ViewerProtocolPolicy": "allow-all",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
    }
    config.update(extra)
    return config


def weight_policy(staging_dns: str, weight: float = 0.05, *, idle: int | None = 300,
                  maximum: int | None = 600, enabled: bool = True) -> dict:
    single = {"Weight": weight}
    if idle is not None:
        single["SessionStickinessConfig"] = {"IdleTTL": idle, "MaximumTTL": maximum}
    return {
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [staging_dns]},
        "Enabled": enabled,
        "TrafficConfig": {"Type": "SingleWeight", "SingleWeightConfig": single},
    }


def header_policy(staging_dns: str, header: str = "aws-cf-cd-canary", value: str = "yes",
                  *, enabled: bool = True) -> dict:
    return {
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [staging_dns]},
        "Enabled": enabled,
        "TrafficConfig": {"Type": "SingleHeader",
                          "SingleHeaderConfig": {"Header": header, "Value": value}},
    }


def refused(call, code: str, status: int, **kwargs) -> str:
    """Calls `call(**kwargs)`, which must fail with `code` and `status`; returns the message."""
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == code, error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, info.value.response
    assert error.get("Message"), error
    return error["Message"]


def create(cf, config: dict) -> tuple[str, str, str]:
    """Creates a distribution; returns (id, ETag, DomainName)."""
    d = cf.create_distribution(DistributionConfig=config)
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 201
    return d["Distribution"]["Id"], d["ETag"], d["Distribution"]["DomainName"]


def staging_copy(cf, primary_id: str, primary_etag: str, reference: str) -> tuple[str, str, str]:
    """CopyDistribution with `Staging: true`; returns (id, ETag, DomainName)."""
    copy = cf.copy_distribution(PrimaryDistributionId=primary_id, Staging=True,
                                IfMatch=primary_etag, CallerReference=reference)
    assert copy["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert copy["Distribution"]["DistributionConfig"]["Staging"] is True
    return copy["Distribution"]["Id"], copy["ETag"], copy["Distribution"]["DomainName"]


def set_config(cf, distribution_id: str, change) -> str:
    """Get config → `change(config)` → UpdateDistribution with its ETag; returns the new ETag."""
    got = cf.get_distribution_config(Id=distribution_id)
    config = got["DistributionConfig"]
    change(config)
    return cf.update_distribution(Id=distribution_id, IfMatch=got["ETag"],
                                  DistributionConfig=config)["ETag"]


def served_by(host: str, port: int, **kwargs) -> str:
    """The body (target name) of one GET through a distribution's front end."""
    r = http_get(host, port, **kwargs)
    assert r.status == 200, (r.status, r.body)
    return r.body.strip()

