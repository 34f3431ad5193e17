//! Pagination, rate-limit and retry state machines driven end to end.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use xdm_core::endpoints::ListConversationEvents;
use xdm_core::ids::ConversationId;
use xdm_core::pagination::{PagedEndpoint, Paginator, StopReason};
use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimiter};
use xdm_core::response::decode_json;
use xdm_core::retry::{
    Failure, GiveUpReason, ReachedServer, RetryDecision, RetryPolicy, TransportErrorKind,
    TransportFailure,
};
use xdm_core::{Delivery, Endpoint, EndpointGroup, RequestContext};

fn response(status: u16, headers: &[(&str, String)], body: &str) -> http::Response<Bytes> {
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Bytes::from(body.to_owned())).unwrap()
}

fn rate_headers(remaining: u32, reset: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-rate-limit-limit", "15".to_owned()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.to_string()),
    ]
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const TOKEN: &str = "18LAA581J5II7LA00C00ZZZZ";

/// X's real last-page shape: a page with two events and a `next_token`, then an empty page.
#[test]
fn paginator_stops_on_the_empty_page_after_a_token() {
    let ctx = RequestContext::default();
    let conversation = ConversationId::parse("1585047616894574596").unwrap();
    let mut pages = Paginator::new(ListConversationEvents::new(conversation));
    let mut events = Vec::new();

    let list = pages.poll_request().unwrap();
    let request = list.build_request(&ctx).unwrap();
    assert!(!request.uri().to_string().contains("pagination_token"));
    let first = r#"{"data":[
        {"id":"1585321444547837956","event_type":"MessageCreate","text":"second"},
        {"id":"1585321435240398852","event_type":"MessageCreate","text":"first"}],
        "meta":{"result_count":2,"next_token":"18LAA581J5II7LA00C00ZZZZ"}}"#;
    let page = decode_json(response(200, &[], first)).unwrap();
    let keep = pages.handle_page(&page);
    events.extend(page.items().iter().take(keep).cloned());

    let list = pages.poll_request().unwrap();
    let request = list.build_request(&ctx).unwrap();
    assert!(
        request
            .uri()
            .to_string()
            .contains(&format!("pagination_token={TOKEN}")),
        "{}",
        request.uri()
    );
    let page = list
        .decode_response(response(200, &[], r#"{"meta":{"result_count":0}}"#))
        .unwrap();
    assert_eq!(pages.handle_page(&page), 0);

    assert!(pages.poll_request().is_none());
    assert_eq!(pages.stop_reason(), Some(&StopReason::EmptyPage));
    assert_eq!((pages.pages_seen(), pages.items_seen()), (2, 2));
    assert_eq!(events.len(), 2);
    assert_eq!(pages.resume_token(), None);
}

/// A failed page is asked for again with the same token, and a checkpoint taken after a page
/// limit resumes where it stopped.
#[test]
fn paginator_retries_a_failed_page_and_resumes_from_a_checkpoint() {
    let conversation = ConversationId::parse("1585047616894574596").unwrap();
    let mut pages =
        Paginator::new(ListConversationEvents::new(conversation.clone())).with_max_pages(1);
    pages.poll_request().unwrap();
    let page =
        format!(r#"{{"data":[{{"id":"1"}}],"meta":{{"result_count":1,"next_token":"{TOKEN}"}}}}"#);
    pages.handle_page(&decode_json(response(200, &[], &page)).unwrap());
    assert_eq!(pages.stop_reason(), Some(&StopReason::PageLimit));
    let checkpoint = pages.resume_token().unwrap().clone();

    let mut list = ListConversationEvents::new(conversation);
    list.set_pagination_token(Some(checkpoint));
    let mut resumed = Paginator::new(list);
    let first = resumed.poll_request().unwrap();
    assert_eq!(first.pagination_token().unwrap().as_str(), TOKEN);
    let error = first
        .decode_response(response(503, &[], r#"{"title":"Service Unavailable"}"#))
        .unwrap_err();
    assert_eq!(error.status(), 503);
    resumed.handle_failure();
    let again = resumed.poll_request().unwrap();
    assert_eq!(again.pagination_token().unwrap().as_str(), TOKEN);
}

/// One read through the limiter and the retry policy with a clock that only moves when told:
/// a 503, a backoff, a 429 that waits for the reset, then success.
#[test]
fn limiter_and_retry_policy_drive_a_scripted_exchange() {
    let group = EndpointGroup::ReadEvents;
    let user = "user-hash-1";
    let policy = RetryPolicy::default();
    let mut limiter = RateLimiter::new(LimiterConfig::default());
    let mut clock = at(1_700_000_000);
    let reset = 1_700_000_900;

    // Scripted server: 503, then 429 (window used up), then 200.
    let script = [
        response(
            503,
            &rate_headers(10, reset),
            r#"{"title":"Service Unavailable"}"#,
        ),
        response(
            429,
            &rate_headers(0, reset),
            r#"{"title":"Too Many Requests","type":"about:blank","status":429}"#,
        ),
        response(
            200,
            &rate_headers(14, reset + 900),
            r#"{"meta":{"result_count":0}}"#,
        ),
    ];
    let mut attempt = 0;
    let mut waits = Vec::new();
    for answer in script {
        assert_eq!(limiter.poll_admit(&user, group, clock), Admit::Send);
        attempt += 1;
        let snapshot = RateLimitSnapshot::from_headers(answer.headers());
        let status = answer.status();
        limiter.handle_response(&user, group, &snapshot, status, clock);
        let error = match decode_json::<Vec<serde_json::Value>>(answer) {
            Ok(_) => break,
            Err(error) => error,
        };
        match policy.decide(
            Delivery::Idempotent,
            attempt,
            &Failure::from(&error),
            clock,
            0.0,
        ) {
            RetryDecision::RetryAfter(d) => {
                waits.push(d);
                clock += d;
            }
            RetryDecision::RetryAt(t) => {
                assert_eq!(t, at(reset));
                // The limiter agrees: nothing may go out before the reset.
                assert_eq!(limiter.poll_admit(&user, group, clock), Admit::WaitUntil(t));
                waits.push(t.duration_since(clock).unwrap());
                clock = t;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(attempt, 3);
    assert_eq!(waits[0], Duration::from_millis(250));
    assert_eq!(clock, at(reset));
    assert_eq!(limiter.in_flight(&user, group), 0);
}

/// Fifteen callers share one credential with one request left: one goes, the rest wait, and a
/// send that times out after writing is reported as of unknown outcome.
#[test]
fn concurrent_callers_and_an_uncertain_send() {
    let group = EndpointGroup::SendMessage;
    let mut limiter = RateLimiter::new(LimiterConfig::default());
    let now = at(1_700_000_000);
    assert_eq!(limiter.poll_admit(&1u64, group, now), Admit::Send);
    let snapshot = RateLimitSnapshot::from_headers(
        response(201, &rate_headers(1, 1_700_000_900), "{}").headers(),
    );
    limiter.handle_response(&1, group, &snapshot, StatusCode::CREATED, now);

    let answers: Vec<Admit> = (0..15)
        .map(|_| limiter.poll_admit(&1, group, now))
        .collect();
    assert_eq!(answers.iter().filter(|a| **a == Admit::Send).count(), 1);
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Admit::Send) || *a == Admit::WaitUntil(at(1_700_000_900)))
    );

    // The admitted send times out after its bytes were written.
    let timeout = TransportFailure::new(TransportErrorKind::Timeout, ReachedServer::Maybe);
    limiter.handle_transport_failure(&1, group, timeout.reached_server);
    let decision =
        RetryPolicy::default().decide(Delivery::AtMostOnce, 1, &timeout.into(), now, 0.5);
    assert_eq!(
        decision,
        RetryDecision::GiveUp(GiveUpReason::OutcomeUnknown)
    );
    // The server may have counted it, so its slot stays spent until the window resets.
    assert_eq!(
        limiter.poll_admit(&1, group, now),
        Admit::WaitUntil(at(1_700_000_900))
    );
}
