//! The activity and webhook endpoints: every refusal of bad input, every documented response
//! shape, the stream head's classification, and the requests against the OpenAPI documents.
//!
//! Response bodies are written inline. Each says where its shape comes from: "documented
//! shape" bodies keep the field names and nesting of an X-published example (docs.x.com, the
//! X developer-platform guide, spec 2.166/2.167), with values shortened or substituted;
//! "reconstructed" bodies are assembled from a schema or a reported error where nobody has
//! published the exact body.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};
use xdm_core::endpoints::{
    ConnectStream, CreateOutcome, CreateSubscription, DeleteSubscription, DeleteSubscriptions,
    DeleteWebhook, Direction, ListSubscriptions, ListWebhooks, RegisterWebhook, ReplayWebhook,
    StreamHead, StreamRefusal, SubscriptionEventType, SubscriptionFilter, SubscriptionTag,
    UpdateSubscription, ValidateWebhook, WebhookUrl, classify_stream_head,
};
use xdm_core::error::ApiErrorKind;
use xdm_core::ids::{PaginationToken, SubscriptionId, UserId, WebhookId};
use xdm_core::{Credential, Endpoint, EndpointGroup, EndpointInfo, RequestContext, Scope};

fn user() -> UserId {
    UserId::parse("1111111111111111111").unwrap()
}

fn sub_id() -> SubscriptionId {
    SubscriptionId::parse("1976325569252868096").unwrap()
}

fn hook_id() -> WebhookId {
    WebhookId::parse("1976325569252868099").unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn respond(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn build<E: Endpoint>(e: &E) -> http::Request<Bytes> {
    let request = e.build_request(&RequestContext::default()).unwrap();
    assert_eq!(request.extensions().get::<EndpointInfo>(), Some(&e.info()));
    request
}

fn body_json(request: &http::Request<Bytes>) -> Value {
    serde_json::from_slice(request.body()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Refusals before any request.

#[test]
fn event_types_must_be_dot_notation() {
    for bad in [
        "",
        "dm",
        "DM.received",
        "DirectMessageReceived",
        "dm..read",
        ".dm",
        "dm.read.",
        "dm.re ad",
        &format!("a.{}", "b".repeat(99)),
    ] {
        let e = SubscriptionEventType::parse(bad).unwrap_err();
        assert_eq!(e.parameter, "event_type", "{bad:?}");
    }
    for (name, known) in [
        ("dm.received", SubscriptionEventType::DmReceived),
        ("dm.sent", SubscriptionEventType::DmSent),
        ("dm.read", SubscriptionEventType::DmRead),
        (
            "dm.indicate_typing",
            SubscriptionEventType::DmIndicateTyping,
        ),
    ] {
        assert_eq!(SubscriptionEventType::parse(name).unwrap(), known);
        assert_eq!(known.as_str(), name);
        assert_eq!(known.to_string(), name);
        assert!(known.is_private_message_event());
        assert_eq!(
            known.scopes(),
            &[Scope::DmRead, Scope::TweetRead, Scope::UsersRead]
        );
    }
    assert_eq!(SubscriptionEventType::DMS.len(), 4);
    let other = SubscriptionEventType::parse("chat.conversation.member_added").unwrap();
    assert!(other.is_private_message_event());
    let scopes = |name: &str| SubscriptionEventType::parse(name).unwrap().scopes();
    assert_eq!(scopes("like.create")[0].as_str(), "like.read");
    assert_eq!(scopes("mute.mute")[0].as_str(), "mute.read");
    assert_eq!(scopes("block.block")[0].as_str(), "block.read");
    assert_eq!(scopes("follow.follow"), &[Scope::TweetRead]);
}

#[test]
fn filters_tags_and_creates_are_checked() {
    let e = SubscriptionFilter::none().with_keyword("").unwrap_err();
    assert_eq!(
        (e.parameter.as_ref(), e.allowed.as_ref()),
        ("filter.keyword", "1 to 150 characters")
    );
    assert!(
        SubscriptionFilter::none()
            .with_keyword(&"k".repeat(151))
            .is_err()
    );
    let f = SubscriptionFilter::none()
        .with_keyword(&"é".repeat(150))
        .unwrap()
        .with_direction(Direction::Inbound);
    assert_eq!(f.keyword().map(|k| k.chars().count()), Some(150));
    assert_eq!(f.direction(), Some(Direction::Inbound));
    assert_eq!(f.user_id(), None);

    for bad in [String::new(), "t".repeat(201)] {
        let e = SubscriptionTag::parse(&bad).unwrap_err();
        assert_eq!(e.parameter, "tag");
        assert!(
            CreateSubscription::for_user(SubscriptionEventType::DmSent, user())
                .unwrap()
                .with_tag(&bad)
                .is_err()
        );
    }
    assert_eq!(
        SubscriptionTag::parse(&"ü".repeat(200))
            .unwrap()
            .as_str()
            .chars()
            .count(),
        200
    );

    let e = CreateSubscription::new(
        SubscriptionEventType::DmReceived,
        SubscriptionFilter::none(),
    )
    .unwrap_err();
    assert_eq!(e.parameter, "filter.user_id");
    let with_keyword = SubscriptionFilter::user(user()).with_keyword("hi").unwrap();
    let e = CreateSubscription::new(SubscriptionEventType::DmRead, with_keyword).unwrap_err();
    assert_eq!(e.parameter, "filter");
    let with_direction = SubscriptionFilter::user(user()).with_direction(Direction::Outbound);
    let e = CreateSubscription::new(SubscriptionEventType::DmSent, with_direction).unwrap_err();
    assert_eq!(e.parameter, "filter");
    // Other types keep their own filters; oauth.revoke has none.
    let revoke = SubscriptionEventType::parse("oauth.revoke").unwrap();
    let create = CreateSubscription::new(revoke, SubscriptionFilter::none()).unwrap();
    assert_eq!(
        body_json(&build(&create)),
        json!({"event_type":"oauth.revoke","filter":{}})
    );
}

#[test]
fn listing_update_and_delete_inputs_are_checked() {
    for bad in [0, 1001, 70_000, u32::MAX] {
        let e = ListSubscriptions::new().with_max_results(bad).unwrap_err();
        assert_eq!(
            (e.parameter.as_ref(), e.allowed.as_ref()),
            ("max_results", "1 to 1000")
        );
    }
    for ok in [1, 1000] {
        let list = ListSubscriptions::new().with_max_results(ok).unwrap();
        assert_eq!(list.max_results(), Some(ok as u16));
    }
    assert!(PaginationToken::parse("short").is_err());

    let e = UpdateSubscription::new(sub_id(), None, None).unwrap_err();
    assert_eq!(e.parameter, "tag, webhook_id");
    let both = UpdateSubscription::new(
        sub_id(),
        Some(SubscriptionTag::parse("t").unwrap()),
        Some(hook_id()),
    )
    .unwrap();
    assert_eq!(both.id(), &sub_id());
    assert_eq!(
        body_json(&build(&both)),
        json!({"tag":"t","webhook_id":"1976325569252868099"})
    );
    let hook_only = UpdateSubscription::new(sub_id(), None, Some(hook_id())).unwrap();
    assert_eq!(
        body_json(&build(&hook_only)),
        json!({"webhook_id":"1976325569252868099"})
    );

    let e = DeleteSubscriptions::new([]).unwrap_err();
    assert_eq!(e.parameter, "ids");
    let many = (1..=101u64).map(|i| SubscriptionId::try_from(i).unwrap());
    assert!(DeleteSubscriptions::new(many).is_err());
    let hundred = (1..=100u64).map(|i| SubscriptionId::try_from(i).unwrap());
    assert_eq!(DeleteSubscriptions::new(hundred).unwrap().ids().len(), 100);
    // Repeats do not count twice.
    let repeated = (0..150).map(|i| SubscriptionId::try_from(i % 3 + 1).unwrap());
    assert_eq!(DeleteSubscriptions::new(repeated).unwrap().ids().len(), 3);
    for bad in ["0", "12345678901234567890", "a1", ""] {
        assert_eq!(
            SubscriptionId::parse(bad).unwrap_err().parameter,
            "subscription_id"
        );
        assert_eq!(WebhookId::parse(bad).unwrap_err().parameter, "webhook_id");
    }
}

#[test]
fn stream_parameters_are_checked() {
    for ok in 0..=5 {
        let c = ConnectStream::new().with_backfill_minutes(ok).unwrap();
        assert_eq!(c.backfill_minutes(), Some(ok));
    }
    let e = ConnectStream::new().with_backfill_minutes(6).unwrap_err();
    assert_eq!(
        (e.parameter.as_ref(), e.allowed.as_ref()),
        ("backfill_minutes", "0 to 5")
    );
    let start = ts("2026-07-24T21:00:00.900Z");
    for end in [
        start,
        ts("2026-07-24T21:00:00.999Z"),
        ts("2026-07-24T20:00:00Z"),
    ] {
        let e = ConnectStream::new()
            .with_recovery_window(start, Some(end))
            .unwrap_err();
        assert_eq!(e.parameter, "end_time");
    }
    let c = ConnectStream::new()
        .with_backfill_minutes(0)
        .unwrap()
        .with_recovery_window(start, Some(ts("2026-07-24T21:05:00Z")))
        .unwrap();
    assert_eq!(c.start_time(), Some(start));
    assert_eq!(
        build(&c).uri(),
        "https://api.x.com/2/activity/stream?backfill_minutes=0\
         &start_time=2026-07-24T21%3A00%3A00Z&end_time=2026-07-24T21%3A05%3A00Z"
    );
    let open = ConnectStream::new()
        .with_recovery_window(start, None)
        .unwrap();
    assert_eq!(open.end_time(), None);
    assert_eq!(
        build(&ConnectStream::new()).uri(),
        "https://api.x.com/2/activity/stream"
    );
}

#[test]
fn webhook_urls_follow_x_rules() {
    let long = format!("https://example.com/{}", "a".repeat(181));
    assert_eq!(long.len(), 201);
    for (bad, problem) in [
        ("http://example.com/hook", "not an https URL"),
        ("ftp://example.com/hook", "not an https URL"),
        ("example.com/hook", "not a parseable URL"),
        ("//example.com/hook", "not an https URL"),
        ("https://:/hook", "no host"),
        ("https://example.com:5000/hook", "names a port"),
        ("https://example.com:443/hook", "names a port"),
        ("https://example.com:/hook", "names a port"),
        ("https://user:pw@example.com/hook", "user information"),
        ("https:///hook", "not a parseable URL"),
        ("https://exa mple.com/hook", "not a parseable URL"),
        ("", "not a parseable URL"),
        (long.as_str(), "201 characters long"),
    ] {
        let e = WebhookUrl::parse(bad).unwrap_err();
        assert_eq!(e.parameter, "url", "{bad}");
        assert!(e.problem.contains(problem), "{bad}: {e}");
        assert!(e.allowed.contains("https"), "{e}");
    }
    let ok = format!("https://example.com/{}", "a".repeat(180));
    assert_eq!(WebhookUrl::parse(&ok).unwrap().as_str().len(), 200);
    let url = WebhookUrl::parse("HTTPS://example.com/x/webhook?v=1").unwrap();
    assert_eq!(url.to_string(), "HTTPS://example.com/x/webhook?v=1");
}

#[test]
fn replay_ranges_are_checked_against_now() {
    let now = ts("2025-12-01T12:30:30Z");
    let webhook = hook_id();
    let replay = |from: &str, to: &str| ReplayWebhook::new(webhook.clone(), ts(from), ts(to), now);
    for (from, to, parameter, problem) in [
        (
            "2025-12-01T12:00:00Z",
            "2025-12-01T12:00:00Z",
            "from_date",
            "is not before",
        ),
        (
            "2025-12-01T12:00:10Z",
            "2025-12-01T12:00:50Z",
            "from_date",
            "is not before",
        ),
        (
            "2025-12-01T12:10:00Z",
            "2025-12-01T12:00:00Z",
            "from_date",
            "is not before",
        ),
        (
            "2025-12-01T12:00:00Z",
            "2025-12-01T12:31:00Z",
            "to_date",
            "in the future",
        ),
        (
            "2025-11-30T12:29:59Z",
            "2025-12-01T12:00:00Z",
            "from_date",
            "more than 24 hours",
        ),
        (
            "2025-11-01T00:00:00Z",
            "2025-11-01T01:00:00Z",
            "from_date",
            "more than 24 hours",
        ),
    ] {
        let e = replay(from, to).unwrap_err();
        assert_eq!(e.parameter, parameter, "{from} {to}");
        assert!(e.problem.contains(problem), "{from} {to}: {e}");
        assert!(e.allowed.contains("24 hours"));
    }
    // The edges: the oldest minute within 24 hours, and the current minute.
    let edge = replay("2025-11-30T12:31:00Z", "2025-12-01T12:30:59Z").unwrap();
    assert_eq!(edge.from(), ts("2025-11-30T12:31:00Z"));
    assert_eq!(edge.to(), ts("2025-12-01T12:30:00Z"));
    assert_eq!(edge.webhook(), &webhook);
    let exact = ReplayWebhook::new(
        webhook.clone(),
        ts("2025-11-30T12:30:00Z"),
        ts("2025-12-01T12:00:00Z"),
        ts("2025-12-01T12:30:00Z"),
    );
    assert!(exact.is_ok(), "exactly 24 hours back is within the window");
    assert_eq!(
        body_json(&build(&edge)),
        json!({"webhook_id":"1976325569252868099","from_date":"202511301231","to_date":"202512011230"})
    );
}

// ---------------------------------------------------------------------------------------------
// Credentials and rate-limit groups.

#[test]
fn each_endpoint_declares_its_credential_and_group() {
    let create = CreateSubscription::for_user(SubscriptionEventType::DmReceived, user()).unwrap();
    let info = create.info();
    assert_eq!(
        (info.credential, info.group),
        (Credential::User, EndpointGroup::CreateSubscription)
    );
    assert!(info.oauth1);
    assert_eq!(
        info.scopes,
        &[Scope::DmRead, Scope::TweetRead, Scope::UsersRead]
    );
    let app: Vec<(EndpointInfo, EndpointGroup)> = vec![
        (
            ListSubscriptions::new().info(),
            EndpointGroup::ListSubscriptions,
        ),
        (
            UpdateSubscription::new(sub_id(), None, Some(hook_id()))
                .unwrap()
                .info(),
            EndpointGroup::UpdateSubscription,
        ),
        (
            DeleteSubscription::new(sub_id()).info(),
            EndpointGroup::DeleteSubscription,
        ),
        (
            DeleteSubscriptions::new([sub_id()]).unwrap().info(),
            EndpointGroup::DeleteSubscription,
        ),
        (ConnectStream::new().info(), EndpointGroup::ConnectStream),
        (
            RegisterWebhook::new(WebhookUrl::parse("https://e.com/h").unwrap()).info(),
            EndpointGroup::RegisterWebhook,
        ),
        (ListWebhooks::new().info(), EndpointGroup::ListWebhooks),
        (
            ValidateWebhook::new(hook_id()).info(),
            EndpointGroup::ValidateWebhook,
        ),
        (
            DeleteWebhook::new(hook_id()).info(),
            EndpointGroup::DeleteWebhook,
        ),
        (
            ReplayWebhook::new(
                hook_id(),
                ts("2025-12-01T11:00:00Z"),
                ts("2025-12-01T12:00:00Z"),
                ts("2025-12-01T12:00:00Z"),
            )
            .unwrap()
            .info(),
            EndpointGroup::ReplayWebhook,
        ),
    ];
    for (info, group) in app {
        assert_eq!(
            info.credential,
            Credential::AppBearer,
            "{}",
            info.path_template
        );
        assert_eq!(info.group, group);
        assert!(info.scopes.is_empty() && !info.oauth1);
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding every documented shape.

const SUBSCRIPTION: &str = r#"{"subscription_id":"1976325569252868096","event_type":"dm.received",
    "filter":{"user_id":"1111111111111111111"},"tag":"dm-inbound","webhook_id":"1976325569252868099",
    "created_at":"2026-07-24T21:00:00.000Z","updated_at":"2026-07-24T21:00:00.000Z"}"#;

fn create() -> CreateSubscription {
    CreateSubscription::for_user(SubscriptionEventType::DmReceived, user()).unwrap()
}

#[test]
fn every_create_response_shape_decodes() {
    let shapes = [
        // Spec 2.167 (documented shape): `data.subscription`, no meta.
        (
            format!(r#"{{"data":{{"subscription":{SUBSCRIPTION}}}}}"#),
            None,
        ),
        // Spec 2.166 and the guide (documented shape): with both counts.
        (
            format!(
                r#"{{"data":{{"subscription":{SUBSCRIPTION},"total_subscriptions_for_instance_id":3}},
                    "meta":{{"total_subscriptions":1}}}}"#
            ),
            Some(3),
        ),
        // The guide without the instance count (documented shape).
        (
            format!(
                r#"{{"data":{{"subscription":{SUBSCRIPTION}}},"meta":{{"total_subscriptions":1}}}}"#
            ),
            Some(1),
        ),
        // Docs quickstart, first example (documented shape): a one-item list.
        (
            format!(r#"{{"data":[null,{SUBSCRIPTION}],"meta":{{"total_subscriptions":"1"}}}}"#),
            Some(1),
        ),
        // Docs quickstart, second example (documented shape): flat.
        (format!(r#"{{"data":{SUBSCRIPTION}}}"#), None),
    ];
    for (body, total) in shapes {
        let outcome = create().decode_response(respond(200, &body)).unwrap();
        assert!(!outcome.is_duplicate());
        let record = outcome.created().unwrap_or_else(|| panic!("{body}"));
        let s = &record.subscription;
        assert_eq!(s.id(), Some(sub_id()), "{body}");
        assert_eq!(s.user_id(), Some("1111111111111111111"));
        assert_eq!(s.tag.as_deref(), Some("dm-inbound"));
        assert_eq!(s.created_at.as_deref(), Some("2026-07-24T21:00:00.000Z"));
        assert!(!s.is_stream());
        assert!(s.matches(&SubscriptionEventType::DmReceived, &user()));
        assert!(!s.matches(&SubscriptionEventType::DmSent, &user()));
        assert_eq!(record.total_subscriptions, total, "{body}");
    }
    // A stream subscription (no webhook), with a key this crate does not name.
    let body = r#"{"data":{"subscription":{"subscription_id":"5","event_type":"dm.sent",
                   "filter":{"user_id":"1"},"created_at":"2025-10-07T05:31:56Z","new_key":1},
                   "total_subscriptions":9}}"#;
    let outcome = create().decode_response(respond(200, body)).unwrap();
    let record = outcome.created().unwrap();
    assert!(record.subscription.is_stream());
    assert_eq!(record.subscription.extra["new_key"], 1);
    assert_eq!(record.total_subscriptions, Some(9));
}

#[test]
fn create_failures_are_errors_or_duplicates() {
    // Reconstructed: integrators report a DuplicateSubscription refusal; its status and body
    // are not published, so several plausible ones are tried.
    for (status, body) in [
        (
            400,
            r#"{"title":"Invalid Request","detail":"DuplicateSubscription: a subscription with this event_type and filter exists","type":"https://api.x.com/2/problems/invalid-request"}"#,
        ),
        (
            409,
            r#"{"title":"Conflict","detail":"Duplicate subscription","type":"https://api.x.com/2/problems/conflict"}"#,
        ),
        (403, r#"{"errors":[{"message":"DUPLICATE_SUBSCRIPTION"}]}"#),
        (
            200,
            r#"{"errors":[{"title":"DuplicateSubscription","detail":"already subscribed"}]}"#,
        ),
    ] {
        let outcome = create().decode_response(respond(status, body)).unwrap();
        let CreateOutcome::Duplicate(e) = &outcome else {
            panic!("{status} {body}")
        };
        assert!(outcome.is_duplicate());
        assert!(outcome.created().is_none());
        assert_eq!(e.status().as_u16(), status);
    }
    // Not duplicates: credentials, limits, other refusals, missing data.
    for (status, body) in [
        (
            401,
            r#"{"title":"Unauthorized","detail":"duplicate nonce"}"#,
        ),
        (429, r#"{"title":"Too Many Requests","detail":"duplicate"}"#),
        (
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#,
        ),
        (500, r#"{"title":"duplicate"}"#),
        (200, r#"{"errors":[{"title":"Something else"}]}"#),
        (200, r#"{"data":[]}"#),
        (200, r#"{"data":null}"#),
    ] {
        let e = create().decode_response(respond(status, body)).unwrap_err();
        assert_eq!(e.status().as_u16(), status, "{body}");
        if status == 200 {
            assert_eq!(e.kind(), &ApiErrorKind::MissingData, "{body}");
        }
    }
    for body in [
        r#"{"data":"weird"}"#,
        r#"{"data":{"subscription":{"tag":5}}}"#,
    ] {
        let e = create().decode_response(respond(200, body)).unwrap_err();
        let ApiErrorKind::Undecodable { path, .. } = e.kind() else {
            panic!("{e:?}")
        };
        assert!(path.starts_with("data"), "{path}");
    }
}

#[test]
fn every_list_shape_decodes_and_pages() {
    let list = ListSubscriptions::new().with_max_results(2).unwrap();
    // Spec 2.166 and the guide (documented shape).
    let paged = format!(
        r#"{{"data":[{SUBSCRIPTION},{SUBSCRIPTION}],"meta":{{"result_count":2,"next_token":"7140dibdnow9c7btw4b0"}}}}"#
    );
    let page = list.decode_response(respond(200, &paged)).unwrap();
    assert_eq!(page.items().len(), 2);
    let next = list.next_page(&page).unwrap();
    assert_eq!(
        next.pagination_token().unwrap().as_str(),
        "7140dibdnow9c7btw4b0"
    );
    assert_eq!(next.max_results(), Some(2));
    assert_eq!(
        build(&next).uri(),
        "https://api.x.com/2/activity/subscriptions?max_results=2&pagination_token=7140dibdnow9c7btw4b0"
    );
    // The same token again would loop.
    assert!(next.next_page(&page).is_none());
    // Docs quickstart (documented shape): meta.total_subscriptions, no token: the end.
    let total = format!(r#"{{"data":[{SUBSCRIPTION}],"meta":{{"total_subscriptions":1}}}}"#);
    let page = list.decode_response(respond(200, &total)).unwrap();
    assert_eq!(page.items().len(), 1);
    assert!(list.next_page(&page).is_none());
    // Spec 2.167 (documented shape): no meta at all.
    let bare = format!(r#"{{"data":[{SUBSCRIPTION}]}}"#);
    let page = list.decode_response(respond(200, &bare)).unwrap();
    assert_eq!(page.items()[0].id(), Some(sub_id()));
    assert!(list.next_page(&page).is_none());
    // Empty (documented shape), even with a token.
    for empty in [
        r#"{"data":[],"meta":{"result_count":0}}"#,
        r#"{"data":[],"meta":{"next_token":"7140dibdnow9c7btw4b0"}}"#,
    ] {
        let page = list.decode_response(respond(200, empty)).unwrap();
        assert!(list.next_page(&page).is_none());
    }
    // A malformed token ends the listing rather than failing the request.
    let bad_token = format!(r#"{{"data":[{SUBSCRIPTION}],"meta":{{"next_token":"short"}}}}"#);
    let page = list.decode_response(respond(200, &bad_token)).unwrap();
    assert!(list.next_page(&page).is_none());
    let e = list
        .decode_response(respond(403, r#"{"title":"Forbidden","status":403}"#))
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
}

#[test]
fn update_and_delete_responses_decode() {
    let update =
        UpdateSubscription::new(sub_id(), Some(SubscriptionTag::parse("x").unwrap()), None)
            .unwrap();
    // Spec 2.167 (documented shape).
    let body = format!(r#"{{"data":{{"subscription":{SUBSCRIPTION},"total_subscriptions":4}}}}"#);
    let r = update.decode_response(respond(200, &body)).unwrap();
    assert_eq!(r.data.as_ref().unwrap().total_subscriptions, Some(4));
    // The docs (documented shape): flat data and meta.total_subscriptions.
    let body = format!(r#"{{"data":{SUBSCRIPTION},"meta":{{"total_subscriptions":5}}}}"#);
    let r = update.decode_response(respond(200, &body)).unwrap();
    let record = r.data.unwrap();
    assert_eq!(record.subscription.id(), Some(sub_id()));
    assert_eq!(record.total_subscriptions, Some(5));

    // Docs (documented shape).
    let delete = DeleteSubscription::new(sub_id());
    assert_eq!(delete.id(), &sub_id());
    let r = delete
        .decode_response(respond(
            200,
            r#"{"data":{"deleted":true},"meta":{"total_subscriptions":0}}"#,
        ))
        .unwrap();
    assert!(r.data.unwrap().deleted);
    assert_eq!(r.meta.unwrap().extra["total_subscriptions"], 0);

    // Spec 2.167 (documented shape): per-id results and failures.
    let many = DeleteSubscriptions::new([sub_id(), SubscriptionId::parse("2").unwrap()]).unwrap();
    let body = r#"{"data":[{"subscription_id":"1976325569252868096","deleted":true}],
                   "errors":[{"subscription_id":"2","reason":"NotFound","message":"no such subscription"}],
                   "meta":{"total_subscriptions":3}}"#;
    let result = many
        .decode_response(respond(200, body))
        .unwrap()
        .data
        .unwrap();
    assert_eq!(result.deleted.len(), 1);
    assert!(result.deleted[0].deleted);
    assert_eq!(result.failures.len(), 1);
    let failure = &result.failures[0];
    assert_eq!(failure.subscription_id.as_deref(), Some("2"));
    assert_eq!(failure.reason.as_deref(), Some("NotFound"));
    assert_eq!(failure.message.as_deref(), Some("no such subscription"));
    assert_eq!(result.total_subscriptions, Some(3));
    // Every id failed: still a result, not an error (reconstructed from the schema).
    let body = r#"{"errors":[{"subscription_id":"2","reason":"NotFound"}]}"#;
    let result = many
        .decode_response(respond(200, body))
        .unwrap()
        .data
        .unwrap();
    assert!(result.deleted.is_empty());
    assert_eq!(result.failures[0].message, None);
    assert!(
        many.decode_response(respond(401, r#"{"title":"Unauthorized"}"#))
            .is_err()
    );
}

#[test]
fn webhook_responses_decode() {
    let register = RegisterWebhook::new(WebhookUrl::parse("https://example.com/webhook").unwrap());
    assert_eq!(register.url().as_str(), "https://example.com/webhook");
    let config = r#"{"id":"1146654567674912769","url":"https://example.com/webhook","valid":true,"created_at":"2025-10-09T16:35:08.000Z"}"#;
    // 2.167 and the docs (documented shape), then 2.166 (documented shape: no `data`).
    for body in [format!(r#"{{"data":{config}}}"#), config.to_owned()] {
        let r = register.decode_response(respond(200, &body)).unwrap();
        let hook = r.data.unwrap();
        assert_eq!(
            hook.webhook_id(),
            WebhookId::parse("1146654567674912769").ok()
        );
        assert_eq!(hook.valid, Some(true));
        assert!(r.extra.is_empty(), "{body}");
    }
    // Reconstructed from the documented failure reasons.
    let e = register
        .decode_response(respond(
            400,
            r#"{"errors":[{"message":"CrcValidationFailed"}],"title":"Invalid Request"}"#,
        ))
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);

    // Docs (documented shape), and the empty list.
    let list = ListWebhooks::new();
    let r = list
        .decode_response(respond(
            200,
            &format!(r#"{{"data":[{config}],"meta":{{"result_count":1}}}}"#),
        ))
        .unwrap();
    assert_eq!(
        r.items()[0].url.as_deref(),
        Some("https://example.com/webhook")
    );
    let r = list
        .decode_response(respond(200, r#"{"data":[],"meta":{"result_count":0}}"#))
        .unwrap();
    assert!(r.items().is_empty());

    // 2.167 says `valid`, 2.166 `attempted` (documented shapes).
    let validate = ValidateWebhook::new(hook_id());
    assert_eq!(validate.id(), &hook_id());
    let v = validate
        .decode_response(respond(200, r#"{"data":{"valid":true}}"#))
        .unwrap()
        .data
        .unwrap();
    assert_eq!((v.valid, v.attempted), (Some(true), None));
    let v = validate
        .decode_response(respond(200, r#"{"data":{"attempted":true}}"#))
        .unwrap()
        .data
        .unwrap();
    assert_eq!((v.valid, v.attempted), (None, Some(true)));

    let delete = DeleteWebhook::new(hook_id());
    assert_eq!(delete.id(), &hook_id());
    assert!(
        delete
            .decode_response(respond(200, r#"{"data":{"deleted":true}}"#))
            .unwrap()
            .data
            .unwrap()
            .deleted
    );

    // The guide (documented shape).
    let replay = ReplayWebhook::new(
        hook_id(),
        ts("2025-12-01T11:00:00Z"),
        ts("2025-12-01T12:00:00Z"),
        ts("2025-12-01T12:00:07Z"),
    )
    .unwrap();
    let job = replay
        .decode_response(respond(
            200,
            r#"{"data":{"job_id":"1995507200941260800","created_at":"2025-12-01T12:00:07.000Z"}}"#,
        ))
        .unwrap()
        .data
        .unwrap();
    assert_eq!(job.job_id.as_deref(), Some("1995507200941260800"));
    assert_eq!(job.created_at.as_deref(), Some("2025-12-01T12:00:07.000Z"));
}

// ---------------------------------------------------------------------------------------------
// The stream's response head.

#[test]
fn stream_heads_are_classified_for_the_session() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let reset = |secs: u64| {
        let mut h = HeaderMap::new();
        h.insert(
            "x-rate-limit-reset",
            (1_700_000_000 + secs).to_string().parse().unwrap(),
        );
        h
    };
    let none = HeaderMap::new();
    let classify = |status: u16, headers: &HeaderMap, body: &str| {
        classify_stream_head(
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
            now,
        )
    };
    assert_eq!(classify(200, &none, ""), StreamHead::Streaming);
    for status in [500, 502, 503, 504] {
        assert_eq!(
            classify(status, &none, "<html>"),
            StreamHead::Refused(StreamRefusal::Retryable {
                status: StatusCode::from_u16(status).unwrap()
            })
        );
    }
    // Documented shape (seen live): too many connections.
    let too_many = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.x.com/2/problems/streaming-connection"}"#;
    assert_eq!(
        classify(429, &reset(120), too_many),
        StreamHead::Refused(StreamRefusal::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
            too_many_connections: true,
        })
    );
    let nested = r#"{"errors":[{"connection_issue":"TooManyConnections"}]}"#;
    assert_eq!(
        classify(429, &none, nested),
        StreamHead::Refused(StreamRefusal::RateLimited {
            retry_after: None,
            too_many_connections: true
        })
    );
    // A plain rate limit, a reset already past, a garbled reset.
    let mut garbled = HeaderMap::new();
    garbled.insert("x-rate-limit-reset", "soon".parse().unwrap());
    for headers in [&none, &reset(0), &garbled] {
        assert_eq!(
            classify(429, headers, r#"{"title":"Too Many Requests"}"#),
            StreamHead::Refused(StreamRefusal::RateLimited {
                retry_after: None,
                too_many_connections: false
            })
        );
    }
    // Reported live: backfill refused on self-serve plans.
    let backfill = r#"{"errors":[{"parameters":{"backfill_minutes":["2"]},"message":"You are not authorized to use backfill_minutes"}],"title":"Invalid Request"}"#;
    assert_eq!(
        classify(400, &none, backfill),
        StreamHead::Refused(StreamRefusal::BackfillRefused)
    );
    // Configuration errors stop the session, with X's words.
    for (status, body, detail) in [
        (
            400,
            r#"{"title":"Invalid Request","detail":"bad start_time"}"#,
            Some("bad start_time"),
        ),
        (
            401,
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
            Some("Unauthorized"),
        ),
        (
            403,
            r#"{"title":"Unsupported Authentication","detail":"Authenticating with OAuth 2.0 User Context is forbidden for this endpoint.","type":"https://api.x.com/2/problems/unsupported-authentication"}"#,
            Some("Authenticating with OAuth 2.0 User Context is forbidden for this endpoint."),
        ),
        (
            403,
            r#"{"errors":[{"message":"client-not-enrolled"}]}"#,
            Some("client-not-enrolled"),
        ),
        (404, "not json", None),
        (302, "", None),
    ] {
        let StreamHead::Refused(StreamRefusal::Fatal(f)) = classify(status, &none, body) else {
            panic!("{status} {body}")
        };
        assert_eq!(f.status.as_u16(), status);
        assert_eq!(f.detail.as_deref(), detail);
    }
    // The Endpoint impl: a success is nothing to decode, a refusal an ApiError.
    let connect = ConnectStream::new();
    connect.decode_response(respond(200, "\r\n")).unwrap();
    let e = connect
        .decode_response(respond(401, r#"{"title":"Unauthorized"}"#))
        .unwrap_err();
    assert_eq!(e.kind(), &ApiErrorKind::Unauthorized);
}

// ---------------------------------------------------------------------------------------------
// The requests against the OpenAPI documents.

const SPECS: [(&str, &str); 2] = [
    (
        "2.166",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.166.json"),
    ),
    (
        "2.167",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.167.json"),
    ),
];

fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        node = doc.pointer(r.strip_prefix('#').unwrap()).unwrap();
    }
    node
}

fn validate(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut root = json!({"components": doc["components"].clone()});
    for (k, v) in schema.as_object().unwrap() {
        root[k] = v.clone();
    }
    let validator = jsonschema::validator_for(&root).unwrap();
    validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect()
}

fn check_against(label: &str, doc: &Value, request: &http::Request<Bytes>) {
    let info = request.extensions().get::<EndpointInfo>().unwrap();
    let context = format!("{} {} ({label})", info.method, request.uri());
    let operation = &doc["paths"][info.path_template][info.method.as_str().to_ascii_lowercase()];
    assert!(operation.is_object(), "{context}: not in the spec");
    let parameters: Vec<&Value> = operation["parameters"]
        .as_array()
        .map(|ps| ps.iter().map(|p| resolve(doc, p)).collect())
        .unwrap_or_default();
    let param = |name: &str, location: &str| {
        parameters
            .iter()
            .copied()
            .find(|p| p["name"] == name && p["in"] == location)
    };
    // Path parameters.
    for (segment, expected) in request
        .uri()
        .path()
        .split('/')
        .zip(info.path_template.split('/'))
    {
        if let Some(name) = expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let p = param(name, "path").unwrap_or_else(|| panic!("{context}: {name}"));
            let problems = validate(doc, &p["schema"], &json!(segment));
            assert!(problems.is_empty(), "{context}: {problems:?}");
        } else {
            assert_eq!(segment, expected, "{context}");
        }
    }
    // Query parameters.
    for pair in request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap();
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .unwrap();
        let p = param(name, "query").unwrap_or_else(|| panic!("{context}: {name} undeclared"));
        let schema = resolve(doc, &p["schema"]);
        let value = match schema["type"].as_str() {
            Some("array") => json!(value.split(',').collect::<Vec<_>>()),
            Some("integer") => json!(value.parse::<i64>().unwrap()),
            _ => json!(value),
        };
        let problems = validate(doc, schema, &value);
        assert!(problems.is_empty(), "{context}: {name}: {problems:?}");
    }
    // Body.
    match operation.get("requestBody") {
        Some(body) => {
            let schema = &resolve(doc, body)["content"]["application/json"]["schema"];
            assert_eq!(
                request.headers()["content-type"],
                "application/json",
                "{context}"
            );
            let problems = validate(doc, schema, &body_json(request));
            assert!(problems.is_empty(), "{context}: {problems:?}");
        }
        None => assert!(request.body().is_empty(), "{context}: no body declared"),
    }
    // Security: the credential we send is one the operation accepts.
    let security = operation["security"].as_array().unwrap();
    let accepts = |scheme: &str| security.iter().any(|s| s.get(scheme).is_some());
    match info.credential {
        Credential::AppBearer => assert!(accepts("BearerToken"), "{context}"),
        _ => {
            assert!(accepts("OAuth2UserToken"), "{context}");
            assert_eq!(info.oauth1, accepts("UserToken"), "{context}");
        }
    }
}

fn every_activity_request() -> Vec<http::Request<Bytes>> {
    let mut requests = Vec::new();
    for t in SubscriptionEventType::DMS {
        let c = CreateSubscription::for_user(t, user()).unwrap();
        requests.push(build(&c));
        requests.push(build(
            &c.with_tag(&"t".repeat(200))
                .unwrap()
                .with_webhook(hook_id()),
        ));
    }
    let follow = SubscriptionEventType::parse("follow.follow").unwrap();
    let filter = SubscriptionFilter::user(user()).with_direction(Direction::Inbound);
    requests.push(build(&CreateSubscription::new(follow, filter).unwrap()));
    let token = PaginationToken::parse("7140dibdnow9c7btw4b0").unwrap();
    requests.push(build(&ListSubscriptions::new()));
    requests.push(build(
        &ListSubscriptions::new()
            .with_max_results(1000)
            .unwrap()
            .with_pagination_token(token),
    ));
    requests.push(build(
        &UpdateSubscription::new(
            sub_id(),
            Some(SubscriptionTag::parse("a").unwrap()),
            Some(hook_id()),
        )
        .unwrap(),
    ));
    requests.push(build(&DeleteSubscription::new(sub_id())));
    let hundred = (1..=100u64).map(|i| SubscriptionId::try_from(i * 7919).unwrap());
    requests.push(build(&DeleteSubscriptions::new(hundred).unwrap()));
    requests.push(build(&ConnectStream::new()));
    requests.push(build(
        &ConnectStream::new()
            .with_backfill_minutes(5)
            .unwrap()
            .with_recovery_window(ts("2026-07-24T21:00:00Z"), Some(ts("2026-07-24T22:00:00Z")))
            .unwrap(),
    ));
    requests.push(build(&RegisterWebhook::new(
        WebhookUrl::parse("https://example.com/webhook").unwrap(),
    )));
    requests.push(build(&ListWebhooks::new()));
    requests.push(build(&ValidateWebhook::new(hook_id())));
    requests.push(build(&DeleteWebhook::new(hook_id())));
    requests.push(build(
        &ReplayWebhook::new(
            hook_id(),
            ts("2025-12-01T11:00:00Z"),
            ts("2025-12-01T12:00:00Z"),
            ts("2025-12-01T12:00:00Z"),
        )
        .unwrap(),
    ));
    requests
}

#[test]
fn activity_requests_conform_to_both_specs() {
    let requests = every_activity_request();
    for (label, path) in SPECS {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for request in &requests {
            check_against(label, &doc, request);
        }
    }
}
