//! The CloudFront operations as changes to a [`State`](crate::State): continuous-deployment
//! policies ([`policy`](self::policy)), distributions ([`distribution`](self::distribution)),
//! copying and promoting staging distributions ([`staging`](self::staging)) and tags. Each
//! operation checks everything before it changes anything, so a refused call leaves the state
//! as it was. This module holds what they share: `If-Match` checks and fresh ids and ETags.

mod distribution;
mod policy;
mod staging;
mod tags;

pub use distribution::*;
pub use policy::*;
pub use staging::*;
pub use tags::*;

use super::{CfError, CfErrorCode, Context};

/// A stream of pseudo-random numbers seeded from the front door's fresh randomness
/// (splitmix64): one operation may need several ids and ETags, and each must differ.
pub(crate) struct Fresh(u64);

impl Fresh {
    pub(crate) fn new(ctx: &Context<'_>, salt: &str) -> Self {
        // The salt (an old ETag, an id) makes two ETags drawn from one `fresh` differ.
        let mut seed = ctx.fresh ^ ctx.now_ms.rotate_left(32);
        for byte in salt.bytes() {
            seed = (seed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `E` and 13 upper-case letters and digits: the form of distribution ids and ETags.
    pub(crate) fn e_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut id = String::from("E");
        for _ in 0..13 {
            id.push(char::from(ALPHABET[(self.next() % 36) as usize]));
        }
        id
    }

    /// An ETag other than `old`.
    pub(crate) fn etag_other_than(&mut self, old: &str) -> String {
        loop {
            let etag = self.e_id();
            if etag != old {
                return etag;
            }
        }
    }

    /// A version-4 UUID in lower-case hex.
    pub(crate) fn uuid(&mut self) -> String {
        let hi = (self.next() & !0xf000) | 0x4000; // version 4
        let lo = (self.next() & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }
}

/// Whether `id` has the form of a distribution id: `E` and upper-case letters and digits. burr
/// makes 13 of them; AWS's own ids and examples have 12 to 14 (`EDFDVBD6EXAMPLE`), which files
/// may use.
pub fn is_e_id(id: &str) -> bool {
    (13..=15).contains(&id.len())
        && id.starts_with('E')
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The `If-Match` rules of every changing CloudFront call: absent or empty →
/// `InvalidIfMatchVersion` 400; not the object's current ETag → `PreconditionFailed` 412.
pub(crate) fn check_if_match(
    if_match: Option<&str>,
    etag: &str,
    what: &str,
) -> Result<(), CfError> {
    let given = if_match.map(unquote).unwrap_or("");
    if given.is_empty() {
        return Err(CfError::new(
            CfErrorCode::InvalidIfMatchVersion,
            format!(
                "The If-Match version is missing or not valid: send the ETag of the {what} \
                 (from the last Get or change) in the If-Match header"
            ),
        ));
    }
    if given != etag {
        return Err(precondition_failed(given, what));
    }
    Ok(())
}

pub(crate) fn precondition_failed(given: &str, what: &str) -> CfError {
    CfError::new(
        CfErrorCode::PreconditionFailed,
        format!(
            "The If-Match version {given:?} is not the {what}'s current ETag: it changed since \
             you read it; get it again and retry with the new ETag"
        ),
    )
}

/// An ETag as sent, without surrounding whitespace or double quotes.
pub(crate) fn unquote(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// `InvalidArgument` for a member: its path, the value and what is allowed.
pub(crate) fn invalid(member: &str, value: impl std::fmt::Display, rule: &str) -> CfError {
    CfError::invalid(format!("{member}: {value} is not allowed: {rule}"))
}

/// An ETag derived from an object's content, for objects declared in a file (which carry none
/// of their own): the same while the content is, another when it changes.
pub fn derived_etag(content: &str) -> String {
    Fresh(xxhash_rust::xxh3::xxh3_64(content.as_bytes())).e_id()
}
