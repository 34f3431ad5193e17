//! The token record's layout in Redis: the JSON every xdm store shares
//! ([`TokenRecord`]), the one the token file keeps too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xdm_auth::oauth2::{TokenRecord, UserToken};

pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub(crate) fn encode(token: &UserToken) -> String {
    serde_json::to_string(&TokenRecord::from_token(token)).expect("a token serializes to JSON")
}

/// The token in `json`, or `None` when it is not a record of this version.
pub(crate) fn decode(json: &[u8]) -> Option<UserToken> {
    let record: TokenRecord = serde_json::from_slice(json).ok()?;
    (record.version() == TokenRecord::VERSION).then(|| record.into_token())
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdm_core::Scope;

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
    fn a_record_written_before_the_shared_layout_still_reads() {
        // Written by this crate when it had a record type of its own.
        let old = br#"{"version":1,"access_token":"access","refresh_token":"refresh","expires_at_ms":1700007200000,"scopes":["dm.read","offline.access"],"issued_at_ms":1700000000123}"#;
        let expected = UserToken::new("access", from_ms(1_700_000_000_123))
            .with_refresh_token("refresh")
            .with_expires_at(from_ms(1_700_007_200_000))
            .with_scopes([Scope::DmRead, Scope::OfflineAccess]);
        assert_eq!(decode(old), Some(expected.clone()));
        assert_eq!(
            encode(&expected).as_bytes(),
            old,
            "and is written the same way"
        );
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
