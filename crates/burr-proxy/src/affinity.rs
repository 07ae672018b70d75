//! One request's or TCP connection's sticky session, whichever kind the pool has: a cookie
//! session (the cookie engine's decision, burr's cookies stripped from the request and set on the
//! response) or a key session (header value or client address, placed by the consistent hash and
//! remembered in the pool's session table). The HTTP proxy and the TCP relay ask it where to go
//! first, what to do when that target refuses, how to choose the next one, and tell it which
//! target served. Also the pool's plain algorithm ([`pick`]) for requests without a session.

use crate::runtime::{PoolRuntime, TargetShared};
use burr_affinity::balance::{PickInput, SlowStart, hash_ip};
use burr_affinity::cookies;
use burr_affinity::keyed::{KeySource, KeyedDecision, KeyedEngine, hash_key};
use burr_affinity::sticky::{
    Decision, Engine, Nonce, Policy, Reason, RequestCookies, Route, SetCookies, Standing,
    session_id,
};
use burr_affinity::token::KeyRing;
use burr_model::Algorithm;
use http::{HeaderMap, HeaderValue, header};
use std::net::IpAddr;
use std::sync::Arc;

/// What a session needs to see of a request, whichever HTTP engine parsed it (hyper's header
/// map, or the HTTP/1.1 fast path's parsed head).
pub trait RequestHeaders {
    /// The values of the `Cookie` fields, in order.
    fn cookie_fields(&self) -> impl Iterator<Item = &[u8]>;
    /// The first value of the header `name` (lower case).
    fn first(&self, name: &str) -> Option<&[u8]>;
}

impl RequestHeaders for HeaderMap {
    fn cookie_fields(&self) -> impl Iterator<Item = &[u8]> {
        self.get_all(header::COOKIE)
            .iter()
            .map(HeaderValue::as_bytes)
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(HeaderValue::as_bytes)
    }
}

/// What becomes of one `Cookie` field on its way to the target.
#[derive(Debug, PartialEq, Eq)]
pub enum CookieField {
    /// Sent as it came (it holds none of burr's cookies, or the policy keeps them).
    Keep,
    /// Dropped: it held only burr's cookies.
    Drop,
    /// Sent without burr's cookies.
    Replace(Vec<u8>),
}

/// The hash of the client's address when the pool places by it (`source_ip_hash`, or
/// `source_ip` stickiness); 0 otherwise, sparing the hash.
pub fn client_hash(pool: &PoolRuntime, client: IpAddr) -> u64 {
    match &pool.keyed {
        Some(k) if k.policy.source == KeySource::ClientAddress => hash_ip(client),
        _ if pool.spec.algorithm == Algorithm::SourceIpHash => hash_ip(client),
        _ => 0,
    }
}

/// Traffic from `client` reached `target` of `pool`: a source-IP session there lives on from
/// now. Called by the UDP relay for a flow's datagrams and by the TCP relay when a connection
/// ends, so a session outlives its last packet or connection by the persistence timeout.
pub fn renew_client_session(pool: &PoolRuntime, client: IpAddr, target: &TargetShared) {
    if let Some(engine) = &pool.keyed
        && engine.policy.source == KeySource::ClientAddress
    {
        let now = pool.clock.unix_now();
        engine.sessions.touch(hash_ip(client), target.id, now);
    }
}

/// True when the `Set-Cookie` value `value` sets a cookie named one of `names` (cookie names
/// are case-sensitive; blanks around the name are not part of it, RFC 6265 §5.2).
pub fn sets_one_of(names: &[&str], value: &[u8]) -> bool {
    let name = value
        .iter()
        .position(|&b| b == b'=')
        .map_or(&value[..0], |eq| value[..eq].trim_ascii());
    names.iter().any(|n| n.as_bytes() == name)
}

/// Targets already tried for one request: a bit set, spilling to the heap past 64 targets.
pub struct Tried {
    low: u64,
    high: Vec<bool>,
}

impl Tried {
    pub fn new(targets: usize) -> Self {
        Self {
            low: 0,
            high: if targets > 64 {
                vec![false; targets - 64]
            } else {
                Vec::new()
            },
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        if i < 64 {
            self.low & (1 << i) != 0
        } else {
            self.high.get(i - 64).copied().unwrap_or(false)
        }
    }

    pub fn insert(&mut self, i: usize) {
        if i < 64 {
            self.low |= 1 << i;
        } else if let Some(slot) = self.high.get_mut(i - 64) {
            *slot = true;
        }
    }
}

/// Chooses a target not yet tried for this request with the pool's algorithm.
pub fn pick(pool: &PoolRuntime, tried: &Tried, client_hash: u64) -> Option<usize> {
    let open = pool.failing_open();
    let eligible = |i: usize| !tried.contains(i) && pool.targets[i].shared.is_available_when(open);
    let load = |i: usize| {
        let stats = &pool.targets[i].shared.stats;
        match pool.spec.algorithm {
            Algorithm::LeastOutstandingRequests => stats.load_in_flight(),
            _ => stats.load_connections(),
        }
    };
    let window_ms = u64::from(pool.spec.slow_start_secs) * 1000;
    let since = |i: usize| pool.targets[i].shared.slow_start_since();
    pool.picker.pick(&PickInput {
        client_hash,
        // Only the random algorithm and slow start's gate draw, so only they pay for the
        // generator.
        random: if pool.spec.algorithm == Algorithm::Random || window_ms > 0 {
            rand::random()
        } else {
            0
        },
        eligible: &eligible,
        load: &load,
        slow_start: (window_ms > 0).then(|| SlowStart {
            now_ms: pool.clock.now_ms(),
            window_ms,
            since_ms: &since,
        }),
    })
}

/// A request's session with its pool.
pub enum Affinity<'p> {
    Cookie(CookieSession<'p>),
    Keyed(KeyedSession<'p>),
}

impl<'p> Affinity<'p> {
    /// The session of `req` in `pool`, or `None` when the pool is not sticky.
    pub fn begin(
        pool: &'p PoolRuntime,
        headers: &impl RequestHeaders,
        client_hash: u64,
    ) -> Option<Self> {
        if let Some(policy) = &pool.sticky {
            return Some(Self::Cookie(CookieSession::begin(policy, pool, headers)));
        }
        let engine = pool.keyed.as_ref()?;
        let key = match &engine.policy.source {
            KeySource::Header(name) => headers.first(name).map(hash_key),
            KeySource::ClientAddress => Some(client_hash),
        };
        let now = pool.clock.unix_now();
        Some(Self::Keyed(KeyedSession {
            engine,
            decision: engine.decide(key, pool, now),
            now,
        }))
    }

    /// The session of a TCP connection: only the client's address can key it (the model allows
    /// no cookie or header stickiness behind a TCP or SSL listener; were one there, the
    /// connection would simply not be sticky).
    pub fn for_client(pool: &'p PoolRuntime, client_hash: u64) -> Option<Self> {
        let engine = pool.keyed.as_ref()?;
        if engine.policy.source != KeySource::ClientAddress {
            return None;
        }
        let now = pool.clock.unix_now();
        Some(Self::Keyed(KeyedSession {
            engine,
            decision: engine.decide(Some(client_hash), pool, now),
            now,
        }))
    }

    /// The names of the cookies burr sets for this session (none for key sessions).
    pub fn own_cookie_names(&self) -> &'static [&'static str] {
        match self {
            Self::Cookie(c) => c.policy.own_cookies(),
            Self::Keyed(_) => &[],
        }
    }

    pub fn route(&self) -> Route {
        match self {
            Self::Cookie(c) => c.decision.route,
            Self::Keyed(k) => k.decision.route,
        }
    }

    pub fn reason(&self) -> Reason {
        match self {
            Self::Cookie(c) => c.decision.reason,
            Self::Keyed(k) => k.decision.reason,
        }
    }

    /// Removes burr's own cookies from what the target will see, when the policy says so.
    pub fn strip_own_cookies(&self, headers: &mut HeaderMap) {
        if !self.strips_cookies() {
            return;
        }
        let kept: Vec<HeaderValue> = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| match self.cookie_field(v.as_bytes()) {
                CookieField::Keep => Some(v.clone()),
                CookieField::Drop => None,
                // What is left of a valid field is valid.
                CookieField::Replace(kept) => HeaderValue::from_bytes(&kept).ok(),
            })
            .collect();
        headers.remove(header::COOKIE);
        for value in kept {
            headers.append(header::COOKIE, value);
        }
    }

    /// True when some `Cookie` field of the request must change before it is forwarded.
    pub fn strips_cookies(&self) -> bool {
        matches!(self, Self::Cookie(c) if c.policy.strip_cookie && c.own_cookies_sent)
    }

    /// True when every `Cookie` field goes (only burr's cookies were sent, the usual returning
    /// client): no field need be read.
    pub fn drops_all_cookie_fields(&self) -> bool {
        matches!(self, Self::Cookie(c) if c.policy.strip_cookie && c.own_cookies_sent && !c.other_cookies_sent)
    }

    /// What becomes of the `Cookie` field `value` (only asked when [`Self::strips_cookies`]).
    pub fn cookie_field(&self, value: &[u8]) -> CookieField {
        let Self::Cookie(c) = self else {
            return CookieField::Keep;
        };
        if !c.other_cookies_sent {
            // Only burr's cookies were sent (the usual returning client): nothing to keep.
            return CookieField::Drop;
        }
        match cookies::without(value, c.policy.own_cookies()) {
            None => CookieField::Drop,
            Some(kept) if kept == value => CookieField::Keep,
            Some(kept) => CookieField::Replace(kept),
        }
    }

    /// The session's pinned target refused the connection: re-pin, or refuse when strict.
    pub fn target_down(&mut self) {
        match self {
            Self::Cookie(c) => c.target_down(),
            Self::Keyed(k) => k.decision = k.engine.target_down(k.decision),
        }
    }

    /// The next target to try when the session has none pinned: a keyed session walks on
    /// from its key's slot in the consistent table; anything else asks the pool's algorithm.
    pub fn choose(&self, pool: &PoolRuntime, tried: &Tried, client_hash: u64) -> Option<usize> {
        match self {
            Self::Keyed(KeyedSession {
                engine,
                decision: KeyedDecision { key: Some(key), .. },
                ..
            }) => {
                let open = pool.failing_open();
                engine.place(
                    *key,
                    &|i| {
                        !tried.contains(i) && pool.targets[i].standing(open) == Standing::Available
                    },
                    pool,
                )
            }
            _ => pick(pool, tried, client_hash),
        }
    }

    /// Counts the decision by reason.
    pub fn count(&self, pool: &PoolRuntime) {
        pool.stats.count_sticky(self.reason());
    }

    /// `target` answered with a response setting `app_set_cookies`: a cookie session writes
    /// the `Set-Cookie` values it adds to `out`; a key session remembers its key.
    pub fn served<'c>(
        &self,
        target: &TargetShared,
        app_set_cookies: impl Iterator<Item = &'c str>,
        out: &mut impl SetCookies,
    ) {
        match self {
            Self::Cookie(c) => c.set_cookies(target, app_set_cookies, out),
            Self::Keyed(_) => self.connected(target),
        }
    }

    /// A connection to `target` was established for the session: remember its key. (A cookie
    /// session is recorded in the response instead, see [`Affinity::served`].)
    pub fn connected(&self, target: &TargetShared) {
        if let Self::Keyed(k) = self {
            k.engine.served(&k.decision, target.id, k.now);
        }
    }
}

/// A key session: the decision and when it was made.
pub struct KeyedSession<'p> {
    engine: &'p KeyedEngine,
    decision: KeyedDecision,
    now: u64,
}

/// A cookie session: the engine's decision and what the response needs.
pub struct CookieSession<'p> {
    policy: &'p Policy,
    ring: Arc<KeyRing>,
    decision: Decision,
    now: u64,
    /// What the request's `Cookie` header holds: burr's cookies, others.
    own_cookies_sent: bool,
    other_cookies_sent: bool,
}

impl<'p> CookieSession<'p> {
    fn begin(policy: &'p Policy, pool: &PoolRuntime, headers: &impl RequestHeaders) -> Self {
        let ring = pool.keys.load_full();
        let now = pool.clock.unix_now();
        let cookies = RequestCookies::read(policy, headers.cookie_fields());
        let events = &pool.stats.events;
        let decision = Engine {
            policy,
            ring: &ring,
        }
        .decide_observing(&cookies, pool, now, |outcome| {
            events.count_token_open(outcome);
        });
        Self {
            policy,
            ring,
            decision,
            now,
            own_cookies_sent: !cookies.tokens.is_empty(),
            other_cookies_sent: cookies.others_present,
        }
    }

    fn target_down(&mut self) {
        self.decision = Engine {
            policy: self.policy,
            ring: &self.ring,
        }
        .target_down(self.decision.session);
    }

    /// Writes the `Set-Cookie` values the mode calls for on a response from `target` that set
    /// `app_set_cookies`; counts the session towards the target's live-session estimate.
    fn set_cookies<'c>(
        &self,
        target: &TargetShared,
        app_set_cookies: impl Iterator<Item = &'c str>,
        out: &mut impl SetCookies,
    ) {
        let engine = Engine {
            policy: self.policy,
            ring: &self.ring,
        };
        let app_set_cookies: Vec<&str> = if self.policy.app_cookie().is_some() {
            app_set_cookies.collect()
        } else {
            Vec::new()
        };
        let draw = || rand::random::<[u8; 24]>();
        let nonce = Nonce::new(&draw);
        let mut counted = CountSetCookies { out, count: 0 };
        engine.response_cookies(
            &self.decision,
            target.id,
            app_set_cookies,
            self.now,
            &nonce,
            &mut counted,
        );
        // A request in a session, or one that starts a session.
        if self.decision.session.is_some() || counted.count > 0 {
            target
                .sessions
                .observe(session_id(&self.decision, &nonce), self.now);
        }
    }
}

/// Passes `Set-Cookie` values on, counting them.
struct CountSetCookies<'o, O> {
    out: &'o mut O,
    count: usize,
}

impl<O: SetCookies> SetCookies for CountSetCookies<'_, O> {
    fn set_cookie(&mut self, pieces: &[&[u8]]) {
        self.count += 1;
        self.out.set_cookie(pieces);
    }
}
