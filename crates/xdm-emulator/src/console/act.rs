//! Acting as any user: sending, creating a group, marking read, typing. Each goes through
//! the same state changes and the same activity deliveries as the API.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::world::{conversation, user};
use super::{Request, Update, bad_request, error, publish_changes};
use crate::reply::Reply;
use crate::server::{Inner, Shared};
use crate::state::{ConvKey, Media, MediaState, WriteError};

/// X's limit on a message's text, in characters.
const MAX_TEXT: usize = 10_000;

fn forbidden(message: impl Into<String>) -> Reply {
    error(StatusCode::FORBIDDEN, message)
}

/// A required string field.
fn string<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, Reply> {
    match body.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad_request(format!("{name} must be a string"))),
        None => Err(bad_request(format!("{name} is required"))),
    }
}

/// An optional string field.
fn optional<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string(body, name).map(Some),
    }
}

/// A file attached from the console.
struct Attachment {
    media_type: String,
    prefix: u8,
    data: Bytes,
}

fn attachment(body: &Map<String, Value>) -> Result<Option<Attachment>, Reply> {
    let Some(v) = body.get("media").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(m) = v else {
        return Err(bad_request(
            "media must be an object {content_type, data_base64, filename?}",
        ));
    };
    let ct = string(m, "content_type")
        .map_err(|_| bad_request("media.content_type is required (a string)"))?;
    let media_type = ct
        .split(';')
        .next()
        .unwrap_or(ct)
        .trim()
        .to_ascii_lowercase();
    let prefix = match media_type.as_str() {
        "image/png" | "image/jpeg" | "image/webp" => 3,
        "image/gif" => 16,
        "video/mp4" => 5,
        other => {
            return Err(bad_request(format!(
                "media.content_type {other:?} is not one of image/png, image/jpeg, image/webp, image/gif, video/mp4"
            )));
        }
    };
    let raw = string(m, "data_base64")
        .map_err(|_| bad_request("media.data_base64 is required (a string)"))?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|e| bad_request(format!("media.data_base64 is not valid base64: {e}")))?;
    if data.is_empty() {
        return Err(bad_request("media.data_base64 holds no bytes"));
    }
    optional(m, "filename")?;
    Ok(Some(Attachment {
        media_type,
        prefix,
        data: Bytes::from(data),
    }))
}

/// The message's text and attachment, checked.
fn content(body: &Map<String, Value>) -> Result<(Option<String>, Option<Attachment>), Reply> {
    let text = optional(body, "text")?.unwrap_or_default();
    let media = attachment(body)?;
    if text.is_empty() && media.is_none() {
        return Err(bad_request("text may be empty only when media is given"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT {
        return Err(bad_request(format!(
            "text is {chars} characters long; X allows {MAX_TEXT}"
        )));
    }
    Ok(((!text.is_empty()).then(|| text.to_owned()), media))
}

/// Stores an attachment as an uploaded media of `owner`, ready to attach, as the upload
/// endpoint does.
fn store_media(inner: &mut Inner, owner: u32, a: Attachment, now_ms: u64) -> u32 {
    let id = inner.world.ids.next_at(now_ms);
    let ext = match a.media_type.as_str() {
        "video/mp4" => "mp4",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    };
    let resource_id = format!("{}.{ext}", inner.auth.new_token(8));
    let m = inner.world.media.len() as u32;
    inner.world.media.push(Media {
        id,
        prefix: a.prefix,
        owner,
        extra_owners: Vec::new(),
        media_type: a.media_type,
        total_bytes: Some(a.data.len() as u64),
        segments: Default::default(),
        data: a.data,
        state: MediaState::Ready,
        created_ms: now_ms,
        resource_id,
    });
    inner.world.media_index.insert(id, m);
    m
}

fn write_error(e: WriteError) -> Reply {
    match e {
        WriteError::Blocked => forbidden("the recipient blocks DMs from the sender"),
        WriteError::NotMember => forbidden("the sender is not a participant of the conversation"),
        WriteError::UnknownUser(id) => super::not_found(format!("no user has the id {id:?}")),
        WriteError::UnknownConversation(id) => {
            super::not_found(format!("no conversation has the id {id:?}"))
        }
        WriteError::MediaNotPermitted => bad_request("the media cannot be attached"),
    }
}

/// After a write: deliveries for the new events, then the live updates.
fn settle(shared: &Shared, inner: &mut Inner, events_before: usize, now_ms: u64) {
    inner
        .activity
        .on_new_events(&inner.world, events_before, now_ms);
    publish_changes(shared, inner);
    if !inner.activity.subscriptions.is_empty() {
        shared.publish(Update::activity());
    }
}

/// Where a console message goes.
enum Target {
    User(u32),
    Conversation(u32),
}

pub(super) fn message(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    let from_id = string(&body, "from")?;
    let (text, media) = content(&body)?;
    let to = optional(&body, "to")?;
    let conv_id = optional(&body, "conversation_id")?;
    let now = shared.clock.now_millis();
    let mut g = shared.lock();
    let inner = &mut *g;
    let w = &inner.world;
    let from = user(w, from_id, "from")?;
    let target = match (to, conv_id) {
        (Some(to), None) => Target::User(user(w, to, "to")?),
        (None, Some(id)) => match conversation(w, id) {
            Ok(c) => Target::Conversation(c),
            // A one-to-one id naming the sender works before any message, as in the API.
            Err(e) => match ConvKey::parse(id) {
                Some(ConvKey::Pair(a, b)) if [a, b].contains(&w.users[from as usize].id) => {
                    let me = w.users[from as usize].id;
                    let other = if a == me { b } else { a };
                    Target::User(user(w, &other.to_string(), "conversation_id")?)
                }
                _ => return Err(e),
            },
        },
        _ => {
            return Err(bad_request(
                "give exactly one of to (a user id) and conversation_id",
            ));
        }
    };
    // Refuse before storing any media.
    match target {
        Target::User(to) if w.blocks.contains(&(to, from)) => {
            return Err(write_error(WriteError::Blocked));
        }
        Target::Conversation(c) => {
            let conv = &w.convs[c as usize];
            if !conv.members.contains(&from) {
                return Err(write_error(WriteError::NotMember));
            }
            if let ConvKey::Pair(..) = conv.key
                && conv
                    .members
                    .iter()
                    .any(|&m| m != from && w.blocks.contains(&(m, from)))
            {
                return Err(write_error(WriteError::Blocked));
            }
        }
        Target::User(_) => {}
    }
    let media = media.map(|a| store_media(inner, from, a, now));
    let before = inner.world.events.len();
    let text = text.as_deref();
    let (conv, id) = match target {
        Target::User(to) => inner.world.send_to_user(now, from, to, text, media),
        Target::Conversation(c) => inner.world.send_to_conversation(now, from, c, text, media),
    }
    .map_err(write_error)?;
    settle(shared, inner, before, now);
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({"event_id": id.to_string(), "conversation_id": conv}),
    ))
}

pub(super) fn group(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    let from_id = string(&body, "from")?;
    let ids = match body.get("participant_ids") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad_request("participant_ids must be an array of user ids")),
        None => return Err(bad_request("participant_ids is required")),
    };
    let (text, media) = content(&body)?;
    let now = shared.clock.now_millis();
    let mut g = shared.lock();
    let inner = &mut *g;
    let from = user(&inner.world, from_id, "from")?;
    let mut others = Vec::new();
    for v in ids {
        let id = v
            .as_str()
            .ok_or_else(|| bad_request("participant_ids must be an array of user ids"))?;
        let u = user(&inner.world, id, "participant_ids")?;
        if u != from && !others.contains(&u) {
            others.push(u);
        }
    }
    if others.is_empty() || others.len() > 49 {
        return Err(bad_request(format!(
            "a group needs 1 to 49 participants besides the sender (got {})",
            others.len()
        )));
    }
    let media = media.map(|a| store_media(inner, from, a, now));
    let before = inner.world.events.len();
    let (conv, id) = inner
        .world
        .create_group(now, from, &others, text.as_deref(), media);
    settle(shared, inner, before, now);
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({"conversation_id": conv, "event_id": id.to_string()}),
    ))
}

/// The user and the conversation of a read or typing request, with membership checked.
fn member_of(inner: &Inner, body: &Map<String, Value>) -> Result<(u32, u32), Reply> {
    let user_id = string(body, "user")?;
    let conv_id = string(body, "conversation_id")?;
    let u = user(&inner.world, user_id, "user")?;
    let c = conversation(&inner.world, conv_id)?;
    if !inner.world.convs[c as usize].members.contains(&u) {
        return Err(forbidden(format!(
            "user {user_id} is not a participant of conversation {conv_id}"
        )));
    }
    Ok((u, c))
}

fn ok() -> Reply {
    Reply::json(StatusCode::OK, json!({"ok": true}))
}

pub(super) fn read(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    let last = optional(&body, "last_read_event_id")?;
    let now = shared.clock.now_millis();
    let mut g = shared.lock();
    let inner = &mut *g;
    let (u, c) = member_of(inner, &body)?;
    let w = &inner.world;
    let conv = &w.convs[c as usize];
    let event = match last {
        Some(id) => id
            .parse::<u64>()
            .ok()
            .and_then(|n| w.event_pos(n))
            .filter(|&p| w.events[p].conv == c)
            .map(|p| w.events[p].id)
            .ok_or_else(|| {
                super::not_found(format!("conversation {} has no event {id:?}", conv.key))
            })?,
        None => match conv.events.last() {
            Some(&p) => w.events[p as usize].id,
            None => return Err(bad_request("the conversation has no event to mark read")),
        },
    };
    let reader = w.users[u as usize].id;
    let authors: Vec<u64> = match conv.key {
        ConvKey::Pair(..) => conv
            .members
            .iter()
            .filter(|&&m| m != u)
            .map(|&m| w.users[m as usize].id)
            .collect(),
        ConvKey::Group(_) => Vec::new(),
    };
    inner.world.mark_read(u, c, event);
    for author in authors {
        inner
            .activity
            .on_read(&inner.world, reader, author, event, now);
    }
    settle(shared, inner, inner.world.events.len(), now);
    Ok(ok())
}

pub(super) fn typing(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    let now = shared.clock.now_millis();
    let mut g = shared.lock();
    let inner = &mut *g;
    let (u, c) = member_of(inner, &body)?;
    let w = &inner.world;
    let typist = w.users[u as usize].id;
    let recipients: Vec<u64> = w.convs[c as usize]
        .members
        .iter()
        .filter(|&&m| m != u)
        .map(|&m| w.users[m as usize].id)
        .collect();
    for r in recipients {
        inner.activity.on_typing(&inner.world, typist, r, now);
    }
    let id = inner.world.convs[c as usize].key.to_string();
    shared.publish(Update::conversation(&id, None));
    shared.publish(Update::typing(&id, typist));
    settle(shared, inner, inner.world.events.len(), now);
    Ok(ok())
}
