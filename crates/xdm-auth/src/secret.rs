//! Newtypes for values that must never reach a log line, an error message or a panic.
//!
//! Each type prints `[redacted]` through both `Debug` and `Display`; the value is reachable only
//! through an explicit `expose_secret()`, so that every place a secret leaves its box is easy to
//! find. Equality is constant-time so that comparing a secret does not leak its prefix through
//! timing.

use std::fmt;

use subtle::ConstantTimeEq;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value itself. Call this only where the value must go on the wire or to storage.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_type! {
    /// An OAuth 1.0a consumer secret (X calls it "API key secret").
    ConsumerSecret
}

secret_type! {
    /// An OAuth 1.0a token secret, of a request token or of an access token.
    TokenSecret
}

secret_type! {
    /// An access token: an OAuth 2.0 bearer token, or an OAuth 1.0a `oauth_token`.
    AccessToken
}

secret_type! {
    /// The app's Bearer token (OAuth 2.0 app-only), from the developer portal or the
    /// client-credentials grant. It acts for the app, not for a user.
    AppBearerToken
}

secret_type! {
    /// An OAuth 2.0 refresh token. X's are single-use: each refresh returns a new one.
    RefreshToken
}

secret_type! {
    /// An OAuth 2.0 client secret, held by confidential clients only.
    ClientSecret
}

secret_type! {
    /// An OAuth 2.0 authorization code, valid for 30 seconds after X issues it.
    AuthorizationCode
}

secret_type! {
    /// An OAuth 1.0a `oauth_verifier`, returned to the callback after the user approves.
    Verifier
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let value = "s3cr3t-value";
        let shown = [
            format!(
                "{:?} {}",
                ConsumerSecret::new(value),
                ConsumerSecret::new(value)
            ),
            format!("{:?} {}", TokenSecret::new(value), TokenSecret::new(value)),
            format!("{:?} {}", AccessToken::new(value), AccessToken::new(value)),
            format!(
                "{:?} {}",
                AppBearerToken::new(value),
                AppBearerToken::new(value)
            ),
            format!(
                "{:?} {}",
                RefreshToken::new(value),
                RefreshToken::new(value)
            ),
            format!(
                "{:?} {}",
                ClientSecret::new(value),
                ClientSecret::new(value)
            ),
            format!(
                "{:?} {}",
                AuthorizationCode::new(value),
                AuthorizationCode::new(value)
            ),
            format!(
                "{:?} {}",
                Verifier::from(value),
                Verifier::from(value.to_owned())
            ),
        ];
        for s in shown {
            assert!(!s.contains(value), "{s}");
            assert!(s.contains("[redacted]"), "{s}");
        }
        assert_eq!(AccessToken::new(value).expose_secret(), value);
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(RefreshToken::new("a"), RefreshToken::new("a"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("b"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("ab"));
    }
}
