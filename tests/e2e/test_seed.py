"""The seed example: the AWS documentation's `create-lb-cookie-stickiness-policy` call, through
the real boto3, answers exactly an empty result."""

import os

from burr_e2e import http_status, without_metadata

# The documentation's listener is on port 80; a user who may not bind it gets 8080 instead.
PORT = 80 if os.geteuid() == 0 else 8080


def test_seed_example_lb_cookie_policy_answers_empty_result(elb, burr):
    created = elb.create_load_balancer(
        LoadBalancerName="my-load-balancer",
        Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": PORT, "InstanceProtocol": "HTTP",
             "InstancePort": 80}
        ],
    )
    assert set(created) == {"DNSName", "ResponseMetadata"}
    assert created["DNSName"] == f"{burr.subnet}.1"

    response = elb.create_lb_cookie_stickiness_policy(
        CookieExpirationPeriod=60,
        LoadBalancerName="my-load-balancer",
        PolicyName="my-duration-cookie-policy",
    )

    assert set(response) == {"ResponseMetadata"}
    assert without_metadata(response) == {}
    assert http_status(response) == 200
    assert response["ResponseMetadata"]["RequestId"]
    # And the policy is there, as created.
    [policy] = elb.describe_load_balancer_policies(LoadBalancerName="my-load-balancer")[
        "PolicyDescriptions"
    ]
    assert policy == {
        "PolicyName": "my-duration-cookie-policy",
        "PolicyTypeName": "LBCookieStickinessPolicyType",
        "PolicyAttributeDescriptions": [
            {"AttributeName": "CookieExpirationPeriod", "AttributeValue": "60"}
        ],
    }
