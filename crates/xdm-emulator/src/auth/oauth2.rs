//! OAuth 2.0 pieces that are pure functions: PKCE and Basic client credentials.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `verifier` answers `challenge` under `method` (`S256` or `plain`).
pub(crate) fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    let expected = match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        "plain" => verifier.to_owned(),
        _ => return false,
    };
    expected.len() == challenge.len() && bool::from(expected.as_bytes().ct_eq(challenge.as_bytes()))
}

/// `Authorization: Basic base64(id:secret)` split into its parts.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let raw = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((
        crate::auth::oauth1::dec_form(id),
        crate::auth::oauth1::dec_form(secret),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches("S256", challenge, verifier));
        assert!(!pkce_matches("S256", challenge, "wrong"));
        assert!(pkce_matches("plain", "abc", "abc"));
        assert!(!pkce_matches("S512", challenge, verifier));
    }

    #[test]
    fn basic_credentials() {
        let h = format!("Basic {}", STANDARD.encode("id:sec:ret"));
        assert_eq!(parse_basic(&h), Some(("id".into(), "sec:ret".into())));
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}
