//! X API v2 Direct Messages for Rust: list, read, send, delete, block and unblock DMs, create
//! group conversations, upload and download DM media, with OAuth 2.0 (PKCE, refresh) and
//! OAuth 1.0a.
//!
//! This is the one crate to depend on. It gathers the workspace's crates under one roof:
//! the sans-IO core (ids, fields, models, endpoints, typed errors, pagination, rate-limit and
//! retry decisions), OAuth, the async client, and a ready transport over hyper and rustls with
//! the tokio timer.
//!
//! # A first program
//!
//! ```sh
//! cargo add xdm tokio --features tokio/macros,tokio/rt-multi-thread
//! ```
//!
//! ```no_run
//! use xdm::prelude::*;
//!
//! # #[cfg(not(feature = "hyper"))] fn main() {}
//! # #[cfg(feature = "hyper")]
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET
//!     // (OAuth 1.0a), or X_OAUTH2_ACCESS_TOKEN (OAuth 2.0), say who you are;
//!     // X_API_BASE_URL where X is (https://api.x.com unless set).
//!     let client = xdm::Client::from_env()?;
//!     let to: UserId = "2244994945".parse()?;
//!     let sent = client
//!         .send_to_participant(&to, Message::text("Hello from Rust")?)
//!         .await?;
//!     if let Some(id) = &sent.event_id {
//!         println!("sent event {id}");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! The client waits out X's rate limits rather than failing, retries what is safe to retry,
//! never sends a message twice, refreshes OAuth 2.0 tokens, and turns listings into streams
//! that stop on X's empty last page. [`Client`] lists every operation.
//!
//! # Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | [`activity`] | real-time DMs: the activity stream client, subscription setup, delivery decoding, webhook checks |
//! | [`ids`] | validated ids: [`UserId`], [`ConversationId`], [`EventId`], [`MediaId`], pagination tokens |
//! | [`endpoints`] | one type per endpoint, [`Message`] and [`ListParams`] |
//! | [`fields`] | which fields and expansions to ask for: [`FieldSet`] |
//! | [`models`] | what X answers: events, users, posts, media |
//! | [`error`] | the client's [`Error`], X's classified [`ApiError`](error::ApiError), configuration errors |
//! | [`auth`] | OAuth 1.0a signing, OAuth 2.0 with PKCE, tokens and their refresh, scopes, secrets |
//! | [`transport`] | the [`Transport`](transport::Transport) and [`Timer`](transport::Timer) traits, and the hyper transport (feature `hyper`) |
//! | [`pagination`], [`rate_limit`], [`retry`], [`upload`], [`includes`], [`response`], [`endpoint`] | the sans-IO machinery, for those who drive it themselves |
//! | `emulator` | a local X DM API server for your tests (feature `emulator`) |
//! | `redis` | many workers and accounts sharing one Redis: token refresh, rate limits, checkpoints, `Fleet` (feature `redis`) |
//!
//! The names most programs use are also at the top level, and [`prelude`] brings the
//! commonest into scope at once.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `hyper` | yes | the ready client: `Client` over hyper + rustls with the tokio timer, `Client::from_env()`, `builder()` |
//! | `webpki-roots` | yes | trusts Mozilla's root certificates, compiled in (enables `hyper`) |
//! | `native-roots` | no | trusts the operating system's certificate store (enables `hyper`) |
//! | `emulator` | no | `xdm::emulator`, a stateful local X DM API server to test your own code against |
//! | `redis` | no | `xdm::redis`: fleet-wide token refresh, shared rate limits and checkpoints on Redis, and the multi-account `Fleet` |
//!
//! With `default-features = false` the crate is the sans-IO core, OAuth and the generic
//! client, which has no HTTP library and no runtime: bring a [`Transport`](transport::Transport)
//! (a closure will do) and a [`Timer`](transport::Timer), and [`Client`] is
//! `Client<YourTransport, YourTimer>` (always reachable as [`client::Client`]). The single crates (`xdm-core`, `xdm-auth`,
//! `xdm-client`, `xdm-hyper`) can also be used on their own.

// Public types that may grow are `#[non_exhaustive]`; where a type is complete by its nature
// (a decision, a closed set of states), it says so with an `allow` and the reason.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub use client::*;

/// The async client, generic over its transport and timer ([`client::Client<T, C>`]), with its
/// configuration, policies, listings as streams, and the outcome of sends. Everything here is
/// also at the crate's top level, where (feature `hyper`) `Client` is the ready client.
pub mod client {
    pub use xdm_client::*;
}

/// Real-time DMs through the X Activity API: the stream client ([`ActivityStream`](activity::ActivityStream)),
/// subscription setup ([`ActivitySetup`](activity::ActivitySetup)), and the sans-IO pieces
/// beneath them (delivery decoding, the event model, the line decoder, the reconnect session,
/// the deduper, webhook CRC and signatures).
pub mod activity {
    pub use xdm_client::activity::*;
    pub use xdm_core::activity::*;
}

/// Validated ids: users, conversations, events, media, pagination tokens.
pub use xdm_core::ids;

/// One type per endpoint, and the values they take: messages, listing parameters.
pub use xdm_core::endpoints;

/// Which fields and expansions to ask X for.
pub use xdm_core::fields;

/// What X answers: events, users, posts, media, and the includes that go with them.
pub use xdm_core::models;

/// The expanded objects of a response, resolved by id.
pub use xdm_core::includes;

/// Pagination as a state machine: the next request, or why the listing ended.
pub use xdm_core::pagination;

/// Rate-limit state learned from response headers, and admission decisions.
pub use xdm_core::rate_limit;

/// Retry decisions and the classification of transport failures.
pub use xdm_core::retry;

/// The chunked media-upload state machine.
pub use xdm_core::upload;

/// Decoded responses: data, includes, metadata and partial errors.
pub use xdm_core::response;

/// The endpoint trait and what travels with a request.
pub use xdm_core::endpoint;

pub use xdm_core::endpoints::{ListParams, Message};
pub use xdm_core::fields::FieldSet;
pub use xdm_core::ids::{ConversationId, EventId, MediaId, UserId};
pub use xdm_core::{BaseUrl, Dialect, InvalidInput, Scope};

/// The ready client: [`xdm_client::Client`] over [`transport::HyperTransport`] and
/// [`transport::TokioClock`]. [`Client::from_env`] reads the environment (see [`vars`]);
/// [`builder`] chooses the rest.
#[cfg(feature = "hyper")]
pub type Client = xdm_hyper::Client;

#[cfg(feature = "hyper")]
pub use xdm_hyper::{Builder, MediaFile, SetupError, builder};

/// What can go wrong: the client's errors, X's classified API errors, configuration errors.
pub mod error {
    pub use xdm_client::{AuthorizationError, ConfigError, Error, OutcomeCause, UnknownOutcome};
    pub use xdm_core::InvalidInput;
    pub use xdm_core::error::*;
    #[cfg(feature = "hyper")]
    pub use xdm_hyper::{BuildError, SetupError};
}

/// Receiving DMs by webhook: the framework-free [`WebhookReceiver`](webhook::WebhookReceiver)
/// for any `http` server, the CRC and signature functions it is built on, the
/// [`Webhooks`](webhook::Webhooks) registration helpers, and (feature `hyper`) a ready
/// [`WebhookServer`](webhook::WebhookServer).
pub mod webhook {
    pub use xdm_client::webhook::*;
    pub use xdm_core::activity::dedup::{DedupSnapshot, EventDeduper};
    pub use xdm_core::activity::webhook::*;
    pub use xdm_core::activity::{ActivityDelivery, ActivityEvent, DmMessage};
    #[cfg(feature = "hyper")]
    pub use xdm_hyper::webhook::{WebhookServer, serve};
}

/// Authentication: OAuth 1.0a signing and three-legged flow, OAuth 2.0 authorization code
/// with PKCE, user tokens and their single-flight refresh, scopes, and secrets that print as
/// `[redacted]`.
pub mod auth {
    pub use xdm_auth::*;
    pub use xdm_core::auth::*;
}

/// How requests reach X: the [`Transport`](transport::Transport) and
/// [`Timer`](transport::Timer) traits a custom stack implements,
/// and (feature `hyper`) the hyper + rustls transport with the tokio timer.
pub mod transport {
    pub use xdm_client::transport::*;
    #[cfg(feature = "hyper")]
    pub use xdm_hyper::*;

    /// The TLS library of the hyper transport, for
    /// [`HyperTransportBuilder::tls_config`]: its [`ClientConfig`](rustls::ClientConfig),
    /// root store, certificate types and crypto providers, at the version the transport uses.
    #[cfg(feature = "hyper")]
    pub use xdm_hyper::rustls;

    /// The request and response types a [`Transport`] takes and gives,
    /// at the version the client uses.
    pub use ::http;

    /// The body type of requests and responses.
    pub use ::bytes;
}

/// A stateful local X DM API server (users, conversations, events, media, OAuth, rate limits,
/// faults) to test your own code against, without the network.
#[cfg(feature = "emulator")]
pub use xdm_emulator as emulator;

/// The names most programs use: `use xdm::prelude::*;`.
pub mod prelude {
    pub use crate::ids::{ConversationId, EventId, UserId};
    pub use crate::{
        Client, Config, Credentials, Error, EventItem, Events, FieldSet, ListParams, Message,
    };
}

/// Many workers, many accounts, one Redis: a token store whose refresh is single-flight across
/// the fleet, rate-limit windows shared by every worker, checkpoints another worker can take
/// over, and a [`Fleet`](redis::Fleet) handing out one client per account.
#[cfg(feature = "redis")]
pub use xdm_redis as redis;
