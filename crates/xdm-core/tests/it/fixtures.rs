//! Every fixture in spec/fixtures decoded or mapped to its error, plus the shapes the
//! fixtures' README says real responses have and no file shows.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use xdm_core::error::{ApiError, ApiErrorKind, ForbiddenReason, ProblemType};
use xdm_core::models::{
    BlockStatus, Deleted, DmEvent, EventType, Includes, SentMessage, UserPublicMetrics,
};
use xdm_core::response::{ApiResponse, EventPage, decode_error, decode_json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/fixtures/");

/// Every file the tests below read, and so every file they cover.
const COVERED: &[&str] = &[
    "README.md",
    "dm_block_200.json",
    "dm_create_by_conversation_201.json",
    "dm_create_by_participant_201.json",
    "dm_create_group_conversation_201.json",
    "dm_create_group_conversation_request.json",
    "dm_delete_200.json",
    "dm_event_message_create.json",
    "dm_event_participants_join.json",
    "dm_event_participants_leave.json",
    "dm_events_default_fields.json",
    "dm_events_empty_page.json",
    "dm_events_group_all_fields.json",
    "dm_events_with_expansions.json",
    "dm_unblock_200.json",
    "error_400_invalid_request.json",
    "error_401_unauthorized.json",
    "error_403_dm_media_not_permitted.json",
    "error_403_forbidden_generic.json",
    "error_403_unsupported_authentication.json",
    "error_429_too_many_requests.json",
    "error_429_usage_capped.json",
    "error_rate_limit_v1_style.json",
];

fn read(name: &str) -> Bytes {
    assert!(COVERED.contains(&name), "{name} is read but not listed");
    let path = format!("{DIR}{name}");
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&read(name)).unwrap()
}

fn response(status: u16, headers: &[(&str, &str)], body: Bytes) -> http::Response<Bytes> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

fn success<T: serde::de::DeserializeOwned>(status: u16, name: &str) -> ApiResponse<T> {
    decode_json(response(status, &[], read(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn failure(status: u16, name: &str) -> ApiError {
    decode_error(response(status, &[], read(name)))
}

fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) {
    let decoded: T = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&decoded).unwrap(), value);
}

#[test]
fn every_fixture_file_is_covered() {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let entry = entry.unwrap();
        // Subdirectories (activity/) are covered by their own tests.
        if entry.file_type().unwrap().is_file() {
            found.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&covered).collect();
    assert!(new.is_empty(), "fixtures without a test: {new:?}");
    let gone: Vec<_> = covered.difference(&found).collect();
    assert!(gone.is_empty(), "tests for missing fixtures: {gone:?}");
}

#[test]
fn readme_names_every_json_fixture() {
    let readme = String::from_utf8(read("README.md").to_vec()).unwrap();
    for name in COVERED.iter().filter(|n| n.ends_with(".json")) {
        assert!(
            readme.contains(name),
            "{name} is not described in README.md"
        );
    }
}

#[test]
fn write_results_decode() {
    for name in [
        "dm_create_by_participant_201.json",
        "dm_create_by_conversation_201.json",
        "dm_create_group_conversation_201.json",
    ] {
        let resp: ApiResponse<SentMessage> = success(201, name);
        assert_eq!(resp.status.as_u16(), 201);
        assert!(resp.errors.is_empty() && resp.includes.is_empty());
        let sent = resp.into_data().unwrap();
        assert!(
            sent.dm_event_id.is_some() && sent.dm_conversation_id.is_some(),
            "{name}"
        );
        round_trips::<SentMessage>(&json(name)["data"]);
    }
    let group: ApiResponse<SentMessage> = success(201, "dm_create_group_conversation_201.json");
    assert_eq!(
        group.into_data().unwrap().dm_conversation_id.as_deref(),
        Some("1585800614365339648")
    );

    let deleted: ApiResponse<Deleted> = success(200, "dm_delete_200.json");
    assert!(deleted.into_data().unwrap().deleted);
    let blocked: ApiResponse<BlockStatus> = success(200, "dm_block_200.json");
    assert!(blocked.into_data().unwrap().blocked);
    let unblocked: ApiResponse<BlockStatus> = success(200, "dm_unblock_200.json");
    assert!(!unblocked.into_data().unwrap().blocked);
    round_trips::<Deleted>(&json("dm_delete_200.json")["data"]);
    round_trips::<BlockStatus>(&json("dm_unblock_200.json")["data"]);
}

#[test]
fn a_request_body_is_not_mistaken_for_a_response() {
    let name = "dm_create_group_conversation_request.json";
    let resp: ApiResponse<SentMessage> = success(201, name);
    assert_eq!(resp.extra["conversation_type"], "Group");
    assert_eq!(resp.extra["participant_ids"].as_array().unwrap().len(), 2);
    let err = resp.into_data().unwrap_err();
    assert_eq!(err.kind(), &ApiErrorKind::MissingData);
}

#[test]
fn single_events_of_each_type_decode_and_round_trip() {
    for (name, kind) in [
        ("dm_event_message_create.json", EventType::MessageCreate),
        (
            "dm_event_participants_join.json",
            EventType::ParticipantsJoin,
        ),
        (
            "dm_event_participants_leave.json",
            EventType::ParticipantsLeave,
        ),
    ] {
        let value = json(name);
        round_trips::<DmEvent>(&value);
        let body = serde_json::to_vec(&json!({ "data": value })).unwrap();
        let resp: ApiResponse<DmEvent> = decode_json(response(200, &[], body.into())).unwrap();
        let event = resp.into_data().unwrap();
        assert_eq!(event.event_type, Some(kind), "{name}");
        assert_eq!(
            event.dm_conversation_id.as_deref(),
            Some("1578398451921985538")
        );
        assert!(event.extra.is_empty(), "{name}: {:?}", event.extra);
    }
    let join: DmEvent = serde_json::from_value(json("dm_event_participants_join.json")).unwrap();
    assert_eq!(join.participant_ids.unwrap(), ["944480690"]);
    assert_eq!(join.sender_id.as_deref(), Some("17200003"));
}

#[test]
fn event_pages_decode_and_every_event_round_trips() {
    for (name, count, next) in [
        (
            "dm_events_default_fields.json",
            2,
            Some("18LAA5G1SL0NR5OG0G00ZZZZ"),
        ),
        (
            "dm_events_group_all_fields.json",
            1,
            Some("18LAA5FFPEKJA52G0G00ZZZZ"),
        ),
        (
            "dm_events_with_expansions.json",
            3,
            Some("18LAA581J5II7LA00C00ZZZZ"),
        ),
        ("dm_events_empty_page.json", 0, None),
    ] {
        let page: EventPage = success(200, name);
        assert_eq!(page.items().len(), count, "{name}");
        assert_eq!(page.meta.as_ref().unwrap().result_count, Some(count as u64));
        assert_eq!(page.next_token(), next, "{name}");
        assert!(page.extra.is_empty() && page.errors.is_empty(), "{name}");

        let value = json(name);
        for (decoded, original) in page
            .items()
            .iter()
            .zip(value["data"].as_array().into_iter().flatten())
        {
            assert_eq!(&serde_json::to_value(decoded).unwrap(), original, "{name}");
        }
        if let Some(includes) = value.get("includes") {
            round_trips::<Includes>(includes);
        }
        assert_eq!(&serde_json::to_value(&page.meta).unwrap(), &value["meta"]);
    }
    let empty: EventPage = success(200, "dm_events_empty_page.json");
    assert_eq!(empty.data, None);
}

#[test]
fn expansions_resolve_senders_and_referenced_tweets() {
    let page: EventPage = success(200, "dm_events_with_expansions.json");
    let index = page.includes.index();
    let linked = &page.items()[1];
    assert_eq!(
        linked.referenced_tweet_ids().collect::<Vec<_>>(),
        ["1578900353814519810"]
    );
    assert!(linked.referenced_tweets.is_some() && linked.referenced_posts.is_none());
    let resolved = index.resolve(linked);
    assert_eq!(
        resolved.sender.unwrap().username.as_deref(),
        Some("FloodSocial")
    );
    let tweet = resolved.tweets[0];
    assert_eq!(
        tweet.edit_history_ids().collect::<Vec<_>>(),
        ["1578900353814519810"]
    );
    assert_eq!(tweet.author_id.as_deref(), Some("944480690"));
    assert!(
        page.includes.posts.is_none(),
        "the legacy spelling stays legacy"
    );
}

#[test]
fn each_error_fixture_maps_to_its_own_kind() {
    let cases: Vec<(&str, u16, ApiErrorKind)> = vec![
        (
            "error_400_invalid_request.json",
            400,
            ApiErrorKind::InvalidRequest {
                parameters: Vec::new(),
            },
        ),
        (
            "error_401_unauthorized.json",
            401,
            ApiErrorKind::Unauthorized,
        ),
        (
            "error_403_dm_media_not_permitted.json",
            403,
            ApiErrorKind::Forbidden(ForbiddenReason::MediaNotPermitted),
        ),
        (
            "error_403_forbidden_generic.json",
            403,
            ApiErrorKind::Forbidden(ForbiddenReason::MissingScope),
        ),
        (
            "error_403_unsupported_authentication.json",
            403,
            ApiErrorKind::Forbidden(ForbiddenReason::UnsupportedAuthentication),
        ),
        (
            "error_429_too_many_requests.json",
            429,
            ApiErrorKind::RateLimited {
                limit: None,
                remaining: None,
                reset: None,
            },
        ),
        (
            "error_429_usage_capped.json",
            429,
            ApiErrorKind::UsageCapped {
                period: Some("Monthly".into()),
                scope: Some("Product".into()),
            },
        ),
        (
            "error_rate_limit_v1_style.json",
            429,
            ApiErrorKind::RateLimited {
                limit: None,
                remaining: None,
                reset: None,
            },
        ),
    ];
    let mut shown = BTreeSet::new();
    for (name, status, expected) in &cases {
        let err = failure(*status, name);
        let matches = match (err.kind(), expected) {
            (ApiErrorKind::InvalidRequest { parameters }, ApiErrorKind::InvalidRequest { .. }) => {
                parameters.len() == 1
                    && parameters[0].name.as_deref() == Some("tweet.fields")
                    && parameters[0].values[0].starts_with("tweet.fields=attachments")
                    && parameters[0]
                        .message
                        .as_deref()
                        .is_some_and(|m| m.contains("is not one of"))
            }
            (kind, expected) => kind == expected,
        };
        assert!(matches, "{name}: {:?}", err.kind());
        assert_eq!(err.status().as_u16(), *status);
        assert_eq!(err.body(), &read(name));
        assert!(
            shown.insert(err.to_string()),
            "{name}: same message as another fixture"
        );
    }
    // The two rate-limit bodies differ in what they carry.
    assert_eq!(
        failure(429, "error_rate_limit_v1_style.json").legacy_errors()[0].code,
        Some(88)
    );
    assert_eq!(
        failure(429, "error_429_too_many_requests.json")
            .problem()
            .unwrap()
            .problem_type(),
        ProblemType::AboutBlank
    );
    let unsupported = failure(403, "error_403_unsupported_authentication.json");
    assert_eq!(
        unsupported.problem().unwrap().type_uri.as_deref(),
        Some("https://api.twitter.com/2/problems/unsupported-authentication")
    );
}

#[test]
fn error_fixture_messages_read_well() {
    let text = |status, name| failure(status, name).to_string();
    assert_eq!(
        text(403, "error_403_dm_media_not_permitted.json"),
        "forbidden (HTTP 403): the media may not be attached (it must be the sender's own \
         upload, less than 24 hours old): You are not permitted to attach this media to a DM event."
    );
    assert_eq!(
        text(429, "error_429_usage_capped.json"),
        "usage cap reached (Monthly Product cap) (HTTP 429); retrying before the period ends \
         will not help: Usage cap exceeded: Monthly product cap"
    );
    assert_eq!(
        text(429, "error_rate_limit_v1_style.json"),
        "rate limited (HTTP 429); the reset time is unknown: Rate limit exceeded"
    );
}

#[test]
fn usage_cap_is_not_retried_even_with_requests_left() {
    let headers = [
        ("x-rate-limit-limit", "40000"),
        ("x-rate-limit-remaining", "39999"),
        ("x-rate-limit-reset", "1770500000"),
    ];
    let err = decode_error(response(429, &headers, read("error_429_usage_capped.json")));
    assert!(matches!(err.kind(), ApiErrorKind::UsageCapped { .. }));
    assert!(!err.is_retryable_status());
    assert_eq!(err.retry_at(), None);
    assert_eq!(err.rate_limit().window.unwrap().remaining, 39999);
    let problem = err.problem().unwrap();
    assert_eq!(problem.extra["account_id"], "<redacted>");
    assert_eq!(problem.extra["product_name"], "standard-basic");
}

#[test]
fn rate_limit_fixture_with_headers_gives_the_reset() {
    let headers = [
        ("x-rate-limit-limit", "15"),
        ("x-rate-limit-remaining", "0"),
        ("x-rate-limit-reset", "1736400000"),
    ];
    let err = decode_error(response(
        429,
        &headers,
        read("error_429_too_many_requests.json"),
    ));
    let reset = UNIX_EPOCH + Duration::from_secs(1_736_400_000);
    assert_eq!(
        err.kind(),
        &ApiErrorKind::RateLimited {
            limit: Some(15),
            remaining: Some(0),
            reset: Some(reset)
        }
    );
    assert_eq!(err.retry_at(), Some(reset));
    assert!(err.is_retryable_status());
}

// Shapes no fixture shows.

#[test]
fn success_with_data_and_partial_errors_from_either_host() {
    let mut body = json("dm_events_with_expansions.json");
    body["errors"] = json!([
        {"type": "https://api.x.com/2/problems/resource-not-found", "title": "Not Found Error",
         "detail": "Could not find tweet with referenced_tweets.id: [1].",
         "resource_type": "tweet", "resource_id": "1", "parameter": "referenced_tweets.id",
         "value": "1", "section": "includes"},
        {"type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
         "title": "Authorization Error", "resource_type": "user", "resource_id": "2"},
        {"type": "about:blank", "title": "Something", "status": 200},
        {"type": "https://api.x.com/2/problems/credits-depleted", "title": "CreditsDepleted"},
        {"type": "https://api.x.com/2/problems/brand-new-thing", "title": "New", "new_field": 1}
    ]);
    let page: EventPage = decode_json(response(
        200,
        &[],
        serde_json::to_vec(&body).unwrap().into(),
    ))
    .unwrap();
    assert_eq!(
        page.items().len(),
        3,
        "the data survives the partial errors"
    );
    let types: Vec<_> = page.errors.iter().map(|p| p.problem_type()).collect();
    assert_eq!(
        types,
        [
            ProblemType::ResourceNotFound,
            ProblemType::NotAuthorizedForResource,
            ProblemType::AboutBlank,
            ProblemType::CreditsDepleted,
            ProblemType::Other("https://api.x.com/2/problems/brand-new-thing".into()),
        ]
    );
    assert_eq!(page.errors[0].section.as_deref(), Some("includes"));
    assert_eq!(page.errors[4].extra["new_field"], 1);
    assert_eq!(serde_json::to_value(&page.errors).unwrap(), body["errors"]);
}

#[test]
fn payment_required_is_credits_depleted() {
    let body =
        br#"{"title":"CreditsDepleted","type":"https://api.x.com/2/problems/credits-depleted",
        "detail":"Your enrolled account does not have any credits to fulfill this request."}"#;
    let err = decode_error(response(402, &[], Bytes::from_static(body)));
    assert_eq!(err.kind(), &ApiErrorKind::CreditsDepleted);
    assert!(!err.is_retryable_status());
    let bare = decode_error(response(402, &[], Bytes::new()));
    assert_eq!(bare.kind(), &ApiErrorKind::CreditsDepleted);
}

#[test]
fn explicit_nulls_in_includes_and_events() {
    let body = json!({
        "data": [{"id": "1", "event_type": "MessageCreate", "text": null,
                  "attachments": {"media_keys": null, "card_ids": null},
                  "entities": null, "referenced_tweets": null}],
        "includes": {"users": null, "tweets": null, "media": [null], "places": null},
        "meta": {"result_count": 1, "next_token": null}
    });
    let page: EventPage = decode_json(response(
        200,
        &[],
        serde_json::to_vec(&body).unwrap().into(),
    ))
    .unwrap();
    let event = &page.items()[0];
    assert_eq!(event.text, None);
    assert_eq!(event.media_keys().count(), 0);
    assert_eq!(event.referenced_tweet_ids().count(), 0);
    assert_eq!(page.includes.users, None);
    assert_eq!(page.includes.media.as_deref().map(<[_]>::len), Some(0));
    assert_eq!(page.next_token(), None);
    // A null is written back as absent.
    assert_eq!(
        serde_json::to_value(event).unwrap(),
        json!({"id": "1", "event_type": "MessageCreate", "attachments": {}})
    );
}

#[test]
fn users_with_tweet_count_and_posts_spellings() {
    let body = json!({
        "data": [{"id": "1", "event_type": "MessageCreate", "sender_id": "9",
                  "entities": {"hashtags": [{"start": 0, "end": 4, "tag": "dev"}]},
                  "hashtags": [{"start": 5, "end": 9, "tag": "old"}],
                  "referenced_posts": [{"id": "5"}]}],
        "includes": {
            "users": [{"id": "9", "public_metrics": {"followers_count": 3, "following_count": 1,
                       "tweet_count": 42, "listed_count": 0}}],
            "posts": [{"id": "5", "edit_history_post_ids": ["5"], "note_post": {"text": "long"},
                       "public_metrics": {"repost_count": 7}}]
        }
    });
    let page: EventPage = decode_json(response(
        200,
        &[],
        serde_json::to_vec(&body).unwrap().into(),
    ))
    .unwrap();
    let index = page.includes.index();
    let event = &page.items()[0];
    let sender = index.sender(event).unwrap();
    let metrics: &UserPublicMetrics = sender.public_metrics.as_ref().unwrap();
    assert_eq!(metrics.posts(), Some(42));
    assert_eq!(metrics.post_count, None);
    let tweet = index.tweets_of(event)[0];
    assert_eq!(tweet.note().and_then(|n| n.text.as_deref()), Some("long"));
    assert_eq!(tweet.public_metrics.as_ref().unwrap().reposts(), Some(7));
    let tags: Vec<_> = event
        .hashtag_entities()
        .filter_map(|t| t.tag.as_deref())
        .collect();
    assert_eq!(tags, ["dev", "old"]);
    // Each spelling is written back as it came.
    let again = json!({"data": page.data, "includes": page.includes});
    assert_eq!(again["data"], body["data"]);
    assert_eq!(again["includes"], body["includes"]);
}
