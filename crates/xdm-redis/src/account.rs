//! The name under which an account's shared state is kept.

use std::fmt;

/// Names one account of a fleet: its token, its rate-limit windows and its checkpoints are
/// kept under this name in Redis.
///
/// Any stable, non-secret name works (the X user id, or an id of the caller's own). It is
/// refused when it could not be one part of a Redis key: empty, longer than 128 bytes, or
/// holding whitespace, control characters, `{`, `}` or `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

/// Why a name is not an [`AccountId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an account name must be 1 to 128 bytes without whitespace, control characters, '{{', '}}' or ':' ({reason})"
)]
pub struct InvalidAccountId {
    reason: &'static str,
}

impl AccountId {
    /// The longest name accepted, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Checks `name` and wraps it.
    pub fn new(name: impl Into<String>) -> Result<AccountId, InvalidAccountId> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > Self::MAX_LEN {
            Some("it is too long")
        } else if name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '{' | '}' | ':'))
        {
            Some("it holds a character that is not allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidAccountId { reason }),
            None => Ok(AccountId(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of one piece of `account`'s state: `{prefix}:{account}:{what}`, the account in a
/// hash tag so that all of its keys share a cluster slot.
pub(crate) fn key(prefix: &str, account: &AccountId, what: &str) -> String {
    format!("{prefix}:{{{account}}}:{what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_a_key_part_are_refused() {
        for bad in ["", "a b", "a{b", "a}b", "a:b", "a\nb", &"x".repeat(129)] {
            assert!(AccountId::new(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["1234567890", "support-desk_1", "é", &"x".repeat(128)] {
            assert_eq!(AccountId::new(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn keys_carry_the_account_in_a_hash_tag() {
        let account = AccountId::new("42").unwrap();
        assert_eq!(key("xdm", &account, "token"), "xdm:{42}:token");
    }
}
