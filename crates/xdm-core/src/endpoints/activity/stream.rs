//! `GET /2/activity/stream`: the request that opens the stream, and what its answer means.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::endpoints::{Body, info, new_request};
use crate::error::{ApiError, one_line};
use crate::query::Query;
use crate::response::decode_error;
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// Opens the app's activity stream: `GET /2/activity/stream`, with the app's Bearer token.
///
/// The response is a body that never ends: one JSON object per line, blank keep-alive lines
/// in between. This value only builds the request; [`classify_stream_head`] reads the status
/// line and headers that come back, and the stream session
/// ([`activity::session`](crate::activity::session)) decides when to send it and with how much
/// backfill.
///
/// `backfill_minutes` (0 to 5) asks X to replay events from just before the connect; on some
/// plans X refuses it with a 400, which [`classify_stream_head`] reports as
/// [`StreamRefusal::BackfillRefused`]. `start_time` and `end_time` ask for a recovery window;
/// whether the activity stream honours them outside Enterprise plans is not documented.
///
/// ```
/// use xdm_core::endpoints::ConnectStream;
/// use xdm_core::{Credential, Endpoint, RequestContext};
///
/// let connect = ConnectStream::new().with_backfill_minutes(2)?;
/// let request = connect.build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/activity/stream?backfill_minutes=2");
/// assert_eq!(request.headers()["accept"], "application/json");
/// assert_eq!(connect.info().credential, Credential::AppBearer);
/// assert!(ConnectStream::new().with_backfill_minutes(6).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectStream {
    backfill_minutes: Option<u8>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
}

impl ConnectStream {
    /// Where the stream lives.
    pub const PATH: &'static str = "/2/activity/stream";
    /// The most backfill X offers, in minutes.
    pub const MAX_BACKFILL_MINUTES: u8 = 5;

    /// A plain connect: no backfill, no recovery window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for `minutes` (0 to 5) of backfill; 0 sends the parameter with 0.
    pub fn with_backfill_minutes(mut self, minutes: u8) -> Result<Self, InvalidInput> {
        if minutes > Self::MAX_BACKFILL_MINUTES {
            return Err(InvalidInput::new(
                "backfill_minutes",
                format!("{minutes} is out of range"),
                "0 to 5",
            ));
        }
        self.backfill_minutes = Some(minutes);
        Ok(self)
    }

    /// Asks for the events from `start` (to `end`, when given, which must be later). Sent to
    /// the second, in UTC, as `YYYY-MM-DDTHH:mm:ssZ`.
    pub fn with_recovery_window(
        mut self,
        start: Timestamp,
        end: Option<Timestamp>,
    ) -> Result<Self, InvalidInput> {
        if let Some(end) = end
            && end.as_second() <= start.as_second()
        {
            return Err(InvalidInput::new(
                "end_time",
                "not after start_time",
                "a time at least one second after start_time",
            ));
        }
        self.start_time = Some(start);
        self.end_time = end;
        Ok(self)
    }

    /// The backfill asked for.
    pub fn backfill_minutes(&self) -> Option<u8> {
        self.backfill_minutes
    }

    /// The recovery window's start.
    pub fn start_time(&self) -> Option<Timestamp> {
        self.start_time
    }

    /// The recovery window's end.
    pub fn end_time(&self) -> Option<Timestamp> {
        self.end_time
    }
}

/// `YYYY-MM-DDTHH:mm:ssZ`, the one format the stream's parameters document.
fn stream_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Endpoint for ConnectStream {
    /// Nothing: a success means the stream is open, and its body is read line by line.
    type Output = ();

    fn info(&self) -> EndpointInfo {
        info(
            Method::GET,
            Self::PATH,
            EndpointGroup::ConnectStream,
            &[],
            Delivery::Idempotent,
        )
        .app_only()
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        if let Some(n) = self.backfill_minutes {
            query.set("backfill_minutes", n.to_string());
        }
        if let Some(t) = self.start_time {
            query.set("start_time", stream_time(t));
        }
        if let Some(t) = self.end_time {
            query.set("end_time", stream_time(t));
        }
        let mut request = new_request(self.info(), ctx, Self::PATH, &query, Body::Empty);
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(request)
    }

    /// `Ok(())` for a 2xx head; any other status as a classified [`ApiError`]. The session
    /// wants [`classify_stream_head`] instead, which also reads the 429's reset.
    fn decode_response(&self, response: http::Response<Bytes>) -> Result<(), ApiError> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(decode_error(response))
        }
    }
}

/// What the answer to a stream connect means.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a connect either opened the stream or was refused"
)]
pub enum StreamHead {
    /// A 2xx: the stream is open; read its body.
    Streaming,
    /// Anything else.
    Refused(StreamRefusal),
}

/// Why X refused a stream connect, in the terms of X's reconnect rules.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamRefusal {
    /// A 5xx: try again with exponential backoff from 5 seconds.
    Retryable {
        /// The status.
        status: StatusCode,
    },
    /// A 429: too many connects in the window, or too many connections open (X allows two,
    /// and a dead connection can hold its slot for minutes). Back off from 60 seconds.
    RateLimited {
        /// How long until `x-rate-limit-reset`, when X sent one in the future.
        retry_after: Option<Duration>,
        /// Whether the body names `TooManyConnections`.
        too_many_connections: bool,
    },
    /// A 400 about `backfill_minutes`: the plan does not allow backfill. Connect again without
    /// it.
    BackfillRefused,
    /// 401, 403, any other 4xx (and any status that is none of the above): configuration, not
    /// weather. Stop.
    Fatal(FatalRefusal),
}

/// A refusal that retrying cannot fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FatalRefusal {
    /// The status.
    pub status: StatusCode,
    /// X's explanation (the problem's `detail` or `title`), on one line, at most 200
    /// characters.
    pub detail: Option<String>,
}

impl FatalRefusal {
    /// A refusal with `status` and X's explanation.
    pub fn new(status: StatusCode, detail: Option<String>) -> Self {
        Self { status, detail }
    }
}

/// Reads the head of a stream connect's answer: its status, headers and the start of its
/// body (for a refusal X sends a small JSON object; a few kilobytes are plenty). `now` is the
/// wall-clock time, to turn `x-rate-limit-reset` into a wait.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use http::{HeaderMap, StatusCode};
/// use xdm_core::endpoints::{StreamHead, StreamRefusal, classify_stream_head};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut headers = HeaderMap::new();
/// headers.insert("x-rate-limit-reset", "1700000090".parse().unwrap());
/// let body = br#"{"title":"ConnectionException","connection_issue":"TooManyConnections"}"#;
/// assert_eq!(
///     classify_stream_head(StatusCode::TOO_MANY_REQUESTS, &headers, body, now),
///     StreamHead::Refused(StreamRefusal::RateLimited {
///         retry_after: Some(Duration::from_secs(90)),
///         too_many_connections: true,
///     })
/// );
/// assert_eq!(classify_stream_head(StatusCode::OK, &HeaderMap::new(), b"", now), StreamHead::Streaming);
/// ```
pub fn classify_stream_head(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> StreamHead {
    if status.is_success() {
        return StreamHead::Streaming;
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let refusal = if status.is_server_error() {
        StreamRefusal::Retryable { status }
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        StreamRefusal::RateLimited {
            retry_after: reset_after(headers, now),
            too_many_connections: json
                .as_ref()
                .is_some_and(|v| mentions(v, "connection_issue", "TooManyConnections")),
        }
    } else if status == StatusCode::BAD_REQUEST && contains(body, b"backfill_minutes") {
        StreamRefusal::BackfillRefused
    } else {
        StreamRefusal::Fatal(FatalRefusal::new(status, json.as_ref().and_then(detail)))
    };
    StreamHead::Refused(refusal)
}

/// The wait until `x-rate-limit-reset` (epoch seconds), when it lies in the future.
fn reset_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let seconds: u64 = headers
        .get("x-rate-limit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let reset = UNIX_EPOCH.checked_add(Duration::from_secs(seconds))?;
    reset.duration_since(now).ok().filter(|d| !d.is_zero())
}

/// Whether `key` holds `value` at the top of `body` or in one of its `errors`.
fn mentions(body: &Value, key: &str, value: &str) -> bool {
    let here = |v: &Value| v.get(key).and_then(Value::as_str) == Some(value);
    here(body)
        || body
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|errors| errors.iter().any(here))
}

/// X's explanation: `detail`, `title` or `message`, at the top or in the first of `errors`.
fn detail(body: &Value) -> Option<String> {
    let pick = |v: &Value| {
        ["detail", "title", "message"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(|s| one_line(s, 200))
    };
    pick(body).or_else(|| pick(body.get("errors")?.as_array()?.first()?))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
