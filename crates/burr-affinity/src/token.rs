//! Sealed stickiness tokens and the key ring that seals them.
//!
//! Every cookie value burr issues is a token: a fixed-size plaintext sealed with
//! XChaCha20-Poly1305 (192-bit random nonce, 128-bit tag) under the ring's active key, written
//! in URL-safe base64 without padding. A client can neither read which target it is bound to nor
//! forge or alter a token: anything that does not open is "no cookie".
//!
//! Wire form (before base64): `key id (u32 LE) ‖ nonce (24) ‖ ciphertext (58) ‖ tag (16)` = 102
//! bytes, 136 characters. The key id and format version are bound as associated data.
//!
//! Plaintext, version 1, little-endian: `version u8 ‖ pool u64 ‖ target u64 ‖ home u64 ‖
//! issued_at u64 ‖ last_seen u32 delta ‖ expires_at u64 ‖ policy_generation u32 ‖ arm u8 ‖
//! session u64`.
//! Target and pool are stable ids (hashes of names), never addresses.
//!
//! The ring holds one active key and the retired ones still in their grace window: a token
//! sealed by a retired key opens until `retired_at + grace_secs` (exclusive), then reports
//! [`TokenError::KeyRetired`]. Time and randomness come in as arguments.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use burr_model::{PoolId, TargetId};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

/// Format version of the plaintext, first byte of every token.
pub const TOKEN_FORMAT_VERSION: u8 = 1;
const PLAINTEXT_LEN: usize = 1 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 8;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SEALED_LEN: usize = KEY_ID_LEN + NONCE_LEN + PLAINTEXT_LEN + TAG_LEN;
/// Length of a token in characters.
pub const TOKEN_CHARS: usize = SEALED_LEN.div_ceil(3) * 4 - (3 - SEALED_LEN % 3) % 3;

/// A token's text: exactly [`TOKEN_CHARS`] URL-safe base64 characters, held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenText([u8; TOKEN_CHARS]);

impl TokenText {
    /// `value` as a token's text, if it has a token's length (whether it opens is another
    /// matter).
    pub fn new(value: &[u8]) -> Option<Self> {
        value.try_into().ok().map(Self)
    }

    pub fn as_str(&self) -> &str {
        // Built from base64 output, or checked to be a token's length and then only ever
        // compared with such output.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl AsRef<[u8]> for TokenText {
    fn as_ref(&self) -> &[u8] {
        &self.0
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
    /// re-pins: what the live-session estimate counts.
    pub session: u64,
}

impl TokenBody {
    fn encode(&self) -> [u8; PLAINTEXT_LEN] {
        let mut out = [0u8; PLAINTEXT_LEN];
        let mut w = Writer(&mut out, 0);
        w.put(&[TOKEN_FORMAT_VERSION]);
        w.put(&self.pool.0.to_le_bytes());
        w.put(&self.target.0.to_le_bytes());
        w.put(&self.home.0.to_le_bytes());
        w.put(&self.issued_at.to_le_bytes());
        // last_seen as a delta from issued_at keeps the token short; saturates at ~136 years.
        let delta =
            u32::try_from(self.last_seen.saturating_sub(self.issued_at)).unwrap_or(u32::MAX);
        w.put(&delta.to_le_bytes());
        w.put(&self.expires_at.to_le_bytes());
        w.put(&self.policy_generation.to_le_bytes());
        w.put(&[self.arm]);
        w.put(&self.session.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; PLAINTEXT_LEN]) -> Result<Self, TokenError> {
        if bytes[0] != TOKEN_FORMAT_VERSION {
            return Err(TokenError::Malformed);
        }
        let u64_at =
            |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        let u32_at =
            |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let issued_at = u64_at(25);
        Ok(Self {
            pool: PoolId(u64_at(1)),
            target: TargetId(u64_at(9)),
            home: TargetId(u64_at(17)),
            issued_at,
            last_seen: issued_at.saturating_add(u64::from(u32_at(33))),
            expires_at: u64_at(37),
            policy_generation: u32_at(45),
            arm: bytes[49],
            session: u64_at(50),
        })
    }
}

struct Writer<'a>(&'a mut [u8], usize);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0[self.1..self.1 + bytes.len()].copy_from_slice(bytes);
        self.1 += bytes.len();
    }
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
    cipher: XChaCha20Poly1305,
}

impl RingKey {
    fn new(id: u32, secret: [u8; 32], created_at: u64, retired_at: Option<u64>) -> Self {
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&secret.into()),
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
        let next_id = self.active_key_id().wrapping_add(1).max(1);
        if let Some(active) = self.keys.last_mut() {
            active.retired_at = Some(now);
        }
        let grace = self.grace_secs;
        self.keys
            .retain(|k| k.retired_at.is_none_or(|r| now < r.saturating_add(grace)));
        self.keys.push(RingKey::new(next_id, new_secret, now, None));
        self.instance = next_instance();
    }

    /// Seals `body` under the active key.
    pub fn seal(&self, body: &TokenBody, nonce: [u8; NONCE_LEN]) -> TokenText {
        let key = self.keys.last().expect("a key ring always holds a key");
        let mut sealed = [0u8; SEALED_LEN];
        sealed[..KEY_ID_LEN].copy_from_slice(&key.id.to_le_bytes());
        sealed[KEY_ID_LEN..KEY_ID_LEN + NONCE_LEN].copy_from_slice(&nonce);
        let text_at = KEY_ID_LEN + NONCE_LEN;
        let (head, rest) = sealed.split_at_mut(text_at);
        let (text, tag_out) = rest.split_at_mut(PLAINTEXT_LEN);
        text.copy_from_slice(&body.encode());
        let tag = key
            .cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad(&head[..KEY_ID_LEN]), text)
            .expect("a 58-byte plaintext is within XChaCha20-Poly1305's limits");
        tag_out.copy_from_slice(&tag);
        let mut text = [0u8; TOKEN_CHARS];
        let written = URL_SAFE_NO_PAD
            .encode_slice(sealed, &mut text)
            .expect("TOKEN_CHARS is the encoded length of SEALED_LEN bytes");
        debug_assert_eq!(written, TOKEN_CHARS);
        let value = TokenText(text);
        // The client will present it next.
        memo::remember(self.instance, value, key.id, *body);
        value
    }

    /// Opens a cookie value. Expiry, pool and target are the engine's to check.
    pub fn open(&self, value: impl AsRef<[u8]>, now: u64) -> Result<TokenBody, TokenError> {
        let Some(value) = TokenText::new(value.as_ref()) else {
            return Err(TokenError::Malformed);
        };
        if let Some((key_id, body)) = memo::recall(self.instance, &value) {
            self.check_key(key_id, now)?;
            return Ok(body);
        }
        let (key_id, body) = self.open_sealed(&value, now)?;
        memo::remember(self.instance, value, key_id, body);
        Ok(body)
    }

    /// The key `key_id` may open tokens at `now`: held, and not past its grace.
    fn check_key(&self, key_id: u32, now: u64) -> Result<&RingKey, TokenError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or(TokenError::UnknownKey)?;
        if key
            .retired_at
            .is_some_and(|r| now >= r.saturating_add(self.grace_secs))
        {
            return Err(TokenError::KeyRetired);
        }
        Ok(key)
    }

    /// Decodes, authenticates and decrypts a value of the right length: the sealing key's id
    /// and the body.
    fn open_sealed(&self, value: &TokenText, now: u64) -> Result<(u32, TokenBody), TokenError> {
        let mut sealed = [0u8; SEALED_LEN];
        match URL_SAFE_NO_PAD.decode_slice(value, &mut sealed) {
            Ok(SEALED_LEN) => {}
            _ => return Err(TokenError::Malformed),
        }
        let key_id = u32::from_le_bytes(sealed[..KEY_ID_LEN].try_into().unwrap_or_default());
        let key = self.check_key(key_id, now)?;
        let (head, rest) = sealed.split_at_mut(KEY_ID_LEN + NONCE_LEN);
        let (text, tag) = rest.split_at_mut(PLAINTEXT_LEN);
        key.cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(&head[KEY_ID_LEN..]),
                &aad(&head[..KEY_ID_LEN]),
                text,
                Tag::from_slice(tag),
            )
            .map_err(|_| TokenError::Tampered)?;
        let text: &[u8; PLAINTEXT_LEN] = (&*text).try_into().map_err(|_| TokenError::Malformed)?;
        Ok((key_id, TokenBody::decode(text)?))
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

fn aad(key_id: &[u8]) -> [u8; 5] {
    let mut aad = [TOKEN_FORMAT_VERSION, 0, 0, 0, 0];
    aad[1..].copy_from_slice(key_id);
    aad
}

mod memo;
#[cfg(test)]
mod tests;
