//! The activity deduper: one key per message whatever path it came by, bounded memory, and
//! snapshots that survive a restart.

use std::collections::{HashSet, VecDeque};

use proptest::prelude::*;
use xdm_core::activity::dedup::{DedupSnapshot, EventDeduper};
use xdm_core::activity::{ActivityDelivery, ActivityEvent, decode_delivery};
use xdm_core::models::DmEvent;

/// The ways one message reaches a receiver.
#[derive(Debug, Clone, Copy)]
enum Path {
    Received,
    Sent,
    Replayed,
    AccountActivity,
    Rest,
}

fn message_item(id: u64) -> String {
    format!(
        r#"{{"type":"message_create","id":"{id}","created_timestamp":"1700000000000","message_create":{{"sender_id":"20","target":{{"recipient_id":"10"}},"message_data":{{"text":"m{id}"}}}}}}"#
    )
}

fn delivery(path: Path, id: u64) -> ActivityDelivery {
    let item = message_item(id);
    let body = match path {
        Path::Received => format!(
            r#"{{"data":{{"event_type":"dm.received","filter":{{"user_id":"10"}},"payload":{{"direct_message_events":[{item}]}}}}}}"#
        ),
        Path::Sent => format!(
            r#"{{"data":{{"event_type":"dm.sent","filter":{{"user_id":"20"}},"payload":{{"direct_message_events":[{item}]}}}}}}"#
        ),
        Path::Replayed => format!(
            r#"{{"data":{{"event_uuid":"-5","event_type":"dm.received","filter":{{"user_id":"10"}},"payload":{{"direct_message_events":[{item}]}}}},"meta":{{"replay":true}}}}"#
        ),
        Path::AccountActivity | Path::Rest => {
            format!(r#"{{"for_user_id":"20","direct_message_events":[{item}]}}"#)
        }
    };
    decode_delivery(body.as_bytes()).unwrap()
}

fn rest_event(id: u64) -> DmEvent {
    let mut event = DmEvent::default();
    event.id = Some(id.to_string());
    event
}

/// Hands a message out through `path`; whether it came out.
fn offer(deduper: &mut EventDeduper, path: Path, id: u64) -> bool {
    if let Path::Rest = path {
        return deduper.first_time_dm_event(&rest_event(id));
    }
    let mut delivery = delivery(path, id);
    let dropped = deduper.retain_new(&mut delivery);
    assert_eq!(dropped + delivery.events.len(), 1);
    !delivery.events.is_empty()
}

#[test]
fn every_path_of_one_message_collapses_to_one() {
    for first in [
        Path::Received,
        Path::Sent,
        Path::Replayed,
        Path::AccountActivity,
        Path::Rest,
    ] {
        let mut deduper = EventDeduper::new();
        assert!(offer(&mut deduper, first, 7));
        for again in [
            Path::Received,
            Path::Sent,
            Path::Replayed,
            Path::AccountActivity,
            Path::Rest,
        ] {
            assert!(!offer(&mut deduper, again, 7), "{first:?} then {again:?}");
        }
        assert!(offer(&mut deduper, first, 8));
        assert_eq!(deduper.len(), 2);
        assert!(deduper.contains("7"));
    }
}

fn events_of(body: &str) -> Vec<ActivityEvent> {
    decode_delivery(body.as_bytes()).unwrap().events
}

#[test]
fn receipts_typing_and_revocations_have_delivery_keys() {
    let read = r#"{"data":{"event_type":"dm.read","filter":{"user_id":"1"},"payload":{"direct_message_mark_read_events":[{"created_timestamp":"1","sender_id":"2","target":{"recipient_id":"1"},"last_read_event_id":"9"}]}}}"#;
    let typing = r#"{"data":{"event_type":"dm.indicate_typing","filter":{"user_id":"1"},"payload":{"direct_message_indicate_typing_events":[{"created_timestamp":"1000","sender_id":"2","target":{"recipient_id":"1"}}]}}}"#;
    let untimed = r#"{"data":{"event_type":"dm.indicate_typing","payload":{"direct_message_indicate_typing_events":[{"sender_id":"2"}]}}}"#;
    let revoke = r#"{"data":{"event_type":"oauth.revoke","filter":{},"payload":{"user_id":"1","date_time":"2026-07-23T21:44:05+00:00"}}}"#;
    let unknown = r#"{"data":{"event_type":"chat.received","payload":{}}}"#;

    let keys: Vec<Option<String>> = [read, typing, untimed, revoke, unknown]
        .iter()
        .map(|b| EventDeduper::key(&events_of(b)[0]).map(|k| k.into_owned()))
        .collect();
    assert_eq!(
        keys,
        [
            Some("read:2:1:9".to_owned()),
            Some("typing:2:1:1970-01-01T00:00:01.000Z".to_owned()),
            None,
            Some("revoke:1:2026-07-23T21:44:05+00:00".to_owned()),
            None,
        ]
    );

    let mut deduper = EventDeduper::new();
    for body in [read, typing, revoke] {
        let event = &events_of(body)[0];
        assert!(deduper.first_time(event));
        assert!(!deduper.first_time(event));
    }
    // Events without a key always pass.
    for body in [untimed, unknown] {
        let event = &events_of(body)[0];
        assert!(deduper.first_time(event));
        assert!(deduper.first_time(event));
    }
    // So do REST events without an id.
    assert!(deduper.first_time_dm_event(&DmEvent::default()));
    assert!(deduper.first_time_dm_event(&DmEvent::default()));
}

#[test]
fn snapshots_survive_a_restart_as_json() {
    let mut deduper = EventDeduper::with_capacity(3);
    assert!(deduper.is_empty());
    for id in 1..=5 {
        assert!(offer(&mut deduper, Path::Received, id));
    }
    let snapshot = deduper.snapshot();
    assert_eq!(
        snapshot,
        DedupSnapshot::new(3, vec!["3".into(), "4".into(), "5".into()])
    );
    let json = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(json, r#"{"capacity":3,"keys":["3","4","5"]}"#);
    let mut restored = EventDeduper::restore(serde_json::from_str(&json).unwrap());
    assert!(!offer(&mut restored, Path::Sent, 5));
    assert!(!offer(&mut restored, Path::Rest, 3));
    // 1 and 2 fell out of the window before the snapshot.
    assert!(offer(&mut restored, Path::Sent, 1));
    // A snapshot larger than its capacity keeps the newest keys.
    let restored = EventDeduper::restore(DedupSnapshot::new(
        2,
        vec!["a".into(), "b".into(), "c".into(), "b".into()],
    ));
    assert_eq!(restored.snapshot().keys, ["b", "c"]);
    assert_eq!(EventDeduper::with_capacity(0).snapshot().capacity, 1);
    assert_eq!(
        EventDeduper::default().snapshot().capacity,
        EventDeduper::DEFAULT_CAPACITY
    );
}

/// The model: the last `capacity` distinct keys, in a plain list.
struct Window {
    capacity: usize,
    keys: VecDeque<u64>,
}

impl Window {
    fn first_time(&mut self, key: u64) -> bool {
        if self.keys.contains(&key) {
            return false;
        }
        if self.keys.len() == self.capacity {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
        true
    }
}

fn path() -> impl Strategy<Value = Path> {
    prop_oneof![
        Just(Path::Received),
        Just(Path::Sent),
        Just(Path::Replayed),
        Just(Path::AccountActivity),
        Just(Path::Rest),
    ]
}

proptest! {
    /// Against the window model, whatever path each message takes.
    #[test]
    fn matches_a_bounded_window_model(
        offers in proptest::collection::vec((path(), 0u64..40), 0..120),
        capacity in 1usize..20,
        restart_at in any::<prop::sample::Index>(),
    ) {
        let mut deduper = EventDeduper::with_capacity(capacity);
        let mut model = Window { capacity, keys: VecDeque::new() };
        let restart = restart_at.index(offers.len() + 1);
        for (i, (path, id)) in offers.into_iter().enumerate() {
            if i == restart {
                // A restart from a snapshot changes nothing.
                deduper = EventDeduper::restore(deduper.snapshot());
            }
            prop_assert_eq!(offer(&mut deduper, path, id), model.first_time(id));
            prop_assert!(deduper.len() <= capacity);
        }
    }

    /// With room for every key, each message comes out exactly once.
    #[test]
    fn with_room_enough_each_message_comes_out_once(
        offers in proptest::collection::vec((path(), 0u64..30), 0..100),
    ) {
        let mut deduper = EventDeduper::with_capacity(30);
        let mut handed_out = HashSet::new();
        for (path, id) in &offers {
            if offer(&mut deduper, *path, *id) {
                prop_assert!(handed_out.insert(*id), "{} handed out twice", id);
            }
        }
        let offered: HashSet<u64> = offers.iter().map(|(_, id)| *id).collect();
        prop_assert_eq!(handed_out, offered);
    }
}
