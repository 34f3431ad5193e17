//! The HTTP transport: hyper-util's pooled client over rustls.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use xdm_core::retry::{ReachedServer, TransportErrorKind, TransportFailure};

use xdm_client::transport::{BodyStream, StreamingTransport, Transport, TransportError};

use crate::error::BuildError;

/// Which HTTP versions the transport speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/2 when the server offers it through TLS ALPN, else HTTP/1.1. Plain-text
    /// connections use HTTP/1.1. The default.
    #[default]
    Negotiate,
    /// HTTP/1.1 only.
    Http1Only,
    /// HTTP/2 only; on plain-text connections this is "prior knowledge" (h2c), which loopback
    /// test servers such as the emulator accept.
    Http2Only,
}

/// A pooled HTTP/1.1 and HTTP/2 client with timeouts and a response size cap.
///
/// Cloning is cheap and shares the connection pool. As a
/// [`StreamingTransport`] it also hands over bodies as they arrive, with no size cap and a
/// timeout between chunks instead of one for the whole body.
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    request_timeout: Duration,
    body_idle_timeout: Duration,
    max_response_bytes: usize,
    /// One permit per request in flight, shared by clones: hyper-util's pool bounds only idle
    /// connections, so without this an HTTP/1.1 burst opens one connection per request.
    slots: Arc<Semaphore>,
    max_concurrent_requests: usize,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("request_timeout", &self.request_timeout)
            .field("body_idle_timeout", &self.body_idle_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A builder with the defaults: 10 s to connect, 30 s for a whole request (for a streamed
    /// one, until its headers), 30 s at most between the chunks of a streamed body, 90 s idle
    /// connections kept, 16 MiB largest whole response, 64 requests in flight at once, HTTP/2
    /// negotiated through ALPN.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    /// Sends `request` and reads the whole response, within the request timeout and size cap.
    ///
    /// When [`max_concurrent_requests`](HyperTransportBuilder::max_concurrent_requests)
    /// requests are already in flight, this first waits for one of them to finish. The request
    /// timeout starts once a slot is free: counting the queue against it would leave a request
    /// at the back of a burst with too little time, and a timeout after writing a send makes
    /// its outcome unknown. A buffered request ahead holds its slot for at most its own
    /// timeout; a streamed body ([`send_streaming`](Self::send_streaming)) holds one until it
    /// ends, fails or is dropped, so a caller that keeps a stream unread keeps its slot.
    ///
    /// Must run inside a tokio runtime with the time driver enabled.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        // Held until the body is read: on HTTP/1.1 the connection is busy until then.
        let _slot = self.slots.acquire().await.map_err(|_| {
            // The semaphore is never closed; this only keeps the code total.
            TransportError::new(
                TransportFailure::new(TransportErrorKind::Other, ReachedServer::No),
                "the transport's request slots are closed",
            )
        })?;
        let request = request.map(Full::new);
        let exchange = async {
            let response = self.client.request(request).await.map_err(classify_send)?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.max_response_bytes)
                .collect()
                .await
                .map_err(|e| classify_body(e, self.max_response_bytes))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body))
        };
        match tokio::time::timeout(self.request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::new(
                TransportFailure::new(TransportErrorKind::Timeout, ReachedServer::Maybe),
                format!(
                    "no complete response within {} ms",
                    self.request_timeout.as_millis()
                ),
            )),
        }
    }

    /// Sends `request` and returns the response once its headers are in, with a body that
    /// arrives as it is read.
    ///
    /// The request timeout covers the wait for a slot to be counted from, connecting and the
    /// headers, as for [`send`](Self::send); after that, each chunk of the body must arrive
    /// within the [body idle timeout](HyperTransportBuilder::body_idle_timeout), however long
    /// the whole body takes, and no size cap applies. The request keeps its slot (see
    /// [`max_concurrent_requests`](HyperTransportBuilder::max_concurrent_requests)) until its
    /// body has ended, failed, or been dropped.
    ///
    /// Must run inside a tokio runtime with the time driver enabled.
    pub async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, TransportError> {
        let slot = Arc::clone(&self.slots).acquire_owned().await.map_err(|_| {
            TransportError::new(
                TransportFailure::new(TransportErrorKind::Other, ReachedServer::No),
                "the transport's request slots are closed",
            )
        })?;
        let request = request.map(Full::new);
        let response =
            match tokio::time::timeout(self.request_timeout, self.client.request(request)).await {
                Ok(result) => result.map_err(classify_send)?,
                Err(_) => {
                    return Err(TransportError::new(
                        TransportFailure::new(TransportErrorKind::Timeout, ReachedServer::Maybe),
                        format!(
                            "no response headers within {} ms",
                            self.request_timeout.as_millis()
                        ),
                    ));
                }
            };
        let (parts, body) = response.into_parts();
        let mut reader = ChunkReader {
            body: Some(body),
            slot: Some(slot),
            idle_timeout: self.body_idle_timeout,
            idle: Box::pin(tokio::time::sleep(self.body_idle_timeout)),
            waiting: false,
        };
        let body = BodyStream::from_poll_fn(move |cx| reader.poll_chunk(cx));
        Ok(http::Response::from_parts(parts, body))
    }
}

/// A streamed body being read: the connection's body, the request's slot, and the deadline
/// for the next chunk. Both the body and the slot are let go the moment the body ends or
/// fails, not only when the stream is dropped, so a caller that keeps a finished stream
/// around holds back no other request.
struct ChunkReader {
    body: Option<Incoming>,
    slot: Option<OwnedSemaphorePermit>,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    /// Whether the deadline runs: from the first poll that found no data, so that time the
    /// caller spends between reads (writing a chunk to a slow disk) is never the server's.
    waiting: bool,
}

impl ChunkReader {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, TransportError>>> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    self.waiting = false;
                    // Trailers and empty frames carry no bytes of the file.
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                        _ => continue,
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    self.finish();
                    return Poll::Ready(Some(Err(body_broke(&error))));
                }
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if !self.waiting {
                        self.waiting = true;
                        self.idle.as_mut().reset(Instant::now() + self.idle_timeout);
                    }
                    if self.idle.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.finish();
                    return Poll::Ready(Some(Err(TransportError::new(
                        TransportFailure::new(TransportErrorKind::Timeout, ReachedServer::Maybe),
                        format!(
                            "the response body stalled: no data for {} ms",
                            self.idle_timeout.as_millis()
                        ),
                    ))));
                }
            }
        }
    }

    fn finish(&mut self) {
        self.body = None;
        self.slot = None;
    }
}

/// Configures a [`HyperTransport`].
#[derive(Debug, Clone)]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    body_idle_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    max_response_bytes: usize,
    max_concurrent_requests: usize,
    version: HttpVersion,
    extra_roots: Vec<CertificateDer<'static>>,
    tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 32,
            max_response_bytes: 16 * 1024 * 1024,
            max_concurrent_requests: 64,
            version: HttpVersion::default(),
            extra_roots: Vec::new(),
            tls_config: None,
        }
    }
}

impl HyperTransportBuilder {
    /// How long establishing a TCP connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole exchange may take: connecting, sending, and reading the full body.
    /// For a [streamed](HyperTransport::send_streaming) response, how long until its headers.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long the body of a [streamed](HyperTransport::send_streaming) response may go
    /// without delivering any data, from the headers to the first chunk and between chunks.
    /// A large file on a slow link thus finishes as long as it keeps moving. Default 30 s.
    pub fn body_idle_timeout(mut self, timeout: Duration) -> Self {
        self.body_idle_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections per host the pool keeps.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The largest response body [`send`](HyperTransport::send) accepts; a larger one fails
    /// with an error, not an allocation of whatever size the server chose. Streamed bodies,
    /// which are never held whole, are not capped.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// How many requests may be in flight at once across all clones of the transport; more
    /// wait for a free slot, and their request timeout starts when they get one. Default 64;
    /// at least 1.
    ///
    /// Over HTTP/1.1, where a connection carries one exchange at a time, this bounds the open
    /// connections, which hyper-util's pool does not: it bounds only the idle ones
    /// ([`pool_max_idle_per_host`](Self::pool_max_idle_per_host)). A connection goes back to
    /// the pool just after its response is read, so a request that starts in that instant may
    /// begin to open a new one; when the returning connection serves it first, the new one
    /// still completes and joins the idle pool, or is closed when the pool is full. Each slot
    /// thus holds at most one connection in use and one such late arrival: fewer than
    /// `2 × max_concurrent_requests + pool_max_idle_per_host` connections are open at once,
    /// and in steady traffic about `max_concurrent_requests`. Over HTTP/2 it bounds the
    /// streams in flight on the shared connection.
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max;
        self
    }

    /// Which HTTP versions to speak.
    pub fn http_version(mut self, version: HttpVersion) -> Self {
        self.version = version;
        self
    }

    /// Trusts one more certificate (DER), such as a test server's self-signed one, on top of
    /// the roots chosen by the crate's features.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(CertificateDer::from(der.into()));
        self
    }

    /// Trusts the certificates of a PEM bundle, such as the emulator's self-signed one.
    pub fn add_root_certificates_pem(mut self, pem: &str) -> Result<Self, BuildError> {
        use rustls::pki_types::pem::PemObject;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert =
                cert.map_err(|e| BuildError::new(format!("unreadable PEM certificate: {e}")))?;
            self.extra_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(BuildError::new("the PEM text holds no certificate"));
        }
        Ok(self)
    }

    /// Uses this TLS configuration as it is, instead of building one from the features and
    /// [`add_root_certificate_der`](Self::add_root_certificate_der). ALPN is set by the
    /// transport according to [`http_version`](Self::http_version). Build it with
    /// [`crate::rustls`], the version of rustls the transport uses.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls_config = Some(Arc::new(config));
        self
    }

    /// Builds the transport. No connection is opened until the first request.
    pub fn build(self) -> Result<HyperTransport, BuildError> {
        if self.max_concurrent_requests == 0 {
            // No request could ever be sent.
            return Err(BuildError::new(
                "max_concurrent_requests must be at least 1",
            ));
        }
        let max_concurrent_requests = self.max_concurrent_requests.min(Semaphore::MAX_PERMITS);
        let tls = match self.tls_config {
            Some(config) => Arc::unwrap_or_clone(config),
            None => default_tls_config(&self.extra_roots)?,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.connect_timeout));
        // DM calls are small request/response pairs: Nagle's delay would only add latency.
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let connector = match self.version {
            HttpVersion::Negotiate => builder.enable_all_versions().wrap_connector(http),
            HttpVersion::Http1Only => builder.enable_http1().wrap_connector(http),
            HttpVersion::Http2Only => builder.enable_http2().wrap_connector(http),
        };
        let mut client = Client::builder(TokioExecutor::new());
        // The pool only expires idle connections when it has a timer to do it with.
        client
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .http2_only(self.version == HttpVersion::Http2Only);
        Ok(HyperTransport {
            client: client.build(connector),
            request_timeout: self.request_timeout,
            body_idle_timeout: self.body_idle_timeout,
            max_response_bytes: self.max_response_bytes,
            slots: Arc::new(Semaphore::new(max_concurrent_requests)),
            max_concurrent_requests,
        })
    }
}

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    // The provider is passed explicitly: a library that installed a process-wide default would
    // make applications that link both providers panic.
    #[cfg(feature = "aws-lc-rs")]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    compile_error!(
        "xdm-hyper needs a TLS crypto provider: enable the `ring` or `aws-lc-rs` feature"
    );
}

fn default_tls_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, BuildError> {
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| BuildError::new(format!("a root certificate was refused: {e}")))?;
    }
    if roots.is_empty() {
        return Err(BuildError::new(
            "no trust anchors: enable the `webpki-roots` or `native-roots` feature, or add a root certificate",
        ));
    }
    rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::new(format!("TLS configuration: {e}")))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

fn classify_send(error: hyper_util::client::legacy::Error) -> TransportError {
    // A failure to connect (DNS, TCP, TLS handshake) happens before a byte of the request is
    // written, so the server certainly did not see it; anything later may have reached it.
    let failure = if error.is_connect() {
        TransportFailure::new(TransportErrorKind::Connect, ReachedServer::No)
    } else if has_io_source(&error) {
        TransportFailure::new(TransportErrorKind::Io, ReachedServer::Maybe)
    } else {
        TransportFailure::new(TransportErrorKind::Other, ReachedServer::Maybe)
    };
    TransportError::new(failure, error_chain(&error))
}

fn classify_body(error: Box<dyn std::error::Error + Send + Sync>, cap: usize) -> TransportError {
    // The status line arrived, so the server processed the request in any case.
    if error.is::<http_body_util::LengthLimitError>() {
        return TransportError::new(
            TransportFailure::new(TransportErrorKind::TooLarge, ReachedServer::Maybe),
            format!("the response body is larger than the {cap}-byte limit"),
        );
    }
    body_broke(&*error)
}

fn body_broke(error: &(dyn std::error::Error + 'static)) -> TransportError {
    TransportError::new(
        TransportFailure::new(TransportErrorKind::Io, ReachedServer::Maybe),
        format!("reading the response body: {}", error_chain(error)),
    )
}

fn has_io_source(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(e) = source {
        if e.is::<std::io::Error>() {
            return true;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// The error and its sources on one line. Transport errors describe sockets and protocol
/// states, never headers, so no credential can appear here.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<http::Response<Bytes>, TransportError>> + Send
    {
        HyperTransport::send(self, request)
    }
}

impl StreamingTransport for HyperTransport {
    fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<http::Response<BodyStream>, TransportError>> + Send
    {
        HyperTransport::send_streaming(self, request)
    }
}
