//! The stream client against a scripted transport and a clock that moves only when slept on:
//! skipped lines, connect failures and refusals with their waits, gaps filled, unfilled and
//! failing, the deduper across paths, and shutdown.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use xdm_core::activity::session::{SessionConfig, WaitReason};
use xdm_core::endpoints::StreamRefusal;
use xdm_core::retry::{ReachedServer, TransportErrorKind, TransportFailure};

use super::{ActivityItem, ActivityStream, Disconnect, StopCause, StreamNotice, StreamOptions};
use crate::tests::{FakeClock, block_on};
use crate::transport::{BodyStream, StreamingTransport, Transport, TransportError};
use crate::{Client, Config, Credentials, Error};

/// What one connect gets.
enum Connect {
    /// No HTTP answer.
    Fail,
    /// A refusal with this status and body.
    Status(u16, &'static str),
    /// A stream: these chunks, then the end (or, with `hang`, silence).
    Body { chunks: Vec<Vec<u8>>, hang: bool },
}

/// Serves the stream connects and the `GET /2/dm_events` pages from scripts; a connect
/// beyond the script hangs silently, a listing beyond it is an empty page.
#[derive(Clone, Default)]
struct Script {
    connects: Arc<Mutex<VecDeque<Connect>>>,
    pages: Arc<Mutex<VecDeque<(u16, String)>>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn connect(self, connect: Connect) -> Self {
        self.connects.lock().unwrap().push_back(connect);
        self
    }

    fn page(self, status: u16, body: &str) -> Self {
        self.pages
            .lock()
            .unwrap()
            .push_back((status, body.to_owned()));
        self
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

impl Transport for Script {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.seen.lock().unwrap().push(request.uri().to_string());
        let page = self.pages.lock().unwrap().pop_front();
        let (status, body) = page.unwrap_or((200, r#"{"meta":{"result_count":0}}"#.to_owned()));
        Ok(reply(status, body))
    }
}

impl StreamingTransport for Script {
    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, TransportError> {
        self.seen.lock().unwrap().push(request.uri().to_string());
        let connect = self.connects.lock().unwrap().pop_front();
        let (chunks, hang) = match connect {
            Some(Connect::Fail) => {
                return Err(TransportError::new(
                    TransportFailure::new(TransportErrorKind::Connect, ReachedServer::No),
                    "connection refused",
                ));
            }
            Some(Connect::Status(status, body)) => {
                let (parts, body) = reply(status, body).into_parts();
                return Ok(http::Response::from_parts(
                    parts,
                    BodyStream::from_bytes(body),
                ));
            }
            Some(Connect::Body { chunks, hang }) => (chunks, hang),
            None => (Vec::new(), true),
        };
        let mut chunks: VecDeque<Bytes> = chunks.into_iter().map(Bytes::from).collect();
        let body = BodyStream::from_poll_fn(move |_| match chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(Ok(chunk))),
            None if hang => Poll::Pending,
            None => Poll::Ready(None),
        });
        Ok(http::Response::new(body))
    }
}

const ME: &str = "1000";
const PEER: &str = "2000";

/// One `dm.*` delivery line of message `id` from `sender` to `recipient`, for `user`.
fn line(kind: &str, user: &str, id: u64, sender: &str, recipient: &str, text: &str) -> String {
    format!(
        r#"{{"data":{{"event_type":"{kind}","filter":{{"user_id":"{user}"}},"payload":{{"direct_message_events":[{{"type":"message_create","id":"{id}","created_timestamp":"1800000000000","message_create":{{"sender_id":"{sender}","target":{{"recipient_id":"{recipient}"}},"message_data":{{"text":"{text}"}}}}}}]}}}}}}"#
    ) + "\r\n"
}

fn received(id: u64, text: &str) -> String {
    line("dm.received", ME, id, PEER, ME, text)
}

fn body(lines: &[String], hang: bool) -> Connect {
    Connect::Body {
        chunks: lines.iter().map(|l| l.clone().into_bytes()).collect(),
        hang,
    }
}

fn options() -> StreamOptions {
    StreamOptions::new().with_session(
        SessionConfig::new()
            .with_idle_timeout(Duration::from_secs(30))
            .with_stable_after(Duration::from_secs(60)),
    )
}

fn clients(
    script: &Script,
    clock: &FakeClock,
) -> (Client<Script, FakeClock>, Client<Script, FakeClock>) {
    let app = Client::new(
        script.clone(),
        clock.clone(),
        Config::new(Credentials::app_bearer("app-token")),
    );
    let user = Client::new(
        script.clone(),
        clock.clone(),
        Config::new(Credentials::oauth2_token("user-token")),
    );
    (app, user)
}

/// Reads items until `done` holds or the stream ends (bounded, so a bug cannot hang a test).
fn read(
    stream: &mut ActivityStream<Script, FakeClock>,
    mut done: impl FnMut(&[ActivityItem]) -> bool,
) -> Vec<ActivityItem> {
    block_on(async {
        let mut items = Vec::new();
        for _ in 0..200 {
            if done(&items) {
                break;
            }
            match stream.next().await {
                Some(item) => items.push(item),
                None => break,
            }
        }
        items
    })
}

fn texts(items: &[ActivityItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.dm_event()?.text.clone())
        .collect()
}

fn connects(items: &[ActivityItem]) -> usize {
    items
        .iter()
        .filter(|i| matches!(i, ActivityItem::Notice(StreamNotice::Connected { .. })))
        .count()
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let long = format!("{{\"x\":\"{}\"}}\r\n", "a".repeat(300));
    let script = Script::default().connect(body(
        &[
            "not json\r\n".to_owned(),
            long,
            "\r\n".to_owned(),
            received(1, "after"),
        ],
        true,
    ));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options().with_max_line_len(290));
    let items = read(&mut stream, |i| !texts(i).is_empty());
    let skipped: Vec<usize> = items
        .iter()
        .filter_map(|i| match i {
            ActivityItem::Notice(StreamNotice::Skipped { len, .. }) => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [8, 308], "{items:#?}");
    assert_eq!(texts(&items), ["after"]);
}

#[test]
fn a_failed_connect_waits_a_quarter_second_and_a_5xx_five_seconds() {
    let script = Script::default()
        .connect(Connect::Fail)
        .connect(Connect::Status(503, r#"{"title":"Service Unavailable"}"#))
        .connect(body(&[received(1, "through")], true));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let items = read(&mut stream, |i| !texts(i).is_empty());
    let waits: Vec<(Duration, WaitReason)> = items
        .iter()
        .filter_map(|i| match i {
            ActivityItem::Notice(StreamNotice::Reconnecting { after, reason, .. }) => {
                Some((*after, *reason))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        waits,
        [
            (Duration::from_millis(250), WaitReason::ConnectFailed),
            (Duration::from_secs(5), WaitReason::ServerError)
        ]
    );
    assert!(matches!(
        items[0],
        ActivityItem::Notice(StreamNotice::ConnectFailed(_))
    ));
    assert!(items.iter().any(|i| matches!(
        i,
        ActivityItem::Notice(StreamNotice::Refused(StreamRefusal::Retryable { .. }))
    )));
    assert_eq!(
        clock.sleeps().iter().sum::<Duration>(),
        Duration::from_millis(5250)
    );
}

#[test]
fn a_forbidden_connect_stops_without_a_retry() {
    let script = Script::default().connect(Connect::Status(403, r#"{"title":"Forbidden"}"#));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let items = read(&mut stream, |_| false);
    assert!(matches!(
        &items[..],
        [ActivityItem::Notice(StreamNotice::Stopped(StopCause::Refused(f)))] if f.status == 403
    ));
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn both_copies_of_a_message_and_a_redelivery_come_out_once() {
    let script = Script::default().connect(body(
        &[
            received(7, "once"),
            line("dm.sent", PEER, 7, PEER, ME, "once"),
            received(7, "once"),
            received(8, "next"),
        ],
        true,
    ));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let items = read(&mut stream, |i| texts(i).contains(&"next".to_owned()));
    assert_eq!(texts(&items), ["once", "next"]);
}

/// A stream that drops after message 5, and a listing that shows what was missed.
fn dropped_after_five() -> Script {
    Script::default()
        .connect(body(&[received(5, "seen")], false))
        .connect(body(&[], true))
}

fn listed(ids_newest_first: &[u64]) -> String {
    let items: Vec<String> = ids_newest_first
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":"{id}","event_type":"MessageCreate","text":"m{id}","sender_id":"{PEER}","dm_conversation_id":"{ME}-{PEER}","created_at":"2027-01-15T08:00:00.000Z"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"data":[{}],"meta":{{"result_count":{}}}}}"#,
        items.join(","),
        items.len()
    )
}

#[test]
fn a_gap_is_filled_down_to_the_newest_message_seen() {
    // 9 and 6 were missed; 5 came by stream; 4 is older still.
    let script = dropped_after_five().page(200, &listed(&[9, 6, 5, 4]));
    let clock = FakeClock::new();
    let (app, user) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options()).with_gap_fill(user);
    let items = read(&mut stream, |i| {
        i.iter()
            .any(|i| matches!(i, ActivityItem::Notice(StreamNotice::GapFilled { .. })))
    });
    assert_eq!(texts(&items), ["seen", "m6", "m9"]);
    assert!(matches!(
        items.last(),
        Some(ActivityItem::Notice(StreamNotice::GapFilled {
            events: 2,
            ..
        }))
    ));
    assert!(items.iter().any(|i| matches!(
        i,
        ActivityItem::Notice(StreamNotice::Disconnected(Disconnect::Ended))
    )));
    let listing = script
        .seen()
        .into_iter()
        .find(|u| u.contains("/2/dm_events"))
        .unwrap();
    assert!(listing.contains("event_types=MessageCreate"), "{listing}");
    assert_eq!(connects(&items), 2);
}

#[test]
fn a_gap_without_a_user_client_is_reported_unfilled() {
    let script = dropped_after_five();
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let items = read(&mut stream, |i| {
        i.iter()
            .any(|i| matches!(i, ActivityItem::Notice(StreamNotice::GapNotFilled { .. })))
    });
    assert_eq!(connects(&items), 2, "{items:#?}");
    assert!(script.seen().iter().all(|u| !u.contains("/2/dm_events")));
}

#[test]
fn a_gap_that_cannot_be_read_is_reported_and_the_stream_goes_on() {
    let script = dropped_after_five().page(
        403,
        r#"{"title":"Forbidden","detail":"no dm.read","type":"about:blank","status":403}"#,
    );
    let clock = FakeClock::new();
    let (app, user) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options()).with_gap_fill(user);
    let items = read(&mut stream, |i| {
        i.iter()
            .any(|i| matches!(i, ActivityItem::Notice(StreamNotice::GapFillFailed(_))))
    });
    let Some(ActivityItem::Notice(StreamNotice::GapFillFailed(Error::Api(e)))) = items.last()
    else {
        panic!("{items:#?}")
    };
    assert_eq!(e.status(), 403);
    assert!(matches!(
        stream.session().state(),
        xdm_core::activity::session::ConnectionState::Open { .. }
    ));
}

#[test]
fn silence_closes_the_connection_after_the_idle_timeout() {
    let script = Script::default().connect(body(&[], true));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let items = read(&mut stream, |i| connects(i) == 2);
    assert!(items.iter().any(|i| matches!(
        i,
        ActivityItem::Notice(StreamNotice::Disconnected(Disconnect::IdleTimeout))
    )));
    assert_eq!(clock.sleeps()[0], Duration::from_secs(30));
}

#[test]
fn a_shutdown_during_a_backoff_ends_the_stream_at_once() {
    let script =
        Script::default().connect(Connect::Status(429, r#"{"title":"Too Many Requests"}"#));
    let clock = FakeClock::new();
    let (app, _) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(app, options());
    let handle = stream.shutdown_handle();
    let items = read(&mut stream, |i| {
        i.iter()
            .any(|i| matches!(i, ActivityItem::Notice(StreamNotice::Reconnecting { .. })))
    });
    assert!(matches!(
        items.last(),
        Some(ActivityItem::Notice(StreamNotice::Reconnecting {
            reason: WaitReason::RateLimited,
            ..
        }))
    ));
    handle.shutdown();
    assert!(handle.is_shutdown());
    let rest = read(&mut stream, |_| false);
    assert!(matches!(
        &rest[..],
        [ActivityItem::Notice(StreamNotice::Stopped(
            StopCause::Shutdown
        ))]
    ));
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn a_user_client_is_refused_before_connecting() {
    let script = Script::default();
    let clock = FakeClock::new();
    let (_, user) = clients(&script, &clock);
    let mut stream = ActivityStream::with_options(user, options());
    let items = read(&mut stream, |_| false);
    assert!(matches!(
        &items[..],
        [ActivityItem::Notice(StreamNotice::Stopped(
            StopCause::Error(Error::Authorization(_))
        ))]
    ));
    assert!(script.seen().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// However the body is cut into chunks, and whichever copies and redeliveries it holds,
    /// each message comes out once, in first-seen order.
    #[test]
    fn each_message_once_under_any_chunking(
        ids in proptest::collection::vec(1u64..20, 1..30),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let text: String = ids
            .iter()
            .enumerate()
            .map(|(n, id)| if n % 2 == 0 {
                received(*id, &format!("m{id}"))
            } else {
                line("dm.sent", PEER, *id, PEER, ME, &format!("m{id}"))
            })
            .collect();
        let bytes = text.into_bytes();
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).collect();
        at.sort_unstable();
        at.dedup();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in at.into_iter().chain([bytes.len()]) {
            if cut > from {
                chunks.push(bytes[from..cut].to_vec());
                from = cut;
            }
        }
        let script = Script::default().connect(Connect::Body { chunks, hang: true });
        let clock = FakeClock::new();
        let (app, _) = clients(&script, &clock);
        let mut stream = ActivityStream::with_options(app, options());
        let mut expected: Vec<String> = Vec::new();
        for id in &ids {
            let t = format!("m{id}");
            if !expected.contains(&t) {
                expected.push(t);
            }
        }
        let want = expected.len();
        let items = read(&mut stream, |i| texts(i).len() >= want);
        prop_assert_eq!(texts(&items), expected);
    }
}

mod setup {
    use xdm_core::endpoints::SubscriptionEventType;
    use xdm_core::ids::{UserId, WebhookId};

    use super::*;
    use crate::activity::ActivitySetup;

    fn subscription(id: u64, kind: &str, webhook: Option<&str>) -> String {
        let webhook = webhook
            .map(|w| format!(r#","webhook_id":"{w}""#))
            .unwrap_or_default();
        format!(
            r#"{{"subscription_id":"{id}","event_type":"{kind}","filter":{{"user_id":"{ME}"}}{webhook}}}"#
        )
    }

    #[test]
    fn a_duplicate_counts_as_present_and_webhook_subscriptions_do_not_serve_the_stream() {
        // Page one lists dm.received for a webhook; page two, dm.sent for the stream.
        let script = Script::default()
            .page(
                200,
                &format!(
                    r#"{{"data":[{}],"meta":{{"result_count":1,"next_token":"7140dibdnow9c7btw4b"}}}}"#,
                    subscription(1, "dm.received", Some("77"))
                ),
            )
            .page(
                200,
                &format!(
                    r#"{{"data":[{}],"meta":{{"result_count":1}}}}"#,
                    subscription(2, "dm.sent", None)
                ),
            )
            // Creating dm.received for the stream: X calls it a duplicate.
            .page(
                409,
                r#"{"title":"DuplicateSubscription","detail":"A duplicate subscription exists.","type":"about:blank","status":409}"#,
            );
        let clock = FakeClock::new();
        let (app, user) = clients(&script, &clock);
        let me = UserId::parse(ME).unwrap();
        let report = block_on(ActivitySetup::new(&app, &user).ensure(&me)).unwrap();
        assert_eq!(report.duplicates, [SubscriptionEventType::DmReceived]);
        assert_eq!(report.present.len(), 1);
        assert_eq!(report.present[0].subscription_id.as_deref(), Some("2"));
        assert!(report.created.is_empty());
        let seen = script.seen();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(
            seen[1].contains("pagination_token=7140dibdnow9c7btw4b"),
            "{seen:?}"
        );

        // For the webhook, the listed dm.received serves; dm.sent is created.
        let script = Script::default()
            .page(
                200,
                &format!(
                    r#"{{"data":[{}],"meta":{{"result_count":1}}}}"#,
                    subscription(1, "dm.received", Some("77"))
                ),
            )
            .page(
                200,
                &format!(
                    r#"{{"data":{{"subscription":{}}}}}"#,
                    subscription(3, "dm.sent", Some("77"))
                ),
            );
        let (app, user) = clients(&script, &clock);
        let report = block_on(
            ActivitySetup::new(&app, &user)
                .with_webhook(WebhookId::parse("77").unwrap())
                .ensure(&me),
        )
        .unwrap();
        assert_eq!(report.present.len(), 1);
        assert_eq!(report.created[0].subscription_id.as_deref(), Some("3"));
    }
}
