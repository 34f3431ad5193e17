//! Turning an error response into an [`ApiError`]: reading whatever body X sent (a problem, a
//! problem with inner invalid-request items, old-style `code`/`message` items, or no JSON at
//! all) and choosing the [`ApiErrorKind`].

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::{ApiError, ApiErrorKind, ForbiddenReason, InvalidParameter, LegacyError, Problem};
use crate::error::ProblemType;
use crate::rate_limit::{RateLimitSnapshot, RateLimitWindow};

/// What could be read from an error body.
#[derive(Default)]
struct Body {
    problem: Option<Problem>,
    errors: Vec<Problem>,
    legacy: Vec<LegacyError>,
    parameters: Vec<InvalidParameter>,
}

/// Classifies a response as an error. Never fails: a body that is not JSON (an HTML page from a
/// proxy, nothing at all) leaves the status to speak alone.
pub(crate) fn classify(status: StatusCode, headers: HeaderMap, body: Bytes) -> ApiError {
    let parsed = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => read_body(map),
        _ => Body::default(),
    };
    let mut error = ApiError::new(ApiErrorKind::UnexpectedStatus, status, headers, body);
    error.inner.kind = choose_kind(status, &parsed, &error.inner.rate_limit);
    error.inner.problem = parsed.problem;
    error.inner.errors = parsed.errors;
    error.inner.legacy_errors = parsed.legacy;
    error
}

fn read_body(mut map: Map<String, Value>) -> Body {
    let mut body = Body::default();
    if let Some(Value::Array(items)) = map.get("errors") {
        for item in items {
            read_error_item(item, &mut body);
        }
    }
    let is_problem = ["type", "title", "detail"]
        .iter()
        .any(|k| map.get(*k).is_some_and(Value::is_string));
    if is_problem {
        // The inner items were read above; the problem keeps them in `extra` as they came.
        body.problem = Some(Problem::from_value(Value::Object(std::mem::take(&mut map))));
    } else {
        body.problem = body.errors.first().cloned();
    }
    body
}

/// Sorts one item of a body's `errors`: invalid-request items name parameters, old-style
/// items carry a numeric code, anything else is a problem.
fn read_error_item(item: &Value, body: &mut Body) {
    let Some(obj) = item.as_object() else {
        body.errors.push(Problem::from_value(item.clone()));
        return;
    };
    let message = obj
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(params) = obj.get("parameters").and_then(Value::as_object) {
        if params.is_empty() {
            body.parameters.push(InvalidParameter {
                name: None,
                values: Vec::new(),
                message: message.clone(),
            });
        }
        for (name, values) in params {
            body.parameters.push(InvalidParameter {
                name: Some(name.clone()),
                values: text_list(values),
                message: message.clone(),
            });
        }
    } else if obj.get("code").is_some_and(Value::is_number) && !obj.contains_key("type") {
        body.legacy.push(LegacyError {
            code: obj.get("code").and_then(Value::as_i64),
            message,
        });
    } else {
        body.errors.push(Problem::from_value(item.clone()));
    }
}

fn text_list(values: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match values {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        one => vec![text(one)],
    }
}

/// X's old code for "rate limit exceeded".
const LEGACY_RATE_LIMITED: i64 = 88;
/// X's old codes for "you cannot send messages to this user" and its variants (not
/// following you, sender not verified for message requests).
const LEGACY_RECIPIENT_REFUSES: [i64; 3] = [150, 349, 476];

fn choose_kind(status: StatusCode, body: &Body, snapshot: &RateLimitSnapshot) -> ApiErrorKind {
    let ptype = body.problem.as_ref().map(Problem::problem_type);
    let has_code = |code: i64| body.legacy.iter().any(|e| e.code == Some(code));
    if status == StatusCode::PAYMENT_REQUIRED || ptype == Some(ProblemType::CreditsDepleted) {
        return ApiErrorKind::CreditsDepleted;
    }
    if let Some(problem) = &body.problem {
        let titled_cap = problem.title.as_deref() == Some("UsageCapExceeded");
        if ptype == Some(ProblemType::UsageCapped) || titled_cap {
            return ApiErrorKind::UsageCapped {
                period: problem.period.clone(),
                scope: problem.scope.clone(),
            };
        }
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || has_code(LEGACY_RATE_LIMITED)
        || ptype == Some(ProblemType::RateLimitExceeded)
    {
        let window = exhausted_window(snapshot);
        return ApiErrorKind::RateLimited {
            limit: window.map(|w| w.limit),
            remaining: window.map(|w| w.remaining),
            reset: window.map(|w| w.reset),
        };
    }
    let invalid = || ApiErrorKind::InvalidRequest {
        parameters: body.parameters.clone(),
    };
    match status.as_u16() {
        400 => invalid(),
        401 => ApiErrorKind::Unauthorized,
        403 => ApiErrorKind::Forbidden(forbidden_reason(body, ptype.as_ref())),
        404 => ApiErrorKind::NotFound,
        500..=599 => ApiErrorKind::Server,
        _ => match ptype {
            Some(ProblemType::InvalidRequest) => invalid(),
            Some(ProblemType::ResourceNotFound) => ApiErrorKind::NotFound,
            Some(ProblemType::UnsupportedAuthentication) => {
                ApiErrorKind::Forbidden(ForbiddenReason::UnsupportedAuthentication)
            }
            _ => ApiErrorKind::UnexpectedStatus,
        },
    }
}

/// The window that explains a 429: an exhausted one (the latest to reset, if several), else
/// the per-endpoint window.
fn exhausted_window(snapshot: &RateLimitSnapshot) -> Option<RateLimitWindow> {
    snapshot
        .windows()
        .filter(|w| w.is_exhausted())
        .max_by_key(|w| w.reset)
        .or(snapshot.window.as_ref())
        .copied()
}

fn forbidden_reason(body: &Body, ptype: Option<&ProblemType>) -> ForbiddenReason {
    if ptype == Some(&ProblemType::UnsupportedAuthentication) {
        return ForbiddenReason::UnsupportedAuthentication;
    }
    let problem = body.problem.as_ref();
    let texts: Vec<String> = problem
        .into_iter()
        .flat_map(|p| [p.detail.as_deref(), p.title.as_deref()])
        .flatten()
        .chain(body.legacy.iter().filter_map(|e| e.message.as_deref()))
        .map(str::to_ascii_lowercase)
        .collect();
    let said = |needle: &str| texts.iter().any(|t| t.contains(needle));
    if said("not permitted to attach") || (said("attach") && said("media")) {
        return ForbiddenReason::MediaNotPermitted;
    }
    let refuses = [
        "cannot send messages to",
        "can't send messages to",
        "cannot send a message to",
        "not allowed to send",
        "not following you",
        "does not accept",
        "doesn't accept",
        "not accepting",
        "not verified to send message",
    ];
    let legacy_refusal = body.legacy.iter().any(|e| {
        e.code
            .is_some_and(|c| LEGACY_RECIPIENT_REFUSES.contains(&c))
    });
    if legacy_refusal || refuses.iter().any(|n| said(n)) {
        return ForbiddenReason::RecipientNotAcceptingDms;
    }
    if let Some(p) = problem {
        let bare = |s: Option<&str>| s.is_none_or(|s| s.trim().eq_ignore_ascii_case("forbidden"));
        if p.problem_type() == ProblemType::AboutBlank
            && bare(p.detail.as_deref())
            && bare(p.title.as_deref())
        {
            return ForbiddenReason::MissingScope;
        }
    }
    ForbiddenReason::Other
}

/// At most 200 characters of `body` around byte `offset` (the start when unknown), on one line.
pub(crate) fn excerpt_around(body: &[u8], offset: Option<usize>) -> String {
    const BEFORE: usize = 100;
    const WIDTH: usize = 200;
    let offset = offset.unwrap_or(0).min(body.len());
    let mut start = offset.saturating_sub(BEFORE);
    let mut end = (start + WIDTH).min(body.len());
    // Cut on character boundaries so that valid UTF-8 stays valid.
    while start < end && is_continuation(body[start]) {
        start += 1;
    }
    while end < body.len() && end > start && is_continuation(body[end]) {
        end -= 1;
    }
    one_line(&String::from_utf8_lossy(&body[start..end]), WIDTH)
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// `text` on one line (control characters become spaces), cut to `max` characters with `…`.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}
