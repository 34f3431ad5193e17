use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::response::decode_error;

fn error(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> ApiError {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    decode_error(builder.body(body.into()).unwrap())
}

fn problem(status: u16, body: serde_json::Value) -> ApiError {
    error(status, &[], serde_json::to_vec(&body).unwrap())
}

fn forbidden(detail: &str) -> ForbiddenReason {
    match problem(
        403,
        json!({"title": "Forbidden", "type": "about:blank", "detail": detail}),
    )
    .kind()
    {
        ApiErrorKind::Forbidden(reason) => reason.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn forbidden_reasons_follow_the_words_x_uses() {
    assert_eq!(forbidden("Forbidden"), ForbiddenReason::MissingScope);
    assert_eq!(
        forbidden("You are not permitted to attach this media to a DM event."),
        ForbiddenReason::MediaNotPermitted
    );
    for refusal in [
        "You cannot send messages to this user.",
        "You cannot send messages to users who are not following you.",
        "This user does not accept Direct Messages from you",
        "Sender is not verified to send message requests",
    ] {
        assert_eq!(
            forbidden(refusal),
            ForbiddenReason::RecipientNotAcceptingDms,
            "{refusal}"
        );
    }
    assert_eq!(forbidden("Your app is suspended"), ForbiddenReason::Other);
}

#[test]
fn legacy_refusal_codes_and_bare_403_bodies() {
    let e = problem(403, json!({"errors": [{"code": 349, "message": "nope"}]}));
    assert_eq!(
        e.kind(),
        &ApiErrorKind::Forbidden(ForbiddenReason::RecipientNotAcceptingDms)
    );
    assert_eq!(e.legacy_errors()[0].code, Some(349));
    // Without a body there is no telling a missing scope from anything else.
    let e = error(403, &[], "");
    assert_eq!(e.kind(), &ApiErrorKind::Forbidden(ForbiddenReason::Other));
    assert_eq!(
        e.to_string(),
        "forbidden (HTTP 403): the request is not allowed"
    );
    let e = problem(
        403,
        json!({"type": "https://api.x.com/2/problems/client-forbidden",
        "title": "Client Forbidden", "reason": "client-not-enrolled",
        "registration_url": "https://developer.x.com"}),
    );
    assert_eq!(e.kind(), &ApiErrorKind::Forbidden(ForbiddenReason::Other));
    assert_eq!(
        e.problem().unwrap().reason.as_deref(),
        Some("client-not-enrolled")
    );
}

#[test]
fn rate_limited_reads_the_exhausted_window() {
    let e = error(
        429,
        &[
            ("x-rate-limit-limit", "15"),
            ("x-rate-limit-remaining", "3"),
            ("x-rate-limit-reset", "1700000900"),
            ("x-user-limit-24hour-limit", "1440"),
            ("x-user-limit-24hour-remaining", "0"),
            ("x-user-limit-24hour-reset", "1700086400"),
        ],
        r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
    );
    let reset = UNIX_EPOCH + Duration::from_secs(1_700_086_400);
    assert_eq!(
        e.kind(),
        &ApiErrorKind::RateLimited {
            limit: Some(1440),
            remaining: Some(0),
            reset: Some(reset)
        }
    );
    assert_eq!(e.retry_at(), Some(reset));
    assert!(e.is_retryable_status());
    assert_eq!(e.rate_limit().window.map(|w| w.remaining), Some(3));
    assert_eq!(
        e.to_string(),
        "rate limited (HTTP 429); the limit resets at unix time 1700086400"
    );
}

#[test]
fn rate_limited_without_headers_and_with_retry_after() {
    let e = error(429, &[("retry-after", "30")], "");
    assert_eq!(
        e.kind(),
        &ApiErrorKind::RateLimited {
            limit: None,
            remaining: None,
            reset: None
        }
    );
    assert_eq!(e.retry_at(), None);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(
        e.to_string(),
        "rate limited (HTTP 429); the reset time is unknown"
    );
    assert_eq!(
        error(429, &[("retry-after", "soon")], "").retry_after(),
        None
    );
}

#[test]
fn legacy_code_88_is_a_rate_limit_whatever_the_status() {
    let e = problem(
        420,
        json!({"errors": [{"code": 88, "message": "Rate limit exceeded"}]}),
    );
    assert!(matches!(e.kind(), ApiErrorKind::RateLimited { .. }));
    assert!(e.to_string().ends_with(": Rate limit exceeded"), "{e}");
}

#[test]
fn usage_caps_are_not_rate_limits() {
    let by_title = problem(429, json!({"title": "UsageCapExceeded", "period": "Daily"}));
    assert_eq!(
        by_title.kind(),
        &ApiErrorKind::UsageCapped {
            period: Some("Daily".into()),
            scope: None
        }
    );
    assert!(!by_title.is_retryable_status());
    assert_eq!(by_title.retry_at(), None);
    let by_type = problem(
        429,
        json!({"type": "https://api.x.com/2/problems/usage-capped", "title": "Usage capped"}),
    );
    assert_eq!(
        by_type.kind(),
        &ApiErrorKind::UsageCapped {
            period: None,
            scope: None
        }
    );
    assert!(
        by_type
            .to_string()
            .starts_with("usage cap reached (HTTP 429)"),
        "{by_type}"
    );
}

#[test]
fn credits_depleted_by_status_or_type() {
    assert_eq!(error(402, &[], "").kind(), &ApiErrorKind::CreditsDepleted);
    let e = problem(
        403,
        json!({"type": "https://api.x.com/2/problems/credits-depleted",
        "title": "CreditsDepleted", "detail": "Your enrolled account has no credits"}),
    );
    assert_eq!(e.kind(), &ApiErrorKind::CreditsDepleted);
    assert!(!e.is_retryable_status());
    assert_eq!(
        e.to_string(),
        "the account's API credits are used up (HTTP 403): Your enrolled account has no credits"
    );
}

#[test]
fn invalid_request_parameters_are_read_leniently() {
    let e = problem(
        400,
        json!({
            "errors": [
                {"parameters": {"max_results": ["500"], "ids": [1, 2], "odd": "x", "none": null},
                 "message": "bad values"},
                {"parameters": {}, "message": "something else"},
                "not an object"
            ],
            "title": "Invalid Request",
            "type": "https://api.x.com/2/problems/invalid-request"
        }),
    );
    let ApiErrorKind::InvalidRequest { parameters } = e.kind() else {
        panic!("{e:?}")
    };
    assert_eq!(parameters.len(), 5);
    assert_eq!(parameters[0].name.as_deref(), Some("max_results"));
    assert_eq!(parameters[0].values, ["500"]);
    assert_eq!(parameters[1].values, ["1", "2"]);
    assert_eq!(parameters[2].values, ["x"]);
    assert!(parameters[3].values.is_empty());
    assert_eq!(parameters[4].name, None);
    assert_eq!(e.errors().len(), 1, "the string item is kept as a problem");
    assert_eq!(
        e.problem().unwrap().problem_type(),
        ProblemType::InvalidRequest
    );
    assert_eq!(
        e.to_string(),
        "X refused parameter `max_results` (HTTP 400): bad values"
    );
    let bare = error(400, &[], "");
    assert_eq!(
        bare.to_string(),
        "X refused the request as invalid (HTTP 400)"
    );
}

#[test]
fn problem_types_decide_unusual_statuses() {
    let t = |slug: &str| json!({"type": format!("https://api.twitter.com/2/problems/{slug}"), "title": "t"});
    assert!(matches!(
        problem(422, t("invalid-request")).kind(),
        ApiErrorKind::InvalidRequest { .. }
    ));
    assert_eq!(
        problem(410, t("resource-not-found")).kind(),
        &ApiErrorKind::NotFound
    );
    assert_eq!(
        problem(418, t("unsupported-authentication")).kind(),
        &ApiErrorKind::Forbidden(ForbiddenReason::UnsupportedAuthentication)
    );
    assert_eq!(
        problem(409, t("conflict")).kind(),
        &ApiErrorKind::UnexpectedStatus
    );
    assert_eq!(
        problem(401, t("unsupported-authentication")).kind(),
        &ApiErrorKind::Unauthorized
    );
}

#[test]
fn statuses_without_bodies() {
    assert_eq!(
        error(401, &[], "<html/>").kind(),
        &ApiErrorKind::Unauthorized
    );
    assert_eq!(error(404, &[], "").kind(), &ApiErrorKind::NotFound);
    assert_eq!(error(404, &[], "").to_string(), "not found (HTTP 404)");
    for (status, retryable) in [
        (500, true),
        (502, true),
        (503, true),
        (504, true),
        (501, false),
    ] {
        let e = error(status, &[], "oops");
        assert_eq!(e.kind(), &ApiErrorKind::Server);
        assert_eq!(e.is_retryable_status(), retryable, "{status}");
    }
    let e = error(302, &[("location", "https://x.com")], "");
    assert_eq!(e.kind(), &ApiErrorKind::UnexpectedStatus);
    assert_eq!(e.to_string(), "unexpected HTTP status 302");
    assert_eq!(e.headers()["location"], "https://x.com");
    assert_eq!(
        error(200, &[], "{}").kind(),
        &ApiErrorKind::UnexpectedStatus
    );
}

#[test]
fn a_problem_in_errors_is_used_when_the_body_is_not_one() {
    let e = problem(
        404,
        json!({"errors": [{"type": "https://api.x.com/2/problems/resource-not-found",
        "detail": "Could not find user with id: [1]."}]}),
    );
    assert_eq!(e.kind(), &ApiErrorKind::NotFound);
    assert_eq!(
        e.problem().unwrap().detail.as_deref(),
        Some("Could not find user with id: [1].")
    );
    assert_eq!(
        e.to_string(),
        "not found (HTTP 404): Could not find user with id: [1]."
    );
}

#[test]
fn display_is_one_short_line_and_debug_does_not_dump_the_body() {
    let detail = format!("line one\nline two {}", "z".repeat(5000));
    let e = problem(
        403,
        json!({"title": "Forbidden", "detail": detail, "secret_body": "q".repeat(5000)}),
    );
    let shown = e.to_string();
    assert!(!shown.contains('\n'));
    assert!(shown.chars().count() < 400, "{}", shown.len());
    assert!(shown.ends_with('…'));
    // Debug shows parsed fields, but only an excerpt of the raw body.
    let html = format!("<html>{}</html>", "q".repeat(5000));
    let e = error(502, &[], html.clone());
    let debug = format!("{e:?}");
    assert!(debug.len() < 1000, "{}", debug.len());
    assert_eq!(e.body(), html.as_bytes());
}

#[test]
fn excerpts_cut_on_character_boundaries() {
    let body = "é".repeat(300);
    let ex = excerpt_around(body.as_bytes(), Some(301));
    assert!(ex.chars().all(|c| c == 'é'), "{ex}");
    assert!(ex.chars().count() <= 100);
    assert_eq!(excerpt_around(b"", None), "");
    assert_eq!(excerpt_around(b"a\tb\r\nc", Some(99)), "a b  c");
    assert_eq!(one_line("abcdef", 3), "abc…");
}

#[test]
fn unauthorized_and_generic_display() {
    let e = problem(
        401,
        json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
    );
    assert_eq!(e.kind(), &ApiErrorKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        "X refused the credentials (HTTP 401): check the token or signature, or refresh an expired token"
    );
    assert_eq!(
        forbidden_display(ForbiddenReason::MissingScope),
        "forbidden (HTTP 403): the token lacks a needed scope (dm.read/dm.write with tweet.read and users.read) or the app lacks Direct Message permission"
    );
}

fn forbidden_display(reason: ForbiddenReason) -> String {
    let mut e = error(403, &[], "");
    e.inner.kind = ApiErrorKind::Forbidden(reason);
    e.to_string()
}
