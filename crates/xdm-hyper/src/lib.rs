//! The hyper + rustls transport for the xdm X DM client.
//!
//! [`HyperTransport`] is a pooled HTTP/1.1 and HTTP/2 client (hyper-util) over rustls, with a
//! connect timeout, a whole-request timeout and a response size cap, whose failures are
//! classified for the client's retry decisions without exposing any hyper or rustls type.

mod clock;
mod error;
mod transport;

pub use clock::TokioClock;
pub use error::BuildError;
pub use transport::{HttpVersion, HyperTransport, HyperTransportBuilder};
