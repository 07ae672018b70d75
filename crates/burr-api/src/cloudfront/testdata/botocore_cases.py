#!/usr/bin/env python3
"""The botocore half of the differential test of burr's CloudFront XML codec (document/differential.rs).

Run with a Python that has botocore (e.g. target/e2e-venv/bin/python), from this directory:

  python botocore_cases.py serialize   # CASE.request.xml (botocore's rest-xml serializer) and
                                       # CASE.expected.json (the params as a Node tree: text leaves)
  BURR_CF_WRITE_RENDERED=1 cargo test -p burr-api cloudfront::document   # CASE.rendered.xml
  python botocore_cases.py check       # botocore parses each CASE.rendered.xml; CASE.botocore.json

The Rust test then asserts parse(request.xml) == expected.json, render(expected) == rendered.xml
byte for byte, and botocore.json == expected.json: so what botocore writes, burr reads as meant,
and what burr writes, botocore reads back as the same dict.
"""

import json
import os
import sys

import botocore.session
from botocore.parsers import RestXMLParser
from botocore.serialize import create_serializer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = botocore.session.get_session().get_service_model("cloudfront")

ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]


def empty():
    return {"Quantity": 0}


def behaviour(origin, **extra):
    """A legacy-style cache behaviour (ForwardedValues + TTLs) as Terraform writes it."""
    b = {
        "TargetOriginId": origin,
        "TrustedSigners": {"Enabled": False, "Quantity": 0},
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {
            "Quantity": 2,
            "Items": ["HEAD", "GET"],
            "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]},
        },
        "SmoothStreaming": False,
        "Compress": True,
        "LambdaFunctionAssociations": empty(),
        "FunctionAssociations": empty(),
        "FieldLevelEncryptionId": "",
        "ForwardedValues": {
            "QueryString": False,
            "Cookies": {"Forward": "none"},
            "Headers": empty(),
            "QueryStringCacheKeys": empty(),
        },
        "MinTTL": 0,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
    }
    b.update(extra)
    return b


def custom_origin(oid, domain, port=80):
    return {
        "Id": oid,
        "DomainName": domain,
        "OriginPath": "",
        "CustomHeaders": empty(),
        "CustomOriginConfig": {
            "HTTPPort": port,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "http-only",
            "OriginSslProtocols": {"Quantity": 2, "Items": ["TLSv1.2", "TLSv1.1"]},
            "OriginReadTimeout": 30,
            "OriginKeepaliveTimeout": 5,
        },
        "ConnectionAttempts": 3,
        "ConnectionTimeout": 10,
        "OriginShield": {"Enabled": False},
    }


def terraform_full():
    """Every wrapper present, empty ones with Quantity 0 and no Items (as Terraform sends)."""
    return {
        "CallerReference": "terraform-20261206010203",
        "Aliases": {"Quantity": 2, "Items": ["shop.example.com", "www.shop.example.com"]},
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 2, "Items": [custom_origin("web", "127.0.0.1", 9001), custom_origin("api", "127.0.0.2", 9002)]},
        "OriginGroups": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "failover",
                    "FailoverCriteria": {"StatusCodes": {"Quantity": 3, "Items": [500, 502, 503]}},
                    "Members": {"Quantity": 2, "Items": [{"OriginId": "web"}, {"OriginId": "api"}]},
                }
            ],
        },
        "DefaultCacheBehavior": behaviour("web"),
        "CacheBehaviors": {
            "Quantity": 2,
            "Items": [
                behaviour("api", PathPattern="/api/*", ViewerProtocolPolicy="https-only",
                          AllowedMethods={"Quantity": 7, "Items": ALL_METHODS,
                                          "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}),
                behaviour("failover", PathPattern="/static/*.css", Compress=False),
            ],
        },
        "CustomErrorResponses": {
            "Quantity": 1,
            "Items": [{"ErrorCode": 404, "ResponsePagePath": "/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 10}],
        },
        "Comment": "shop & <friends> \"quoted\" 'apos'",
        "Logging": {"Enabled": True, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com", "Prefix": "shop/"},
        "PriceClass": "PriceClass_100",
        "Enabled": True,
        "ViewerCertificate": {
            "ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f4a9a4c-1111-2222-3333-444455556666",
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
            "CertificateSource": "acm",
        },
        "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Quantity": 2, "Items": ["DE", "FR"]}},
        "WebACLId": "",
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
        "Staging": False,
    }


def minimal():
    return {
        "CallerReference": "min-1",
        "Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "127.0.0.1",
                                               "CustomOriginConfig": {"HTTPPort": 9001, "HTTPSPort": 443,
                                                                      "OriginProtocolPolicy": "http-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        "Comment": "",
        "Enabled": True,
    }


def reversed_keys(value):
    """The same config with every structure's members in reverse order (botocore writes dict order)."""
    if isinstance(value, dict):
        return {k: reversed_keys(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def primary_with_policy():
    config = minimal()
    config["CallerReference"] = "primary-1"
    config["ContinuousDeploymentPolicyId"] = "9c1e2c4e-6f1a-4b8e-9d0c-0123456789ab"
    config["Aliases"] = {"Quantity": 1, "Items": ["canary.example.com"]}
    config["Restrictions"] = {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}}
    config["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
    return config


# name, operation, params, payload member (None: the body members are the params themselves)
CASES = [
    ("minimal", "CreateDistribution", {"DistributionConfig": minimal()}, "DistributionConfig"),
    ("terraform_full", "CreateDistribution", {"DistributionConfig": terraform_full()}, "DistributionConfig"),
    ("reversed_order", "UpdateDistribution",
     {"Id": "EDFDVBD6EXAMPLE", "IfMatch": "E2QWRUHEXAMPLE", "DistributionConfig": reversed_keys(terraform_full())},
     "DistributionConfig"),
    ("primary_with_policy", "CreateDistribution", {"DistributionConfig": primary_with_policy()}, "DistributionConfig"),
    ("with_tags", "CreateDistributionWithTags",
     {"DistributionConfigWithTags": {"DistributionConfig": minimal(),
                                     "Tags": {"Items": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": ""}]}}},
     "DistributionConfigWithTags"),
    ("policy_weight", "CreateContinuousDeploymentPolicy",
     {"ContinuousDeploymentPolicyConfig": {
         "StagingDistributionDnsNames": {"Quantity": 1, "Items": ["d111111abcdef8.cloudfront.net"]},
         "Enabled": True,
         "TrafficConfig": {"Type": "SingleWeight", "SingleWeightConfig": {
             "Weight": 0.05, "SessionStickinessConfig": {"IdleTTL": 300, "MaximumTTL": 600}}}}},
     "ContinuousDeploymentPolicyConfig"),
    ("policy_header", "CreateContinuousDeploymentPolicy",
     {"ContinuousDeploymentPolicyConfig": {
         "StagingDistributionDnsNames": {"Quantity": 2, "Items": ["127.0.0.22", "staging.example.com"]},
         "Enabled": False,
         "TrafficConfig": {"Type": "SingleHeader", "SingleHeaderConfig": {
             "Header": "aws-cf-cd-canary", "Value": "yes"}}}},
     "ContinuousDeploymentPolicyConfig"),
    ("copy", "CopyDistribution",
     {"PrimaryDistributionId": "EDFDVBD6EXAMPLE", "Staging": True, "IfMatch": "E2QWRUHEXAMPLE",
      "CallerReference": "copy-1", "Enabled": False},
     None),
    ("tags", "TagResource",
     {"Resource": "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE",
      "Tags": {"Items": [{"Key": "a:b/c", "Value": "x=y"}]}},
     "Tags"),
    ("tag_keys", "UntagResource",
     {"Resource": "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE",
      "TagKeys": {"Items": ["env", "team"]}},
     "TagKeys"),
]


def body_shape(operation, payload):
    shape = MODEL.operation_model(operation).input_shape
    return shape.members[payload] if payload else shape


def body_value(shape, value):
    """The params of the body only (drop members sent as header/uri/querystring)."""
    if shape.type_name == "structure":
        return {
            k: body_value(shape.members[k], v)
            for k, v in value.items()
            if shape.members[k].serialization.get("location") is None
        }
    if shape.type_name == "list":
        return [body_value(shape.member, v) for v in value]
    return value


def as_node(value):
    """A Node tree as JSON: structures are objects, lists arrays, leaves text as rest-xml writes them."""
    if isinstance(value, dict):
        return {k: as_node(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_node(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def serialize():
    serializer = create_serializer("rest-xml", include_validation=True)
    for name, operation, params, payload in CASES:
        request = serializer.serialize_to_request(params, MODEL.operation_model(operation))
        write(f"{name}.request.xml", request["body"])
        shape = body_shape(operation, payload)
        value = params[payload] if payload else params
        expected = as_node(body_value(shape, value))
        write(f"{name}.expected.json", (json.dumps(expected, indent=1, sort_keys=True) + "\n").encode())
        print(f"{name}: {len(request['body'])} bytes")


def check():
    parser = RestXMLParser()
    failures = 0
    for name, operation, params, payload in CASES:
        shape = body_shape(operation, payload)
        with open(os.path.join(HERE, f"{name}.rendered.xml"), "rb") as f:
            rendered = f.read()
        root = parser._parse_xml_string_to_dom(rendered)
        parsed = parser._parse_shape(shape, root)
        value = body_value(shape, params[payload] if payload else params)
        same = parsed == value
        failures += not same
        write(f"{name}.botocore.json", (json.dumps(as_node(parsed), indent=1, sort_keys=True) + "\n").encode())
        print(f"{name}: botocore reads burr's rendering back {'unchanged' if same else 'CHANGED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    {"serialize": serialize, "check": check}[sys.argv[1]]()
