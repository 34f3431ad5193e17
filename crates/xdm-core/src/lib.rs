//! Sans-IO core of the X API v2 Direct Message SDK.
//!
//! This crate turns what a caller wants ("list this conversation's events", "send this text")
//! into [`http::Request`] values, and turns [`http::Response`] values back into typed results.
//! It never opens a socket, never reads a clock and never sleeps: time is always an argument,
//! and the decisions that involve waiting ("wait until T", "retry after D") are returned to the
//! caller, who owns the runtime. That keeps it usable from any HTTP stack and any executor, and
//! makes every piece deterministic under test.
//!
//! The way a call travels:
//!
//! 1. build an endpoint value ([`endpoints`]) from validated ids ([`ids`]) and parameters
//!    ([`fields`]); bad input is refused here with [`InvalidInput`];
//! 2. turn it into an `http::Request<Bytes>` with [`Endpoint::build_request`];
//! 3. authorize it through an [`Authorize`] implementation (see the `xdm-auth` crate);
//! 4. ask the [`rate_limit`] limiter whether to send now or wait;
//! 5. send it over any transport;
//! 6. hand the response to [`Endpoint::decode_response`], which yields a typed value or a
//!    classified [`error::ApiError`], and to the limiter, which learns from its headers;
//! 7. ask the [`retry`] policy what to do with a failure, or the [`pagination`] state machine
//!    for the next page.

// Public types that may grow are `#[non_exhaustive]`; where a type is complete by its nature
// (a decision, a closed set of states), it says so with an `allow` and the reason.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub mod activity;
pub mod auth;
pub mod base_url;
pub mod dedup;
pub mod endpoint;
pub mod endpoints;
pub mod error;
pub mod fields;
pub mod ids;
pub mod includes;
pub mod input;
pub mod models;
pub mod pagination;
mod query;
pub mod rate_limit;
pub mod response;
pub mod retry;
pub mod upload;

pub use auth::{Authorize, Credential, Scope};
pub use base_url::BaseUrl;
pub use endpoint::{Delivery, Endpoint, EndpointGroup, EndpointInfo, RequestContext};
pub use fields::Dialect;
pub use input::InvalidInput;
