//! X's error bodies, byte for byte in shape with the recorded ones.

use http::StatusCode;
use serde_json::{Value, json};

use crate::reply::Reply;

const PROBLEMS: &str = "https://api.twitter.com/2/problems/";

/// One entry of an invalid-request body: which parameter, which value, and why.
#[derive(Debug, Clone)]
pub(crate) struct ParamError {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) message: String,
}

impl ParamError {
    pub(crate) fn new(name: &str, value: &str, message: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            message: message.into(),
        }
    }
}

fn problem_json(status: StatusCode, body: Value) -> Reply {
    Reply::json(status, body).with_content_type("application/problem+json")
}

pub(crate) fn invalid_request(errors: Vec<ParamError>) -> Reply {
    invalid_request_at(PROBLEMS, errors)
}

/// The same, with the 2.167 problem host for requests in the post dialect.
pub(crate) fn invalid_request_post(errors: Vec<ParamError>) -> Reply {
    invalid_request_at("https://api.x.com/2/problems/", errors)
}

fn invalid_request_at(host: &str, errors: Vec<ParamError>) -> Reply {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|e| json!({"parameters": {e.name: [e.value]}, "message": e.message}))
        .collect();
    problem_json(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": format!("{host}invalid-request"),
        }),
    )
}

pub(crate) fn invalid_one(name: &str, value: &str, message: impl Into<String>) -> Reply {
    invalid_request(vec![ParamError::new(name, value, message)])
}

pub(crate) fn unauthorized() -> Reply {
    problem_json(
        StatusCode::UNAUTHORIZED,
        json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
    )
}

pub(crate) fn forbidden(detail: &str) -> Reply {
    problem_json(
        StatusCode::FORBIDDEN,
        json!({"title": "Forbidden", "type": "about:blank", "status": 403, "detail": detail}),
    )
}

pub(crate) fn media_not_permitted() -> Reply {
    problem_json(
        StatusCode::FORBIDDEN,
        json!({
            "title": "Forbidden",
            "detail": "You are not permitted to attach this media to a DM event.",
            "type": "about:blank",
            "status": 403
        }),
    )
}

pub(crate) fn app_only_forbidden() -> Reply {
    problem_json(
        StatusCode::FORBIDDEN,
        json!({
            "title": "Unsupported Authentication",
            "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "type": format!("{PROBLEMS}unsupported-authentication"),
            "status": 403
        }),
    )
}

/// A user context on an endpoint that takes the app's bearer token only.
pub(crate) fn app_only_required() -> Reply {
    problem_json(
        StatusCode::FORBIDDEN,
        json!({
            "title": "Unsupported Authentication",
            "detail": "Authenticating with a user context is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 Application-Only].",
            "type": format!("{PROBLEMS}unsupported-authentication"),
            "status": 403
        }),
    )
}

pub(crate) fn oauth1_forbidden() -> Reply {
    problem_json(
        StatusCode::FORBIDDEN,
        json!({
            "title": "Unsupported Authentication",
            "detail": "Authenticating with OAuth 1.0a User Context is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 User Context].",
            "type": format!("{PROBLEMS}unsupported-authentication"),
            "status": 403
        }),
    )
}

pub(crate) fn too_many_requests() -> Reply {
    problem_json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
    )
}

pub(crate) fn usage_capped() -> Reply {
    problem_json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({
            "account_id": "0",
            "product_name": "standard-basic",
            "title": "UsageCapExceeded",
            "period": "Monthly",
            "scope": "Product",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": format!("{PROBLEMS}usage-capped"),
        }),
    )
}

pub(crate) fn credits_depleted() -> Reply {
    problem_json(
        StatusCode::PAYMENT_REQUIRED,
        json!({
            "title": "CreditsDepleted",
            "detail": "Your enrolled account does not have any credits to fulfill this request.",
            "type": "https://api.x.com/2/problems/credits-depleted",
            "status": 402
        }),
    )
}

/// The partial-error object X puts in `errors[]` when a looked-up resource is missing.
pub(crate) fn not_found_item(resource_type: &str, parameter: &str, value: &str) -> Value {
    json!({
        "value": value,
        "detail": format!("Could not find {resource_type} with {parameter}: [{value}]."),
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": format!("{PROBLEMS}resource-not-found"),
    })
}

pub(crate) fn not_found(resource_type: &str, parameter: &str, value: &str) -> Reply {
    let mut body = not_found_item(resource_type, parameter, value);
    body["status"] = json!(404);
    problem_json(StatusCode::NOT_FOUND, body)
}

/// The body X's front end sends for an unknown route.
pub(crate) fn no_route() -> Reply {
    Reply::json(
        StatusCode::NOT_FOUND,
        json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}),
    )
}

/// A server-side failure with the body X sends for it.
pub(crate) fn server_error(status: StatusCode) -> Reply {
    let title = status.canonical_reason().unwrap_or("Server Error");
    let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
        json!({
            "title": "Internal Server Error",
            "detail": "Something went wrong. Please try again later.",
            "type": "https://api.x.com/2/problems/internal-error",
            "status": 500
        })
    } else {
        json!({"title": title, "detail": title, "type": "about:blank", "status": status.as_u16()})
    };
    problem_json(status, body)
}

/// OAuth 2.0 token-endpoint errors use RFC 6749's shape, not a Problem.
pub(crate) fn oauth2_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// A refusal X names with a reason (`DuplicateSubscription`, `CrcValidationFailed`...): the
/// reason is the title, as the webhook and subscription endpoints report them. The exact
/// bodies are not published; this shape is the emulator's assumption.
pub(crate) fn refused(status: StatusCode, reason: &str, detail: &str) -> Reply {
    problem_json(
        status,
        json!({"title": reason, "detail": detail, "type": "about:blank", "status": status.as_u16()}),
    )
}
