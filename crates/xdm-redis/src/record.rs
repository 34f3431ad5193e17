//! The token record's layout in Redis: JSON, the same fields the token file keeps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use xdm_auth::oauth2::UserToken;
use xdm_core::Scope;

const FORMAT_VERSION: u32 = 1;

/// Tokens are written here, deliberately, and nowhere else (not in logs, not in errors).
#[derive(Serialize, Deserialize)]
struct StoredToken {
    version: u32,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    issued_at_ms: u64,
}

pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub(crate) fn encode(token: &UserToken) -> String {
    let stored = StoredToken {
        version: FORMAT_VERSION,
        access_token: token.access_token().expose_secret().to_owned(),
        refresh_token: token.refresh_token().map(|r| r.expose_secret().to_owned()),
        expires_at_ms: token.expires_at().map(to_ms),
        scopes: token
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
        issued_at_ms: to_ms(token.issued_at()),
    };
    serde_json::to_string(&stored).expect("a token serializes to JSON")
}

/// The token in `json`, or `None` when it is not a record of this version.
pub(crate) fn decode(json: &[u8]) -> Option<UserToken> {
    let stored: StoredToken = serde_json::from_slice(json).ok()?;
    if stored.version != FORMAT_VERSION {
        return None;
    }
    let mut token = UserToken::new(stored.access_token, from_ms(stored.issued_at_ms));
    if let Some(r) = stored.refresh_token {
        token = token.with_refresh_token(r);
    }
    if let Some(ms) = stored.expires_at_ms {
        token = token.with_expires_at(from_ms(ms));
    }
    if let Some(scopes) = stored.scopes {
        token = token.with_scopes(scopes.iter().map(|s| Scope::parse(s)));
    }
    Some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_the_round_trip() {
        let issued = from_ms(1_700_000_000_123);
        let token = UserToken::new("access", issued)
            .with_refresh_token("refresh")
            .with_expires_at(from_ms(1_700_007_200_000))
            .with_scopes([Scope::DmRead, Scope::OfflineAccess]);
        assert_eq!(decode(encode(&token).as_bytes()), Some(token));
        let bare = UserToken::new("access", issued);
        assert_eq!(decode(encode(&bare).as_bytes()), Some(bare));
    }

    #[test]
    fn other_versions_and_garbage_are_not_read() {
        assert_eq!(decode(b"not json"), None);
        assert_eq!(
            decode(br#"{"version":2,"access_token":"a","issued_at_ms":1}"#),
            None
        );
    }
}
