//! Errors shared by both protocols.
//!
//! None of these types holds a secret: messages name parameters, scopes, endpoints and HTTP
//! statuses, never a token or a body.

use std::borrow::Cow;
use std::fmt;

use http::Method;
use xdm_core::Scope;

use crate::random::RandomError;

/// Why a request could not be authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The token's scopes are known and lack some the endpoint needs.
    #[error(
        "the token lacks the scope(s) {} needed by {method} {endpoint}; \
         authorize again asking for them",
        ScopeList(.missing)
    )]
    MissingScopes {
        /// The endpoint's method.
        method: Method,
        /// The endpoint's path template.
        endpoint: &'static str,
        /// Every needed scope the token lacks.
        missing: Vec<Scope>,
    },
    /// The endpoint does not accept OAuth 1.0a user tokens.
    #[error(
        "{method} {endpoint} does not accept OAuth 1.0a user tokens; \
         use an OAuth 2.0 user token"
    )]
    OAuth1NotAccepted {
        /// The endpoint's method.
        method: Method,
        /// The endpoint's path template.
        endpoint: &'static str,
    },
    /// The endpoint takes the app's Bearer token, and a user token was offered.
    #[error("{method} {endpoint} needs the app's Bearer token, not a user token")]
    NeedsAppBearer {
        /// The endpoint's method.
        method: Method,
        /// The endpoint's path template.
        endpoint: &'static str,
    },
    /// The endpoint takes a user's token, and the app's Bearer token was offered.
    #[error(
        "{method} {endpoint} needs a user's token (OAuth 2.0 user context or OAuth 1.0a), \
         not the app's Bearer token"
    )]
    NeedsUserToken {
        /// The endpoint's method.
        method: Method,
        /// The endpoint's path template.
        endpoint: &'static str,
    },
    /// The access token has expired or was rejected and must be refreshed first.
    #[error(
        "the access token has expired or was rejected; refresh it before sending \
         (see TokenManager::poll_token)"
    )]
    TokenNeedsRefresh,
    /// The access token has expired and cannot be refreshed: the user must authorize again.
    #[error("the access token has expired and cannot be refreshed; the user must authorize again")]
    TokenExpired,
    /// `now` is before 1970, so no OAuth 1.0a timestamp exists for it.
    #[error("the clock reads a time before 1970-01-01; OAuth 1.0a needs a Unix timestamp")]
    ClockBeforeEpoch,
    /// The request's URI has no scheme or host.
    #[error("the request URI has no scheme or host; OAuth 1.0a signs absolute URLs only")]
    RelativeUri,
    /// The request carries an `oauth_*` parameter of its own.
    #[error(
        "the request carries the OAuth protocol parameter `{name}` in its query or form body; \
         protocol parameters belong in the Authorization header only"
    )]
    ReservedParameter {
        /// The parameter's name.
        name: String,
    },
    /// A credential holds characters that cannot appear in an HTTP header.
    #[error("a credential contains characters that cannot appear in an HTTP header")]
    InvalidHeaderValue,
    /// No nonce could be generated.
    #[error(transparent)]
    Random(#[from] RandomError),
}

struct ScopeList<'a>(&'a [Scope]);

impl fmt::Display for ScopeList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

/// An OAuth error code, as RFC 6749 §5.2 and §4.1.2.1 name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: the client id or secret is wrong.
    InvalidClient,
    /// `invalid_grant`: the code, verifier or refresh token is invalid, expired, or spent.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`: the user refused (authorization callbacks only).
    AccessDenied,
    /// A code this crate does not name, kept as sent.
    Other(String),
}

impl OAuthErrorCode {
    /// Parses a wire code; unknown codes become [`OAuthErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response from X's token or revocation endpoint.
///
/// `#[non_exhaustive]`, so that more of X's answer (such as an `error_uri`) can be kept later:
/// build one with [`OAuthError::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("X refused the OAuth request with HTTP {status}: {code}{}", Described(.description))]
pub struct OAuthError {
    /// The error code.
    pub code: OAuthErrorCode,
    /// X's `error_description`, if any.
    pub description: Option<String>,
    /// The HTTP status.
    pub status: u16,
}

impl OAuthError {
    /// X's answer with HTTP `status` and error `code`, without a description.
    pub fn new(status: u16, code: OAuthErrorCode) -> Self {
        Self {
            code,
            description: None,
            status,
        }
    }

    /// The same error with X's `error_description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

struct Described<'a>(&'a Option<String>);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " ({d})"),
            None => Ok(()),
        }
    }
}

/// A response from an OAuth endpoint could not be turned into a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// X answered with an OAuth error.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// X answered with a failure status and no OAuth error in the body.
    #[error("X answered HTTP {status} without an OAuth error in the body")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The body is not what X documents.
    #[error("the response is not what X documents: {reason}")]
    Malformed {
        /// What was wrong; never quotes the body.
        reason: Cow<'static, str>,
    },
    /// X did not confirm the OAuth 1.0a callback URL.
    #[error(
        "X did not confirm the callback URL (oauth_callback_confirmed is not `true`); \
         check the callback URLs registered for the app"
    )]
    CallbackNotConfirmed,
}

impl ResponseError {
    pub(crate) fn malformed(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    /// Whether X refused the refresh token or code for good (`invalid_grant`): trying again
    /// with the same one cannot succeed.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::OAuth(e) if e.code == OAuthErrorCode::InvalidGrant)
    }

    /// Whether a refresh was refused in a way that sending the same refresh token again
    /// cannot change: `invalid_grant`, as RFC 6749 says, or `invalid_request`, which is how X
    /// answers a spent or unknown refresh token ("Value passed for the token was invalid.").
    /// The refresh requests this crate builds are otherwise well-formed, so an
    /// `invalid_request` to one says the token is no longer good.
    pub fn refuses_refresh_token(&self) -> bool {
        matches!(
            self,
            Self::OAuth(e)
                if matches!(e.code, OAuthErrorCode::InvalidGrant | OAuthErrorCode::InvalidRequest)
        )
    }
}

/// The redirect back from X's authorization page could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The `state` differs from the one sent: the redirect may be forged.
    #[error("the callback's state does not match the one sent; the redirect may be forged")]
    StateMismatch,
    /// The OAuth 1.0a callback is for another request token.
    #[error("the callback's oauth_token is not the request token this flow obtained")]
    TokenMismatch,
    /// The user or X refused the authorization.
    #[error("the authorization was refused: {error}{}", Described(.description))]
    Denied {
        /// The error code.
        error: OAuthErrorCode,
        /// X's `error_description`, if any.
        description: Option<String>,
    },
    /// A parameter the callback must carry is missing.
    #[error("the callback URL has no `{name}` parameter")]
    MissingParameter {
        /// The parameter's name.
        name: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_keep_unknown_ones() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
            "slow_down",
        ] {
            assert_eq!(OAuthErrorCode::parse(code).as_str(), code);
            assert_eq!(OAuthErrorCode::parse(code).to_string(), code);
        }
        assert_eq!(
            OAuthErrorCode::parse("slow_down"),
            OAuthErrorCode::Other("slow_down".into())
        );
    }

    #[test]
    fn messages_name_what_matters() {
        let e = AuthorizeError::MissingScopes {
            method: Method::POST,
            endpoint: "/2/dm_conversations",
            missing: vec![Scope::DmWrite, Scope::MediaWrite],
        };
        assert_eq!(
            e.to_string(),
            "the token lacks the scope(s) dm.write, media.write needed by POST \
             /2/dm_conversations; authorize again asking for them"
        );
        let e = OAuthError::new(400, OAuthErrorCode::InvalidGrant).with_description("expired");
        assert_eq!(
            e.to_string(),
            "X refused the OAuth request with HTTP 400: invalid_grant (expired)"
        );
        assert!(ResponseError::from(e).is_invalid_grant());
        assert!(!ResponseError::Status { status: 500 }.is_invalid_grant());
        let e = CallbackError::Denied {
            error: OAuthErrorCode::AccessDenied,
            description: None,
        };
        assert_eq!(
            e.to_string(),
            "the authorization was refused: access_denied"
        );
    }
}
