//! The search for a target that accepts a connection, shared by HTTP requests and TCP
//! connections: the sticky session's target first, else the pool's algorithm; after a connect
//! failure, mark the target passively down, let the session re-pin, and try another target, up
//! to the pool's `upstream.retries`. What is done with the connection once it is open is the
//! caller's business; this module only chooses and counts.

use crate::affinity::{Affinity, Tried, pick};
use crate::runtime::{PoolRuntime, TargetShared};
use burr_affinity::sticky::{Route, SetCookies};
use std::fmt::Display;
use std::sync::atomic::Ordering;

/// Why no target was found.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// No target may take the request or connection.
    #[error("no target may take the request")]
    NoTarget,
    /// Every attempt to connect failed.
    #[error("{tried} connect attempts failed, the last: {last}")]
    ConnectFailed { tried: usize, last: String },
    /// The session's target is down and the pool is strict.
    #[error("the session's target is down and the pool does not re-pin")]
    SessionTargetDown,
}

/// One request's or connection's attempts on one pool.
pub struct Attempts<'p> {
    pool: &'p PoolRuntime,
    session: Option<Affinity<'p>>,
    client_hash: u64,
    /// The session's target, tried first.
    pinned: Option<usize>,
    /// A target to try again on a fresh connection.
    again: Option<usize>,
    tried: Tried,
    failed: usize,
    last_error: String,
}

impl<'p> Attempts<'p> {
    /// Starts the search; a strict session whose target is down refuses at once.
    pub fn new(
        pool: &'p PoolRuntime,
        session: Option<Affinity<'p>>,
        client_hash: u64,
    ) -> Result<Self, Unavailable> {
        if let Some(s) = &session
            && s.route() == Route::Refuse
        {
            s.count(pool);
            return Err(Unavailable::SessionTargetDown);
        }
        let pinned = match session.as_ref().map(Affinity::route) {
            Some(Route::Pinned(index)) => Some(index),
            _ => None,
        };
        Ok(Self {
            pool,
            session,
            client_hash,
            pinned,
            again: None,
            tried: Tried::new(pool.targets.len()),
            failed: 0,
            last_error: String::new(),
        })
    }

    /// The next target to try, counted as a selection.
    pub fn next(&mut self) -> Result<usize, Unavailable> {
        if let Some(index) = self.again.take() {
            return Ok(index);
        }
        let pool = self.pool;
        let chosen = match self.pinned.take() {
            Some(index) => Some(index),
            None => match &self.session {
                Some(s) => s.choose(pool, &self.tried, self.client_hash),
                None => pick(pool, &self.tried, self.client_hash),
            },
        };
        let Some(index) = chosen else {
            self.count_session();
            return Err(if self.failed == 0 {
                pool.stats.no_target.fetch_add(1, Ordering::Relaxed);
                Unavailable::NoTarget
            } else {
                self.connect_failed_error()
            });
        };
        pool.targets[index]
            .shared
            .stats
            .selections
            .fetch_add(1, Ordering::Relaxed);
        Ok(index)
    }

    /// Connecting to the target at `index` failed: mark and count it, let the session re-pin,
    /// and say whether another target may be tried.
    pub fn connect_failed(&mut self, index: usize, error: &dyn Display) -> Result<(), Unavailable> {
        let pool = self.pool;
        let target = &pool.targets[index].shared;
        tracing::debug!(target = %target.address, %error, "connect failed");
        target.mark_connect_failure();
        target
            .stats
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
        pool.stats.connect_failures.fetch_add(1, Ordering::Relaxed);
        self.tried.insert(index);
        self.failed += 1;
        self.last_error = error.to_string();
        if let Some(s) = &mut self.session
            && s.route() == Route::Pinned(index)
        {
            // The session's own target refused: re-pin, or refuse when strict.
            s.target_down();
            if s.route() == Route::Refuse {
                s.count(pool);
                return Err(Unavailable::SessionTargetDown);
            }
        }
        if self.failed > pool.spec.upstream.retries as usize {
            return Err(self.connect_failed_error());
        }
        Ok(())
    }

    /// The same target again, on a fresh connection (a pooled one turned out closed before
    /// anything was sent): not a retry, and not a new choice.
    pub fn again(&mut self, index: usize) {
        self.again = Some(index);
    }

    /// `target` answered an HTTP request with a response setting `app_set_cookies`: count the
    /// session; write the `Set-Cookie` values it adds to `out`.
    pub fn served<'c>(
        &self,
        target: &TargetShared,
        app_set_cookies: impl Iterator<Item = &'c str>,
        out: &mut impl SetCookies,
    ) {
        if let Some(s) = &self.session {
            s.count(self.pool);
            s.served(target, app_set_cookies, out);
        }
    }

    /// The names of the cookies burr's session sets on responses (a target's own are dropped).
    pub fn own_cookie_names(&self) -> &'static [&'static str] {
        self.session
            .as_ref()
            .map_or(&[], Affinity::own_cookie_names)
    }

    /// A TCP connection to `target` is established: count the session, remember its key.
    pub fn connected(&self, target: &TargetShared) {
        if let Some(s) = &self.session {
            s.count(self.pool);
            s.connected(target);
        }
    }

    fn count_session(&self) {
        if let Some(s) = &self.session {
            s.count(self.pool);
        }
    }

    fn connect_failed_error(&mut self) -> Unavailable {
        Unavailable::ConnectFailed {
            tried: self.failed,
            last: std::mem::take(&mut self.last_error),
        }
    }
}
