//! OAuth 1.0a user context: HMAC-SHA1 signing (through `oauth1-request`) and the three-legged
//! flow.
//!
//! [`OAuth1Authorizer`] signs any request the core builds: query parameters and
//! `application/x-www-form-urlencoded` bodies are part of the signature, JSON bodies are not
//! (RFC 5849 §3.4.1.3.1 only covers form bodies, and X follows it). [`OAuth1Flow`] builds and
//! parses the three steps that turn a consumer key into a user's access token.

mod flow;
mod sign;

pub use flow::{AccessTokenResponse, OAuth1Flow, RequestToken};
pub use sign::OAuth1Authorizer;

use crate::secret::{AccessToken, ConsumerSecret, TokenSecret};

/// The app's credentials: X's "API key" and "API key secret".
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "OAuth 1.0a client credentials are a key and its secret (RFC 5849 §1.1), nothing more"
)]
pub struct ConsumerCredentials {
    /// The consumer key, sent in every request.
    pub key: String,
    /// The consumer secret, used only to sign.
    pub secret: ConsumerSecret,
}

impl ConsumerCredentials {
    /// Pairs a consumer key with its secret.
    pub fn new(key: impl Into<String>, secret: impl Into<ConsumerSecret>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }
}

/// A user's access token and its secret: what API calls are signed with.
///
/// A request token (from the first leg of the flow) is a different type, [`RequestToken`], so
/// that it cannot be used to sign API calls by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "OAuth 1.0a token credentials are a token and its secret (RFC 5849 §1.1), nothing more"
)]
pub struct TokenCredentials {
    /// The `oauth_token`.
    pub token: AccessToken,
    /// The token secret.
    pub secret: TokenSecret,
}

impl TokenCredentials {
    /// Pairs an access token with its secret.
    pub fn new(token: impl Into<AccessToken>, secret: impl Into<TokenSecret>) -> Self {
        Self {
            token: token.into(),
            secret: secret.into(),
        }
    }
}
