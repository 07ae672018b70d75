//! Key stickiness: sessions bound by the value of a request header (`header`) or by the
//! client's address (`source_ip`), held in a session table with an idle timeout.
//!
//! A new key is placed by consistent hashing ([`ConsistentHash`] over the pool's registered
//! targets and weights): every burr node sharing the configuration, and burr after a restart,
//! sends the same key to the same target without sharing the table. The table then remembers
//! where each live key is, which is what lets a session move and *stay* moved: after a failover
//! the key keeps its new target even once the hashed one recovers (unless `fail_back`), and a
//! key bound to a draining target keeps it until the deadline (`drain_mode = honour`).
//!
//! Sans-IO like the cookie engine: the key's hash, the pool view and `now` come in; the table
//! is the only state, behind sharded locks held for one map operation at a time.

use crate::consistent::ConsistentHash;
use crate::sticky::{PoolView, Reason, Route, Standing};
use burr_model::{Algorithm, DrainMode, OnTargetDown, Pool, StickinessKind, TargetId};
use load::TargetLoads;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use xxhash_rust::xxh3::xxh3_64_with_seed;

pub mod load;

/// Most sessions one pool's table holds. Past it, new keys are still placed by the hash (so
/// they still stick while the pool is stable) but not remembered until expired entries go.
pub const SESSION_TABLE_CAPACITY: usize = 1 << 20;
const SHARDS: usize = 64;

/// Where the session key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The first value of this request header (lower-case name).
    Header(String),
    /// The client's IP address.
    ClientAddress,
}

/// A pool's key-stickiness policy, compiled from the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedPolicy {
    pub source: KeySource,
    /// A session ends this long after its last request.
    pub idle_secs: u64,
    pub on_target_down: OnTargetDown,
    pub fail_back: bool,
    pub drain_mode: DrainMode,
    /// What a new session's placement balances besides the hash.
    pub balance: Balance,
}

/// What bounds the placement of new sessions (see [`load`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// The consistent hash alone (header stickiness: keys are few and heavy, so counting them
    /// says little about load).
    Hash,
    /// Live sessions per weight: source-IP sessions in a round-robin pool.
    Sessions,
    /// Open connections (TCP connections, UDP flows) per weight: source-IP sessions in a
    /// least-connections pool.
    Connections,
}

impl KeyedPolicy {
    /// The key policy of `pool`, or `None` when the pool has no header or source-IP stickiness.
    pub fn of(pool: &Pool) -> Option<Self> {
        let s = &pool.stickiness;
        let source = match s.kind {
            StickinessKind::Header => {
                KeySource::Header(s.header_name.clone()?.to_ascii_lowercase())
            }
            StickinessKind::SourceIp => KeySource::ClientAddress,
            _ => return None,
        };
        let balance = match (s.kind, pool.algorithm) {
            (StickinessKind::SourceIp, Algorithm::LeastConnections)
            | (StickinessKind::SourceIp, Algorithm::WeightedLeastConnections) => {
                Balance::Connections
            }
            (StickinessKind::SourceIp, _) => Balance::Sessions,
            _ => Balance::Hash,
        };
        Some(Self {
            source,
            idle_secs: u64::from(s.duration_secs(pool.origin)),
            on_target_down: s.on_target_down,
            fail_back: s.fail_back,
            drain_mode: pool.draining.mode,
            balance,
        })
    }
}

const KEY_SEED: u64 = 0x6275_7272_6b65_7973; // "burrkeys"

/// The hash of a header value as a session key.
pub fn hash_key(value: &[u8]) -> u64 {
    xxh3_64_with_seed(value, KEY_SEED)
}

/// One live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    target: TargetId,
    /// The first target (for fail-back).
    home: TargetId,
    last_seen: u64,
}

/// One shard of the table: its sessions and when lapsed ones were last removed.
#[derive(Debug, Default)]
struct Shard {
    sessions: HashMap<u64, Entry>,
    swept_at: u64,
}

/// Live sessions of one pool: key hash → target, with the number each target holds. Survives
/// configuration changes that keep the pool's key source; a new idle limit applies to the
/// sessions already there.
#[derive(Debug)]
pub struct SessionTable {
    shards: Vec<Mutex<Shard>>,
    idle_secs: AtomicU64,
    /// Sessions per target, lapsed ones included until their shard is swept.
    pub loads: TargetLoads,
}

impl SessionTable {
    pub fn new(idle_secs: u64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            idle_secs: AtomicU64::new(idle_secs),
            loads: TargetLoads::default(),
        }
    }

    /// Sessions now live `idle_secs` after their last traffic (a persistence-timeout change).
    pub fn set_idle_secs(&self, idle_secs: u64) {
        self.idle_secs.store(idle_secs, Ordering::Relaxed);
    }

    pub fn idle_secs(&self) -> u64 {
        self.idle_secs.load(Ordering::Relaxed)
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, Shard> {
        // The low bits pick the slot in the consistent table; the high ones pick the shard.
        let shard = &self.shards[(key >> 58) as usize % SHARDS];
        // A poisoned shard only means a panic elsewhere mid-insert; the map is still sound.
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lives(&self, entry: &Entry, now: u64) -> bool {
        now < entry.last_seen.saturating_add(self.idle_secs())
    }

    /// Removes the shard's lapsed sessions (and their counts).
    fn sweep(&self, shard: &mut Shard, now: u64) {
        shard.swept_at = now;
        shard.sessions.retain(|_, e| {
            let keep = now < e.last_seen.saturating_add(self.idle_secs());
            if !keep {
                self.loads.remove(e.target);
            }
            keep
        });
    }

    /// Sweeps the shard when a sixteenth of the idle limit has passed since its last sweep, so
    /// the per-target counts placement reads trail the live sessions by at most that.
    fn sweep_if_due(&self, shard: &mut Shard, now: u64) {
        let every = (self.idle_secs() / 16).max(1);
        if now >= shard.swept_at.saturating_add(every) {
            self.sweep(shard, now);
        }
    }

    /// The live session of `key`; `Err(())` if it had one that lapsed.
    fn get(&self, key: u64, now: u64) -> Result<Option<Entry>, ()> {
        match self.shard(key).sessions.get(&key) {
            None => Ok(None),
            Some(e) if self.lives(e, now) => Ok(Some(*e)),
            Some(_) => Err(()),
        }
    }

    /// True when the table holds as many sessions as it may.
    pub fn is_full(&self, key: u64) -> bool {
        self.shard(key).sessions.len() >= SESSION_TABLE_CAPACITY / SHARDS
    }

    /// Records that `key` was served by `target` at `now`.
    pub fn record(&self, key: u64, target: TargetId, home: TargetId, now: u64) {
        let mut shard = self.shard(key);
        self.sweep_if_due(&mut shard, now);
        let entry = Entry {
            target,
            home,
            last_seen: now,
        };
        if let Some(existing) = shard.sessions.get_mut(&key) {
            if existing.target != target {
                self.loads.remove(existing.target);
                self.loads.add(target);
            }
            *existing = entry;
            return;
        }
        if shard.sessions.len() >= SESSION_TABLE_CAPACITY / SHARDS {
            // At most one sweep a second of a full shard: a flood of new keys (spoofed UDP
            // sources are cheap) must not buy a scan of 16,384 entries each.
            if shard.swept_at < now {
                self.sweep(&mut shard, now);
            }
            if shard.sessions.len() >= SESSION_TABLE_CAPACITY / SHARDS {
                return;
            }
        }
        self.loads.add(target);
        shard.sessions.insert(key, entry);
    }

    /// Traffic of `key` reached `target` at `now` (a datagram of a UDP flow, a TCP connection
    /// closing): the session lives on from now. A live session that has moved elsewhere in the
    /// meantime (its target failed while this flow or connection went on) stays where it moved:
    /// old traffic must not pull it back. A session that lapsed (or was never remembered) is
    /// bound to `target` again, which served the client until now.
    pub fn touch(&self, key: u64, target: TargetId, now: u64) {
        {
            let mut shard = self.shard(key);
            let idle = self.idle_secs();
            match shard.sessions.get_mut(&key) {
                Some(entry) if entry.target == target => {
                    entry.last_seen = entry.last_seen.max(now);
                    return;
                }
                Some(entry) if now < entry.last_seen.saturating_add(idle) => return,
                _ => {}
            }
        }
        self.record(key, target, target, now);
    }

    /// Live sessions per target at `now` (for the session gauge); drops lapsed entries.
    pub fn live_sessions(&self, now: u64) -> HashMap<TargetId, u64> {
        let mut counts = HashMap::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            self.sweep(&mut shard, now);
            for entry in shard.sessions.values() {
                *counts.entry(entry.target).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// The engine's answer for one keyed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyedDecision {
    pub route: Route,
    pub reason: Reason,
    /// The session key; `None`: the request carries none and is not sticky.
    pub key: Option<u64>,
    /// The session's first target, carried across re-pins.
    pub home: Option<TargetId>,
}

/// Key stickiness over one pool: policy, placement table and session table.
#[derive(Debug)]
pub struct KeyedEngine {
    pub policy: KeyedPolicy,
    placement: Option<std::sync::Arc<ConsistentHash>>,
    pub sessions: std::sync::Arc<SessionTable>,
    /// The candidates' weights and session counters, by index (bounded-load placement).
    weights: Vec<u32>,
    loads: Vec<std::sync::Arc<AtomicU64>>,
}

/// Longest walk through the table for one placement: a pool with every target unusable must
/// not scan 65537 slots per request.
const MAX_WALK: usize = 4096;

impl KeyedEngine {
    /// `candidates` are the pool's targets in pool order (weight 0 for draining ones). The
    /// sessions of `previous` (the pool's engine in the last snapshot) carry over when its key
    /// source is unchanged, under the new idle limit; otherwise its keys mean something else
    /// and are dropped.
    pub fn new(
        policy: KeyedPolicy,
        candidates: &[crate::balance::Candidate],
        previous: Option<&KeyedEngine>,
    ) -> Self {
        let sessions = match previous.filter(|p| p.policy.source == policy.source) {
            Some(p) => {
                p.sessions.set_idle_secs(policy.idle_secs);
                p.sessions.clone()
            }
            None => std::sync::Arc::new(SessionTable::new(policy.idle_secs)),
        };
        Self {
            placement: ConsistentHash::build_or_reuse(
                candidates,
                previous.and_then(|p| p.placement.as_ref()),
            ),
            weights: candidates.iter().map(|c| c.weight).collect(),
            loads: candidates
                .iter()
                .map(|c| sessions.loads.counter(c.id))
                .collect(),
            policy,
            sessions,
        }
    }

    /// The key engine of `pool` over `candidates` (its targets in pool order, weight 0 for
    /// draining ones), or `None` when the pool has no header or source-IP stickiness. Under
    /// source-IP sessions the unweighted algorithms place as if every target in service weighed
    /// the same (header sessions keep the weighted table they always had).
    pub fn for_pool(
        pool: &Pool,
        candidates: &[crate::balance::Candidate],
        previous: Option<&KeyedEngine>,
    ) -> Option<Self> {
        let policy = KeyedPolicy::of(pool)?;
        let unweighted = policy.source == KeySource::ClientAddress
            && matches!(
                pool.algorithm,
                Algorithm::RoundRobin | Algorithm::LeastConnections
            );
        if !unweighted {
            return Some(Self::new(policy, candidates, previous));
        }
        let equal: Vec<crate::balance::Candidate> = candidates
            .iter()
            .map(|c| crate::balance::Candidate {
                weight: c.weight.min(1),
                ..*c
            })
            .collect();
        Some(Self::new(policy, &equal, previous))
    }

    /// Where a new session of `key` goes: the first owner from its slot on that `usable`
    /// accepts ([`ConsistentHash::walk`]) and, when the policy balances a load, that is under
    /// its bound ([`load::under_bound`]). When none is (or the table is full and cannot count
    /// the session), the hash alone decides.
    pub fn place(
        &self,
        key: u64,
        usable: &dyn Fn(usize) -> bool,
        pool: &dyn PoolView,
    ) -> Option<usize> {
        let table = self.placement.as_ref()?;
        let load = |i: usize| match self.policy.balance {
            Balance::Sessions => self.loads.get(i).map_or(0, |c| c.load(Ordering::Relaxed)),
            Balance::Connections => pool.connections_at(i),
            Balance::Hash => 0,
        };
        if self.policy.balance != Balance::Hash && !self.sessions.is_full(key) {
            let (mut weight_sum, mut load_sum) = (0u64, 0u64);
            for (i, &weight) in self.weights.iter().enumerate() {
                if weight > 0 && usable(i) {
                    weight_sum += u64::from(weight);
                    load_sum += load(i);
                }
            }
            let bounded = table.walk(key, MAX_WALK, &|i| {
                usable(i) && load::under_bound(load(i), self.weights[i], load_sum, weight_sum)
            });
            if bounded.is_some() {
                return bounded;
            }
        }
        table.walk(key, MAX_WALK, usable)
    }

    /// Decides where a request with session key `key` goes.
    pub fn decide(&self, key: Option<u64>, pool: &dyn PoolView, now: u64) -> KeyedDecision {
        let Some(key) = key else {
            return KeyedDecision {
                route: Route::Choose,
                reason: Reason::New,
                key: None,
                home: None,
            };
        };
        let available = |i: usize| pool.standing_at(i) == Some(Standing::Available);
        let place = |reason, home| KeyedDecision {
            route: self
                .place(key, &available, pool)
                .map_or(Route::Choose, Route::Pinned),
            reason,
            key: Some(key),
            home,
        };
        let entry = match self.sessions.get(key, now) {
            Ok(Some(entry)) => entry,
            Ok(None) => return place(Reason::New, None),
            Err(()) => return place(Reason::Expired, None),
        };
        let pinned = |index, reason| KeyedDecision {
            route: Route::Pinned(index),
            reason,
            key: Some(key),
            home: Some(entry.home),
        };
        let Some((index, standing)) = pool.find(entry.target) else {
            return place(Reason::UnknownTarget, Some(entry.home));
        };
        if self.policy.fail_back
            && entry.home != entry.target
            && let Some((home, Standing::Available)) = pool.find(entry.home)
        {
            return pinned(home, Reason::FailBack);
        }
        match standing {
            Standing::Available => pinned(index, Reason::Hit),
            Standing::Down => match self.policy.on_target_down {
                OnTargetDown::Strict => KeyedDecision {
                    route: Route::Refuse,
                    reason: Reason::Strict503,
                    key: Some(key),
                    home: Some(entry.home),
                },
                OnTargetDown::Repin => place(Reason::TargetDown, Some(entry.home)),
            },
            Standing::Draining { deadline } => {
                if self.policy.drain_mode == DrainMode::Honour && deadline.is_none_or(|d| now < d) {
                    pinned(index, Reason::Hit)
                } else {
                    place(Reason::Draining, Some(entry.home))
                }
            }
        }
    }

    /// The pinned target refused the connection: refuse when strict, else re-place (the
    /// caller walks on with [`KeyedEngine::place`], skipping what it tried).
    pub fn target_down(&self, decision: KeyedDecision) -> KeyedDecision {
        let (route, reason) = match self.policy.on_target_down {
            OnTargetDown::Strict => (Route::Refuse, Reason::Strict503),
            OnTargetDown::Repin => (Route::Choose, Reason::TargetDown),
        };
        KeyedDecision {
            route,
            reason,
            ..decision
        }
    }

    /// The response came from `target`: remember (or renew) the session.
    pub fn served(&self, decision: &KeyedDecision, target: TargetId, now: u64) {
        let Some(key) = decision.key else { return };
        let home = match decision.reason {
            Reason::FailBack => target,
            _ => decision.home.unwrap_or(target),
        };
        self.sessions.record(key, target, home, now);
    }
}

#[cfg(test)]
mod tests;
