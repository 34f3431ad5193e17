//! The V2 Webhooks API: register, list, revalidate and delete a webhook, and replay what it
//! missed. Every call takes the app's Bearer token.

use std::fmt;

use bytes::Bytes;
use http::{Method, Uri};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Body, info, json_request, new_request};
use crate::error::ApiError;
use crate::ids::WebhookId;
use crate::models::Deleted;
use crate::query::Query;
use crate::response::{ApiResponse, decode_json, decode_json_list};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

const COLLECTION: &str = "/2/webhooks";
const ONE: &str = "/2/webhooks/{webhook_id}";

fn app_info(method: Method, template: &'static str, group: EndpointGroup) -> EndpointInfo {
    let delivery = if method == Method::POST {
        Delivery::AtMostOnce
    } else {
        Delivery::Idempotent
    };
    info(method, template, group, &[], delivery).app_only()
}

/// A URL X will accept for a webhook: `https`, no explicit port, at most 200 characters.
///
/// X also needs it publicly reachable, answering the CRC check on `GET` and events on
/// `POST`; that is learned only when X tries it.
///
/// ```
/// use xdm_core::endpoints::WebhookUrl;
///
/// assert!(WebhookUrl::parse("https://example.com/x/webhook").is_ok());
/// for bad in ["http://example.com/hook", "https://example.com:5000/hook", "not a url"] {
///     assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The longest URL X accepts.
    pub const MAX_LEN: usize = 200;

    /// Checks `url` against X's rules.
    pub fn parse(url: &str) -> Result<Self, InvalidInput> {
        const ALLOWED: &str = "an https URL without a port, at most 200 characters, \
                               such as https://example.com/webhook";
        let refuse = |problem: String| InvalidInput::new("url", problem, ALLOWED);
        let len = url.chars().count();
        if len > Self::MAX_LEN {
            return Err(refuse(format!("{len} characters long")));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| refuse("not a parseable URL".into()))?;
        if !uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"))
        {
            return Err(refuse("not an https URL".into()));
        }
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(refuse("no host".into()));
        };
        if authority.as_str().contains('@') {
            return Err(refuse("carries user information before the host".into()));
        }
        if authority.port().is_some() || authority.as_str().ends_with(':') {
            return Err(refuse("names a port (X refuses any explicit port)".into()));
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A webhook as X reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The webhook's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The URL events go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether it passed its last CRC check; an invalid webhook receives nothing until it is
    /// revalidated ([`ValidateWebhook`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// When it was registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Keys this crate does not name, as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookConfig {
    /// The id, when X sent a well-formed one.
    pub fn webhook_id(&self) -> Option<WebhookId> {
        WebhookId::parse(self.id.as_deref()?).ok()
    }
}

/// Registers a webhook: `POST /2/webhooks`.
///
/// X checks the URL with a CRC request before it answers, so a success means the receiver
/// answered correctly. Refusals X names: `CrcValidationFailed`, `UrlValidationFailed`,
/// `DuplicateUrlFailed`, `WebhookLimitExceeded` (one webhook per developer account on
/// pay-per-use).
///
/// ```
/// use xdm_core::endpoints::{RegisterWebhook, WebhookUrl};
/// use xdm_core::{Endpoint, RequestContext};
///
/// let register = RegisterWebhook::new(WebhookUrl::parse("https://example.com/hook")?);
/// let request = register.build_request(&RequestContext::default())?;
/// assert_eq!(request.body().as_ref(), br#"{"url":"https://example.com/hook"}"#);
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterWebhook {
    url: WebhookUrl,
}

impl RegisterWebhook {
    /// Where webhooks are registered.
    pub const PATH: &'static str = COLLECTION;

    /// Registers `url`.
    pub fn new(url: WebhookUrl) -> Self {
        Self { url }
    }

    /// The URL registered.
    pub fn url(&self) -> &WebhookUrl {
        &self.url
    }
}

impl Endpoint for RegisterWebhook {
    type Output = ApiResponse<WebhookConfig>;

    fn info(&self) -> EndpointInfo {
        app_info(Method::POST, COLLECTION, EndpointGroup::RegisterWebhook)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        Ok(json_request(self.info(), ctx, COLLECTION, self))
    }

    /// Accepts the webhook under `data` (2.167, the docs) and bare at the top (2.166).
    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<WebhookConfig>, ApiError> {
        let mut response = decode_json::<WebhookConfig>(response)?;
        if response.data.is_none() && response.extra.contains_key("id") {
            let bare = std::mem::take(&mut response.extra);
            response.data = serde_json::from_value(Value::Object(bare)).ok();
        }
        Ok(response)
    }
}

/// Lists the app's webhooks: `GET /2/webhooks`, asking for every field.
///
/// ```
/// use xdm_core::endpoints::ListWebhooks;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let request = ListWebhooks::new().build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/webhooks?webhook_config.fields=created_at%2Cid%2Curl%2Cvalid"
/// );
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListWebhooks {
    _private: (),
}

impl ListWebhooks {
    /// Where webhooks are listed.
    pub const PATH: &'static str = COLLECTION;

    /// The listing.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Endpoint for ListWebhooks {
    type Output = ApiResponse<Vec<WebhookConfig>>;

    fn info(&self) -> EndpointInfo {
        app_info(Method::GET, COLLECTION, EndpointGroup::ListWebhooks)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        query.set_list(
            "webhook_config.fields",
            ["created_at", "id", "url", "valid"],
        );
        Ok(new_request(
            self.info(),
            ctx,
            COLLECTION,
            &query,
            Body::Empty,
        ))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<Vec<WebhookConfig>>, ApiError> {
        decode_json_list(response)
    }
}

/// The answer to a revalidation: 2.167 and the docs say `valid`, 2.166 said `attempted`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookValidation {
    /// Whether the CRC check passed (2.167).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// Whether a CRC check was attempted (2.166).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempted: Option<bool>,
    /// Keys this crate does not name, as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Asks X to run the CRC check again and re-enable the webhook if it passes:
/// `PUT /2/webhooks/{webhook_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateWebhook {
    id: WebhookId,
}

impl ValidateWebhook {
    /// Where one webhook lives.
    pub const PATH: &'static str = ONE;

    /// Revalidates `id`.
    pub fn new(id: WebhookId) -> Self {
        Self { id }
    }

    /// The webhook.
    pub fn id(&self) -> &WebhookId {
        &self.id
    }
}

one_id_endpoint!(
    ValidateWebhook => WebhookValidation,
    info: app_info(Method::PUT, ONE, EndpointGroup::ValidateWebhook),
    path: ONE, "webhook_id" = id
);

/// Deletes a webhook: `DELETE /2/webhooks/{webhook_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteWebhook {
    id: WebhookId,
}

impl DeleteWebhook {
    /// Where one webhook lives.
    pub const PATH: &'static str = ONE;

    /// Deletes `id`.
    pub fn new(id: WebhookId) -> Self {
        Self { id }
    }

    /// The webhook.
    pub fn id(&self) -> &WebhookId {
        &self.id
    }
}

one_id_endpoint!(
    DeleteWebhook => Deleted,
    info: app_info(Method::DELETE, ONE, EndpointGroup::DeleteWebhook),
    path: ONE, "webhook_id" = id
);

/// A replay job X accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayJob {
    /// The job's id; the completion notice on the webhook names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// When X created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Keys this crate does not name, as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Re-sends to a webhook every event delivered, or attempted, in a time range:
/// `POST /2/webhooks/replay`.
///
/// The range is sent to the minute, in UTC (`yyyymmddhhmm`); both ends are cut down to their
/// minute first, and checked after that: `from` before `to`, neither later than `now`, and
/// `from` no more than 24 hours before `now`. Replayed events carry `"meta":{"replay":true}`;
/// the job's end is announced on the webhook by a `replay_job_status` body. X runs one job per
/// webhook at a time.
///
/// ```
/// use jiff::Timestamp;
/// use xdm_core::endpoints::ReplayWebhook;
/// use xdm_core::ids::WebhookId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let now: Timestamp = "2025-12-01T12:30:00Z".parse().unwrap();
/// let from: Timestamp = "2025-12-01T11:00:00Z".parse().unwrap();
/// let to: Timestamp = "2025-12-01T12:00:59Z".parse().unwrap();
/// let webhook = WebhookId::parse("1146654567674912769")?;
/// let replay = ReplayWebhook::new(webhook.clone(), from, to, now)?;
/// let request = replay.build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.body().as_ref(),
///     br#"{"webhook_id":"1146654567674912769","from_date":"202512011100","to_date":"202512011200"}"#
/// );
/// let two_days_ago: Timestamp = "2025-11-29T12:00:00Z".parse().unwrap();
/// assert!(ReplayWebhook::new(webhook, two_days_ago, to, now).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayWebhook {
    webhook: WebhookId,
    from: Timestamp,
    to: Timestamp,
}

/// Cuts `t` down to its minute.
fn to_minute(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(60) * 60)
        .expect("a minute boundary at or before a valid timestamp is valid")
}

/// `yyyymmddhhmm` in UTC.
fn replay_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC).strftime("%Y%m%d%H%M").to_string()
}

impl ReplayWebhook {
    /// Where replays are asked for.
    pub const PATH: &'static str = "/2/webhooks/replay";
    /// How far back a replay reaches.
    pub const MAX_AGE: SignedDuration = SignedDuration::from_hours(24);

    /// A replay of `from` to `to` (both cut to the minute) to `webhook`, checked against `now`.
    pub fn new(
        webhook: WebhookId,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Self, InvalidInput> {
        let (from, to) = (to_minute(from), to_minute(to));
        let allowed = "a range within the last 24 hours, from_date before to_date, \
                       neither in the future (to the minute, UTC)";
        let refuse = |parameter: &'static str, problem: String| {
            InvalidInput::new(parameter, problem, allowed)
        };
        if from >= to {
            return Err(refuse(
                "from_date",
                format!("{} is not before {}", replay_time(from), replay_time(to)),
            ));
        }
        if to > now {
            return Err(refuse(
                "to_date",
                format!("{} is in the future", replay_time(to)),
            ));
        }
        if now.duration_since(from) > Self::MAX_AGE {
            return Err(refuse(
                "from_date",
                format!("{} is more than 24 hours ago", replay_time(from)),
            ));
        }
        Ok(Self { webhook, from, to })
    }

    /// The webhook replayed to.
    pub fn webhook(&self) -> &WebhookId {
        &self.webhook
    }

    /// The range's start, cut to its minute.
    pub fn from(&self) -> Timestamp {
        self.from
    }

    /// The range's end, cut to its minute.
    pub fn to(&self) -> Timestamp {
        self.to
    }
}

impl Endpoint for ReplayWebhook {
    type Output = ApiResponse<ReplayJob>;

    fn info(&self) -> EndpointInfo {
        app_info(Method::POST, Self::PATH, EndpointGroup::ReplayWebhook)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        #[derive(Serialize)]
        struct ReplayBody<'a> {
            webhook_id: &'a WebhookId,
            from_date: String,
            to_date: String,
        }
        let body = ReplayBody {
            webhook_id: &self.webhook,
            from_date: replay_time(self.from),
            to_date: replay_time(self.to),
        };
        Ok(json_request(self.info(), ctx, Self::PATH, &body))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<ReplayJob>, ApiError> {
        decode_json(response)
    }
}
