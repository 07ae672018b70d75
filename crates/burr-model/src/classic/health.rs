//! The Classic health-check `Target` string (`TCP:80`, `SSL:443`, `HTTP:80/ping`,
//! `HTTPS:443/ping`) and the model's [`HealthCheck`] it stands for.

use super::ClassicError;
use crate::{HealthCheck, HealthCheckProtocol};

/// Parses a `Target` into `check`'s protocol, port and path.
pub fn parse_health_check_target(text: &str, check: &mut HealthCheck) -> Result<(), ClassicError> {
    let fail = |why: &str| {
        ClassicError::invalid(format!(
            "HealthCheck.Target: {text:?} is not allowed: {why}; use TCP:port, SSL:port, \
             HTTP:port/path or HTTPS:port/path"
        ))
    };
    let (protocol, rest) = text.split_once(':').ok_or_else(|| fail("no protocol"))?;
    let protocol = match protocol.to_ascii_uppercase().as_str() {
        "TCP" => HealthCheckProtocol::Tcp,
        "SSL" => HealthCheckProtocol::Ssl,
        "HTTP" => HealthCheckProtocol::Http,
        "HTTPS" => HealthCheckProtocol::Https,
        _ => return Err(fail("the protocol must be TCP, SSL, HTTP or HTTPS")),
    };
    let (port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| fail("the port must be between 1 and 65535"))?;
    let needs_path = matches!(
        protocol,
        HealthCheckProtocol::Http | HealthCheckProtocol::Https
    );
    if needs_path && path.is_empty() {
        return Err(fail("HTTP and HTTPS checks need a path after the port"));
    }
    if !needs_path && !path.is_empty() {
        return Err(fail("TCP and SSL checks take no path"));
    }
    check.protocol = protocol;
    check.port = Some(port);
    if needs_path {
        check.path = path.to_string();
    }
    Ok(())
}

/// The `Target` string of a check; `instance_port` stands in when the check names no port.
pub fn health_check_target(check: &HealthCheck, instance_port: u16) -> String {
    let port = check.port.unwrap_or(instance_port);
    match check.protocol {
        HealthCheckProtocol::Tcp => format!("TCP:{port}"),
        HealthCheckProtocol::Ssl => format!("SSL:{port}"),
        HealthCheckProtocol::Http => format!("HTTP:{port}{}", check.path),
        HealthCheckProtocol::Https => format!("HTTPS:{port}{}", check.path),
        // Only a pool of the TOML file has one (Classic's API cannot set it).
        HealthCheckProtocol::Udp => format!("UDP:{port}"),
    }
}
