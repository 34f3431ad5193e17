//! What went wrong when X did not give the expected answer, classified so that callers (and
//! the retry policy) can decide without reading bodies.
//!
//! [`ApiError`] keeps everything the response carried (status, headers, raw body, the parsed
//! [`Problem`]) and a [`kind`](ApiError::kind) that names the case:
//!
//! ```
//! use bytes::Bytes;
//! use xdm_core::error::{ApiErrorKind, ForbiddenReason};
//! use xdm_core::response::decode_error;
//!
//! let body = r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#;
//! let response = http::Response::builder().status(403).body(Bytes::from(body)).unwrap();
//! let error = decode_error(response);
//! assert!(matches!(error.kind(), ApiErrorKind::Forbidden(ForbiddenReason::MissingScope)));
//! assert!(!error.is_retryable_status());
//! ```

mod classify;
mod problem;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::rate_limit::RateLimitSnapshot;

pub(crate) use classify::{classify, excerpt_around, one_line};
pub use problem::{Problem, ProblemType};

/// An answer from X that is not the expected success, or a success that could not be decoded.
///
/// The details live behind one allocation so that `Result<T, ApiError>` stays small.
pub struct ApiError {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ApiErrorKind,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    problem: Option<Problem>,
    errors: Vec<Problem>,
    legacy_errors: Vec<LegacyError>,
    rate_limit: RateLimitSnapshot,
}

/// The case an [`ApiError`] falls into.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400, or an `invalid-request` problem: X refused parameters. The request must change.
    InvalidRequest {
        /// The refused parameters, from the body's inner `errors` (which are not problems).
        parameters: Vec<InvalidParameter>,
    },
    /// 401: the credentials were refused, expired or badly signed.
    Unauthorized,
    /// 403: the request is not allowed, for the given reason.
    Forbidden(ForbiddenReason),
    /// 404, or a `resource-not-found` problem.
    NotFound,
    /// 429 rate limit (or X's old code 88): wait until `reset`, then try again.
    RateLimited {
        /// Requests allowed in the exhausted window, when the headers say.
        limit: Option<u32>,
        /// Requests left (usually 0), when the headers say.
        remaining: Option<u32>,
        /// When the exhausted window starts over, when the headers say.
        reset: Option<SystemTime>,
    },
    /// A usage cap is used up (a 429 whose problem is `usage-capped` or titled
    /// `UsageCapExceeded`). Unlike a rate limit, retrying before the period ends is useless.
    UsageCapped {
        /// `Daily` or `Monthly`, as X says.
        period: Option<String>,
        /// `Account` or `Product`, as X says.
        scope: Option<String>,
    },
    /// 402, or a `credits-depleted` problem: the pay-per-use balance is empty.
    CreditsDepleted,
    /// 5xx: X failed.
    Server,
    /// A status this crate has no case for (3xx, 409, ...), or a success passed to
    /// [`decode_error`](crate::response::decode_error).
    UnexpectedStatus,
    /// A success whose body could not be decoded.
    Undecodable {
        /// Where decoding failed, such as `data[3].attachments.media_keys` (`.` for the top).
        path: String,
        /// What was wrong, shortened.
        message: String,
        /// At most 200 characters of the body around the failure, on one line.
        excerpt: String,
    },
    /// A success without `data`; [`ApiError::errors`] holds the partial errors that explain
    /// why, when X sent any.
    MissingData,
}

/// Why X refused a request with 403.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForbiddenReason {
    /// A bare `about:blank` "Forbidden": the token lacks a scope (DM endpoints need
    /// `dm.read`/`dm.write` with `tweet.read` and `users.read`), or the OAuth 1.0a app lacks
    /// the "Direct Messages" permission.
    MissingScope,
    /// `unsupported-authentication`: an app-only token on a user-context endpoint.
    UnsupportedAuthentication,
    /// The media cannot be attached: it must be the sender's own upload, less than 24 hours
    /// old.
    MediaNotPermitted,
    /// The recipient does not accept messages from the sender.
    RecipientNotAcceptingDms,
    /// Another refusal; see [`ApiError::problem`].
    Other,
}

/// One refused parameter of an invalid request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidParameter {
    /// The parameter's name, such as `tweet.fields`; absent when X named none.
    pub name: Option<String>,
    /// The values X quoted back.
    pub values: Vec<String>,
    /// X's explanation.
    pub message: Option<String>,
}

/// An item of an old-style error body, `{"errors":[{"code":88,"message":"..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyError {
    /// X's numeric error code (88 is "rate limit exceeded").
    pub code: Option<i64>,
    /// X's message.
    pub message: Option<String>,
}

impl ApiError {
    fn new(kind: ApiErrorKind, status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        let rate_limit = RateLimitSnapshot::from_headers(&headers);
        ApiError {
            inner: Box::new(Inner {
                kind,
                status,
                headers,
                body,
                problem: None,
                errors: Vec::new(),
                legacy_errors: Vec::new(),
                rate_limit,
            }),
        }
    }

    /// A success whose body failed to decode.
    pub(crate) fn undecodable(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        path: String,
        message: &str,
        offset: Option<usize>,
    ) -> Self {
        let excerpt = excerpt_around(&body, offset);
        let kind = ApiErrorKind::Undecodable {
            path,
            message: one_line(message, 200),
            excerpt,
        };
        ApiError::new(kind, status, headers, body)
    }

    /// A success without `data`.
    pub(crate) fn missing_data(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        errors: Vec<Problem>,
    ) -> Self {
        let mut error = ApiError::new(ApiErrorKind::MissingData, status, headers, body);
        error.inner.problem = errors.first().cloned();
        error.inner.errors = errors;
        error
    }

    /// The case this error falls into.
    pub fn kind(&self) -> &ApiErrorKind {
        &self.inner.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The raw response body.
    pub fn body(&self) -> &Bytes {
        &self.inner.body
    }

    /// The problem that describes the error: the body itself when it is a problem, else the
    /// first problem in its `errors`.
    pub fn problem(&self) -> Option<&Problem> {
        self.inner.problem.as_ref()
    }

    /// Problems listed in the body's `errors` (for [`ApiErrorKind::MissingData`], the partial
    /// errors of the success).
    pub fn errors(&self) -> &[Problem] {
        &self.inner.errors
    }

    /// Items of an old-style `{"errors":[{"code":..,"message":..}]}` body.
    pub fn legacy_errors(&self) -> &[LegacyError] {
        &self.inner.legacy_errors
    }

    /// The rate-limit headers of the response.
    pub fn rate_limit(&self) -> &RateLimitSnapshot {
        &self.inner.rate_limit
    }

    /// Whether sending the same request again later may succeed: rate limits, and server
    /// errors other than 501 Not Implemented and 505. Usage caps and depleted credits are
    /// not retryable. This looks at the response only; whether a retry could duplicate a
    /// message is the caller's question.
    pub fn is_retryable_status(&self) -> bool {
        match self.inner.kind {
            ApiErrorKind::RateLimited { .. } => true,
            ApiErrorKind::Server => !matches!(
                self.inner.status,
                StatusCode::NOT_IMPLEMENTED | StatusCode::HTTP_VERSION_NOT_SUPPORTED
            ),
            _ => false,
        }
    }

    /// When a rate-limited request may be sent again, when the headers say.
    pub fn retry_at(&self) -> Option<SystemTime> {
        match self.inner.kind {
            ApiErrorKind::RateLimited { reset, .. } => reset,
            _ => None,
        }
    }

    /// The `Retry-After` header, when it is a number of seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.inner.headers.get(http::header::RETRY_AFTER)?;
        let secs: u64 = value.to_str().ok()?.trim().parse().ok()?;
        Some(Duration::from_secs(secs))
    }

    fn headline(&self) -> String {
        let status = self.inner.status.as_u16();
        match &self.inner.kind {
            ApiErrorKind::InvalidRequest { parameters } => match parameters.first() {
                Some(InvalidParameter {
                    name: Some(name), ..
                }) => format!(
                    "X refused parameter `{}` (HTTP {status})",
                    one_line(name, 60)
                ),
                _ => format!("X refused the request as invalid (HTTP {status})"),
            },
            ApiErrorKind::Unauthorized => format!(
                "X refused the credentials (HTTP {status}): check the token or signature, \
                 or refresh an expired token"
            ),
            ApiErrorKind::Forbidden(reason) => {
                let why = match reason {
                    ForbiddenReason::MissingScope => {
                        "the token lacks a needed scope (dm.read/dm.write with tweet.read and \
                         users.read) or the app lacks Direct Message permission"
                    }
                    ForbiddenReason::UnsupportedAuthentication => {
                        "this endpoint needs a user-context token, not an app-only one"
                    }
                    ForbiddenReason::MediaNotPermitted => {
                        "the media may not be attached (it must be the sender's own upload, \
                         less than 24 hours old)"
                    }
                    ForbiddenReason::RecipientNotAcceptingDms => {
                        "the recipient does not accept messages from this account"
                    }
                    ForbiddenReason::Other => "the request is not allowed",
                };
                format!("forbidden (HTTP {status}): {why}")
            }
            ApiErrorKind::NotFound => format!("not found (HTTP {status})"),
            ApiErrorKind::RateLimited { reset, .. } => match reset.and_then(unix_secs) {
                Some(at) => {
                    format!("rate limited (HTTP {status}); the limit resets at unix time {at}")
                }
                None => format!("rate limited (HTTP {status}); the reset time is unknown"),
            },
            ApiErrorKind::UsageCapped { period, scope } => {
                let what = match (period, scope) {
                    (Some(p), Some(s)) => format!(" ({} {} cap)", one_line(p, 20), one_line(s, 20)),
                    (Some(x), None) | (None, Some(x)) => format!(" ({} cap)", one_line(x, 20)),
                    (None, None) => String::new(),
                };
                format!(
                    "usage cap reached{what} (HTTP {status}); retrying before the period ends \
                     will not help"
                )
            }
            ApiErrorKind::CreditsDepleted => {
                format!("the account's API credits are used up (HTTP {status})")
            }
            ApiErrorKind::Server => format!("X failed to answer (HTTP {status})"),
            ApiErrorKind::UnexpectedStatus => format!("unexpected HTTP status {status}"),
            ApiErrorKind::Undecodable {
                path,
                message,
                excerpt,
            } => format!(
                "could not decode the response (HTTP {status}) at `{}`: {message}; near `{excerpt}`",
                one_line(path, 80)
            ),
            ApiErrorKind::MissingData => format!("the response (HTTP {status}) has no data"),
        }
    }

    /// X's own words, when they add something to the headline.
    fn said(&self) -> Option<String> {
        if let ApiErrorKind::Undecodable { .. } = self.inner.kind {
            return None;
        }
        if let ApiErrorKind::InvalidRequest { parameters } = &self.inner.kind
            && let Some(message) = parameters.iter().find_map(|p| p.message.as_deref())
        {
            return Some(message.to_owned());
        }
        let from_problem = self.inner.problem.as_ref().and_then(Problem::summary);
        let from_legacy = || {
            self.inner
                .legacy_errors
                .iter()
                .find_map(|e| e.message.as_deref())
        };
        let text = from_problem.or_else(from_legacy)?;
        // "Forbidden" after "forbidden (HTTP 403)" says nothing new.
        let reason = self.inner.status.canonical_reason().unwrap_or("");
        (!text.trim().eq_ignore_ascii_case(reason)).then(|| text.to_owned())
    }
}

fn unix_secs(at: SystemTime) -> Option<u64> {
    at.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let Some(said) = self.said() {
            write!(f, ": {}", one_line(&said, 200))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("ApiError")
            .field("kind", &inner.kind)
            .field("status", &inner.status)
            .field("problem", &inner.problem)
            .field("errors", &inner.errors)
            .field("legacy_errors", &inner.legacy_errors)
            .field("rate_limit", &inner.rate_limit)
            .field("body", &excerpt_around(&inner.body, Some(0)))
            .finish_non_exhaustive()
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests;
