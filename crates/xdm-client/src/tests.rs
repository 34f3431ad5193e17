//! The call loop against a scripted transport and a fake clock: retries, rate limits, token
//! refresh and reconciliation, deterministically.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_core::BaseUrl;
use xdm_core::endpoints::Message;
use xdm_core::ids::{ConversationId, EventId, UserId};
use xdm_core::pagination::StopReason;
use xdm_core::retry::{ReachedServer, TransportErrorKind, TransportFailure};

use crate::transport::{Timer, Transport, TransportError};
use crate::{
    BlockState, Client, Config, Credentials, DeleteState, Error, RateLimitPolicy, Recipient,
    ReconcilePolicy,
};

/// Runs a future that never waits on I/O (every test transport answers at once) to
/// completion on the current thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

const START: u64 = 1_800_000_000;

type Reply = Result<http::Response<Bytes>, TransportError>;

/// Answers requests from a script, in order, and remembers what it was asked.
#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<http::Request<Bytes>>>>,
}

impl Script {
    fn then(self, reply: Reply) -> Self {
        self.replies.lock().unwrap().push_back(reply);
        self
    }

    fn json(self, status: u16, body: &str) -> Self {
        self.then(Ok(response(status, body, &[])))
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.method().to_string(), r.uri().path().to_owned()))
            .collect()
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Transport for Script {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl std::future::Future<Output = Reply> + Send {
        let reply = self.replies.lock().unwrap().pop_front();
        let path = request.uri().path().to_owned();
        self.seen.lock().unwrap().push(request);
        async move { reply.unwrap_or_else(|| panic!("unscripted request to {path}")) }
    }
}

/// A clock that moves only when slept on; it starts at `START`.
#[derive(Clone)]
pub(crate) struct FakeClock {
    now: Arc<Mutex<SystemTime>>,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl FakeClock {
    pub(crate) fn new() -> Self {
        FakeClock {
            now: Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(START))),
            sleeps: Arc::default(),
        }
    }

    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Timer for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        *self.now.lock().unwrap() += duration;
        self.sleeps.lock().unwrap().push(duration);
        async {}
    }
}

fn response(status: u16, body: &str, headers: &[(&str, String)]) -> http::Response<Bytes> {
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Bytes::from(body.to_owned())).unwrap()
}

fn limit_headers(limit: u32, remaining: u32, reset_in: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", (START + reset_in).to_string()),
    ]
}

fn transport_error(reached: ReachedServer) -> Reply {
    let kind = match reached {
        ReachedServer::No => TransportErrorKind::Connect,
        _ => TransportErrorKind::Io,
    };
    Err(TransportError::new(
        TransportFailure::new(kind, reached),
        "connection reset",
    ))
}

const ME: &str = "1000";
const PEER: &str = "2000";
const OAUTH1_TOKEN: &str = "1000-accesstokenvalue";
const TOKEN_SECRET: &str = "token-secret-value";
const CONSUMER_SECRET: &str = "consumer-secret-value";

fn oauth1() -> Config {
    Config::new(Credentials::oauth1(
        "consumer-key",
        CONSUMER_SECRET,
        OAUTH1_TOKEN,
        TOKEN_SECRET,
    ))
    .with_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap())
}

fn client(script: &Script, clock: &FakeClock) -> Client<Script, FakeClock> {
    Client::new(script.clone(), clock.clone(), oauth1())
}

const PAGE_ONE: &str = r#"{"data":[{"id":"11","event_type":"MessageCreate","text":"a","sender_id":"2000"},
    {"id":"10","event_type":"MessageCreate","text":"b","sender_id":"1000"}],
    "includes":{"users":[{"id":"2000","name":"Peer","username":"peer"}]},
    "meta":{"result_count":2,"next_token":"AAAAAAAAAAAAAAAAAAAA01"}}"#;
const PAGE_TWO: &str = r#"{"data":[{"id":"9","event_type":"MessageCreate","text":"c"}],
    "meta":{"result_count":1,"next_token":"AAAAAAAAAAAAAAAAAAAA02"}}"#;
const EMPTY_PAGE: &str = r#"{"meta":{"result_count":0}}"#;
const SENT: &str = r#"{"data":{"dm_conversation_id":"1000-2000","dm_event_id":"77"}}"#;
const SERVER_ERROR: &str = r#"{"title":"Service Unavailable","type":"about:blank","status":503}"#;

fn peer() -> UserId {
    UserId::parse(PEER).unwrap()
}

fn hello() -> Message {
    Message::text("hello there").unwrap()
}

#[test]
fn pages_stop_at_the_empty_page_after_the_last_and_resolve_senders() {
    let script = Script::default()
        .json(200, PAGE_ONE)
        .json(200, PAGE_TWO)
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut events = client.list_events().events();
    let mut ids = Vec::new();
    block_on(async {
        while let Some(item) = events.next().await {
            let item = item.unwrap();
            if item.event.id.as_deref() == Some("11") {
                assert_eq!(item.sender().unwrap().username.as_deref(), Some("peer"));
            }
            ids.push(item.event.id.unwrap());
        }
    });
    assert_eq!(ids, ["11", "10", "9"]);
    assert_eq!(script.requests(), 3);
    assert!(events.stop_reason().unwrap().is_end_of_listing());
    let uris: Vec<String> = script
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.uri().to_string())
        .collect();
    assert!(uris[1].contains("pagination_token=AAAAAAAAAAAAAAAAAAAA01"));
}

#[test]
fn item_limits_trim_and_resume_tokens_point_at_the_next_page() {
    let script = Script::default().json(200, PAGE_ONE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut pages = client.list_events().with_max_pages(1);
    let page = block_on(pages.next_page()).unwrap().unwrap();
    assert_eq!(page.items().len(), 2);
    assert!(block_on(pages.next_page()).is_none());
    assert_eq!(
        pages.resume_token().map(|t| t.as_str()),
        Some("AAAAAAAAAAAAAAAAAAAA01")
    );
}

#[test]
fn a_get_is_retried_after_503_and_after_a_dropped_connection() {
    let script = Script::default()
        .json(503, SERVER_ERROR)
        .then(transport_error(ReachedServer::Maybe))
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let page = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap();
    assert!(page.items().is_empty());
    assert_eq!(script.requests(), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    // Backoff with jitter: within [base/2, base] then [base, 2*base] for a 500 ms base.
    assert!(sleeps[0] >= Duration::from_millis(250) && sleeps[0] <= Duration::from_millis(500));
    assert!(sleeps[1] >= Duration::from_millis(500) && sleeps[1] <= Duration::from_millis(1000));
}

#[test]
fn retries_are_bounded() {
    let mut script = Script::default();
    for _ in 0..4 {
        script = script.json(503, SERVER_ERROR);
    }
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 503);
    assert_eq!(script.requests(), 4);
}

const NOT_FOUND: &str = r#"{"title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","detail":"Could not find the event."}"#;

fn event() -> xdm_core::ids::EventId {
    "1585800613253812228".parse().unwrap()
}

#[test]
fn a_delete_whose_answer_was_lost_succeeds_when_the_retry_finds_it_gone() {
    for first in [
        transport_error(ReachedServer::Maybe),
        Ok(response(502, SERVER_ERROR, &[])),
    ] {
        let script = Script::default().then(first).json(404, NOT_FOUND);
        let clock = FakeClock::new();
        let client = client(&script, &clock);
        assert!(
            block_on(client.delete_event(&event()))
                .unwrap()
                .is_deleted()
        );
        assert_eq!(script.requests(), 2);
    }
}

#[test]
fn a_delete_answered_404_without_a_lost_attempt_is_an_error() {
    // On the first attempt.
    let script = Script::default().json(404, NOT_FOUND);
    let clock = FakeClock::new();
    let error = block_on(client(&script, &clock).delete_event(&event())).unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 404);
    // After a failure that certainly did not reach the server.
    let script = Script::default()
        .then(transport_error(ReachedServer::No))
        .json(404, NOT_FOUND);
    let error = block_on(client(&script, &clock).delete_event(&event())).unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 404);
    assert_eq!(script.requests(), 2);
}

#[test]
fn a_send_whose_answer_is_unreadable_after_reaching_the_server_is_an_unknown_outcome() {
    // What a transport reports for a response over its size cap.
    let script = Script::default().then(Err(TransportError::new(
        TransportFailure::new(TransportErrorKind::Other, ReachedServer::Maybe),
        "response body over the size cap",
    )));
    let clock = FakeClock::new();
    let error =
        block_on(client(&script, &clock).send_to_participant(&peer(), hello())).unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(script.requests(), 1);
}

#[test]
fn a_send_that_may_have_arrived_is_not_retried_and_says_what_was_sent() {
    let script = Script::default().then(transport_error(ReachedServer::Maybe));
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    assert_eq!(script.requests(), 1);
    let Error::OutcomeUnknown(unknown) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(unknown.recipient, Recipient::Participant(peer()));
    assert_eq!(unknown.message.as_ref(), Some(&hello()));
    let text = error.to_string();
    assert!(text.contains("may or may not have been sent"), "{text}");
    assert!(!text.contains("hello there"), "{text}");
}

#[test]
fn a_send_answered_with_a_server_error_has_an_unknown_outcome() {
    let script = Script::default().json(503, SERVER_ERROR);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(script.requests(), 1);
}

#[test]
fn a_send_that_never_left_is_retried() {
    let script = Script::default()
        .then(transport_error(ReachedServer::No))
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("77"));
    assert!(!sent.reconciled);
    assert_eq!(script.requests(), 2);
}

#[test]
fn the_limiter_waits_for_the_reset_instead_of_sending_into_a_429() {
    let script = Script::default()
        .then(Ok(response(200, EMPTY_PAGE, &limit_headers(15, 0, 30))))
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let list = xdm_core::endpoints::ListEvents::new();
    block_on(client.list_page(&list)).unwrap();
    block_on(client.list_page(&list)).unwrap();
    assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
    assert_eq!(script.requests(), 2);
}

#[test]
fn fail_fast_reports_the_reset_without_sending() {
    let script = Script::default().then(Ok(response(200, EMPTY_PAGE, &limit_headers(15, 0, 30))));
    let clock = FakeClock::new();
    let client = Client::builder(script.clone(), clock.clone(), oauth1())
        .rate_limit_policy(RateLimitPolicy::FailFast)
        .build();
    let list = xdm_core::endpoints::ListEvents::new();
    block_on(client.list_page(&list)).unwrap();
    let error = block_on(client.list_page(&list)).unwrap_err();
    let reset = UNIX_EPOCH + Duration::from_secs(START + 30);
    assert!(matches!(error, Error::RateLimited { reset: r, .. } if r == reset));
    assert_eq!(error.rate_limit_reset(), Some(reset));
    assert!(error.to_string().contains(&(START + 30).to_string()));
    assert_eq!(script.requests(), 1);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn a_wait_beyond_the_bound_fails_with_the_reset() {
    let script = Script::default().then(Ok(response(200, EMPTY_PAGE, &limit_headers(15, 0, 600))));
    let clock = FakeClock::new();
    let client = Client::builder(script.clone(), clock.clone(), oauth1())
        .rate_limit_policy(RateLimitPolicy::wait_up_to(Duration::from_secs(60)))
        .build();
    let list = xdm_core::endpoints::ListEvents::new();
    block_on(client.list_page(&list)).unwrap();
    let error = block_on(client.list_page(&list)).unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
}

#[test]
fn a_429_that_arrives_is_waited_out_and_retried_even_for_a_send() {
    let too_many = r#"{"title":"Too Many Requests","type":"about:blank","status":429}"#;
    let script = Script::default()
        .then(Ok(response(429, too_many, &limit_headers(15, 0, 20))))
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("77"));
    assert_eq!(clock.sleeps(), [Duration::from_secs(20)]);
}

#[test]
fn a_usage_cap_is_returned_at_once() {
    let capped = r#"{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped",
        "detail":"Usage cap exceeded: Monthly product cap","period":"Monthly","scope":"Product"}"#;
    let script = Script::default().then(Ok(response(429, capped, &limit_headers(15, 14, 20))));
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert!(matches!(
        error.api_error().unwrap().kind(),
        xdm_core::error::ApiErrorKind::UsageCapped { .. }
    ));
    assert_eq!(script.requests(), 1);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn credits_depleted_is_returned_at_once() {
    let depleted = r#"{"title":"CreditsDepleted","type":"https://api.x.com/2/problems/credits-depleted",
        "detail":"no credits","status":402}"#;
    let script = Script::default().json(402, depleted);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 402);
    assert_eq!(script.requests(), 1);
}

fn oauth2(script: &Script, clock: &FakeClock, refresh: bool) -> Client<Script, FakeClock> {
    let mut token = UserToken::new("first-access-token", clock.now());
    if refresh {
        token = token.with_refresh_token("the-refresh-token");
    }
    let oauth = OAuth2Client::public("client-id", "")
        .with_api_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap());
    let config = Config::new(Credentials::oauth2(TokenManager::new(oauth, token)))
        .with_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap())
        .with_user_id(UserId::parse(ME).unwrap());
    Client::new(script.clone(), clock.clone(), config)
}

const UNAUTHORIZED: &str =
    r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;

#[test]
fn a_401_refreshes_the_token_once_and_retries_with_the_new_one() {
    let rotated = r#"{"token_type":"bearer","expires_in":7200,"access_token":"second-access-token",
        "refresh_token":"second-refresh-token","scope":"dm.read dm.write tweet.read users.read"}"#;
    let script = Script::default()
        .json(401, UNAUTHORIZED)
        .json(200, rotated)
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, true);
    let saved = Arc::new(Mutex::new(Vec::new()));
    let saved_by_hook = Arc::clone(&saved);
    client.token_manager().unwrap().on_rotate(move |token| {
        saved_by_hook
            .lock()
            .unwrap()
            .push(token.access_token().expose_secret().to_owned());
    });
    block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap();
    assert_eq!(
        script.seen(),
        [
            ("GET".into(), "/2/dm_events".into()),
            ("POST".into(), "/2/oauth2/token".into()),
            ("GET".into(), "/2/dm_events".into()),
        ]
    );
    let seen = script.seen.lock().unwrap();
    assert_eq!(
        seen[2].headers()["authorization"],
        "Bearer second-access-token"
    );
    assert_eq!(*saved.lock().unwrap(), ["second-access-token"]);
}

#[test]
fn a_second_401_is_reported_not_refreshed_again() {
    let rotated =
        r#"{"token_type":"bearer","expires_in":7200,"access_token":"second-access-token"}"#;
    let script = Script::default()
        .json(401, UNAUTHORIZED)
        .json(200, rotated)
        .json(401, UNAUTHORIZED);
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, true);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 401);
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_401_without_a_refresh_token_asks_for_reauthorization() {
    let script = Script::default().json(401, UNAUTHORIZED);
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, false);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Authorization(crate::AuthorizationError::ReauthorizationRequired)
        ),
        "{error:?}"
    );
}

#[test]
fn a_failed_refresh_is_an_authorization_error_without_secrets() {
    let refused = r#"{"error":"invalid_grant","error_description":"Value passed for the token was invalid."}"#;
    let script = Script::default().json(401, UNAUTHORIZED).json(400, refused);
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, true);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert!(matches!(error, Error::Authorization(_)), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("the-refresh-token"), "{shown}");
    assert!(!shown.contains("first-access-token"), "{shown}");
}

#[test]
fn the_refresh_request_getting_no_answer_is_reported() {
    let script = Script::default()
        .json(401, UNAUTHORIZED)
        .then(transport_error(ReachedServer::No));
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, true);
    let error = block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Authorization(crate::AuthorizationError::RefreshTransport(_))
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("spent"), "{error}");
}

#[test]
fn a_refresh_whose_answer_was_lost_says_the_refresh_token_may_be_spent() {
    // X may have rotated the token: the user must learn that authorizing again may be needed,
    // and the next call, refused the spent token, says so plainly.
    let spent = r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;
    let script = Script::default()
        .json(401, UNAUTHORIZED)
        .then(transport_error(ReachedServer::Maybe))
        .json(400, spent);
    let clock = FakeClock::new();
    let client = oauth2(&script, &clock, true);
    let list = xdm_core::endpoints::ListEvents::new();
    let error = block_on(client.list_page(&list)).unwrap_err();
    assert!(
        error.to_string().contains("the refresh token is spent"),
        "{error}"
    );
    // The next call tries the refresh token once more, and X refuses it as spent.
    let error = block_on(client.list_page(&list)).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Authorization(crate::AuthorizationError::Refresh(_))
        ),
        "{error:?}"
    );
    // From then on nothing is sent: only a new authorization helps.
    let error = block_on(client.list_page(&list)).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Authorization(crate::AuthorizationError::ReauthorizationRequired)
        ),
        "{error:?}"
    );
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_missing_scope_is_refused_before_sending() {
    let script = Script::default();
    let clock = FakeClock::new();
    let token = UserToken::new("read-only", clock.now())
        .with_scopes([xdm_core::Scope::DmRead, xdm_core::Scope::TweetRead]);
    let manager = TokenManager::new(OAuth2Client::public("id", ""), token);
    let config = Config::new(Credentials::oauth2(manager))
        .with_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap());
    let client = Client::new(script.clone(), clock.clone(), config);
    let error = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    assert!(matches!(error, Error::Authorization(_)), "{error:?}");
    assert!(error.to_string().contains("dm.write"), "{error}");
    assert_eq!(script.requests(), 0);
}

#[test]
fn oauth1_requests_are_signed_with_fresh_nonces() {
    let script = Script::default()
        .json(200, EMPTY_PAGE)
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let list = xdm_core::endpoints::ListEvents::new();
    block_on(client.list_page(&list)).unwrap();
    block_on(client.list_page(&list)).unwrap();
    let seen = script.seen.lock().unwrap();
    let nonce = |r: &http::Request<Bytes>| {
        let h = r.headers()["authorization"].to_str().unwrap().to_owned();
        assert!(h.starts_with("OAuth "));
        assert!(h.contains(&format!("oauth_timestamp=\"{START}\"")));
        h.split("oauth_nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_ne!(nonce(&seen[0]), nonce(&seen[1]));
}

#[test]
fn oauth1_cannot_download_media() {
    let script = Script::default();
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let media = xdm_core::endpoints::DownloadMedia::from_media_url(
        "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/a.jpg",
    )
    .unwrap();
    let error = block_on(client.download_media(&media)).unwrap_err();
    assert!(matches!(error, Error::Authorization(_)), "{error:?}");
    assert_eq!(script.requests(), 0);
}

fn reconciling(script: &Script, clock: &FakeClock) -> Client<Script, FakeClock> {
    Client::builder(script.clone(), clock.clone(), oauth1())
        .reconcile(ReconcilePolicy::look_before_resend())
        .build()
}

fn listing_with(text: &str, sender: &str, created_at: &str) -> String {
    format!(
        r#"{{"data":[{{"id":"88","event_type":"MessageCreate","text":"{text}","sender_id":"{sender}",
        "created_at":"{created_at}","dm_conversation_id":"1000-2000"}}],"meta":{{"result_count":1}}}}"#
    )
}

/// START as RFC 3339 (2027-01-15T08:00:00Z).
const START_RFC3339: &str = "2027-01-15T08:00:00.000Z";

#[test]
fn reconciliation_finds_the_message_and_does_not_send_again() {
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(200, &listing_with("hello there", ME, START_RFC3339));
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert!(sent.reconciled);
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("88"));
    assert_eq!(
        script.seen(),
        [
            (
                "POST".into(),
                "/2/dm_conversations/with/2000/messages".into()
            ),
            (
                "GET".into(),
                "/2/dm_conversations/with/2000/dm_events".into()
            ),
        ]
    );
}

#[test]
fn reconciliation_sends_once_more_when_the_message_is_absent() {
    // Same text, but from the other person, and an old copy from the user.
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(200, &listing_with("hello there", PEER, START_RFC3339))
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert!(!sent.reconciled);
    assert_eq!(script.requests(), 3);
}

#[test]
fn reconciliation_ignores_copies_older_than_the_attempt() {
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(
            200,
            &listing_with("hello there", ME, "2026-01-01T00:00:00.000Z"),
        )
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert!(!sent.reconciled);
}

#[test]
fn a_failed_lookup_is_a_reconciliation_error() {
    let mut script = Script::default().then(transport_error(ReachedServer::Maybe));
    for _ in 0..4 {
        script = script.json(503, SERVER_ERROR);
    }
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let error = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    assert!(matches!(error, Error::Reconciliation { .. }), "{error:?}");
    assert!(error.is_outcome_unknown());
    assert!(
        error.to_string().contains("looking for it failed"),
        "{error}"
    );
}

#[test]
fn a_second_unknown_outcome_is_reported_not_resent_again() {
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(200, EMPTY_PAGE)
        .then(transport_error(ReachedServer::Maybe));
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let error = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown(_)), "{error:?}");
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_group_of_unknown_outcome_is_never_created_again() {
    let script = Script::default().then(transport_error(ReachedServer::Maybe));
    let clock = FakeClock::new();
    let client = reconciling(&script, &clock);
    let people = [
        UserId::parse("2000").unwrap(),
        UserId::parse("3000").unwrap(),
    ];
    let error = block_on(client.create_group(people, hello())).unwrap_err();
    let Error::OutcomeUnknown(unknown) = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(unknown.recipient, Recipient::NewGroup(_)));
    assert_eq!(script.requests(), 1);
}

fn oauth2_reconciling(script: &Script, clock: &FakeClock) -> Client<Script, FakeClock> {
    let token = UserToken::new("token", clock.now());
    let config = Config::new(Credentials::oauth2(TokenManager::new(
        OAuth2Client::public("id", ""),
        token,
    )))
    .with_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap());
    Client::builder(script.clone(), clock.clone(), config)
        .reconcile(ReconcilePolicy::look_before_resend())
        .build()
}

#[test]
fn reconciling_a_conversation_send_under_oauth2_looks_up_the_user_once() {
    // An OAuth 2.0 token does not name its user: the client asks /2/users/me, then knows.
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(200, r#"{"data":{"id":"1000","name":"Me","username":"me"}}"#)
        .json(200, &listing_with("hello there", ME, START_RFC3339));
    let clock = FakeClock::new();
    let client = oauth2_reconciling(&script, &clock);
    assert!(client.user_id().is_none());
    let conversation = ConversationId::parse("1000-2000").unwrap();
    let sent = block_on(client.send_to_conversation(&conversation, hello())).unwrap();
    assert!(sent.reconciled);
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("88"));
    let paths: Vec<String> = script.seen().into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        paths,
        [
            "/2/dm_conversations/1000-2000/messages",
            "/2/users/me",
            "/2/dm_conversations/1000-2000/dm_events"
        ]
    );
    assert_eq!(client.user_id().map(UserId::as_str), Some(ME));
    // Known from now on: no second lookup.
    assert_eq!(
        block_on(client.authenticated_user_id()).unwrap().as_str(),
        ME
    );
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_message_from_someone_else_is_not_taken_for_the_users_own() {
    // The same text in the conversation, sent by the peer: not ours, so the send is
    // repeated once.
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(200, r#"{"data":{"id":"1000","name":"Me","username":"me"}}"#)
        .json(200, &listing_with("hello there", PEER, START_RFC3339))
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = oauth2_reconciling(&script, &clock);
    let conversation = ConversationId::parse("1000-2000").unwrap();
    let sent = block_on(client.send_to_conversation(&conversation, hello())).unwrap();
    assert!(!sent.reconciled);
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("77"));
    assert_eq!(script.requests(), 4);
}

#[test]
fn a_failed_user_lookup_leaves_the_outcome_unknown_and_sends_nothing_more() {
    // Without the users.read scope X answers 403: the client cannot tell which messages are
    // the user's, so it must not send again.
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#,
        );
    let clock = FakeClock::new();
    let client = oauth2_reconciling(&script, &clock);
    let conversation = ConversationId::parse("1000-2000").unwrap();
    let error = block_on(client.send_to_conversation(&conversation, hello())).unwrap_err();
    assert!(matches!(error, Error::Reconciliation { .. }), "{error:?}");
    assert_eq!(script.requests(), 2);
}

#[test]
fn a_user_lookup_without_an_id_is_a_clear_error() {
    let script = Script::default().json(200, r#"{"data":{"name":"Me","username":"me"}}"#);
    let clock = FakeClock::new();
    let client = oauth2_reconciling(&script, &clock);
    let error = block_on(client.authenticated_user_id()).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains("users/me"), "{error}");
}

#[test]
fn invalid_input_is_refused_before_any_request() {
    let script = Script::default();
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.create_group([peer()], hello())).unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().starts_with("invalid input"), "{error}");
    let error = block_on(client.send(Recipient::Endpoint("/2/dm_events"), hello())).unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert_eq!(script.requests(), 0);
}

#[test]
fn other_operations_decode_their_answers() {
    let script = Script::default()
        .json(
            200,
            r#"{"data":{"id":"5","event_type":"MessageCreate","text":"x"}}"#,
        )
        .json(
            200,
            r#"{"data":{"deleted":true},"errors":[{"title":"Partial","detail":"d"}]}"#,
        )
        .json(200, r#"{"data":{"blocked":true}}"#)
        .json(
            200,
            r#"{"data":{"blocked":false},"errors":[{"title":"Partial","detail":"u"}]}"#,
        );
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let id = "5".parse().unwrap();
    let event = block_on(client.get_event(&id)).unwrap();
    assert_eq!(event.data.unwrap().text.as_deref(), Some("x"));
    let deletion = block_on(client.delete_event(&id)).unwrap();
    assert_eq!(deletion.state, DeleteState::Deleted);
    assert_eq!(deletion.errors[0].detail.as_deref(), Some("d"));
    let blocked = block_on(client.block_user(&peer())).unwrap();
    assert_eq!(
        (blocked.state, blocked.is_blocked()),
        (BlockState::Blocked, true)
    );
    assert!(blocked.errors.is_empty());
    let unblocked = block_on(client.unblock_user(&peer())).unwrap();
    assert_eq!(unblocked.state, BlockState::NotBlocked);
    assert!(!unblocked.is_blocked());
    assert_eq!(unblocked.errors[0].detail.as_deref(), Some("u"));
    assert_eq!(
        script.seen(),
        [
            ("GET".into(), "/2/dm_events/5".into()),
            ("DELETE".into(), "/2/dm_events/5".into()),
            ("POST".into(), "/2/users/2000/dm/block".into()),
            ("POST".into(), "/2/users/2000/dm/unblock".into()),
        ]
    );
}

#[test]
fn upload_runs_the_chunked_steps_then_sends_with_the_media_id() {
    let script = Script::default()
        .json(
            200,
            r#"{"data":{"id":"4242","media_key":"3_4242","expires_after_secs":86400}}"#,
        )
        .json(200, "")
        .json(
            200,
            r#"{"data":{"id":"4242","media_key":"3_4242","size":4}}"#,
        )
        .json(201, SENT);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let media = crate::MediaSource::from_bytes(
        Bytes::from_static(b"\x89PNG"),
        xdm_core::upload::MediaType::Png,
    );
    let sent = block_on(client.send_with_media(
        Recipient::Participant(peer()),
        Some("look".into()),
        media,
    ))
    .unwrap();
    assert_eq!(sent.event_id.as_ref().map(EventId::as_str), Some("77"));
    let seen = script.seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|r| r.uri().path()).collect();
    assert_eq!(
        paths,
        [
            "/2/media/upload/initialize",
            "/2/media/upload/4242/append",
            "/2/media/upload/4242/finalize",
            "/2/dm_conversations/with/2000/messages",
        ]
    );
    let body: serde_json::Value = serde_json::from_slice(seen[3].body()).unwrap();
    assert_eq!(body["attachments"][0]["media_id"], "4242");
}

const INITIALIZED: &str = r#"{"data":{"id":"4242","media_key":"3_4242"}}"#;
const ALREADY_FINALIZED: &str = r#"{"title":"Invalid Request","type":"https://api.x.com/2/problems/invalid-request","detail":"One or more parameters to your request was invalid.","errors":[{"parameters":{"id":["4242"]},"message":"This upload was already finalized"}]}"#;

fn png() -> crate::MediaSource {
    crate::MediaSource::from_bytes(
        Bytes::from_static(b"\x89PNG"),
        xdm_core::upload::MediaType::Png,
    )
}

fn paths(script: &Script) -> Vec<String> {
    script.seen().into_iter().map(|(_, path)| path).collect()
}

#[test]
fn a_finalize_refused_after_its_answer_was_lost_goes_on_when_the_status_shows_it_done() {
    let script = Script::default()
        .json(200, INITIALIZED)
        .json(200, "")
        .then(transport_error(ReachedServer::Maybe))
        .json(400, ALREADY_FINALIZED)
        .json(
            200,
            r#"{"data":{"id":"4242","media_key":"3_4242","size":4}}"#,
        );
    let clock = FakeClock::new();
    let uploaded = block_on(client(&script, &clock).upload_media(png())).unwrap();
    assert_eq!(uploaded.id.as_str(), "4242");
    assert_eq!(
        paths(&script),
        [
            "/2/media/upload/initialize",
            "/2/media/upload/4242/append",
            "/2/media/upload/4242/finalize",
            "/2/media/upload/4242/finalize",
            "/2/media/upload",
        ]
    );
}

#[test]
fn a_finalize_refused_at_once_is_reported_without_asking_the_status() {
    // No earlier attempt can have done it: the refusal is the answer.
    let script = Script::default()
        .json(200, INITIALIZED)
        .json(200, "")
        .json(400, ALREADY_FINALIZED);
    let clock = FakeClock::new();
    let error = block_on(client(&script, &clock).upload_media(png())).unwrap_err();
    assert!(
        error.api_error().is_some_and(|e| e.status() == 400),
        "{error:?}"
    );
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_refused_finalize_whose_status_shows_no_finalize_is_reported() {
    let script = Script::default()
        .json(200, INITIALIZED)
        .json(200, "")
        .then(transport_error(ReachedServer::Maybe))
        .json(400, ALREADY_FINALIZED)
        .json(200, r#"{"data":{"id":"4242","media_key":"3_4242"}}"#);
    let clock = FakeClock::new();
    let error = block_on(client(&script, &clock).upload_media(png())).unwrap_err();
    assert!(
        error.api_error().is_some_and(|e| e.status() == 400),
        "{error:?}"
    );
    assert_eq!(script.requests(), 5);
}

/// Media of `size` bytes read through the [`crate::MediaReader`] trait, which remembers what
/// was asked of it and answers with what `answer` makes of each request.
#[derive(Debug)]
struct Reader {
    size: u64,
    asked: Arc<Mutex<Vec<(u64, usize)>>>,
    answer: fn(u64, usize) -> Result<Bytes, Error>,
}

impl crate::MediaReader for Reader {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_chunk(&self, offset: u64, len: usize) -> crate::ChunkFuture<'_> {
        self.asked.lock().unwrap().push((offset, len));
        Box::pin(async move { (self.answer)(offset, len) })
    }
}

/// Bytes counting up from `offset`, `len` of them.
fn counting(offset: u64, len: usize) -> Result<Bytes, Error> {
    Ok((offset..offset + len as u64).map(|i| i as u8).collect())
}

fn read_upload(
    script: &Script,
    answer: fn(u64, usize) -> Result<Bytes, Error>,
) -> (
    Result<xdm_core::upload::UploadedMedia, Error>,
    Vec<(u64, usize)>,
) {
    let asked = Arc::default();
    let reader = Reader {
        size: 2_500_000,
        asked: Arc::clone(&asked),
        answer,
    };
    let media = crate::MediaSource::from_reader(reader, xdm_core::upload::MediaType::Mp4);
    assert_eq!((media.len(), media.is_empty()), (2_500_000, false));
    let clock = FakeClock::new();
    let client = Client::builder(script.clone(), clock, oauth1())
        .upload_chunk_size(1_000_000)
        .build();
    let result = block_on(client.upload_media(media));
    let asked = asked.lock().unwrap().clone();
    (result, asked)
}

#[test]
fn a_reader_is_asked_for_each_segment_once_as_the_upload_reaches_it() {
    let script = Script::default()
        .json(200, INITIALIZED)
        .json(200, "")
        .json(503, SERVER_ERROR)
        .json(200, "")
        .json(200, "")
        .json(
            200,
            r#"{"data":{"id":"4242","media_key":"3_4242","size":2500000}}"#,
        );
    let (uploaded, asked) = read_upload(&script, counting);
    assert_eq!(uploaded.unwrap().id.as_str(), "4242");
    // The retried append resends the segment it holds instead of reading it again.
    assert_eq!(
        asked,
        [(0, 1_000_000), (1_000_000, 1_000_000), (2_000_000, 500_000)]
    );
    let seen = script.seen.lock().unwrap();
    let last = &seen[4];
    let expected: Bytes = counting(2_000_000, 500_000).unwrap();
    assert!(
        last.body()
            .windows(expected.len())
            .any(|w| w == &expected[..]),
        "the last append carries the last segment"
    );
}

#[test]
fn a_failed_read_stops_the_upload_before_it_is_finalized() {
    let script = Script::default().json(200, INITIALIZED).json(200, "");
    let (result, asked) = read_upload(&script, |offset, len| {
        if offset == 0 {
            counting(offset, len)
        } else {
            Err(Error::File {
                path: "clip.mp4".into(),
                source: std::io::Error::other("it changed size while it was uploaded"),
            })
        }
    });
    let error = result.unwrap_err();
    assert!(matches!(error, Error::File { .. }), "{error:?}");
    assert!(error.to_string().contains("changed size"), "{error}");
    assert_eq!(asked.len(), 2);
    assert_eq!(
        paths(&script),
        ["/2/media/upload/initialize", "/2/media/upload/4242/append"]
    );
}

#[test]
fn a_reader_that_hands_out_the_wrong_length_is_refused_before_sending_it() {
    let script = Script::default().json(200, INITIALIZED);
    let (result, asked) = read_upload(&script, |offset, len| counting(offset, len - 1));
    let error = result.unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("the file changed"), "{error}");
    assert_eq!(asked, [(0, 1_000_000)]);
    assert_eq!(paths(&script), ["/2/media/upload/initialize"]);
}

#[test]
fn a_reader_too_large_for_its_category_is_refused_before_any_request() {
    let reader = Reader {
        size: 6 << 20,
        asked: Arc::default(),
        answer: counting,
    };
    let media = crate::MediaSource::from_reader(reader, xdm_core::upload::MediaType::Png);
    assert!(format!("{media:?}").contains("Reader"));
    let script = Script::default();
    let clock = FakeClock::new();
    let error = block_on(client(&script, &clock).upload_media(media)).unwrap_err();
    assert!(error.to_string().contains("too large"), "{error}");
    assert_eq!(script.requests(), 0);
}

#[test]
fn bytes_are_a_reader_of_their_own_ranges() {
    use crate::MediaReader;
    let bytes = Bytes::from_static(b"0123456789");
    assert_eq!(MediaReader::size(&bytes), 10);
    assert_eq!(&block_on(bytes.read_chunk(4, 3)).unwrap()[..], b"456");
    assert_eq!(&block_on(bytes.read_chunk(7, 3)).unwrap()[..], b"789");
    for (offset, len) in [(8, 3), (11, 0), (u64::MAX, 1), (1, usize::MAX)] {
        let e = block_on(bytes.read_chunk(offset, len)).unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
        assert!(e.to_string().contains("beyond the media's 10 bytes"), "{e}");
    }
}

#[test]
fn errors_never_show_secrets() {
    let script = Script::default()
        .then(transport_error(ReachedServer::Maybe))
        .json(401, UNAUTHORIZED);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let unknown = block_on(client.send_to_participant(&peer(), hello())).unwrap_err();
    let unauthorized =
        block_on(client.list_page(&xdm_core::endpoints::ListEvents::new())).unwrap_err();
    for error in [unknown, unauthorized] {
        let shown = format!("{error} {error:?} {client:?}");
        for secret in [OAUTH1_TOKEN, TOKEN_SECRET, CONSUMER_SECRET] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(!error.to_string().contains('\n'));
    }
}

#[test]
fn clones_share_one_limiter() {
    let script = Script::default()
        .then(Ok(response(200, EMPTY_PAGE, &limit_headers(15, 0, 30))))
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let other = client.clone();
    let list = xdm_core::endpoints::ListEvents::new();
    block_on(client.list_page(&list)).unwrap();
    block_on(other.list_page(&list)).unwrap();
    assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
}

#[test]
fn the_client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let client = client(&Script::default(), &FakeClock::new());
    assert_send_sync(&client);
    let pages = client.list_events();
    assert_send(&pages);
    assert_send(&client.send_to_participant(&peer(), hello()));
}

#[test]
fn a_delete_x_answers_not_done_says_so() {
    let script = Script::default().json(200, r#"{"data":{"deleted":false}}"#);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let deletion = block_on(client.delete_event(&event())).unwrap();
    assert_eq!(deletion.state, DeleteState::NotDeleted);
    assert!(!deletion.is_deleted());
}

#[test]
fn a_send_whose_answer_names_no_event_still_succeeds_with_its_partial_errors() {
    let script = Script::default()
        .json(
            201,
            r#"{"data":{"dm_conversation_id":"1000-2000"},"errors":[{"title":"Partial","detail":"p"}]}"#,
        )
        .json(201, r#"{"data":{"dm_event_id":"not an id"}}"#)
        .json(201, r#"{"data":{}}"#);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert_eq!(sent.event_id, None);
    assert_eq!(
        sent.conversation_id.as_ref().map(ConversationId::as_str),
        Some("1000-2000")
    );
    assert_eq!(sent.errors[0].detail.as_deref(), Some("p"));
    // An id X spells oddly is left out, not passed on; the conversation sent to is known.
    let conversation = ConversationId::parse("1000-2000").unwrap();
    let sent = block_on(client.send_to_conversation(&conversation, hello())).unwrap();
    assert_eq!(sent.event_id, None);
    assert_eq!(sent.conversation_id, Some(conversation));
    // A participant send with nothing named: the one-to-one conversation follows from the
    // user's id (implied by the OAuth 1.0a token); the event stays unnamed.
    let sent = block_on(client.send_to_participant(&peer(), hello())).unwrap();
    assert_eq!(
        sent.conversation_id.as_ref().map(ConversationId::as_str),
        Some("1000-2000")
    );
    assert_eq!(sent.event_id, None);
    assert!(sent.errors.is_empty() && !sent.reconciled);
    assert_eq!(script.requests(), 3);
    // Without the user's id, nothing says which conversation it went to.
    let script = Script::default().json(201, r#"{"data":{}}"#);
    let unnamed = Client::new(
        script.clone(),
        clock.clone(),
        Config::new(Credentials::oauth2_token("user-access-token")),
    );
    let sent = block_on(unnamed.send_to_participant(&peer(), hello())).unwrap();
    assert_eq!((sent.conversation_id, sent.event_id), (None, None));
}

const PAGE_ONE_AGAIN: &str = r#"{"data":[{"id":"11","event_type":"MessageCreate","text":"a"},
    {"id":"10","event_type":"MessageCreate","text":"b"},{"id":"8","event_type":"MessageCreate","text":"d"}],
    "meta":{"result_count":3,"next_token":"AAAAAAAAAAAAAAAAAAAA09"}}"#;

fn listed_ids<E>(events: &mut crate::Events<Script, FakeClock, E>) -> (Vec<String>, Option<Error>)
where
    E: xdm_core::pagination::PagedEndpoint + Send + Sync + 'static,
{
    block_on(async {
        let mut ids = Vec::new();
        while let Some(item) = events.next().await {
            match item {
                Ok(item) => ids.push(item.event.id.unwrap()),
                Err(e) => return (ids, Some(e)),
            }
        }
        (ids, None)
    })
}

#[test]
fn a_page_served_again_under_a_new_token_yields_no_event_twice() {
    let script = Script::default()
        .json(200, PAGE_ONE)
        .json(200, PAGE_ONE_AGAIN)
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let (ids, error) = listed_ids(&mut client.list_events().events());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(ids, ["11", "10", "8"]);
    assert_eq!(script.requests(), 3);
}

#[test]
fn a_token_served_twice_ends_the_listing_with_an_error_not_a_loop() {
    // The second page hands back the first page's token.
    let again = PAGE_TWO.replace("AAAAAAAAAAAAAAAAAAAA02", "AAAAAAAAAAAAAAAAAAAA01");
    let script = Script::default()
        .json(200, PAGE_ONE)
        .json(200, &again)
        .json(200, PAGE_TWO);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut events = client.list_events().events();
    let (ids, error) = listed_ids(&mut events);
    assert_eq!(ids, ["11", "10", "9"]);
    let error = error.expect("the repeated token is an error");
    assert!(
        matches!(&error, Error::RepeatedToken(t) if t.as_str() == "AAAAAAAAAAAAAAAAAAAA01"),
        "{error:?}"
    );
    assert!(error.to_string().contains("a second time"), "{error}");
    assert!(block_on(events.next()).is_none());
    assert!(matches!(
        events.stop_reason(),
        Some(StopReason::RepeatedToken(_))
    ));
    assert_eq!(script.requests(), 2);
}

#[test]
fn a_malformed_next_token_ends_the_listing_with_an_error_not_quietly() {
    let bad = PAGE_TWO.replace("AAAAAAAAAAAAAAAAAAAA02", "not a token");
    let script = Script::default()
        .json(200, PAGE_ONE)
        .json(200, &bad)
        .json(200, EMPTY_PAGE);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut events = client.list_events().events();
    let (ids, error) = listed_ids(&mut events);
    // The page that carried the bad token is still yielded; then the error, not the end.
    assert_eq!(ids, ["11", "10", "9"]);
    let error = error.expect("a malformed token is an error");
    assert!(matches!(error, Error::MalformedToken), "{error:?}");
    assert!(error.to_string().contains("next_token"), "{error}");
    assert!(!error.to_string().contains("not a token"), "{error}");
    assert!(block_on(events.next()).is_none());
    assert!(!events.stop_reason().unwrap().is_end_of_listing());
    assert_eq!(script.requests(), 2);

    // The same through the pages: the page, then the error.
    let script = Script::default().json(200, &bad);
    let mut pages = self::client(&script, &clock).list_events();
    assert_eq!(
        block_on(pages.next_page()).unwrap().unwrap().items().len(),
        1
    );
    assert!(matches!(
        block_on(pages.next_page()),
        Some(Err(Error::MalformedToken))
    ));
    assert!(block_on(pages.next_page()).is_none());
    assert!(pages.is_done());
}

#[test]
fn events_carry_their_pages_partial_errors() {
    let with_errors = |data: &str, token: &str, detail: &str| {
        format!(
            r#"{{"data":{data},"errors":[{{"title":"Not Found Error","detail":"{detail}"}}],
                "meta":{{"result_count":1,"next_token":"{token}"}}}}"#
        )
    };
    let first = with_errors(
        r#"[{"id":"11","text":"a"},{"id":"10","text":"b"}]"#,
        "AAAAAAAAAAAAAAAAAAAA01",
        "one",
    );
    // A page whose only event was already yielded: its error goes with the next event.
    let repeat = with_errors(
        r#"[{"id":"10","text":"b"}]"#,
        "AAAAAAAAAAAAAAAAAAAA02",
        "two",
    );
    let last = with_errors(
        r#"[{"id":"9","text":"c"}]"#,
        "AAAAAAAAAAAAAAAAAAAA03",
        "three",
    );
    let trailing =
        r#"{"errors":[{"title":"Not Found Error","detail":"four"}],"meta":{"result_count":0}}"#;
    let script = Script::default()
        .json(200, &first)
        .json(200, &repeat)
        .json(200, &last)
        .json(200, trailing);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut events = client.list_events().events();
    let seen: Vec<(String, bool, Vec<String>)> = block_on(async {
        let mut seen = Vec::new();
        while let Some(item) = events.next().await {
            let item = item.unwrap();
            let details = item
                .page_errors()
                .iter()
                .map(|p| p.detail.clone().unwrap())
                .collect();
            seen.push((
                item.event.id.clone().unwrap(),
                item.is_first_on_page(),
                details,
            ));
        }
        seen
    });
    let expect = |id: &str, first: bool, details: &[&str]| {
        (
            id.to_owned(),
            first,
            details.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        seen,
        [
            expect("11", true, &["one"]),
            expect("10", false, &["one"]),
            expect("9", true, &["two", "three"]),
        ]
    );
    assert_eq!(events.trailing_errors()[0].detail.as_deref(), Some("four"));
}
