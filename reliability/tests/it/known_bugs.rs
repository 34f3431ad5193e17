//! Bugs found in other crates, each with a test that fails while the bug is there.
//!
//! These tests are ignored in CI so that the suite stays green while the owners fix them; run
//! them with `cargo test -p xdm-reliability -- --ignored`. The matrices count the cells these
//! bugs break as "known bugs", and fail as soon as such a cell passes, so that this list is
//! trimmed when a fix lands.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use xdm_core::EndpointGroup;
use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimitWindow, RateLimiter};

/// See [`bug_limiter_ignores_an_earlier_server_reset_after_rolling_over`].
pub(crate) const BUG_LIMITER_IGNORES_EARLIER_RESET: &str = "xdm-core RateLimiter: once a learned window rolls over, its reset is guessed as old reset + 15 min, and a server report naming an earlier reset is dropped as stale; after a 429 the client then waits for the guessed reset (up to 15 min) instead of the server's";

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
}

fn window(limit: u32, remaining: u32, reset: SystemTime) -> RateLimitSnapshot {
    RateLimitSnapshot {
        window: Some(RateLimitWindow {
            limit,
            remaining,
            reset,
        }),
        ..RateLimitSnapshot::default()
    }
}

/// A server with one-request windows of one second (as the emulator can be set up, and as X
/// may set any endpoint's limit): the limiter must follow the resets the server names.
#[test]
#[ignore = "known bug in xdm-core's rate limiter"]
fn bug_limiter_ignores_an_earlier_server_reset_after_rolling_over() {
    let read = EndpointGroup::ReadEvents;
    let mut l = RateLimiter::new(LimiterConfig::default());
    // t=0: a request; the server's window allows 1, none left, resets at t=1s.
    assert_eq!(l.poll_admit(&1u64, read, at(0)), Admit::Send);
    l.handle_response(&1, read, &window(1, 0, at(1000)), StatusCode::OK, at(10));
    // t=1.5s: the window is over; a request goes out and is refused with a reset at t=3s.
    assert_eq!(l.poll_admit(&1, read, at(1500)), Admit::Send);
    l.handle_response(
        &1,
        read,
        &window(1, 0, at(3000)),
        StatusCode::TOO_MANY_REQUESTS,
        at(1510),
    );
    // t=3.5s: the server said its window ended at t=3s, so a request may go out.
    let admit = l.poll_admit(&1, read, at(3500));
    assert_eq!(admit, Admit::Send, "{BUG_LIMITER_IGNORES_EARLIER_RESET}");
}
