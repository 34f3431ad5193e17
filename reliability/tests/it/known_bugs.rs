//! Bugs found in other crates, each with a test that fails while the bug is there.
//!
//! These tests are ignored in CI so that the suite stays green while the owners fix them; run
//! them with `cargo test -p xdm-reliability -- --ignored`. The matrices count the cells these
//! bugs break as "known bugs", and fail as soon as such a cell passes, so that this list is
//! trimmed when a fix lands.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use xdm_client::{Error, ReconcilePolicy};
use xdm_core::EndpointGroup;
use xdm_core::endpoints::Message;
use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimitWindow, RateLimiter};
use xdm_emulator::{Fault, FaultKind};

use crate::world::{MAX_RESPONSE, World};

/// See [`bug_send_with_oversized_response_is_not_outcome_unknown`].
pub(crate) const BUG_OVERSIZED_SEND: &str = "xdm-core retry::classify: a send whose response exceeds the size cap (TransportErrorKind::Other, ReachedServer::Maybe) gives up as TransportNotRetryable, so the caller gets Error::Transport instead of Error::OutcomeUnknown (and no reconciliation) although the message was stored";

/// See [`bug_delete_retried_after_lost_response_reports_not_found`].
pub(crate) const BUG_DELETE_RETRY_404: &str = "xdm-client: a delete whose first attempt was processed but whose response was lost is retried, and the retry's 404 is reported as Error::Api(NotFound) although the event is deleted as asked";

/// See [`bug_limiter_ignores_an_earlier_server_reset_after_rolling_over`].
pub(crate) const BUG_LIMITER_IGNORES_EARLIER_RESET: &str = "xdm-core RateLimiter: once a learned window rolls over, its reset is guessed as old reset + 15 min, and a server report naming an earlier reset is dropped as stale; after a 429 the client then waits for the guessed reset (up to 15 min) instead of the server's";

/// Found by `load::a_thousand_concurrent_calls_through_one_client`.
pub(crate) const BUG_HTTP1_UNBOUNDED_CONNECTIONS: &str = "xdm-hyper: over HTTP/1.1 the transport opens one connection per concurrent request (hundreds for a burst of 1,000 calls); hyper-util's pool caps only idle connections and the builder offers no cap on open ones";

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

/// A send whose 201 answer is larger than the client accepts: the message is stored, so the
/// caller must learn that the outcome is unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known bug in xdm-core's retry classification"]
async fn bug_send_with_oversized_response_is_not_outcome_unknown() {
    let world = World::start(20).await;
    let client = world.client(ReconcilePolicy::Off);
    world.emu.handle().inject(Fault::once(
        "POST",
        "/2/dm_conversations/with/{participant_id}/messages",
        FaultKind::OversizedBody(MAX_RESPONSE * 2),
    ));
    let text = "oversized answer";
    let result = client
        .send_to_participant(&world.alice, Message::text(text).expect("valid"))
        .await;
    assert_eq!(world.stored(text), 1, "the message is stored");
    let err = result.expect_err("the answer was too large");
    assert!(err.is_outcome_unknown(), "{BUG_OVERSIZED_SEND}: got {err}");
}

/// A delete whose answer is lost after the emulator processed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known bug in xdm-client's delete"]
async fn bug_delete_retried_after_lost_response_reports_not_found() {
    let world = World::start(20).await;
    let client = world.client(ReconcilePolicy::Off);
    world.emu.handle().inject(Fault::once(
        "DELETE",
        "/2/dm_events/{event_id}",
        FaultKind::CloseAfterProcessing,
    ));
    let result = client.delete_event(&world.my_event).await;
    assert!(
        world.emu.handle().event(world.my_event.as_str()).is_none(),
        "deleted"
    );
    match result {
        Ok(deleted) => assert!(deleted),
        Err(Error::Api(e)) => panic!("{BUG_DELETE_RETRY_404}: got {e}"),
        Err(e) => panic!("unexpected: {e}"),
    }
}
