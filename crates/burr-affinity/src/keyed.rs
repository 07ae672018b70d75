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
use burr_model::{DrainMode, OnTargetDown, Pool, StickinessKind, TargetId};
use std::collections::HashMap;
use std::sync::Mutex;
use xxhash_rust::xxh3::xxh3_64_with_seed;

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
        Some(Self {
            source,
            idle_secs: u64::from(s.duration_secs(pool.origin)),
            on_target_down: s.on_target_down,
            fail_back: s.fail_back,
            drain_mode: pool.draining.mode,
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

/// Live sessions of one pool: key hash → target. Survives configuration changes that keep the
/// pool's key source.
#[derive(Debug)]
pub struct SessionTable {
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
    idle_secs: u64,
}

impl SessionTable {
    pub fn new(idle_secs: u64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            idle_secs,
        }
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        // The low bits pick the slot in the consistent table; the high ones pick the shard.
        let shard = &self.shards[(key >> 58) as usize % SHARDS];
        // A poisoned shard only means a panic elsewhere mid-insert; the map is still sound.
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lives(&self, entry: &Entry, now: u64) -> bool {
        now < entry.last_seen.saturating_add(self.idle_secs)
    }

    /// The live session of `key`; `Err(())` if it had one that lapsed.
    fn get(&self, key: u64, now: u64) -> Result<Option<Entry>, ()> {
        match self.shard(key).get(&key) {
            None => Ok(None),
            Some(e) if self.lives(e, now) => Ok(Some(*e)),
            Some(_) => Err(()),
        }
    }

    /// Records that `key` was served by `target` at `now`.
    pub fn record(&self, key: u64, target: TargetId, home: TargetId, now: u64) {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.get_mut(&key) {
            *entry = Entry {
                target,
                home,
                last_seen: now,
            };
            return;
        }
        let per_shard = SESSION_TABLE_CAPACITY / SHARDS;
        if shard.len() >= per_shard {
            shard.retain(|_, e| self.lives(e, now));
            if shard.len() >= per_shard {
                return;
            }
        }
        shard.insert(
            key,
            Entry {
                target,
                home,
                last_seen: now,
            },
        );
    }

    /// Traffic of `key` reached `target` at `now` (a datagram of a UDP flow, a TCP connection
    /// closing): the session lives on from now. A session that lapsed or went elsewhere in the
    /// meantime is bound to `target` again, with `target` as its first target.
    pub fn touch(&self, key: u64, target: TargetId, now: u64) {
        let home = match self.shard(key).get_mut(&key) {
            Some(entry) if entry.target == target => {
                entry.last_seen = entry.last_seen.max(now);
                return;
            }
            Some(entry) if self.lives(entry, now) => entry.home,
            _ => target,
        };
        self.record(key, target, home, now);
    }

    /// Live sessions per target at `now` (for the session gauge); drops lapsed entries.
    pub fn live_sessions(&self, now: u64) -> HashMap<TargetId, u64> {
        let mut counts = HashMap::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.retain(|_, e| self.lives(e, now));
            for entry in shard.values() {
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
}

impl KeyedEngine {
    /// `candidates` are the pool's targets in pool order (weight 0 for draining ones). The
    /// sessions of `previous` (the pool's engine in the last snapshot) carry over when its key
    /// source and timeout are unchanged; otherwise its keys mean something else and are dropped.
    pub fn new(
        policy: KeyedPolicy,
        candidates: &[crate::balance::Candidate],
        previous: Option<&KeyedEngine>,
    ) -> Self {
        let sessions = previous
            .filter(|p| p.policy.source == policy.source && p.policy.idle_secs == policy.idle_secs)
            .map(|p| p.sessions.clone())
            .unwrap_or_else(|| std::sync::Arc::new(SessionTable::new(policy.idle_secs)));
        Self {
            placement: ConsistentHash::build_or_reuse(
                candidates,
                previous.and_then(|p| p.placement.as_ref()),
            ),
            policy,
            sessions,
        }
    }

    /// Where the key hashes to: the first owner from its slot on that `usable` accepts
    /// ([`ConsistentHash::walk`]).
    pub fn place(&self, key: u64, usable: &dyn Fn(usize) -> bool) -> Option<usize> {
        // Bounded: a pool with every target unusable must not scan 65537 slots per request.
        self.placement.as_ref()?.walk(key, 4096, usable)
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
                .place(key, &available)
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
