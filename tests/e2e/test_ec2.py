"""The one EC2 action burr serves, for Terraform's `aws_elb` destroy: DescribeNetworkInterfaces
answers the empty set (burr's balancers have no network interfaces), through the real boto3."""

import pytest
from botocore.exceptions import ClientError

from burr_e2e import create_lb


def test_describe_network_interfaces_is_the_empty_set_whatever_the_filters(burr, elb):
    create_lb(elb, "web")
    ec2 = burr.client(service="ec2")
    answer = ec2.describe_network_interfaces(Filters=[
        {"Name": "attachment.instance-owner-id", "Values": ["amazon-elb"]},
        {"Name": "description", "Values": ["ELB web"]},
    ])
    assert answer["NetworkInterfaces"] == []
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_other_ec2_calls_and_unknown_interfaces_are_refused_in_the_ec2_error_shape(burr):
    ec2 = burr.client(service="ec2")
    with pytest.raises(ClientError) as info:
        ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-0123456789abcdef0"])
    assert info.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"
    assert "eni-0123456789abcdef0" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        ec2.describe_instances()
    assert info.value.response["Error"]["Code"] == "InvalidAction"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
