//! Sealed stickiness tokens and the key ring that seals them.
//!
//! Every cookie value burr issues is a token: a fixed-size plaintext sealed with an AEAD
//! (random nonce, 128-bit tag) under the ring's active key, written in URL-safe base64 without
//! padding. A client can neither read which target it is bound to nor forge or alter a token:
//! anything that does not open is "no cookie". The formats are in `token/wire.rs`: burr seals
//! version 2 (AES-256-GCM-SIV, 104 characters) and still opens version 1 (XChaCha20-Poly1305,
//! 136 characters), so an upgrade keeps every issued cookie. Target and pool are stable ids
//! (hashes of names), never addresses.
//!
//! The ring holds one active key and the retired ones still in their grace window: a token
//! sealed by a retired key opens until `retired_at + grace_secs` (exclusive), then reports
//! [`TokenError::KeyRetired`]. Time and randomness come in as arguments.

use burr_model::{PoolId, TargetId};

pub use wire::{NONCE_BYTES, SESSION_BITS, TOKEN_CHARS, V1_TOKEN_CHARS};

/// A token's text: URL-safe base64 of one of the formats' lengths, held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenText {
    len: u8,
    /// The text, then zeros.
    chars: [u8; V1_TOKEN_CHARS],
}

impl TokenText {
    /// `value` as a token's text, if it has the length of a token (whether it opens is
    /// another matter).
    pub fn new(value: &[u8]) -> Option<Self> {
        let mut chars = [0u8; V1_TOKEN_CHARS];
        // A copy of a fixed length per format: this runs for every cookie presented.
        match value.len() {
            TOKEN_CHARS => chars[..TOKEN_CHARS].copy_from_slice(value),
            V1_TOKEN_CHARS => chars.copy_from_slice(value),
            _ => return None,
        }
        Some(Self {
            len: value.len() as u8,
            chars,
        })
    }

    pub fn as_str(&self) -> &str {
        // Built from base64 output, or checked to be a token's length and then only ever
        // compared with such output.
        std::str::from_utf8(self.as_ref()).unwrap_or_default()
    }
}

impl AsRef<[u8]> for TokenText {
    fn as_ref(&self) -> &[u8] {
        &self.chars[..usize::from(self.len)]
    }
}

impl std::fmt::Display for TokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token says about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBody {
    pub pool: PoolId,
    /// The target the session is bound to.
    pub target: TargetId,
    /// The session's first target (for fail-back).
    pub home: TargetId,
    /// When the session was pinned to `target` (UTC seconds).
    pub issued_at: u64,
    /// The last response that renewed it (UTC seconds, ≥ `issued_at`).
    pub last_seen: u64,
    /// An absolute end (UTC seconds), 0 for none.
    pub expires_at: u64,
    pub policy_generation: u32,
    /// Deployment arm (0 = none).
    pub arm: u8,
    /// A random id chosen when the session begins and kept for its life, across renewals and
    /// re-pins: what the live-session estimate counts. New sessions draw [`SESSION_BITS`] bits.
    pub session: u64,
}

/// Why a cookie value is not a usable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a token: bad encoding, length or version")]
    Malformed,
    #[error("sealed by a key this ring does not hold")]
    UnknownKey,
    #[error("sealed by a key past its grace window")]
    KeyRetired,
    #[error("does not authenticate: altered or forged")]
    Tampered,
}

impl TokenError {
    /// Label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_key",
            Self::KeyRetired => "key_retired",
            Self::Tampered => "tampered",
        }
    }
}

/// One key of the ring.
#[derive(Clone)]
struct RingKey {
    id: u32,
    secret: [u8; 32],
    created_at: u64,
    retired_at: Option<u64>,
    ciphers: wire::Ciphers,
}

impl RingKey {
    fn new(id: u32, secret: [u8; 32], created_at: u64, retired_at: Option<u64>) -> Self {
        Self {
            id,
            ciphers: wire::Ciphers::new(&secret),
            secret,
            created_at,
            retired_at,
        }
    }
}

/// The keys that seal and open tokens: one active, the retired ones within their grace.
#[derive(Clone)]
pub struct KeyRing {
    /// Newest last; the last one is active.
    keys: Vec<RingKey>,
    grace_secs: u64,
    /// Distinguishes this set of keys from every other in the process (for the memo): new on
    /// every construction and rotation, shared by clones, which hold the same keys.
    instance: u64,
}

fn next_instance() -> u64 {
    static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("KeyRing")
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|k| (k.id, k.created_at, k.retired_at))
                    .collect::<Vec<_>>(),
            )
            .field("grace_secs", &self.grace_secs)
            .finish()
    }
}

/// Default grace for retired keys: 7 days, the longest cookie lifetime burr issues
/// (`AWSALBAPP`, and the ALB maximum duration).
pub const DEFAULT_GRACE_SECS: u64 = 7 * 24 * 3600;

impl KeyRing {
    /// A new ring with one key.
    pub fn generate(now: u64, secret: [u8; 32], grace_secs: u64) -> Self {
        Self {
            keys: vec![RingKey::new(1, secret, now, None)],
            grace_secs,
            instance: next_instance(),
        }
    }

    pub fn grace_secs(&self) -> u64 {
        self.grace_secs
    }

    /// Id of the key that seals.
    pub fn active_key_id(&self) -> u32 {
        self.keys.last().map_or(0, |k| k.id)
    }

    /// `(id, created_at, retired_at)` of every key, oldest first.
    pub fn describe(&self) -> Vec<(u32, u64, Option<u64>)> {
        self.keys
            .iter()
            .map(|k| (k.id, k.created_at, k.retired_at))
            .collect()
    }

    /// Makes a new key active; the previous active key retires now. Keys past their grace are
    /// dropped.
    pub fn rotate(&mut self, now: u64, new_secret: [u8; 32]) {
        if let Some(active) = self.keys.last_mut() {
            active.retired_at = Some(now);
        }
        let grace = self.grace_secs;
        self.keys
            .retain(|k| k.retired_at.is_none_or(|r| now < r.saturating_add(grace)));
        // A version-2 token names its key by the id's low 16 bits: no two held keys share them
        // (unless 65,536 keys are within their grace at once, when the newest one wins).
        let taken = |id: u32| self.keys.iter().any(|k| k.id as u16 == id as u16);
        let mut next_id = self.active_key_id().wrapping_add(1).max(1);
        for _ in 0..u16::MAX {
            if !taken(next_id) {
                break;
            }
            next_id = next_id.wrapping_add(1).max(1);
        }
        self.keys.push(RingKey::new(next_id, new_secret, now, None));
        self.instance = next_instance();
    }

    /// Seals `body` under the active key; `nonce` is fresh randomness.
    pub fn seal(&self, body: &TokenBody, nonce: [u8; NONCE_BYTES]) -> TokenText {
        let key = self.keys.last().expect("a key ring always holds a key");
        let value = wire::seal(&key.ciphers, key.id, body, &nonce);
        // The client will present it next.
        memo::remember(self.instance, value, key.id, *body);
        value
    }

    /// Opens a cookie value. Expiry, pool and target are the engine's to check.
    pub fn open(&self, value: impl AsRef<[u8]>, now: u64) -> Result<TokenBody, TokenError> {
        self.open_with_key(value, now).map(|(_, body)| body)
    }

    /// Opens a cookie value and says which key opened it: the active key
    /// ([`KeyRing::active_key_id`]) or an older one still in its grace window, which the
    /// token-open metrics tell apart to show when a rotation's old cookies stop arriving.
    pub fn open_with_key(
        &self,
        value: impl AsRef<[u8]>,
        now: u64,
    ) -> Result<(u32, TokenBody), TokenError> {
        let value = value.as_ref();
        // Looked up as presented: a returning client's token costs no copy.
        if let Some((key_id, body)) = memo::recall(self.instance, value) {
            self.check_key(key_id, now)?;
            return Ok((key_id, body));
        }
        let value = TokenText::new(value).ok_or(TokenError::Malformed)?;
        let (key_id, body) = self.open_sealed(&value, now)?;
        memo::remember(self.instance, value, key_id, body);
        Ok((key_id, body))
    }

    /// The key `key_id` may open tokens at `now`: held, and not past its grace.
    fn check_key(&self, key_id: u32, now: u64) -> Result<&RingKey, TokenError> {
        self.usable_key(|k| k.id == key_id, now)
    }

    /// The newest key that `names` picks, if it may open tokens at `now`.
    fn usable_key(
        &self,
        names: impl Fn(&RingKey) -> bool,
        now: u64,
    ) -> Result<&RingKey, TokenError> {
        let key = self
            .keys
            .iter()
            .rev()
            .find(|k| names(k))
            .ok_or(TokenError::UnknownKey)?;
        if key
            .retired_at
            .is_some_and(|r| now >= r.saturating_add(self.grace_secs))
        {
            return Err(TokenError::KeyRetired);
        }
        Ok(key)
    }

    /// Decodes, authenticates and decrypts a value of a token's length: the sealing key's id
    /// and the body. A version-2 token names its key by the low 16 bits of the id, which
    /// [`KeyRing::rotate`] keeps distinct among held keys.
    fn open_sealed(&self, value: &TokenText, now: u64) -> Result<(u32, TokenBody), TokenError> {
        let sealed = wire::Sealed::decode(value)?;
        let key = self.usable_key(|k| sealed.names_key(k.id), now)?;
        Ok((key.id, sealed.open(&key.ciphers)?))
    }

    /// The ring as bytes for the durable store (secrets included: store it with mode 0600).
    /// Format: `version 1 u8 ‖ grace u64 ‖ count u32 ‖ (id u32 ‖ created u64 ‖ retired u64
    /// (u64::MAX = none) ‖ secret 32)*`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.grace_secs.to_le_bytes());
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for k in &self.keys {
            out.extend_from_slice(&k.id.to_le_bytes());
            out.extend_from_slice(&k.created_at.to_le_bytes());
            out.extend_from_slice(&k.retired_at.unwrap_or(u64::MAX).to_le_bytes());
            out.extend_from_slice(&k.secret);
        }
        out
    }

    /// Reads [`KeyRing::to_bytes`]'s output; `None` if it is not a valid ring.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        const KEY_LEN: usize = 4 + 8 + 8 + 32;
        let (&version, rest) = bytes.split_first()?;
        if version != 1 || rest.len() < 12 {
            return None;
        }
        let grace_secs = u64::from_le_bytes(rest[..8].try_into().ok()?);
        let count = u32::from_le_bytes(rest[8..12].try_into().ok()?) as usize;
        let body = &rest[12..];
        if count == 0 || body.len() != count.checked_mul(KEY_LEN)? {
            return None;
        }
        let keys = body
            .chunks_exact(KEY_LEN)
            .map(|c| {
                let retired = u64::from_le_bytes(c[12..20].try_into().ok()?);
                Some(RingKey::new(
                    u32::from_le_bytes(c[..4].try_into().ok()?),
                    c[20..].try_into().ok()?,
                    u64::from_le_bytes(c[4..12].try_into().ok()?),
                    (retired != u64::MAX).then_some(retired),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        if keys.last()?.retired_at.is_some() {
            return None;
        }
        Some(Self {
            keys,
            grace_secs,
            instance: next_instance(),
        })
    }
}

mod memo;
#[cfg(test)]
mod tests;
mod wire;
