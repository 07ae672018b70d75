//! The actions on a balancer's availability zones, subnets and security groups, which burr keeps
//! as labels (`burr_model::classic::Placement`). Each answers with the whole list as stored.

use super::required_balancer;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::classic::{self, Placement, PlacementList};

/// `<list>.member.N`, required (an empty list is sent as the bare parameter).
fn required_labels(p: &Params, list: PlacementList) -> Result<Vec<String>, ApiError> {
    let name = list.parameter();
    if !p.has_scope(name) && p.get(name).is_none() {
        return Err(ApiError::missing(name));
    }
    Ok(p.list(name))
}

/// The `AvailabilityZones`, `Subnets` and `SecurityGroups` of a `CreateLoadBalancer` request.
pub fn requested(p: &Params) -> Placement {
    Placement {
        availability_zones: p.list("AvailabilityZones"),
        subnets: p.list("Subnets"),
        security_groups: p.list("SecurityGroups"),
    }
}

/// Runs `change` on the list, then answers with the list as committed.
fn change_list(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
    list: PlacementList,
    change: fn(
        &mut burr_model::State,
        &str,
        PlacementList,
        &[String],
    ) -> Result<(), classic::ClassicError>,
) -> Result<(), ApiError> {
    let lb = required_balancer(c, p)?;
    let labels = required_labels(p, list)?;
    let state = c.apply(&mut |s| change(s, &lb, list, &labels))?;
    write_list(xml, classic::balancer(&state, &lb)?, list);
    Ok(())
}

/// One list of a balancer's placement, as stored.
pub fn write_list(xml: &mut Xml, b: &burr_model::Balancer, list: PlacementList) {
    let placement = &b.aws.placement;
    let labels = match list {
        PlacementList::AvailabilityZones => &placement.availability_zones,
        PlacementList::Subnets => &placement.subnets,
        PlacementList::SecurityGroups => &placement.security_groups,
    };
    xml.string_members(list.parameter(), labels);
}

pub fn enable_zones(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    change_list(
        c,
        p,
        xml,
        PlacementList::AvailabilityZones,
        classic::add_placement,
    )
}

pub fn disable_zones(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    change_list(
        c,
        p,
        xml,
        PlacementList::AvailabilityZones,
        classic::remove_placement,
    )
}

pub fn attach_subnets(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    change_list(c, p, xml, PlacementList::Subnets, classic::add_placement)
}

pub fn detach_subnets(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    change_list(c, p, xml, PlacementList::Subnets, classic::remove_placement)
}

pub fn apply_security_groups(
    c: &dyn ControlPlane,
    p: &Params,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let lb = required_balancer(c, p)?;
    let groups = required_labels(p, PlacementList::SecurityGroups)?;
    let state = c.apply(&mut |s| classic::set_security_groups(s, &lb, &groups))?;
    write_list(
        xml,
        classic::balancer(&state, &lb)?,
        PlacementList::SecurityGroups,
    );
    Ok(())
}
