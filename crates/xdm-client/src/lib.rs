//! The async X DM client of xdm, generic over its HTTP transport and timer.
//!
//! [`Client`] drives the sans-IO pieces of `xdm-core` and `xdm-auth` over any
//! [`Transport`](transport::Transport) (a closure will do) and [`Timer`](transport::Timer), and
//! takes care of what makes X's API hard to use well:
//!
//! - **rate limits**: limits are learned from response headers, and a request that would get a
//!   429 waits for the reset instead (or fails at once with the reset time, as the
//!   [`RateLimitPolicy`] says); a 429 that still arrives is waited out; usage caps and
//!   depleted credits are reported at once;
//! - **retries**: reads, deletes, block and unblock are retried with backoff and jitter after
//!   connection failures, timeouts and 5xx answers; a message send only when it certainly
//!   never reached X, else [`Error::OutcomeUnknown`] (or reconciliation, with
//!   [`ReconcilePolicy::LookBeforeResend`]);
//! - **pagination**: listings are streams of pages or events ([`Pages`], [`Events`]) that stop
//!   on X's empty last page, can be limited, resume from a saved token, never yield an event
//!   twice, and end with [`Error::RepeatedToken`] rather than loop on a server that repeats
//!   itself;
//! - **partial errors**: what X reports beside an answer (a referenced post not found, a field
//!   the app may not read) is never dropped: every [`EventItem`] carries its page's, and
//!   [`Sent`], [`Blocking`] and [`Deletion`] keep theirs;
//! - **tokens**: OAuth 2.0 tokens are refreshed before expiry and once after a 401, by one
//!   task at a time; OAuth 1.0a requests are signed with a fresh nonce.
//! - **real-time DMs**: [`activity::ActivityStream`] holds the X Activity API stream open
//!   (reconnects and backoff as X asks, gaps filled from `GET /2/dm_events`) and hands out
//!   each DM once; [`activity::ActivitySetup`] subscribes a user in one call. The stream
//!   takes the app's Bearer token ([`Credentials::AppBearer`], `X_BEARER_TOKEN` through
//!   [`Config::app_bearer_from_env`]).
//!
//! The crate depends on no HTTP library and no runtime. The `xdm-hyper` crate supplies a
//! hyper transport, a tokio timer, and `xdm_hyper::from_env()`.
//!
//! # Conventions
//!
//! - Ids are typed and passed by reference: `&EventId`, `&UserId`, `&ConversationId`.
//! - Optional parameters have defaults: [`get_event(&id)`](Client::get_event),
//!   [`list_events()`](Client::list_events), [`list_conversation_events(&id)`](Client::list_conversation_events)
//!   and [`list_participant_events(&user)`](Client::list_participant_events) use X's; each has
//!   a `_with` variant taking a `FieldSet` or `ListParams`.
//! - Outcomes read as words: [`BlockState::Blocked`]/[`NotBlocked`](BlockState::NotBlocked),
//!   [`DeleteState::Deleted`]/[`NotDeleted`](DeleteState::NotDeleted).
//! - Public structs that may gain fields are `#[non_exhaustive]`; read their fields freely.
//!
//! # Example
//!
//! A client over an in-memory transport that answers every request itself; any HTTP client
//! plugs in the same way.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use bytes::Bytes;
//! use xdm_client::transport::{Timer, TransportError};
//! use xdm_client::{Client, Config, Credentials};
//!
//! struct Clock;
//! impl Timer for Clock {
//!     fn now(&self) -> SystemTime { SystemTime::now() }
//!     fn sleep(&self, _: Duration) -> impl std::future::Future<Output = ()> + Send { async {} }
//! }
//!
//! let transport = |request: http::Request<Bytes>| async move {
//!     assert!(request.headers().contains_key("authorization"));
//!     let body = r#"{"data":[{"id":"1","event_type":"MessageCreate","text":"hi"}],
//!                    "meta":{"result_count":1}}"#;
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from(body)))
//! };
//! let config = Config::new(Credentials::oauth2_token("user-access-token"));
//! let client = Client::new(transport, Clock, config);
//!
//! # let run = async {
//! let mut events = client.list_events().events();
//! while let Some(item) = events.next().await {
//!     assert_eq!(item?.event.text.as_deref(), Some("hi"));
//! }
//! # Ok::<(), xdm_client::Error>(())
//! # };
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run).unwrap();
//! ```

// Public types that may grow are `#[non_exhaustive]`; where a type is complete by its nature
// (a decision, a closed set of states), it says so with an `allow` and the reason.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub mod activity;
mod client;
pub mod config;
mod download;
mod error;
mod execute;
mod jitter;
mod operations;
mod pages;
mod policy;
mod ready;
mod reconcile;
mod send;
pub mod token_store;
pub mod transport;
mod upload;
pub mod webhook;

pub use client::{Client, ClientBuilder};
pub use config::{Config, ConfigError, Credentials, vars};
pub use download::MediaStream;
pub use error::{AuthorizationError, Error, OutcomeCause, Recipient, UnknownOutcome};
pub use operations::{BlockState, Blocking, DeleteState, Deletion};
pub use pages::{EventItem, Events, Pages};
pub use policy::{RateLimitPolicy, ReconcilePolicy};
pub use ready::FromEnv;
pub use send::Sent;
pub use token_store::{RefreshLock, StoreFuture, TokenStore, TokenStoreError};
pub use upload::{ChunkFuture, MediaReader, MediaSource};

#[cfg(test)]
mod tests;
