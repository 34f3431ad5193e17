//! Token records encrypted at rest: ChaCha20-Poly1305 with a random nonce per write, the
//! account bound in as associated data.
//!
//! A sealed record is one line of text, `xdm-sealed-v1.{key id}.{nonce and ciphertext}`: the
//! key id (16 hex digits, a hash of the key, not the key) says which key sealed it, so that a
//! store holding old keys for reading knows which to use and a store without it says so. The
//! nonce and ciphertext are base64 (URL alphabet, no padding). The associated data is the
//! account's name, so a record copied under another account does not open; the key prefix is
//! left out, so a fleet can move to another prefix with its records.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

const MARK: &str = "xdm-sealed-v1.";
const NONCE_LEN: usize = 12;

/// A 32-byte key that encrypts token records at rest (see
/// [`RedisTokenStore::with_encryption`](crate::RedisTokenStore::with_encryption)).
///
/// Its `Debug` output shows the key's [`id`](Self::id), never the key, and its bytes are
/// wiped from memory when it is dropped. Generate one with a
/// secure random source (`openssl rand -base64 32`, or 32 bytes of the OS's randomness) and
/// keep it out of Redis.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey {
    bytes: [u8; 32],
    id: String,
}

impl Drop for TokenKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why some bytes or text are not a [`TokenKey`]. The message never quotes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a token key: {reason}")]
pub struct InvalidTokenKey {
    reason: &'static str,
}

impl TokenKey {
    /// The key made of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> TokenKey {
        let digest = Sha256::new()
            .chain_update(b"xdm-redis token key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        TokenKey { bytes, id }
    }

    /// The key made of `bytes`, which must be 32 long.
    pub fn from_slice(bytes: &[u8]) -> Result<TokenKey, InvalidTokenKey> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| InvalidTokenKey {
            reason: "it must be exactly 32 bytes",
        })?;
        Ok(TokenKey::from_bytes(bytes))
    }

    /// The key written in base64 (standard or URL alphabet, padded or not), as
    /// `openssl rand -base64 32` prints it; surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<TokenKey, InvalidTokenKey> {
        let text = text.trim().trim_end_matches('=');
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| InvalidTokenKey {
                reason: "it is not base64",
            })?;
        TokenKey::from_slice(&decoded)
    }

    /// A short, public name of the key (16 hex digits of a hash of it), written into each
    /// record it seals. It says which key is which without revealing either.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.bytes))
    }
}

/// The keys of an encrypting store: the one it writes with, and older ones it still reads.
#[derive(Debug, Clone)]
pub(crate) struct Keyring {
    pub(crate) current: TokenKey,
    pub(crate) old: Vec<TokenKey>,
}

/// Why a record did not open. None of them quotes the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealProblem {
    /// The record is encrypted with a key the store does not hold (neither its key nor one
    /// of its old keys).
    #[error("is encrypted with a key this store does not hold")]
    UnknownKey,
    /// The record fails its integrity check: it was altered, or copied from another account.
    #[error("fails its integrity check (altered, or copied from another account)")]
    Tampered,
    /// The record is not encrypted, and the store reads encrypted records only.
    #[error("is not encrypted, and this store reads encrypted records only")]
    NotEncrypted,
    /// The record is encrypted, and the store has no key.
    #[error("is encrypted, and this store has no key to read it")]
    NoKey,
    /// The operating system gave no randomness for a nonce.
    #[error("could not be encrypted: no randomness for a nonce")]
    NoRandomness,
}

/// What opening a stored record gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The record's plain content.
    Plain(Vec<u8>),
    /// The record is not one this version reads at all.
    Unreadable,
    /// The record did not open.
    Refused(SealProblem),
}

fn associated_data(account: &str) -> Vec<u8> {
    [b"xdm-redis token\0".as_slice(), account.as_bytes()].concat()
}

/// Encrypts `plain` for `account` under the ring's current key.
pub(crate) fn seal(ring: &Keyring, account: &str, plain: &[u8]) -> Result<String, SealProblem> {
    seal_with(ring, account, plain, |nonce| getrandom::fill(nonce).is_ok())
}

/// [`seal`], drawing the nonce with `fill` (which says whether it could).
fn seal_with(
    ring: &Keyring,
    account: &str,
    plain: &[u8],
    fill: impl FnOnce(&mut [u8]) -> bool,
) -> Result<String, SealProblem> {
    let mut nonce = [0u8; NONCE_LEN];
    if !fill(&mut nonce) {
        return Err(SealProblem::NoRandomness);
    }
    let aad = associated_data(account);
    let sealed = ring
        .current
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .map_err(|_| SealProblem::Tampered)?;
    let body = [nonce.as_slice(), &sealed].concat();
    Ok(format!(
        "{MARK}{}.{}",
        ring.current.id,
        URL_SAFE_NO_PAD.encode(body)
    ))
}

/// Opens `stored` for `account`: with a ring, only a sealed record; without, only a plain one.
pub(crate) fn open(ring: Option<&Keyring>, account: &str, stored: &[u8]) -> Opened {
    let sealed = stored.strip_prefix(MARK.as_bytes());
    let (ring, sealed) = match (ring, sealed) {
        (None, None) => return Opened::Plain(stored.to_vec()),
        (None, Some(_)) => return Opened::Refused(SealProblem::NoKey),
        (Some(_), None) if stored.starts_with(b"{") => {
            return Opened::Refused(SealProblem::NotEncrypted);
        }
        (Some(_), None) => return Opened::Unreadable,
        (Some(ring), Some(sealed)) => (ring, sealed),
    };
    let Some((id, body)) = std::str::from_utf8(sealed)
        .ok()
        .and_then(|s| s.split_once('.'))
    else {
        return Opened::Unreadable;
    };
    let Some(key) = std::iter::once(&ring.current)
        .chain(&ring.old)
        .find(|k| k.id == id)
    else {
        return Opened::Refused(SealProblem::UnknownKey);
    };
    let Ok(body) = URL_SAFE_NO_PAD.decode(body) else {
        return Opened::Refused(SealProblem::Tampered);
    };
    if body.len() < NONCE_LEN {
        return Opened::Refused(SealProblem::Tampered);
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    let aad = associated_data(account);
    match key.cipher().decrypt(
        Nonce::from_slice(nonce),
        Payload {
            msg: ciphertext,
            aad: &aad,
        },
    ) {
        Ok(plain) => Opened::Plain(plain),
        Err(_) => Opened::Refused(SealProblem::Tampered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(byte: u8) -> Keyring {
        Keyring {
            current: TokenKey::from_bytes([byte; 32]),
            old: Vec::new(),
        }
    }

    #[test]
    fn a_sealed_record_opens_with_its_key_and_account_only() {
        let plain = br#"{"version":1,"access_token":"SECRET"}"#;
        let sealed = seal(&ring(1), "acct", plain).unwrap();
        assert!(!sealed.contains("SECRET"));
        assert_eq!(
            open(Some(&ring(1)), "acct", sealed.as_bytes()),
            Opened::Plain(plain.to_vec())
        );
        assert_eq!(
            open(Some(&ring(1)), "other", sealed.as_bytes()),
            Opened::Refused(SealProblem::Tampered)
        );
        assert_eq!(
            open(Some(&ring(2)), "acct", sealed.as_bytes()),
            Opened::Refused(SealProblem::UnknownKey)
        );
        assert_eq!(
            open(None, "acct", sealed.as_bytes()),
            Opened::Refused(SealProblem::NoKey)
        );
        assert_eq!(
            open(Some(&ring(1)), "acct", plain),
            Opened::Refused(SealProblem::NotEncrypted)
        );
        assert_eq!(open(Some(&ring(1)), "acct", b"garbage"), Opened::Unreadable);
        // Two writes of the same token differ: the nonce is fresh each time.
        assert_ne!(sealed, seal(&ring(1), "acct", plain).unwrap());
    }

    #[test]
    fn no_randomness_no_record() {
        assert_eq!(
            seal_with(&ring(1), "acct", b"{}", |_| false),
            Err(SealProblem::NoRandomness)
        );
    }

    #[test]
    fn an_old_key_still_reads_what_it_sealed() {
        let plain = b"{}";
        let sealed = seal(&ring(1), "acct", plain).unwrap();
        let rotated = Keyring {
            current: TokenKey::from_bytes([2; 32]),
            old: vec![TokenKey::from_bytes([1; 32])],
        };
        assert_eq!(
            open(Some(&rotated), "acct", sealed.as_bytes()),
            Opened::Plain(plain.to_vec())
        );
        let resealed = seal(&rotated, "acct", plain).unwrap();
        assert!(resealed.contains(rotated.current.id()));
        assert_eq!(
            open(Some(&ring(1)), "acct", resealed.as_bytes()),
            Opened::Refused(SealProblem::UnknownKey)
        );
    }

    #[test]
    fn keys_are_read_from_base64_and_never_shown() {
        let key = TokenKey::from_base64(" AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n").unwrap();
        assert_eq!(key, TokenKey::from_bytes([1; 32]));
        assert_eq!(
            key,
            TokenKey::from_base64(&URL_SAFE_NO_PAD.encode([1u8; 32])).unwrap()
        );
        assert_eq!(key.id().len(), 16);
        let shown = format!("{key:?}");
        assert!(
            shown.contains(key.id()) && !shown.contains("AQEB"),
            "{shown}"
        );
        assert!(!shown.contains("[1, 1"), "{shown}");
        assert!(TokenKey::from_base64("not base64!").is_err());
        assert!(TokenKey::from_base64("AQEB").is_err(), "too short");
        assert!(TokenKey::from_slice(&[0; 31]).is_err());
        assert!(TokenKey::from_slice(&[0; 33]).is_err());
    }

    proptest! {
        /// Whatever is changed in a sealed record (a byte replaced, cut off or added), it
        /// never opens.
        #[test]
        fn any_change_to_a_sealed_record_is_detected(
            plain in proptest::collection::vec(any::<u8>(), 0..200),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            change in 0..3u8,
        ) {
            let ring = ring(7);
            let sealed = seal(&ring, "acct", &plain).unwrap().into_bytes();
            let i = at.index(sealed.len());
            let mut altered = sealed.clone();
            match change {
                0 => altered[i] = byte,
                1 => altered.truncate(i),
                _ => altered.insert(i, byte),
            }
            prop_assume!(altered != sealed);
            let opened = open(Some(&ring), "acct", &altered);
            prop_assert!(!matches!(opened, Opened::Plain(_)), "{opened:?}");
        }
    }
}
