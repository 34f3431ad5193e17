//! Receiving webhook calls: CRC answers, signature checks, and what a request carries.
//!
//! X calls a registered webhook URL in two ways: `GET ?crc_token=…` to check that the URL
//! belongs to the app (answer with [`crc_response`]), and `POST` with an event body signed in
//! the `x-twitter-webhooks-signature` header (check with [`verify_signature`] before reading
//! the body). [`classify`] does both for any `http` server and says what the request is:
//!
//! ```
//! use bytes::Bytes;
//! use xdm_core::activity::webhook::{classify, ConsumerSecret, Inbound};
//!
//! let secret = ConsumerSecret::new("example_consumer_secret");
//! let crc = http::Request::get("/webhooks/x?crc_token=challenge_string")
//!     .body(Bytes::new())?;
//! let Inbound::Crc(answer) = classify(&crc, &secret)? else { panic!() };
//! assert_eq!(answer.response_token, "sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw=");
//! assert_eq!(answer.to_response().status(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Both checks use the app's consumer secret (API key secret), never a token.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, StatusCode, Uri};
use sha2::Sha256;

use super::event::ActivityDelivery;
use super::wire::{self, Document};
use crate::models::wire::wire_object;

type HmacSha256 = Hmac<Sha256>;

/// The header that carries a delivery's signature.
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// The app's consumer secret (API key secret), which signs CRC answers and deliveries.
///
/// Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct ConsumerSecret(Box<[u8]>);

impl ConsumerSecret {
    /// Wraps the secret as the developer portal shows it.
    pub fn new(secret: impl Into<String>) -> ConsumerSecret {
        ConsumerSecret(secret.into().into_bytes().into_boxed_slice())
    }

    /// Whether the secret is empty (a missing configuration value, most likely).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }

    /// `sha256=` and the standard base64 (with padding) of HMAC-SHA256(secret, `message`):
    /// the form of both the CRC answer and the signature header.
    pub fn sign(&self, message: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(message);
        format!("sha256={}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for ConsumerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsumerSecret(<redacted>)")
    }
}

/// The answer to a CRC: return it with status 200 and `Content-Type: application/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrcAnswer {
    /// `sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>`.
    pub response_token: String,
    /// `{"response_token":"sha256=…"}`, ready to send.
    pub body: Bytes,
}

impl CrcAnswer {
    /// The whole HTTP answer: 200, JSON, the body.
    pub fn to_response(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body.clone());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Answers a CRC check for `crc_token` (the query value, already percent-decoded).
///
/// ```
/// use xdm_core::activity::webhook::{crc_response, ConsumerSecret};
///
/// let answer = crc_response(&ConsumerSecret::new("example_consumer_secret"), "challenge_string");
/// assert_eq!(
///     answer.body,
///     r#"{"response_token":"sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="}"#
/// );
/// ```
pub fn crc_response(secret: &ConsumerSecret, crc_token: &str) -> CrcAnswer {
    let response_token = secret.sign(crc_token.as_bytes());
    // The token is `sha256=` and base64: nothing in it needs escaping in JSON.
    let body = Bytes::from(format!(r#"{{"response_token":"{response_token}"}}"#));
    CrcAnswer {
        response_token,
        body,
    }
}

/// Why a delivery's signature was refused. Answer 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `x-twitter-webhooks-signature` header.
    #[error("the request has no x-twitter-webhooks-signature header")]
    Missing,
    /// The header is not `sha256=` followed by the base64 of 32 bytes.
    #[error("the x-twitter-webhooks-signature header is not sha256=<base64 of 32 bytes>")]
    Malformed,
    /// The signature does not match the body under this consumer secret.
    #[error("the signature does not match the body (wrong consumer secret, or a changed body)")]
    Mismatch,
}

/// Checks `header` (the value of `x-twitter-webhooks-signature`, `None` when absent) against
/// HMAC-SHA256 of the exact `body` bytes, in constant time.
///
/// Verify before parsing: a body re-serialised (even pretty-printed the same JSON) no longer
/// matches.
///
/// ```
/// use xdm_core::activity::webhook::{verify_signature, ConsumerSecret, SignatureError};
///
/// let secret = ConsumerSecret::new("example_consumer_secret");
/// let body = br#"{"data":{"event_uuid":"1","filter":{"user_id":"1111111111111111111"},"event_type":"dm.received","payload":{}}}"#;
/// let good = b"sha256=7gIiHTf/YyrMqwrivo/z8QiydUC8+z/68YKR1ctwGhc=";
/// assert_eq!(verify_signature(&secret, Some(good), body), Ok(()));
/// assert_eq!(verify_signature(&secret, Some(good), &body[1..]), Err(SignatureError::Mismatch));
/// assert_eq!(verify_signature(&secret, None, body), Err(SignatureError::Missing));
/// ```
pub fn verify_signature(
    secret: &ConsumerSecret,
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let encoded = header
        .trim_ascii()
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut expected = [0u8; 32];
    match BASE64.decode_slice(encoded, &mut expected) {
        Ok(32) => {}
        _ => return Err(SignatureError::Malformed),
    }
    let mut mac = secret.mac();
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

wire_object! {
    /// A replay job's completion notice, `{"replay_job_status":{…}}`, sent to the webhook
    /// when a `POST /2/webhooks/replay` job ends (possibly out of order with its events).
    pub struct ReplayJobStatus {
        /// The webhook the job replayed to.
        webhook_id("webhook_id"): String,
        /// `Complete`, or `Incomplete` (retry the replay).
        job_state("job_state"): String,
        /// X's words on the outcome.
        job_state_description("job_state_description"): String,
        /// The job's id, as returned when it was created.
        job_id("job_id"): String,
    }
}

impl ReplayJobStatus {
    /// Whether the job replayed its whole window (`job_state` is `Complete`).
    pub fn is_complete(&self) -> bool {
        self.job_state.as_deref() == Some("Complete")
    }
}

/// What an inbound webhook request is, once checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Inbound {
    /// A CRC check (`GET ?crc_token=`): send [`CrcAnswer::to_response`].
    Crc(CrcAnswer),
    /// An X Activity API delivery (signature verified).
    Delivery(Box<ActivityDelivery>),
    /// A replay job ended (signature verified).
    ReplayJobStatus(ReplayJobStatus),
    /// An Account Activity API body (signature verified); its DM lists are decoded like
    /// Activity API payloads, other keys are unknown events.
    AccountActivity(Box<ActivityDelivery>),
    /// A correctly signed body of no known shape, kept whole. Answer 200: X signed it.
    Unknown(Bytes),
}

/// Why an inbound request was refused; [`status`](Self::status) is the answer to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature is missing, malformed or wrong (401). Nothing from the body was read.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A `GET` without a `crc_token` query parameter (400).
    #[error("a GET without a crc_token query parameter")]
    MissingCrcToken,
    /// Neither `GET` nor `POST` (405).
    #[error("method {0} is not used by X webhooks (GET for CRC checks, POST for events)")]
    MethodNotAllowed(Method),
}

impl WebhookError {
    /// The status to answer with: 401, 400 or 405.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::Signature(_) => StatusCode::UNAUTHORIZED,
            WebhookError::MissingCrcToken => StatusCode::BAD_REQUEST,
            WebhookError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

/// Classifies an inbound webhook request; see [`classify_parts`].
pub fn classify(
    request: &http::Request<Bytes>,
    secret: &ConsumerSecret,
) -> Result<Inbound, WebhookError> {
    classify_parts(
        request.method(),
        request.uri(),
        request.headers(),
        request.body(),
        secret,
    )
}

/// Classifies an inbound webhook request from its parts.
///
/// - `GET`: a CRC check; `crc_token` is read from the query after percent-decoding (`+` as a
///   space, as HTML forms and the usual query parsers do); other parameters are ignored.
/// - `POST`: the signature is verified over `body` first; then the body is an Activity API
///   envelope, a replay job status, an Account Activity body, or unknown.
pub fn classify_parts(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    secret: &ConsumerSecret,
) -> Result<Inbound, WebhookError> {
    if method == Method::GET {
        let token = uri
            .query()
            .and_then(crc_token)
            .ok_or(WebhookError::MissingCrcToken)?;
        return Ok(Inbound::Crc(crc_response(secret, &token)));
    }
    if method != Method::POST {
        return Err(WebhookError::MethodNotAllowed(method.clone()));
    }
    let header = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    verify_signature(secret, header, body)?;
    Ok(classify_body(body))
}

/// What a verified body is.
fn classify_body(body: &Bytes) -> Inbound {
    let unknown = || Inbound::Unknown(body.clone());
    match wire::document(body) {
        Ok(Document::Envelope {
            data: Some(data),
            meta,
            ..
        }) => match wire::envelope(data, wire::is_replay(meta)) {
            Ok(delivery) => Inbound::Delivery(Box::new(delivery)),
            Err(_) => unknown(),
        },
        Ok(Document::ReplayJobStatus(status)) => serde_json::from_str(status.get())
            .map(Inbound::ReplayJobStatus)
            .unwrap_or_else(|_| unknown()),
        Ok(Document::AccountActivity(members)) => {
            Inbound::AccountActivity(Box::new(wire::account_activity(&members)))
        }
        Ok(Document::Envelope { data: None, .. } | Document::Other) | Err(_) => unknown(),
    }
}

/// The first `crc_token` of a query string, percent-decoded.
fn crc_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(name) == "crc_token").then(|| form_decode(value))
    })
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_tokens_are_percent_decoded() {
        assert_eq!(
            crc_token("a=1&crc_token=ab%2Bc%3D+d").as_deref(),
            Some("ab+c= d")
        );
        assert_eq!(crc_token("crc_token").as_deref(), Some(""));
        assert_eq!(crc_token("crc%5Ftoken=x").as_deref(), Some("x"));
        assert_eq!(crc_token("other=1"), None);
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let secret = ConsumerSecret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "ConsumerSecret(<redacted>)");
        assert!(!secret.is_empty());
        assert!(ConsumerSecret::new("").is_empty());
    }
}
