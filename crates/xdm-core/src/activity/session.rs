//! The stream session: when to connect to `GET /2/activity/stream`, how long to back off, and
//! what the stream missed.
//!
//! [`StreamSession`] holds no connection and reads no clock. The caller asks it what to do
//! ([`poll`](StreamSession::poll)), does it, and reports what happened through the `handle_*`
//! methods, passing the time each time:
//!
//! ```text
//! loop {
//!     match session.poll(now) {
//!         Next::Connect { backfill_minutes } => open the stream (ConnectStream) ...
//!             head arrived → classify_stream_head → handle_connected / handle_refused
//!             no head (refused, reset, DNS, TLS) → handle_connect_failed
//!         Next::Await { deadline } => read until the deadline;
//!             bytes (keep-alives too) → handle_data; end of body or error → handle_closed
//!         Next::WaitUntil { until, .. } => sleep until `until`
//!         Next::Close { .. } => drop the connection, then handle_closed
//!         Next::Stop(reason) => done
//!     }
//! }
//! ```
//!
//! It follows X's reconnect rules for v2 streams:
//!
//! | what happened | what the session does |
//! |---|---|
//! | an open stream ended (closed, reset, or silent for [`idle_timeout`](SessionConfig::idle_timeout)) | connect again at once, once; if the next connection ends before [`stable_after`](SessionConfig::stable_after), back off as for a server error |
//! | no HTTP answer (refused, reset, DNS, TLS, connect timeout) | wait 250 ms more each time, at most 16 s |
//! | 5xx | wait 5 s, doubling, at most 320 s |
//! | 429 | wait 60 s, doubling, at most 960 s, and never less than `x-rate-limit-reset` says (up to an hour) |
//! | 400 about `backfill_minutes` | connect again at once without backfill, and never ask for it again |
//! | 401, 403, any other 4xx | stop |
//!
//! Waits grow until a connection stays open for [`stable_after`](SessionConfig::stable_after);
//! a connect that succeeds is not enough, or a server that accepts and closes at once would be
//! hammered. Each wait says whether its schedule has reached its cap, which X asks clients to
//! alert on.
//!
//! After an outage of at most five minutes, the next connect asks for
//! `backfill_minutes = ceil(outage)` when [`SessionConfig::backfill`] is on. Whether or not it
//! does, [`take_gap`](StreamSession::take_gap) tells the caller, once the stream is back, when
//! it was last known alive, so that the missing stretch can be read from `GET /2/dm_events`.
//!
//! Only one connection exists at a time: [`Next::Connect`] is never returned while one is
//! pending or open, and a shutdown closes the open one before the session stops.

use std::time::{Duration, Instant};

use crate::endpoints::{ConnectStream, FatalRefusal, StreamRefusal};

/// How long after a connection ends without a word the stream counts as dropped: X sends a
/// keep-alive at least every 20 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the response head. X sends its headers with the first keep-alive, so
/// a good connect can take about 20 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);
/// How long a connection must stay open before the backoff schedules start over.
pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(60);

/// The step of the schedule after a failure to connect at all.
const TCP_STEP: Duration = Duration::from_millis(250);
/// The cap of that schedule.
pub const TCP_CAP: Duration = Duration::from_secs(16);
/// The first wait after a 5xx (or a connection that ended soon after opening).
const HTTP_FIRST: Duration = Duration::from_secs(5);
/// The cap of that schedule.
pub const HTTP_CAP: Duration = Duration::from_secs(320);
/// The first wait after a 429.
const RATE_FIRST: Duration = Duration::from_secs(60);
/// The cap of that schedule.
pub const RATE_CAP: Duration = Duration::from_secs(960);
/// The longest `x-rate-limit-reset` honoured: a reset further away is a clock problem, and
/// waiting for it would look like a hang.
pub const MAX_HONOURED_RESET: Duration = Duration::from_secs(3600);
/// The longest outage backfill can cover.
const MAX_BACKFILL: Duration = Duration::from_secs(5 * 60);

/// How a [`StreamSession`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Silence after which an open stream counts as dropped. 30 s by default.
    pub idle_timeout: Duration,
    /// How long a connect may wait for its response head. 45 s by default.
    pub connect_timeout: Duration,
    /// How long a connection must stay open to count as healthy, which resets the backoff
    /// schedules. 60 s by default.
    pub stable_after: Duration,
    /// Whether to ask for backfill after a short outage. On by default; the first refusal
    /// turns it off for the rest of the session.
    pub backfill: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            stable_after: DEFAULT_STABLE_AFTER,
            backfill: true,
        }
    }
}

impl SessionConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same configuration with another idle timeout.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The same configuration with another connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The same configuration with another stability threshold.
    pub fn with_stable_after(mut self, after: Duration) -> Self {
        self.stable_after = after;
        self
    }

    /// The same configuration asking for backfill after short outages, or not.
    pub fn with_backfill(mut self, backfill: bool) -> Self {
        self.backfill = backfill;
        self
    }
}

/// Why the session is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// The last connect got no HTTP answer.
    ConnectFailed,
    /// The last connect got a 5xx.
    ServerError,
    /// The last connect got a 429.
    RateLimited,
    /// Connections keep ending soon after they open.
    Dropped,
}

/// Why the session wants the connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// No byte arrived for [`SessionConfig::idle_timeout`].
    IdleTimeout,
    /// No response head arrived for [`SessionConfig::connect_timeout`].
    ConnectTimeout,
    /// [`StreamSession::shutdown`] was called.
    Shutdown,
}

/// Why the session stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// [`StreamSession::shutdown`] was called, and the connection is closed.
    Shutdown,
    /// X refused the connect in a way retrying cannot fix (401, 403, another 4xx).
    Refused(FatalRefusal),
}

/// Where the session is, for logs and status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No connection, none scheduled: the next poll connects.
    Idle,
    /// Backing off until `until`.
    Waiting {
        /// When the next connect may start.
        until: Instant,
        /// Why.
        reason: WaitReason,
        /// Whether the schedule has reached its cap.
        at_cap: bool,
    },
    /// A connect is out, waiting for its response head.
    Connecting {
        /// When it started.
        since: Instant,
        /// The backfill it asked for.
        backfill_minutes: Option<u8>,
    },
    /// The stream is open.
    Open {
        /// When the head arrived.
        since: Instant,
        /// When the last byte arrived.
        last_data: Instant,
    },
    /// The caller was told to close the connection and has not confirmed yet.
    Closing {
        /// Why.
        reason: CloseReason,
        /// When the closing connection opened, if it did.
        opened: Option<Instant>,
    },
    /// Done.
    Stopped(StopReason),
}

/// What the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "the driver must handle every instruction; a new one is a breaking change on purpose"
)]
pub enum Next {
    /// Open the stream (see [`StreamSession::connect_request`]), asking for this much
    /// backfill.
    Connect {
        /// `backfill_minutes` to send, if any.
        backfill_minutes: Option<u8>,
    },
    /// A connection is pending or open: keep reading, and poll again at `deadline` at the
    /// latest.
    Await {
        /// When the connect or the silence times out.
        deadline: Instant,
    },
    /// Do nothing until `until`, then poll again.
    WaitUntil {
        /// When to poll again.
        until: Instant,
        /// Why.
        reason: WaitReason,
        /// Whether the schedule has reached its cap: X asks clients to alert on this.
        at_cap: bool,
    },
    /// Close the connection, then report it with [`StreamSession::handle_closed`].
    Close {
        /// Why.
        reason: CloseReason,
    },
    /// Stop: the session is over.
    Stop(StopReason),
}

/// A stretch of time the stream did not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gap {
    /// When the stream last delivered a byte (or opened).
    pub last_alive: Instant,
    /// When the session noticed the loss.
    pub down_since: Instant,
    /// When a connection opened again; `None` while the outage lasts.
    pub restored_at: Option<Instant>,
    /// The backfill the restoring connection asked for and X accepted: it replays that many
    /// minutes before `restored_at`, duplicates included.
    pub backfill_minutes: Option<u8>,
}

impl Gap {
    /// Whether the accepted backfill reaches back to `last_alive`, so that the stream itself
    /// re-sent everything missed. Reading `GET /2/dm_events` is still the safer course: X does
    /// not promise backfill is complete.
    pub fn covered_by_backfill(&self) -> bool {
        match (self.backfill_minutes, self.restored_at) {
            (Some(m), Some(restored)) => {
                restored.saturating_duration_since(self.last_alive)
                    <= Duration::from_secs(60 * u64::from(m))
            }
            _ => false,
        }
    }
}

/// The reconnect state machine of one activity stream; see the [module docs](self).
///
/// ```
/// use std::time::{Duration, Instant};
/// use xdm_core::activity::session::{Next, SessionConfig, StreamSession, WaitReason};
/// use xdm_core::endpoints::StreamRefusal;
/// use http::StatusCode;
///
/// let t0 = Instant::now();
/// let mut s = StreamSession::new(SessionConfig::default());
/// assert_eq!(s.poll(t0), Next::Connect { backfill_minutes: None });
/// s.handle_refused(t0, StreamRefusal::Retryable { status: StatusCode::SERVICE_UNAVAILABLE });
/// let Next::WaitUntil { until, reason, .. } = s.poll(t0) else { panic!() };
/// assert_eq!((until - t0, reason), (Duration::from_secs(5), WaitReason::ServerError));
///
/// let t1 = until;
/// assert!(matches!(s.poll(t1), Next::Connect { .. }));
/// s.handle_connected(t1);
/// s.handle_data(t1 + Duration::from_secs(20));
/// // The connection drops after 90 s: reconnect at once, asking for the 2 minutes missed.
/// let t2 = t1 + Duration::from_secs(90);
/// s.handle_closed(t2);
/// assert_eq!(s.poll(t2), Next::Connect { backfill_minutes: Some(2) });
/// s.handle_connected(t2 + Duration::from_secs(1));
/// let gap = s.take_gap().unwrap();
/// assert_eq!(gap.last_alive, t1 + Duration::from_secs(20));
/// assert!(gap.covered_by_backfill());
/// ```
#[derive(Debug, Clone)]
pub struct StreamSession {
    config: SessionConfig,
    state: ConnectionState,
    /// Failures to get any HTTP answer, since the last stable connection.
    tcp_failures: u32,
    /// 5xx answers and quick drops, since the last stable connection.
    http_failures: u32,
    /// 429 answers, since the last stable connection.
    rate_failures: u32,
    /// Whether the one immediate reconnect after a drop has been spent.
    immediate_spent: bool,
    /// Whether X refused backfill.
    backfill_refused: bool,
    last_alive: Option<Instant>,
    down_since: Option<Instant>,
    restored: Option<Gap>,
}

impl StreamSession {
    /// A session that has not connected yet.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            state: ConnectionState::Idle,
            tcp_failures: 0,
            http_failures: 0,
            rate_failures: 0,
            immediate_spent: false,
            backfill_refused: false,
            last_alive: None,
            down_since: None,
            restored: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where the session is.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Whether X refused backfill, so that it is no longer asked for.
    pub fn backfill_refused(&self) -> bool {
        self.backfill_refused
    }

    /// Whether the session is backing off on a schedule that reached its cap.
    pub fn backoff_at_cap(&self) -> bool {
        matches!(self.state, ConnectionState::Waiting { at_cap: true, .. })
    }

    /// What to do now. Call it again after every `handle_*` and whenever
    /// [`poll_timeout`](Self::poll_timeout) passes.
    pub fn poll(&mut self, now: Instant) -> Next {
        match self.state.clone() {
            ConnectionState::Stopped(reason) => Next::Stop(reason),
            ConnectionState::Closing { reason, .. } => Next::Close { reason },
            ConnectionState::Idle => self.start_connect(now),
            ConnectionState::Waiting {
                until,
                reason,
                at_cap,
            } => {
                if now >= until {
                    self.start_connect(now)
                } else {
                    Next::WaitUntil {
                        until,
                        reason,
                        at_cap,
                    }
                }
            }
            ConnectionState::Connecting { since, .. } => {
                let deadline = since + self.config.connect_timeout;
                if now >= deadline {
                    self.state = ConnectionState::Closing {
                        reason: CloseReason::ConnectTimeout,
                        opened: None,
                    };
                    Next::Close {
                        reason: CloseReason::ConnectTimeout,
                    }
                } else {
                    Next::Await { deadline }
                }
            }
            ConnectionState::Open { since, last_data } => {
                let deadline = last_data + self.config.idle_timeout;
                if now >= deadline {
                    self.state = ConnectionState::Closing {
                        reason: CloseReason::IdleTimeout,
                        opened: Some(since),
                    };
                    Next::Close {
                        reason: CloseReason::IdleTimeout,
                    }
                } else {
                    Next::Await { deadline }
                }
            }
        }
    }

    /// When [`poll`](Self::poll) must be called again at the latest, if nothing else happens:
    /// the end of a wait, the connect timeout, or the idle deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            ConnectionState::Waiting { until, .. } => Some(*until),
            ConnectionState::Connecting { since, .. } => Some(*since + self.config.connect_timeout),
            ConnectionState::Open { last_data, .. } => Some(*last_data + self.config.idle_timeout),
            _ => None,
        }
    }

    /// The request for a [`Next::Connect`].
    pub fn connect_request(backfill_minutes: Option<u8>) -> ConnectStream {
        let connect = ConnectStream::new();
        match backfill_minutes {
            Some(m) => connect
                .clone()
                .with_backfill_minutes(m.min(ConnectStream::MAX_BACKFILL_MINUTES))
                .unwrap_or(connect),
            None => connect,
        }
    }

    /// The pending connect was answered with a 2xx head: the stream is open.
    pub fn handle_connected(&mut self, now: Instant) {
        let ConnectionState::Connecting {
            backfill_minutes, ..
        } = self.state
        else {
            return;
        };
        if let (Some(down_since), Some(last_alive)) = (self.down_since.take(), self.last_alive) {
            self.restored = Some(Gap {
                last_alive,
                down_since,
                restored_at: Some(now),
                backfill_minutes,
            });
        }
        self.last_alive = Some(now);
        self.state = ConnectionState::Open {
            since: now,
            last_data: now,
        };
    }

    /// The pending connect was refused; `refusal` comes from
    /// [`classify_stream_head`](crate::endpoints::classify_stream_head).
    pub fn handle_refused(&mut self, now: Instant, refusal: StreamRefusal) {
        let ConnectionState::Connecting {
            backfill_minutes, ..
        } = self.state
        else {
            return;
        };
        match refusal {
            StreamRefusal::Retryable { .. } => {
                self.http_failures = self.http_failures.saturating_add(1);
                let (wait, at_cap) = http_delay(self.http_failures);
                self.wait(now, wait, WaitReason::ServerError, at_cap);
            }
            StreamRefusal::RateLimited { retry_after, .. } => {
                self.rate_failures = self.rate_failures.saturating_add(1);
                let (backoff, at_cap) = rate_delay(self.rate_failures);
                let reset = retry_after.unwrap_or_default().min(MAX_HONOURED_RESET);
                self.wait(now, backoff.max(reset), WaitReason::RateLimited, at_cap);
            }
            StreamRefusal::BackfillRefused if backfill_minutes.is_some() => {
                self.backfill_refused = true;
                self.state = ConnectionState::Idle;
            }
            StreamRefusal::BackfillRefused => {
                // Refused for a parameter that was not sent: reconnecting would be refused
                // the same way, forever.
                self.stop(StopReason::Refused(FatalRefusal::new(
                    http::StatusCode::BAD_REQUEST,
                    Some("backfill refused on a connect that asked for none".into()),
                )));
            }
            StreamRefusal::Fatal(fatal) => self.stop(StopReason::Refused(fatal)),
        }
    }

    /// The pending connect got no HTTP answer: refused, reset, DNS or TLS failure, or a
    /// timeout of the transport's own.
    pub fn handle_connect_failed(&mut self, now: Instant) {
        if matches!(self.state, ConnectionState::Connecting { .. }) {
            self.connect_failed(now);
        }
    }

    /// Bytes arrived on the open stream: events, error lines, keep-alives alike.
    pub fn handle_data(&mut self, now: Instant) {
        if let ConnectionState::Open { since, last_data } = &mut self.state {
            *last_data = (*last_data).max(now);
            let since = *since;
            self.last_alive = Some(*last_data);
            if now.saturating_duration_since(since) >= self.config.stable_after {
                self.reset_schedules();
            }
        }
    }

    /// The connection is gone: the body ended, a read failed, or the caller closed it after
    /// [`Next::Close`].
    pub fn handle_closed(&mut self, now: Instant) {
        match self.state.clone() {
            ConnectionState::Open { since, .. } => self.lost(now, since),
            ConnectionState::Connecting { .. } => self.connect_failed(now),
            ConnectionState::Closing { reason, opened } => match (reason, opened) {
                (CloseReason::Shutdown, _) => self.stop(StopReason::Shutdown),
                (_, Some(since)) => self.lost(now, since),
                (_, None) => self.connect_failed(now),
            },
            _ => {}
        }
    }

    /// Ends the session: an open or pending connection is closed first ([`Next::Close`]),
    /// then [`poll`](Self::poll) says [`Next::Stop`].
    pub fn shutdown(&mut self) {
        self.state = match &self.state {
            ConnectionState::Connecting { .. } => ConnectionState::Closing {
                reason: CloseReason::Shutdown,
                opened: None,
            },
            ConnectionState::Open { since, .. } => ConnectionState::Closing {
                reason: CloseReason::Shutdown,
                opened: Some(*since),
            },
            ConnectionState::Closing { opened, .. } => ConnectionState::Closing {
                reason: CloseReason::Shutdown,
                opened: *opened,
            },
            ConnectionState::Stopped(reason) => ConnectionState::Stopped(reason.clone()),
            ConnectionState::Idle | ConnectionState::Waiting { .. } => {
                ConnectionState::Stopped(StopReason::Shutdown)
            }
        };
    }

    /// The outage in progress, if the stream was up once and is down now.
    pub fn current_gap(&self) -> Option<Gap> {
        Some(Gap {
            last_alive: self.last_alive?,
            down_since: self.down_since?,
            restored_at: None,
            backfill_minutes: None,
        })
    }

    /// The outage the last connect ended, once: hand it to the gap filler.
    pub fn take_gap(&mut self) -> Option<Gap> {
        self.restored.take()
    }

    fn start_connect(&mut self, now: Instant) -> Next {
        let backfill_minutes = self.backfill_for(now);
        self.state = ConnectionState::Connecting {
            since: now,
            backfill_minutes,
        };
        Next::Connect { backfill_minutes }
    }

    /// `ceil(outage)` in minutes when an outage of at most five minutes is being recovered
    /// and backfill is allowed.
    fn backfill_for(&self, now: Instant) -> Option<u8> {
        if !self.config.backfill || self.backfill_refused {
            return None;
        }
        self.down_since?;
        let gap = now.saturating_duration_since(self.last_alive?);
        if gap > MAX_BACKFILL {
            return None;
        }
        let minutes = gap.as_millis().div_ceil(60_000).max(1);
        u8::try_from(minutes).ok()
    }

    fn connect_failed(&mut self, now: Instant) {
        self.tcp_failures = self.tcp_failures.saturating_add(1);
        let (wait, at_cap) = tcp_delay(self.tcp_failures);
        self.wait(now, wait, WaitReason::ConnectFailed, at_cap);
    }

    /// An open connection ended at `now`; it opened at `since`.
    fn lost(&mut self, now: Instant, since: Instant) {
        if self.down_since.is_none() {
            self.down_since = Some(now);
        }
        if now.saturating_duration_since(since) >= self.config.stable_after {
            self.reset_schedules();
        }
        if !self.immediate_spent {
            self.immediate_spent = true;
            self.state = ConnectionState::Idle;
        } else {
            self.http_failures = self.http_failures.saturating_add(1);
            let (wait, at_cap) = http_delay(self.http_failures);
            self.wait(now, wait, WaitReason::Dropped, at_cap);
        }
    }

    fn reset_schedules(&mut self) {
        self.tcp_failures = 0;
        self.http_failures = 0;
        self.rate_failures = 0;
        self.immediate_spent = false;
    }

    fn wait(&mut self, now: Instant, wait: Duration, reason: WaitReason, at_cap: bool) {
        self.state = ConnectionState::Waiting {
            until: now + wait,
            reason,
            at_cap,
        };
    }

    fn stop(&mut self, reason: StopReason) {
        self.state = ConnectionState::Stopped(reason);
    }
}

/// Linear: 250 ms per failure, at most 16 s.
fn tcp_delay(failures: u32) -> (Duration, bool) {
    let wait = TCP_STEP.saturating_mul(failures).min(TCP_CAP);
    (wait, wait == TCP_CAP)
}

/// Exponential from `first`, doubling per failure, at most `cap`.
fn doubling(first: Duration, cap: Duration, failures: u32) -> (Duration, bool) {
    let doublings = failures.saturating_sub(1).min(31);
    let wait = first.saturating_mul(1 << doublings).min(cap);
    (wait, wait == cap)
}

fn http_delay(failures: u32) -> (Duration, bool) {
    doubling(HTTP_FIRST, HTTP_CAP, failures)
}

fn rate_delay(failures: u32) -> (Duration, bool) {
    doubling(RATE_FIRST, RATE_CAP, failures)
}
