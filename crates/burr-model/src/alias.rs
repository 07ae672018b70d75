//! Instance aliases: names the operator gives to target addresses in the configuration file, so
//! that AWS API calls may register instances by the ids a deployment already uses (EC2 instance
//! ids, host labels) while burr reaches them by address.

use crate::error::{Errors, FieldPath, PathSegment};
use crate::{Origin, TargetAddress};
use serde::{Deserialize, Serialize};

/// `name` stands for the instance `address` (`10.0.0.5`, `10.0.0.5:8080`, `[::1]:80`, a host
/// name, with or without a port, as an `InstanceId` would be written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub name: String,
    pub address: String,
    /// Which front door declared this alias (kept by the store, not written in files).
    #[serde(skip)]
    pub origin: Origin,
}

impl Alias {
    pub fn path(&self) -> FieldPath {
        FieldPath::root().with(PathSegment::Alias(self.name.clone()))
    }

    pub(crate) fn validate_into(&self, errors: &mut Errors) {
        let path = self.path();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 255
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !name_ok {
            errors.push(
                path.field("name"),
                format!("{:?}", self.name),
                "must be 1 to 255 ASCII letters, digits, '-', '_', '.' or ':'",
            );
        }
        // Any port stands in for the listener's instance port: only the form is checked here.
        if let Err(e) = TargetAddress::parse(&self.address, Some(1)) {
            errors.push(
                path.field("address"),
                format!("{:?}", self.address),
                format!("is not an instance address: {e}"),
            );
        }
    }
}
