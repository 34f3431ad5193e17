use serde_json::{Value, json};

use super::*;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> T {
    let decoded: T = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&decoded).unwrap(), value);
    decoded
}

#[test]
fn unknown_enum_values_are_kept() {
    let event: DmEvent = round_trip(json!({"event_type": "MessageEdit"}));
    assert_eq!(
        event.event_type,
        Some(EventType::Other("MessageEdit".into()))
    );
    assert_eq!(EventType::parse("MessageCreate"), EventType::MessageCreate);
    assert_eq!(
        EventType::ParticipantsLeave.to_string(),
        "ParticipantsLeave"
    );
    let media: Media = round_trip(json!({"type": "audio", "media_key": "16_1"}));
    assert_eq!(
        media.media_type.as_ref().map(MediaType::as_str),
        Some("audio")
    );
    let gif: Media = round_trip(
        json!({"type": "animated_gif", "variants": [{"bit_rate": 0, "content_type": "video/mp4", "url": "u"}]}),
    );
    assert_eq!(gif.media_type, Some(MediaType::AnimatedGif));
}

#[test]
fn a_fully_populated_event_round_trips() {
    let value = json!({
        "id": "1", "event_type": "MessageCreate", "text": "#dev $X @a https://t.co/x",
        "created_at": "2022-10-19T20:58:00.000Z", "dm_conversation_id": "1-2",
        "sender_id": "1", "participant_ids": ["2"],
        "attachments": {"media_keys": ["3_1"], "card_ids": ["c"], "future": true},
        "entities": {
            "hashtags": [{"start": 0, "end": 4, "tag": "dev"}],
            "cashtags": [{"start": 5, "end": 7, "tag": "X"}],
            "mentions": [{"start": 8, "end": 10, "username": "a", "id": "2"}],
            "urls": [{"start": 11, "end": 23, "url": "https://t.co/x",
                      "display_url": "x.com", "expanded_url": "https://x.com", "status": 200}]
        },
        "urls": [{"start": 11, "end": 23, "url": "https://t.co/x"}],
        "referenced_tweets": [{"id": "7"}], "referenced_posts": [{"id": "8"}],
        "unknown": {"deep": [1, {"x": null}]}
    });
    let event: DmEvent = round_trip(value);
    assert_eq!(event.referenced_tweet_ids().collect::<Vec<_>>(), ["7", "8"]);
    assert_eq!(event.media_keys().collect::<Vec<_>>(), ["3_1"]);
    assert_eq!(event.cashtag_entities().count(), 1);
    assert_eq!(
        event.mention_entities().next().unwrap().id.as_deref(),
        Some("2")
    );
    assert_eq!(event.url_entities().count(), 2);
    assert_eq!(event.extra["unknown"]["deep"][1]["x"], Value::Null);
}

#[test]
fn users_tweets_and_expansions_round_trip_in_both_dialects() {
    let user: User = round_trip(json!({
        "id": "1", "name": "n", "username": "u", "protected": false, "verified": true,
        "receives_your_dm": true, "pinned_tweet_id": "5", "most_recent_post_id": "6",
        "public_metrics": {"post_count": 3, "like_count": 2, "media_count": 1}
    }));
    assert_eq!(user.pinned_id(), Some("5"));
    assert_eq!(user.most_recent_id(), Some("6"));
    assert_eq!(user.public_metrics.unwrap().posts(), Some(3));
    let tweet: Tweet = round_trip(json!({
        "id": "5", "edit_history_tweet_ids": ["4", "5"], "note_tweet": {"text": "t"},
        "public_metrics": {"retweet_count": 1, "like_count": 2},
        "referenced_tweets": [{"type": "quoted", "id": "3"}]
    }));
    assert_eq!(tweet.edit_history_ids().count(), 2);
    assert_eq!(tweet.note().unwrap().text.as_deref(), Some("t"));
    assert_eq!(tweet.public_metrics.as_ref().unwrap().reposts(), Some(1));
    assert_eq!(
        tweet.references().next().unwrap().kind.as_deref(),
        Some("quoted")
    );
    let _: Includes = round_trip(json!({
        "places": [{"id": "p", "full_name": "Somewhere"}],
        "polls": [{"id": "q", "options": [{"position": 1, "label": "yes", "votes": 2}]}],
        "topics": [{"id": "t", "name": "Rust"}],
        "spaces": [{"id": "s"}]
    }));
    let _: Meta = round_trip(json!({"result_count": 0, "later": "x"}));
    let _: SentMessage = round_trip(json!({"dm_event_id": "1"}));
}

#[test]
fn wrong_types_are_errors_with_the_field_named() {
    for (value, path) in [
        (json!({"text": 5}), "text"),
        (json!({"participant_ids": "1"}), "participant_ids"),
        (json!({"attachments": []}), "attachments"),
        (
            json!({"entities": {"urls": [{"start": -1}]}}),
            "entities.urls[0].start",
        ),
        (json!({"event_type": {}}), "event_type"),
    ] {
        let err = serde_path_to_error::deserialize::<_, DmEvent>(value.clone()).unwrap_err();
        assert_eq!(err.path().to_string(), path, "{value}");
    }
    assert!(serde_json::from_value::<Deleted>(json!({"deleted": "yes"})).is_err());
    assert!(serde_json::from_value::<BlockStatus>(json!([])).is_err());
}

#[test]
fn created_at_is_typed_and_the_raw_string_is_kept() {
    let event: DmEvent = round_trip(json!({"created_at": "2022-10-19T20:58:00.123Z"}));
    let at = event.created_at().unwrap();
    assert_eq!(at.as_second(), 1_666_213_080);
    assert_eq!(at.subsec_millisecond(), 123);
    let offset: Tweet = round_trip(json!({"created_at": "2022-10-19T22:58:00+02:00"}));
    assert_eq!(offset.created_at().unwrap().as_second(), 1_666_213_080);
    // Kept as it arrived, and absent from the typed view.
    let odd: User = round_trip(json!({"created_at": "yesterday"}));
    assert_eq!(odd.created_at.as_deref(), Some("yesterday"));
    assert_eq!(odd.created_at(), None);
    assert_eq!(DmEvent::default().created_at(), None);
}

#[test]
fn write_results_can_be_built_and_read_back() {
    assert!(Deleted::new(true).deleted);
    assert!(!BlockStatus::new(false).blocked);
    let _: BlockStatus = round_trip(json!({"blocked": true}));
}
