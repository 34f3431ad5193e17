//! The stream session: X's reconnect schedules, backfill, gaps, shutdown, and, under random
//! event sequences, its invariants (one connection at a time, never early, waits within their
//! caps, no hot loop).

use std::time::{Duration, Instant};

use http::StatusCode;
use proptest::prelude::*;
use xdm_core::activity::session::{
    CloseReason, ConnectionState, HTTP_CAP, MAX_HONOURED_RESET, Next, RATE_CAP, SessionConfig,
    StopReason, StreamSession, TCP_CAP, WaitReason,
};
use xdm_core::endpoints::{FatalRefusal, StreamRefusal};

const S: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn server_error() -> StreamRefusal {
    StreamRefusal::Retryable {
        status: StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn rate_limited(retry_after: Option<Duration>) -> StreamRefusal {
    StreamRefusal::RateLimited {
        retry_after,
        too_many_connections: true,
    }
}

/// Polls at `now`, expecting a wait, and returns its length.
fn wait_len(s: &mut StreamSession, now: Instant) -> (Duration, WaitReason, bool) {
    match s.poll(now) {
        Next::WaitUntil {
            until,
            reason,
            at_cap,
        } => (until - now, reason, at_cap),
        other => panic!("expected a wait, got {other:?}"),
    }
}

fn expect_connect(s: &mut StreamSession, now: Instant) -> Option<u8> {
    match s.poll(now) {
        Next::Connect { backfill_minutes } => backfill_minutes,
        other => panic!("expected a connect, got {other:?}"),
    }
}

#[test]
fn connect_failures_back_off_linearly_to_16_seconds() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    let mut now = t;
    let mut waits = Vec::new();
    for _ in 0..70 {
        expect_connect(&mut s, now);
        s.handle_connect_failed(now);
        let (wait, reason, at_cap) = wait_len(&mut s, now);
        assert_eq!(reason, WaitReason::ConnectFailed);
        assert_eq!(at_cap, wait == TCP_CAP);
        assert_eq!(s.backoff_at_cap(), at_cap);
        waits.push(wait);
        now += wait;
    }
    assert_eq!(
        &waits[..3],
        &[
            Duration::from_millis(250),
            Duration::from_millis(500),
            Duration::from_millis(750)
        ]
    );
    assert_eq!(waits[63], TCP_CAP);
    assert_eq!(*waits.last().unwrap(), TCP_CAP);
}

#[test]
fn server_errors_back_off_exponentially_to_320_seconds() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    let mut now = t;
    let mut waits = Vec::new();
    for _ in 0..9 {
        expect_connect(&mut s, now);
        s.handle_refused(now, server_error());
        let (wait, reason, _) = wait_len(&mut s, now);
        assert_eq!(reason, WaitReason::ServerError);
        waits.push(wait.as_secs());
        now += wait;
    }
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 320, 320]);
    assert!(s.backoff_at_cap());
}

#[test]
fn rate_limits_back_off_from_a_minute_and_honour_the_reset() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    let mut now = t;
    let mut waits = Vec::new();
    for _ in 0..6 {
        expect_connect(&mut s, now);
        s.handle_refused(now, rate_limited(None));
        let (wait, reason, _) = wait_len(&mut s, now);
        assert_eq!(reason, WaitReason::RateLimited);
        waits.push(wait.as_secs());
        now += wait;
    }
    assert_eq!(waits, [60, 120, 240, 480, 960, 960]);
    // A reset further away than the backoff is honoured, up to an hour.
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_refused(t, rate_limited(Some(secs(700))));
    assert_eq!(wait_len(&mut s, t).0, secs(700));
    s.poll(t + secs(700));
    s.handle_refused(t + secs(700), rate_limited(Some(secs(30))));
    assert_eq!(wait_len(&mut s, t + secs(700)).0, secs(120));
    s.poll(t + secs(820));
    s.handle_refused(t + secs(820), rate_limited(Some(secs(86_400))));
    assert_eq!(wait_len(&mut s, t + secs(820)).0, MAX_HONOURED_RESET);
}

#[test]
fn configuration_refusals_stop_the_session() {
    let t = Instant::now();
    for status in [
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::BAD_REQUEST,
    ] {
        let mut s = StreamSession::new(SessionConfig::default());
        expect_connect(&mut s, t);
        let fatal = FatalRefusal::new(status, Some("Unauthorized".into()));
        s.handle_refused(t, StreamRefusal::Fatal(fatal.clone()));
        assert_eq!(
            s.poll(t + secs(3600)),
            Next::Stop(StopReason::Refused(fatal.clone()))
        );
        assert_eq!(
            s.state(),
            &ConnectionState::Stopped(StopReason::Refused(fatal))
        );
        assert_eq!(s.poll_timeout(), None);
    }
}

#[test]
fn backfill_is_asked_once_refused_never_again() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    assert_eq!(
        expect_connect(&mut s, t),
        None,
        "nothing to backfill before the first connect"
    );
    s.handle_connected(t);
    s.handle_data(t + secs(100));
    s.handle_closed(t + secs(130));
    // Last alive at 100 s, reconnecting at 130 s: 30 s missed, one minute asked for.
    assert_eq!(expect_connect(&mut s, t + secs(130)), Some(1));
    s.handle_refused(t + secs(131), StreamRefusal::BackfillRefused);
    assert!(s.backfill_refused());
    // At once, without backfill.
    assert_eq!(expect_connect(&mut s, t + secs(131)), None);
    s.handle_connected(t + secs(132));
    let gap = s.take_gap().unwrap();
    assert_eq!(gap.last_alive, t + secs(100));
    assert_eq!(gap.down_since, t + secs(130));
    assert_eq!(gap.restored_at, Some(t + secs(132)));
    assert_eq!(gap.backfill_minutes, None);
    assert!(!gap.covered_by_backfill());
    assert_eq!(s.take_gap(), None);
    // Later outages never ask again.
    s.handle_data(t + secs(300));
    s.handle_closed(t + secs(301));
    assert_eq!(expect_connect(&mut s, t + secs(301)), None);
}

#[test]
fn a_backfill_refusal_without_backfill_is_fatal_not_a_loop() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_refused(t, StreamRefusal::BackfillRefused);
    let Next::Stop(StopReason::Refused(f)) = s.poll(t) else {
        panic!()
    };
    assert_eq!(f.status, StatusCode::BAD_REQUEST);
}

#[test]
fn backfill_covers_outages_up_to_five_minutes_when_allowed() {
    let t = Instant::now();
    for (outage, expected) in [
        (1, Some(1)),
        (60, Some(1)),
        (61, Some(2)),
        (299, Some(5)),
        (300, Some(5)),
        (301, None),
    ] {
        let mut s = StreamSession::new(SessionConfig::default().with_stable_after(secs(10)));
        expect_connect(&mut s, t);
        s.handle_connected(t);
        s.handle_data(t + secs(20));
        s.handle_closed(t + secs(20));
        // The immediate reconnect fails; the next connect comes after the outage.
        expect_connect(&mut s, t + secs(20));
        s.handle_connect_failed(t + secs(20));
        let at = t + secs(20 + outage);
        assert_eq!(expect_connect(&mut s, at), expected, "{outage} s");
        s.handle_connected(at);
        let gap = s.take_gap().unwrap();
        assert_eq!(gap.backfill_minutes, expected);
        assert_eq!(gap.covered_by_backfill(), expected.is_some());
    }
    let mut s = StreamSession::new(SessionConfig::default().with_backfill(false));
    assert!(!s.config().backfill);
    expect_connect(&mut s, t);
    s.handle_connected(t);
    s.handle_closed(t + secs(5));
    assert_eq!(expect_connect(&mut s, t + secs(5)), None);
}

#[test]
fn a_dropped_stream_reconnects_at_once_once_then_backs_off() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_connected(t);
    assert!(s.current_gap().is_none());
    s.handle_data(t + secs(200));
    s.handle_closed(t + secs(201));
    let gap = s.current_gap().unwrap();
    assert_eq!(
        (gap.last_alive, gap.down_since, gap.restored_at),
        (t + secs(200), t + secs(201), None)
    );
    // Healthy for 200 s: reconnect at once.
    expect_connect(&mut s, t + secs(201));
    // A server that accepts and closes at once gets growing waits, not a loop.
    let mut now = t + secs(201);
    let mut waits = Vec::new();
    for _ in 0..8 {
        s.handle_connected(now);
        s.handle_closed(now);
        let (wait, reason, _) = wait_len(&mut s, now);
        assert_eq!(reason, WaitReason::Dropped);
        waits.push(wait.as_secs());
        now += wait;
        expect_connect(&mut s, now);
    }
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 320]);
    // A connection that stays up long enough starts the schedules over.
    s.handle_connected(now);
    s.handle_data(now + secs(61));
    s.handle_closed(now + secs(62));
    expect_connect(&mut s, now + secs(62));
}

#[test]
fn silence_and_slow_heads_close_the_connection() {
    let t = Instant::now();
    let mut s = StreamSession::new(
        SessionConfig::new()
            .with_idle_timeout(secs(30))
            .with_connect_timeout(secs(45)),
    );
    expect_connect(&mut s, t);
    assert_eq!(s.poll_timeout(), Some(t + secs(45)));
    assert_eq!(
        s.poll(t + secs(44)),
        Next::Await {
            deadline: t + secs(45)
        }
    );
    assert_eq!(
        s.poll(t + secs(45)),
        Next::Close {
            reason: CloseReason::ConnectTimeout
        }
    );
    assert_eq!(
        s.poll(t + secs(46)),
        Next::Close {
            reason: CloseReason::ConnectTimeout
        }
    );
    assert_eq!(s.poll_timeout(), None);
    s.handle_closed(t + secs(46));
    let (wait, reason, _) = wait_len(&mut s, t + secs(46));
    assert_eq!(
        (wait, reason),
        (Duration::from_millis(250), WaitReason::ConnectFailed)
    );

    let now = t + secs(47);
    expect_connect(&mut s, now);
    s.handle_connected(now);
    s.handle_data(now + secs(20));
    assert_eq!(s.poll_timeout(), Some(now + secs(50)));
    // Data never moves the deadline backwards.
    s.handle_data(now + secs(10));
    assert_eq!(
        s.poll(now + secs(49)),
        Next::Await {
            deadline: now + secs(50)
        }
    );
    assert_eq!(
        s.poll(now + secs(50)),
        Next::Close {
            reason: CloseReason::IdleTimeout
        }
    );
    assert!(matches!(
        s.state(),
        ConnectionState::Closing {
            reason: CloseReason::IdleTimeout,
            opened: Some(_)
        }
    ));
    s.handle_closed(now + secs(50));
    // The silent connection counts as dropped: reconnect at once, backfilling the silence.
    assert_eq!(expect_connect(&mut s, now + secs(50)), Some(1));
}

#[test]
fn shutdown_closes_cleanly_in_every_state() {
    let t = Instant::now();
    // Open: close first, then stop.
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_connected(t);
    s.shutdown();
    assert_eq!(
        s.poll(t),
        Next::Close {
            reason: CloseReason::Shutdown
        }
    );
    s.shutdown();
    assert_eq!(
        s.poll(t),
        Next::Close {
            reason: CloseReason::Shutdown
        }
    );
    s.handle_closed(t + S);
    assert_eq!(s.poll(t + S), Next::Stop(StopReason::Shutdown));
    // Connecting: the same.
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.shutdown();
    assert_eq!(
        s.poll(t),
        Next::Close {
            reason: CloseReason::Shutdown
        }
    );
    s.handle_closed(t);
    assert_eq!(s.poll(t), Next::Stop(StopReason::Shutdown));
    // Closing for silence, then shutdown: still a shutdown.
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_connected(t);
    assert_eq!(
        s.poll(t + secs(31)),
        Next::Close {
            reason: CloseReason::IdleTimeout
        }
    );
    s.shutdown();
    s.handle_closed(t + secs(31));
    assert_eq!(s.poll(t + secs(31)), Next::Stop(StopReason::Shutdown));
    // Waiting or idle: stop at once; stopping twice changes nothing.
    let mut s = StreamSession::new(SessionConfig::default());
    expect_connect(&mut s, t);
    s.handle_refused(t, server_error());
    s.shutdown();
    assert_eq!(s.poll(t), Next::Stop(StopReason::Shutdown));
    s.shutdown();
    assert_eq!(s.poll(t), Next::Stop(StopReason::Shutdown));
    let mut s = StreamSession::new(SessionConfig::default());
    s.shutdown();
    assert_eq!(s.poll(t), Next::Stop(StopReason::Shutdown));
}

#[test]
fn events_that_do_not_fit_the_state_are_ignored() {
    let t = Instant::now();
    let mut s = StreamSession::new(SessionConfig::default());
    s.handle_connected(t);
    s.handle_data(t);
    s.handle_closed(t);
    s.handle_connect_failed(t);
    s.handle_refused(t, server_error());
    assert_eq!(s.state(), &ConnectionState::Idle);
    expect_connect(&mut s, t);
    s.handle_connected(t);
    s.handle_refused(t, server_error());
    s.handle_connect_failed(t);
    assert!(matches!(s.state(), ConnectionState::Open { .. }));
    // The request for a Connect carries its backfill.
    assert_eq!(
        StreamSession::connect_request(Some(3)).backfill_minutes(),
        Some(3)
    );
    assert_eq!(
        StreamSession::connect_request(Some(9)).backfill_minutes(),
        Some(5)
    );
    assert_eq!(
        StreamSession::connect_request(None).backfill_minutes(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Random event sequences.

#[derive(Debug, Clone)]
enum Step {
    /// Let time pass, then poll.
    Advance(u64),
    /// The pending connect opened.
    Connected,
    /// The pending connect was refused.
    Refused(u8, Option<u64>),
    /// The pending connect got no answer.
    ConnectFailed,
    /// Bytes arrived.
    Data,
    /// The connection ended.
    Closed,
    Shutdown,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..120_000).prop_map(Step::Advance),
        2 => Just(Step::Connected),
        2 => (0u8..5, proptest::option::of(0u64..100_000)).prop_map(|(k, r)| Step::Refused(k, r)),
        2 => Just(Step::ConnectFailed),
        3 => Just(Step::Data),
        2 => Just(Step::Closed),
        1 => Just(Step::Shutdown),
    ]
}

fn refusal(kind: u8, retry_after_ms: Option<u64>) -> StreamRefusal {
    match kind {
        0 => server_error(),
        1 => rate_limited(retry_after_ms.map(Duration::from_millis)),
        2 => StreamRefusal::BackfillRefused,
        3 => StreamRefusal::Fatal(FatalRefusal::new(StatusCode::FORBIDDEN, None)),
        _ => StreamRefusal::RateLimited {
            retry_after: None,
            too_many_connections: false,
        },
    }
}

/// What the test knows from the outside: whether it holds a connection, and when the session
/// last said it may connect again.
#[derive(Debug, Default)]
struct Driver {
    /// A connect is out or the stream is open.
    connection: bool,
    /// The stream is open (a head arrived).
    open: bool,
    /// The session said to close; the connection is still held until reported closed.
    closing: bool,
    not_before: Option<Instant>,
    stopped: bool,
}

fn check_poll(s: &mut StreamSession, d: &mut Driver, now: Instant) -> Result<(), TestCaseError> {
    match s.poll(now) {
        Next::Connect { backfill_minutes } => {
            prop_assert!(!d.connection, "a second connection");
            prop_assert!(!d.stopped, "a connect after stopping");
            if let Some(t) = d.not_before {
                prop_assert!(now >= t, "a connect before the schedule allows");
            }
            prop_assert!(backfill_minutes.is_none_or(|m| (1..=5).contains(&m)));
            d.connection = true;
            d.open = false;
            d.closing = false;
            d.not_before = None;
        }
        Next::WaitUntil {
            until,
            reason,
            at_cap,
        } => {
            prop_assert!(!d.connection, "waiting while a connection is held");
            prop_assert!(until > now);
            let cap = match reason {
                WaitReason::ConnectFailed => TCP_CAP,
                WaitReason::ServerError | WaitReason::Dropped => HTTP_CAP,
                WaitReason::RateLimited => RATE_CAP.max(MAX_HONOURED_RESET),
                _ => Duration::MAX,
            };
            prop_assert!(until - now <= cap, "{reason:?} wait beyond its cap");
            prop_assert_eq!(at_cap, s.backoff_at_cap());
            d.not_before = Some(d.not_before.map_or(until, |t| t.max(until)));
        }
        Next::Await { deadline } => {
            prop_assert!(d.connection && !d.closing);
            prop_assert!(deadline > now);
        }
        Next::Close { .. } => {
            prop_assert!(d.connection, "close without a connection");
            d.closing = true;
        }
        Next::Stop(_) => {
            prop_assert!(!d.connection, "stopped while a connection is held");
            d.stopped = true;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_session_keeps_its_invariants(steps in proptest::collection::vec(step(), 0..200)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut s = StreamSession::new(SessionConfig::default());
        let mut d = Driver::default();
        check_poll(&mut s, &mut d, now)?;
        for step in steps {
            match step {
                Step::Advance(ms) => now += Duration::from_millis(ms),
                // The driver reports only what can happen to what it holds.
                Step::Connected if d.connection && !d.open && !d.closing => {
                    s.handle_connected(now);
                    d.open = true;
                }
                Step::Refused(kind, r) if d.connection && !d.open && !d.closing => {
                    s.handle_refused(now, refusal(kind, r));
                    d.connection = false;
                }
                Step::ConnectFailed if d.connection && !d.open && !d.closing => {
                    s.handle_connect_failed(now);
                    d.connection = false;
                }
                Step::Data if d.open && !d.closing => s.handle_data(now),
                Step::Closed if d.connection => {
                    s.handle_closed(now);
                    d.connection = false;
                    d.open = false;
                    d.closing = false;
                }
                Step::Shutdown => s.shutdown(),
                _ => {}
            }
            check_poll(&mut s, &mut d, now)?;
            if let Some(deadline) = s.poll_timeout() {
                prop_assert!(deadline >= t0);
            }
        }
    }

    #[test]
    fn a_server_that_accepts_and_closes_at_once_gets_growing_waits(
        lifetimes in proptest::collection::vec(0u64..5_000, 2..40),
    ) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut s = StreamSession::new(SessionConfig::default());
        let mut immediate = 0;
        let mut waits: Vec<Duration> = Vec::new();
        for lifetime in lifetimes {
            match s.poll(now) {
                Next::Connect { .. } => {}
                Next::WaitUntil { until, .. } => {
                    waits.push(until - now);
                    now = until;
                    let connects = matches!(s.poll(now), Next::Connect { .. });
                    prop_assert!(connects, "no connect when the wait is over");
                }
                other => prop_assert!(false, "{other:?}"),
            }
            if waits.is_empty() {
                immediate += 1;
            }
            s.handle_connected(now);
            now += Duration::from_millis(lifetime);
            s.handle_data(now);
            s.handle_closed(now);
        }
        // The first connect, and the one immediate reconnect; never more.
        prop_assert!(immediate <= 2);
        prop_assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        prop_assert!(waits.iter().all(|w| *w >= secs(5) && *w <= HTTP_CAP));
    }
}
