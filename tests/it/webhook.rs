//! Webhooks end to end: the emulator registers `WebhookServer` after a CRC check, delivers a
//! DM signed, redelivers it and replays it; the receiver hands it out once and reports the
//! replay's end. The CRC answer is checked with an HMAC computed here, independently.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use xdm_client::webhook::{WebhookEvents, WebhookItem, WebhookReceiver, Webhooks};
use xdm_core::RequestContext;
use xdm_core::activity::ActivityEvent;
use xdm_core::activity::webhook::ConsumerSecret;
use xdm_core::endpoints::{CreateSubscription, SubscriptionEventType};
use xdm_core::ids::{UserId, WebhookId};
use xdm_emulator::{DeliveryFault, Emulator, RateLimits};
use xdm_hyper::webhook::WebhookServer;
use xdm_hyper::{HyperTransport, TokioClock};

use crate::support::{Scheme, builder};

fn independent_hmac(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The next item, within a few seconds.
async fn next(items: &mut WebhookEvents) -> WebhookItem {
    tokio::time::timeout(Duration::from_secs(5), items.recv())
        .await
        .expect("an item in time")
        .expect("the receiver is running")
}

fn message_ids(item: &WebhookItem) -> Vec<String> {
    let WebhookItem::Delivery(delivery) = item else {
        return Vec::new();
    };
    delivery
        .events
        .iter()
        .filter_map(|e| match e {
            ActivityEvent::Message(m) => Some(m.id().to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_reaches_the_webhook_once_through_redelivery_and_replay() {
    // The server first, on a free port; the emulator sends to it what is registered as an
    // X-conformant https URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emu = Emulator::builder()
        .rate_limits(RateLimits::off())
        .webhook_target(addr)
        .webhook_retry_delays([Duration::from_millis(50)])
        .start()
        .await
        .unwrap();
    let secret = emu.credentials().oauth1.consumer_secret.clone();
    let (receiver, mut items) = WebhookReceiver::new(ConsumerSecret::new(secret.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        WebhookServer::from_listener(listener, receiver.clone()).run_until(async {
            let _ = stopped.await;
        }),
    );

    let context = RequestContext::new(xdm_core::BaseUrl::parse(emu.base_url()).unwrap());
    let hooks = Webhooks::new(
        HyperTransport::builder().build().unwrap(),
        TokioClock,
        emu.credentials().app_bearer_token.clone(),
        context,
    );
    let url = "https://hooks.example.com/webhooks/x";
    let config = hooks.register(url).await.unwrap();
    assert_eq!(config.url.as_deref(), Some(url));
    assert_eq!(config.valid, Some(true));
    let id = config.id.clone().unwrap();
    let crc = emu.handle().last_crc().unwrap();
    assert!(crc.valid && crc.status == Some(200), "{crc:?}");
    // Our own answer to the emulator's token, against an HMAC computed here.
    let ours = xdm_core::activity::webhook::crc_response(
        &ConsumerSecret::new(secret.clone()),
        &crc.crc_token,
    );
    assert_eq!(
        ours.response_token,
        independent_hmac(&secret, crc.crc_token.as_bytes())
    );
    assert_eq!(
        hooks.list().await.unwrap()[0].id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(hooks.revalidate(&id).await.unwrap().valid, Some(true));

    // `me` subscribes to the webhook with the user's own token.
    let me = subscribe_me_to(&emu, &id).await;

    // Sent once, delivered twice.
    let alice = emu.handle().users()[1].id.clone();
    emu.handle().inject_delivery_fault(DeliveryFault::Redeliver);
    let dm = emu.handle().send_dm(&alice, &me, "hello hook").unwrap();
    let first = next(&mut items).await;
    assert_eq!(message_ids(&first), std::slice::from_ref(&dm));

    // A replay of the last minutes: the DM again (dropped), then the job's status.
    let now = jiff::Timestamp::now();
    let job = hooks
        .replay(&id, now - jiff::SignedDuration::from_mins(5), now)
        .await
        .unwrap();
    let job_id = job.job_id.unwrap();
    let WebhookItem::ReplayJobStatus(status) = next(&mut items).await else {
        panic!("the replay status comes next: the redelivery and replay are dropped")
    };
    assert!(status.is_complete());
    assert_eq!(status.job_id.as_deref(), Some(job_id.as_str()));
    let log = emu.handle().webhook_deliveries(&id);
    assert_eq!(log.iter().filter(|d| !d.replay).count(), 2, "{log:?}");
    assert!(log.iter().filter(|d| d.replay).count() >= 2, "{log:?}");
    assert!(items.try_next().is_none());
    assert!(receiver.dedup_snapshot().keys.contains(&dm));

    // Validated before any request: a window beyond 24 hours.
    let requests = emu.handle().requests().len();
    let old = now - jiff::SignedDuration::from_hours(30);
    let refused = hooks
        .replay(&id, old, old + jiff::SignedDuration::from_mins(5))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, xdm_client::Error::InvalidInput(_)),
        "{refused}"
    );
    let refused = hooks
        .register("http://hooks.example.com/x")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, xdm_client::Error::InvalidInput(_)),
        "{refused}"
    );
    let refused = hooks.delete("abc").await.unwrap_err();
    assert!(
        matches!(refused, xdm_client::Error::InvalidInput(_)),
        "{refused}"
    );
    let refused = hooks.revalidate("").await.unwrap_err();
    assert!(
        matches!(refused, xdm_client::Error::InvalidInput(_)),
        "{refused}"
    );
    // A user endpoint is refused by the app token's authorizer, before it is sent.
    let refused = hooks
        .execute(&xdm_core::endpoints::ListEvents::new())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, xdm_client::Error::Authorization(_)),
        "{refused}"
    );
    assert_eq!(emu.handle().requests().len(), requests);
    // X's refusal of an unknown webhook.
    let refused = hooks.delete("1234567890").await.unwrap_err();
    assert!(matches!(refused, xdm_client::Error::Api(_)), "{refused}");

    assert!(hooks.delete(&id).await.unwrap().deleted);
    assert!(hooks.list().await.unwrap().is_empty());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Subscribes the OAuth 2.0 user to its received DMs on `webhook`, with its own token, and
/// returns its id.
async fn subscribe_me_to(emu: &Emulator, webhook: &str) -> String {
    let me = emu.credentials().oauth2.user_id.clone();
    let user = builder(emu, Scheme::OAuth2).build().unwrap();
    let create = CreateSubscription::for_user(
        SubscriptionEventType::DmReceived,
        UserId::parse(&me).unwrap(),
    )
    .unwrap()
    .with_webhook(WebhookId::parse(webhook).unwrap());
    user.execute(&create).await.unwrap();
    me
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_not_delivered() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (receiver, mut items) = WebhookReceiver::new(ConsumerSecret::new("the real secret"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        WebhookServer::from_listener(listener, receiver).run_until(async {
            let _ = stopped.await;
        }),
    );
    let body = r#"{"data":{"event_type":"dm.received","filter":{"user_id":"1"},"payload":{"direct_message_events":[{"type":"message_create","id":"42","created_timestamp":"1784928224372","message_create":{"sender_id":"2","target":{"recipient_id":"1"},"message_data":{"text":"forged"}}}]}}}"#;
    let forged = independent_hmac("a guessed secret", body.as_bytes());
    let transport = HyperTransport::builder().build().unwrap();
    let request = http::Request::post(format!("http://{addr}/webhooks/x"))
        .header("x-twitter-webhooks-signature", forged)
        .body(bytes::Bytes::from(body))
        .unwrap();
    let answer = xdm_client::transport::Transport::send(&transport, request)
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(items.try_next().is_none());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_pressure_answers_503_and_the_emulators_retry_is_taken() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emu = Emulator::builder()
        .rate_limits(RateLimits::off())
        .webhook_target(addr)
        .webhook_retry_delays([Duration::from_millis(100); 5])
        .start()
        .await
        .unwrap();
    let secret = emu.credentials().oauth1.consumer_secret.clone();
    // Room for one delivery only, and the app does not read at first.
    let (receiver, mut items) = WebhookReceiver::builder(ConsumerSecret::new(secret))
        .capacity(1)
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        WebhookServer::from_listener(listener, receiver).run_until(async {
            let _ = stopped.await;
        }),
    );
    let hooks = Webhooks::new(
        HyperTransport::builder().build().unwrap(),
        TokioClock,
        emu.credentials().app_bearer_token.clone(),
        RequestContext::new(xdm_core::BaseUrl::parse(emu.base_url()).unwrap()),
    );
    let id = hooks
        .register("https://hooks.example.com/x")
        .await
        .unwrap()
        .id
        .unwrap();
    let me = subscribe_me_to(&emu, &id).await;

    let alice = emu.handle().users()[1].id.clone();
    let first = emu.handle().send_dm(&alice, &me, "one").unwrap();
    let second = emu.handle().send_dm(&alice, &me, "two").unwrap();
    // The second is refused while the first waits.
    let refused = || {
        emu.handle()
            .webhook_deliveries(&id)
            .iter()
            .any(|d| d.attempts.contains(&Some(503)))
    };
    for _ in 0..200 {
        if refused() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused(), "{:?}", emu.handle().webhook_deliveries(&id));
    // The app catches up; X's retry is taken.
    assert_eq!(message_ids(&next(&mut items).await), [first]);
    assert_eq!(message_ids(&next(&mut items).await), [second]);
    // The emulator records the 200 once it has read the answer, just after the item is queued.
    let all_delivered = || {
        emu.handle()
            .webhook_deliveries(&id)
            .iter()
            .all(|d| d.delivered())
    };
    for _ in 0..200 {
        if all_delivered() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = emu.handle().webhook_deliveries(&id);
    assert!(all_delivered(), "{log:?}");
    assert_eq!(log[1].attempts.first(), Some(&Some(503)), "{log:?}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
