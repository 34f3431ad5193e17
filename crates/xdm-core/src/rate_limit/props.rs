//! Property tests of the limiter against a simulated server.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use proptest::prelude::*;

use super::{Admit, LimiterConfig, RateLimitSnapshot, RateLimitWindow, RateLimiter};
use crate::EndpointGroup;
use crate::retry::ReachedServer;

const PERIOD: u64 = 900;
const LIMIT: u32 = 15;

#[derive(Debug, Clone)]
enum Op {
    Admit,
    /// The oldest request in flight reaches the server and its answer comes back.
    Respond,
    /// The oldest request in flight reaches the server, which counts it, but the answer that
    /// comes back carries no rate-limit headers (a proxy's error page, say).
    RespondWithoutHeaders,
    /// The oldest request in flight fails before reaching the server.
    Fail,
    /// The oldest request in flight reaches the server, which counts it, then the connection
    /// drops before the answer arrives.
    FailAfterServer,
    /// The oldest request in flight may or may not have reached the server; the transport
    /// cannot tell. Here it did not.
    FailMaybe,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Admit),
        3 => Just(Op::Respond),
        2 => Just(Op::RespondWithoutHeaders),
        1 => Just(Op::Fail),
        1 => Just(Op::FailAfterServer),
        1 => Just(Op::FailMaybe),
        2 => (0u64..2 * PERIOD).prop_map(Op::Advance),
    ]
}

/// A server with fixed windows of `PERIOD` seconds and `LIMIT` requests each, as X documents
/// for the read group.
#[derive(Default)]
struct Server {
    used: HashMap<u64, u32>,
}

impl Server {
    fn process(&mut self, now: u64) -> (RateLimitSnapshot, StatusCode) {
        let index = now / PERIOD;
        let used = self.used.entry(index).or_default();
        let status = if *used < LIMIT {
            *used += 1;
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let snapshot = RateLimitSnapshot {
            window: Some(RateLimitWindow {
                limit: LIMIT,
                remaining: LIMIT - *used,
                reset: UNIX_EPOCH + Duration::from_secs((index + 1) * PERIOD),
            }),
            ..Default::default()
        };
        (snapshot, status)
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

proptest! {
    #[test]
    fn never_overspends_a_window(start in 0u64..10 * PERIOD, ops in prop::collection::vec(op(), 0..300)) {
        let config = LimiterConfig {
            reservation_timeout: None,
            ..LimiterConfig::default()
        };
        let group = EndpointGroup::ReadEvents;
        let mut limiter = RateLimiter::new(config);
        let mut server = Server::default();
        let mut now = start;
        // Until a response names the window's reset, the limiter can only guess where the
        // server's windows begin; one answered request teaches it, and from then on answers
        // may come without headers.
        prop_assert_eq!(limiter.poll_admit(&7u8, group, at(now)), Admit::Send);
        let (snapshot, status) = server.process(now);
        limiter.handle_response(&7, group, &snapshot, status, at(now));
        let mut in_flight = 0u32;
        for op in ops {
            match op {
                Op::Admit => match limiter.poll_admit(&7u8, group, at(now)) {
                    Admit::Send => in_flight += 1,
                    Admit::WaitUntil(t) => prop_assert!(t > at(now)),
                },
                Op::Respond if in_flight > 0 => {
                    in_flight -= 1;
                    let (snapshot, status) = server.process(now);
                    prop_assert_eq!(status, StatusCode::OK, "server had to refuse at {}", now);
                    limiter.handle_response(&7, group, &snapshot, status, at(now));
                }
                Op::RespondWithoutHeaders if in_flight > 0 => {
                    in_flight -= 1;
                    let (_, status) = server.process(now);
                    prop_assert_eq!(status, StatusCode::OK, "server had to refuse at {}", now);
                    let bare = RateLimitSnapshot::default();
                    limiter.handle_response(&7, group, &bare, StatusCode::BAD_GATEWAY, at(now));
                }
                Op::Fail if in_flight > 0 => {
                    in_flight -= 1;
                    limiter.handle_transport_failure(&7, group, ReachedServer::No);
                }
                Op::FailAfterServer if in_flight > 0 => {
                    in_flight -= 1;
                    let (_, status) = server.process(now);
                    prop_assert_eq!(status, StatusCode::OK, "server had to refuse at {}", now);
                    limiter.handle_transport_failure(&7, group, ReachedServer::Maybe);
                }
                Op::FailMaybe if in_flight > 0 => {
                    in_flight -= 1;
                    limiter.handle_failure(&7, group);
                }
                Op::Respond
                | Op::RespondWithoutHeaders
                | Op::Fail
                | Op::FailAfterServer
                | Op::FailMaybe => {}
                Op::Advance(dt) => now += dt,
            }
            prop_assert_eq!(limiter.in_flight(&7, group), in_flight as usize);
        }
    }

    #[test]
    fn never_panics_and_never_waits_into_the_past(
        steps in prop::collection::vec(
            (
                0u8..3,
                0usize..6,
                0u8..4,
                prop::option::of((0u32..50, 0u32..50, 0u64..20_000)),
                prop::option::of((0u32..50, 0u32..50, 0u64..200_000)),
                prop::sample::select(vec![200u16, 201, 400, 429, 500, 503]),
                0u64..20_000,
            ),
            0..200,
        ),
        seed in any::<bool>(),
    ) {
        let groups = [
            EndpointGroup::ReadEvents,
            EndpointGroup::SendMessage,
            EndpointGroup::DeleteEvent,
            EndpointGroup::Block,
            EndpointGroup::MediaDownload,
            EndpointGroup::MediaUpload,
        ];
        let mut limiter = RateLimiter::new(LimiterConfig {
            seed_documented_limits: seed,
            reservation_timeout: Some(Duration::from_secs(120)),
            ..LimiterConfig::default()
        });
        for (key, group, settle, window, day, status, time) in steps {
            // Time may jump backwards: callers' clocks do.
            let now = at(time);
            let group = groups[group];
            if let Admit::WaitUntil(t) = limiter.poll_admit(&key, group, now) {
                prop_assert!(t > now);
            }
            let w = |(limit, remaining, reset): (u32, u32, u64)| RateLimitWindow {
                limit,
                remaining,
                reset: at(reset),
            };
            if settle < 2 {
                let snapshot = RateLimitSnapshot {
                    window: window.map(w),
                    user_24h: day.map(w),
                    app_24h: None,
                };
                let status = StatusCode::from_u16(status).unwrap();
                limiter.handle_response(&key, group, &snapshot, status, now);
            } else if settle == 2 {
                limiter.handle_failure(&key, group);
            } else {
                limiter.handle_failure_before_send(&key, group);
            }
            if let Admit::WaitUntil(t) = limiter.poll_admit(&key, group, now) {
                prop_assert!(t > now);
            }
        }
    }
}

/// A server like [`Server`] whose limit is `limit` instead of the documented 15: X's pages
/// give 15 and 300 reads per 15 minutes, and plans differ.
struct PlanServer {
    limit: u32,
    used: HashMap<u64, u32>,
}

impl PlanServer {
    fn remaining(&self, now: u64) -> u32 {
        self.limit - self.used.get(&(now / PERIOD)).copied().unwrap_or(0)
    }

    fn reset(now: u64) -> SystemTime {
        at((now / PERIOD + 1) * PERIOD)
    }

    fn process(&mut self, now: u64) -> (RateLimitSnapshot, StatusCode) {
        let used = self.used.entry(now / PERIOD).or_default();
        let status = if *used < self.limit {
            *used += 1;
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let snapshot = RateLimitSnapshot {
            window: Some(RateLimitWindow {
                limit: self.limit,
                remaining: self.limit - *used,
                reset: Self::reset(now),
            }),
            ..Default::default()
        };
        (snapshot, status)
    }
}

fn plan_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Admit),
        3 => Just(Op::Respond),
        3 => Just(Op::RespondWithoutHeaders),
        1 => Just(Op::Fail),
        1 => Just(Op::FailAfterServer),
        1 => (0u64..PERIOD).prop_map(Op::Advance),
    ]
}

proptest! {
    /// The documented guess never makes a caller wait longer than the server's own headers
    /// would. A refusal while answers are in flight is provisional (the client waits for the
    /// next answer and asks again); a refusal with nothing in flight must be one the server
    /// would give too, and end no later than the server's reset.
    #[test]
    fn the_guess_never_outwaits_the_server(
        limit in prop::sample::select(vec![1u32, 5, 15, 16, 300, 1_000]),
        group in prop::sample::select(vec![EndpointGroup::ReadEvents, EndpointGroup::SendMessage]),
        start in 0u64..10 * PERIOD,
        ops in prop::collection::vec(plan_op(), 0..400),
        headerless in any::<bool>(),
    ) {
        // A server that sends no rate-limit headers at all (a test server, a proxy that
        // strips them) keeps no limit either: nothing it says asks anyone to wait.
        let limit = if headerless { u32::MAX } else { limit };
        let mut limiter = RateLimiter::new(LimiterConfig {
            reservation_timeout: None,
            ..LimiterConfig::default()
        });
        let mut server = PlanServer { limit, used: HashMap::new() };
        let mut now = start;
        let mut in_flight = 0u32;
        let mut headers_seen = false;
        for op in ops {
            match op {
                Op::Admit => match limiter.poll_admit(&7u8, group, at(now)) {
                    Admit::Send => in_flight += 1,
                    Admit::WaitUntil(_) if in_flight > 0 => {}
                    Admit::WaitUntil(t) => {
                        prop_assert!(headers_seen, "refused on the guess alone at {}", now);
                        prop_assert_eq!(server.remaining(now), 0, "the server would admit at {}", now);
                        prop_assert!(t <= PlanServer::reset(now), "waits past the server's reset");
                    }
                },
                Op::Respond if in_flight > 0 => {
                    in_flight -= 1;
                    let (snapshot, status) = server.process(now);
                    let snapshot = if headerless {
                        RateLimitSnapshot::default()
                    } else {
                        headers_seen = true;
                        snapshot
                    };
                    limiter.handle_response(&7, group, &snapshot, status, at(now));
                }
                Op::RespondWithoutHeaders if in_flight > 0 => {
                    in_flight -= 1;
                    // A proxy's error page: the server counted the request (or refused it),
                    // and nothing of its answer arrives.
                    let _ = server.process(now);
                    let bare = RateLimitSnapshot::default();
                    limiter.handle_response(&7, group, &bare, StatusCode::BAD_GATEWAY, at(now));
                }
                Op::Fail if in_flight > 0 => {
                    in_flight -= 1;
                    limiter.handle_transport_failure(&7, group, ReachedServer::No);
                }
                Op::FailAfterServer if in_flight > 0 => {
                    in_flight -= 1;
                    let _ = server.process(now);
                    limiter.handle_transport_failure(&7, group, ReachedServer::Maybe);
                }
                Op::Respond
                | Op::RespondWithoutHeaders
                | Op::Fail
                | Op::FailAfterServer
                | Op::FailMaybe => {}
                Op::Advance(dt) => now += dt,
            }
        }
    }
}
