//! The upstream half of an exchange on burr's raw HTTP/1.1 connections, shared by the HTTP/1.1
//! fast path and HTTP/2 streams ([`crate::http::h2`]): choose a target (the attempts' rules),
//! check out an idle connection or open one (another target when connecting fails), send the
//! request, and read the final response head within the response timeout, passing interim
//! (1xx) heads on up to a bound. A request the target's stale idle connection lost is sent
//! again on a fresh connection to the same target, only when it is whole and safe to repeat.
//! What the request is and where interim heads go is the caller's ([`Outgoing`]).

use super::connections::{self, UpstreamHead, read_response_head};
use super::{Failure, MAX_INTERIM_RESPONSES, RawConnection};
use crate::attempts::Attempts;
use crate::http::proxy::ProxyError;
use crate::runtime::PoolRuntime;
use crate::target_stream::TargetStream;
use crate::upstream::Lease;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A request on its way to a target, as the attempt loop needs it.
pub(crate) trait Outgoing {
    /// All of the request is in hand (no body bytes left to read from the client), so it can
    /// be sent again.
    fn whole(&self) -> bool;

    /// A method the client expects to be safe to repeat (RFC 9110 §9.2.2).
    fn idempotent(&self) -> bool;

    /// Writes the request head (and whatever body bytes go with it) to the target.
    async fn send_head(&mut self, upstream: &mut TargetStream) -> std::io::Result<()>;

    /// Sends the rest of the body, after the head (called only when the request is not whole).
    async fn send_body(&mut self, upstream: &mut TargetStream) -> Result<(), Failure>;

    /// Passes on (or drops) an interim response head, checked by [`interim_head`] already.
    async fn interim(&mut self, raw: &[u8]) -> Result<(), Failure>;
}

/// A target that has answered: its connection, with the final response head as the first
/// `head_len` bytes of its input.
pub(crate) struct Reached {
    /// The target's index in the pool.
    pub index: usize,
    pub upstream: RawConnection,
    pub head_len: usize,
    /// Counts the request in the target's in-flight gauge until dropped.
    pub lease: Lease,
}

/// Sends `request` to a target of `pool` chosen by `attempts` and waits for its final response
/// head (see the module's note).
pub(crate) async fn reach<R: Outgoing>(
    attempts: &mut Attempts<'_>,
    pool: &PoolRuntime,
    tls: bool,
    request: &mut R,
) -> Result<Reached, Failure> {
    let settings = &pool.spec.upstream;
    let response_timeout = Duration::from_secs(u64::from(settings.response_timeout_secs));
    let timed_out = || {
        pool.stats.timeouts.fetch_add(1, Ordering::Relaxed);
        Failure::Reply(ProxyError::Timeout(settings.response_timeout_secs))
    };
    loop {
        let index = attempts.next().map_err(|u| Failure::Reply(u.into()))?;
        let target = &pool.targets[index].shared;
        let (mut upstream, reused) =
            match connections::checkout(target, settings.connect_timeout_ms, tls).await {
                Ok(c) => c,
                Err(e) => {
                    attempts
                        .connect_failed(index, &e)
                        .map_err(|u| Failure::Reply(u.into()))?;
                    continue;
                }
            };
        target.mark_connect_success();
        let lease = Lease::new(target.clone());
        // A reused connection the target closed meanwhile fails here or yields no response;
        // a request that is whole and safe to repeat then goes again on a fresh one.
        let replayable = reused && request.whole();
        if let Err(e) = request.send_head(&mut upstream.stream).await {
            if replayable {
                attempts.again(index);
                continue;
            }
            return Err(Failure::Reply(ProxyError::Upstream(e.to_string())));
        }
        if !request.whole() {
            // Not awaited otherwise: a future per request that only returns costs (measured).
            request.send_body(&mut upstream.stream).await?;
        }
        // Interim responses count against the same response timeout as the final one.
        let deadline = tokio::time::Instant::now() + response_timeout;
        let mut head_len =
            match tokio::time::timeout_at(deadline, read_response_head(&mut upstream)).await {
                Err(_) => return Err(timed_out()),
                Ok(Err(UpstreamHead::ClosedBeforeResponse))
                    if replayable && request.idempotent() =>
                {
                    attempts.again(index);
                    continue;
                }
                Ok(Err(e)) => return Err(Failure::Reply(ProxyError::Upstream(e.to_string()))),
                Ok(Ok(n)) => n,
            };
        // Interim responses (100 Continue, 103 Early Hints) go on, up to a bound: a target that
        // only ever sends them gets its client a 502. An interim response settles nothing, so
        // the client may still be answered with burr's own final one.
        let mut interim = 0;
        while super::is_interim(&upstream.input.available()[..head_len]) {
            interim += 1;
            if interim > MAX_INTERIM_RESPONSES {
                return Err(Failure::Reply(ProxyError::Upstream(format!(
                    "more than {MAX_INTERIM_RESPONSES} interim responses"
                ))));
            }
            let raw = &upstream.input.available()[..head_len];
            super::interim_head(raw, &mut Vec::new())
                .map_err(|e| Failure::Reply(ProxyError::Upstream(e.to_string())))?;
            request.interim(raw).await?;
            upstream.input.consume(head_len);
            head_len =
                match tokio::time::timeout_at(deadline, read_response_head(&mut upstream)).await {
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => return Err(Failure::Reply(ProxyError::Upstream(e.to_string()))),
                    Err(_) => return Err(timed_out()),
                };
        }
        return Ok(Reached {
            index,
            upstream,
            head_len,
            lease,
        });
    }
}
