//! The hyper + rustls transport for the xdm X DM client, and one-line ready clients.
//!
//! [`HyperTransport`] is a pooled HTTP/1.1 and HTTP/2 client (hyper-util) over rustls, with a
//! connect timeout, a whole-request timeout and a response size cap, whose failures are
//! classified for the client's retry decisions without exposing any hyper or rustls type. It
//! also streams bodies (for media downloads of any size), with an idle timeout between chunks
//! in place of the whole-request timeout and the size cap.
//! [`TokioClock`] is the timer. [`from_env`] and [`builder`] put them together into a
//! [`Client`]. [`FileTokenStore`] keeps an OAuth 2.0 token in a file that processes share
//! safely, and [`SavedLogin`] and [`resolve_env`] read the login `xdm login` saves, as
//! [`from_env`] does when no credential variable is set.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use xdm_core::endpoints::Message;
//!
//! // X_API_BASE_URL, and X_CONSUMER_KEY... or X_OAUTH2_ACCESS_TOKEN (else the login
//! // `xdm login` saved) say where and who.
//! let client = xdm_hyper::from_env()?;
//! let sent = client
//!     .send_to_participant(&"2244994945".parse()?, Message::text("Hello from Rust")?)
//!     .await?;
//! if let Some(id) = &sent.event_id {
//!     println!("sent event {id}");
//! }
//! # Ok(()) }
//! ```
//!
//! Responses are not compressed: DM bodies are a few kilobytes of JSON, where gzip saves less
//! time than it costs in a dependency and a decompression-bomb guard.

// Public types that may grow are `#[non_exhaustive]`; where a type is complete by its nature
// (a decision, a closed set of states), it says so with an `allow` and the reason.
#![warn(clippy::exhaustive_structs, clippy::exhaustive_enums)]

mod clock;
mod error;
mod login;
mod media_file;
mod ready;
mod store;
mod transport;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use clock::TokioClock;
pub use error::BuildError;
pub use login::{
    CONFIG_DIR_VAR, NoConfigDir, ResolveError, Resolved, SavedClient, SavedLogin, config_dir,
    resolve, resolve_env,
};
pub use media_file::MediaFile;
pub use ready::{Builder, Client, SetupError, builder, from_env};
pub use store::{FileStoreError, FileTokenStore};
pub use transport::{HttpVersion, HyperTransport, HyperTransportBuilder};

/// The TLS library the transport is built on, re-exported because
/// [`HyperTransportBuilder::tls_config`] takes a [`rustls::ClientConfig`]: building one needs
/// its root store ([`rustls::RootCertStore`]), certificate types ([`rustls::pki_types`]) and
/// crypto providers ([`rustls::crypto`]), and naming them through this path keeps the version
/// the same as the transport's, whatever version a program depends on itself. The provider
/// this crate's features enable is `rustls::crypto::ring` (feature `ring`, the default) or
/// `rustls::crypto::aws_lc_rs` (feature `aws-lc-rs`).
///
/// No hyper or hyper-util type appears in this crate's public API, so neither is re-exported.
pub use rustls;
