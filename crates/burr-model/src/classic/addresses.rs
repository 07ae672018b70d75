//! The address pool (`--address-pool`): the addresses burr hands out, one per balancer created
//! through the API, so that many balancers can listen on the same port as on AWS.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Blocks of addresses, in order: CIDRs (`127.0.1.0/24`), ranges (`10.0.0.10-10.0.0.20`) and
/// single addresses, separated by commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPool {
    blocks: Vec<(u128, u128, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address pool {text:?}: {reason}")]
pub struct AddressPoolError {
    pub text: String,
    pub reason: String,
}

impl AddressPool {
    /// The default, which works on any Linux machine: all of 127/8 is local.
    pub const DEFAULT: &'static str = "127.0.1.0/24";

    /// Every address of the pool, in order (lazily: an IPv6 /64 is fine).
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.blocks
            .iter()
            .flat_map(|&(first, last, v4)| (first..=last).map(move |n| to_ip(n, v4)))
    }

    /// The first address of the pool not in `used`.
    pub fn first_free(&self, used: &[IpAddr]) -> Option<IpAddr> {
        // Bounded: at most `used.len() + 1` addresses are looked at per block.
        self.addresses().find(|a| !used.contains(a))
    }

    /// The address a new balancer or CloudFront distribution of `state` gets: none when every
    /// listener binds `listen_host`, else the first address no balancer and no distribution
    /// holds. `Err` says why there is none.
    pub fn allocate(
        &self,
        state: &crate::State,
        listen_host: Option<IpAddr>,
    ) -> Result<Option<IpAddr>, String> {
        if listen_host.is_some() {
            return Ok(None);
        }
        let used: Vec<IpAddr> = state
            .balancers
            .values()
            .filter_map(|b| b.address)
            .chain(state.distributions.values().filter_map(|d| d.address))
            .collect();
        self.first_free(&used).map(Some).ok_or_else(|| {
            format!(
                "every address of the address pool {self} is taken by a load balancer or distribution; start \
                 burr with a larger --address-pool"
            )
        })
    }
}

impl FromStr for AddressPool {
    type Err = AddressPoolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| AddressPoolError {
            text: text.to_string(),
            reason,
        };
        let mut blocks = Vec::new();
        for part in text.split(',').map(str::trim) {
            blocks.push(parse_block(part).map_err(fail)?);
        }
        Ok(Self { blocks })
    }
}

impl fmt::Display for AddressPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(first, last, v4)) in self.blocks.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}-{}", to_ip(first, v4), to_ip(last, v4))?;
        }
        Ok(())
    }
}

fn parse_block(part: &str) -> Result<(u128, u128, bool), String> {
    let ip = |s: &str| {
        IpAddr::from_str(s.trim()).map_err(|_| {
            format!("{s:?} is not an IP address; use a CIDR (127.0.1.0/24), a range (10.0.0.10-10.0.0.20) or addresses, separated by commas")
        })
    };
    if let Some((base, prefix)) = part.split_once('/') {
        let base = ip(base)?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix: u32 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| format!("prefix length {prefix:?} must be between 0 and {bits}"))?;
        let host_bits = bits - prefix;
        let mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let first = to_number(base) & !mask;
        let last = first | mask;
        // Network and broadcast addresses of an IPv4 subnet are not host addresses.
        return Ok(if base.is_ipv4() && host_bits >= 2 {
            (first + 1, last - 1, true)
        } else {
            (first, last, base.is_ipv4())
        });
    }
    let (first, last) = match part.split_once('-') {
        Some((a, b)) => (ip(a)?, ip(b)?),
        None => (ip(part)?, ip(part)?),
    };
    if first.is_ipv4() != last.is_ipv4() || to_number(first) > to_number(last) {
        return Err(format!(
            "range {first}-{last} must go upwards within one address family"
        ));
    }
    Ok((to_number(first), to_number(last), first.is_ipv4()))
}

fn to_number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn to_ip(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4((n as u32).into())
    } else {
        IpAddr::V6(n.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_skips_network_and_broadcast() {
        let pool: AddressPool = "127.0.1.0/24".parse().unwrap();
        let all: Vec<IpAddr> = pool.addresses().collect();
        assert_eq!(all.len(), 254);
        assert_eq!(all[0], "127.0.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(all[253], "127.0.1.254".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ranges_lists_and_first_free() {
        let pool: AddressPool = "10.0.0.10-10.0.0.11, 10.0.0.20".parse().unwrap();
        let used = ["10.0.0.10".parse().unwrap()];
        assert_eq!(pool.first_free(&used), Some("10.0.0.11".parse().unwrap()));
        let used: Vec<IpAddr> = pool.addresses().collect();
        assert_eq!(pool.first_free(&used), None);
        let v6: AddressPool = "fd00::/64".parse().unwrap();
        assert_eq!(v6.addresses().next(), Some("fd00::".parse().unwrap()));
    }

    #[test]
    fn bad_pools_say_why() {
        for (bad, why) in [
            ("127.0.1.0/33", "between 0 and 32"),
            ("nope", "not an IP address"),
            ("10.0.0.9-10.0.0.1", "upwards"),
            ("10.0.0.1-::1", "one address family"),
        ] {
            let err = bad.parse::<AddressPool>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
