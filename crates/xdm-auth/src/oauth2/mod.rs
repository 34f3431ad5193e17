//! OAuth 2.0 user context: PKCE authorization, token requests, refresh and storage.
//!
//! [`OAuth2Client`] builds the authorization URL and the token endpoint's requests and parses
//! their responses. [`TokenManager`] keeps a [`UserToken`] fresh, with at most one refresh in
//! flight; [`FileTokenStore`] extends that guarantee across processes sharing a token file.
//! Both [`BearerAuthorizer`] and [`TokenManager`] implement [`xdm_core::Authorize`].

mod client;
mod pkce;
mod refresh;
mod store;
mod token;

pub use client::{MAX_TOKEN_LIFETIME, OAuth2Client, RevocableToken, X_AUTHORIZE_URL};
pub use pkce::{PendingAuthorization, PkceVerifier, generate_state};
pub use refresh::{
    DEFAULT_REFRESH_MARGIN, RefreshOutcome, RefreshTicket, RefreshWait, TokenAction, TokenManager,
};
pub use store::{
    FileTokenStore, LockedRefresh, LockedRefreshError, StoreError, StoreLock, TokenStore,
};
pub use token::{Bearer, BearerAuthorizer, UserToken};
