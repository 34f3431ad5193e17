//! The activity stream client: one connection at a time, driven by the core's
//! [`StreamSession`], decoded by its [`LineDecoder`], each event handed out once.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tracing::Instrument;
use xdm_core::activity::dedup::EventDeduper;
use xdm_core::activity::session::{
    CloseReason, Next, SessionConfig, StopReason, StreamSession, WaitReason,
};
use xdm_core::activity::stream::{LineDecoder, StreamItem, StreamProblem};
use xdm_core::activity::{ActivityEvent, DmMessage};
use xdm_core::endpoints::{
    FatalRefusal, ListParams, StreamHead, StreamRefusal, classify_stream_head,
};
use xdm_core::fields::{DmEventField, FieldSet};
use xdm_core::models::{DmEvent, EventType};
use xdm_core::{Endpoint, EndpointInfo};

use crate::client::Client;
use crate::error::Error;
use crate::transport::{BodyStream, StreamingTransport, Timer, TransportError};

/// How much of a refused connect's body is read to classify it.
const REFUSAL_BODY_LIMIT: usize = 4096;
/// Clock skew allowed between X's timestamps and the local clock when a gap is filled.
const GAP_SLACK: Duration = Duration::from_secs(60);

/// How an [`ActivityStream`] behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Reconnects, timeouts and backfill; see [`SessionConfig`].
    pub session: SessionConfig,
    /// The longest stream line kept; longer ones are skipped and reported.
    pub max_line_len: usize,
    /// How many events the deduper remembers.
    pub dedup_capacity: usize,
    /// The most pages of `GET /2/dm_events` read to fill one gap (100 events each).
    pub gap_fill_max_pages: u32,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            max_line_len: LineDecoder::DEFAULT_MAX_LINE_LEN,
            dedup_capacity: EventDeduper::DEFAULT_CAPACITY,
            gap_fill_max_pages: 5,
        }
    }
}

impl StreamOptions {
    /// The defaults: X's timeouts, 1 MiB lines, 10,000 remembered events, 5 pages per gap.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same options with another session configuration (short idle timeouts in tests).
    pub fn with_session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// The same options with another line limit.
    pub fn with_max_line_len(mut self, max: usize) -> Self {
        self.max_line_len = max;
        self
    }

    /// The same options with another page limit for gap filling.
    pub fn with_gap_fill_max_pages(mut self, pages: u32) -> Self {
        self.gap_fill_max_pages = pages;
        self
    }
}

/// One item of an [`ActivityStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ActivityItem {
    /// An event delivered by the stream, for the first time: a message (with its direction
    /// and the subscribed user it was delivered for), a read receipt, a typing notice, a
    /// revocation, or an event of a type this crate does not know.
    Event(ActivityEvent),
    /// A message the stream missed, read from `GET /2/dm_events` while filling a gap.
    Fetched(Box<DmEvent>),
    /// What happened to the connection.
    Notice(StreamNotice),
}

impl ActivityItem {
    /// The message, whichever way it came: the [`DmEvent`] of a streamed message or of a
    /// fetched one. `None` for other events and notices.
    pub fn dm_event(&self) -> Option<&DmEvent> {
        match self {
            ActivityItem::Event(ActivityEvent::Message(m)) => Some(&m.event),
            ActivityItem::Fetched(event) => Some(event.as_ref()),
            _ => None,
        }
    }

    /// The streamed message with its direction and subscribed user, if this is one.
    pub fn message(&self) -> Option<&DmMessage> {
        match self {
            ActivityItem::Event(ActivityEvent::Message(m)) => Some(m),
            _ => None,
        }
    }
}

/// A change in the connection, for logs and status lines.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamNotice {
    /// The stream is open.
    Connected {
        /// The backfill asked for, which X accepted.
        backfill_minutes: Option<u8>,
    },
    /// The connect got no HTTP answer (refused, reset, DNS, TLS).
    ConnectFailed(TransportError),
    /// X refused the connect, in a way that is retried (5xx, 429, backfill not allowed).
    Refused(StreamRefusal),
    /// X said on the stream why it is about to close it (an `operational-disconnect`), or
    /// reported another problem.
    Problems(Vec<StreamProblem>),
    /// The open stream ended.
    Disconnected(Disconnect),
    /// The next connect is scheduled after a wait.
    Reconnecting {
        /// How long until the connect.
        after: Duration,
        /// Why there is a wait.
        reason: WaitReason,
        /// Whether the backoff schedule reached its cap: X asks clients to alert on this.
        at_cap: bool,
    },
    /// A gap was read from `GET /2/dm_events`; `events` new messages came out of it (they are
    /// the [`ActivityItem::Fetched`] items just before this notice).
    GapFilled {
        /// How many messages the stream had missed.
        events: usize,
        /// How long the stream was down.
        outage: Duration,
    },
    /// A gap could not be filled: the stream goes on, and messages of the gap may be missing.
    GapFillFailed(Error),
    /// A gap was not filled because no user client was given
    /// ([`ActivityStream::with_gap_fill`]).
    GapNotFilled {
        /// How long the stream was down.
        outage: Duration,
    },
    /// A line was skipped: not a stream object, or longer than the limit.
    Skipped {
        /// Its length in bytes.
        len: usize,
        /// What was wrong.
        reason: String,
    },
    /// The stream is over; no item follows.
    Stopped(StopCause),
}

/// How an open stream ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// X ended the body.
    Ended,
    /// The connection broke.
    Broken(TransportError),
    /// Nothing arrived, not even a keep-alive, for the idle timeout.
    IdleTimeout,
    /// The response head did not arrive within the connect timeout.
    ConnectTimeout,
    /// The stream was shut down.
    Shutdown,
}

/// Why an [`ActivityStream`] ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum StopCause {
    /// [`ShutdownHandle::shutdown`] was called.
    Shutdown,
    /// X refused the connect in a way retrying cannot fix (401, 403, another 4xx): check the
    /// app's Bearer token and its access to the Activity API.
    Refused(FatalRefusal),
    /// The client could not build or authorize the connect (a client without the app's
    /// Bearer token, for instance).
    Error(Error),
}

/// Stops an [`ActivityStream`] from another task: the open connection is closed and the
/// stream ends with [`StopCause::Shutdown`]. Dropping the stream closes it as well.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shared: Arc<ShutdownShared>,
}

#[derive(Debug, Default)]
struct ShutdownShared {
    requested: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl ShutdownHandle {
    /// Asks the stream to close its connection and end.
    pub fn shutdown(&self) {
        self.shared.requested.store(true, Ordering::SeqCst);
        let waker = self
            .shared
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.shared.requested.load(Ordering::SeqCst)
    }
}

/// The app's activity stream, delivering each DM once.
///
/// One connection at a time to `GET /2/activity/stream`, opened with the app client's Bearer
/// token and kept by the core's [`StreamSession`]: it reconnects at once after a drop, backs
/// off on X's schedules after failures (announced as [`StreamNotice::Reconnecting`]), closes
/// a connection silent for longer than the idle timeout (X sends a keep-alive at least every
/// 20 seconds), and stops on a 401, 403 or other 4xx. Nothing is polled: between events the
/// stream waits on the connection, a timer, or a shutdown.
///
/// After an outage the missing stretch is read from `GET /2/dm_events` with the user client
/// given to [`with_gap_fill`](Self::with_gap_fill), newest first, until an event older than
/// the last sign of life (less a minute for clock skew) or no newer than the newest message
/// the stream delivered. Fetched messages go through the same deduper as streamed ones, so a
/// message comes out once whether it came by stream, backfill, redelivery or REST. Only
/// `MessageCreate` events of one-to-one conversations are fetched, as only those reach the
/// stream.
///
/// Read it with [`next`](Self::next), or as a [`Stream`] through
/// [`into_stream`](Self::into_stream).
///
/// The transport must not cut a body that lasts: `xdm_hyper`'s applies its request timeout
/// to the response head only and a limit between two chunks (30 s by default), which X's
/// keep-alives (at least every 20 s) satisfy. The session's idle timeout
/// ([`SessionConfig::idle_timeout`]) is what detects a silent connection; keep the
/// transport's limit between chunks at least as long.
///
/// ```no_run
/// # async fn demo<T, C>(app: xdm_client::Client<T, C>, user: xdm_client::Client<T, C>)
/// # where T: xdm_client::transport::StreamingTransport + 'static,
/// #       C: xdm_client::transport::Timer + 'static {
/// use xdm_client::activity::{ActivityItem, ActivityStream, StreamNotice};
///
/// let mut stream = ActivityStream::new(app).with_gap_fill(user);
/// while let Some(item) = stream.next().await {
///     match item {
///         ActivityItem::Notice(StreamNotice::Stopped(why)) => eprintln!("stopped: {why:?}"),
///         ActivityItem::Notice(notice) => eprintln!("{notice:?}"),
///         other => println!("{:?}", other.dm_event().and_then(|e| e.text.as_deref())),
///     }
/// }
/// # }
/// ```
pub struct ActivityStream<T, C> {
    app: Client<T, C>,
    user: Option<Client<T, C>>,
    session: StreamSession,
    decoder: LineDecoder,
    dedup: EventDeduper,
    body: Option<BodyStream>,
    ready: VecDeque<ActivityItem>,
    /// The same moment on the monotonic clock and on the client's timer, to turn the timer's
    /// readings into the session's instants (so that a test timer drives the session too).
    origin: (Instant, SystemTime),
    /// The newest message id delivered by the stream.
    newest_seen: Option<String>,
    /// The end of the last wait announced, so that each wait is announced once.
    announced_wait: Option<Instant>,
    gap_fill_max_pages: u32,
    shutdown: Arc<ShutdownShared>,
    done: bool,
}

impl<T, C> fmt::Debug for ActivityStream<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivityStream")
            .field("state", self.session.state())
            .field("connected", &self.body.is_some())
            .field("gap_fill", &self.user.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: StreamingTransport + 'static, C: Timer + 'static> ActivityStream<T, C> {
    /// A stream opened with `app`, which must hold the app's Bearer token, with the default
    /// [`StreamOptions`]. No connection is made until the first [`next`](Self::next).
    pub fn new(app: Client<T, C>) -> Self {
        Self::with_options(app, StreamOptions::default())
    }

    /// A stream with `options`.
    pub fn with_options(app: Client<T, C>, options: StreamOptions) -> Self {
        let origin = (Instant::now(), app.timer().now());
        Self {
            app,
            user: None,
            session: StreamSession::new(options.session),
            decoder: LineDecoder::with_max_line_len(options.max_line_len),
            dedup: EventDeduper::with_capacity(options.dedup_capacity),
            body: None,
            ready: VecDeque::new(),
            origin,
            newest_seen: None,
            announced_wait: None,
            gap_fill_max_pages: options.gap_fill_max_pages,
            shutdown: Arc::default(),
            done: false,
        }
    }

    /// Fills gaps from `GET /2/dm_events` with `user`, a client holding the subscribed user's
    /// token (scope `dm.read`). Without it, gaps are reported as
    /// [`StreamNotice::GapNotFilled`].
    pub fn with_gap_fill(mut self, user: Client<T, C>) -> Self {
        self.user = Some(user);
        self
    }

    /// Starts from a deduper restored from a snapshot, so that events handed out before a
    /// restart are not handed out again.
    pub fn with_deduper(mut self, dedup: EventDeduper) -> Self {
        self.dedup = dedup;
        self
    }

    /// The deduper, for a [snapshot](EventDeduper::snapshot) to keep across restarts.
    pub fn deduper(&self) -> &EventDeduper {
        &self.dedup
    }

    /// The session, for its state and whether X refused backfill.
    pub fn session(&self) -> &StreamSession {
        &self.session
    }

    /// A handle that stops the stream from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shutdown),
        }
    }

    /// The next item; `None` once the stream has stopped (after a
    /// [`StreamNotice::Stopped`]).
    pub async fn next(&mut self) -> Option<ActivityItem> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            if self.shutdown.requested.load(Ordering::SeqCst) {
                self.session.shutdown();
            } else if self.take_ready_chunk() {
                continue;
            }
            let now = self.now();
            match self.session.poll(now) {
                Next::Connect { backfill_minutes } => self.connect(backfill_minutes).await,
                Next::Await { deadline } => self.read(deadline).await,
                Next::WaitUntil {
                    until,
                    reason,
                    at_cap,
                } => {
                    if self.announced_wait != Some(until) {
                        self.announced_wait = Some(until);
                        self.notice(StreamNotice::Reconnecting {
                            after: until.saturating_duration_since(now),
                            reason,
                            at_cap,
                        });
                    } else {
                        let wait = sleep_until(self.app.timer(), self.origin, until);
                        let _ = race(wait, self.shutdown_signal()).await;
                    }
                }
                Next::Close { reason } => {
                    let disconnect = match reason {
                        CloseReason::IdleTimeout => Disconnect::IdleTimeout,
                        CloseReason::ConnectTimeout => Disconnect::ConnectTimeout,
                        _ => Disconnect::Shutdown,
                    };
                    let was_open = self.body.is_some();
                    self.end_connection();
                    let now = self.now();
                    self.session.handle_closed(now);
                    if was_open || !matches!(disconnect, Disconnect::Shutdown) {
                        self.notice(StreamNotice::Disconnected(disconnect));
                    }
                }
                Next::Stop(reason) => {
                    self.done = true;
                    let cause = match reason {
                        StopReason::Refused(fatal) => StopCause::Refused(fatal),
                        _ => StopCause::Shutdown,
                    };
                    self.notice(StreamNotice::Stopped(cause));
                }
            }
        }
    }

    /// The stream as a [`Stream`] of items.
    pub fn into_stream(self) -> ActivityItems<T, C> {
        ActivityItems {
            state: ItemsState::Idle(Box::new(self)),
        }
    }

    fn now(&self) -> Instant {
        let elapsed = self
            .app
            .timer()
            .now()
            .duration_since(self.origin.1)
            .unwrap_or_default();
        self.origin.0 + elapsed
    }

    fn wall(&self, at: Instant) -> SystemTime {
        self.origin.1 + at.saturating_duration_since(self.origin.0)
    }

    fn notice(&mut self, notice: StreamNotice) {
        self.ready.push_back(ActivityItem::Notice(notice));
    }

    fn shutdown_signal(&self) -> ShutdownSignal<'_> {
        ShutdownSignal {
            shared: &self.shutdown,
        }
    }

    /// Opens a connection and reports its outcome to the session.
    async fn connect(&mut self, backfill_minutes: Option<u8>) {
        let connect = StreamSession::connect_request(backfill_minutes);
        let mut request = match connect.build_request(self.app.request_context()) {
            Ok(request) => request,
            Err(e) => return self.fail(Error::InvalidInput(e)),
        };
        if let Err(e) = self.app.authorize(&mut request).await {
            return self.fail(e);
        }
        let deadline = self.session.poll_timeout().unwrap_or_else(|| self.now());
        let timeout = sleep_until(self.app.timer(), self.origin, deadline);
        let exchange = open(&self.app, request);
        let outcome = match race(race(exchange, timeout), self.shutdown_signal()).await {
            Either::Left(Either::Left(outcome)) => outcome,
            // The session notices the timeout or the shutdown on its next poll.
            Either::Left(Either::Right(())) | Either::Right(()) => return,
        };
        let now = self.now();
        match outcome {
            Err(e) => {
                self.session.handle_connect_failed(now);
                self.notice(StreamNotice::ConnectFailed(e));
            }
            Ok(Opened::Streaming(body)) => {
                self.session.handle_connected(now);
                self.body = Some(body);
                self.notice(StreamNotice::Connected { backfill_minutes });
                if let Some(gap) = self.session.take_gap() {
                    let outage = gap
                        .restored_at
                        .unwrap_or(now)
                        .saturating_duration_since(gap.last_alive);
                    let since = self.wall(gap.last_alive);
                    self.fill_gap(since, outage).await;
                }
            }
            Ok(Opened::Refused(head)) => {
                let wall = self.app.timer().now();
                match classify_stream_head(head.status, &head.headers, &head.body, wall) {
                    StreamHead::Refused(refusal) => {
                        self.session.handle_refused(now, refusal.clone());
                        if !matches!(refusal, StreamRefusal::Fatal(_)) {
                            self.notice(StreamNotice::Refused(refusal));
                        }
                    }
                    // `open` hands a success over as a stream; a head classified as one here
                    // would be a contradiction, treated as no answer.
                    StreamHead::Streaming => self.session.handle_connect_failed(now),
                }
            }
        }
    }

    /// Ends the stream because the client cannot connect at all.
    fn fail(&mut self, error: Error) {
        self.done = true;
        self.notice(StreamNotice::Stopped(StopCause::Error(error)));
    }

    /// Reads the open connection until data, its end, the deadline or a shutdown.
    async fn read(&mut self, deadline: Instant) {
        let Some(body) = self.body.as_mut() else {
            // Connecting: `connect` came back on a timeout or shutdown; the session's next
            // poll closes it.
            let wait = sleep_until(self.app.timer(), self.origin, deadline);
            let _ = race(
                wait,
                ShutdownSignal {
                    shared: &self.shutdown,
                },
            )
            .await;
            return;
        };
        let wait = sleep_until(self.app.timer(), self.origin, deadline);
        let chunk = match race(
            race(body.next_chunk(), wait),
            ShutdownSignal {
                shared: &self.shutdown,
            },
        )
        .await
        {
            Either::Left(Either::Left(chunk)) => chunk,
            Either::Left(Either::Right(())) | Either::Right(()) => return,
        };
        self.handle_chunk(chunk);
    }

    /// Takes a chunk that is already there, without waiting, so that bytes which arrived
    /// while the caller was busy elsewhere count before the idle deadline is judged. Returns
    /// whether there was one (or the body's end).
    fn take_ready_chunk(&mut self) -> bool {
        let Some(body) = self.body.as_mut() else {
            return false;
        };
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(body).poll_next(&mut cx) {
            Poll::Ready(chunk) => {
                self.handle_chunk(chunk);
                true
            }
            Poll::Pending => false,
        }
    }

    fn handle_chunk(&mut self, chunk: Option<Result<Bytes, TransportError>>) {
        let now = self.now();
        match chunk {
            Some(Ok(bytes)) => {
                self.session.handle_data(now);
                self.decoder.push(&bytes);
                self.drain_decoder();
            }
            Some(Err(e)) => {
                self.end_connection();
                self.session.handle_closed(now);
                self.notice(StreamNotice::Disconnected(Disconnect::Broken(e)));
            }
            None => {
                self.end_connection();
                self.session.handle_closed(now);
                self.notice(StreamNotice::Disconnected(Disconnect::Ended));
            }
        }
    }

    /// Drops the connection and hands out what its last bytes held.
    fn end_connection(&mut self) {
        self.body = None;
        self.decoder.finish();
        self.drain_decoder();
        self.decoder = LineDecoder::with_max_line_len(self.decoder.max_line_len());
    }

    fn drain_decoder(&mut self) {
        while let Some(item) = self.decoder.poll_item() {
            match item {
                StreamItem::KeepAlive => {}
                StreamItem::Delivery(mut delivery) => {
                    for event in &delivery.events {
                        if let ActivityEvent::Message(m) = event {
                            self.saw_message(m.id());
                        }
                    }
                    self.dedup.retain_new(&mut delivery);
                    self.ready
                        .extend(delivery.events.into_iter().map(ActivityItem::Event));
                }
                StreamItem::Problems(problems) => self.notice(StreamNotice::Problems(problems)),
                StreamItem::Malformed(line) => self.notice(StreamNotice::Skipped {
                    len: line.len,
                    reason: line.reason,
                }),
                StreamItem::Oversized { len } => self.notice(StreamNotice::Skipped {
                    len,
                    reason: format!("longer than {} bytes", self.decoder.max_line_len()),
                }),
                _ => {}
            }
        }
    }

    fn saw_message(&mut self, id: &str) {
        let newer = match &self.newest_seen {
            None => true,
            Some(seen) => id_order(id, seen) == std::cmp::Ordering::Greater,
        };
        if newer {
            self.newest_seen = Some(id.to_owned());
        }
    }

    /// Reads what the stream missed since `since` from `GET /2/dm_events`, newest first, and
    /// queues the new messages oldest first.
    async fn fill_gap(&mut self, since: SystemTime, outage: Duration) {
        let Some(user) = self.user.clone() else {
            self.notice(StreamNotice::GapNotFilled { outage });
            return;
        };
        let oldest = jiff::Timestamp::try_from(since.checked_sub(GAP_SLACK).unwrap_or(since)).ok();
        let params = gap_params();
        let mut events = user
            .list_events_with(params)
            .with_max_pages(self.gap_fill_max_pages)
            .events();
        let mut missed = Vec::new();
        let failure = loop {
            let Some(item) = events.next().await else {
                break None;
            };
            let event = match item {
                Ok(item) => item.into_event(),
                Err(e) => break Some(e),
            };
            let id = event.id.as_deref().unwrap_or_default();
            if let Some(seen) = &self.newest_seen
                && id_order(id, seen) != std::cmp::Ordering::Greater
            {
                break None;
            }
            let created = event
                .created_at
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if let (Some(created), Some(oldest)) = (created, oldest)
                && created < oldest
            {
                break None;
            }
            if is_one_to_one_message(&event) {
                missed.push(event);
            }
        };
        let mut filled = 0;
        for event in missed.into_iter().rev() {
            if self.dedup.first_time_dm_event(&event) {
                if let Some(id) = event.id.clone() {
                    self.saw_message(&id);
                }
                self.ready.push_back(ActivityItem::Fetched(Box::new(event)));
                filled += 1;
            }
        }
        match failure {
            Some(e) => self.notice(StreamNotice::GapFillFailed(e)),
            None => self.notice(StreamNotice::GapFilled {
                events: filled,
                outage,
            }),
        }
    }
}

/// The timer's reading as a session instant (for use while the body is borrowed).
fn now_of<C: Timer>(timer: &C, origin: (Instant, SystemTime)) -> Instant {
    origin.0 + timer.now().duration_since(origin.1).unwrap_or_default()
}

/// Sleeps until `deadline` on the session's clock. Nothing starts before the first poll, so
/// a race that another future wins at once never sets a timer (or moves a test clock).
async fn sleep_until<C: Timer>(timer: &C, origin: (Instant, SystemTime), deadline: Instant) {
    let left = deadline.saturating_duration_since(now_of(timer, origin));
    timer.sleep(left).await;
}

/// The listing a gap is filled from: messages only, 100 a page, with the fields a stream
/// message has.
fn gap_params() -> ListParams {
    let fields = FieldSet::new().with_dm_event_fields(DmEventField::MESSAGE.iter().cloned());
    let params = ListParams::new()
        .with_event_types([EventType::MessageCreate])
        .with_fields(fields);
    params.clone().with_max_results(100).unwrap_or(params)
}

/// Whether a listed event is a message of a one-to-one conversation (whose ids are
/// `{user}-{user}`), the only kind the stream delivers.
fn is_one_to_one_message(event: &DmEvent) -> bool {
    event.event_type == Some(EventType::MessageCreate)
        && event
            .dm_conversation_id
            .as_deref()
            .is_none_or(|c| c.contains('-'))
}

/// Orders DM ids: numerically when both are numbers (X's ids grow with time), else as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// A refused connect's head and the start of its body.
struct RefusedHead {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

enum Opened {
    Streaming(BodyStream),
    Refused(RefusedHead),
}

/// Sends the connect; a refusal's body is read up to a few kilobytes.
async fn open<T: StreamingTransport, C: Timer>(
    app: &Client<T, C>,
    request: http::Request<Bytes>,
) -> Result<Opened, TransportError> {
    let path = request
        .extensions()
        .get::<EndpointInfo>()
        .map(|i| i.path_template)
        .unwrap_or_default();
    let span = tracing::info_span!("xdm.stream", path);
    let response = app
        .transport()
        .send_streaming(request)
        .instrument(span)
        .await?;
    let (parts, mut body) = response.into_parts();
    if parts.status.is_success() {
        return Ok(Opened::Streaming(body));
    }
    let mut bytes = BytesMut::new();
    while bytes.len() < REFUSAL_BODY_LIMIT {
        match body.next_chunk().await {
            Some(Ok(chunk)) => bytes.extend_from_slice(&chunk),
            // What arrived is enough to classify; a cut-off error body is still an answer.
            Some(Err(_)) | None => break,
        }
    }
    Ok(Opened::Refused(RefusedHead {
        status: parts.status,
        headers: parts.headers,
        body: bytes.freeze(),
    }))
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Runs both futures; the first to finish wins and the other is dropped.
async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(out));
        }
        Poll::Pending
    })
    .await
}

/// Completes once a shutdown is asked for.
struct ShutdownSignal<'a> {
    shared: &'a ShutdownShared,
}

impl Future for ShutdownSignal<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.requested.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self
            .shared
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        // Checked again: a shutdown between the first check and the registration would
        // otherwise wake nobody.
        if self.shared.requested.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

type NextItem<T, C> =
    Pin<Box<dyn Future<Output = (Box<ActivityStream<T, C>>, Option<ActivityItem>)> + Send>>;

/// An [`ActivityStream`] as a [`Stream`]; from [`ActivityStream::into_stream`].
pub struct ActivityItems<T, C> {
    state: ItemsState<T, C>,
}

enum ItemsState<T, C> {
    Idle(Box<ActivityStream<T, C>>),
    Busy(NextItem<T, C>),
    Done,
}

impl<T, C> fmt::Debug for ActivityItems<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivityItems").finish_non_exhaustive()
    }
}

impl<T: StreamingTransport + 'static, C: Timer + 'static> Stream for ActivityItems<T, C> {
    type Item = ActivityItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ActivityItem>> {
        loop {
            match std::mem::replace(&mut self.state, ItemsState::Done) {
                ItemsState::Idle(mut stream) => {
                    self.state = ItemsState::Busy(Box::pin(async move {
                        let item = stream.next().await;
                        (stream, item)
                    }));
                }
                ItemsState::Busy(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = ItemsState::Busy(fut);
                        return Poll::Pending;
                    }
                    Poll::Ready((stream, Some(item))) => {
                        self.state = ItemsState::Idle(stream);
                        return Poll::Ready(Some(item));
                    }
                    Poll::Ready((_, None)) => return Poll::Ready(None),
                },
                ItemsState::Done => return Poll::Ready(None),
            }
        }
    }
}
