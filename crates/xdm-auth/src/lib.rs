//! Authentication for the xdm X DM SDK: OAuth 1.0a signing, OAuth 2.0 user tokens, and the
//! app's Bearer token for the activity stream and webhooks ([`app`]).
//!
//! Like `xdm-core`, this crate does no network I/O and reads no clock: every flow is a set of
//! `http::Request<Bytes>` values to send and parsers for the `http::Response<Bytes>` that come
//! back, and time is always an argument. It plugs into the core's pipeline through
//! [`xdm_core::Authorize`].
//!
//! Secrets ([`secret`]) print as `[redacted]`; their values leave only through
//! `expose_secret()`, and no error message of this crate quotes one.
//!
//! # OAuth 1.0a: signing a request the core built
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use bytes::Bytes;
//! use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Authorizer, TokenCredentials};
//! use xdm_core::Authorize;
//!
//! let authorizer = OAuth1Authorizer::new(
//!     ConsumerCredentials::new("consumer-key", "consumer-secret"),
//!     TokenCredentials::new("access-token", "access-token-secret"),
//! );
//! let mut request = http::Request::get("https://api.x.com/2/dm_events?dm_event.fields=id%2Ctext")
//!     .body(Bytes::new())
//!     .unwrap();
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! authorizer.authorize(&mut request, now).unwrap();
//! let header = request.headers()["authorization"].to_str().unwrap();
//! assert!(header.starts_with("OAuth "));
//! assert!(header.contains("oauth_timestamp=\"1700000000\""));
//! assert!(request.headers()["authorization"].is_sensitive());
//! ```
//!
//! # OAuth 2.0: authorization code with PKCE
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use bytes::Bytes;
//! use xdm_auth::oauth2::{OAuth2Client, TokenAction, TokenManager};
//! use xdm_core::Scope;
//!
//! let client = OAuth2Client::public("my-client-id", "http://127.0.0.1:8765/callback");
//! let pending = client
//!     .authorize(&[Scope::DmRead, Scope::DmWrite, Scope::TweetRead, Scope::UsersRead,
//!                  Scope::OfflineAccess])
//!     .unwrap();
//! assert!(pending.url().starts_with("https://x.com/i/oauth2/authorize?response_type=code"));
//!
//! // The user approves; X redirects the browser to the callback URL.
//! let redirect = format!("http://127.0.0.1:8765/callback?state={}&code=abc", pending.state());
//! let code = pending.handle_callback(&redirect).unwrap();
//! let exchange = client.exchange_code_request(&code, pending.verifier());
//! assert_eq!(exchange.uri(), "https://api.x.com/2/oauth2/token");
//!
//! // Send `exchange` with any HTTP client; X answers:
//! let response = http::Response::new(Bytes::from_static(
//!     br#"{"token_type":"bearer","expires_in":7200,"access_token":"AT","refresh_token":"RT",
//!         "scope":"dm.read dm.write tweet.read users.read offline.access"}"#,
//! ));
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let token = client.parse_token_response(&response, now).unwrap();
//!
//! // The manager hands out the token, and the duty to refresh it to one caller at a time.
//! let manager = TokenManager::new(client, token);
//! assert!(matches!(manager.poll_token(now), TokenAction::Use(_)));
//! let later = now + Duration::from_secs(7200);
//! let TokenAction::Refresh(ticket) = manager.poll_token(later) else { panic!() };
//! assert!(matches!(manager.poll_token(later), TokenAction::Wait(_)));
//! let refreshed = http::Response::new(Bytes::from_static(
//!     br#"{"token_type":"bearer","expires_in":7200,"access_token":"AT2","refresh_token":"RT2"}"#,
//! ));
//! let bearer = ticket.handle_response(&refreshed, later).unwrap();
//! assert_eq!(bearer.access_token().expose_secret(), "AT2");
//! ```

// Public types that may grow are `#[non_exhaustive]`; where a type is complete by its nature
// (a decision, a closed set of states), it says so with an `allow` and the reason.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub mod app;
pub mod error;
mod form;
pub mod oauth1;
pub mod oauth2;
mod random;
pub mod secret;

pub use app::AppBearerAuthorizer;
pub use error::{AuthorizeError, CallbackError, OAuthError, OAuthErrorCode, ResponseError};
pub use random::RandomError;
