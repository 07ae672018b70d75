//! The two wire formats of a token: the bytes of a sealed token and the AEAD that seals them.
//! Version 2 is what burr seals; version 1 still opens, so the cookies issued before an upgrade
//! keep their sessions, and is sealed only for a body version 2 cannot hold (a time past 2106,
//! or a session id wider than 48 bits; the engine draws 48).
//!
//! **Version 2** — 78 bytes, 104 characters: `version 2 u8 ‖ key id u16 ‖ nonce (12) ‖
//! ciphertext (47) ‖ tag (16)`, sealed with AES-256-GCM-SIV (RFC 8452) under a key derived from
//! the ring's secret; the 3-byte header is the associated data. The key id is the low 16 bits of
//! the ring key's id. Plaintext, little-endian: `pool u64 ‖ target u64 ‖ home u64 ‖ issued_at
//! u32 ‖ last_seen u32 delta ‖ expires_at u32 ‖ policy_generation u32 ‖ arm u8 ‖ session u48`.
//! GCM-SIV is what makes a 96-bit random nonce safe for as many tokens as a key will seal: were
//! two tokens ever to draw the same nonce, all it reveals is whether their plaintexts are
//! equal, where with ChaCha20-Poly1305 a repeated nonce would give away the authentication key
//! (hence XChaCha20's 192-bit nonce in version 1). That, and
//! times as 32-bit seconds, make version 2 32 characters shorter than version 1: bytes every
//! client sends with every request and ALB mode writes twice into every response.
//!
//! **Version 1** — 102 bytes, 136 characters: `key id u32 ‖ nonce (24) ‖ ciphertext (58) ‖
//! tag (16)`, sealed with XChaCha20-Poly1305 under the ring's secret, associated data
//! `1 ‖ key id`. Plaintext: `version 1 u8 ‖ pool u64 ‖ target u64 ‖ home u64 ‖ issued_at u64 ‖
//! last_seen u32 delta ‖ expires_at u64 ‖ policy_generation u32 ‖ arm u8 ‖ session u64`.
//!
//! Both formats store `last_seen` as a delta from `issued_at` that saturates at ~136 years.

use super::{TokenBody, TokenError, TokenText};
use aes_gcm_siv::Aes256GcmSiv;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use burr_model::{PoolId, TargetId};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::generic_array::typenum::Unsigned;
use chacha20poly1305::aead::{AeadInPlace, KeyInit, Nonce, Tag};
use hmac::{Hmac, Mac};

/// Random bytes a seal takes: enough for version 1's nonce; version 2 uses the first 12.
pub const NONCE_BYTES: usize = 24;
/// Session ids version 2 holds: the low 48 bits.
pub const SESSION_BITS: u32 = 48;

const TAG_LEN: usize = 16;

const V1: u8 = 1;
const V1_HEADER: usize = 4;
const V1_NONCE: usize = 24;
const V1_PLAINTEXT: usize = 1 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 8;
const V1_SEALED: usize = V1_HEADER + V1_NONCE + V1_PLAINTEXT + TAG_LEN;

const V2: u8 = 2;
const V2_HEADER: usize = 1 + 2;
const V2_NONCE: usize = 12;
const V2_PLAINTEXT: usize = 8 + 8 + 8 + 4 + 4 + 4 + 4 + 1 + 6;
const V2_SEALED: usize = V2_HEADER + V2_NONCE + V2_PLAINTEXT + TAG_LEN;

/// Characters of base64 (unpadded) for `bytes` bytes.
const fn chars(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4 - (3 - bytes % 3) % 3
}

/// Length of the tokens burr seals (version 2), in characters.
pub const TOKEN_CHARS: usize = chars(V2_SEALED);
/// Length of a version-1 token, in characters.
pub const V1_TOKEN_CHARS: usize = chars(V1_SEALED);

/// The message of the HMAC-SHA256, keyed by the ring's secret, that derives the version-2 key:
/// version 1 uses the secret itself, and no key serves two algorithms.
const V2_KEY_LABEL: &[u8] = b"burr sticky token v2 AES-256-GCM-SIV";

/// The two ciphers of one ring key.
#[derive(Clone)]
pub struct Ciphers {
    v1: XChaCha20Poly1305,
    v2: Aes256GcmSiv,
}

impl Ciphers {
    pub fn new(secret: &[u8; 32]) -> Self {
        let mut derive =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
        derive.update(V2_KEY_LABEL);
        Self {
            v1: XChaCha20Poly1305::new(secret.into()),
            v2: Aes256GcmSiv::new(&derive.finalize().into_bytes()),
        }
    }
}

/// Seals `body` under the ring key `key_id`: version 2 if its fields hold `body`'s times and
/// session id, else version 1. (`last_seen` saturates alike in both.)
pub fn seal(
    ciphers: &Ciphers,
    key_id: u32,
    body: &TokenBody,
    nonce: &[u8; NONCE_BYTES],
) -> TokenText {
    match encode_v2(body) {
        Some(plaintext) => {
            let mut sealed = [0u8; V2_SEALED];
            sealed[..V2_HEADER].copy_from_slice(&v2_header(key_id));
            sealed[V2_HEADER..V2_HEADER + V2_NONCE].copy_from_slice(&nonce[..V2_NONCE]);
            sealed[V2_HEADER + V2_NONCE..][..V2_PLAINTEXT].copy_from_slice(&plaintext);
            seal_in_place(&ciphers.v2, &mut sealed, V2_HEADER, &v2_header(key_id));
            encode(&sealed)
        }
        None => {
            let mut sealed = [0u8; V1_SEALED];
            sealed[..V1_HEADER].copy_from_slice(&key_id.to_le_bytes());
            sealed[V1_HEADER..V1_HEADER + V1_NONCE].copy_from_slice(nonce);
            sealed[V1_HEADER + V1_NONCE..][..V1_PLAINTEXT].copy_from_slice(&encode_v1(body));
            seal_in_place(&ciphers.v1, &mut sealed, V1_HEADER, &v1_aad(key_id));
            encode(&sealed)
        }
    }
}

/// Encrypts the plaintext that `sealed` (`header ‖ nonce ‖ plaintext ‖ room for the tag`, the
/// nonce starting at `nonce_at`) holds, and writes the tag.
fn seal_in_place<A: AeadInPlace>(cipher: &A, sealed: &mut [u8], nonce_at: usize, aad: &[u8]) {
    let (head, rest) = sealed.split_at_mut(nonce_at + A::NonceSize::USIZE);
    let (text, tag_out) = rest.split_at_mut(rest.len() - TAG_LEN);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::<A>::from_slice(&head[nonce_at..]), aad, text)
        .expect("a token's plaintext is within the AEAD's limits");
    tag_out.copy_from_slice(&tag);
}

/// Authenticates and decrypts `sealed`, laid out as [`seal_in_place`] leaves it: the plaintext.
fn open_in_place<'s, A: AeadInPlace>(
    cipher: &A,
    sealed: &'s mut [u8],
    nonce_at: usize,
    aad: &[u8],
) -> Result<&'s [u8], TokenError> {
    let (head, rest) = sealed.split_at_mut(nonce_at + A::NonceSize::USIZE);
    let (text, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    cipher
        .decrypt_in_place_detached(
            Nonce::<A>::from_slice(&head[nonce_at..]),
            aad,
            text,
            Tag::<A>::from_slice(tag),
        )
        .map_err(|_| TokenError::Tampered)?;
    Ok(text)
}

fn encode(sealed: &[u8]) -> TokenText {
    let mut text = [0u8; V1_TOKEN_CHARS];
    let written = URL_SAFE_NO_PAD
        .encode_slice(sealed, &mut text)
        .expect("room for the longest format");
    TokenText::new(&text[..written]).expect("a token's length")
}

/// Version 2's clear header, which is also its associated data.
fn v2_header(key_id: u32) -> [u8; V2_HEADER] {
    let [low, high] = (key_id as u16).to_le_bytes();
    [V2, low, high]
}

/// Version 1's associated data: the version and the key id in its header.
fn v1_aad(key_id: u32) -> [u8; 1 + V1_HEADER] {
    let mut aad = [V1, 0, 0, 0, 0];
    aad[1..].copy_from_slice(&key_id.to_le_bytes());
    aad
}

/// A token's decoded bytes, not yet authenticated.
pub struct Sealed {
    bytes: [u8; V1_SEALED],
    version: u8,
}

impl Sealed {
    /// Decodes a value of either format's length.
    pub fn decode(value: &TokenText) -> Result<Self, TokenError> {
        let mut bytes = [0u8; V1_SEALED];
        let written = URL_SAFE_NO_PAD
            .decode_slice(value, &mut bytes)
            .map_err(|_| TokenError::Malformed)?;
        let version = match written {
            V1_SEALED => V1,
            V2_SEALED if bytes[0] == V2 => V2,
            _ => return Err(TokenError::Malformed),
        };
        Ok(Self { bytes, version })
    }

    /// The ring key id the token names: all of it (version 1) or its low 16 bits (version 2).
    fn key_id(&self) -> u32 {
        match self.version {
            V1 => u32::from_le_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]]),
            _ => u32::from(u16::from_le_bytes([self.bytes[1], self.bytes[2]])),
        }
    }

    /// Whether the token names the ring key `id` (version 2 names its low 16 bits).
    pub fn names_key(&self, id: u32) -> bool {
        let named = if self.version == V1 {
            id
        } else {
            u32::from(id as u16)
        };
        self.key_id() == named
    }

    /// Authenticates and decrypts with the ciphers of the key it names.
    pub fn open(mut self, ciphers: &Ciphers) -> Result<TokenBody, TokenError> {
        let key_id = self.key_id();
        if self.version == V1 {
            let text = open_in_place(&ciphers.v1, &mut self.bytes, V1_HEADER, &v1_aad(key_id))?;
            decode_v1(text)
        } else {
            let aad = v2_header(key_id);
            let text = open_in_place(&ciphers.v2, &mut self.bytes[..V2_SEALED], V2_HEADER, &aad)?;
            Ok(decode_v2(text))
        }
    }
}

/// `last_seen` as the delta both formats store.
fn last_seen_delta(body: &TokenBody) -> u32 {
    u32::try_from(body.last_seen.saturating_sub(body.issued_at)).unwrap_or(u32::MAX)
}

fn encode_v2(body: &TokenBody) -> Option<[u8; V2_PLAINTEXT]> {
    let issued_at = u32::try_from(body.issued_at).ok()?;
    let expires_at = u32::try_from(body.expires_at).ok()?;
    if body.session >> SESSION_BITS != 0 {
        return None;
    }
    let mut out = [0u8; V2_PLAINTEXT];
    let mut w = Writer(&mut out, 0);
    w.put(&body.pool.0.to_le_bytes());
    w.put(&body.target.0.to_le_bytes());
    w.put(&body.home.0.to_le_bytes());
    w.put(&issued_at.to_le_bytes());
    w.put(&last_seen_delta(body).to_le_bytes());
    w.put(&expires_at.to_le_bytes());
    w.put(&body.policy_generation.to_le_bytes());
    w.put(&[body.arm]);
    w.put(&body.session.to_le_bytes()[..6]);
    Some(out)
}

fn decode_v2(bytes: &[u8]) -> TokenBody {
    let mut r = Reader(bytes);
    let pool = PoolId(r.u64());
    let target = TargetId(r.u64());
    let home = TargetId(r.u64());
    let issued_at = u64::from(r.u32());
    let last_seen = issued_at + u64::from(r.u32());
    let expires_at = u64::from(r.u32());
    let policy_generation = r.u32();
    let arm = r.take::<1>()[0];
    let mut session = [0u8; 8];
    session[..6].copy_from_slice(&r.take::<6>());
    TokenBody {
        pool,
        target,
        home,
        issued_at,
        last_seen,
        expires_at,
        policy_generation,
        arm,
        session: u64::from_le_bytes(session),
    }
}

fn encode_v1(body: &TokenBody) -> [u8; V1_PLAINTEXT] {
    let mut out = [0u8; V1_PLAINTEXT];
    let mut w = Writer(&mut out, 0);
    w.put(&[V1]);
    w.put(&body.pool.0.to_le_bytes());
    w.put(&body.target.0.to_le_bytes());
    w.put(&body.home.0.to_le_bytes());
    w.put(&body.issued_at.to_le_bytes());
    w.put(&last_seen_delta(body).to_le_bytes());
    w.put(&body.expires_at.to_le_bytes());
    w.put(&body.policy_generation.to_le_bytes());
    w.put(&[body.arm]);
    w.put(&body.session.to_le_bytes());
    out
}

fn decode_v1(bytes: &[u8]) -> Result<TokenBody, TokenError> {
    let mut r = Reader(bytes);
    if r.take::<1>()[0] != V1 {
        return Err(TokenError::Malformed);
    }
    let pool = PoolId(r.u64());
    let target = TargetId(r.u64());
    let home = TargetId(r.u64());
    let issued_at = r.u64();
    Ok(TokenBody {
        pool,
        target,
        home,
        issued_at,
        last_seen: issued_at.saturating_add(u64::from(r.u32())),
        expires_at: r.u64(),
        policy_generation: r.u32(),
        arm: r.take::<1>()[0],
        session: r.u64(),
    })
}

struct Writer<'a>(&'a mut [u8], usize);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0[self.1..self.1 + bytes.len()].copy_from_slice(bytes);
        self.1 += bytes.len();
    }
}

/// Reads a plaintext whose length its format fixes (a shorter one reads as zeros).
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}
