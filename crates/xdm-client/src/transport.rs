//! What the client needs from the outside world: a way to exchange one HTTP request for one
//! response, and a clock that can sleep.
//!
//! Both are small traits so that any HTTP stack and any runtime can drive the client. A closure
//! is enough for a transport, which makes in-memory transports for tests one line long. A
//! transport that can also hand over a body as it arrives implements [`StreamingTransport`],
//! which lets media downloads of any size pass through without being held in memory.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_core::Stream;
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
            TransportErrorKind::TooLarge => "answer too large",
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

/// A transport that can also hand over a response before its body has arrived.
///
/// This is what [`Client::download_media_stream`](crate::Client::download_media_stream) needs
/// to pass a large media file through without holding it in memory. It is optional: a
/// transport that only implements [`Transport`] still downloads media, whole, through
/// [`Client::download_media`](crate::Client::download_media).
///
/// The returned future completes once the status and headers are in. Failures up to that
/// point are classified as for [`Transport::send`]; a failure while the body arrives is an
/// error item of the [`BodyStream`], after which the stream ends. Implementations that bound
/// how many requests are in flight keep a request counted until its body stream ends or is
/// dropped.
///
/// ```
/// use bytes::Bytes;
/// use xdm_client::transport::{BodyStream, StreamingTransport, Transport, TransportError};
///
/// /// Answers every request with the same bytes, in two chunks.
/// struct Fixed;
///
/// impl Transport for Fixed {
///     async fn send(
///         &self,
///         _: http::Request<Bytes>,
///     ) -> Result<http::Response<Bytes>, TransportError> {
///         Ok(http::Response::new(Bytes::from_static(b"abcdef")))
///     }
/// }
///
/// impl StreamingTransport for Fixed {
///     async fn send_streaming(
///         &self,
///         _: http::Request<Bytes>,
///     ) -> Result<http::Response<BodyStream>, TransportError> {
///         let mut chunks = vec![Bytes::from_static(b"def"), Bytes::from_static(b"abc")];
///         let body = BodyStream::from_poll_fn(move |_| {
///             std::task::Poll::Ready(chunks.pop().map(Ok))
///         });
///         Ok(http::Response::new(body))
///     }
/// }
/// ```
pub trait StreamingTransport: Transport {
    /// Sends `request` and returns the response as soon as its headers are in, with the body
    /// still to come.
    fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<BodyStream>, TransportError>> + Send;
}

/// The chunks of a response body as they arrive, from a [`StreamingTransport`].
///
/// A [`Stream`] of `Result<Bytes, TransportError>`; [`next_chunk`](Self::next_chunk) reads it
/// without a stream library. After an error item the stream should end: the transport has
/// given up on the body.
pub struct BodyStream {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>,
}

impl BodyStream {
    /// Wraps any stream of chunks.
    pub fn new<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        Self {
            inner: Box::pin(stream),
        }
    }

    /// A stream whose next item is whatever `poll` answers, for transports that read a body
    /// by polling and would rather not implement [`Stream`] themselves.
    pub fn from_poll_fn<F>(poll: F) -> Self
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<Result<Bytes, TransportError>>> + Send + 'static,
    {
        Self::new(PollFn(poll))
    }

    /// A body that is already whole: one chunk, or none when `body` is empty.
    pub fn from_bytes(body: Bytes) -> Self {
        let mut body = Some(body).filter(|b| !b.is_empty());
        Self::from_poll_fn(move |_| Poll::Ready(body.take().map(Ok)))
    }

    /// The next chunk; `None` once the body has ended.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        std::future::poll_fn(|cx| self.inner.as_mut().poll_next(cx)).await
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream").finish_non_exhaustive()
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// The stream behind [`BodyStream::from_poll_fn`].
struct PollFn<F>(F);

// The closure is only ever called through `&mut`, never pinned in place.
impl<F> Unpin for PollFn<F> {}

impl<F> Stream for PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<Result<Bytes, TransportError>>>,
{
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        (self.0)(cx)
    }
}
