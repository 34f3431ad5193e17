//! Decoding X's responses: the JSON envelope of a success into [`ApiResponse`], anything else
//! into an [`ApiError`].
//!
//! ```
//! use bytes::Bytes;
//! use xdm_core::response::{EventPage, decode_json};
//!
//! let body = r#"{"data":[{"id":"1585800613752881156","event_type":"MessageCreate","text":"Testing 2"}],
//!                "meta":{"result_count":1,"next_token":"18LAA5G1SL0NR5OG0G00ZZZZ"}}"#;
//! let response = http::Response::builder()
//!     .status(200)
//!     .header("x-rate-limit-limit", "15")
//!     .header("x-rate-limit-remaining", "14")
//!     .header("x-rate-limit-reset", "1700000900")
//!     .body(Bytes::from(body))
//!     .unwrap();
//! let page: EventPage = decode_json(response)?;
//! assert_eq!(page.items()[0].text.as_deref(), Some("Testing 2"));
//! assert_eq!(page.next_token(), Some("18LAA5G1SL0NR5OG0G00ZZZZ"));
//! assert_eq!(page.rate_limit.window.map(|w| w.remaining), Some(14));
//! # Ok::<(), xdm_core::error::ApiError>(())
//! ```
//!
//! Field paths in decoding errors come from `serde_path_to_error`, which follows the models'
//! own visitors (see [`models`](crate::models)) down to the failing value.

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{ApiError, Problem, classify};
use crate::models::wire::{Key, Nullable};
use crate::models::{DmEvent, Includes, Meta};
use crate::rate_limit::RateLimitSnapshot;

/// A decoded success: `data` with what X sent beside it.
///
/// `#[non_exhaustive]`, so that more of the response can be kept later: build one with
/// [`ApiResponse::from_data`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse<T> {
    /// The HTTP status (200 or 201).
    pub status: StatusCode,
    /// The response headers (`Location`, `x-access-level`, ...).
    pub headers: HeaderMap,
    /// The payload. Absent on an empty page, and when X could only answer with `errors`.
    pub data: Option<T>,
    /// Objects the payload refers to; empty when nothing was expanded.
    pub includes: Includes,
    /// Paging information, on lists.
    pub meta: Option<Meta>,
    /// Partial errors: problems X reports next to (or instead of) `data`, such as an
    /// expansion that could not be filled in.
    pub errors: Vec<Problem>,
    /// Top-level keys this crate does not name, as they arrived.
    pub extra: Map<String, Value>,
    /// The rate-limit headers.
    pub rate_limit: RateLimitSnapshot,
    /// The raw body (shares the response's buffer).
    pub body: Bytes,
}

/// A page of DM events.
pub type EventPage = ApiResponse<Vec<DmEvent>>;

impl<T> ApiResponse<T> {
    /// A `200 OK` response holding `data` and nothing else; for tests and emulators.
    pub fn from_data(data: T) -> Self {
        ApiResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            data: Some(data),
            includes: Includes::default(),
            meta: None,
            errors: Vec::new(),
            extra: Map::new(),
            rate_limit: RateLimitSnapshot::default(),
            body: Bytes::new(),
        }
    }

    /// The payload, or an [`ApiErrorKind::MissingData`](crate::error::ApiErrorKind) error
    /// carrying the partial errors that explain its absence.
    pub fn into_data(self) -> Result<T, ApiError> {
        match self.data {
            Some(data) => Ok(data),
            None => Err(ApiError::missing_data(
                self.status,
                self.headers,
                self.body,
                self.errors,
            )),
        }
    }

    /// Whether X reported partial errors.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl<T> ApiResponse<Vec<T>> {
    /// The items of a list page; empty when `data` is absent.
    pub fn items(&self) -> &[T] {
        self.data.as_deref().unwrap_or(&[])
    }

    /// The token for the next page, when X sent one.
    pub fn next_token(&self) -> Option<&str> {
        self.meta.as_ref()?.next_token.as_deref()
    }
}

/// Decodes a response: a 2xx body into an [`ApiResponse`], anything else through
/// [`decode_error`]. A 2xx body that is not the expected JSON is an error of kind
/// [`Undecodable`](crate::error::ApiErrorKind::Undecodable), naming the failing field.
pub fn decode_json<T: DeserializeOwned>(
    response: http::Response<Bytes>,
) -> Result<ApiResponse<T>, ApiError> {
    if !response.status().is_success() {
        return Err(decode_error(response));
    }
    let (parts, body) = response.into_parts();
    let (status, headers) = (parts.status, parts.headers);
    // Path tracking allocates a string for every key it passes, which costs a quarter of the
    // decode, and is only needed to describe a failure. Decode without it first; on failure,
    // decode again with it: the input and the visitors are the same, so the second pass fails
    // at the same place with the same error, and now knows its path.
    //
    // The body is checked as UTF-8 once, as a whole, and then parsed as a `str`: parsed as
    // bytes, serde_json checks every string on its own, which costs more than the parse of the
    // string itself. Both readers accept the same documents and fail at the same places, and a
    // body that is not UTF-8 is left to the byte reader, which says where.
    let fast = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::from_str::<Envelope<T>>(text),
        Err(_) => serde_json::from_slice::<Envelope<T>>(&body),
    };
    let decoded = match fast {
        Ok(envelope) => Ok(envelope),
        Err(_) => decode_tracked::<T>(&body),
    };
    match decoded {
        Ok(envelope) => Ok(ApiResponse {
            rate_limit: RateLimitSnapshot::from_headers(&headers),
            status,
            headers,
            data: envelope.data,
            includes: envelope.includes,
            meta: envelope.meta,
            errors: envelope.errors,
            extra: envelope.extra,
            body,
        }),
        Err((path, error)) => {
            let offset = byte_offset(&body, error.line(), error.column());
            let message = error.to_string();
            Err(ApiError::undecodable(
                status, headers, body, path, &message, offset,
            ))
        }
    }
}

/// Decodes a list response like [`decode_json`], except that `null` items in the `data`
/// array are dropped, as `null` items of every list inside the models are: one unreadable
/// slot should not cost the caller the whole page. Any other item that fails to decode is
/// still [`Undecodable`](crate::error::ApiErrorKind::Undecodable), with its path
/// (`data[3].attachments`).
///
/// The list endpoints decode through this.
///
/// ```
/// use bytes::Bytes;
/// use xdm_core::models::DmEvent;
/// use xdm_core::response::decode_json_list;
///
/// let body = r#"{"data":[null,{"id":"1","event_type":"MessageCreate"}]}"#;
/// let response = http::Response::builder().status(200).body(Bytes::from(body)).unwrap();
/// let page = decode_json_list::<DmEvent>(response)?;
/// assert_eq!(page.items().len(), 1);
/// # Ok::<(), xdm_core::error::ApiError>(())
/// ```
pub fn decode_json_list<T: DeserializeOwned>(
    response: http::Response<Bytes>,
) -> Result<ApiResponse<Vec<T>>, ApiError> {
    let r = decode_json::<NullSkippingList<T>>(response)?;
    Ok(ApiResponse {
        status: r.status,
        headers: r.headers,
        data: r.data.map(|list| list.0),
        includes: r.includes,
        meta: r.meta,
        errors: r.errors,
        extra: r.extra,
        rate_limit: r.rate_limit,
        body: r.body,
    })
}

/// A JSON array read into a `Vec`, without its `null` items.
struct NullSkippingList<T>(Vec<T>);

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for NullSkippingList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for ListVisitor<T> {
            type Value = NullSkippingList<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The hint comes from the input; never let it size an allocation unchecked.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(128));
                while let Some(item) = seq.next_element::<Option<T>>()? {
                    out.extend(item);
                }
                Ok(NullSkippingList(out))
            }
        }

        d.deserialize_seq(ListVisitor(PhantomData))
    }
}

/// Decodes `body` with the path of every value tracked, for the error of a failed decode.
fn decode_tracked<T: DeserializeOwned>(
    body: &[u8],
) -> Result<Envelope<T>, (String, serde_json::Error)> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, Envelope<T>>(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|envelope| de.end().map(|()| envelope).map_err(|e| (".".to_owned(), e)))
}

/// Classifies a response that is not the expected success. Never fails and never panics,
/// whatever the status and body.
pub fn decode_error(response: http::Response<Bytes>) -> ApiError {
    let (parts, body) = response.into_parts();
    classify(parts.status, parts.headers, body)
}

/// serde_json reports 1-based lines and columns; turn them into a byte offset.
fn byte_offset(body: &[u8], line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let line_start = if line == 1 {
        0
    } else {
        body.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)?
    };
    Some((line_start + column.saturating_sub(1)).min(body.len()))
}

/// The top-level object of a success body.
struct Envelope<T> {
    data: Option<T>,
    includes: Includes,
    meta: Option<Meta>,
    errors: Vec<Problem>,
    extra: Map<String, Value>,
}

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for Envelope<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for EnvelopeVisitor<T> {
            type Value = Envelope<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with `data`, `includes`, `meta` or `errors`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<T>, A::Error> {
                let mut out = Envelope {
                    data: None,
                    includes: Includes::default(),
                    meta: None,
                    errors: Vec::new(),
                    extra: Map::new(),
                };
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "data" => out.data = map.next_value::<Option<T>>()?,
                        "includes" => {
                            out.includes = map
                                .next_value::<Nullable<Includes>>()?
                                .0
                                .unwrap_or_default();
                        }
                        "meta" => out.meta = map.next_value::<Nullable<Meta>>()?.0,
                        "errors" => {
                            out.errors = map
                                .next_value::<Nullable<Vec<Problem>>>()?
                                .0
                                .unwrap_or_default();
                        }
                        _ => {
                            let value = map.next_value::<Value>()?;
                            out.extra.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(out)
            }
        }

        d.deserialize_map(EnvelopeVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests;
