//! `AddTags`, `RemoveTags` and `DescribeTags` on load balancers, target groups, listeners and
//! rules, named by ARN.

use super::arn::{self, Kind};
use super::change;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;
use burr_model::State;
use burr_model::elbv2::{self, Resource};

/// Most resources one tag call may name.
const MAX_RESOURCES: usize = 20;

fn resources(c: &dyn ControlPlane, state: &State, p: &Params) -> Result<Vec<Resource>, ApiError> {
    let arns = p.list("ResourceArns");
    if arns.is_empty() {
        return Err(ApiError::missing("ResourceArns"));
    }
    if arns.len() > MAX_RESOURCES {
        return Err(ApiError::invalid(format!(
            "ResourceArns: {} ARNs is not allowed: at most {MAX_RESOURCES}",
            arns.len()
        )));
    }
    arns.iter()
        .map(|text| arn::resolve(c, state, "ResourceArns", text, Kind::Any))
        .collect()
}

pub fn add(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let targets = resources(c, &c.state(), p)?;
    let tags = p.tags()?;
    if tags.is_empty() {
        return Err(ApiError::missing("Tags"));
    }
    change(c, |s| elbv2::add_tags(s, &targets, &tags))?;
    Ok(())
}

pub fn remove(c: &dyn ControlPlane, p: &Params, _xml: &mut Xml) -> Result<(), ApiError> {
    let targets = resources(c, &c.state(), p)?;
    let keys = p.list("TagKeys");
    if keys.is_empty() {
        return Err(ApiError::missing("TagKeys"));
    }
    change(c, |s| elbv2::remove_tags(s, &targets, &keys))?;
    Ok(())
}

pub fn describe(c: &dyn ControlPlane, p: &Params, xml: &mut Xml) -> Result<(), ApiError> {
    let state = c.state();
    let targets = resources(c, &state, p)?;
    let mut described = Vec::new();
    for resource in &targets {
        let tags: Vec<(String, String)> = elbv2::tags_of(&state, resource)?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        described.push((arn::of(c, &state, resource), tags));
    }
    xml.members("TagDescriptions", &described, |x, (arn, tags)| {
        x.text("ResourceArn", arn);
        x.members("Tags", tags, |x, (k, v)| {
            x.text("Key", k);
            x.text("Value", v);
        });
    });
    Ok(())
}
