//! Authorization of one request: an OAuth 1.0a signature, or an OAuth 2.0 bearer token kept
//! fresh with at most one refresh in flight.

use bytes::Bytes;
use tracing::Instrument;
use xdm_auth::oauth2::{Bearer, RefreshOutcome, TokenAction};
use xdm_core::Authorize;

use crate::client::{Auth, Client};
use crate::error::{AuthorizationError, Error};
use crate::transport::{Timer, Transport};

impl<T: Transport, C: Timer> Client<T, C> {
    /// Adds credentials; for OAuth 2.0, refreshes first when the token is due, with at most
    /// one refresh in flight across all clones and tasks.
    pub(crate) async fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
    ) -> Result<Option<Bearer>, Error> {
        let manager = match &self.inner.auth {
            Auth::OAuth1(signer) => {
                signer
                    .authorize(request, self.inner.timer.now())
                    .map_err(|e| Error::Authorization(AuthorizationError::Refused(e)))?;
                return Ok(None);
            }
            Auth::AppBearer(app) => {
                app.authorize(request, self.inner.timer.now())
                    .map_err(|e| Error::Authorization(AuthorizationError::Refused(e)))?;
                return Ok(None);
            }
            Auth::OAuth2(manager) => manager,
        };
        loop {
            let now = self.inner.timer.now();
            match manager.poll_token(now) {
                TokenAction::Use(bearer) => {
                    manager
                        .authorize(request, now)
                        .map_err(|e| Error::Authorization(AuthorizationError::Refused(e)))?;
                    return Ok(Some(bearer));
                }
                TokenAction::Refresh(ticket) if self.inner.token_store.is_some() => {
                    let store = self
                        .inner
                        .token_store
                        .as_deref()
                        .expect("checked by the guard");
                    self.refresh_under_lock(store, ticket).await?;
                }
                TokenAction::Refresh(ticket) => {
                    let refresh = ticket.request();
                    let span = tracing::info_span!("xdm.refresh", path = "/2/oauth2/token");
                    let response = self
                        .inner
                        .transport
                        .send(refresh)
                        .instrument(span)
                        .await
                        .map_err(|e| {
                            Error::Authorization(AuthorizationError::RefreshTransport(e))
                        })?;
                    ticket
                        .handle_response(&response, self.inner.timer.now())
                        .map_err(|e| Error::Authorization(AuthorizationError::Refresh(e)))?;
                    tracing::info!("access token refreshed");
                }
                TokenAction::Wait(wait) => match wait.await {
                    RefreshOutcome::Failed(e) => {
                        return Err(Error::Authorization(AuthorizationError::Refresh(e)));
                    }
                    _ => continue,
                },
                TokenAction::Reauthorize => {
                    return Err(Error::Authorization(
                        AuthorizationError::ReauthorizationRequired,
                    ));
                }
                _ => {
                    return Err(Error::Authorization(
                        AuthorizationError::ReauthorizationRequired,
                    ));
                }
            }
        }
    }
}
