//! Encryption at rest of the secrets the state holds (certificate private keys, the local
//! certificate authority's key): XChaCha20-Poly1305 under a 256-bit key kept in the store's
//! key/value area, made with the first secret written (in the same transaction). Each sealed
//! value is a random 24-byte nonce followed by the ciphertext and tag; the row it belongs to is
//! the associated data, so a sealed key moved to another row does not open.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use std::fmt;

/// Key of the sealing key in the key/value area.
pub const SEALING_KEY: &str = "certificate_sealing_key";

const NONCE_LEN: usize = 24;

/// The key that seals secrets. Its `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

impl SealingKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// The stored form, or `None` when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plaintext` for the row named `aad`.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher()
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`SealingKey::seal`] made for the row `aad`; `None` when it was made with
    /// another key, for another row, or was altered.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let key = SealingKey::generate();
        let sealed = key.seal("arn:a", b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(key.open("arn:a", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(key.open("arn:b", &sealed), None);
        assert_eq!(SealingKey::generate().open("arn:a", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("arn:a", &altered), None);
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
    }
}
