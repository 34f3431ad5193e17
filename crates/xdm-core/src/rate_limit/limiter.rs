//! The limiter: per credential and endpoint group, admit now or wait until a reset.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, SystemTime};

use http::StatusCode;

use super::snapshot::{RateLimitSnapshot, RateLimitWindow};
use crate::EndpointGroup;
use crate::retry::ReachedServer;

/// The limiter's answer to "may I send this request now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admit {
    /// Send it. One slot is now reserved for the request; settle it with
    /// [`RateLimiter::handle_response`], [`RateLimiter::handle_transport_failure`] or
    /// [`RateLimiter::handle_failure`].
    Send,
    /// Do not send before this time, which is always later than the `now` that was passed in.
    ///
    /// When the wait is caused by requests still in flight, a slot may free up sooner (a
    /// request fails without reaching the server); asking again after any settlement is
    /// cheap and may admit earlier.
    WaitUntil(SystemTime),
}

/// A limit assumed for a group before any response has been seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a limit is a count per period; callers build it to seed the limiter"
)]
pub struct SeededLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window's length.
    pub period: Duration,
}

/// How the [`RateLimiter`] behaves before and between responses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimiterConfig {
    /// Whether to assume X's documented per-user limits (see [`LimiterConfig::documented_limits`])
    /// for a group until its first response teaches the real ones. On by default.
    ///
    /// Without it, the limiter admits everything until it has seen headers, so a burst of
    /// concurrent requests at start-up can run into 429s. With it, such a burst is held to the
    /// documented limit while the first answers are in flight; their headers then replace the
    /// guess, whichever way it was wrong, so a plan with a higher limit loses at most the time
    /// of one round trip. The guess alone never refuses a request: with nothing in flight,
    /// [`RateLimiter::poll_admit`] admits it whatever the guess says is left, so no caller
    /// waits on the guess longer than the server's own headers would make it.
    pub seed_documented_limits: bool,
    /// How long to hold a group back after a 429 that carried no usable reset header.
    pub penalty_without_reset: Duration,
    /// A reservation older than this is treated as abandoned and stops counting against the
    /// window. `None` keeps reservations until they are settled.
    ///
    /// It exists so that a caller who loses a request (a cancelled task that never reports)
    /// does not block a group forever. Set it above the transport's request timeout.
    pub reservation_timeout: Option<Duration>,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            seed_documented_limits: true,
            penalty_without_reset: Duration::from_secs(60),
            reservation_timeout: Some(Duration::from_secs(300)),
        }
    }
}

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);
const ONE_DAY: Duration = Duration::from_secs(24 * 60 * 60);

impl LimiterConfig {
    /// X's documented per-user limits for a group, as published in the rate-limit table
    /// (unchanged from January to July 2026): the first entry is the 15-minute window, the
    /// second the 24-hour one.
    ///
    /// | group | 15 minutes | 24 hours |
    /// |---|---|---|
    /// | [`ReadEvents`](EndpointGroup::ReadEvents) | 15 | — |
    /// | [`SendMessage`](EndpointGroup::SendMessage) | 15 | 1,440 |
    /// | [`DeleteEvent`](EndpointGroup::DeleteEvent) | 300 | 1,500 |
    /// | [`Block`](EndpointGroup::Block) | 10 | 400 |
    /// | media download and upload | — | — |
    /// | the four subscription groups ([`CreateSubscription`](EndpointGroup::CreateSubscription) ...) | 500 | — |
    /// | the four webhook groups ([`RegisterWebhook`](EndpointGroup::RegisterWebhook) ...) | 450 | — |
    /// | [`ReplayWebhook`](EndpointGroup::ReplayWebhook) | 100 | — |
    /// | [`ConnectStream`](EndpointGroup::ConnectStream) | 450 | — |
    ///
    /// The activity limits are per app; the table of January 2026 gives them.
    ///
    /// X's pages disagree about reads: the DM quick start's API reference gives 300 requests
    /// per 15 minutes for the conversation listing, the rate-limit table 15. The limiter
    /// starts from the lower figure, and only as a guess (see
    /// [`seed_documented_limits`](Self::seed_documented_limits)): the first answer's headers
    /// carry the count the server actually keeps for the account.
    pub fn documented_limits(group: EndpointGroup) -> (Option<SeededLimit>, Option<SeededLimit>) {
        let fifteen = |limit| {
            Some(SeededLimit {
                limit,
                period: FIFTEEN_MINUTES,
            })
        };
        let day = |limit| {
            Some(SeededLimit {
                limit,
                period: ONE_DAY,
            })
        };
        match group {
            EndpointGroup::ReadEvents => (fifteen(15), None),
            EndpointGroup::SendMessage => (fifteen(15), day(1_440)),
            EndpointGroup::DeleteEvent => (fifteen(300), day(1_500)),
            EndpointGroup::Block => (fifteen(10), day(400)),
            EndpointGroup::CreateSubscription
            | EndpointGroup::ListSubscriptions
            | EndpointGroup::UpdateSubscription
            | EndpointGroup::DeleteSubscription => (fifteen(500), None),
            EndpointGroup::RegisterWebhook
            | EndpointGroup::ListWebhooks
            | EndpointGroup::ValidateWebhook
            | EndpointGroup::DeleteWebhook
            | EndpointGroup::ConnectStream => (fifteen(450), None),
            EndpointGroup::ReplayWebhook => (fifteen(100), None),
            _ => (None, None),
        }
    }
}

/// Decides, per credential and endpoint group, whether a request may be sent now.
///
/// `K` identifies a credential: an opaque value the caller chooses, such as a hash of the user
/// id or of the access token. It is stored and compared, never shown, but should still not be
/// a secret itself.
///
/// The protocol, for every request:
///
/// 1. [`poll_admit`](Self::poll_admit) answers [`Admit::Send`] (and reserves a slot) or
///    [`Admit::WaitUntil`];
/// 2. after sending, exactly one of [`handle_response`](Self::handle_response) (any HTTP
///    answer, success or not) or [`handle_transport_failure`](Self::handle_transport_failure)
///    (no answer) settles the reservation.
///
/// The limiter counts reserved requests against what the last headers said was left, so that
/// concurrent callers cannot overspend a window between a header and the next. A settled
/// request counts as spent unless it certainly never reached the server: a response without
/// fresh rate-limit headers (a proxy's 502, say) and a failure that may have reached the server
/// each take one from the window's last known `remaining`, since the server may well have
/// counted them; only a failure with [`ReachedServer::No`] gives the slot back. A window whose
/// reset has passed starts over at its limit; a 429 or an exhausted 24-hour window holds the
/// group back until the reset the headers name.
///
/// The 24-hour per-app window is kept per credential like the others, since headers arrive per
/// request; callers who share one app among many users learn of its exhaustion from each
/// user's own responses.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{HeaderMap, StatusCode};
/// use xdm_core::EndpointGroup;
/// use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimiter};
///
/// let mut limiter = RateLimiter::new(LimiterConfig::default());
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let user = 42u64; // a hash of the user id, for example
///
/// assert_eq!(limiter.poll_admit(&user, EndpointGroup::ReadEvents, now), Admit::Send);
///
/// // The response says this was the last request of the window.
/// let mut headers = HeaderMap::new();
/// headers.insert("x-rate-limit-limit", "15".parse().unwrap());
/// headers.insert("x-rate-limit-remaining", "0".parse().unwrap());
/// headers.insert("x-rate-limit-reset", "1700000600".parse().unwrap());
/// let snapshot = RateLimitSnapshot::from_headers(&headers);
/// limiter.handle_response(&user, EndpointGroup::ReadEvents, &snapshot, StatusCode::OK, now);
///
/// let reset = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_600);
/// assert_eq!(
///     limiter.poll_admit(&user, EndpointGroup::ReadEvents, now),
///     Admit::WaitUntil(reset)
/// );
/// // Once the window has rolled over, requests flow again.
/// assert_eq!(limiter.poll_admit(&user, EndpointGroup::ReadEvents, reset), Admit::Send);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    config: LimiterConfig,
    buckets: HashMap<(K, EndpointGroup), Bucket>,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    /// The per-endpoint window (usually 15 minutes), then the two 24-hour ones.
    windows: [Option<Window>; 3],
    /// When each outstanding reservation was made, oldest first.
    in_flight: VecDeque<SystemTime>,
    /// Set by a 429 that named no reset.
    penalty_until: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    limit: u32,
    remaining: u32,
    reset: SystemTime,
    /// Used to guess the next reset when a window rolls over before a response names it.
    period: Duration,
    /// Whether the reset is an assumption (the documented limits, or a window rolled over
    /// past its reported reset) rather than a report: any report replaces it.
    seeded: bool,
    /// Whether the limit itself is the documented one, never confirmed by the server. Such a
    /// window holds requests back only while answers in flight can correct it (see
    /// [`RateLimiter::poll_admit`]).
    documented: bool,
}

impl Window {
    fn learned(w: &RateLimitWindow, period: Duration) -> Window {
        Window {
            limit: w.limit,
            remaining: w.remaining,
            reset: w.reset,
            period,
            seeded: false,
            documented: false,
        }
    }

    fn roll_over(&mut self, now: SystemTime) {
        if now < self.reset {
            return;
        }
        self.remaining = self.limit;
        // Step whole periods so the guessed reset stays on the server's grid.
        let behind = now.duration_since(self.reset).unwrap_or_default();
        let period = self.period.max(Duration::from_secs(1));
        let steps = behind.as_secs() / period.as_secs() + 1;
        let step = u32::try_from(steps)
            .ok()
            .and_then(|s| period.checked_mul(s));
        self.reset = step
            .and_then(|d| self.reset.checked_add(d))
            .filter(|r| *r > now)
            .unwrap_or_else(|| now.checked_add(period).unwrap_or(now));
        // The new reset is extrapolated from the assumed period, not reported: the server's
        // window may be shorter (plans differ, test servers shorten it), and its first report
        // must replace the guess rather than be ignored as "older", or the client would sit
        // out the rest of an imagined 15-minute window.
        self.seeded = true;
    }

    /// Counts a request the server may have served without telling how much is left. The
    /// window's `remaining` is taken at the window's current reset, so this errs towards
    /// waiting: a request the server counted in an earlier window is charged to this one.
    fn spend_one(&mut self) {
        self.remaining = self.remaining.saturating_sub(1);
    }

    /// Folds in a newer report of the same window, ignoring reports of an older one that
    /// arrive late.
    fn merge(&mut self, report: &RateLimitWindow) {
        if self.seeded {
            // Any report beats a guess, even one with an earlier reset.
            *self = Window::learned(report, self.period);
        } else if report.reset > self.reset {
            self.limit = report.limit;
            self.remaining = report.remaining;
            self.reset = report.reset;
        } else if report.reset == self.reset {
            self.limit = report.limit;
            self.remaining = self.remaining.min(report.remaining);
        }
    }
}

const PERIODS: [Duration; 3] = [FIFTEEN_MINUTES, ONE_DAY, ONE_DAY];

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// An empty limiter.
    pub fn new(config: LimiterConfig) -> Self {
        RateLimiter {
            config,
            buckets: HashMap::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// Whether a request for `group` under credential `key` may be sent at `now`.
    ///
    /// [`Admit::Send`] reserves a slot, which must be settled by
    /// [`handle_response`](Self::handle_response) or
    /// [`handle_transport_failure`](Self::handle_transport_failure).
    pub fn poll_admit(&mut self, key: &K, group: EndpointGroup, now: SystemTime) -> Admit {
        let config = &self.config;
        let bucket = self
            .buckets
            .entry((key.clone(), group))
            .or_insert_with(|| Bucket::seeded(config, group, now));
        bucket.refresh(config, now);

        let in_flight = u32::try_from(bucket.in_flight.len()).unwrap_or(u32::MAX);
        let mut wait = bucket.penalty_until;
        for w in bucket.windows.iter().flatten() {
            // The documented limits are a guess: X's plans and pages disagree (the DM quick
            // start's reference gives 300 reads per 15 minutes where the rate-limit table
            // gives 15). A guess may hold a burst back while answers in flight will tell the
            // real count, but with nothing in flight the request goes: its answer teaches the
            // server's own limit, and waiting on the guess alone could outlast any wait the
            // server would have asked for.
            let guess_alone = w.documented && in_flight == 0;
            if w.remaining <= in_flight && !guess_alone {
                wait = wait.max(Some(w.reset));
            }
        }
        match wait {
            Some(until) => Admit::WaitUntil(until),
            None => {
                bucket.in_flight.push_back(now);
                Admit::Send
            }
        }
    }

    /// Settles one reservation with the answer the server gave, and learns from its headers.
    ///
    /// Call it for every HTTP response, whatever its status. A 429 holds the group back until
    /// the reset its headers name (or for
    /// [`penalty_without_reset`](LimiterConfig::penalty_without_reset) when they name none).
    ///
    /// A window the headers say nothing current about (no header at all, as from a proxy's
    /// error page, or a reset already past) loses one from its known `remaining`: the request
    /// was answered, so the server may have counted it, and freeing its slot instead would
    /// let every header-less answer admit one request more than the window holds.
    pub fn handle_response(
        &mut self,
        key: &K,
        group: EndpointGroup,
        snapshot: &RateLimitSnapshot,
        status: StatusCode,
        now: SystemTime,
    ) {
        let config = &self.config;
        let bucket = self
            .buckets
            .entry((key.clone(), group))
            .or_insert_with(|| Bucket::seeded(config, group, now));
        bucket.in_flight.pop_front();
        bucket.refresh(config, now);

        let reports = [&snapshot.window, &snapshot.user_24h, &snapshot.app_24h];
        for ((slot, report), period) in bucket.windows.iter_mut().zip(reports).zip(PERIODS) {
            // A report whose reset has passed describes a window that is already over.
            let Some(report) = report.as_ref().filter(|r| r.reset > now) else {
                if let Some(w) = slot {
                    w.spend_one();
                }
                continue;
            };
            match slot {
                Some(w) => w.merge(report),
                None => *slot = Some(Window::learned(report, period)),
            }
        }

        if status == StatusCode::TOO_MANY_REQUESTS {
            bucket.exhaust(snapshot, now, config.penalty_without_reset);
        }
    }

    /// Settles one reservation for a request that got no HTTP response, knowing whether it
    /// may have reached the server (the transport's
    /// [`TransportFailure::reached_server`](crate::retry::TransportFailure::reached_server)).
    ///
    /// With [`ReachedServer::No`] (nothing was written, or the request was abandoned before
    /// sending) the slot is given back. With [`ReachedServer::Maybe`] the server may have
    /// counted the request, and no headers will say so, so it takes one from the window's
    /// known `remaining`, as a header-less response does.
    pub fn handle_transport_failure(
        &mut self,
        key: &K,
        group: EndpointGroup,
        reached: ReachedServer,
    ) {
        let Some(bucket) = self.buckets.get_mut(&(key.clone(), group)) else {
            return;
        };
        bucket.in_flight.pop_front();
        if reached == ReachedServer::Maybe {
            for w in bucket.windows.iter_mut().flatten() {
                w.spend_one();
            }
        }
    }

    /// Settles one reservation for a request that got no HTTP response and may have reached
    /// the server: the same as [`handle_transport_failure`](Self::handle_transport_failure)
    /// with [`ReachedServer::Maybe`], the safe assumption when the transport cannot tell.
    pub fn handle_failure(&mut self, key: &K, group: EndpointGroup) {
        self.handle_transport_failure(key, group, ReachedServer::Maybe);
    }

    /// Settles one reservation for a request that certainly never reached the server (it was
    /// abandoned before sending, or no byte was written): the slot is given back. The same as
    /// [`handle_transport_failure`](Self::handle_transport_failure) with [`ReachedServer::No`].
    pub fn handle_failure_before_send(&mut self, key: &K, group: EndpointGroup) {
        self.handle_transport_failure(key, group, ReachedServer::No);
    }

    /// How many reservations are outstanding for `key` and `group`.
    pub fn in_flight(&self, key: &K, group: EndpointGroup) -> usize {
        self.buckets
            .get(&(key.clone(), group))
            .map_or(0, |b| b.in_flight.len())
    }

    /// Forgets everything known about `key`, for example after its token was revoked.
    pub fn forget(&mut self, key: &K) {
        self.buckets.retain(|(k, _), _| k != key);
    }
}

impl Bucket {
    fn seeded(config: &LimiterConfig, group: EndpointGroup, now: SystemTime) -> Bucket {
        let mut bucket = Bucket::default();
        if config.seed_documented_limits {
            let (fifteen, day) = LimiterConfig::documented_limits(group);
            let seed = |s: SeededLimit| Window {
                limit: s.limit,
                remaining: s.limit,
                reset: now.checked_add(s.period).unwrap_or(now),
                period: s.period,
                seeded: true,
                documented: true,
            };
            bucket.windows[0] = fifteen.map(seed);
            bucket.windows[1] = day.map(seed);
        }
        bucket
    }

    fn refresh(&mut self, config: &LimiterConfig, now: SystemTime) {
        for w in self.windows.iter_mut().flatten() {
            w.roll_over(now);
        }
        if self.penalty_until.is_some_and(|until| until <= now) {
            self.penalty_until = None;
        }
        if let Some(timeout) = config.reservation_timeout {
            while let Some(&made) = self.in_flight.front() {
                let expired = made
                    .checked_add(timeout)
                    .is_some_and(|deadline| deadline <= now);
                if !expired {
                    break;
                }
                self.in_flight.pop_front();
            }
        }
    }

    fn exhaust(&mut self, snapshot: &RateLimitSnapshot, now: SystemTime, penalty: Duration) {
        // The windows the headers already show as empty explain the 429 by themselves.
        let explained = self
            .windows
            .iter()
            .flatten()
            .any(|w| w.remaining == 0 && w.reset > now);
        if explained {
            return;
        }
        match self.windows[0].as_mut().filter(|w| w.reset > now) {
            Some(w) if snapshot.window.is_some() => w.remaining = 0,
            _ => {
                let until = now.checked_add(penalty).unwrap_or(now);
                self.penalty_until = self.penalty_until.max(Some(until)).filter(|u| *u > now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const READ: EndpointGroup = EndpointGroup::ReadEvents;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn window(limit: u32, remaining: u32, reset: u64) -> Option<RateLimitWindow> {
        Some(RateLimitWindow {
            limit,
            remaining,
            reset: at(reset),
        })
    }

    fn snap(limit: u32, remaining: u32, reset: u64) -> RateLimitSnapshot {
        RateLimitSnapshot {
            window: window(limit, remaining, reset),
            ..Default::default()
        }
    }

    fn unseeded() -> RateLimiter<u64> {
        RateLimiter::new(LimiterConfig {
            seed_documented_limits: false,
            ..LimiterConfig::default()
        })
    }

    #[test]
    fn unseeded_admits_optimistically() {
        let mut l = unseeded();
        for _ in 0..100 {
            assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        }
        assert_eq!(l.in_flight(&1, READ), 100);
    }

    #[test]
    fn a_window_shorter_than_assumed_is_followed_after_a_roll_over() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(1)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 0, 5), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(5)));
        // Past the reset the window rolls over to a guess 15 minutes on; the server's next
        // report (a 6-second window) must replace it, not be ignored as older.
        assert_eq!(l.poll_admit(&1, READ, at(6)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 0, 11), StatusCode::OK, at(6));
        assert_eq!(l.poll_admit(&1, READ, at(7)), Admit::WaitUntil(at(11)));
    }

    #[test]
    fn the_first_request_is_admitted_in_every_group_to_learn_the_headers() {
        for group in [
            READ,
            EndpointGroup::SendMessage,
            EndpointGroup::DeleteEvent,
            EndpointGroup::Block,
            EndpointGroup::MediaDownload,
            EndpointGroup::MediaUpload,
        ] {
            let mut l = RateLimiter::new(LimiterConfig::default());
            assert_eq!(l.poll_admit(&1u64, group, at(0)), Admit::Send, "{group:?}");
        }
    }

    #[test]
    fn the_documented_guess_alone_never_refuses() {
        // A server that answers without rate-limit headers (a test server, a proxy) never
        // asks anyone to wait; spending the documented 15 on such answers must not either.
        let mut l = RateLimiter::new(LimiterConfig::default());
        for i in 0..40 {
            assert_eq!(l.poll_admit(&1u64, READ, at(i)), Admit::Send, "request {i}");
            let bare = RateLimitSnapshot::default();
            l.handle_response(&1, READ, &bare, StatusCode::OK, at(i));
        }
        // While an answer is in flight, the spent guess holds others back until it returns.
        assert_eq!(l.poll_admit(&1, READ, at(50)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(50)), Admit::WaitUntil(at(900)));
        // The answer reports X's quick-start figure: the guess is gone.
        l.handle_response(&1, READ, &snap(300, 258, 900), StatusCode::OK, at(51));
        for _ in 0..200 {
            assert_eq!(l.poll_admit(&1, READ, at(52)), Admit::Send);
        }
    }

    #[test]
    fn a_learned_limit_still_refuses_with_nothing_in_flight() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        assert_eq!(l.poll_admit(&1u64, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 600), StatusCode::OK, at(0));
        assert_eq!(l.poll_admit(&1, READ, at(1)), Admit::Send);
        l.handle_response(
            &1,
            READ,
            &RateLimitSnapshot::default(),
            StatusCode::OK,
            at(1),
        );
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(600)));
    }

    #[test]
    fn seeded_holds_a_start_up_burst_to_the_documented_limit() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        for _ in 0..15 {
            assert_eq!(l.poll_admit(&1u64, READ, at(100)), Admit::Send);
        }
        assert_eq!(
            l.poll_admit(&1, READ, at(100)),
            Admit::WaitUntil(at(100 + 900))
        );
        // Other credentials and groups are not affected.
        assert_eq!(l.poll_admit(&2, READ, at(100)), Admit::Send);
        assert_eq!(
            l.poll_admit(&1, EndpointGroup::MediaUpload, at(100)),
            Admit::Send
        );
    }

    #[test]
    fn headers_replace_the_seed() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        assert_eq!(l.poll_admit(&1u64, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(300, 299, 900), StatusCode::OK, at(1));
        for _ in 0..299 {
            assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::Send);
        }
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn a_report_with_an_earlier_reset_still_replaces_the_seed() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        for _ in 0..15 {
            assert_eq!(l.poll_admit(&1u64, READ, at(450)), Admit::Send);
        }
        // The server's window ends sooner than the guess and already has 5 requests in it.
        l.handle_response(&1, READ, &snap(15, 10, 900), StatusCode::OK, at(460));
        assert_eq!(l.poll_admit(&1, READ, at(461)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn documented_limits_cover_each_group() {
        use EndpointGroup::*;
        let fifteen = |g| LimiterConfig::documented_limits(g).0.map(|s| s.limit);
        let day = |g| LimiterConfig::documented_limits(g).1.map(|s| s.limit);
        assert_eq!((fifteen(ReadEvents), day(ReadEvents)), (Some(15), None));
        assert_eq!(
            (fifteen(SendMessage), day(SendMessage)),
            (Some(15), Some(1440))
        );
        assert_eq!(
            (fifteen(DeleteEvent), day(DeleteEvent)),
            (Some(300), Some(1500))
        );
        assert_eq!((fifteen(Block), day(Block)), (Some(10), Some(400)));
        assert_eq!(LimiterConfig::documented_limits(MediaUpload), (None, None));
        assert_eq!(
            LimiterConfig::documented_limits(MediaDownload),
            (None, None)
        );
        for g in [
            CreateSubscription,
            ListSubscriptions,
            UpdateSubscription,
            DeleteSubscription,
        ] {
            assert_eq!((fifteen(g), day(g)), (Some(500), None), "{g:?}");
        }
        for g in [
            RegisterWebhook,
            ListWebhooks,
            ValidateWebhook,
            DeleteWebhook,
            ConnectStream,
        ] {
            assert_eq!((fifteen(g), day(g)), (Some(450), None), "{g:?}");
        }
        assert_eq!(
            (fifteen(ReplayWebhook), day(ReplayWebhook)),
            (Some(100), None)
        );
    }

    #[test]
    fn in_flight_requests_count_against_remaining() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        // Fifteen concurrent callers, one slot left.
        let admitted = (0..15)
            .filter(|_| l.poll_admit(&1, READ, at(2)) == Admit::Send)
            .count();
        assert_eq!(admitted, 1);
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn a_failure_before_sending_gives_the_slot_back() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(900)));
        l.handle_transport_failure(&1, READ, ReachedServer::No);
        assert_eq!(l.in_flight(&1, READ), 0);
        assert_eq!(l.poll_admit(&1, READ, at(3)), Admit::Send);
        l.handle_failure_before_send(&1, READ);
        assert_eq!(l.poll_admit(&1, READ, at(3)), Admit::Send);
    }

    #[test]
    fn a_failure_that_may_have_reached_the_server_spends_the_slot() {
        for settle in [
            |l: &mut RateLimiter<u64>| l.handle_failure(&1, READ),
            |l: &mut RateLimiter<u64>| l.handle_transport_failure(&1, READ, ReachedServer::Maybe),
        ] {
            let mut l = unseeded();
            assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
            l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
            assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::Send);
            settle(&mut l);
            assert_eq!(l.in_flight(&1, READ), 0);
            assert_eq!(l.poll_admit(&1, READ, at(3)), Admit::WaitUntil(at(900)));
            // The next window starts afresh.
            assert_eq!(l.poll_admit(&1, READ, at(900)), Admit::Send);
        }
    }

    #[test]
    fn responses_without_headers_do_not_free_slots() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        // One slot left; each header-less answer (a proxy's 502) must not open another.
        let mut admitted = 0;
        for _ in 0..10 {
            if l.poll_admit(&1, READ, at(2)) == Admit::Send {
                admitted += 1;
                l.handle_response(
                    &1,
                    READ,
                    &RateLimitSnapshot::default(),
                    StatusCode::BAD_GATEWAY,
                    at(2),
                );
            }
        }
        assert_eq!(admitted, 1);
        assert_eq!(l.poll_admit(&1, READ, at(3)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn a_stale_report_counts_as_no_report() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::Send);
        // The headers describe a window that ended before the one now current.
        l.handle_response(&1, READ, &snap(15, 9, 1), StatusCode::OK, at(2));
        assert_eq!(l.poll_admit(&1, READ, at(3)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn headers_for_one_window_leave_the_others_spending() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        let send = EndpointGroup::SendMessage;
        assert_eq!(l.poll_admit(&1u64, send, at(0)), Admit::Send);
        let day = RateLimitSnapshot {
            window: window(15, 14, 900),
            user_24h: window(1440, 1, 86_400),
            app_24h: None,
        };
        l.handle_response(&1, send, &day, StatusCode::CREATED, at(1));
        assert_eq!(l.poll_admit(&1, send, at(2)), Admit::Send);
        // Only the 15-minute window is reported; the day window's last slot is still spent.
        l.handle_response(&1, send, &snap(15, 13, 900), StatusCode::CREATED, at(3));
        assert_eq!(l.poll_admit(&1, send, at(4)), Admit::WaitUntil(at(86_400)));
    }

    #[test]
    fn failure_for_an_unknown_bucket_is_harmless() {
        let mut l = unseeded();
        l.handle_failure(&9, READ);
        l.handle_failure_before_send(&9, READ);
        assert_eq!(l.in_flight(&9, READ), 0);
    }

    #[test]
    fn window_rolls_over_at_reset() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(2, 0, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(899)), Admit::WaitUntil(at(900)));
        assert_eq!(l.poll_admit(&1, READ, at(900)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(901)), Admit::Send);
        // The guessed next reset is one period after the last known one.
        assert_eq!(l.poll_admit(&1, READ, at(902)), Admit::WaitUntil(at(1800)));
    }

    #[test]
    fn rollover_far_in_the_future_stays_on_the_grid() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(1, 0, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(10_000)), Admit::Send);
        assert_eq!(
            l.poll_admit(&1, READ, at(10_000)),
            Admit::WaitUntil(at(10_800))
        );
    }

    #[test]
    fn too_many_requests_waits_until_reset() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        // A 429 whose headers still claim room (as usage caps do) is believed over the count.
        l.handle_response(
            &1,
            READ,
            &snap(15, 7, 600),
            StatusCode::TOO_MANY_REQUESTS,
            at(1),
        );
        assert_eq!(l.poll_admit(&1, READ, at(1)), Admit::WaitUntil(at(600)));
        assert_eq!(l.poll_admit(&1, READ, at(600)), Admit::Send);
    }

    #[test]
    fn too_many_requests_explained_by_an_exhausted_day_window() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        let s = RateLimitSnapshot {
            window: window(15, 10, 600),
            user_24h: window(1440, 0, 50_000),
            app_24h: None,
        };
        l.handle_response(&1, READ, &s, StatusCode::TOO_MANY_REQUESTS, at(1));
        assert_eq!(
            l.poll_admit(&1, READ, at(700)),
            Admit::WaitUntil(at(50_000))
        );
        assert_eq!(l.poll_admit(&1, READ, at(50_000)), Admit::Send);
    }

    #[test]
    fn exhausted_app_window_blocks_even_on_success() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        let s = RateLimitSnapshot {
            app_24h: window(100_000, 0, 40_000),
            ..Default::default()
        };
        l.handle_response(&1, READ, &s, StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(40_000)));
    }

    #[test]
    fn too_many_requests_without_headers_applies_the_penalty() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(
            &1,
            READ,
            &RateLimitSnapshot::default(),
            StatusCode::TOO_MANY_REQUESTS,
            at(10),
        );
        assert_eq!(l.poll_admit(&1, READ, at(10)), Admit::WaitUntil(at(70)));
        assert_eq!(l.poll_admit(&1, READ, at(70)), Admit::Send);
    }

    #[test]
    fn too_many_requests_with_a_stale_reset_applies_the_penalty() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(
            &1,
            READ,
            &snap(15, 0, 5),
            StatusCode::TOO_MANY_REQUESTS,
            at(10),
        );
        assert_eq!(l.poll_admit(&1, READ, at(10)), Admit::WaitUntil(at(70)));
    }

    #[test]
    fn late_report_of_an_older_window_is_ignored() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 14, 1800), StatusCode::OK, at(950));
        l.handle_response(&1, READ, &snap(15, 0, 900), StatusCode::OK, at(951));
        assert_eq!(l.poll_admit(&1, READ, at(952)), Admit::Send);
    }

    #[test]
    fn reordered_reports_of_one_window_keep_the_lowest_remaining() {
        let mut l = unseeded();
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 0, 900), StatusCode::OK, at(1));
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(2)), Admit::WaitUntil(at(900)));
    }

    #[test]
    fn abandoned_reservations_expire() {
        let mut l = RateLimiter::new(LimiterConfig {
            seed_documented_limits: false,
            reservation_timeout: Some(Duration::from_secs(30)),
            ..LimiterConfig::default()
        });
        assert_eq!(l.poll_admit(&1u64, READ, at(0)), Admit::Send);
        l.handle_response(&1, READ, &snap(15, 1, 900), StatusCode::OK, at(1));
        assert_eq!(l.poll_admit(&1, READ, at(1)), Admit::Send);
        assert_eq!(l.poll_admit(&1, READ, at(30)), Admit::WaitUntil(at(900)));
        assert_eq!(l.poll_admit(&1, READ, at(31)), Admit::Send);
    }

    #[test]
    fn forget_drops_a_credential() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        for _ in 0..15 {
            assert_eq!(l.poll_admit(&1u64, READ, at(0)), Admit::Send);
        }
        assert!(matches!(l.poll_admit(&1, READ, at(0)), Admit::WaitUntil(_)));
        l.forget(&1);
        assert_eq!(l.in_flight(&1, READ), 0);
        assert_eq!(l.poll_admit(&1, READ, at(0)), Admit::Send);
        assert!(l.config().seed_documented_limits);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let mut l = RateLimiter::new(LimiterConfig::default());
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        let _ = l.poll_admit(&1u64, READ, far);
        l.handle_response(&1, READ, &snap(1, 0, u64::MAX / 4 + 1), StatusCode::OK, far);
        let _ = l.poll_admit(&1, READ, far + Duration::from_secs(10));
        let _ = l.poll_admit(&1, READ, UNIX_EPOCH);
    }
}
