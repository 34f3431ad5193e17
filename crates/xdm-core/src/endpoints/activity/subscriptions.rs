//! `/2/activity/subscriptions`: create, list, update and delete.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{count, replace_data, unexpected_shape};
use crate::endpoints::{Body, fill_path, info, json_request, new_request};
use crate::error::{ApiError, ApiErrorKind};
use crate::ids::{PaginationToken, SubscriptionId, UserId, WebhookId};
use crate::models::Deleted;
use crate::query::Query;
use crate::response::{ApiResponse, decode_json, decode_json_list};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext, Scope};

/// Where subscriptions live.
const COLLECTION: &str = "/2/activity/subscriptions";
/// Where one subscription lives.
const ONE: &str = "/2/activity/subscriptions/{subscription_id}";

/// What a user token must hold to subscribe to `dm.*` (and `chat.*`) events: `dm.read`, which
/// the spec names, with the `tweet.read` and `users.read` every DM token carries.
const DM_SCOPES: &[Scope] = &[Scope::DmRead, Scope::TweetRead, Scope::UsersRead];
const LIKE_SCOPES: &[Scope] = &[Scope::Other(Cow::Borrowed("like.read"))];
const MUTE_SCOPES: &[Scope] = &[Scope::Other(Cow::Borrowed("mute.read"))];
const BLOCK_SCOPES: &[Scope] = &[Scope::Other(Cow::Borrowed("block.read"))];
const TWEET_SCOPES: &[Scope] = &[Scope::TweetRead];

/// An activity event type to subscribe to, in X's dot notation.
///
/// The four Direct Message events are named; every other type X offers (profile, follow,
/// post, chat ...) goes through [`Other`](Self::Other), checked only for its dot-notation
/// shape so that types X adds later need no new release.
///
/// ```
/// use xdm_core::endpoints::SubscriptionEventType;
///
/// let t = SubscriptionEventType::parse("dm.received")?;
/// assert_eq!(t, SubscriptionEventType::DmReceived);
/// assert_eq!(SubscriptionEventType::parse("follow.follow")?.as_str(), "follow.follow");
/// assert!(SubscriptionEventType::parse("DirectMessageReceived").is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SubscriptionEventType {
    /// `dm.received`: the filtered user received a DM.
    DmReceived,
    /// `dm.sent`: the filtered user sent a DM.
    DmSent,
    /// `dm.read`: another participant read the filtered user's message.
    DmRead,
    /// `dm.indicate_typing`: another participant is typing to the filtered user.
    DmIndicateTyping,
    /// Any other type, such as `follow.follow`; build it with [`parse`](Self::parse).
    Other(String),
}

impl SubscriptionEventType {
    /// The four Direct Message event types.
    pub const DMS: [SubscriptionEventType; 4] = [
        SubscriptionEventType::DmReceived,
        SubscriptionEventType::DmSent,
        SubscriptionEventType::DmRead,
        SubscriptionEventType::DmIndicateTyping,
    ];

    /// Reads a dot-notation name: lowercase words of `a-z`, `0-9` and `_` joined by dots, at
    /// least two of them, at most 100 characters. The DM names become their variants.
    pub fn parse(name: &str) -> Result<Self, InvalidInput> {
        let word = |w: &str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let shaped = name.len() <= 100 && name.contains('.') && name.split('.').all(word);
        if !shaped {
            return Err(InvalidInput::new(
                "event_type",
                "not an event type in dot notation",
                "dot-notation names such as dm.received or follow.follow \
                 (lowercase words joined by dots, at most 100 characters)",
            ));
        }
        Ok(match name {
            "dm.received" => Self::DmReceived,
            "dm.sent" => Self::DmSent,
            "dm.read" => Self::DmRead,
            "dm.indicate_typing" => Self::DmIndicateTyping,
            other => Self::Other(other.to_owned()),
        })
    }

    /// The name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::DmReceived => "dm.received",
            Self::DmSent => "dm.sent",
            Self::DmRead => "dm.read",
            Self::DmIndicateTyping => "dm.indicate_typing",
            Self::Other(name) => name,
        }
    }

    /// Whether the type is a private message event (`dm.*` or `chat.*`), which only the user's
    /// own token with `dm.read` may subscribe to.
    pub fn is_private_message_event(&self) -> bool {
        let name = self.as_str();
        name.starts_with("dm.") || name.starts_with("chat.")
    }

    /// The OAuth 2.0 scopes a user token needs to subscribe to this type, as the spec's
    /// description of the create call lists them.
    pub fn scopes(&self) -> &'static [Scope] {
        let name = self.as_str();
        if self.is_private_message_event() {
            DM_SCOPES
        } else if name.starts_with("like.") {
            LIKE_SCOPES
        } else if name.starts_with("mute.") {
            MUTE_SCOPES
        } else if name.starts_with("block.") {
            BLOCK_SCOPES
        } else {
            TWEET_SCOPES
        }
    }
}

impl fmt::Display for SubscriptionEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SubscriptionEventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which side of a directional event a filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the spec's direction enum is inbound or outbound"
)]
pub enum Direction {
    /// `inbound`.
    Inbound,
    /// `outbound`.
    Outbound,
}

/// What a subscription matches: a user, and for some event types a keyword or a direction.
///
/// ```
/// use xdm_core::endpoints::SubscriptionFilter;
/// use xdm_core::ids::UserId;
///
/// let f = SubscriptionFilter::user(UserId::parse("1111111111111111111")?);
/// assert_eq!(f.user_id().map(UserId::as_str), Some("1111111111111111111"));
/// assert!(SubscriptionFilter::none().with_keyword("").is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriptionFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
}

impl SubscriptionFilter {
    /// The empty filter `{}` (for app-wide events such as `oauth.revoke`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Events concerning `user`: what every `dm.*` subscription needs.
    pub fn user(user: UserId) -> Self {
        Self {
            user_id: Some(user),
            ..Self::default()
        }
    }

    /// The same filter with a keyword of 1 to 150 characters.
    pub fn with_keyword(mut self, keyword: &str) -> Result<Self, InvalidInput> {
        let n = keyword.chars().count();
        if !(1..=150).contains(&n) {
            return Err(InvalidInput::new(
                "filter.keyword",
                format!("{n} characters"),
                "1 to 150 characters",
            ));
        }
        self.keyword = Some(keyword.to_owned());
        Ok(self)
    }

    /// The same filter keeping one direction only.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }

    /// The user filtered on.
    pub fn user_id(&self) -> Option<&UserId> {
        self.user_id.as_ref()
    }

    /// The keyword filtered on.
    pub fn keyword(&self) -> Option<&str> {
        self.keyword.as_deref()
    }

    /// The direction kept.
    pub fn direction(&self) -> Option<Direction> {
        self.direction
    }
}

/// A subscription's tag: 1 to 200 characters, echoed as `data.tag` on every event it delivers,
/// so that a receiver can route events without looking the subscription up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SubscriptionTag(String);

impl SubscriptionTag {
    /// Checks the length: 1 to 200 characters.
    pub fn parse(tag: &str) -> Result<Self, InvalidInput> {
        let n = tag.chars().count();
        if (1..=200).contains(&n) {
            Ok(Self(tag.to_owned()))
        } else {
            Err(InvalidInput::new(
                "tag",
                format!("{n} characters"),
                "1 to 200 characters",
            ))
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A subscription as X reports it.
///
/// X's sources disagree about which fields are present (2.167 requires none), so every field
/// is optional, ids stay strings as they arrived, and unknown keys are kept in
/// [`extra`](Self::extra).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subscription {
    /// The subscription's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// The event type, in dot notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The filter as X echoes it (`user_id`, `keyword`, `direction`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub filter: Map<String, Value>,
    /// The tag, when the subscription has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The webhook that receives the events; absent for a stream subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// When it was created (RFC 3339, with or without milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Keys this crate does not name, as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Subscription {
    /// The id, when X sent a well-formed one.
    pub fn id(&self) -> Option<SubscriptionId> {
        SubscriptionId::parse(self.subscription_id.as_deref()?).ok()
    }

    /// The filter's `user_id`, as X sent it.
    pub fn user_id(&self) -> Option<&str> {
        self.filter.get("user_id")?.as_str()
    }

    /// Whether events go to the stream (no webhook) rather than to a webhook.
    pub fn is_stream(&self) -> bool {
        self.webhook_id.is_none()
    }

    /// Whether this subscription delivers `event_type` for `user`.
    pub fn matches(&self, event_type: &SubscriptionEventType, user: &UserId) -> bool {
        self.event_type.as_deref() == Some(event_type.as_str())
            && self.user_id() == Some(user.as_str())
    }
}

/// One subscription with the count X reported beside it, from a create or an update.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SubscriptionRecord {
    /// The subscription.
    pub subscription: Subscription,
    /// How many subscriptions the app has, when X said (in `meta.total_subscriptions`,
    /// `data.total_subscriptions` or `data.total_subscriptions_for_instance_id`).
    pub total_subscriptions: Option<u64>,
}

/// Reads the subscription out of whichever of X's shapes the payload has:
/// `{"subscription":{…}, "total_…"?}` (2.166, 2.167, the guide), `[{…}]` (the quickstart's
/// first example) or the subscription itself, flat (its second).
fn record_from(response: ApiResponse<Value>) -> Result<ApiResponse<SubscriptionRecord>, ApiError> {
    let meta_total = response
        .meta
        .as_ref()
        .and_then(|m| count(m.extra.get("total_subscriptions")));
    let (subscription, total, path) = match &response.data {
        None | Some(Value::Null) => {
            return Err(ApiError::missing_data(
                response.status,
                response.headers,
                response.body,
                response.errors,
            ));
        }
        Some(Value::Object(map)) => match map.get("subscription") {
            Some(inner) => {
                let total = count(map.get("total_subscriptions"))
                    .or_else(|| count(map.get("total_subscriptions_for_instance_id")));
                (inner.clone(), total, "data.subscription")
            }
            None => (Value::Object(map.clone()), None, "data"),
        },
        Some(Value::Array(items)) => match items.iter().find(|v| !v.is_null()) {
            Some(first) => (first.clone(), None, "data[0]"),
            None => {
                return Err(ApiError::missing_data(
                    response.status,
                    response.headers,
                    response.body,
                    response.errors,
                ));
            }
        },
        Some(_) => {
            return Err(unexpected_shape(
                &response,
                "data",
                "expected a subscription object or a list of them",
            ));
        }
    };
    let subscription: Subscription = serde_json::from_value(subscription)
        .map_err(|e| unexpected_shape(&response, path, &e.to_string()))?;
    let record = SubscriptionRecord {
        subscription,
        total_subscriptions: total.or(meta_total),
    };
    Ok(replace_data(response, Some(record)))
}

/// Subscribes to one event type for one filter: `POST /2/activity/subscriptions`.
///
/// A `dm.*` subscription takes the user's own token (OAuth 2.0 user context with `dm.read`,
/// `tweet.read` and `users.read`, or OAuth 1.0a), and its filter must name that user: the
/// [`EndpointInfo`] says so, and the authorizers in `xdm-auth` refuse the app's Bearer token or
/// a token lacking `dm.read` before anything is sent. Without a webhook, the events go to the
/// app's stream.
///
/// X refuses a second subscription with the same event type and filter. The decoder turns that
/// refusal into [`CreateOutcome::Duplicate`], which setup code treats as "already there".
///
/// ```
/// use xdm_core::endpoints::{CreateSubscription, SubscriptionEventType};
/// use xdm_core::ids::UserId;
/// use xdm_core::{Credential, Endpoint, RequestContext};
///
/// let user = UserId::parse("1111111111111111111")?;
/// let create = CreateSubscription::for_user(SubscriptionEventType::DmReceived, user)?
///     .with_tag("dm-inbound")?;
/// let request = create.build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/activity/subscriptions");
/// assert_eq!(
///     request.body().as_ref(),
///     br#"{"event_type":"dm.received","filter":{"user_id":"1111111111111111111"},"tag":"dm-inbound"}"#
/// );
/// assert_eq!(create.info().credential, Credential::User);
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateSubscription {
    event_type: SubscriptionEventType,
    filter: SubscriptionFilter,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<SubscriptionTag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_id: Option<WebhookId>,
}

impl CreateSubscription {
    /// Where subscriptions are created.
    pub const PATH: &'static str = COLLECTION;

    /// A subscription to `event_type` with `filter`.
    ///
    /// A private message event (`dm.*`, `chat.*`) must filter on a user, and on nothing else:
    /// X lists only `user_id` for them.
    pub fn new(
        event_type: SubscriptionEventType,
        filter: SubscriptionFilter,
    ) -> Result<Self, InvalidInput> {
        if event_type.is_private_message_event() {
            if filter.user_id.is_none() {
                return Err(InvalidInput::new(
                    "filter.user_id",
                    format!("missing for {event_type}"),
                    "the id of the user who authorized the app",
                ));
            }
            if filter.keyword.is_some() || filter.direction.is_some() {
                return Err(InvalidInput::new(
                    "filter",
                    format!("keyword or direction given for {event_type}"),
                    "user_id only (dm.sent and dm.received already tell the direction)",
                ));
            }
        }
        Ok(Self {
            event_type,
            filter,
            tag: None,
            webhook_id: None,
        })
    }

    /// A subscription to `event_type` for `user`'s events.
    pub fn for_user(event_type: SubscriptionEventType, user: UserId) -> Result<Self, InvalidInput> {
        Self::new(event_type, SubscriptionFilter::user(user))
    }

    /// The same subscription with a tag of 1 to 200 characters.
    pub fn with_tag(mut self, tag: &str) -> Result<Self, InvalidInput> {
        self.tag = Some(SubscriptionTag::parse(tag)?);
        Ok(self)
    }

    /// The same subscription delivering to a registered webhook instead of the stream.
    pub fn with_webhook(mut self, webhook: WebhookId) -> Self {
        self.webhook_id = Some(webhook);
        self
    }

    /// The event type.
    pub fn event_type(&self) -> &SubscriptionEventType {
        &self.event_type
    }

    /// The filter.
    pub fn filter(&self) -> &SubscriptionFilter {
        &self.filter
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&SubscriptionTag> {
        self.tag.as_ref()
    }

    /// The webhook, if any.
    pub fn webhook(&self) -> Option<&WebhookId> {
        self.webhook_id.as_ref()
    }
}

/// What a create came to.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a create either made the subscription or found it already made"
)]
pub enum CreateOutcome {
    /// X created the subscription.
    Created(Box<ApiResponse<SubscriptionRecord>>),
    /// X refused it as a duplicate of one that exists: same event type and filter. Treat it
    /// as present; a list call tells its id.
    Duplicate(ApiError),
}

impl CreateOutcome {
    /// The created subscription, or `None` for a duplicate.
    pub fn created(&self) -> Option<&SubscriptionRecord> {
        match self {
            CreateOutcome::Created(response) => response.data.as_ref(),
            CreateOutcome::Duplicate(_) => None,
        }
    }

    /// Whether X refused the create as a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, CreateOutcome::Duplicate(_))
    }
}

/// Whether `error` is X refusing a subscription that already exists.
///
/// The refusal is not documented; integrators report a "DuplicateSubscription"-style error. So
/// any client-error status that says nothing about credentials or limits (not 401, not 429),
/// or a success without data, whose body mentions "duplicate" counts.
fn is_duplicate(error: &ApiError) -> bool {
    let status = error.status();
    let candidate = (status.is_client_error()
        && status != StatusCode::UNAUTHORIZED
        && status != StatusCode::TOO_MANY_REQUESTS)
        || (status.is_success() && matches!(error.kind(), ApiErrorKind::MissingData));
    candidate
        && error
            .body()
            .windows(b"duplicate".len())
            .any(|w| w.eq_ignore_ascii_case(b"duplicate"))
}

impl Endpoint for CreateSubscription {
    type Output = CreateOutcome;

    fn info(&self) -> EndpointInfo {
        info(
            Method::POST,
            COLLECTION,
            EndpointGroup::CreateSubscription,
            self.event_type.scopes(),
            Delivery::Idempotent,
        )
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        Ok(json_request(self.info(), ctx, COLLECTION, self))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<CreateOutcome, ApiError> {
        let decoded = decode_json::<Value>(response).and_then(record_from);
        match decoded {
            Ok(created) => Ok(CreateOutcome::Created(Box::new(created))),
            Err(e) if is_duplicate(&e) => Ok(CreateOutcome::Duplicate(e)),
            Err(e) => Err(e),
        }
    }
}

/// A page of subscriptions.
pub type SubscriptionPage = ApiResponse<Vec<Subscription>>;

/// Lists the app's subscriptions: `GET /2/activity/subscriptions`, with the app's Bearer token.
///
/// The response comes in three shapes (`meta` with `result_count` and `next_token`, `meta`
/// with `total_subscriptions`, or no `meta` at all as in 2.167); all decode to a
/// [`SubscriptionPage`]. Follow [`next_page`](Self::next_page) until it returns `None`.
///
/// ```
/// use bytes::Bytes;
/// use xdm_core::endpoints::ListSubscriptions;
/// use xdm_core::{Credential, Endpoint, RequestContext};
///
/// let list = ListSubscriptions::new().with_max_results(1000)?;
/// assert_eq!(list.info().credential, Credential::AppBearer);
/// let request = list.build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/activity/subscriptions?max_results=1000");
///
/// let body = r#"{"data":[{"subscription_id":"1","event_type":"dm.received",
///                "filter":{"user_id":"2"}}],"meta":{"result_count":1,"next_token":"7140dibdnow9c7btw4b"}}"#;
/// let page = list.decode_response(http::Response::new(Bytes::from(body))).unwrap();
/// let next = list.next_page(&page).unwrap();
/// assert_eq!(next.pagination_token().unwrap().as_str(), "7140dibdnow9c7btw4b");
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSubscriptions {
    max_results: Option<u16>,
    pagination_token: Option<PaginationToken>,
}

impl ListSubscriptions {
    /// Where subscriptions are listed.
    pub const PATH: &'static str = COLLECTION;
    /// The highest `max_results` X accepts.
    pub const MAX_RESULTS: u16 = 1000;

    /// The first page, with X's default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `max_results`, which must be 1 to 1000.
    pub fn with_max_results(mut self, n: u32) -> Result<Self, InvalidInput> {
        match u16::try_from(n) {
            Ok(n @ 1..=Self::MAX_RESULTS) => {
                self.max_results = Some(n);
                Ok(self)
            }
            _ => Err(InvalidInput::new(
                "max_results",
                format!("{n} is out of range"),
                "1 to 1000",
            )),
        }
    }

    /// Sets the page to fetch, from a previous page's `meta.next_token`.
    pub fn with_pagination_token(mut self, token: PaginationToken) -> Self {
        self.pagination_token = Some(token);
        self
    }

    /// `max_results`, if set.
    pub fn max_results(&self) -> Option<u16> {
        self.max_results
    }

    /// The page token, if set.
    pub fn pagination_token(&self) -> Option<&PaginationToken> {
        self.pagination_token.as_ref()
    }

    /// The request for the page after `page`, or `None` when the listing is done: `page` was
    /// empty, carried no (or a malformed) `next_token`, or pointed back at this very page.
    pub fn next_page(&self, page: &SubscriptionPage) -> Option<Self> {
        if page.items().is_empty() {
            return None;
        }
        let token = PaginationToken::parse(page.next_token()?).ok()?;
        if self.pagination_token.as_ref() == Some(&token) {
            return None;
        }
        Some(Self {
            max_results: self.max_results,
            pagination_token: Some(token),
        })
    }
}

impl Endpoint for ListSubscriptions {
    type Output = SubscriptionPage;

    fn info(&self) -> EndpointInfo {
        info(
            Method::GET,
            COLLECTION,
            EndpointGroup::ListSubscriptions,
            &[],
            Delivery::Idempotent,
        )
        .app_only()
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        if let Some(n) = self.max_results {
            query.set("max_results", n.to_string());
        }
        if let Some(token) = &self.pagination_token {
            query.set("pagination_token", token.as_str());
        }
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
    ) -> Result<SubscriptionPage, ApiError> {
        decode_json_list(response)
    }
}

/// Changes a subscription's tag or webhook: `PUT /2/activity/subscriptions/{subscription_id}`,
/// with the app's Bearer token.
///
/// Event type and filter cannot change; delete and create again for that.
///
/// ```
/// use xdm_core::endpoints::{SubscriptionTag, UpdateSubscription};
/// use xdm_core::ids::SubscriptionId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let id = SubscriptionId::parse("1976325569252868096")?;
/// let update = UpdateSubscription::new(id.clone(), Some(SubscriptionTag::parse("bot")?), None)?;
/// let request = update.build_request(&RequestContext::default())?;
/// assert_eq!(request.method(), "PUT");
/// assert_eq!(request.body().as_ref(), br#"{"tag":"bot"}"#);
/// assert!(UpdateSubscription::new(id, None, None).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSubscription {
    id: SubscriptionId,
    tag: Option<SubscriptionTag>,
    webhook_id: Option<WebhookId>,
}

impl UpdateSubscription {
    /// Where one subscription lives.
    pub const PATH: &'static str = ONE;

    /// Sets the tag, the webhook, or both; at least one must be given.
    pub fn new(
        id: SubscriptionId,
        tag: Option<SubscriptionTag>,
        webhook: Option<WebhookId>,
    ) -> Result<Self, InvalidInput> {
        if tag.is_none() && webhook.is_none() {
            return Err(InvalidInput::new(
                "tag, webhook_id",
                "nothing to change",
                "a new tag, a webhook id, or both",
            ));
        }
        Ok(Self {
            id,
            tag,
            webhook_id: webhook,
        })
    }

    /// The subscription changed.
    pub fn id(&self) -> &SubscriptionId {
        &self.id
    }
}

impl Endpoint for UpdateSubscription {
    type Output = ApiResponse<SubscriptionRecord>;

    fn info(&self) -> EndpointInfo {
        info(
            Method::PUT,
            ONE,
            EndpointGroup::UpdateSubscription,
            &[],
            Delivery::Idempotent,
        )
        .app_only()
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        #[derive(Serialize)]
        struct Change<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: Option<&'a SubscriptionTag>,
            #[serde(skip_serializing_if = "Option::is_none")]
            webhook_id: Option<&'a WebhookId>,
        }
        let body = Change {
            tag: self.tag.as_ref(),
            webhook_id: self.webhook_id.as_ref(),
        };
        let path = fill_path(ONE, &[("subscription_id", self.id.as_str())]);
        Ok(json_request(self.info(), ctx, &path, &body))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<SubscriptionRecord>, ApiError> {
        decode_json::<Value>(response).and_then(record_from)
    }
}

/// Deletes one subscription: `DELETE /2/activity/subscriptions/{subscription_id}`, with the
/// app's Bearer token. `meta.total_subscriptions` (in the response's `meta.extra`) counts
/// what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSubscription {
    id: SubscriptionId,
}

impl DeleteSubscription {
    /// Where one subscription lives.
    pub const PATH: &'static str = ONE;

    /// Deletes `id`.
    pub fn new(id: SubscriptionId) -> Self {
        Self { id }
    }

    /// The subscription deleted.
    pub fn id(&self) -> &SubscriptionId {
        &self.id
    }
}

one_id_endpoint!(
    DeleteSubscription => Deleted,
    info: info(
        Method::DELETE,
        ONE,
        EndpointGroup::DeleteSubscription,
        &[],
        Delivery::Idempotent,
    )
    .app_only(),
    path: ONE, "subscription_id" = id
);

/// Deletes up to 100 subscriptions at once: `DELETE /2/activity/subscriptions?ids=…`, with the
/// app's Bearer token.
///
/// Failures are per id and do not stop the rest: they come back in
/// [`DeletedSubscriptions::failures`], not as an error.
///
/// ```
/// use xdm_core::endpoints::DeleteSubscriptions;
/// use xdm_core::ids::SubscriptionId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let ids = ["1", "2", "1"].map(|s| SubscriptionId::parse(s).unwrap());
/// let delete = DeleteSubscriptions::new(ids)?;
/// let request = delete.build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/activity/subscriptions?ids=1%2C2");
/// assert!(DeleteSubscriptions::new([]).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSubscriptions {
    ids: Vec<SubscriptionId>,
}

impl DeleteSubscriptions {
    /// Where the delete of many lives.
    pub const PATH: &'static str = COLLECTION;
    /// The most ids one request takes.
    pub const MAX_IDS: usize = 100;

    /// Deletes `ids`: 1 to 100 distinct ids (repeats are dropped, the first kept).
    pub fn new(ids: impl IntoIterator<Item = SubscriptionId>) -> Result<Self, InvalidInput> {
        let mut unique: Vec<SubscriptionId> = Vec::new();
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if !(1..=Self::MAX_IDS).contains(&unique.len()) {
            return Err(InvalidInput::new(
                "ids",
                format!("{} distinct ids", unique.len()),
                "1 to 100 subscription ids",
            ));
        }
        Ok(Self { ids: unique })
    }

    /// The ids to delete.
    pub fn ids(&self) -> &[SubscriptionId] {
        &self.ids
    }
}

/// One id of a delete of many that X deleted (or says it did not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedSubscription {
    /// The id.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Whether it is gone.
    #[serde(default)]
    pub deleted: bool,
}

/// One id of a delete of many that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteFailure {
    /// The id the failure applies to.
    pub subscription_id: Option<String>,
    /// X's machine-readable reason.
    pub reason: Option<String>,
    /// X's explanation.
    pub message: Option<String>,
}

/// The result of a delete of many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedSubscriptions {
    /// The ids X reported on, deleted or not.
    pub deleted: Vec<DeletedSubscription>,
    /// The ids that failed, with why.
    pub failures: Vec<DeleteFailure>,
    /// How many subscriptions are left, when X said.
    pub total_subscriptions: Option<u64>,
}

impl Endpoint for DeleteSubscriptions {
    type Output = ApiResponse<DeletedSubscriptions>;

    fn info(&self) -> EndpointInfo {
        info(
            Method::DELETE,
            COLLECTION,
            EndpointGroup::DeleteSubscription,
            &[],
            Delivery::Idempotent,
        )
        .app_only()
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        query.set_list("ids", self.ids.iter().map(SubscriptionId::as_str));
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
    ) -> Result<ApiResponse<DeletedSubscriptions>, ApiError> {
        let mut response = decode_json_list::<DeletedSubscription>(response)?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        // The `errors` of this response are per-id failures, not problems; the envelope reads
        // them as problems without losing a key, so they are rebuilt from there.
        let failures = response
            .errors
            .iter()
            .map(|p| DeleteFailure {
                subscription_id: text(p.extra.get("subscription_id")).or(p.resource_id.clone()),
                reason: p.reason.clone(),
                message: text(p.extra.get("message")).or(p.detail.clone()),
            })
            .collect();
        let result = DeletedSubscriptions {
            deleted: response.data.take().unwrap_or_default(),
            failures,
            total_subscriptions: response
                .meta
                .as_ref()
                .and_then(|m| count(m.extra.get("total_subscriptions"))),
        };
        Ok(replace_data(response, Some(result)))
    }
}
