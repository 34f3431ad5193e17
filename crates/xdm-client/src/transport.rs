//! What the client needs from the outside world: a way to exchange one HTTP request for one
//! response, and a clock that can sleep.
//!
//! Both are small traits so that any HTTP stack and any runtime can drive the client. A closure
//! is enough for a transport, which makes in-memory transports for tests one line long.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use xdm_core::retry::{TransportErrorKind, TransportFailure};

/// Exchanges one request for one whole response.
///
/// Implementations read the whole body (with a size cap of their choosing) and classify every
/// failure as a [`TransportFailure`], saying in particular whether the request may have reached
/// the server: that is what decides whether a message send may be retried.
///
/// Any `Fn(http::Request<Bytes>) -> impl Future<Output = Result<http::Response<Bytes>,
/// TransportError>>` is a transport:
///
/// ```
/// use bytes::Bytes;
/// use xdm_client::transport::{Transport, TransportError};
///
/// let transport = |request: http::Request<Bytes>| async move {
///     let _ = request;
///     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(b"{}")))
/// };
/// fn assert_transport(_: &impl Transport) {}
/// assert_transport(&transport);
/// ```
pub trait Transport: Send + Sync {
    /// Sends `request` and returns the response with its whole body.
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send;
}

impl<F, Fut> Transport for F
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send,
{
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        self(request)
    }
}

/// The wall clock and a way to wait, supplied by the runtime.
pub trait Timer: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// A request that got no response, classified for retry decisions.
///
/// The message describes sockets and protocol states; transports must not put headers or URLs
/// with credentials into it.
#[derive(Debug)]
pub struct TransportError {
    failure: TransportFailure,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A failure of the given class, described by `message`.
    pub fn new(failure: TransportFailure, message: impl Into<String>) -> Self {
        Self {
            failure,
            message: message.into(),
            source: None,
        }
    }

    /// The same error with an underlying cause attached.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The classification: what kind of failure, and whether the server may have seen the
    /// request.
    pub fn failure(&self) -> TransportFailure {
        self.failure
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.failure.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            _ => "transport failed",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
