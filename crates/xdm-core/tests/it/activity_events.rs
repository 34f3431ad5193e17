//! Mapping activity payloads onto the event model: every field, every shape that is kept as
//! unknown instead of failing, and the few bodies that are not deliveries at all.

use serde_json::json;
use xdm_core::activity::{
    ActivityDelivery, ActivityEvent, Direction, DmMessage, Source, UnknownEvent, UnknownReason,
    decode_delivery,
};

fn envelope(event_type: &str, payload: serde_json::Value) -> ActivityDelivery {
    let body = json!({"data": {"event_type": event_type, "filter": {"user_id": "10"}, "payload": payload}});
    decode_delivery(body.to_string().as_bytes()).unwrap()
}

fn message(event: &ActivityEvent) -> &DmMessage {
    match event {
        ActivityEvent::Message(m) => m,
        other => panic!("not a message: {other:?}"),
    }
}

fn unknown(event: &ActivityEvent) -> &UnknownEvent {
    match event {
        ActivityEvent::Unknown(u) => u,
        other => panic!("not unknown: {other:?}"),
    }
}

fn shape_detail(event: &ActivityEvent) -> String {
    match &unknown(event).reason {
        UnknownReason::UnexpectedShape(detail) => detail.clone(),
        other => panic!("not a shape problem: {other:?}"),
    }
}

fn item(extra: serde_json::Value) -> serde_json::Value {
    let mut item = json!({
        "type": "message_create",
        "id": "500",
        "created_timestamp": "1784928224000",
        "message_create": {
            "target": {"recipient_id": "10"},
            "sender_id": "9",
            "message_data": {"text": "see #rust $XDM @jack https://t.co/x"}
        }
    });
    if let serde_json::Value::Object(extra) = extra {
        for (k, v) in extra {
            item["message_create"]["message_data"][k] = v;
        }
    }
    item
}

#[test]
fn entities_map_onto_the_v2_names() {
    let entities = json!({
        "hashtags": [{"text": "rust", "indices": [4, 9]}],
        "symbols": [{"text": "XDM", "indices": [10, 14]}],
        "user_mentions": [
            {"screen_name": "jack", "name": "jack", "id": 12, "id_str": "12", "indices": [15, 20]},
            {"screen_name": "old", "id": 13, "indices": [0, 1]}
        ],
        "urls": [{"url": "https://t.co/x", "expanded_url": "https://example.com", "display_url": "example.com", "indices": [21, 35]}]
    });
    let delivery = envelope(
        "dm.received",
        json!({"direct_message_events": [item(json!({"entities": entities}))]}),
    );
    let event = &message(&delivery.events[0]).event;
    let json = serde_json::to_value(event.entities.as_ref().unwrap()).unwrap();
    assert_eq!(
        json,
        json!({
            "hashtags": [{"start": 4, "end": 9, "tag": "rust"}],
            "cashtags": [{"start": 10, "end": 14, "tag": "XDM"}],
            "mentions": [
                {"start": 15, "end": 20, "username": "jack", "id": "12"},
                {"start": 0, "end": 1, "username": "old", "id": "13"}
            ],
            "urls": [{"start": 21, "end": 35, "url": "https://t.co/x", "display_url": "example.com", "expanded_url": "https://example.com"}]
        })
    );
    assert_eq!(event.hashtag_entities().count(), 1);
}

#[test]
fn entities_that_do_not_decode_are_left_out_not_fatal() {
    for entities in [
        json!({"hashtags": [{"text": "a", "indices": [1]}]}),
        json!({"urls": "none"}),
        json!(7),
    ] {
        let delivery = envelope(
            "dm.received",
            json!({"direct_message_events": [item(json!({"entities": entities}))]}),
        );
        let m = message(&delivery.events[0]);
        assert_eq!(m.event.entities, None);
        assert!(m.raw.get().contains("entities"));
    }
}

#[test]
fn attachments_are_kept_raw_and_no_media_key_is_invented() {
    let attachment = json!({"type": "media", "media": {"id": 1, "id_str": "1", "type": "photo"}});
    let delivery = envelope(
        "dm.sent",
        json!({"direct_message_events": [item(json!({"attachment": attachment}))]}),
    );
    let m = message(&delivery.events[0]);
    assert_eq!(m.direction, Direction::Sent);
    assert_eq!(m.attachment().unwrap().to_value(), attachment);
    assert_eq!(m.event.media_keys().count(), 0);
    assert_eq!(m.event.attachments, None);
    // `null` is no attachment.
    let delivery = envelope(
        "dm.sent",
        json!({"direct_message_events": [item(json!({"attachment": null}))]}),
    );
    assert!(message(&delivery.events[0]).attachment().is_none());
}

#[test]
fn odd_but_readable_fields_are_read() {
    let mut odd = item(json!({}));
    odd["created_timestamp"] = json!(1784928224000u64);
    odd["id"] = json!(500);
    odd["message_create"]["target"] = json!({});
    let mut bad_time = item(json!({}));
    bad_time["created_timestamp"] = json!("yesterday");
    let delivery = envelope(
        "dm.received",
        json!({"direct_message_events": [odd, bad_time]}),
    );
    let m = message(&delivery.events[0]);
    assert_eq!(m.id(), "500");
    assert_eq!(
        m.event.created_at.as_deref(),
        Some("2026-07-24T21:23:44.000Z")
    );
    // No recipient: no conversation id.
    assert_eq!(m.event.dm_conversation_id, None);
    assert_eq!(m.recipient_id, None);
    assert_eq!(message(&delivery.events[1]).event.created_at, None);
}

#[test]
fn items_of_another_shape_are_unknown_with_a_reason() {
    let without = |path: &[&str]| {
        let mut v = item(json!({}));
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut v;
        for p in parents {
            at = &mut at[*p];
        }
        at.as_object_mut().unwrap().remove(*last);
        v
    };
    let mut other_type = item(json!({}));
    other_type["type"] = json!("message_delete");
    let mut wrong_type = item(json!({}));
    wrong_type["message_create"]["sender_id"] = json!(["9"]);
    let cases = [
        (json!(5), "not a JSON object"),
        (other_type, "an item whose `type` is not `message_create`"),
        (without(&["type"]), "an item without `type`"),
        (without(&["id"]), "a message without `id`"),
        (
            without(&["message_create"]),
            "a message without `message_create`",
        ),
        (
            without(&["message_create", "sender_id"]),
            "a message without `message_create.sender_id`",
        ),
        (wrong_type, "not a JSON object"),
    ];
    for (bad, reason) in cases {
        let delivery = envelope(
            "dm.received",
            json!({"direct_message_events": [bad.clone(), item(json!({}))]}),
        );
        let detail = shape_detail(&delivery.events[0]);
        assert!(detail.starts_with(reason), "{detail:?} for {bad}");
        assert_eq!(unknown(&delivery.events[0]).kind, "dm.received");
        assert_eq!(unknown(&delivery.events[0]).raw.to_value(), bad);
        // The good item beside it is still decoded.
        assert_eq!(message(&delivery.events[1]).id(), "500");
    }
}

#[test]
fn payloads_of_another_shape_are_unknown() {
    let cases = [
        (
            "dm.received",
            json!({"messages": []}),
            "the payload has no `direct_message_events` list",
        ),
        ("dm.sent", json!([1]), "not a JSON object"),
        (
            "dm.read",
            json!({}),
            "the payload has no `direct_message_mark_read_events` list",
        ),
        (
            "dm.indicate_typing",
            json!({"direct_message_events": []}),
            "the payload has no `direct_message_indicate_typing_events` list",
        ),
        (
            "dm.received",
            json!({"direct_message_events": 3}),
            "not a JSON object",
        ),
        (
            "oauth.revoke",
            json!({"app_id": "1"}),
            "a revocation without `user_id`",
        ),
        ("oauth.revoke", json!("revoked"), "not a JSON object"),
    ];
    for (kind, payload, reason) in cases {
        let delivery = envelope(kind, payload.clone());
        assert_eq!(delivery.events.len(), 1);
        let detail = shape_detail(&delivery.events[0]);
        assert!(
            detail.starts_with(reason),
            "{detail:?} for {kind} {payload}"
        );
        assert_eq!(unknown(&delivery.events[0]).raw.to_value(), payload);
    }
}

#[test]
fn read_and_typing_items_need_their_people() {
    let read = envelope(
        "dm.read",
        json!({"direct_message_mark_read_events": [
            {"sender_id": "2"},
            {"last_read_event_id": "5"},
            {"sender_id": "2", "last_read_event_id": "5"}
        ]}),
    );
    assert_eq!(
        shape_detail(&read.events[0]),
        "a read receipt without `last_read_event_id`"
    );
    assert_eq!(shape_detail(&read.events[1]), "an item without `sender_id`");
    let ActivityEvent::Read(receipt) = &read.events[2] else {
        panic!()
    };
    assert_eq!(
        (receipt.other_id.as_deref(), receipt.at.as_deref()),
        (None, None)
    );
    assert_eq!(receipt.at(), None);

    let typing = envelope(
        "dm.indicate_typing",
        json!({"direct_message_indicate_typing_events": [
            {"created_timestamp": "1518127183443", "sender_id": "2", "target": {"recipient_id": "10"}},
            {"target": {"recipient_id": "10"}},
            "typing"
        ]}),
    );
    let ActivityEvent::Typing(t) = &typing.events[0] else {
        panic!()
    };
    assert_eq!(t.typist_id, "2");
    assert_eq!(t.recipient_id.as_deref(), Some("10"));
    assert_eq!(t.at().unwrap().as_millisecond(), 1_518_127_183_443);
    assert_eq!(
        shape_detail(&typing.events[1]),
        "an item without `sender_id`"
    );
    assert!(shape_detail(&typing.events[2]).starts_with("not a JSON object"));
}

#[test]
fn unknown_event_types_and_envelope_facts_are_kept() {
    let body = json!({"data": {
        "event_uuid": 123,
        "event_type": "chat.received",
        "filter": {"user_id": "10", "direction": "inbound", "keyword": "k", "future": 1},
        "tag": "t",
        "payload": {"encoded_event": "abc"}
    }});
    let delivery = decode_delivery(body.to_string().as_bytes()).unwrap();
    assert_eq!(delivery.event_uuid.as_deref(), Some("123"));
    assert_eq!(delivery.filter.direction.as_deref(), Some("inbound"));
    assert_eq!(delivery.filter.keyword.as_deref(), Some("k"));
    assert_eq!(delivery.filter.extra["future"], 1);
    let u = unknown(&delivery.events[0]);
    assert_eq!(u.kind, "chat.received");
    assert_eq!(u.reason, UnknownReason::UnknownType);
    assert_eq!(u.raw.get(), r#"{"encoded_event":"abc"}"#);

    // No type and no payload at all.
    let delivery = decode_delivery(br#"{"data":{}}"#).unwrap();
    assert_eq!(delivery.event_type, None);
    let u = unknown(&delivery.events[0]);
    assert_eq!((u.kind.as_str(), u.raw.get()), ("", "null"));
    // The event model serialises with a `kind` tag.
    let json = serde_json::to_value(&delivery).unwrap();
    assert_eq!(json["events"][0]["type"], "unknown");
    assert_eq!(json["events"][0]["kind"], "");
    assert_eq!(
        json["events"][0]["reason"],
        json!({"reason": "unknown_type"})
    );
    assert_eq!(json["source"], "activity_api");
}

#[test]
fn several_items_keep_their_order_and_users_come_wrapped_or_bare() {
    let mut second = item(json!({}));
    second["id"] = json!("501");
    second["message_create"]["sender_id"] = json!("10");
    second["message_create"]["target"]["recipient_id"] = json!("9");
    let delivery = envelope(
        "dm.received",
        json!({
            "direct_message_events": [item(json!({})), second],
            "users": {"9": {"data": {"id": "9", "username": "nine"}}, "10": {"id": "10", "username": "ten"}}
        }),
    );
    let ids: Vec<&str> = delivery.events.iter().map(|e| message(e).id()).collect();
    assert_eq!(ids, ["500", "501"]);
    // Both are 9-10, whichever way they went.
    for e in &delivery.events {
        assert_eq!(message(e).event.dm_conversation_id.as_deref(), Some("9-10"));
    }
    assert_eq!(
        delivery.user("9").unwrap().username.as_deref(),
        Some("nine")
    );
    assert_eq!(
        delivery.user("10").unwrap().username.as_deref(),
        Some("ten")
    );
    assert!(delivery.user("11").is_none());
}

#[test]
fn account_activity_bodies_decode_every_dm_kind() {
    let body = json!({
        "for_user_id": "10",
        "direct_message_events": [{
            "type": "message_create", "id": "1", "created_timestamp": "0",
            "message_create": {"sender_id": "10", "target": {"recipient_id": "9"}, "message_data": {"text": "out"}}
        }],
        "direct_message_mark_read_events": [{"created_timestamp": "0", "sender_id": "9", "target": {"recipient_id": "10"}, "last_read_event_id": "1"}],
        "direct_message_indicate_typing_events": [{"created_timestamp": "0", "sender_id": "9", "target": {"recipient_id": "10"}}],
        "user_event": {"revoke": {"date_time": "2018-05-24T09:48:12+00:00", "target": {"app_id": "13090192"}, "source": {"user_id": "10"}}},
        "tweet_create_events": [{"id": 1}],
        "apps": {},
        "users": {},
        "meta": {"replay": true}
    });
    let delivery = decode_delivery(body.to_string().as_bytes()).unwrap();
    assert_eq!(delivery.source, Source::AccountActivity);
    assert!(delivery.replay);
    assert_eq!(delivery.events.len(), 5);
    let m = message(&delivery.events[0]);
    assert_eq!(m.direction, Direction::Sent);
    assert_eq!(
        m.event.created_at.as_deref(),
        Some("1970-01-01T00:00:00.000Z")
    );
    assert!(matches!(delivery.events[1], ActivityEvent::Read(_)));
    assert!(matches!(delivery.events[2], ActivityEvent::Typing(_)));
    let ActivityEvent::Revoked(revoked) = &delivery.events[3] else {
        panic!()
    };
    assert_eq!(revoked.user_id, "10");
    assert_eq!(revoked.app_id.as_deref(), Some("13090192"));
    let u = unknown(&delivery.events[4]);
    assert_eq!(
        (u.kind.as_str(), &u.reason),
        ("tweet_create_events", &UnknownReason::UnknownType)
    );
}

#[test]
fn account_activity_oddities_are_unknown() {
    let cases = [
        (
            json!({"direct_message_events": {"not": "a list"}}),
            "direct_message_events",
            Some("not a JSON object"),
        ),
        (
            json!({"user_event": {"something_else": {}}}),
            "user_event",
            None,
        ),
        (
            json!({"user_event": 5}),
            "user_event",
            Some("not a JSON object"),
        ),
        (
            json!({"user_event": {"revoke": 5}}),
            "user_event",
            Some("not a JSON object"),
        ),
        (
            json!({"user_event": {"revoke": {"target": {"app_id": "1"}}}}),
            "user_event",
            Some("a revocation without `source.user_id`"),
        ),
    ];
    for (mut body, kind, reason) in cases {
        body["for_user_id"] = json!("10");
        let delivery = decode_delivery(body.to_string().as_bytes()).unwrap();
        let u = unknown(&delivery.events[0]);
        assert_eq!(u.kind, kind);
        match reason {
            Some(reason) => assert!(
                shape_detail(&delivery.events[0]).starts_with(reason),
                "{body}"
            ),
            None => assert_eq!(u.reason, UnknownReason::UnknownType),
        }
    }
}

#[test]
fn bodies_that_are_not_deliveries_are_errors() {
    for (body, reason) in [
        (&b"nope"[..], "not valid JSON"),
        (b"[]", "not a JSON object"),
        (
            br#"{"errors":[{"title":"x"}]}"#,
            "neither an activity envelope",
        ),
        (br#"{"hello":1}"#, "neither an activity envelope"),
        (br#"{"data":[]}"#, "not a JSON object"),
    ] {
        let error = decode_delivery(body).unwrap_err();
        assert!(error.0.starts_with(reason), "{error} for {body:?}");
        assert!(error.to_string().starts_with("not an activity delivery: "));
    }
}
