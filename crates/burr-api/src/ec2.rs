//! The one EC2 (2016-11-15) action Terraform calls while managing Classic balancers:
//! `DescribeNetworkInterfaces`, with which `aws_elb`'s destroy looks for the network interfaces
//! AWS leaves behind. burr's balancers have no network interfaces, so the answer is the empty
//! set, whatever the filters; pointing Terraform's `ec2` endpoint at burr keeps that cleanup
//! local instead of sending the request (signed with burr's keys) to AWS. Every other EC2 action
//! is `InvalidAction`.

use crate::error::ApiError;
use crate::query::Params;
use crate::xml;

pub const VERSION: &str = "2016-11-15";
pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// Answers one EC2 request: the body of a success, or the error.
pub fn run(action: &str, params: &Params, request_id: &str) -> Result<Vec<u8>, ApiError> {
    if action != "DescribeNetworkInterfaces" {
        return Err(ApiError::new(
            "InvalidAction",
            400,
            format!(
                "The action {action} is not valid for this web service: burr serves only \
                 DescribeNetworkInterfaces of EC2"
            ),
        ));
    }
    // Asked for by id, an interface that does not exist is an error on AWS too.
    // The EC2 protocol numbers list members directly: `NetworkInterfaceId.1`.
    if let Some(id) = params.get("NetworkInterfaceId.1") {
        return Err(ApiError::new(
            "InvalidNetworkInterfaceID.NotFound",
            400,
            format!("NetworkInterfaceId: the network interface '{id}' does not exist"),
        ));
    }
    if let Some(max) = params.int("MaxResults")?
        && !(5..=1000).contains(&max)
    {
        return Err(ApiError::new(
            "InvalidParameterValue",
            400,
            format!("MaxResults: {max} is not allowed: must be between 5 and 1000"),
        ));
    }
    Ok(xml::ec2_response(action, NAMESPACE, request_id, |x| {
        x.open("networkInterfaceSet");
        x.close("networkInterfaceSet");
    }))
}
