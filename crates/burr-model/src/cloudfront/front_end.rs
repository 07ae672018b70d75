//! What the data plane serves for the state's distributions: each enabled distribution that is
//! not a staging one becomes a balancer on its own address (port `ports.http`, and `ports.https`
//! when it has a viewer certificate) whose listeners route by the cache behaviours to pools made
//! from the origins; each primary whose continuous-deployment policy is enabled gets a
//! [`Split`] naming the staging distribution's front end (built alike, never bound) as its
//! second arm.

use super::DeploymentPolicy;
use crate::{Balancer, Pool, State};

/// The front end of a staging distribution behind a primary, and the policy that splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The name of the primary's front-end balancer (in [`FrontEnds::balancers`]).
    pub primary: String,
    /// The staging distribution's front end: never bound; its listener on a port is the
    /// staging arm of the primary's listener on that port.
    pub staging: Balancer,
    pub policy: DeploymentPolicy,
}

/// Everything the state's distributions make.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrontEnds {
    /// The balancers to bind.
    pub balancers: Vec<Balancer>,
    /// The pools their listeners (and the staging arms') forward to.
    pub pools: Vec<Pool>,
    pub splits: Vec<Split>,
}

/// The front ends of every distribution in `state`.
pub fn front_ends(state: &State) -> FrontEnds {
    let _ = state;
    FrontEnds::default()
}
