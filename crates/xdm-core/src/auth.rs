//! The one trait through which authentication plugs into the request pipeline.
//!
//! Authentication is a pure change to a request: add an `Authorization` header computed from the
//! request's method, URL and (for form bodies) body. The implementations live in `xdm-auth`.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;

/// Adds credentials to a request that is otherwise ready to send.
///
/// `now` is passed in so that signatures (OAuth 1.0a timestamps) and expiry checks (OAuth 2.0)
/// are deterministic under test. Implementations may read the request's
/// [`EndpointInfo`](crate::EndpointInfo) extension to learn which scopes the endpoint needs and
/// refuse early with a clear error instead of letting X answer with a bare 403.
pub trait Authorize {
    /// Why a request could not be authorized.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds credentials to `request`, as of `now`.
    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), Self::Error>;
}

impl<A: Authorize + ?Sized> Authorize for &A {
    type Error = A::Error;

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), Self::Error> {
        (**self).authorize(request, now)
    }
}

impl<A: Authorize + ?Sized> Authorize for std::sync::Arc<A> {
    type Error = A::Error;

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), Self::Error> {
        (**self).authorize(request, now)
    }
}

/// Which kind of credential an endpoint takes.
///
/// X's activity endpoints split between two credentials, and mixing them up is the commonest
/// failure: the user's own token creates a `dm.*` subscription, while the app's Bearer token
/// (app-only OAuth 2.0) lists, updates and deletes subscriptions, manages webhooks and opens
/// the activity stream. Each [`EndpointInfo`](crate::EndpointInfo) says which one it takes, so
/// that an authorizer holding the other kind refuses before any request is sent, instead of
/// letting X answer with a bare 401 or 403.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Credential {
    /// A user's token: OAuth 2.0 user context, or OAuth 1.0a where the endpoint allows it. Every
    /// Direct Message endpoint takes one.
    #[default]
    User,
    /// The app's Bearer token (OAuth 2.0 app-only), which acts for no user.
    AppBearer,
}

impl Credential {
    /// How the credential is named in messages: "a user token" or "the app's Bearer token".
    pub fn describe(self) -> &'static str {
        match self {
            Credential::User => "a user token (OAuth 2.0 user context or OAuth 1.0a)",
            Credential::AppBearer => "the app's Bearer token",
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// An OAuth 2.0 scope, as X names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// `dm.read`: read direct messages.
    DmRead,
    /// `dm.write`: send and delete direct messages, block and unblock.
    DmWrite,
    /// `tweet.read`: required by X alongside any DM scope.
    TweetRead,
    /// `users.read`: required by X alongside any DM scope.
    UsersRead,
    /// `offline.access`: ask for a refresh token.
    OfflineAccess,
    /// `media.write`: upload media.
    MediaWrite,
    /// Any scope this crate does not name.
    Other(Cow<'static, str>),
}

impl Scope {
    /// The scope's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::DmRead => "dm.read",
            Scope::DmWrite => "dm.write",
            Scope::TweetRead => "tweet.read",
            Scope::UsersRead => "users.read",
            Scope::OfflineAccess => "offline.access",
            Scope::MediaWrite => "media.write",
            Scope::Other(s) => s,
        }
    }

    /// Parses a wire name; names this crate does not know become [`Scope::Other`].
    pub fn parse(name: &str) -> Scope {
        match name {
            "dm.read" => Scope::DmRead,
            "dm.write" => Scope::DmWrite,
            "tweet.read" => Scope::TweetRead,
            "users.read" => Scope::UsersRead,
            "offline.access" => Scope::OfflineAccess,
            "media.write" => Scope::MediaWrite,
            other => Scope::Other(Cow::Owned(other.to_owned())),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_describe_themselves() {
        assert_eq!(Credential::default(), Credential::User);
        assert_eq!(Credential::AppBearer.to_string(), "the app's Bearer token");
        assert!(Credential::User.to_string().starts_with("a user token"));
    }

    #[test]
    fn scope_names_round_trip() {
        for s in [
            Scope::DmRead,
            Scope::DmWrite,
            Scope::TweetRead,
            Scope::UsersRead,
            Scope::OfflineAccess,
            Scope::MediaWrite,
            Scope::Other("like.read".into()),
        ] {
            assert_eq!(Scope::parse(s.as_str()), s);
            assert_eq!(s.to_string(), s.as_str());
        }
    }
}
