//! Every file of spec/fixtures/activity decoded: the documented shapes of the Activity API, of
//! the Account Activity API and the signed-body test vectors.

use std::collections::BTreeSet;

use bytes::Bytes;
use xdm_core::activity::stream::{
    ConnectionIssue, DisconnectType, LineDecoder, StreamItem, StreamProblemKind,
    decode_connection_problem,
};
use xdm_core::activity::webhook::{
    ConsumerSecret, Inbound, SIGNATURE_HEADER, SignatureError, classify, verify_signature,
};
use xdm_core::activity::{ActivityEvent, Direction, Source, decode_delivery};
use xdm_core::models::EventType;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/fixtures/activity/");

const COVERED: &[&str] = &[
    "README.md",
    "account_activity_direct_message_events.json",
    "dm_read_reconstructed.json",
    "dm_received.json",
    "oauth_revoke.json",
    "replay_job_status.json",
    "stream_429_too_many_connections.json",
    "stream_operational_disconnect.json",
    "webhook_signed_compact.json",
    "webhook_signed_pretty.json",
];

const SECRET: &str = "example_consumer_secret";

fn read(name: &str) -> Vec<u8> {
    assert!(COVERED.contains(&name), "{name} is read but not listed");
    let path = format!("{DIR}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_activity_fixture_is_covered_and_described() {
    let found: BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, covered);
    let readme = String::from_utf8(read("README.md")).unwrap();
    for name in COVERED.iter().filter(|n| n.ends_with(".json")) {
        assert!(
            readme.contains(name),
            "{name} is not described in README.md"
        );
    }
}

#[test]
fn the_documented_dm_received_maps_onto_a_dm_event() {
    let delivery = decode_delivery(&read("dm_received.json")).unwrap();
    assert_eq!(delivery.source, Source::ActivityApi);
    assert_eq!(delivery.event_uuid.as_deref(), Some("-6850472171600526495"));
    assert_eq!(delivery.event_type.as_deref(), Some("dm.received"));
    assert_eq!(delivery.tag.as_deref(), Some("dm-inbound"));
    assert_eq!(delivery.for_user_id(), Some("1111111111111111111"));
    assert!(!delivery.replay);
    let [ActivityEvent::Message(message)] = delivery.events.as_slice() else {
        panic!("{:?}", delivery.events)
    };
    assert_eq!(message.direction, Direction::Received);
    assert_eq!(message.for_user_id.as_deref(), Some("1111111111111111111"));
    assert_eq!(message.recipient_id.as_deref(), Some("1111111111111111111"));
    let event = &message.event;
    assert_eq!(message.id(), "2080765901528535096");
    assert_eq!(event.event_type, Some(EventType::MessageCreate));
    assert_eq!(event.text.as_deref(), Some("hello!"));
    assert_eq!(event.sender_id.as_deref(), Some("2222222222222222222"));
    assert_eq!(
        event.created_at.as_deref(),
        Some("2026-07-24T21:23:44.372Z")
    );
    assert_eq!(
        event.created_at().unwrap().as_millisecond(),
        1_784_928_224_372
    );
    assert_eq!(
        event.dm_conversation_id.as_deref(),
        Some("1111111111111111111-2222222222222222222")
    );
    // All four entity lists are empty: no entities, as the REST listing would have it.
    assert_eq!(event.entities, None);
    assert!(message.attachment().is_none());
    assert!(message.raw.get().starts_with(
        r#"{
          "type": "message_create""#
    ));
    // Users, wrapped in `data`, with `tweet_count` and the `_str` twins kept in `extra`.
    let other = delivery.user("2222222222222222222").unwrap();
    assert_eq!(other.username.as_deref(), Some("OtherUser"));
    let metrics = other.public_metrics.as_ref().unwrap();
    assert_eq!(metrics.posts(), Some(50));
    assert_eq!(metrics.extra["followers_count_str"], "97");
    assert_eq!(
        delivery
            .user("1111111111111111111")
            .unwrap()
            .name
            .as_deref(),
        Some("Example User")
    );
    // The DM event serialises in the API's wire names, as `/2/dm_events` does.
    let json = serde_json::to_value(&message.event).unwrap();
    assert_eq!(json["event_type"], "MessageCreate");
    assert_eq!(
        json["dm_conversation_id"],
        "1111111111111111111-2222222222222222222"
    );
}

#[test]
fn the_reconstructed_dm_read_is_a_read_receipt() {
    let delivery = decode_delivery(&read("dm_read_reconstructed.json")).unwrap();
    let [ActivityEvent::Read(receipt)] = delivery.events.as_slice() else {
        panic!("{:?}", delivery.events)
    };
    assert_eq!(receipt.reader_id, "199566737");
    assert_eq!(receipt.other_id.as_deref(), Some("3001969357"));
    assert_eq!(receipt.last_read_event_id, "963085315333238788");
    assert_eq!(receipt.at.as_deref(), Some("2018-02-12T16:20:44.662Z"));
    assert_eq!(receipt.at().unwrap().as_millisecond(), 1_518_452_444_662);
    assert_eq!(delivery.users.len(), 1);
}

#[test]
fn the_documented_revocation_is_revoked() {
    let delivery = decode_delivery(&read("oauth_revoke.json")).unwrap();
    assert_eq!(delivery.filter, Default::default());
    assert_eq!(delivery.tag, None);
    let [ActivityEvent::Revoked(revoked)] = delivery.events.as_slice() else {
        panic!("{:?}", delivery.events)
    };
    assert_eq!(revoked.user_id, "1111111111111111111");
    assert_eq!(revoked.app_id.as_deref(), Some("29820954"));
    assert_eq!(revoked.at.as_deref(), Some("2026-07-23T21:44:05+00:00"));
    assert_eq!(revoked.at().unwrap().to_string(), "2026-07-23T21:44:05Z");
}

#[test]
fn the_documented_account_activity_body_maps_like_an_envelope() {
    let body = read("account_activity_direct_message_events.json");
    let delivery = decode_delivery(&body).unwrap();
    assert_eq!(delivery.source, Source::AccountActivity);
    assert_eq!(delivery.event_type, None);
    assert_eq!(delivery.for_user_id(), Some("4337869213"));
    let [ActivityEvent::Message(message)] = delivery.events.as_slice() else {
        panic!("{:?}", delivery.events)
    };
    // The sender is not the user the body is for: received.
    assert_eq!(message.direction, Direction::Received);
    assert_eq!(message.event.text.as_deref(), Some("Hello World!"));
    assert_eq!(
        message.event.dm_conversation_id.as_deref(),
        Some("3001969357-4337869213")
    );
    assert_eq!(
        message.event.created_at.as_deref(),
        Some("2018-01-19T23:12:40.557Z")
    );
    // The v1.1 user, renamed.
    let user = delivery.user("3001969357").unwrap();
    assert_eq!(user.username.as_deref(), Some("furiouscamper"));
    assert_eq!(
        user.profile_image_url.as_deref(),
        Some("https://pbs.twimg.com/profile_images/851526626785480705/cW4WTi7C_normal.jpg")
    );
    assert_eq!(user.public_metrics.as_ref().unwrap().posts(), Some(494));

    // The same body on a webhook, signed.
    let secret = ConsumerSecret::new(SECRET);
    let request = http::Request::post("/x")
        .header(SIGNATURE_HEADER, secret.sign(&body))
        .body(Bytes::from(body))
        .unwrap();
    let Inbound::AccountActivity(classified) = classify(&request, &secret).unwrap() else {
        panic!()
    };
    assert_eq!(*classified, delivery);
}

#[test]
fn the_documented_stream_problems_decode() {
    let mut decoder = LineDecoder::new();
    decoder.push(&read("stream_operational_disconnect.json"));
    let Some(StreamItem::Problems(problems)) = decoder.poll_item() else {
        panic!()
    };
    let problem = &problems[0];
    assert_eq!(problem.kind, StreamProblemKind::OperationalDisconnect);
    assert!(problem.is_operational_disconnect());
    assert_eq!(
        problem.disconnect_type,
        Some(DisconnectType::UpstreamOperationalDisconnect)
    );
    assert_eq!(problem.title(), Some("operational-disconnect"));
    assert_eq!(
        problem.detail(),
        Some("This stream has been disconnected upstream for operational reasons.")
    );

    let refused = decode_connection_problem(&read("stream_429_too_many_connections.json")).unwrap();
    assert_eq!(refused.kind, StreamProblemKind::StreamingConnection);
    assert_eq!(
        refused.connection_issue,
        Some(ConnectionIssue::TooManyConnections)
    );
    assert!(refused.is_too_many_connections());
    assert!(!refused.is_operational_disconnect());
    assert_eq!(refused.title(), Some("ConnectionException"));
}

#[test]
fn the_replay_status_is_classified() {
    let body = read("replay_job_status.json");
    let secret = ConsumerSecret::new(SECRET);
    let request = http::Request::post("/x")
        .header(SIGNATURE_HEADER, secret.sign(&body))
        .body(Bytes::from(body))
        .unwrap();
    let Inbound::ReplayJobStatus(status) = classify(&request, &secret).unwrap() else {
        panic!()
    };
    assert_eq!(status.webhook_id.as_deref(), Some("1146654567674912769"));
    assert_eq!(status.job_id.as_deref(), Some("1995507200941260800"));
    assert_eq!(
        status.job_state_description.as_deref(),
        Some("Job completed successfully")
    );
    assert!(status.is_complete());
}

#[test]
fn the_signature_vectors_hold_for_the_exact_bytes_only() {
    let secret = ConsumerSecret::new(SECRET);
    let compact = read("webhook_signed_compact.json");
    let pretty = read("webhook_signed_pretty.json");
    assert_eq!(compact.len(), 110);
    let compact_sig: &[u8] = b"sha256=7gIiHTf/YyrMqwrivo/z8QiydUC8+z/68YKR1ctwGhc=";
    let pretty_sig: &[u8] = b"sha256=F3ZfBlmp5B/xvq4gmDv1ykgh6I4t5Ulync0qy2E+eyE=";
    assert_eq!(
        verify_signature(&secret, Some(compact_sig), &compact),
        Ok(())
    );
    assert_eq!(verify_signature(&secret, Some(pretty_sig), &pretty), Ok(()));
    assert_eq!(
        verify_signature(&secret, Some(compact_sig), &pretty),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(&secret, Some(pretty_sig), &compact),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(secret.sign(&compact).as_bytes(), compact_sig);
    // Both decode to the same delivery: same JSON, different bytes.
    assert_eq!(
        decode_delivery(&compact).unwrap(),
        decode_delivery(&pretty).unwrap()
    );
}
