//! End-to-end tests of the emulator over loopback HTTP. Every JSON body received through
//! [`common::Api`] is validated against the OpenAPI response schema of its endpoint.

mod common;
mod schema;

mod activity_stream;
mod auth;
mod console;
mod events;
mod faults;
mod media;
mod oauth;
mod rate_limits;
mod send;
mod server;
mod subscriptions;
#[cfg(feature = "tls")]
mod tls;
mod users;
mod validation;
mod webhooks;
