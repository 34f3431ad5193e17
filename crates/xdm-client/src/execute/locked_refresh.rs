//! Refreshing the OAuth 2.0 token under a token store's lock, so that processes sharing the
//! store spend each single-use refresh token once (the protocol is in [`crate::token_store`]).

use std::time::Duration;

use tracing::Instrument;
use xdm_auth::oauth2::{LockedRefresh, RefreshTicket};

use crate::client::Client;
use crate::error::{AuthorizationError, Error};
use crate::token_store::{RefreshLock, TokenStore, TokenStoreError};
use crate::transport::{Timer, Transport};

/// How long to wait between tries of a store's lock, and how long in all.
const LOCK_POLL: Duration = Duration::from_millis(20);
const LOCK_PATIENCE: Duration = Duration::from_secs(60);

impl<T: Transport, C: Timer> Client<T, C> {
    /// Refreshes under `store`'s lock: adopts a token another process saved, or sends the
    /// refresh and saves its result before releasing the lock and handing the token to the
    /// manager.
    pub(super) async fn refresh_under_lock(
        &self,
        store: &dyn TokenStore,
        ticket: RefreshTicket,
    ) -> Result<(), Error> {
        let store_error = |e| Error::Authorization(AuthorizationError::TokenStore(e));
        // Dropping the ticket on an error below abandons the refresh: the next caller tries.
        let lock = self.lock_store(store).await.map_err(store_error)?;
        let stored = lock.load().await.map_err(store_error)?;
        let ticket = match ticket.resume_from(stored, self.inner.timer.now()) {
            LockedRefresh::Send(ticket) => ticket,
            // Another process rotated the token; the manager holds it now.
            _ => {
                release(lock).await;
                tracing::info!("adopted the token another process refreshed");
                return Ok(());
            }
        };
        let span = tracing::info_span!("xdm.refresh", path = "/2/oauth2/token");
        // The lock stays held across the send: releasing it before the new token is saved
        // would let another process spend the same refresh token.
        let response = self
            .inner
            .transport
            .send(ticket.request())
            .instrument(span)
            .await
            .map_err(|e| Error::Authorization(AuthorizationError::RefreshTransport(e)))?;
        let parsed = ticket.parse(&response, self.inner.timer.now());
        let saved = match &parsed {
            Ok(token) => lock.save(token).await,
            Err(_) => Ok(()),
        };
        release(lock).await;
        // The manager's hooks run and its waiters wake only now, with no lock held.
        ticket
            .complete(parsed)
            .map_err(|e| Error::Authorization(AuthorizationError::Refresh(e)))?;
        match saved {
            Ok(()) => tracing::info!("access token refreshed and saved"),
            // The old refresh token is spent either way: going on with the new one is all
            // that is left, and the next process to refresh will need a new authorization.
            Err(error) => tracing::warn!(%error, "could not save the refreshed OAuth 2.0 token"),
        }
        Ok(())
    }

    /// Takes `store`'s lock without blocking the runtime: tries it, and sleeps through the
    /// timer while another process holds it.
    async fn lock_store(
        &self,
        store: &dyn TokenStore,
    ) -> Result<Box<dyn RefreshLock>, TokenStoreError> {
        let mut waited = Duration::ZERO;
        loop {
            if let Some(lock) = store.try_lock().await? {
                return Ok(lock);
            }
            if waited >= LOCK_PATIENCE {
                return Err(TokenStoreError::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "another process held the token store's lock for a minute",
                )));
            }
            self.inner.timer.sleep(LOCK_POLL).await;
            waited += LOCK_POLL;
        }
    }
}

/// Releases `lock`; a failed release is logged, since the lock goes with its holder anyway.
async fn release(lock: Box<dyn RefreshLock>) {
    if let Err(error) = lock.release().await {
        tracing::warn!(%error, "could not release the token store's lock");
    }
}
