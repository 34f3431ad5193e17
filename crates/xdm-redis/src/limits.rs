//! Rate-limit windows shared by the fleet: one budget per account and endpoint group, kept in
//! Redis and spent by every worker.
//!
//! Two keys per account and group: a hash with the three windows X reports (the 15-minute
//! per-endpoint one and the two 24-hour ones: limit, remaining, reset, and whether each is
//! still a guess) plus a hold set by a 429 that named no reset, and a sorted set of the
//! reservations in flight, scored by when they lapse. Admission and settlement are Lua
//! scripts, so every worker sees one count. They follow the core's
//! [`RateLimiter`](xdm_core::rate_limit::RateLimiter), rule for rule, with the fleet's
//! reservations in place of one process's:
//!
//! - a request is admitted while every window has more left than there are requests in
//!   flight; X's documented limits stand in until the first answer's headers, and a guess
//!   alone, with nothing in flight, never refuses;
//! - each answer folds its headers into the windows (a newer reset replaces, the same reset
//!   keeps the lower `remaining`); an answer without headers, or a failure that may have
//!   reached X, takes one from what is left;
//! - a 429 holds the group back, for every worker, until the reset.
//!
//! A worker that is refused sleeps until the shared reset plus up to 250 ms of jitter, so
//! the workers that wake at a reset reach Redis spread out rather than together. A refusal
//! that answers in flight may lift waits for one of them to be settled: each settlement
//! publishes on the account and group's channel, and the waiter, subscribed before it asked
//! again, wakes on it ([`crate::notify`]). It never sleeps past the reset, the lapse of the
//! oldest reservation in flight (a dead worker's never settles) or 5 s (in case a message was
//! lost); while the subscriber connection is down it asks again on a short backoff (20 ms
//! doubling to 1 s) instead.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use redis::Script;
use xdm_client::transport::{BodyStream, StreamingTransport, Transport, TransportError};
use xdm_core::rate_limit::{LimiterConfig, RateLimitSnapshot, RateLimitWindow};
use xdm_core::retry::ReachedServer;
use xdm_core::{EndpointGroup, EndpointInfo};

use crate::account::{AccountId, key};
use crate::connection::Redis;
use crate::error::StoreError;
use crate::jitter;
use crate::notify::{Listener, Notifications};
use crate::record::{from_ms, to_ms};

/// Rolls window `i` of hash `h` over when its reset has passed, and returns its limit,
/// remaining, reset and whether its limit is only the documented guess (nil when absent).
const ROLL: &str = r"
local function s(x) return string.format('%d', x) end
local function roll(h, i, now)
  local v = redis.call('HMGET', h, 'l'..i, 'r'..i, 't'..i, 'p'..i, 'd'..i)
  if not v[1] then return nil end
  local l, r, t, p = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
  if t <= now then
    if p < 1000 then p = 1000 end
    t = t + (math.floor((now - t) / p) + 1) * p
    r = l
    redis.call('HSET', h, 'r'..i, s(r), 't'..i, s(t), 's'..i, '1')
  end
  return l, r, t, v[5] == '1'
end
";

/// KEYS windows, in-flight; ARGV now, reservation id, lease, then the documented 15-minute
/// and 24-hour limits and periods ('' when none), then how long to keep the keys. Returns
/// {1, 0, in flight, 0, limit, 0} when admitted, {0, until, in flight, provisional, limit,
/// first lapse} when not (the first lapse is when the oldest reservation in flight runs out
/// unsettled, 0 when none is in flight).
const ADMIT: &str = r"
local h, now = KEYS[1], tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local in_flight = redis.call('ZCARD', KEYS[2])
if redis.call('EXISTS', h) == 0 then
  for i = 1, 2 do
    local l, p = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
    if l ~= '' then
      redis.call('HSET', h, 'l'..i, l, 'r'..i, l, 't'..i, s(now + tonumber(p)), 'p'..i, p,
        's'..i, '1', 'd'..i, '1')
    end
  end
  redis.call('HSET', h, 'hold', '0')
end
local hold = tonumber(redis.call('HGET', h, 'hold') or '0')
local wait, hard, limit = 0, false, 0
if hold > now then wait, hard = hold, true end
for i = 1, 3 do
  local l, r, t, guess = roll(h, i, now)
  if l then
    if limit == 0 then limit = l end
    if r <= in_flight and not (guess and in_flight == 0) then
      if r == 0 then hard = true end
      if t > wait then wait, limit = t, l end
    end
  end
end
if wait > 0 then
  local provisional = 0
  if not hard then provisional = 1 end
  local first, lapse = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES'), 0
  if first[2] then lapse = tonumber(first[2]) end
  return {0, wait, in_flight, provisional, limit, lapse}
end
redis.call('ZADD', KEYS[2], s(now + tonumber(ARGV[3])), ARGV[2])
redis.call('PEXPIRE', h, ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return {1, 0, in_flight + 1, 0, limit, 0}
";

/// KEYS windows, in-flight; ARGV now, reservation id, status, penalty, mode ('response',
/// 'lost' or 'unsent'), then limit, remaining and reset of the three windows ('' when the
/// headers lacked one), then the channel that wakes the group's waiters. The wake-up is
/// published before anything else: the script is atomic, so a woken waiter's next admission
/// runs after all of it. A refused `PUBLISH` (an ACL without the channel) is ignored: the
/// waiters then wake on their bound, and the settlement itself must not be lost.
const SETTLE: &str = r"
local h, now = KEYS[1], tonumber(ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.pcall('PUBLISH', ARGV[15], '')
local mode = ARGV[5]
if mode == 'unsent' or redis.call('EXISTS', h) == 0 then return 0 end
local periods = {900000, 86400000, 86400000}
for i = 1, 3 do
  roll(h, i, now)
  local rl, rr, rt = ARGV[3 * i + 3], ARGV[3 * i + 4], ARGV[3 * i + 5]
  local cur = redis.call('HMGET', h, 'l'..i, 'r'..i, 't'..i, 's'..i)
  if mode == 'response' and rt ~= '' and tonumber(rt) > now then
    if not cur[1] then
      redis.call('HSET', h, 'l'..i, rl, 'r'..i, rr, 't'..i, rt, 'p'..i, s(periods[i]),
        's'..i, '0', 'd'..i, '0')
    elseif cur[4] == '1' or tonumber(rt) > tonumber(cur[3]) then
      redis.call('HSET', h, 'l'..i, rl, 'r'..i, rr, 't'..i, rt, 's'..i, '0', 'd'..i, '0')
    elseif tonumber(rt) == tonumber(cur[3]) then
      redis.call('HSET', h, 'l'..i, rl, 'r'..i, s(math.min(tonumber(cur[2]), tonumber(rr))))
    end
  elseif cur[1] then
    redis.call('HSET', h, 'r'..i, s(math.max(tonumber(cur[2]) - 1, 0)))
  end
end
if ARGV[3] == '429' then
  local explained = false
  for i = 1, 3 do
    local v = redis.call('HMGET', h, 'r'..i, 't'..i)
    if v[1] and tonumber(v[1]) == 0 and tonumber(v[2]) > now then explained = true end
  end
  if not explained then
    local t1 = redis.call('HGET', h, 't1')
    if ARGV[8] ~= '' and t1 and tonumber(t1) > now then
      redis.call('HSET', h, 'r1', '0')
    else
      local hold = math.max(tonumber(redis.call('HGET', h, 'hold') or '0'),
        now + tonumber(ARGV[4]))
      redis.call('HSET', h, 'hold', s(hold))
    end
  end
end
return 1
";

static ADMIT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{ROLL}{ADMIT}")));
static SETTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{ROLL}{SETTLE}")));

/// How long a group's windows are kept after its last request: longer than the 24-hour
/// window, so that a day's spending is not forgotten overnight.
const KEEP: Duration = Duration::from_secs(2 * 24 * 60 * 60);
/// The most jitter added to a wait for a reset.
const RESET_JITTER: Duration = Duration::from_millis(250);
/// The longest a subscribed waiter sleeps without a wake-up before it asks again, in case a
/// message was lost without the subscriber connection noticing.
const NOTIFIED_WAIT_CAP: Duration = Duration::from_secs(5);
/// The most jitter added to a wait for the lapse of a reservation.
const LAPSE_JITTER: Duration = Duration::from_millis(50);

/// The fleet's shared rate-limit windows: admission of each request against what every
/// worker has spent. Admission and settlement are Lua scripts over two keys per account
/// and group (the windows, and the reservations in flight), following the core
/// [`RateLimiter`](xdm_core::rate_limit::RateLimiter) rule for rule.
///
/// Cloning is cheap; clones share the Redis connection, the degraded flag and the subscriber
/// connection that wakes waiting requests (opened on the first wait). Wrap a transport with
/// [`transport`](Self::transport) to limit one account's requests.
#[derive(Clone)]
pub struct FleetLimits {
    redis: Redis,
    max_wait: Duration,
    lease: Duration,
    penalty_without_reset: Duration,
    degraded: Arc<AtomicBool>,
    notifications: Arc<Notifications>,
}

impl std::fmt::Debug for FleetLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetLimits")
            .field("redis", &self.redis)
            .field("max_wait", &self.max_wait)
            .field("lease", &self.lease)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

/// What admission decided.
enum Admission {
    /// Send, under this reservation.
    Admitted(String),
    /// Redis could not be asked: send, leaving admission to the client's own limiter.
    Local,
    /// The fleet's budget is spent until `until`, further away than the caller may wait.
    Refused { until: SystemTime, limit: u32 },
}

/// How a request ended, for settling its reservation.
enum Outcome<'a> {
    Response(http::StatusCode, &'a http::HeaderMap),
    Failure(ReachedServer),
}

static RESERVATIONS: AtomicU64 = AtomicU64::new(0);

impl FleetLimits {
    /// Limits shared through `redis`, waiting up to 16 minutes for a reset (one of X's
    /// 15-minute windows and a little slack, as the client's default policy does), with
    /// reservations that lapse after 2 minutes if their worker never settles them.
    pub fn new(redis: &Redis) -> Self {
        FleetLimits {
            redis: redis.clone(),
            max_wait: Duration::from_secs(16 * 60),
            lease: Duration::from_secs(120),
            penalty_without_reset: LimiterConfig::default().penalty_without_reset,
            degraded: Arc::new(AtomicBool::new(false)),
            notifications: Arc::new(Notifications::new(
                redis.client.clone(),
                redis.connect_timeout,
                redis.response_timeout,
            )),
        }
    }

    /// Waits at most `max_wait` in all for the fleet's budget; past it, the request is
    /// answered with a 429 of the transport's own (marked `x-xdm-fleet-limited: 1`, its
    /// headers naming the shared reset), so the client's
    /// [`RateLimitPolicy`](xdm_client::RateLimitPolicy) decides what follows. Zero never
    /// waits.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Lets a reservation lapse after `lease` when its worker never settles it (it died, or
    /// the call was dropped mid-request). Keep it above the transport's request timeout.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Whether Redis could not be reached at the last attempt, so that admission is left to
    /// each client's own limiter until it answers again.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// `transport`, with every request for `account` admitted against the fleet's windows.
    pub fn transport<T>(&self, account: AccountId, transport: T) -> FleetTransport<T> {
        FleetTransport {
            inner: transport,
            limits: self.clone(),
            keys: GroupKeys::new(&self.redis, &account),
            account,
        }
    }

    fn degrade(&self, error: &StoreError) {
        if !self.degraded.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                %error,
                "Redis unreachable: rate limits fall back to each client's own limiter"
            );
        }
    }

    fn recover(&self) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!("Redis answers again: rate limits are shared across the fleet again");
        }
    }

    fn redis_error(
        &self,
        account: &AccountId,
        action: &'static str,
        source: redis::RedisError,
    ) -> StoreError {
        self.redis.error_for(account, action)(source)
    }

    async fn admit_once(
        &self,
        account: &AccountId,
        keys: &GroupKeys,
        group: EndpointGroup,
        reservation: &str,
        now: SystemTime,
    ) -> Result<Answer, StoreError> {
        let (fifteen, day) = LimiterConfig::documented_limits(group);
        let limit = |s: Option<xdm_core::rate_limit::SeededLimit>| {
            s.map(|s| s.limit.to_string()).unwrap_or_default()
        };
        let period = |s: Option<xdm_core::rate_limit::SeededLimit>| {
            s.map(|s| s.period.as_millis().to_string())
                .unwrap_or_default()
        };
        let GroupKey {
            windows, in_flight, ..
        } = keys.of(group);
        let reply: Vec<i64> = ADMIT_SCRIPT
            .key(windows)
            .key(in_flight)
            .arg(to_ms(now))
            .arg(reservation)
            .arg(to_ms_u(self.lease))
            .arg(limit(fifteen))
            .arg(period(fifteen))
            .arg(limit(day))
            .arg(period(day))
            .arg(to_ms_u(KEEP))
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(|e| self.redis_error(account, "admitting a request", e))?;
        let [admitted, until, _, provisional, limit, lapse] = reply[..] else {
            return Err(self.redis_error(
                account,
                "admitting a request",
                (
                    redis::ErrorKind::Parse,
                    "unexpected answer from the admission script",
                )
                    .into(),
            ));
        };
        let time = |ms: i64| from_ms(u64::try_from(ms).unwrap_or(0));
        Ok(Answer {
            admitted: admitted == 1,
            until: time(until),
            provisional: provisional == 1,
            limit: u32::try_from(limit).unwrap_or(0),
            first_lapse: (lapse > 0).then(|| time(lapse)),
        })
    }

    /// Waits until the fleet admits a request of `group` for `account`.
    async fn admit(
        &self,
        account: &AccountId,
        keys: &GroupKeys,
        group: EndpointGroup,
    ) -> Admission {
        let reservation = format!(
            "{}-{}-{}",
            std::process::id(),
            RESERVATIONS.fetch_add(1, Ordering::Relaxed),
            jitter::up_to(Duration::from_secs(1 << 30)).as_millis()
        );
        let started = Instant::now();
        let mut short = Duration::from_millis(20);
        // Made at the first refusal that a settlement may lift, and kept to the end: the
        // subscription stands before every later check.
        let mut listener: Option<Listener> = None;
        loop {
            if let Some(listener) = &mut listener {
                listener.mark_seen();
            }
            let now = SystemTime::now();
            let answer = match self
                .admit_once(account, keys, group, &reservation, now)
                .await
            {
                Ok(answer) => answer,
                Err(error) => {
                    self.degrade(&error);
                    return Admission::Local;
                }
            };
            self.recover();
            if answer.admitted {
                return Admission::Admitted(reservation);
            }
            let refused = Admission::Refused {
                until: answer.until,
                limit: answer.limit,
            };
            let to_reset = answer.until.duration_since(now).unwrap_or_default();
            if !answer.provisional {
                let pause = to_reset + jitter::up_to(RESET_JITTER);
                if started.elapsed() + pause > self.max_wait {
                    return refused;
                }
                tracing::debug!(
                    wait_ms = pause.as_millis() as u64,
                    "the fleet's budget is spent; waiting for the reset"
                );
                tokio::time::sleep(pause).await;
                continue;
            }
            // Answers in flight may free a slot: wait for one to be settled.
            let Some(left) = self.max_wait.checked_sub(started.elapsed()) else {
                return refused;
            };
            if left.is_zero() {
                return refused;
            }
            let listener = match &mut listener {
                Some(listener) => listener,
                None => {
                    let mut fresh = self.notifications.listen(keys.of(group).channel);
                    let subscribed = fresh.subscribed(short.min(left)).await;
                    let listener = listener.insert(fresh);
                    if subscribed {
                        // A slot freed before the subscription stood woke nobody: ask again
                        // now that any later one will.
                        continue;
                    }
                    listener
                }
            };
            let pause = if listener.is_subscribed() {
                let to_lapse = answer
                    .first_lapse
                    .and_then(|t| t.duration_since(now).ok())
                    .map_or(NOTIFIED_WAIT_CAP, |d| d + jitter::up_to(LAPSE_JITTER));
                to_reset.min(to_lapse).min(NOTIFIED_WAIT_CAP)
            } else {
                let pause = (short + jitter::up_to(short)).min(to_reset);
                short = (short * 2).min(Duration::from_secs(1));
                pause
            };
            let pause = pause.min(left);
            tracing::debug!(
                bound_ms = pause.as_millis() as u64,
                notified = listener.is_subscribed(),
                "the fleet's budget is taken by requests in flight; waiting for one to end"
            );
            listener.wait(pause).await;
        }
    }

    async fn settle(
        &self,
        account: &AccountId,
        keys: &GroupKeys,
        group: EndpointGroup,
        reservation: &str,
        outcome: Outcome<'_>,
    ) {
        let (status, mode, snapshot) = match outcome {
            Outcome::Response(status, headers) => (
                status.as_u16(),
                "response",
                RateLimitSnapshot::from_headers(headers),
            ),
            Outcome::Failure(ReachedServer::No) => (0, "unsent", RateLimitSnapshot::default()),
            Outcome::Failure(_) => (0, "lost", RateLimitSnapshot::default()),
        };
        let GroupKey {
            windows,
            in_flight,
            channel,
        } = keys.of(group);
        let mut invocation = SETTLE_SCRIPT.key(windows);
        invocation
            .key(in_flight)
            .arg(to_ms(SystemTime::now()))
            .arg(reservation)
            .arg(status)
            .arg(to_ms_u(self.penalty_without_reset))
            .arg(mode);
        for window in [snapshot.window, snapshot.user_24h, snapshot.app_24h] {
            match window {
                Some(RateLimitWindow {
                    limit,
                    remaining,
                    reset,
                }) => invocation.arg(limit).arg(remaining).arg(to_ms(reset)),
                None => invocation.arg("").arg("").arg(""),
            };
        }
        invocation.arg(channel);
        let settled: Result<u8, _> = invocation.invoke_async(&mut self.redis.conn()).await;
        match settled {
            Ok(_) => self.recover(),
            // The reservation lapses on its own; the answer's headers are lost to the fleet,
            // which the next answer makes up for.
            Err(e) => self.degrade(&self.redis_error(account, "settling a request", e)),
        }
    }
}

fn to_ms_u(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The keys of one account's groups.
#[derive(Debug, Clone)]
struct GroupKeys {
    base: String,
}

impl GroupKeys {
    fn new(redis: &Redis, account: &AccountId) -> Self {
        GroupKeys {
            base: key(&redis.prefix, account, "limits"),
        }
    }

    fn of(&self, group: EndpointGroup) -> GroupKey {
        let name = match group {
            EndpointGroup::ReadEvents => "read-events",
            EndpointGroup::SendMessage => "send-message",
            EndpointGroup::DeleteEvent => "delete-event",
            EndpointGroup::Block => "block",
            EndpointGroup::MediaDownload => "media-download",
            EndpointGroup::MediaUpload => "media-upload",
            EndpointGroup::LookupSelf => "lookup-self",
            _ => "other",
        };
        let windows = format!("{}:{name}", self.base);
        GroupKey {
            in_flight: format!("{windows}:in-flight"),
            channel: format!("{windows}:settled"),
            windows,
        }
    }
}

/// The keys of one account's group, and the channel its settlements are published on.
struct GroupKey {
    windows: String,
    in_flight: String,
    channel: String,
}

/// What one admission attempt answered.
struct Answer {
    admitted: bool,
    /// When refused: the reset (or hold) that a refusal waits for.
    until: SystemTime,
    /// When refused: whether answers in flight may lift the refusal before `until`.
    provisional: bool,
    limit: u32,
    /// When refused: when the oldest reservation in flight lapses unsettled.
    first_lapse: Option<SystemTime>,
}

/// A transport whose requests for one account are admitted against the fleet's shared
/// windows first (see [`FleetLimits`]). Requests that carry no
/// [`EndpointInfo`] (token refreshes, for one) pass straight through.
///
/// When the fleet's budget is spent it sleeps until the shared reset; past the limits'
/// `max_wait` it answers with a 429 of its own whose headers name the reset. When Redis
/// cannot be reached it sends anyway, leaving admission to the client's own limiter (a
/// warning is logged once per outage).
#[derive(Debug, Clone)]
pub struct FleetTransport<T> {
    inner: T,
    limits: FleetLimits,
    account: AccountId,
    keys: GroupKeys,
}

impl<T> FleetTransport<T> {
    /// The account whose budget this transport spends.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The transport underneath.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The shared limits.
    pub fn limits(&self) -> &FleetLimits {
        &self.limits
    }
}

fn group_of<B>(request: &http::Request<B>) -> Option<EndpointGroup> {
    request.extensions().get::<EndpointInfo>().map(|i| i.group)
}

/// The 429 the transport answers when the fleet's budget stays spent past `max_wait`.
fn refusal(until: SystemTime, limit: u32) -> http::Response<Bytes> {
    let reset = until
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let body = Bytes::from_static(
        br#"{"title":"Too Many Requests","detail":"The fleet's shared rate limit for this account is spent until the reset.","type":"about:blank","status":429}"#,
    );
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    let number = |n: u64| http::HeaderValue::from(n);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/problem+json"),
    );
    // A limit of 0 would teach the client's limiter a window that never refills.
    headers.insert("x-rate-limit-limit", number(u64::from(limit.max(1))));
    headers.insert("x-rate-limit-remaining", number(0));
    headers.insert("x-rate-limit-reset", number(reset));
    headers.insert("x-xdm-fleet-limited", http::HeaderValue::from_static("1"));
    response
}

impl<T> FleetTransport<T> {
    /// Admits `request` against the fleet's windows, sends it with `send`, and settles the
    /// windows from the answer's status and headers (all a streamed answer has at that point).
    async fn through_fleet<B, Fut>(
        &self,
        request: http::Request<Bytes>,
        send: impl FnOnce(http::Request<Bytes>) -> Fut,
        refused: impl FnOnce(http::Response<Bytes>) -> http::Response<B>,
    ) -> Result<http::Response<B>, TransportError>
    where
        Fut: std::future::Future<Output = Result<http::Response<B>, TransportError>>,
    {
        let Some(group) = group_of(&request) else {
            return send(request).await;
        };
        let reservation = match self.limits.admit(&self.account, &self.keys, group).await {
            Admission::Admitted(r) => r,
            Admission::Local => return send(request).await,
            Admission::Refused { until, limit } => return Ok(refused(refusal(until, limit))),
        };
        let result = send(request).await;
        let outcome = match &result {
            Ok(response) => Outcome::Response(response.status(), response.headers()),
            Err(e) => Outcome::Failure(e.failure().reached_server),
        };
        self.limits
            .settle(&self.account, &self.keys, group, &reservation, outcome)
            .await;
        result
    }
}

impl<T: Transport> Transport for FleetTransport<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.through_fleet(request, |r| self.inner.send(r), |response| response)
            .await
    }
}

impl<T: StreamingTransport> StreamingTransport for FleetTransport<T> {
    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, TransportError> {
        self.through_fleet(
            request,
            |r| self.inner.send_streaming(r),
            |response| response.map(BodyStream::from_bytes),
        )
        .await
    }
}
