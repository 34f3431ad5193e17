//! The HTTP server: accepting connections (HTTP/1.1 and HTTP/2), reading requests, applying
//! faults, and logging what was received.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::activity::Activity;
use crate::activity::stream::StreamBody;
use crate::auth::{AuthState, CredentialUsed};
use crate::body::EmuBody;
use crate::clock::Clock;
use crate::console::requests::{Outcome, Pending, RequestLog};
use crate::console::{self, Hub, Update, UpdatesBody};
use crate::faults::{FaultKind, Faults};
use crate::ids::TokenCodec;
use crate::problem;
use crate::rate_limit::{Limiter, RateLimits};
use crate::reply::Reply;
use crate::routes::{self, Ctx, Route};
use crate::state::World;

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path, as sent (still percent-encoded).
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// The endpoint's path template, empty for unknown paths.
    pub template: String,
    /// Status sent, or `None` when the connection was closed instead.
    pub status: Option<u16>,
    /// Which credential the request carried.
    pub credential: CredentialUsed,
    /// Whether the request was made over HTTP/2.
    pub http2: bool,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Switches {
    pub(crate) usage_capped: bool,
    pub(crate) credits_depleted: bool,
}

/// Everything mutable, behind one lock that is never held across an await.
pub(crate) struct Inner {
    pub(crate) world: World,
    pub(crate) auth: AuthState,
    pub(crate) limiter: Limiter,
    pub(crate) limits: RateLimits,
    pub(crate) faults: Faults,
    pub(crate) log: Vec<RequestRecord>,
    /// The console's detailed, redacted request log (only while the console is on).
    pub(crate) requests: Option<RequestLog>,
    pub(crate) switches: Switches,
    pub(crate) codec: TokenCodec,
    pub(crate) auto_approve: bool,
    /// Registered callback URLs; empty means any is accepted.
    pub(crate) redirect_uris: Vec<String>,
    /// Subscriptions, stream connections and webhooks.
    pub(crate) activity: Activity,
    /// Work a route left for after the lock is released.
    pub(crate) followup: Option<Followup>,
}

/// What a route cannot finish under the lock.
pub(crate) enum Followup {
    /// Serve this body as the stream's response.
    Stream(StreamBody),
    /// Run a CRC check, then answer.
    Crc(CrcFollowup),
}

/// Why a CRC check runs.
pub(crate) enum CrcFollowup {
    /// Register a new webhook if it passes.
    Register { url: String },
    /// Mark a registered webhook valid or invalid.
    Revalidate { id: u64 },
}

impl Inner {
    pub(crate) fn callback_allowed(&self, uri: &str) -> bool {
        self.redirect_uris.is_empty() || self.redirect_uris.iter().any(|r| r == uri)
    }
}

/// Connection counts, kept outside the state lock so the accept loop never waits on it.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    accepted: AtomicU64,
    open: AtomicU64,
}

impl Connections {
    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    pub(crate) fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }

    /// Counts a new connection as accepted and open until the guard is dropped.
    fn opened(self: &Arc<Self>) -> OpenConnection {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.open.fetch_add(1, Ordering::SeqCst);
        OpenConnection(self.clone())
    }
}

/// Held by a connection's task: however the task ends (closed by the client, by a fault, or
/// by shutdown), dropping it takes the connection off the open count.
struct OpenConnection(Arc<Connections>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub(crate) connections: Arc<Connections>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) scheme: &'static str,
    /// Request bodies past this size are refused with 413.
    pub(crate) max_body: usize,
    /// Turns true when the emulator shuts down.
    pub(crate) stop: watch::Receiver<bool>,
    /// The console's channel and settings, when it is on.
    pub(crate) console: Option<Hub>,
}

impl Shared {
    pub(crate) fn new(
        inner: Inner,
        clock: Arc<dyn Clock>,
        scheme: &'static str,
        max_body: usize,
        stop: watch::Receiver<bool>,
        console: Option<Hub>,
    ) -> Self {
        Self {
            inner: Mutex::new(inner),
            connections: Arc::default(),
            clock,
            scheme,
            max_body,
            stop,
            console,
        }
    }

    /// Sends a live update to the console's readers (nothing when the console is off).
    pub(crate) fn publish(&self, update: Update) {
        if let Some(hub) = &self.console {
            // No reader is not an error.
            let _ = hub.updates.send(update);
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in one request must not take the emulator down for the others.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Optional TLS in front of the connections.
#[cfg(feature = "tls")]
pub(crate) type Acceptor = Option<tokio_rustls::TlsAcceptor>;
#[cfg(not(feature = "tls"))]
pub(crate) type Acceptor = Option<NoTls>;

/// Without the `tls` feature there is no acceptor to hold.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(crate) enum NoTls {}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    acceptor: Acceptor,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let open = shared.connections.opened();
        let shared = shared.clone();
        let mut stop = stop.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _open = open;
            let _ = stream.set_nodelay(true);
            let conn = connection(stream, peer, shared, acceptor, stop.clone());
            tokio::select! {
                _ = conn => {}
                // A connection that does not wind down on its own (a stalled stream, a client
                // that never reads) is cut a moment after shutdown.
                _ = async {
                    let _ = stop.changed().await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                } => {}
            }
        });
    }
}

/// Serves one connection until it closes; on shutdown, lets the response in flight end
/// (stream bodies end cleanly on shutdown) and then closes.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Acceptor,
    stop: watch::Receiver<bool>,
) {
    let svc = service_fn(move |req| handle(shared.clone(), req, peer));
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    match acceptor {
        #[cfg(feature = "tls")]
        Some(a) => {
            if let Ok(tls) = a.accept(stream).await {
                let conn = builder.serve_connection(TokioIo::new(tls), svc);
                graceful(conn, stop).await;
            }
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
        None => {
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            graceful(conn, stop).await;
        }
    }
}

async fn graceful<I, S>(
    conn: hyper_util::server::conn::auto::Connection<'_, I, S, TokioExecutor>,
    mut stop: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// A response body: whole (possibly broken on purpose), the activity stream, or the
/// console's live updates.
pub(crate) type Body = Either<EmuBody, Either<StreamBody, UpdatesBody>>;

fn closed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "fault injected: connection closed",
    )
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, shared.max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let r = Reply::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"title": "Payload Too Large", "detail": "The request body is too large.", "type": "about:blank", "status": 413}),
            )
            .with_content_type("application/problem+json");
            return Ok(respond(r, None).map(Either::Left));
        }
    };
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let raw_query = parts.uri.query().map(str::to_owned);
    if let Some(hub) = &shared.console
        && console::is_console_path(parts.uri.path())
    {
        // The console's own requests skip faults, limits and the API's logs.
        return Ok(console::serve(
            &shared,
            hub,
            peer,
            &parts.method,
            parts.uri.path(),
            raw_query.as_deref(),
            &body,
        ));
    }
    let mut ctx = Ctx {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: raw_query
            .as_deref()
            .map(crate::auth::oauth1::parse_pairs)
            .unwrap_or_default(),
        headers: parts.headers,
        body,
        scheme: shared.scheme,
        authority,
        now_ms: shared.clock.now_millis(),
        fault: None,
    };
    let route = Route::parse(&ctx.method, &ctx.path);
    let pending = shared.console.as_ref().map(|_| {
        Pending::new(
            ctx.now_ms,
            ctx.method.as_str(),
            &ctx.path,
            raw_query.as_deref(),
            route.template(),
            &ctx.headers,
            &ctx.body,
        )
    });
    let mut record = RequestRecord {
        method: ctx.method.to_string(),
        path: ctx.path.clone(),
        query: raw_query,
        template: route.template().to_owned(),
        status: None,
        credential: CredentialUsed::None,
        http2: parts.version == http::Version::HTTP_2,
    };
    let (mut reply, fault, followup) = {
        let mut inner = shared.lock();
        let fault = inner.faults.take(ctx.method.as_str(), route.template());
        ctx.fault = fault.clone();
        if fault.is_some() {
            // A fault that fired is spent or counted down: the console's list changed.
            shared.publish(Update::faults());
        }
        match fault {
            Some(FaultKind::CloseBeforeResponse) => {
                finish_log(
                    &shared,
                    &mut inner,
                    pending,
                    &record,
                    None,
                    fault.as_ref(),
                    false,
                );
                inner.log.push(record);
                return Err(closed());
            }
            Some(FaultKind::Status(s)) => {
                let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (problem::server_error(status), fault, None)
            }
            Some(FaultKind::RateLimited { reset_after }) => {
                let (reply, used) = routes::rate_limited(&mut inner, &ctx, &route, reset_after);
                record.credential = used;
                shared.publish(Update::limits());
                (reply, fault, None)
            }
            _ => {
                let (mut reply, used) = routes::dispatch(&mut inner, &ctx, &route);
                record.credential = used;
                if fault == Some(FaultKind::PartialErrors) {
                    add_partial_error(&mut reply);
                }
                let followup = inner.followup.take();
                console::publish_changes(&shared, &mut inner);
                (reply, fault, followup)
            }
        }
    };
    let stream = match followup {
        Some(Followup::Stream(body)) => Some(body),
        Some(Followup::Crc(check)) => {
            let headers = std::mem::take(&mut reply.headers);
            reply = routes::webhooks::finish(&shared, check).await;
            for (k, v) in headers {
                if !reply.headers.iter().any(|(n, _)| *n == k) {
                    reply.headers.push((k, v));
                }
            }
            None
        }
        None => None,
    };
    if fault != Some(FaultKind::CloseAfterProcessing) {
        record.status = Some(reply.status.as_u16());
    }
    let logged = pending.as_ref().map(|_| record.clone());
    shared.lock().log.push(record);
    if let Some(FaultKind::DelayHeaders(d)) = fault {
        tokio::time::sleep(d).await;
    }
    if let Some(record) = logged {
        // After the delay, so that the latency shows it.
        let mut inner = shared.lock();
        let streaming = stream.is_some();
        finish_log(
            &shared,
            &mut inner,
            pending,
            &record,
            Some(&reply),
            fault.as_ref(),
            streaming,
        );
    }
    if let Some(mut body) = stream {
        if shared.console.is_some() {
            // The console's activity view lists open connections: tell it when one ends.
            let shared = shared.clone();
            body.on_end(move || shared.publish(Update::activity()));
        }
        return Ok(streaming(reply, body));
    }
    match fault {
        Some(FaultKind::CloseAfterProcessing) => Err(closed()),
        Some(FaultKind::DelayHeaders(_)) => Ok(respond(reply, None).map(Either::Left)),
        other => Ok(respond(reply, other).map(Either::Left)),
    }
}

/// Stores a request in the console's log, redacted, and tells the console's readers.
fn finish_log(
    shared: &Shared,
    inner: &mut Inner,
    pending: Option<Pending>,
    record: &RequestRecord,
    reply: Option<&Reply>,
    fault: Option<&FaultKind>,
    streaming: bool,
) {
    let Some(pending) = pending else { return };
    let secrets = console::redact::known_secrets(&inner.auth);
    let Some(log) = inner.requests.as_mut() else {
        return;
    };
    let seq = log.record(
        pending,
        Outcome {
            status: record.status,
            reply,
            fault,
            credential: &record.credential,
            streaming,
        },
        &secrets,
    );
    shared.publish(Update::request(seq));
    if reply.is_some_and(|r| r.headers.iter().any(|(k, _)| k == "x-rate-limit-limit")) {
        shared.publish(Update::limits());
    }
    if record.template.starts_with("/2/activity") || record.template.starts_with("/2/webhooks") {
        shared.publish(Update::activity());
    }
}

/// Adds one of X's partial errors to a 200 JSON object body (a listing that could not find
/// one of its items).
fn add_partial_error(reply: &mut Reply) {
    if reply.status != StatusCode::OK {
        return;
    }
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(&reply.body) else {
        return;
    };
    let item = problem::not_found_item("dm_event", "event_id", "1");
    match body.get_mut("errors") {
        Some(serde_json::Value::Array(errors)) => errors.push(item),
        _ => {
            body.insert("errors".into(), serde_json::Value::Array(vec![item]));
        }
    }
    reply.body = Bytes::from(serde_json::Value::Object(body).to_string());
}

/// The stream's response: the reply's status and headers, a chunked body.
fn streaming(reply: Reply, body: StreamBody) -> Response<Body> {
    let mut resp = Response::new(Either::Right(Either::Left(body)));
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    for (k, v) in reply.headers {
        h.insert(k, v);
    }
    resp
}

pub(crate) fn respond(reply: Reply, fault: Option<FaultKind>) -> Response<EmuBody> {
    let full = reply.body.clone();
    let len = full.len();
    let (body, length) = match fault {
        Some(FaultKind::CloseAfterHeaders) => (
            EmuBody::split(Bytes::new(), Duration::from_millis(50), None, true),
            len,
        ),
        Some(FaultKind::CloseMidBody) => (
            EmuBody::split(full.slice(..len / 2), Duration::from_millis(50), None, true),
            len,
        ),
        Some(FaultKind::DelayBody(d)) => (EmuBody::split(Bytes::new(), d, Some(full), false), len),
        Some(FaultKind::TruncatedJson) => (EmuBody::full(full.slice(..len / 2)), len / 2),
        Some(FaultKind::InvalidJson) => {
            let b = Bytes::from_static(b"{\"data\": [{\"id\": oops");
            (EmuBody::full(b.clone()), b.len())
        }
        Some(FaultKind::OversizedBody(n)) => {
            let mut v = full.to_vec();
            if v.len() < n {
                v.resize(n, b' ');
            }
            let n = v.len();
            (EmuBody::full(Bytes::from(v)), n)
        }
        _ => (EmuBody::full(full), len),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    for (k, v) in reply.headers {
        h.insert(k, v);
    }
    h.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(length),
    );
    resp
}
