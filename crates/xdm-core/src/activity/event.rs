//! The one event model: what a stream line or a webhook body says happened.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::models::wire::wire_object;
use crate::models::{DmEvent, User};

/// Which API produced a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "the two activity products X has; a third would need its own decoder"
)]
pub enum Source {
    /// The X Activity API: a `{"data":{event_uuid, event_type, filter, tag, payload}}` envelope,
    /// on the stream or on a webhook.
    ActivityApi,
    /// The deprecated Account Activity API: a top-level body with `for_user_id`, webhook only.
    AccountActivity,
}

wire_object! {
    /// The subscription filter that matched a delivery. `{}` for `oauth.revoke`.
    ///
    /// For Account Activity bodies, which have no filter, `user_id` holds their `for_user_id`.
    pub struct Filter {
        /// The user the subscription follows.
        user_id("user_id"): String,
        /// The keyword of a keyword subscription (not used by `dm.*`).
        keyword("keyword"): String,
        /// `inbound` or `outbound`, when the subscription was scoped to one direction.
        direction("direction"): String,
    }
}

/// One delivery: an envelope and the events it carries, in the order they arrived.
///
/// A `dm.*` payload holds a list, so a delivery can carry more than one event; in every
/// published sample it carries one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActivityDelivery {
    /// Which API produced it.
    pub source: Source,
    /// `data.event_uuid`: X calls it the id of this delivery. Opaque: published samples are
    /// negative numbers, and some events have none. Whether it survives a redelivery is not
    /// documented, so deduplication does not rely on it for DMs.
    pub event_uuid: Option<String>,
    /// `data.event_type` as it arrived (`dm.received`, `dm.sent`, `dm.read`,
    /// `dm.indicate_typing`, `oauth.revoke`, or a type this crate does not know). `None` for
    /// Account Activity bodies, whose kinds are keys of the body instead.
    pub event_type: Option<String>,
    /// The filter that matched; see [`Filter`].
    pub filter: Filter,
    /// The subscription's tag.
    pub tag: Option<String>,
    /// `meta.replay`: `true` when a replay job re-sent the delivery.
    pub replay: bool,
    /// The users the payload describes, as [`User`] values. Activity API payloads carry v2
    /// users (wrapped in `{"data":…}` or bare); Account Activity bodies carry v1.1 users, which
    /// are mapped (`screen_name` to `username`, `profile_image_url_https` to
    /// `profile_image_url`, `statuses_count` to `public_metrics.tweet_count`,
    /// `friends_count` to `following_count`, epoch-ms `created_timestamp` to `created_at`;
    /// other keys go to `extra`). A user that does not decode is left out.
    pub users: Vec<User>,
    /// The events, in payload order.
    pub events: Vec<ActivityEvent>,
}

impl ActivityDelivery {
    /// The user this delivery is for: the filter's `user_id` (or an Account Activity body's
    /// `for_user_id`).
    pub fn for_user_id(&self) -> Option<&str> {
        self.filter.user_id.as_deref()
    }

    /// The payload's user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id.as_deref() == Some(id))
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActivityEvent {
    /// A message was sent or received (`dm.sent`, `dm.received`, Account Activity
    /// `direct_message_events`).
    Message(Box<DmMessage>),
    /// A participant read the conversation (`dm.read`, `direct_message_mark_read_events`).
    Read(ReadReceipt),
    /// A participant is typing (`dm.indicate_typing`, `direct_message_indicate_typing_events`).
    Typing(Typing),
    /// The user revoked the app's access (`oauth.revoke`, Account Activity `user_event.revoke`).
    Revoked(Revoked),
    /// Anything else, kept whole: other event types (posts, `chat.*`), and payloads whose shape
    /// did not match what this crate expects.
    Unknown(UnknownEvent),
}

/// Whether the filtered user sent or received a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::exhaustive_enums, reason = "a message is sent or received")]
pub enum Direction {
    /// The filtered user received it (`dm.received`).
    Received,
    /// The filtered user sent it (`dm.sent`; in Account Activity bodies,
    /// `sender_id == for_user_id`).
    Sent,
}

/// A message, as the same [`DmEvent`] that `GET /2/dm_events` returns, with the item it was
/// read from.
///
/// The mapping of a v1.1 `direct_message_events[]` item:
///
/// | `DmEvent` | from | |
/// |---|---|---|
/// | `id` | `id` | the same id space as `/2/dm_events` |
/// | `event_type` | `MessageCreate` for `type: message_create` | |
/// | `text` | `message_create.message_data.text` | |
/// | `sender_id` | `message_create.sender_id` | |
/// | `created_at` | `created_timestamp` (epoch milliseconds) as RFC 3339 with milliseconds, UTC | |
/// | `dm_conversation_id` | `"{smaller}-{larger}"` of sender and recipient, compared as integers | assumed |
/// | `entities` | `hashtags`, `symbols` (cashtags), `user_mentions`, `urls`, with `indices` as `start`/`end` | assumed |
///
/// Assumptions, since X documents neither side of them:
///
/// - **Conversation id.** The payload names one recipient and no conversation; the id is built
///   the way X writes one-to-one conversation ids. Whether group conversations produce these
///   events at all is unknown; an item with no recipient gets no conversation id.
/// - **Entity offsets** are copied as they are: v1.1 `indices` and v2 `start`/`end` are assumed
///   to count the same units. Entities are set only when at least one list is non-empty (as
///   the REST listing leaves them out), and left out if they do not decode.
/// - **Attachments.** How a v1.1 `attachment.media` maps to a v2 media key is not documented,
///   so `attachments` stays empty and the v1.1 attachment is available, as it arrived, through
///   [`DmMessage::attachment`]. Fetch `GET /2/dm_events/{id}` when the media key matters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DmMessage {
    /// The message as `/2/dm_events` models it.
    pub event: DmEvent,
    /// Whether the filtered user sent or received it.
    pub direction: Direction,
    /// The filtered user (`filter.user_id` or `for_user_id`), when the delivery names one.
    pub for_user_id: Option<String>,
    /// `message_create.target.recipient_id`.
    pub recipient_id: Option<String>,
    /// The `direct_message_events[]` item, exactly as it arrived.
    pub raw: RawJson,
}

impl DmMessage {
    /// The message's id (always present: an item without one is an [`UnknownEvent`]).
    pub fn id(&self) -> &str {
        self.event.id.as_deref().unwrap_or_default()
    }

    /// The v1.1 `message_data.attachment` as it arrived, if any.
    pub fn attachment(&self) -> Option<RawJson> {
        #[derive(serde::Deserialize)]
        struct Item<'a> {
            #[serde(borrow)]
            message_create: Option<Create<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Create<'a> {
            #[serde(borrow)]
            message_data: Option<Data<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Data<'a> {
            #[serde(borrow)]
            attachment: Option<&'a RawValue>,
        }
        let item: Item<'_> = self.raw.decode().ok()?;
        item.message_create?
            .message_data?
            .attachment
            .filter(|raw| raw.get() != "null")
            .map(RawJson::new)
    }
}

/// A read receipt: `reader_id` read the conversation with `other_id` up to
/// `last_read_event_id`.
///
/// X publishes no `dm.read` payload. This decodes the Account Activity item shape inside the
/// Activity API wrapper (`payload.direct_message_mark_read_events[]`, each
/// `{created_timestamp, sender_id, target: {recipient_id}, last_read_event_id}`), taking
/// `sender_id` as the reader; any other shape is an [`UnknownEvent`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReadReceipt {
    /// Who read (`sender_id`).
    pub reader_id: String,
    /// The other participant (`target.recipient_id`).
    pub other_id: Option<String>,
    /// The last message read.
    pub last_read_event_id: String,
    /// When, as RFC 3339 with milliseconds (UTC), from `created_timestamp`.
    pub at: Option<String>,
    /// The item, exactly as it arrived.
    pub raw: RawJson,
}

/// Someone is typing: `typist_id` to `recipient_id`.
///
/// Like [`ReadReceipt`], an assumed shape: the Account Activity item
/// (`payload.direct_message_indicate_typing_events[]`, each
/// `{created_timestamp, sender_id, target: {recipient_id}}`), `sender_id` being the typist.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Typing {
    /// Who is typing (`sender_id`).
    pub typist_id: String,
    /// To whom (`target.recipient_id`).
    pub recipient_id: Option<String>,
    /// When, as RFC 3339 with milliseconds (UTC), from `created_timestamp`.
    pub at: Option<String>,
    /// The item, exactly as it arrived.
    pub raw: RawJson,
}

/// A user revoked the app's access. Drop what is kept for that user: its private
/// subscriptions stop delivering.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Revoked {
    /// The user who revoked.
    pub user_id: String,
    /// The app that lost access.
    pub app_id: Option<String>,
    /// When, as X wrote it (`date_time`, RFC 3339).
    pub at: Option<String>,
    /// The payload (or Account Activity `revoke` object), exactly as it arrived.
    pub raw: RawJson,
}

/// An event this crate does not decode, kept as it arrived.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The event type (Activity API) or body key (Account Activity) it came under.
    pub kind: String,
    /// Why it was not decoded.
    pub reason: UnknownReason,
    /// The payload or item, exactly as it arrived (`null` when the envelope had no payload).
    pub raw: RawJson,
}

/// Why an event was kept as an [`UnknownEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownReason {
    /// An event type (or body key) this crate does not model, such as `chat.received`.
    UnknownType,
    /// A known type whose payload did not have the expected shape.
    UnexpectedShape(String),
}

/// A piece of JSON exactly as it arrived (bytes, key order, whitespace), without a parsed
/// tree. Two values are equal when their text is.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    pub(crate) fn new(raw: &RawValue) -> RawJson {
        RawJson(raw.to_owned())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON as a [`serde_json::Value`] tree.
    pub fn to_value(&self) -> serde_json::Value {
        // The text was checked when it was read, so it parses again.
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }

    /// Decodes the JSON into any type.
    pub fn decode<'a, T: serde::Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}

/// Times in the form `/2/dm_events` uses: RFC 3339, UTC, always three fractional digits.
pub(crate) fn rfc3339_millis(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Reads a v1.1 epoch-milliseconds string into the `/2/dm_events` time form.
pub(crate) fn epoch_millis_to_rfc3339(raw: &str) -> Option<String> {
    let ms: i64 = raw.parse().ok()?;
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(rfc3339_millis)
}

impl ReadReceipt {
    /// When the receipt was sent, read from [`at`](Self::at).
    pub fn at(&self) -> Option<jiff::Timestamp> {
        self.at.as_deref()?.parse().ok()
    }
}

impl Typing {
    /// When the typing started, read from [`at`](Self::at).
    pub fn at(&self) -> Option<jiff::Timestamp> {
        self.at.as_deref()?.parse().ok()
    }
}

impl Revoked {
    /// When the access was revoked, read from [`at`](Self::at).
    pub fn at(&self) -> Option<jiff::Timestamp> {
        self.at.as_deref()?.parse().ok()
    }
}
