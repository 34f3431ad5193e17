//! PKCE (RFC 7636), `state`, the authorization URL and its callback.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use xdm_core::InvalidInput;

use crate::error::{CallbackError, OAuthErrorCode};
use crate::form;
use crate::random::{RandomError, random_token};
use crate::secret::AuthorizationCode;

/// A PKCE code verifier: 43 to 128 characters from `A-Z a-z 0-9 - . _ ~`.
///
/// Equality is constant-time, like the [`secret`](crate::secret) types', so that comparing a
/// verifier does not leak its prefix through timing.
#[derive(Clone)]
pub struct PkceVerifier(String);

impl PartialEq for PkceVerifier {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for PkceVerifier {}

impl PkceVerifier {
    /// A fresh verifier of 64 characters from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(random_token(48)?))
    }

    /// Accepts a verifier made elsewhere, checking its length and characters.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        const ALLOWED: &str = "43 to 128 characters from A-Z a-z 0-9 - . _ ~";
        if !(43..=128).contains(&value.len()) {
            return Err(InvalidInput::new(
                "code_verifier",
                format!("its length is {}", value.len()),
                ALLOWED,
            ));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(InvalidInput::new(
                "code_verifier",
                "it holds a character outside the unreserved set",
                ALLOWED,
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The S256 challenge: base64url, without padding, of the verifier's SHA-256.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The verifier itself, for the token request.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

impl fmt::Display for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A fresh random `state` for the authorization request.
pub fn generate_state() -> Result<String, RandomError> {
    random_token(32)
}

/// An authorization in progress: the URL to send the user to, and what the callback and the
/// code exchange need. Keep it until the callback arrives.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) verifier: PkceVerifier,
}

impl PendingAuthorization {
    /// The URL to open in the user's browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `state` sent; the callback must return it unchanged.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The PKCE verifier, for the code exchange.
    pub fn verifier(&self) -> &PkceVerifier {
        &self.verifier
    }

    /// Reads the redirect X sent the browser to (the whole URL, or just its query): returns
    /// the authorization code if `state` matches, or the error X reported.
    pub fn handle_callback(&self, redirect_url: &str) -> Result<AuthorizationCode, CallbackError> {
        let fields = form::parse_text_pairs(form::query_of(redirect_url).as_bytes());
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let state = get("state").ok_or(CallbackError::MissingParameter { name: "state" })?;
        if !bool::from(state.as_bytes().ct_eq(self.state.as_bytes())) {
            return Err(CallbackError::StateMismatch);
        }
        if let Some(error) = get("error") {
            return Err(CallbackError::Denied {
                error: OAuthErrorCode::parse(error),
                description: get("error_description").map(str::to_owned),
            });
        }
        let code = get("code").ok_or(CallbackError::MissingParameter { name: "code" })?;
        Ok(AuthorizationCode::new(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let v = PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let a = PkceVerifier::generate().unwrap();
        let b = PkceVerifier::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose_secret().len(), 64);
        PkceVerifier::parse(a.expose_secret()).unwrap();
        assert_ne!(generate_state().unwrap(), generate_state().unwrap());
    }

    #[test]
    fn verifiers_compare_by_their_whole_value() {
        let a = PkceVerifier::parse(&"a".repeat(43)).unwrap();
        assert_eq!(a, PkceVerifier::parse(&"a".repeat(43)).unwrap());
        assert_ne!(
            a,
            PkceVerifier::parse(&format!("{}b", "a".repeat(42))).unwrap()
        );
        assert_ne!(a, PkceVerifier::parse(&"a".repeat(44)).unwrap());
    }

    #[test]
    fn parse_refuses_bad_lengths_and_characters() {
        let short = PkceVerifier::parse(&"a".repeat(42)).unwrap_err();
        assert!(short.problem.contains("42"), "{short}");
        assert!(PkceVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(PkceVerifier::parse(&"a".repeat(128)).is_ok());
        assert!(PkceVerifier::parse(&"a".repeat(129)).is_err());
        let bad = PkceVerifier::parse(&format!("{}+", "a".repeat(50))).unwrap_err();
        assert!(bad.problem.contains("unreserved"), "{bad}");
        assert!(!bad.to_string().contains("aaaa"));
    }
}
