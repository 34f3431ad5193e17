//! User tokens, bearer headers, and the simplest OAuth 2.0 authorizer.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use xdm_core::{Authorize, Credential, EndpointInfo, Scope};

use crate::error::AuthorizeError;
use crate::secret::{AccessToken, RefreshToken};

/// An OAuth 2.0 user token: the access token and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserToken {
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    expires_at: Option<SystemTime>,
    scopes: Option<Vec<Scope>>,
    issued_at: SystemTime,
}

impl UserToken {
    /// A token issued at `issued_at`, with unknown expiry and scopes and no refresh token.
    pub fn new(access_token: impl Into<AccessToken>, issued_at: SystemTime) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            expires_at: None,
            scopes: None,
            issued_at,
        }
    }

    /// The same token with a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: impl Into<RefreshToken>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// The same token with a known expiry.
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The same token with known scopes.
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = Some(scopes.into_iter().collect());
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, if X issued one (it does when `offline.access` was granted).
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// When the access token stops working, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The granted scopes, if known.
    pub fn scopes(&self) -> Option<&[Scope]> {
        self.scopes.as_deref()
    }

    /// When the token was obtained.
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// Whether the access token has expired at `now`. A token of unknown expiry never has.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The scopes in `needed` this token is known to lack; empty when its scopes are unknown.
    pub fn missing_scopes(&self, needed: &[Scope]) -> Vec<Scope> {
        match &self.scopes {
            Some(granted) => needed
                .iter()
                .filter(|s| !granted.contains(s))
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether `self` replaced `other`: a different token, issued no earlier. Two processes
    /// sharing a token file use this to tell a rotation by the other from a stale copy.
    pub fn supersedes(&self, other: &UserToken) -> bool {
        let different =
            self.refresh_token != other.refresh_token || self.access_token != other.access_token;
        different && self.issued_at >= other.issued_at
    }

    pub(crate) fn set_scopes_if_unknown(&mut self, scopes: Option<&[Scope]>) {
        if self.scopes.is_none() {
            self.scopes = scopes.map(<[Scope]>::to_vec);
        }
    }

    pub(crate) fn set_refresh_token_if_absent(&mut self, token: &RefreshToken) {
        if self.refresh_token.is_none() {
            self.refresh_token = Some(token.clone());
        }
    }
}

/// An access token ready to go in an `Authorization: Bearer` header.
///
/// It remembers which token of a [`TokenManager`](crate::oauth2::TokenManager) it is, so that
/// a 401 answered to it can be told from a 401 answered to an older one.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer {
    token: AccessToken,
    pub(crate) generation: u64,
}

impl Bearer {
    /// A bearer for `token`, unconnected to any manager.
    pub fn new(token: AccessToken) -> Self {
        Self {
            token,
            generation: 0,
        }
    }

    pub(crate) fn with_generation(token: AccessToken, generation: u64) -> Self {
        Self { token, generation }
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.token
    }

    /// `Bearer <token>`, marked sensitive so that HTTP libraries keep it out of their logs.
    pub fn header_value(&self) -> Result<HeaderValue, AuthorizeError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
            .map_err(|_| AuthorizeError::InvalidHeaderValue)?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Sets the request's `Authorization` header.
    pub fn apply(&self, request: &mut http::Request<Bytes>) -> Result<(), AuthorizeError> {
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.header_value()?);
        Ok(())
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer")
            .field("token", &self.token)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Refuses a request whose endpoint takes the app's Bearer token rather than a user token.
pub(crate) fn check_user_endpoint(info: &EndpointInfo) -> Result<(), AuthorizeError> {
    match info.credential {
        Credential::AppBearer => Err(AuthorizeError::NeedsAppBearer {
            method: info.method.clone(),
            endpoint: info.path_template,
        }),
        _ => Ok(()),
    }
}

/// Refuses a request whose endpoint takes the app's Bearer token, or needs a scope `token` is
/// known to lack.
pub(crate) fn check_scopes(
    request: &http::Request<Bytes>,
    token: &UserToken,
) -> Result<(), AuthorizeError> {
    let Some(info) = request.extensions().get::<EndpointInfo>() else {
        return Ok(());
    };
    check_user_endpoint(info)?;
    let missing = token.missing_scopes(info.scopes);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AuthorizeError::MissingScopes {
            method: info.method.clone(),
            endpoint: info.path_template,
            missing,
        })
    }
}

/// Adds `Authorization: Bearer` from a fixed user token, refusing once it has expired.
///
/// For tokens that refresh themselves, use a [`TokenManager`](crate::oauth2::TokenManager),
/// which is an authorizer too.
#[derive(Debug, Clone)]
pub struct BearerAuthorizer {
    token: UserToken,
}

impl BearerAuthorizer {
    /// Authorizes with `token`.
    pub fn new(token: UserToken) -> Self {
        Self { token }
    }

    /// The token.
    pub fn token(&self) -> &UserToken {
        &self.token
    }
}

impl Authorize for BearerAuthorizer {
    type Error = AuthorizeError;

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), AuthorizeError> {
        check_scopes(request, &self.token)?;
        if self.token.is_expired(now) {
            return Err(AuthorizeError::TokenExpired);
        }
        Bearer::new(self.token.access_token.clone()).apply(request)
    }
}
