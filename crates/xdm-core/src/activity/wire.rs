//! Reading the wire shapes into the event model.
//!
//! Each level of a body is read into a small borrowing struct whose unknown fields are
//! skipped, and whose nested parts are kept as borrowed [`RawValue`]s until the level above
//! knows what they are (the `payload` of an envelope can come before its `event_type`). Strings
//! are borrowed from the input unless they hold escapes, so decoding allocates little beyond
//! the event it produces and the copy of the raw item it keeps.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::event::{
    ActivityDelivery, ActivityEvent, Direction, DmMessage, Filter, RawJson, ReadReceipt, Revoked,
    Source, Typing, UnknownEvent, UnknownReason, epoch_millis_to_rfc3339,
};
use crate::models::wire::Key;
use crate::models::{DmEvent, Entities, EventType, MentionEntity, TagEntity, UrlEntity, User};

/// A string, or a number read as its decimal text; borrowed when the input allows.
///
/// Ids and timestamps are strings on X's wire, but a lenient reader costs nothing here and
/// keeps an event that a server wrote with a bare number.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }

        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

impl Text<'_> {
    fn owned(self) -> String {
        self.0.into_owned()
    }
}

fn owned(text: Option<Text<'_>>) -> Option<String> {
    text.map(Text::owned)
}

/// The members of a JSON object, values unparsed, in their order.
pub(crate) struct Members<'a>(pub(crate) Vec<(Key<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
            type Value = Members<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4).min(16));
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let value = map.next_value::<&'de RawValue>()?;
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }

        d.deserialize_map(MembersVisitor(std::marker::PhantomData))
    }
}

impl<'a> Members<'a> {
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| *value)
    }
}

/// What a JSON document at the top of a line or webhook body is.
pub(crate) enum Document<'a> {
    /// An Activity API envelope or a stream line: `data`, `errors`, or both.
    Envelope {
        data: Option<&'a RawValue>,
        errors: Option<&'a RawValue>,
        meta: Option<&'a RawValue>,
    },
    /// An Account Activity body (top-level `for_user_id`).
    AccountActivity(Members<'a>),
    /// A replay job's completion notice.
    ReplayJobStatus(&'a RawValue),
    /// An object of none of these shapes.
    Other,
}

/// Reads the top of a document. Fails only when `bytes` is not one JSON object.
pub(crate) fn document(bytes: &[u8]) -> Result<Document<'_>, String> {
    let members: Members<'_> = serde_json::from_slice(bytes).map_err(|e| describe(&e))?;
    let data = members.get("data").filter(|v| !is_null(v));
    let errors = members.get("errors").filter(|v| !is_null(v));
    if data.is_some() || errors.is_some() {
        return Ok(Document::Envelope {
            data,
            errors,
            meta: members.get("meta"),
        });
    }
    if let Some(status) = members.get("replay_job_status") {
        return Ok(Document::ReplayJobStatus(status));
    }
    if members.get("for_user_id").is_some() {
        return Ok(Document::AccountActivity(members));
    }
    Ok(Document::Other)
}

/// A short reason for a JSON error, without quoting the input.
pub(crate) fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "unreadable input",
        Category::Syntax => "not valid JSON",
        Category::Data => "not a JSON object of the expected shape",
        Category::Eof => "JSON cut short",
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// `meta.replay`; anything else reads as `false`.
pub(crate) fn is_replay(meta: Option<&RawValue>) -> bool {
    #[derive(Deserialize)]
    struct Meta {
        replay: Option<bool>,
    }
    meta.and_then(|m| serde_json::from_str::<Meta>(m.get()).ok())
        .and_then(|m| m.replay)
        .unwrap_or(false)
}

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(borrow)]
    event_uuid: Option<Text<'a>>,
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
    filter: Option<Filter>,
    #[serde(borrow)]
    tag: Option<Text<'a>>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
}

/// Decodes an Activity API `data` object. Fails when `data` is not an envelope object; a
/// payload that does not match its type is kept as an unknown event instead.
pub(crate) fn envelope(data: &RawValue, replay: bool) -> Result<ActivityDelivery, String> {
    let wire: WireEnvelope<'_> = serde_json::from_str(data.get()).map_err(|e| describe(&e))?;
    let event_type = owned(wire.event_type);
    let filter = wire.filter.unwrap_or_default();
    let mut delivery = ActivityDelivery {
        source: Source::ActivityApi,
        event_uuid: owned(wire.event_uuid),
        event_type,
        filter,
        tag: owned(wire.tag),
        replay,
        users: Vec::new(),
        events: Vec::new(),
    };
    let payload: &RawValue = match wire.payload {
        Some(payload) => payload,
        None => null_raw(),
    };
    let kind = delivery.event_type.as_deref().unwrap_or("");
    let for_user = delivery.filter.user_id.clone();
    let for_user = for_user.as_deref();
    let (events, users) = match kind {
        "dm.received" => dm_payload(
            payload,
            kind,
            &Lists::MESSAGES,
            Some(Direction::Received),
            for_user,
        ),
        "dm.sent" => dm_payload(
            payload,
            kind,
            &Lists::MESSAGES,
            Some(Direction::Sent),
            for_user,
        ),
        "dm.read" => dm_payload(payload, kind, &Lists::READS, None, for_user),
        "dm.indicate_typing" => dm_payload(payload, kind, &Lists::TYPING, None, for_user),
        "oauth.revoke" => (vec![revoke(payload, kind)], Vec::new()),
        _ => (
            vec![unknown(kind, UnknownReason::UnknownType, payload)],
            Vec::new(),
        ),
    };
    delivery.events = events;
    delivery.users = users;
    Ok(delivery)
}

fn null_raw() -> &'static RawValue {
    // A literal that is valid JSON; the conversion cannot fail.
    serde_json::from_str("null").expect("`null` is JSON")
}

fn unknown(kind: &str, reason: UnknownReason, raw: &RawValue) -> ActivityEvent {
    ActivityEvent::Unknown(UnknownEvent {
        kind: kind.to_owned(),
        reason,
        raw: RawJson::new(raw),
    })
}

fn shape(kind: &str, detail: impl Into<String>, raw: &RawValue) -> ActivityEvent {
    unknown(kind, UnknownReason::UnexpectedShape(detail.into()), raw)
}

/// Which list of a `dm.*` payload an event type reads.
struct Lists {
    key: &'static str,
    item: fn(&RawValue, &ItemContext<'_>) -> ActivityEvent,
}

impl Lists {
    const MESSAGES: Lists = Lists {
        key: "direct_message_events",
        item: message,
    };
    const READS: Lists = Lists {
        key: "direct_message_mark_read_events",
        item: read_receipt,
    };
    const TYPING: Lists = Lists {
        key: "direct_message_indicate_typing_events",
        item: typing,
    };
}

/// What an item decoder needs to know about the delivery around it.
struct ItemContext<'a> {
    kind: &'a str,
    for_user: Option<&'a str>,
    /// The direction the event type says, or `None` to derive it from the sender.
    direction: Option<Direction>,
}

#[derive(Deserialize)]
struct WireDmPayload<'a> {
    #[serde(borrow, default)]
    direct_message_events: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    direct_message_mark_read_events: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    direct_message_indicate_typing_events: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    users: Option<&'a RawValue>,
}

impl<'a> WireDmPayload<'a> {
    fn list(&self, key: &str) -> Option<&Vec<&'a RawValue>> {
        match key {
            "direct_message_events" => self.direct_message_events.as_ref(),
            "direct_message_mark_read_events" => self.direct_message_mark_read_events.as_ref(),
            _ => self.direct_message_indicate_typing_events.as_ref(),
        }
    }
}

fn dm_payload(
    payload: &RawValue,
    kind: &str,
    lists: &Lists,
    direction: Option<Direction>,
    for_user: Option<&str>,
) -> (Vec<ActivityEvent>, Vec<User>) {
    let wire: WireDmPayload<'_> = match serde_json::from_str(payload.get()) {
        Ok(wire) => wire,
        Err(e) => return (vec![shape(kind, describe(&e), payload)], Vec::new()),
    };
    let Some(items) = wire.list(lists.key) else {
        let detail = format!("the payload has no `{}` list", lists.key);
        return (vec![shape(kind, detail, payload)], Vec::new());
    };
    let context = ItemContext {
        kind,
        for_user,
        direction,
    };
    let events = items
        .iter()
        .map(|item| (lists.item)(item, &context))
        .collect();
    (events, wire.users.map(users).unwrap_or_default())
}

#[derive(Deserialize)]
struct WireTarget<'a> {
    #[serde(borrow)]
    recipient_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    created_timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    message_create: Option<WireMessageCreate<'a>>,
}

#[derive(Deserialize)]
struct WireMessageCreate<'a> {
    #[serde(borrow)]
    target: Option<WireTarget<'a>>,
    #[serde(borrow)]
    sender_id: Option<Text<'a>>,
    #[serde(borrow)]
    message_data: Option<WireMessageData<'a>>,
}

#[derive(Deserialize)]
struct WireMessageData<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    entities: Option<&'a RawValue>,
}

fn message(raw: &RawValue, context: &ItemContext<'_>) -> ActivityEvent {
    let kind = context.kind;
    let wire: WireMessage<'_> = match serde_json::from_str(raw.get()) {
        Ok(wire) => wire,
        Err(e) => return shape(kind, describe(&e), raw),
    };
    match wire.kind.as_ref().map(|t| t.0.as_ref()) {
        Some("message_create") => {}
        Some(_) => return shape(kind, "an item whose `type` is not `message_create`", raw),
        None => return shape(kind, "an item without `type`", raw),
    }
    let Some(id) = wire.id else {
        return shape(kind, "a message without `id`", raw);
    };
    let Some(create) = wire.message_create else {
        return shape(kind, "a message without `message_create`", raw);
    };
    let Some(sender) = create.sender_id else {
        return shape(kind, "a message without `message_create.sender_id`", raw);
    };
    let recipient = create.target.and_then(|t| t.recipient_id).map(Text::owned);
    let (text, entities) = match create.message_data {
        Some(data) => (owned(data.text), data.entities.and_then(entities)),
        None => (None, None),
    };
    let direction = context.direction.unwrap_or({
        if Some(sender.0.as_ref()) == context.for_user {
            Direction::Sent
        } else {
            Direction::Received
        }
    });
    let event = DmEvent {
        id: Some(id.owned()),
        event_type: Some(EventType::MessageCreate),
        text,
        created_at: wire
            .created_timestamp
            .and_then(|t| epoch_millis_to_rfc3339(&t.0)),
        dm_conversation_id: recipient
            .as_deref()
            .and_then(|r| one_to_one_conversation(&sender.0, r)),
        sender_id: Some(sender.owned()),
        entities,
        ..DmEvent::default()
    };
    ActivityEvent::Message(Box::new(DmMessage {
        event,
        direction,
        for_user_id: context.for_user.map(str::to_owned),
        recipient_id: recipient,
        raw: RawJson::new(raw),
    }))
}

/// The id X gives a one-to-one conversation: the two user ids, smaller first, compared as
/// numbers. `None` unless both are numbers and differ.
pub(crate) fn one_to_one_conversation(a: &str, b: &str) -> Option<String> {
    let x: u64 = a.parse().ok()?;
    let y: u64 = b.parse().ok()?;
    match x.cmp(&y) {
        std::cmp::Ordering::Less => Some(format!("{x}-{y}")),
        std::cmp::Ordering::Greater => Some(format!("{y}-{x}")),
        std::cmp::Ordering::Equal => None,
    }
}

#[derive(Deserialize)]
struct WireEntities<'a> {
    #[serde(borrow)]
    hashtags: Option<Vec<WireTag<'a>>>,
    #[serde(borrow)]
    symbols: Option<Vec<WireTag<'a>>>,
    #[serde(borrow)]
    user_mentions: Option<Vec<WireMention<'a>>>,
    #[serde(borrow)]
    urls: Option<Vec<WireUrl<'a>>>,
}

#[derive(Deserialize)]
struct WireTag<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    indices: Option<[u64; 2]>,
}

#[derive(Deserialize)]
struct WireMention<'a> {
    #[serde(borrow)]
    screen_name: Option<Text<'a>>,
    #[serde(borrow)]
    id_str: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    indices: Option<[u64; 2]>,
}

#[derive(Deserialize)]
struct WireUrl<'a> {
    #[serde(borrow)]
    url: Option<Text<'a>>,
    #[serde(borrow)]
    expanded_url: Option<Text<'a>>,
    #[serde(borrow)]
    display_url: Option<Text<'a>>,
    indices: Option<[u64; 2]>,
}

fn span(indices: Option<[u64; 2]>) -> (Option<u64>, Option<u64>) {
    match indices {
        Some([start, end]) => (Some(start), Some(end)),
        None => (None, None),
    }
}

/// v1.1 entities as `/2/dm_events` entities; `None` when there are none or they do not decode.
fn entities(raw: &RawValue) -> Option<Entities> {
    let wire: WireEntities<'_> = serde_json::from_str(raw.get()).ok()?;
    let tags = |list: Option<Vec<WireTag<'_>>>| -> Option<Vec<TagEntity>> {
        let list = list.filter(|l| !l.is_empty())?;
        Some(
            list.into_iter()
                .map(|t| {
                    let (start, end) = span(t.indices);
                    TagEntity {
                        start,
                        end,
                        tag: owned(t.text),
                        ..TagEntity::default()
                    }
                })
                .collect(),
        )
    };
    let hashtags = tags(wire.hashtags);
    let cashtags = tags(wire.symbols);
    let mentions = wire.user_mentions.filter(|l| !l.is_empty()).map(|list| {
        list.into_iter()
            .map(|m| {
                let (start, end) = span(m.indices);
                MentionEntity {
                    start,
                    end,
                    username: owned(m.screen_name),
                    id: owned(m.id_str.or(m.id)),
                    ..MentionEntity::default()
                }
            })
            .collect()
    });
    let urls = wire.urls.filter(|l| !l.is_empty()).map(|list| {
        list.into_iter()
            .map(|u| {
                let (start, end) = span(u.indices);
                UrlEntity {
                    start,
                    end,
                    url: owned(u.url),
                    display_url: owned(u.display_url),
                    expanded_url: owned(u.expanded_url),
                    ..UrlEntity::default()
                }
            })
            .collect()
    });
    if hashtags.is_none() && cashtags.is_none() && mentions.is_none() && urls.is_none() {
        return None;
    }
    Some(Entities {
        hashtags,
        cashtags,
        mentions,
        urls,
        ..Entities::default()
    })
}

#[derive(Deserialize)]
struct WireMarker<'a> {
    #[serde(borrow)]
    created_timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    sender_id: Option<Text<'a>>,
    #[serde(borrow)]
    target: Option<WireTarget<'a>>,
    #[serde(borrow)]
    last_read_event_id: Option<Text<'a>>,
}

fn marker<'a>(raw: &'a RawValue, kind: &str) -> Result<(WireMarker<'a>, Text<'a>), ActivityEvent> {
    let mut wire: WireMarker<'a> =
        serde_json::from_str(raw.get()).map_err(|e| shape(kind, describe(&e), raw))?;
    let sender = wire
        .sender_id
        .take()
        .ok_or_else(|| shape(kind, "an item without `sender_id`", raw))?;
    Ok((wire, sender))
}

fn read_receipt(raw: &RawValue, context: &ItemContext<'_>) -> ActivityEvent {
    let (wire, reader) = match marker(raw, context.kind) {
        Ok(parts) => parts,
        Err(event) => return event,
    };
    let Some(last_read) = wire.last_read_event_id else {
        return shape(
            context.kind,
            "a read receipt without `last_read_event_id`",
            raw,
        );
    };
    ActivityEvent::Read(ReadReceipt {
        reader_id: reader.owned(),
        other_id: wire.target.and_then(|t| t.recipient_id).map(Text::owned),
        last_read_event_id: last_read.owned(),
        at: wire
            .created_timestamp
            .and_then(|t| epoch_millis_to_rfc3339(&t.0)),
        raw: RawJson::new(raw),
    })
}

fn typing(raw: &RawValue, context: &ItemContext<'_>) -> ActivityEvent {
    let (wire, typist) = match marker(raw, context.kind) {
        Ok(parts) => parts,
        Err(event) => return event,
    };
    ActivityEvent::Typing(Typing {
        typist_id: typist.owned(),
        recipient_id: wire.target.and_then(|t| t.recipient_id).map(Text::owned),
        at: wire
            .created_timestamp
            .and_then(|t| epoch_millis_to_rfc3339(&t.0)),
        raw: RawJson::new(raw),
    })
}

/// The Activity API `oauth.revoke` payload: `{date_time, user_id, app_id}`.
fn revoke(payload: &RawValue, kind: &str) -> ActivityEvent {
    #[derive(Deserialize)]
    struct WireRevoke<'a> {
        #[serde(borrow)]
        date_time: Option<Text<'a>>,
        #[serde(borrow)]
        user_id: Option<Text<'a>>,
        #[serde(borrow)]
        app_id: Option<Text<'a>>,
    }
    let wire: WireRevoke<'_> = match serde_json::from_str(payload.get()) {
        Ok(wire) => wire,
        Err(e) => return shape(kind, describe(&e), payload),
    };
    let Some(user) = wire.user_id else {
        return shape(kind, "a revocation without `user_id`", payload);
    };
    ActivityEvent::Revoked(Revoked {
        user_id: user.owned(),
        app_id: owned(wire.app_id),
        at: owned(wire.date_time),
        raw: RawJson::new(payload),
    })
}

/// The Account Activity revocation: `{"revoke":{date_time, target:{app_id}, source:{user_id}}}`
/// under the body's `user_event`.
fn account_revoke(user_event: &RawValue) -> ActivityEvent {
    const KIND: &str = "user_event";
    #[derive(Deserialize)]
    struct WireUserEvent<'a> {
        #[serde(borrow)]
        revoke: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct WireRevoke<'a> {
        #[serde(borrow)]
        date_time: Option<Text<'a>>,
        #[serde(borrow)]
        target: Option<WireApp<'a>>,
        #[serde(borrow)]
        source: Option<WireUser<'a>>,
    }
    #[derive(Deserialize)]
    struct WireApp<'a> {
        #[serde(borrow)]
        app_id: Option<Text<'a>>,
    }
    #[derive(Deserialize)]
    struct WireUser<'a> {
        #[serde(borrow)]
        user_id: Option<Text<'a>>,
    }
    let revoke = match serde_json::from_str::<WireUserEvent<'_>>(user_event.get()) {
        Ok(WireUserEvent { revoke: Some(r) }) => r,
        Ok(_) => return unknown(KIND, UnknownReason::UnknownType, user_event),
        Err(e) => return shape(KIND, describe(&e), user_event),
    };
    let wire: WireRevoke<'_> = match serde_json::from_str(revoke.get()) {
        Ok(wire) => wire,
        Err(e) => return shape(KIND, describe(&e), revoke),
    };
    let Some(user) = wire.source.and_then(|s| s.user_id) else {
        return shape(KIND, "a revocation without `source.user_id`", revoke);
    };
    ActivityEvent::Revoked(Revoked {
        user_id: user.owned(),
        app_id: owned(wire.target.and_then(|t| t.app_id)),
        at: owned(wire.date_time),
        raw: RawJson::new(revoke),
    })
}

/// Keys of an Account Activity body that describe it rather than carry events.
const ACCOUNT_METADATA: &[&str] = &["for_user_id", "users", "apps", "meta"];

/// Decodes an Account Activity body: its DM lists and revocation; every other key (posts,
/// follows, …) becomes an unknown event named after the key.
pub(crate) fn account_activity(members: &Members<'_>) -> ActivityDelivery {
    let for_user = members
        .get("for_user_id")
        .and_then(|raw| serde_json::from_str::<Text<'_>>(raw.get()).ok())
        .map(Text::owned);
    let mut events = Vec::new();
    for (key, value) in &members.0 {
        let key = key.as_str();
        if ACCOUNT_METADATA.contains(&key) {
            continue;
        }
        let lists = match key {
            "direct_message_events" => &Lists::MESSAGES,
            "direct_message_mark_read_events" => &Lists::READS,
            "direct_message_indicate_typing_events" => &Lists::TYPING,
            "user_event" => {
                events.push(account_revoke(value));
                continue;
            }
            _ => {
                events.push(unknown(key, UnknownReason::UnknownType, value));
                continue;
            }
        };
        let items: Vec<&RawValue> = match serde_json::from_str(value.get()) {
            Ok(items) => items,
            Err(e) => {
                events.push(shape(key, describe(&e), value));
                continue;
            }
        };
        let context = ItemContext {
            kind: key,
            for_user: for_user.as_deref(),
            direction: None,
        };
        events.extend(items.iter().map(|item| (lists.item)(item, &context)));
    }
    ActivityDelivery {
        source: Source::AccountActivity,
        event_uuid: None,
        event_type: None,
        filter: Filter {
            user_id: for_user,
            ..Filter::default()
        },
        tag: None,
        replay: is_replay(members.get("meta")),
        users: members.get("users").map(users).unwrap_or_default(),
        events,
    }
}

/// The values of a `users` map as [`User`]s: `{"data": user}`, a bare v2 user, or a v1.1 user.
fn users(map: &RawValue) -> Vec<User> {
    let Ok(members) = serde_json::from_str::<Members<'_>>(map.get()) else {
        return Vec::new();
    };
    members.0.iter().filter_map(|(_, raw)| user(raw)).collect()
}

fn user(raw: &RawValue) -> Option<User> {
    #[derive(Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        data: Option<&'a RawValue>,
        screen_name: Option<de::IgnoredAny>,
    }
    let peek: Peek<'_> = serde_json::from_str(raw.get()).ok()?;
    if let Some(data) = peek.data {
        return serde_json::from_str(data.get()).ok();
    }
    if peek.screen_name.is_some() {
        let map: Map<String, Value> = serde_json::from_str(raw.get()).ok()?;
        return serde_json::from_value(Value::Object(v1_user(map))).ok();
    }
    serde_json::from_str(raw.get()).ok()
}

/// A v1.1 user object renamed into the v2 user's fields; keys without a v2 name stay as they
/// are (they land in [`User::extra`]).
fn v1_user(mut v1: Map<String, Value>) -> Map<String, Value> {
    let mut v2 = Map::new();
    let rename =
        |v1: &mut Map<String, Value>, v2: &mut Map<String, Value>, from: &str, to: &str| {
            if let Some(value) = v1.remove(from) {
                v2.insert(to.to_owned(), value);
            }
        };
    // `id_str` is the exact id; the number `id` can lose digits in readers that use floats.
    if v1.contains_key("id_str") {
        rename(&mut v1, &mut v2, "id_str", "id");
        v1.remove("id");
    } else if let Some(id) = v1.remove("id") {
        let id = match id {
            Value::Number(n) => Value::String(n.to_string()),
            other => other,
        };
        v2.insert("id".to_owned(), id);
    }
    for (from, to) in [
        ("name", "name"),
        ("screen_name", "username"),
        ("description", "description"),
        ("location", "location"),
        ("url", "url"),
        ("profile_image_url_https", "profile_image_url"),
        ("profile_banner_url", "profile_banner_url"),
        ("protected", "protected"),
        ("verified", "verified"),
    ] {
        rename(&mut v1, &mut v2, from, to);
    }
    if let Some(created) = v1.get("created_timestamp").and_then(|v| match v {
        Value::String(s) => epoch_millis_to_rfc3339(s),
        Value::Number(n) => epoch_millis_to_rfc3339(&n.to_string()),
        _ => None,
    }) {
        v1.remove("created_timestamp");
        v2.insert("created_at".to_owned(), Value::String(created));
    }
    let mut metrics = Map::new();
    for (from, to) in [
        ("followers_count", "followers_count"),
        ("friends_count", "following_count"),
        ("statuses_count", "tweet_count"),
        ("listed_count", "listed_count"),
        ("favourites_count", "like_count"),
    ] {
        if let Some(count) = v1.get(from).filter(|v| v.is_u64()).cloned() {
            v1.remove(from);
            metrics.insert(to.to_owned(), count);
        }
    }
    if !metrics.is_empty() {
        v2.insert("public_metrics".to_owned(), Value::Object(metrics));
    }
    for (key, value) in v1 {
        v2.entry(key).or_insert(value);
    }
    v2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_order_numerically() {
        assert_eq!(one_to_one_conversation("9", "10").as_deref(), Some("9-10"));
        assert_eq!(one_to_one_conversation("10", "9").as_deref(), Some("9-10"));
        assert_eq!(one_to_one_conversation("7", "7"), None);
        assert_eq!(one_to_one_conversation("x", "7"), None);
        assert_eq!(one_to_one_conversation("7", "99999999999999999999"), None);
    }

    #[test]
    fn v1_users_are_renamed() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"id":3001969357,"id_str":"3001969357","screen_name":"furiouscamper","name":"Jordan",
                "created_timestamp":"1422556069340","followers_count":22,"friends_count":45,
                "statuses_count":494,"profile_image_url_https":"https://p/x.jpg","lang":"en"}"#,
        )
        .unwrap();
        let user = user(&raw).unwrap();
        assert_eq!(user.id.as_deref(), Some("3001969357"));
        assert_eq!(user.username.as_deref(), Some("furiouscamper"));
        assert_eq!(user.created_at.as_deref(), Some("2015-01-29T18:27:49.340Z"));
        assert_eq!(user.profile_image_url.as_deref(), Some("https://p/x.jpg"));
        let metrics = user.public_metrics.unwrap();
        assert_eq!(metrics.posts(), Some(494));
        assert_eq!(metrics.following_count, Some(45));
        assert_eq!(user.extra["lang"], "en");
        assert!(!user.extra.contains_key("id"));
    }

    #[test]
    fn a_numeric_v1_id_is_read_as_text() {
        let raw: Box<RawValue> = serde_json::from_str(r#"{"id":12,"screen_name":"a"}"#).unwrap();
        assert_eq!(user(&raw).unwrap().id.as_deref(), Some("12"));
    }

    #[test]
    fn users_that_do_not_decode_are_left_out() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"1":{"data":{"id":"1"}},"2":{"data":{"id":2}},"3":7,"4":{"id":"4","username":"b"}}"#,
        )
        .unwrap();
        let ids: Vec<_> = users(&raw).into_iter().filter_map(|u| u.id).collect();
        assert_eq!(ids, ["1", "4"]);
        let not_a_map: Box<RawValue> = serde_json::from_str("[1]").unwrap();
        assert!(users(&not_a_map).is_empty());
    }
}
