//! OAuth 2.0 user context: PKCE authorization, token requests and refresh.
//!
//! [`OAuth2Client`] builds the authorization URL and the token endpoint's requests and parses
//! their responses. [`TokenManager`] keeps a [`UserToken`] fresh, with at most one refresh in
//! flight; [`RefreshTicket::resume_from`], [`RefreshTicket::parse`] and
//! [`RefreshTicket::complete`] are the steps a driver takes under a shared store's lock to
//! extend that guarantee across processes (the stores themselves do I/O, so they live with
//! the driver: `xdm_client::TokenStore`). Both [`BearerAuthorizer`] and [`TokenManager`]
//! implement [`xdm_core::Authorize`].

mod client;
mod pkce;
mod record;
mod refresh;
mod token;

pub use client::{MAX_TOKEN_LIFETIME, OAuth2Client, RevocableToken, X_AUTHORIZE_URL};
pub use pkce::{PendingAuthorization, PkceVerifier, generate_state};
pub use record::TokenRecord;
pub use refresh::{
    DEFAULT_REFRESH_MARGIN, LockedRefresh, RefreshOutcome, RefreshTicket, RefreshWait, TokenAction,
    TokenManager,
};
pub(crate) use token::check_user_endpoint;
pub use token::{Bearer, BearerAuthorizer, UserToken};
