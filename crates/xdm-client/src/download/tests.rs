use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, UNIX_EPOCH};

use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_core::BaseUrl;
use xdm_core::error::ApiErrorKind;
use xdm_core::ids::UserId;
use xdm_core::retry::{ReachedServer, RetryPolicy, TransportErrorKind, TransportFailure};

use super::*;
use crate::tests::{FakeClock, block_on};
use crate::transport::Transport;
use crate::{Config, Credentials, RateLimitPolicy};
use futures_core::Stream;

const START: u64 = 1_800_000_000;
const URL: &str =
    "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/clip.mp4";
const NOT_FOUND: &str = r#"{"title":"Not Found Error","type":"https://api.x.com/2/problems/resource-not-found","detail":"Could not find media"}"#;
const UNAUTHORIZED: &str =
    r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
const TOO_MANY: &str = r#"{"title":"Too Many Requests","type":"about:blank","status":429}"#;

type Chunk = Result<Bytes, TransportError>;
type Reply = Result<http::Response<Vec<Chunk>>, TransportError>;
/// How a request was sent (`"streamed"` or `"whole"`), its path, its authorization and
/// its range.
type Seen = (&'static str, String, Option<String>, Option<String>);

/// Answers requests from a script, in order, streamed or whole as asked, and remembers
/// how each was sent.
#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    fn then(self, reply: Reply) -> Self {
        self.replies.lock().unwrap().push_back(reply);
        self
    }

    fn respond(self, status: u16, headers: &[(&str, String)], chunks: Vec<Chunk>) -> Self {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        self.then(Ok(builder.body(chunks).unwrap()))
    }

    fn problem(self, status: u16, body: &str, headers: &[(&str, String)]) -> Self {
        let mut headers = headers.to_vec();
        headers.push(("content-type", "application/problem+json".into()));
        self.respond(status, &headers, vec![Ok(Bytes::from(body.to_owned()))])
    }

    fn take(&self, how: &'static str, request: &http::Request<Bytes>) -> Reply {
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v: &http::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (auth, range) = (header("authorization"), header("range"));
        let path = request.uri().path().to_owned();
        self.seen
            .lock()
            .unwrap()
            .push((how, path.clone(), auth, range));
        let reply = self.replies.lock().unwrap().pop_front();
        reply.unwrap_or_else(|| panic!("unscripted request to {path}"))
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Transport for Script {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        let reply = self.take("whole", &request);
        async move {
            let (parts, chunks) = reply?.into_parts();
            let mut body = BytesMut::new();
            for chunk in chunks {
                body.extend_from_slice(&chunk?);
            }
            Ok(http::Response::from_parts(parts, body.freeze()))
        }
    }
}

impl StreamingTransport for Script {
    fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<BodyStream>, TransportError>> + Send {
        let reply = self.take("streamed", &request);
        async move {
            let (parts, chunks) = reply?.into_parts();
            let mut chunks = VecDeque::from(chunks);
            // Every other poll is pending, as on a network, so that the reader has to
            // wait for the chunks rather than find them all ready.
            let mut ready = false;
            let body = BodyStream::from_poll_fn(move |cx| {
                ready = !ready;
                if !ready {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(chunks.pop_front())
            });
            Ok(http::Response::from_parts(parts, body))
        }
    }
}

fn base() -> BaseUrl {
    BaseUrl::parse("http://127.0.0.1:9").unwrap()
}

fn oauth2_config(clock: &FakeClock) -> Config {
    let token =
        UserToken::new("first-access-token", clock.now()).with_refresh_token("the-refresh-token");
    let oauth = OAuth2Client::public("client-id", "").with_api_base_url(base());
    Config::new(Credentials::oauth2(TokenManager::new(oauth, token)))
        .with_base_url(base())
        .with_user_id(UserId::parse("1000").unwrap())
}

fn client(script: &Script, clock: &FakeClock) -> Client<Script, FakeClock> {
    Client::new(script.clone(), clock.clone(), oauth2_config(clock))
}

fn media() -> DownloadMedia {
    DownloadMedia::from_media_url(URL).unwrap()
}

/// An OAuth 2.0 client that tries each call twice.
fn retrying_client(script: &Script, clock: &FakeClock) -> Client<Script, FakeClock> {
    Client::builder(script.clone(), clock.clone(), oauth2_config(clock))
        .retry_policy(two_attempts())
        .build()
}

/// The stream of `media()` from `script`'s first answer, which must open.
fn opened(script: &Script) -> MediaStream {
    let clock = FakeClock::new();
    block_on(client(script, &clock).download_media_stream(&media())).unwrap()
}

/// Opens `media` against one answer of `status` with `body` and, when `value` is some,
/// the header `name`.
fn open_with_header(
    status: u16,
    (name, value): (&'static str, Option<&str>),
    body: &'static str,
    media: DownloadMedia,
) -> (Script, Result<MediaStream, Error>) {
    let headers: Vec<(&str, String)> = value.map(|v| (name, v.to_owned())).into_iter().collect();
    let script = Script::default().respond(status, &headers, vec![bytes(body)]);
    let clock = FakeClock::new();
    let opened = block_on(client(&script, &clock).download_media_stream(&media));
    (script, opened)
}

fn bytes(text: &'static str) -> Chunk {
    Ok(Bytes::from_static(text.as_bytes()))
}

fn broken() -> Chunk {
    Err(TransportError::new(
        TransportFailure::new(TransportErrorKind::Io, ReachedServer::Maybe),
        "connection reset",
    ))
}

fn limit_headers(remaining: u32, reset_in: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-rate-limit-limit", "15".into()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", (START + reset_in).to_string()),
    ]
}

fn two_attempts() -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 2;
    policy
}

/// Reads the whole stream, errors included, in order.
fn drain(stream: &mut MediaStream) -> Vec<Result<Bytes, Error>> {
    block_on(async {
        let mut items = Vec::new();
        while let Some(item) = stream.next_chunk().await {
            items.push(item);
        }
        items
    })
}

fn transport_error(item: &Result<Bytes, Error>) -> &TransportError {
    match item {
        Err(Error::Transport(e)) => e,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn chunks_arrive_in_order_after_the_headers() {
    let mut headers = limit_headers(14, 900);
    headers.push(("content-type", "video/mp4".into()));
    headers.push(("content-length", "9".into()));
    let script = Script::default().respond(
        200,
        &headers,
        vec![bytes("abc"), bytes(""), bytes("def"), bytes("ghi")],
    );
    let mut stream = opened(&script);
    assert_eq!(stream.content_type(), Some("video/mp4"));
    assert_eq!(stream.content_length(), Some(9));
    assert_eq!(stream.rate_limit().window.as_ref().unwrap().remaining, 14);
    assert_eq!(stream.received(), 0);
    let chunks: Vec<Bytes> = drain(&mut stream).into_iter().map(Result::unwrap).collect();
    assert_eq!(
        chunks,
        ["abc", "def", "ghi"],
        "in order, the empty chunk skipped"
    );
    assert_eq!(stream.received(), 9);
    assert!(block_on(stream.next_chunk()).is_none(), "stays ended");
    let seen = script.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "streamed");
    assert_eq!(
        seen[0].1,
        "/2/dm_conversations/media/1589472163941056517/1589472151165317121/clip.mp4"
    );
    assert_eq!(seen[0].2.as_deref(), Some("Bearer first-access-token"));
}

#[test]
fn the_stream_is_a_futures_stream_too() {
    let script = Script::default().respond(200, &[], vec![bytes("ab"), bytes("cd")]);
    let mut stream = opened(&script);
    let mut chunks = Vec::new();
    block_on(std::future::poll_fn(|cx| {
        loop {
            match Pin::new(&mut stream).poll_next(cx) {
                Poll::Ready(Some(item)) => chunks.push(item.unwrap()),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }));
    assert_eq!(chunks, ["ab", "cd"]);
    assert_eq!(stream.content_length(), None);
}

#[test]
fn an_error_mid_body_is_an_item_and_ends_the_stream() {
    let script =
        Script::default().respond(200, &[], vec![bytes("abc"), broken(), bytes("never read")]);
    let mut stream = opened(&script);
    let items = drain(&mut stream);
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), "abc");
    let error = transport_error(&items[1]);
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert_eq!(script.seen().len(), 1, "a broken body is not fetched again");
}

#[test]
fn a_body_shorter_than_its_content_length_is_an_error() {
    let script =
        Script::default().respond(200, &[("content-length", "10".into())], vec![bytes("abc")]);
    let mut stream = opened(&script);
    let items = drain(&mut stream);
    assert_eq!(items.len(), 2, "{items:?}");
    let error = transport_error(&items[1]);
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert!(
        error.message().contains("only 3 of the 10 bytes"),
        "{error}"
    );
}

#[test]
fn a_body_longer_than_its_content_length_is_an_error() {
    let script = Script::default().respond(
        200,
        &[("content-length", "4".into())],
        vec![bytes("abc"), bytes("def")],
    );
    let mut stream = opened(&script);
    let items = drain(&mut stream);
    assert_eq!(items.len(), 2, "{items:?}");
    let error = transport_error(&items[1]);
    assert!(
        error.message().contains("more than 6 of the 4 bytes"),
        "{error}"
    );
}

#[test]
fn an_error_status_fails_with_the_error_a_buffered_download_gives() {
    let script = Script::default()
        .problem(404, NOT_FOUND, &[])
        .problem(404, NOT_FOUND, &[]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let streamed = block_on(client.download_media_stream(&media())).unwrap_err();
    let buffered = block_on(client.download_media(&media())).unwrap_err();
    let (streamed, buffered) = (streamed.api_error().unwrap(), buffered.api_error().unwrap());
    assert_eq!(streamed.status(), 404);
    assert_eq!(streamed.kind(), &ApiErrorKind::NotFound);
    assert_eq!(streamed.kind(), buffered.kind());
    assert_eq!(streamed.to_string(), buffered.to_string());
    let how: Vec<&str> = script.seen().iter().map(|s| s.0).collect();
    assert_eq!(how, ["streamed", "whole"], "a 404 is not retried");
}

#[test]
fn a_long_error_body_is_read_only_up_to_the_bound() {
    let mut padded = NOT_FOUND.to_owned();
    padded.push_str(&" ".repeat(ERROR_BODY_LIMIT));
    let script = Script::default().respond(
        404,
        &[("content-type", "application/problem+json".into())],
        vec![Ok(Bytes::from(padded)), broken()],
    );
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    assert_eq!(
        error.api_error().map(|e| e.kind()),
        Some(&ApiErrorKind::NotFound),
        "the failure after the bound is never read: {error:?}"
    );
}

#[test]
fn an_error_body_that_breaks_off_is_retried_like_a_lost_response() {
    let script = Script::default()
        .respond(503, &[], vec![bytes("{\"title\":"), broken()])
        .respond(200, &[], vec![bytes("ok")]);
    let clock = FakeClock::new();
    let client = retrying_client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media())).unwrap();
    assert_eq!(drain(&mut stream)[0].as_ref().unwrap(), "ok");
    assert_eq!(clock.sleeps().len(), 1, "one backoff");
}

#[test]
fn no_response_is_retried_and_then_reported() {
    let refused = || {
        Err(TransportError::new(
            TransportFailure::new(TransportErrorKind::Connect, ReachedServer::No),
            "connection refused",
        ))
    };
    let script = Script::default()
        .then(refused())
        .respond(200, &[], vec![bytes("ok")])
        .then(refused())
        .then(refused());
    let clock = FakeClock::new();
    let client = retrying_client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media())).unwrap();
    assert_eq!(drain(&mut stream)[0].as_ref().unwrap(), "ok");
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    assert!(
        matches!(&error, Error::Transport(t) if t.failure().kind == TransportErrorKind::Connect),
        "{error:?}"
    );
    assert_eq!(script.seen().len(), 4);
}

#[test]
fn a_401_refreshes_the_token_once_and_opens_with_the_new_one() {
    let rotated = r#"{"token_type":"bearer","expires_in":7200,"access_token":"second-access-token",
        "refresh_token":"second-refresh-token","scope":"dm.read dm.write tweet.read users.read"}"#;
    let script = Script::default()
        .problem(401, UNAUTHORIZED, &[])
        .respond(200, &[], vec![Ok(Bytes::from_static(rotated.as_bytes()))])
        .respond(200, &[], vec![bytes("media")]);
    let mut stream = opened(&script);
    assert_eq!(drain(&mut stream)[0].as_ref().unwrap(), "media");
    let seen = script.seen();
    let how: Vec<(&str, &str)> = seen.iter().map(|s| (s.0, s.1.as_str())).collect();
    assert_eq!(how[1], ("whole", "/2/oauth2/token"));
    assert_eq!((how[0].0, how[2].0), ("streamed", "streamed"));
    assert_eq!(seen[2].2.as_deref(), Some("Bearer second-access-token"));
}

#[test]
fn a_second_401_is_reported_not_refreshed_again() {
    let rotated =
        r#"{"token_type":"bearer","expires_in":7200,"access_token":"second-access-token"}"#;
    let script = Script::default()
        .problem(401, UNAUTHORIZED, &[])
        .respond(200, &[], vec![Ok(Bytes::from_static(rotated.as_bytes()))])
        .problem(401, UNAUTHORIZED, &[]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    assert_eq!(
        error.api_error().unwrap().kind(),
        &ApiErrorKind::Unauthorized
    );
    assert_eq!(script.seen().len(), 3);
}

#[test]
fn oauth1_is_refused_before_any_request() {
    let script = Script::default();
    let clock = FakeClock::new();
    let config = Config::new(Credentials::oauth1(
        "consumer-key",
        "consumer-secret",
        "1000-access-token",
        "token-secret",
    ))
    .with_base_url(base());
    let client = Client::new(script.clone(), clock.clone(), config);
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    assert!(matches!(error, Error::Authorization(_)), "{error:?}");
    assert!(script.seen().is_empty());
}

#[test]
fn a_429_is_waited_out_then_the_download_opens() {
    let script = Script::default()
        .problem(429, TOO_MANY, &limit_headers(0, 20))
        .respond(200, &[], vec![bytes("ok")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media())).unwrap();
    assert_eq!(drain(&mut stream)[0].as_ref().unwrap(), "ok");
    assert_eq!(clock.sleeps(), [Duration::from_secs(20)]);
}

#[test]
fn a_429_beyond_the_wait_budget_fails_with_the_reset() {
    let script = Script::default().problem(429, TOO_MANY, &limit_headers(0, 20));
    let clock = FakeClock::new();
    let client = Client::builder(script.clone(), clock.clone(), oauth2_config(&clock))
        .rate_limit_policy(RateLimitPolicy::FailFast)
        .build();
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    let reset = UNIX_EPOCH + Duration::from_secs(START + 20);
    assert!(
        matches!(error, Error::RateLimited { reset: r, .. } if r == reset),
        "{error:?}"
    );
    assert!(clock.sleeps().is_empty());
}

#[test]
fn a_429_whose_reset_is_too_far_fails_with_the_reset() {
    let script = Script::default().problem(429, TOO_MANY, &limit_headers(0, 3600));
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let error = block_on(client.download_media_stream(&media())).unwrap_err();
    let reset = UNIX_EPOCH + Duration::from_secs(START + 3600);
    assert!(
        matches!(error, Error::RateLimited { reset: r, .. } if r == reset),
        "{error:?}"
    );
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn an_exhausted_limit_is_waited_out_before_opening() {
    let script = Script::default()
        .respond(200, &limit_headers(0, 30), vec![bytes("one")])
        .respond(200, &[], vec![bytes("two")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut first = block_on(client.download_media_stream(&media())).unwrap();
    assert_eq!(drain(&mut first)[0].as_ref().unwrap(), "one");
    let mut second = block_on(client.download_media_stream(&media())).unwrap();
    assert_eq!(drain(&mut second)[0].as_ref().unwrap(), "two");
    assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
}

fn ranges_seen(script: &Script) -> Vec<Option<String>> {
    script.seen().into_iter().map(|s| s.3).collect()
}

fn texts(items: Vec<Result<Bytes, Error>>) -> Vec<Bytes> {
    items.into_iter().map(Result::unwrap).collect()
}

fn partial(range: &str) -> Vec<(&'static str, String)> {
    vec![("content-range", range.to_owned())]
}

#[test]
fn a_206_from_the_offset_streams_as_it_is() {
    let script = Script::default().respond(
        206,
        &partial("bytes 4-9/10"),
        vec![bytes("45"), bytes("6789")],
    );
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media().with_offset(4))).unwrap();
    assert_eq!(stream.content_length(), Some(10), "the whole file's size");
    assert!(stream.accepts_ranges(), "a 206 says so by itself");
    assert_eq!(texts(drain(&mut stream)), ["45", "6789"]);
    assert_eq!(stream.received(), 6);
    assert_eq!(ranges_seen(&script), [Some("bytes=4-".to_owned())]);
}

#[test]
fn a_206_with_an_unknown_total_has_no_content_length() {
    let script = Script::default().respond(206, &partial("bytes 4-9/*"), vec![bytes("456789")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media().with_offset(4))).unwrap();
    assert_eq!(stream.content_length(), None);
    assert_eq!(texts(drain(&mut stream)), ["456789"]);
}

#[test]
fn a_200_to_a_ranged_request_has_the_offset_skipped() {
    for (offset, want) in [
        (0, vec!["012", "3456", "789"]),
        (3, vec!["3456", "789"]),
        (4, vec!["456", "789"]),
        (9, vec!["9"]),
        (10, vec![]),
    ] {
        let script = Script::default().respond(
            200,
            &[("content-length", "10".into())],
            vec![bytes("012"), bytes("3456"), bytes("789")],
        );
        let clock = FakeClock::new();
        let client = client(&script, &clock);
        let mut stream =
            block_on(client.download_media_stream(&media().with_offset(offset))).unwrap();
        assert_eq!(stream.content_length(), Some(10), "{offset}");
        assert!(!stream.accepts_ranges(), "{offset}");
        assert_eq!(texts(drain(&mut stream)), want, "{offset}");
        assert_eq!(stream.received(), 10 - offset, "{offset}");
    }
}

#[test]
fn accept_ranges_is_read_from_the_headers() {
    for (value, accepts) in [
        (Some("bytes"), true),
        (Some("none"), false),
        (Some("other, Bytes"), true),
        (Some("bytesize"), false),
        (None, false),
    ] {
        let (_, opened) = open_with_header(200, ("accept-ranges", value), "x", media());
        let stream = opened.unwrap();
        assert_eq!(stream.accepts_ranges(), accepts, "{value:?}");
    }
}

#[test]
fn a_206_that_starts_elsewhere_fails_the_open_and_is_not_retried() {
    let cases = [
        (Some("bytes 0-9/10"), "from byte 0, not from the offset 4"),
        (None, "without a single byte range"),
        (Some("bytes */10"), "without a single byte range"),
    ];
    for (content_range, message) in cases {
        let (script, opened) = open_with_header(
            206,
            ("content-range", content_range),
            "0123456789",
            media().with_offset(4),
        );
        let error = opened.unwrap_err();
        let Error::Transport(error) = &error else {
            panic!("expected a transport error, got {error:?}");
        };
        assert_eq!(error.failure().kind, TransportErrorKind::Other);
        assert!(error.message().contains(message), "{error}");
        assert_eq!(script.seen().len(), 1, "{content_range:?}");
    }
}

#[test]
fn a_206_is_checked_against_its_range_not_the_whole_file() {
    let short = Script::default().respond(
        206,
        &[
            ("content-range", "bytes 4-9/10".into()),
            ("content-length", "6".into()),
        ],
        vec![bytes("45")],
    );
    let long = Script::default().respond(
        206,
        &partial("bytes 4-9/10"),
        vec![bytes("4567"), bytes("890")],
    );
    let clock = FakeClock::new();
    let short_items = drain(
        &mut block_on(client(&short, &clock).download_media_stream(&media().with_offset(4)))
            .unwrap(),
    );
    assert_eq!(short_items.len(), 2, "{short_items:?}");
    let error = transport_error(&short_items[1]);
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert!(
        error
            .message()
            .contains("only 2 of the 6 bytes its content-range announced"),
        "{error}"
    );
    let long_items = drain(
        &mut block_on(client(&long, &clock).download_media_stream(&media().with_offset(4)))
            .unwrap(),
    );
    assert_eq!(long_items.len(), 2, "{long_items:?}");
    assert_eq!(long_items[0].as_ref().unwrap(), "4567");
    assert!(
        transport_error(&long_items[1])
            .message()
            .contains("more than 7 of the 6 bytes"),
        "{long_items:?}"
    );
}

#[test]
fn a_206_that_ends_before_the_file_does_is_an_error() {
    let script = Script::default().respond(206, &partial("bytes 4-5/10"), vec![bytes("45")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media().with_offset(4))).unwrap();
    let items = drain(&mut stream);
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), "45");
    let error = transport_error(&items[1]);
    assert_eq!(error.failure().kind, TransportErrorKind::Io, "resumable");
    assert!(
        error.message().contains("up to byte 6 of the 10"),
        "{error}"
    );
}

#[test]
fn a_whole_file_shorter_than_the_offset_is_an_error() {
    let script = Script::default().respond(200, &[], vec![bytes("abc")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    let mut stream = block_on(client.download_media_stream(&media().with_offset(5))).unwrap();
    let items = drain(&mut stream);
    assert_eq!(items.len(), 1, "nothing handed out: {items:?}");
    let error = transport_error(&items[0]);
    assert!(
        error
            .message()
            .contains("ended after 3 bytes, before the offset 5"),
        "{error}"
    );
    assert_eq!(stream.received(), 0);
}

#[test]
fn a_download_resumed_where_it_broke_gives_the_whole_file() {
    let mut first = vec![("accept-ranges", "bytes".to_owned())];
    first.push(("content-length", "10".into()));
    let script = Script::default()
        .respond(200, &first, vec![bytes("0123"), broken()])
        // The server ignores this range: the first six bytes are dropped.
        .respond(200, &first, vec![bytes("012345"), bytes("6"), broken()])
        .respond(206, &partial("bytes 7-9/10"), vec![bytes("789")]);
    let clock = FakeClock::new();
    let client = client(&script, &clock);
    // The pattern `download_media_stream` documents.
    let mut media = media();
    let mut file = Vec::new();
    let mut resumes = 0;
    block_on(async {
        let mut download = client.download_media_stream(&media).await.unwrap();
        loop {
            match download.next_chunk().await {
                Some(Ok(chunk)) => file.extend_from_slice(&chunk),
                None => break,
                Some(Err(_)) if resumes < 5 => {
                    assert!(download.accepts_ranges());
                    resumes += 1;
                    let reached = media.offset() + download.received();
                    media = media.with_offset(reached);
                    download = client.download_media_stream(&media).await.unwrap();
                }
                Some(Err(error)) => panic!("{error}"),
            }
        }
    });
    assert_eq!(file, b"0123456789");
    assert_eq!(resumes, 2);
    assert_eq!(
        ranges_seen(&script),
        [
            None,
            Some("bytes=4-".to_owned()),
            Some("bytes=7-".to_owned())
        ]
    );
}

#[test]
fn a_whole_body_is_one_chunk_and_an_empty_one_none() {
    let mut whole = BodyStream::from_bytes(Bytes::from_static(b"abc"));
    assert_eq!(block_on(whole.next_chunk()).unwrap().unwrap(), "abc");
    assert!(block_on(whole.next_chunk()).is_none());
    let mut empty = BodyStream::from_bytes(Bytes::new());
    assert!(block_on(empty.next_chunk()).is_none());
    assert_eq!(format!("{empty:?}"), "BodyStream { .. }");
}
