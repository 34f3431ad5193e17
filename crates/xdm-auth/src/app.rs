//! App-only authentication: the app's Bearer token, for the endpoints that act for the app
//! rather than a user (the activity stream, listing and changing subscriptions, webhooks).

use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use xdm_core::{Authorize, Credential, EndpointInfo};

use crate::error::AuthorizeError;
use crate::secret::AppBearerToken;

/// Adds `Authorization: Bearer <app token>` to requests for app-only endpoints.
///
/// A request whose [`EndpointInfo`] says it takes a user token (every Direct Message endpoint,
/// and creating a `dm.*` subscription) is refused before anything is sent: X would answer it
/// with a 403, or worse, act with the wrong identity. The token prints as `[redacted]`.
///
/// ```
/// use std::time::SystemTime;
/// use xdm_auth::{AppBearerAuthorizer, AuthorizeError};
/// use xdm_core::endpoints::{ConnectStream, ListEvents};
/// use xdm_core::{Authorize, Endpoint, RequestContext};
///
/// let app = AppBearerAuthorizer::new("app-bearer-token");
/// let ctx = RequestContext::default();
/// let mut stream = ConnectStream::new().build_request(&ctx)?;
/// app.authorize(&mut stream, SystemTime::now()).unwrap();
/// assert_eq!(stream.headers()["authorization"], "Bearer app-bearer-token");
///
/// let mut dms = ListEvents::new().build_request(&ctx)?;
/// let e = app.authorize(&mut dms, SystemTime::now()).unwrap_err();
/// assert!(matches!(e, AuthorizeError::NeedsUserToken { .. }));
/// assert!(!format!("{app:?}").contains("app-bearer-token"));
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppBearerAuthorizer {
    token: AppBearerToken,
}

impl AppBearerAuthorizer {
    /// Authorizes with the app's Bearer token.
    pub fn new(token: impl Into<AppBearerToken>) -> Self {
        Self {
            token: token.into(),
        }
    }

    /// The token.
    pub fn token(&self) -> &AppBearerToken {
        &self.token
    }
}

impl Authorize for AppBearerAuthorizer {
    type Error = AuthorizeError;

    /// Refuses user-token endpoints; a request without [`EndpointInfo`] is authorized as it
    /// is, since nothing says what it needs.
    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        _now: SystemTime,
    ) -> Result<(), AuthorizeError> {
        if let Some(info) = request.extensions().get::<EndpointInfo>()
            && info.credential != Credential::AppBearer
        {
            return Err(AuthorizeError::NeedsUserToken {
                method: info.method.clone(),
                endpoint: info.path_template,
            });
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
            .map_err(|_| AuthorizeError::InvalidHeaderValue)?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}
