//! Every answer of the receiver, and what reaches the application.

use bytes::Bytes;
use proptest::prelude::*;
use xdm_core::activity::ActivityEvent;
use xdm_core::activity::dedup::EventDeduper;
use xdm_core::activity::webhook::ConsumerSecret;

use super::{WebhookEvents, WebhookItem, WebhookReceiver};

const SECRET: &str = "example_consumer_secret";

fn secret() -> ConsumerSecret {
    ConsumerSecret::new(SECRET)
}

fn dm_body(id: &str, replay: bool) -> Bytes {
    let meta = if replay {
        r#","meta":{"replay":true}"#
    } else {
        ""
    };
    Bytes::from(format!(
        r#"{{"data":{{"event_type":"dm.received","filter":{{"user_id":"1"}},"payload":{{"direct_message_events":[{{"type":"message_create","id":"{id}","created_timestamp":"1784928224372","message_create":{{"sender_id":"2","target":{{"recipient_id":"1"}},"message_data":{{"text":"hi {id}"}}}}}}]}}}}{meta}}}"#
    ))
}

fn signed(body: Bytes) -> http::Request<Bytes> {
    http::Request::post("/hook")
        .header("x-twitter-webhooks-signature", secret().sign(&body))
        .body(body)
        .unwrap()
}

fn dm_ids(items: &mut WebhookEvents) -> Vec<String> {
    let mut ids = Vec::new();
    while let Some(item) = items.try_next() {
        let WebhookItem::Delivery(delivery) = item else {
            panic!("not a delivery: {item:?}")
        };
        for event in delivery.events {
            let ActivityEvent::Message(m) = event else {
                panic!("not a message")
            };
            ids.push(m.id().to_owned());
        }
    }
    ids
}

#[test]
fn crc_checks_are_answered_with_the_hmac_of_the_token() {
    let (receiver, items) = WebhookReceiver::new(secret());
    let answer = receiver.handle(
        http::Request::get("/hook?crc_token=challenge_string")
            .body(Bytes::new())
            .unwrap(),
    );
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(
        answer.body(),
        r#"{"response_token":"sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="}"#
    );
    let missing = receiver.handle(http::Request::get("/hook").body(Bytes::new()).unwrap());
    assert_eq!(missing.status(), 400);
    assert!(items.is_empty());
}

#[test]
fn bad_signatures_get_401_and_nothing_is_delivered() {
    let (receiver, mut items) = WebhookReceiver::new(secret());
    let body = dm_body("42", false);
    let wrong = ConsumerSecret::new("another secret").sign(&body);
    for header in [None, Some("sha256=not base64"), Some(wrong.as_str())] {
        let mut request = http::Request::post("/hook");
        if let Some(h) = header {
            request = request.header("x-twitter-webhooks-signature", h);
        }
        let answer = receiver.handle(request.body(body.clone()).unwrap());
        assert_eq!(answer.status(), 401, "{header:?}");
        assert!(!String::from_utf8_lossy(answer.body()).contains(SECRET));
    }
    // A body changed after signing.
    let mut tampered = signed(body.clone());
    *tampered.body_mut() = dm_body("43", false);
    assert_eq!(receiver.handle(tampered).status(), 401);
    assert!(items.try_next().is_none());
    // Nothing was marked as seen either: the genuine delivery is taken.
    assert_eq!(receiver.handle(signed(body)).status(), 200);
    assert_eq!(dm_ids(&mut items), ["42"]);
}

#[test]
fn other_methods_get_405_with_allow() {
    let (receiver, items) = WebhookReceiver::new(secret());
    let answer = receiver.handle(http::Request::put("/hook").body(Bytes::new()).unwrap());
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "GET, POST");
    assert!(items.is_empty());
}

#[test]
fn bodies_over_the_cap_get_413() {
    let body = dm_body("42", false);
    let (receiver, mut items) = WebhookReceiver::builder(secret())
        .max_body_bytes(body.len() - 1)
        .build();
    assert_eq!(receiver.max_body_bytes(), body.len() - 1);
    assert_eq!(receiver.handle(signed(body.clone())).status(), 413);
    assert!(items.try_next().is_none());
    let (receiver, mut items) = WebhookReceiver::builder(secret())
        .max_body_bytes(body.len())
        .build();
    assert_eq!(receiver.handle(signed(body)).status(), 200);
    assert_eq!(dm_ids(&mut items), ["42"]);
}

#[test]
fn a_full_queue_answers_503_and_the_retry_is_taken() {
    let (receiver, mut items) = WebhookReceiver::builder(secret()).capacity(1).build();
    assert_eq!(receiver.handle(signed(dm_body("1", false))).status(), 200);
    let refused = receiver.handle(signed(dm_body("2", false)));
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    // Not marked as seen while refused.
    assert_eq!(receiver.dedup_snapshot().keys, ["1"]);
    assert_eq!(dm_ids(&mut items), ["1"]);
    // X retries: now there is room.
    assert_eq!(receiver.handle(signed(dm_body("2", false))).status(), 200);
    assert_eq!(dm_ids(&mut items), ["2"]);
}

#[test]
fn a_dropped_application_end_answers_503() {
    let (receiver, items) = WebhookReceiver::new(secret());
    drop(items);
    assert_eq!(receiver.handle(signed(dm_body("1", false))).status(), 503);
    // CRC checks are still answered: registration does not depend on the application.
    let crc = http::Request::get("/hook?crc_token=x")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(receiver.handle(crc).status(), 200);
}

#[test]
fn redeliveries_and_replays_are_handed_out_once() {
    let (receiver, mut items) = WebhookReceiver::new(secret());
    for body in [
        dm_body("7", false),
        dm_body("7", false),
        dm_body("8", false),
        dm_body("7", true),
        dm_body("8", true),
    ] {
        assert_eq!(receiver.handle(signed(body)).status(), 200);
    }
    assert_eq!(dm_ids(&mut items), ["7", "8"]);
}

#[test]
fn a_restored_snapshot_keeps_dropping_what_was_handed_out() {
    let (receiver, mut items) = WebhookReceiver::new(secret());
    receiver.handle(signed(dm_body("7", false)));
    let snapshot = receiver.dedup_snapshot();
    drop((receiver, dm_ids(&mut items)));
    let (restarted, mut items) = WebhookReceiver::builder(secret())
        .deduper(EventDeduper::restore(snapshot))
        .build();
    assert_eq!(restarted.handle(signed(dm_body("7", true))).status(), 200);
    assert_eq!(restarted.handle(signed(dm_body("9", true))).status(), 200);
    assert_eq!(dm_ids(&mut items), ["9"]);
}

#[test]
fn replay_status_and_unknown_bodies_reach_the_application() {
    let (receiver, mut items) = WebhookReceiver::new(secret());
    let status = Bytes::from_static(
        br#"{"replay_job_status":{"webhook_id":"5","job_state":"Complete","job_state_description":"Job completed successfully","job_id":"9"}}"#,
    );
    let unknown = Bytes::from_static(br#"{"something_new":[1,2]}"#);
    assert_eq!(receiver.handle(signed(status)).status(), 200);
    assert_eq!(receiver.handle(signed(unknown.clone())).status(), 200);
    let Some(WebhookItem::ReplayJobStatus(s)) = items.try_next() else {
        panic!("no replay status")
    };
    assert!(s.is_complete());
    assert_eq!(s.job_id.as_deref(), Some("9"));
    assert_eq!(items.try_next(), Some(WebhookItem::Unknown(unknown)));
}

#[test]
fn account_activity_bodies_are_deliveries() {
    let (receiver, mut items) = WebhookReceiver::new(secret());
    let body = Bytes::from_static(
        br#"{"for_user_id":"1","direct_message_events":[{"type":"message_create","id":"77","created_timestamp":"1784928224372","message_create":{"sender_id":"2","target":{"recipient_id":"1"},"message_data":{"text":"old api"}}}]}"#,
    );
    assert_eq!(receiver.handle(signed(body)).status(), 200);
    assert_eq!(dm_ids(&mut items), ["77"]);
}

#[test]
fn the_application_end_waits_and_ends_with_the_receiver() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (receiver, mut items) = WebhookReceiver::new(secret());
    let sender = receiver.clone();
    runtime.block_on(async {
        let waiting = async { items.recv().await };
        let sending = async {
            sender.handle(signed(dm_body("3", false)));
        };
        let (item, ()) = futures_join(waiting, sending).await;
        assert!(matches!(item, Some(WebhookItem::Delivery(_))));
    });
    drop((receiver, sender));
    assert_eq!(runtime.block_on(items.recv()), None);
}

/// Polls both futures to completion on one task.
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

proptest! {
    /// Against a model: whatever the order of sends, redeliveries, replays and reads, and
    /// however small the queue, every DM whose delivery was ever answered 200 is handed out
    /// exactly once, and a DM is handed out only after a 200.
    #[test]
    fn each_accepted_dm_is_handed_out_exactly_once(
        capacity in 1usize..4,
        steps in proptest::collection::vec((0u8..6, any::<bool>(), 0u8..3), 1..60),
    ) {
        let (receiver, mut items) = WebhookReceiver::builder(secret()).capacity(capacity).build();
        let mut accepted = std::collections::BTreeSet::new();
        let mut handed_out = Vec::new();
        for (id, replay, reads) in steps {
            let id = format!("{}", 100 + u32::from(id));
            let status = receiver.handle(signed(dm_body(&id, replay))).status();
            prop_assert!(status == 200 || status == 503);
            if status == 200 {
                accepted.insert(id);
            }
            for _ in 0..reads {
                if let Some(item) = items.try_next() {
                    let WebhookItem::Delivery(d) = item else { panic!("not a delivery") };
                    for e in d.events {
                        if let ActivityEvent::Message(m) = e {
                            handed_out.push(m.id().to_owned());
                        }
                    }
                }
            }
        }
        handed_out.extend(dm_ids(&mut items));
        let unique: std::collections::BTreeSet<_> = handed_out.iter().cloned().collect();
        prop_assert_eq!(unique.len(), handed_out.len(), "a DM was handed out twice");
        prop_assert_eq!(unique, accepted);
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let (receiver, items) = WebhookReceiver::new(secret());
    let shown = format!("{receiver:?} {items:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let hooks = super::Webhooks::new(
        |_request: http::Request<Bytes>| async {
            Ok::<_, crate::transport::TransportError>(http::Response::new(Bytes::new()))
        },
        NoClock,
        "app-bearer-secret",
        xdm_core::RequestContext::default(),
    );
    assert!(!format!("{hooks:?}").contains("app-bearer-secret"));
}

struct NoClock;

impl crate::transport::Timer for NoClock {
    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::UNIX_EPOCH
    }

    async fn sleep(&self, _: std::time::Duration) {}
}
