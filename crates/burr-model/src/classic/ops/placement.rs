//! Availability zones, subnets and security groups: `EnableAvailabilityZonesForLoadBalancer`,
//! `DisableAvailabilityZonesForLoadBalancer`, `AttachLoadBalancerToSubnets`,
//! `DetachLoadBalancerFromSubnets` and `ApplySecurityGroupsToLoadBalancer`. burr has none of
//! these things, so they are labels (see [`Placement`]): stored in the order given, returned as
//! stored, and an operation that repeats what is there already changes nothing. They never
//! change where traffic goes.

use super::*;
use crate::classic::check_label;

/// Which list of labels an operation changes, with its parameter name for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementList {
    AvailabilityZones,
    Subnets,
    SecurityGroups,
}

impl PlacementList {
    pub fn parameter(self) -> &'static str {
        match self {
            Self::AvailabilityZones => "AvailabilityZones",
            Self::Subnets => "Subnets",
            Self::SecurityGroups => "SecurityGroups",
        }
    }

    fn of(self, placement: &mut Placement) -> &mut Vec<String> {
        match self {
            Self::AvailabilityZones => &mut placement.availability_zones,
            Self::Subnets => &mut placement.subnets,
            Self::SecurityGroups => &mut placement.security_groups,
        }
    }
}

/// Refuses a label that breaks [`check_label`], naming the parameter.
fn check_labels(list: PlacementList, labels: &[String]) -> Result<(), ClassicError> {
    for label in labels {
        check_label(label).map_err(|rule| {
            ClassicError::invalid(format!(
                "{}: {label:?} is not allowed: {rule}",
                list.parameter()
            ))
        })?;
    }
    Ok(())
}

/// Checks every label of a new balancer's placement.
pub(super) fn check_placement(placement: &Placement) -> Result<(), ClassicError> {
    check_labels(
        PlacementList::AvailabilityZones,
        &placement.availability_zones,
    )?;
    check_labels(PlacementList::Subnets, &placement.subnets)?;
    check_labels(PlacementList::SecurityGroups, &placement.security_groups)
}

/// Appends to `stored` the labels it does not hold yet, in the order given.
fn append_new(stored: &mut Vec<String>, labels: &[String]) {
    for label in labels {
        if !stored.contains(label) {
            stored.push(label.clone());
        }
    }
}

/// The placement with each list's repeats dropped (the first occurrence stays).
pub(super) fn deduplicated(placement: &Placement) -> Placement {
    let unique = |labels: &[String]| {
        let mut kept = Vec::with_capacity(labels.len());
        append_new(&mut kept, labels);
        kept
    };
    Placement {
        availability_zones: unique(&placement.availability_zones),
        subnets: unique(&placement.subnets),
        security_groups: unique(&placement.security_groups),
    }
}

/// `EnableAvailabilityZonesForLoadBalancer` and `AttachLoadBalancerToSubnets`: appends the
/// labels not already there.
pub fn add_placement(
    state: &mut State,
    name: &str,
    list: PlacementList,
    labels: &[String],
) -> Result<(), ClassicError> {
    check_labels(list, labels)?;
    let b = balancer_mut(state, name)?;
    append_new(list.of(&mut b.aws.placement), labels);
    Ok(())
}

/// `DisableAvailabilityZonesForLoadBalancer` and `DetachLoadBalancerFromSubnets`: removes the
/// labels given; one not there is ignored. As on AWS, a balancer placed by availability zones
/// keeps at least one.
pub fn remove_placement(
    state: &mut State,
    name: &str,
    list: PlacementList,
    labels: &[String],
) -> Result<(), ClassicError> {
    check_labels(list, labels)?;
    let b = balancer_mut(state, name)?;
    let placement = &mut b.aws.placement;
    let had_zones = !placement.availability_zones.is_empty();
    list.of(placement).retain(|label| !labels.contains(label));
    if list == PlacementList::AvailabilityZones
        && had_zones
        && placement.availability_zones.is_empty()
        && placement.subnets.is_empty()
    {
        return Err(ClassicError::conflict(format!(
            "AvailabilityZones: {labels:?} would leave load balancer '{}' in no Availability Zone; \
             at least one must stay enabled",
            crate::region::local_name(name)
        )));
    }
    Ok(())
}

/// `ApplySecurityGroupsToLoadBalancer`: the balancer's security groups become those given.
pub fn set_security_groups(
    state: &mut State,
    name: &str,
    groups: &[String],
) -> Result<(), ClassicError> {
    check_labels(PlacementList::SecurityGroups, groups)?;
    let b = balancer_mut(state, name)?;
    b.aws.placement.security_groups = deduplicated(&Placement {
        security_groups: groups.to_vec(),
        ..Placement::default()
    })
    .security_groups;
    Ok(())
}
