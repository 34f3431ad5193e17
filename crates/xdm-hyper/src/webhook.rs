//! A ready HTTP/1.1 server for a [`WebhookReceiver`]: body size cap, read timeout, graceful
//! shutdown.
//!
//! ```no_run
//! use xdm_client::webhook::{WebhookItem, WebhookReceiver};
//! use xdm_core::activity::webhook::ConsumerSecret;
//! use xdm_hyper::webhook::WebhookServer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let (receiver, mut items) = WebhookReceiver::new(ConsumerSecret::new("consumer secret"));
//! let server = WebhookServer::bind("0.0.0.0:8080", receiver).await?;
//! // Any future stops it: Ctrl-C (`tokio::signal::ctrl_c`), or here a channel.
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(server.run_until(async { stopped.await.ok(); }));
//! while let Some(item) = items.recv().await {
//!     if let WebhookItem::Delivery(delivery) = item {
//!         println!("{} new event(s)", delivery.events.len());
//!         break;
//!     }
//! }
//! stop.send(()).ok();
//! running.await.expect("the server task")?;
//! # Ok(()) }
//! ```
//!
//! X reaches webhooks over `https` on the default port, so in production this server sits
//! behind a TLS-terminating proxy; it serves plain HTTP itself.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, ToSocketAddrs};
use xdm_client::webhook::WebhookReceiver;

/// Serves a [`WebhookReceiver`] on a TCP listener until told to stop.
#[derive(Debug)]
pub struct WebhookServer {
    listener: TcpListener,
    receiver: WebhookReceiver,
    read_timeout: Duration,
    shutdown_grace: Duration,
}

impl WebhookServer {
    /// How long a request's head and body may take to arrive, by default: X gives a webhook
    /// a few seconds to answer, so a slower request is not worth waiting for.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long open connections get to finish after shutdown is asked for, by default.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

    /// Listens on `addr`.
    pub async fn bind(addr: impl ToSocketAddrs, receiver: WebhookReceiver) -> io::Result<Self> {
        Ok(Self::from_listener(
            TcpListener::bind(addr).await?,
            receiver,
        ))
    }

    /// Serves on a listener bound already.
    pub fn from_listener(listener: TcpListener, receiver: WebhookReceiver) -> Self {
        Self {
            listener,
            receiver,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
        }
    }

    /// How long a request's head, and then its body, may take to arrive; a late head closes
    /// the connection, a late body is answered 408.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How long open connections get to finish once shutdown is asked for.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets the open connections
    /// finish their requests (up to the grace period), and returns.
    ///
    /// Errors accepting a connection (such as running out of file descriptors) are logged and
    /// the server goes on after a short pause; the returned error is reserved for failures of
    /// the listener itself, which this version never reports.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting a webhook connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let receiver = self.receiver.clone();
            let read_timeout = self.read_timeout;
            let service =
                service_fn(move |request| answer(receiver.clone(), read_timeout, request));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(self.read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "webhook connection ended with an error");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(self.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("webhook connections still open after the shutdown grace period");
        }
        Ok(())
    }
}

/// Binds `addr` and serves `receiver` with the default settings until `shutdown` completes.
pub async fn serve(
    addr: impl ToSocketAddrs,
    receiver: WebhookReceiver,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    WebhookServer::bind(addr, receiver)
        .await?
        .run_until(shutdown)
        .await
}

/// Reads one request's body within the cap and the timeout, then lets the receiver answer.
async fn answer(
    receiver: WebhookReceiver,
    read_timeout: Duration,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let cap = receiver.max_body_bytes();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap as u64) {
        return Ok(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(read_timeout, Limited::new(body, cap).collect()).await {
        Err(_) => return Ok(refuse(StatusCode::REQUEST_TIMEOUT, "body too slow")),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "reading a webhook body failed");
            return Ok(refuse(StatusCode::BAD_REQUEST, "unreadable body"));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let answer = receiver.handle(http::Request::from_parts(parts, body));
    Ok(answer.map(Full::new))
}

/// An answer given without reading the whole body: the connection cannot be reused.
fn refuse(status: StatusCode, message: &'static str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
