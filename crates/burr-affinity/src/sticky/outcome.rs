//! What became of one sticky-cookie token the engine tried to open: the outcome the
//! `burr_token_opens_total` metric counts. Finer than the request's [`super::Reason`]: a reason
//! says where one request went (one per request, whatever it sent), an outcome says why one
//! presented token did or did not hold (one per token opened), so a key rotation's grace opens,
//! forgeries and stale policies can be told apart.

use crate::token::TokenError;

/// Why a presented token held or not, in the order the engine checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenOutcome {
    /// Opened by the active key and holds (right pool, policy generation and lifetime).
    Ok,
    /// Holds, but was sealed by a key rotated out and still in its grace window.
    OkPreviousKey,
    /// Opened, but its lifetime is over.
    Expired,
    /// Opened, but issued under another version of the pool's stickiness settings.
    PolicyChanged,
    /// Opened, but sealed for another pool.
    OtherPool,
    /// Sealed by a key past its grace window.
    KeyRetired,
    /// Sealed by a key the ring does not hold (another installation's, or long gone).
    UnknownKey,
    /// Does not authenticate: altered or forged.
    Tampered,
    /// Not a token: wrong length, encoding or version.
    Malformed,
}

impl TokenOutcome {
    pub const ALL: [TokenOutcome; 9] = [
        Self::Ok,
        Self::OkPreviousKey,
        Self::Expired,
        Self::PolicyChanged,
        Self::OtherPool,
        Self::KeyRetired,
        Self::UnknownKey,
        Self::Tampered,
        Self::Malformed,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::OkPreviousKey => "ok_previous_key",
            Self::Expired => "expired",
            Self::PolicyChanged => "policy_changed",
            Self::OtherPool => "other_pool",
            Self::KeyRetired => "key_retired",
            Self::UnknownKey => "unknown_key",
            Self::Tampered => "tampered",
            Self::Malformed => "malformed",
        }
    }

    /// Position in [`TokenOutcome::ALL`]: the index of the counter it adds to.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The outcome of a token the key ring refused.
    pub fn of_error(error: TokenError) -> Self {
        match error {
            TokenError::Malformed => Self::Malformed,
            TokenError::UnknownKey => Self::UnknownKey,
            TokenError::KeyRetired => Self::KeyRetired,
            TokenError::Tampered => Self::Tampered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_the_position_in_all_and_labels_are_distinct() {
        for (i, outcome) in TokenOutcome::ALL.iter().enumerate() {
            assert_eq!(outcome.index(), i);
        }
        let mut labels: Vec<_> = TokenOutcome::ALL.iter().map(|o| o.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), TokenOutcome::ALL.len());
    }
}
