use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::error::{ApiErrorKind, ProblemType};
use crate::models::{BlockStatus, Deleted, EventType, SentMessage};

fn ok(status: u16, body: impl Into<Bytes>) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .body(body.into())
        .unwrap()
}

fn undecodable<T: DeserializeOwned + fmt::Debug>(body: &str) -> (String, String, String) {
    let err = decode_json::<T>(ok(200, body.to_owned())).unwrap_err();
    match err.kind().clone() {
        ApiErrorKind::Undecodable {
            path,
            message,
            excerpt,
        } => (path, message, excerpt),
        other => panic!("expected Undecodable, got {other:?}"),
    }
}

#[test]
fn wrong_type_names_the_field_path() {
    let body = r#"{"data":[{"id":"1"},{"id":"2","attachments":{"media_keys":["3_1", 7]}}]}"#;
    let (path, message, excerpt) = undecodable::<Vec<DmEvent>>(body);
    assert_eq!(path, "data[1].attachments.media_keys[1]");
    assert!(message.contains("invalid type"), "{message}");
    assert!(excerpt.contains("media_keys"), "{excerpt}");
}

#[test]
fn wrong_type_in_includes_names_the_field_path() {
    let body = r#"{"includes":{"users":[{"id":"1","public_metrics":{"tweet_count":"many"}}]}}"#;
    let (path, _, _) = undecodable::<Vec<DmEvent>>(body);
    assert_eq!(path, "includes.users[0].public_metrics.tweet_count");
}

#[test]
fn non_object_body_and_trailing_garbage_are_undecodable() {
    assert_eq!(undecodable::<Vec<DmEvent>>("[]").0, ".");
    assert_eq!(undecodable::<Vec<DmEvent>>("").0, ".");
    assert_eq!(undecodable::<Vec<DmEvent>>(r#"{"data":[]} x"#).0, ".");
    assert_eq!(undecodable::<Vec<DmEvent>>(r#"{"data":"#).0, "data");
}

#[test]
fn excerpt_is_short_and_on_one_line() {
    let long = "x".repeat(5000);
    let body =
        format!("{{\"data\":[{{\"text\":\"{long}\"}}, {{\"id\":\n\n5}}],\"pad\":\"{long}\"}}");
    let err = decode_json::<Vec<DmEvent>>(ok(200, body)).unwrap_err();
    let ApiErrorKind::Undecodable { path, excerpt, .. } = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(path, "data[1].id");
    assert!(excerpt.chars().count() <= 201, "{}", excerpt.len());
    assert!(excerpt.contains("\"id\":  5"), "{excerpt}");
    let shown = err.to_string();
    assert!(!shown.contains('\n'));
    assert!(shown.len() < 600, "{}", shown.len());
}

#[test]
fn required_write_flags_must_be_present() {
    let (path, message, _) = undecodable::<Deleted>(r#"{"data":{"deleted":null}}"#);
    assert_eq!(path, "data");
    assert!(message.contains("missing field `deleted`"), "{message}");
    let block: ApiResponse<BlockStatus> =
        decode_json(ok(200, r#"{"data":{"blocked":false,"new":1}}"#)).unwrap();
    assert!(!block.data.as_ref().unwrap().blocked);
    assert_eq!(block.data.unwrap().extra["new"], json!(1));
}

#[test]
fn partial_errors_come_with_data_for_either_host() {
    for host in ["https://api.x.com", "https://api.twitter.com"] {
        let body = json!({
            "data": {"dm_conversation_id": "1-2", "dm_event_id": "3"},
            "errors": [
                {"type": format!("{host}/2/problems/field-hydration-failure"),
                 "title": "Field Hydration Failure", "section": "includes", "field": "users"},
                {"type": "about:blank", "title": "Odd", "status": 200},
                null,
                {"type": format!("{host}/2/problems/usage-capped"), "period": "Daily"}
            ]
        });
        let resp: ApiResponse<SentMessage> =
            decode_json(ok(201, serde_json::to_vec(&body).unwrap())).unwrap();
        assert!(resp.has_errors());
        assert_eq!(resp.errors.len(), 3);
        assert_eq!(
            resp.errors[0].problem_type(),
            ProblemType::FieldHydrationFailure
        );
        assert_eq!(resp.errors[2].period.as_deref(), Some("Daily"));
        assert_eq!(resp.into_data().unwrap().dm_event_id.as_deref(), Some("3"));
    }
}

#[test]
fn missing_data_is_a_typed_error_carrying_the_partial_errors() {
    let body = r#"{"errors":[{"type":"https://api.x.com/2/problems/resource-not-found",
        "title":"Not Found Error","detail":"Could not find dm_event with id: [1].",
        "resource_type":"dm_event","resource_id":"1","parameter":"event_id","value":"1"}]}"#;
    let resp: ApiResponse<DmEvent> = decode_json(ok(200, body)).unwrap();
    let err = resp.into_data().unwrap_err();
    assert_eq!(err.kind(), &ApiErrorKind::MissingData);
    assert_eq!(err.errors().len(), 1);
    assert_eq!(err.problem().unwrap().resource_id.as_deref(), Some("1"));
    assert_eq!(
        err.to_string(),
        "the response (HTTP 200) has no data: Could not find dm_event with id: [1]."
    );
    assert!(!err.body().is_empty());
}

#[test]
fn nulls_at_the_top_are_absent() {
    let body = r#"{"data":null,"includes":null,"meta":null,"errors":null,"other":null}"#;
    let page: EventPage = decode_json(ok(200, body)).unwrap();
    assert!(page.items().is_empty());
    assert!(page.includes.is_empty());
    assert!(page.meta.is_none() && page.errors.is_empty());
    assert_eq!(page.extra["other"], Value::Null);
    assert_eq!(page.next_token(), None);
}

#[test]
fn null_items_in_lists_are_dropped() {
    let body = r#"{"data":[{"id":"1","event_type":"ParticipantsJoin","participant_ids":[null,"5"]}],
        "includes":{"users":[null,{"id":"5"}],"tweets":null}}"#;
    let page: EventPage = decode_json(ok(200, body)).unwrap();
    let event = &page.items()[0];
    assert_eq!(event.event_type, Some(EventType::ParticipantsJoin));
    assert_eq!(
        event.participant_ids.as_deref(),
        Some(&["5".to_owned()][..])
    );
    assert_eq!(page.includes.users.as_ref().unwrap().len(), 1);
    assert_eq!(page.includes.tweets, None);
}

#[test]
fn non_success_goes_to_decode_error() {
    let err = decode_json::<Vec<DmEvent>>(ok(503, "<html>busy</html>")).unwrap_err();
    assert_eq!(err.kind(), &ApiErrorKind::Server);
    assert!(err.is_retryable_status());
}

#[test]
fn from_data_builds_a_plain_success() {
    let resp = ApiResponse::from_data(vec![DmEvent::default()]);
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.items().len(), 1);
    assert!(!resp.has_errors());
}

#[test]
fn byte_offsets_follow_lines() {
    let body = b"ab\ncd\nef";
    assert_eq!(byte_offset(body, 1, 1), Some(0));
    assert_eq!(byte_offset(body, 2, 2), Some(4));
    assert_eq!(byte_offset(body, 3, 99), Some(8));
    assert_eq!(byte_offset(body, 9, 1), None);
    assert_eq!(byte_offset(body, 0, 0), None);
}

#[test]
fn very_deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for body in [
        deep.clone(),
        format!("{{\"data\":{deep}}}"),
        format!("{{\"data\":[{{\"extra\":{deep}}}]}}"),
        format!("{{\"includes\":{{\"users\":[{{\"x\":{deep}}}]}}}}"),
    ] {
        let err = decode_json::<Vec<DmEvent>>(ok(200, body.clone())).unwrap_err();
        assert!(
            matches!(err.kind(), ApiErrorKind::Undecodable { .. }),
            "{err:?}"
        );
        let err = decode_error(ok(429, body));
        assert!(matches!(err.kind(), ApiErrorKind::RateLimited { .. }));
    }
}

/// Arbitrary JSON: every scalar kind (huge and negative numbers included), nested lists and
/// objects whose keys are often the ones the models know, so that wrong types reach them.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "data", "includes", "meta", "errors", "id", "event_type", "text", "sender_id",
            "participant_ids", "attachments", "media_keys", "card_ids", "entities", "hashtags",
            "urls", "referenced_tweets", "referenced_posts", "users", "tweets", "posts", "media",
            "public_metrics", "tweet_count", "variants", "result_count", "next_token", "type",
            "title", "detail", "status", "parameters", "code", "message", "start", "end",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn envelope() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), json_value()).prop_map(|(data, includes, errors)| {
        json!({"data": [data], "includes": includes, "errors": errors, "meta": {"result_count": 1}})
    })
}

fn assert_classified(status: u16, body: Vec<u8>) {
    let response = ok(status, body.clone());
    match decode_json::<Vec<DmEvent>>(response) {
        Ok(page) => {
            assert!((200..300).contains(&status));
            // Whatever decoded must encode again.
            serde_json::to_vec(&page.data).unwrap();
        }
        Err(err) => {
            assert_eq!(err.status().as_u16(), status);
            assert!(!err.to_string().contains('\n'));
            assert!(err.to_string().len() < 1200);
        }
    }
    let err = decode_error(ok(status, body));
    assert_eq!(err.status().as_u16(), status);
    let _ = (
        err.is_retryable_status(),
        err.retry_at(),
        format!("{err:?}"),
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(status in 100u16..1000, body in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_classified(status, body);
    }

    #[test]
    fn arbitrary_json_never_panics(status in prop::sample::select(vec![200u16, 201, 400, 401, 402, 403, 404, 429, 500, 302, 999]), value in json_value()) {
        assert_classified(status, serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn envelope_shaped_json_never_panics(value in envelope()) {
        assert_classified(200, serde_json::to_vec(&value).unwrap());
    }
}

#[test]
fn decode_json_list_drops_null_items_and_keeps_the_rest() {
    let body = r#"{"data":[null,{"id":"1"},null,{"id":"2"}],"meta":{"result_count":2},"x":1}"#;
    let page = decode_json_list::<DmEvent>(ok(200, body)).unwrap();
    let ids: Vec<_> = page.items().iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(page.meta.unwrap().result_count, Some(2));
    assert!(page.extra.contains_key("x"));
    let empty = decode_json_list::<DmEvent>(ok(200, r#"{"data":null}"#)).unwrap();
    assert!(empty.data.is_none());
    // Strict decoding, for callers who want it, still refuses the null.
    assert_eq!(undecodable::<Vec<DmEvent>>(body).0, "data[0]");
}

#[test]
fn decode_json_list_reports_bad_items_and_errors_like_decode_json() {
    let body = r#"{"data":[null,{"id":"1","attachments":{"media_keys":["3_1", 7]}}]}"#;
    let e = decode_json_list::<DmEvent>(ok(200, body)).unwrap_err();
    let ApiErrorKind::Undecodable { path, .. } = e.kind() else {
        panic!("{e:?}")
    };
    assert_eq!(path, "data[1].attachments.media_keys[1]");
    let e = decode_json_list::<DmEvent>(ok(200, r#"{"data":{"id":"1"}}"#)).unwrap_err();
    assert!(matches!(e.kind(), ApiErrorKind::Undecodable { path, .. } if path == "data"));
    let e = decode_json_list::<DmEvent>(ok(503, "busy")).unwrap_err();
    assert!(
        !matches!(e.kind(), ApiErrorKind::Undecodable { .. }),
        "{e:?}"
    );
}
