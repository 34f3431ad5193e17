//! The one layout in which a user token is kept at rest, shared by every store (the token
//! file, Redis), so that each writes the same JSON and reads what the others wrote.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use xdm_core::Scope;

use super::UserToken;

/// A [`UserToken`] as stores keep it: a JSON object with a format `version`, the tokens in
/// clear, and times as milliseconds since the Unix epoch.
///
/// ```json
/// {"version":1,"access_token":"…","refresh_token":"…","expires_at_ms":1700007200000,
///  "scopes":["dm.read","offline.access"],"issued_at_ms":1700000000000}
/// ```
///
/// `refresh_token`, `expires_at_ms` and `scopes` are left out when unknown. A store that keeps
/// more beside the token embeds this record with `#[serde(flatten)]`. Reading checks nothing
/// but the shape: compare [`version`](Self::version) with [`TokenRecord::VERSION`] before
/// trusting the rest. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
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

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("version", &self.version)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    /// The format version this crate writes and reads.
    pub const VERSION: u32 = 1;

    /// The record of `token`, in the current format. Times are kept to the millisecond.
    pub fn from_token(token: &UserToken) -> TokenRecord {
        TokenRecord {
            version: Self::VERSION,
            access_token: token.access_token().expose_secret().to_owned(),
            refresh_token: token.refresh_token().map(|r| r.expose_secret().to_owned()),
            expires_at_ms: token.expires_at().map(to_ms),
            scopes: token
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
            issued_at_ms: to_ms(token.issued_at()),
        }
    }

    /// The format version the record was written in.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The token this record holds.
    pub fn into_token(self) -> UserToken {
        let mut token = UserToken::new(self.access_token, from_ms(self.issued_at_ms));
        if let Some(r) = self.refresh_token {
            token = token.with_refresh_token(r);
        }
        if let Some(ms) = self.expires_at_ms {
            token = token.with_expires_at(from_ms(ms));
        }
        if let Some(scopes) = self.scopes {
            token = token.with_scopes(scopes.iter().map(|s| Scope::parse(s)));
        }
        token
    }
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_the_round_trip_to_the_millisecond() {
        let issued = from_ms(1_700_000_000_123);
        let token = UserToken::new("access", issued)
            .with_refresh_token("refresh")
            .with_expires_at(from_ms(1_700_007_200_000))
            .with_scopes([Scope::DmRead, Scope::OfflineAccess]);
        let json = serde_json::to_string(&TokenRecord::from_token(&token)).unwrap();
        let back: TokenRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.version(), TokenRecord::VERSION);
        assert_eq!(back.into_token(), token);
        let bare = UserToken::new("access", issued);
        let json = serde_json::to_string(&TokenRecord::from_token(&bare)).unwrap();
        assert_eq!(
            json,
            r#"{"version":1,"access_token":"access","issued_at_ms":1700000000123}"#
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let token = UserToken::new("SECRET-A", from_ms(1)).with_refresh_token("SECRET-R");
        let shown = format!("{:?}", TokenRecord::from_token(&token));
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
