//! Active health checks: one task per checked target probes it every interval (TCP connect, TLS
//! handshake, `GET path` over HTTP/HTTPS expecting one of the pool's success codes, 200 by
//! default, or a UDP datagram that must be answered, optionally with given bytes) and flips its health after the configured number of consecutive successes or
//! failures, with the Classic ELB semantics. Each failed probe records why it failed
//! ([`HealthFailure`]) on the target, for `DescribeTargetHealth`'s reason codes; a success
//! clears it. Every probe is counted by result on its target and timed on its pool
//! (`burr_health_checks_total`, `burr_health_check_duration_seconds`).

use crate::metrics::PoolStats;
use crate::runtime::{Health, HealthFailure, Runtime, TargetShared};
use burr_model::matcher::SuccessCodes;
use burr_model::{HealthCheck, HealthCheckProtocol, TargetId};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub struct HealthSupervisor {
    handle: Handle,
    checks: Mutex<HashMap<TargetId, Check>>,
}

/// A running check: its settings, the pool counters it records into, its task.
struct Check {
    config: HealthCheck,
    pool_stats: Arc<PoolStats>,
    task: JoinHandle<()>,
}

impl HealthSupervisor {
    pub fn new(handle: Handle) -> Self {
        Self {
            handle,
            checks: Mutex::new(HashMap::new()),
        }
    }

    /// Starts, restarts or stops checks so they match `runtime`.
    pub fn reconcile(&self, runtime: &Runtime) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        let mut wanted = HashMap::new();
        for (pool, target) in runtime.targets() {
            let config = &pool.spec.health_check;
            if config.enabled {
                wanted.insert(
                    target.shared.id,
                    (config.clone(), target.shared.clone(), pool.stats.clone()),
                );
            } else {
                target.shared.set_health(Health::Unknown);
            }
        }
        // A target moved to another pool's counters (a renamed pool) restarts its check too.
        checks.retain(|id, check| {
            let keep = wanted.get(id).is_some_and(|(c, _, stats)| {
                *c == check.config && Arc::ptr_eq(stats, &check.pool_stats)
            });
            if !keep {
                check.task.abort();
            }
            keep
        });
        for (id, (config, target, pool_stats)) in wanted {
            if checks.contains_key(&id) {
                continue;
            }
            let task = self
                .handle
                .spawn(check_forever(target, config.clone(), pool_stats.clone()));
            checks.insert(
                id,
                Check {
                    config,
                    pool_stats,
                    task,
                },
            );
        }
    }
}

async fn check_forever(target: Arc<TargetShared>, config: HealthCheck, pool_stats: Arc<PoolStats>) {
    let mut successes = 0u32;
    let mut failures = 0u32;
    let interval = Duration::from_secs(u64::from(config.interval_secs));
    let expected = Expected {
        codes: config.success_codes(),
        udp_payload: config.udp_payload_bytes(),
        udp_expect: config.udp_expect_bytes(),
    };
    loop {
        let started = std::time::Instant::now();
        let outcome = probe(&target, &config, &expected).await;
        pool_stats
            .events
            .health_check_duration
            .observe(started.elapsed());
        target.stats.events.count_health_check(outcome);
        target.set_health_failure(outcome.err());
        if outcome.is_ok() {
            successes += 1;
            failures = 0;
            if successes >= config.healthy_threshold && target.health() != Health::Healthy {
                tracing::info!(target = %target.address, pool = %target.pool, "target is healthy");
                target.set_health(Health::Healthy);
            }
        } else {
            failures += 1;
            successes = 0;
            if failures >= config.unhealthy_threshold && target.health() != Health::Unhealthy {
                tracing::warn!(target = %target.address, pool = %target.pool, "target is unhealthy");
                target.set_health(Health::Unhealthy);
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// What a check sends and accepts, decoded once for the life of its task.
struct Expected {
    /// HTTP and HTTPS checks: the status codes that pass.
    codes: SuccessCodes,
    /// UDP checks: the datagram sent.
    udp_payload: Vec<u8>,
    /// UDP checks: bytes the reply must contain, if any.
    udp_expect: Option<Vec<u8>>,
}

/// One probe, bounded by the check's timeout: passed, or why not.
async fn probe(
    target: &TargetShared,
    config: &HealthCheck,
    expected: &Expected,
) -> Result<(), HealthFailure> {
    let address = match config.port {
        Some(port) => target.address.with_port(port),
        None => target.address.clone(),
    };
    let timeout = Duration::from_secs(u64::from(config.timeout_secs));
    let attempt = async {
        match config.protocol {
            HealthCheckProtocol::Udp => udp_probe(&address, expected).await,
            _ => stream_probe(&address, config, &expected.codes).await,
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(HealthFailure::Timeout))
}

/// A TCP, SSL, HTTP or HTTPS probe: a connection, then the handshake or request its protocol
/// asks for.
async fn stream_probe(
    address: &burr_model::TargetAddress,
    config: &HealthCheck,
    codes: &SuccessCodes,
) -> Result<(), HealthFailure> {
    // Refused, reset, unresolvable or a failed TLS handshake: the connection failed.
    let failed = |_| HealthFailure::ConnectionFailed;
    let stream = crate::upstream::open_tcp(address).await.map_err(failed)?;
    let tls = |stream| async {
        let server_name = rustls::pki_types::ServerName::try_from(host_of(address))
            .map_err(|_| HealthFailure::ConnectionFailed)?;
        let connector = crate::tls::insecure_client_connector();
        connector.connect(server_name, stream).await.map_err(failed)
    };
    let host = address.to_string();
    match config.protocol {
        // A connection is all a TCP check asks (and a UDP check never gets here).
        HealthCheckProtocol::Tcp | HealthCheckProtocol::Udp => Ok(()),
        HealthCheckProtocol::Ssl => tls(stream).await.map(drop),
        HealthCheckProtocol::Http => http_get(stream, &host, &config.path, codes).await,
        HealthCheckProtocol::Https => {
            http_get(tls(stream).await?, &host, &config.path, codes).await
        }
    }
}

/// Largest datagram a UDP check reads: any reply fits, so a pattern near the end is seen.
const MAX_REPLY: usize = 65_535;

/// Sends the payload from a UDP socket connected to the target and waits for one datagram back.
/// Connected, the socket hears the ICMP port unreachable a closed port answers with, as
/// `ECONNREFUSED` on the send or the receive: the connection failed. The caller bounds the wait.
async fn udp_probe(
    address: &burr_model::TargetAddress,
    expected: &Expected,
) -> Result<(), HealthFailure> {
    let failed = |_| HealthFailure::ConnectionFailed;
    let peer = match address {
        burr_model::TargetAddress::Ip(sock) => *sock,
        burr_model::TargetAddress::Host { host, port } => {
            tokio::net::lookup_host((host.as_str(), *port))
                .await
                .map_err(failed)?
                .next()
                .ok_or(HealthFailure::ConnectionFailed)?
        }
    };
    let local: std::net::SocketAddr = if peer.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(local).await.map_err(failed)?;
    socket.connect(peer).await.map_err(failed)?;
    socket.send(&expected.udp_payload).await.map_err(failed)?;
    let mut reply = vec![0; MAX_REPLY];
    let n = socket.recv(&mut reply).await.map_err(failed)?;
    match &expected.udp_expect {
        Some(pattern) if memchr::memmem::find(&reply[..n], pattern).is_none() => {
            Err(HealthFailure::UnexpectedReply)
        }
        _ => Ok(()),
    }
}

fn host_of(address: &burr_model::TargetAddress) -> String {
    match address {
        burr_model::TargetAddress::Ip(sock) => sock.ip().to_string(),
        burr_model::TargetAddress::Host { host, .. } => host.clone(),
    }
}

/// `GET path` answered with one of `codes` (by default only 200, as on Classic ELB).
async fn http_get<S>(
    stream: S,
    host: &str,
    path: &str,
    codes: &SuccessCodes,
) -> Result<(), HealthFailure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| HealthFailure::ConnectionFailed)?;
    tokio::spawn(conn);
    let request = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, "burr-health-check")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|_| HealthFailure::ConnectionFailed)?;
    // A reset, a close before the answer or an answer that is not HTTP: no code to report.
    let status = sender
        .send_request(request)
        .await
        .map_err(|_| HealthFailure::ConnectionFailed)?
        .status()
        .as_u16();
    if codes.matches(status) {
        Ok(())
    } else {
        Err(HealthFailure::ResponseCodeMismatch(status))
    }
}
