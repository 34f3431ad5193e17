//! Sending a message: to a participant (creating the 1:1 conversation) or to a conversation.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::problem;
use crate::reply::Reply;
use crate::server::Inner;
use crate::state::{ConvKey, WriteError};
use crate::validate;

/// A checked message body: text and at most one media id.
pub(super) struct Message {
    pub(super) text: Option<String>,
    pub(super) media_id: Option<String>,
}

/// Checks `{text?, attachments?}` as the spec does (`additionalProperties: false`, `anyOf`
/// text or attachments) plus the documented one-attachment rule.
pub(super) fn message(obj: &Map<String, Value>, prefix: &str) -> Result<Message, Reply> {
    let name = |k: &str| format!("{prefix}{k}");
    for k in obj.keys() {
        if k != "text" && k != "attachments" {
            return Err(problem::invalid_one(
                &name(k),
                k,
                format!(
                    "$.{}: is not defined in the schema and the schema does not allow additional properties",
                    name(k)
                ),
            ));
        }
    }
    let text = match obj.get("text") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) => {
            return Err(problem::invalid_one(
                &name("text"),
                "",
                format!("$.{}: must be at least 1 characters long", name("text")),
            ));
        }
        Some(v) => {
            return Err(problem::invalid_one(
                &name("text"),
                &v.to_string(),
                format!("$.{}: string expected", name("text")),
            ));
        }
    };
    let media_id = match obj.get("attachments") {
        None => None,
        Some(Value::Array(items)) => {
            if items.len() != 1 {
                return Err(problem::invalid_one(
                    &name("attachments"),
                    &items.len().to_string(),
                    "A message can have exactly one attachment",
                ));
            }
            let item = items[0].as_object();
            let id = item.and_then(|o| o.get("media_id")).and_then(Value::as_str);
            match (item, id) {
                (Some(o), Some(id))
                    if o.len() == 1 && validate::numeric_id("media_id", id).is_ok() =>
                {
                    Some(id.to_owned())
                }
                _ => {
                    return Err(problem::invalid_one(
                        &name("attachments"),
                        &items[0].to_string(),
                        "An attachment must be {\"media_id\": \"<digits>\"}",
                    ));
                }
            }
        }
        Some(v) => {
            return Err(problem::invalid_one(
                &name("attachments"),
                &v.to_string(),
                "attachments must be an array",
            ));
        }
    };
    if text.is_none() && media_id.is_none() {
        return Err(problem::invalid_one(
            &name("text"),
            "",
            "A message needs text or an attachment",
        ));
    }
    Ok(Message { text, media_id })
}

pub(super) fn write_error(e: WriteError) -> Reply {
    match e {
        WriteError::UnknownUser(id) => problem::not_found("user", "participant_id", &id),
        WriteError::UnknownConversation(id) => {
            problem::not_found("dm_conversation", "dm_conversation_id", &id)
        }
        WriteError::NotMember => {
            problem::forbidden("You are not a participant in this conversation.")
        }
        WriteError::Blocked => problem::forbidden("You cannot send messages to this user."),
        WriteError::MediaNotPermitted => problem::media_not_permitted(),
    }
}

pub(super) fn created(conv: String, event: u64) -> Reply {
    Reply::json(
        StatusCode::CREATED,
        json!({"data": {"dm_conversation_id": conv, "dm_event_id": event.to_string()}}),
    )
    // X quotes the id inside the Location header; clients must not parse it.
    .with_header(
        "location",
        &format!("https://api.twitter.com/2/dm_events/\"{event}\""),
    )
}

pub(super) fn to_participant(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    participant: &str,
) -> Result<Reply, Reply> {
    let pid = validate::numeric_id("participant_id", participant)?;
    validate::no_query(&ctx.query)?;
    let m = message(&ctx.json_object()?, "")?;
    let w = &mut inner.world;
    let to = w
        .user_by_id(pid)
        .ok_or_else(|| write_error(WriteError::UnknownUser(participant.into())))?;
    let media = m
        .media_id
        .as_deref()
        .map(|id| w.attachable(user, id))
        .transpose()
        .map_err(write_error)?;
    let (conv, id) = w
        .send_to_user(ctx.now_ms, user, to, m.text.as_deref(), media)
        .map_err(write_error)?;
    Ok(created(conv, id))
}

pub(super) fn to_conversation(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    conv_id: &str,
) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let m = message(&ctx.json_object()?, "")?;
    let w = &mut inner.world;
    let unknown = || write_error(WriteError::UnknownConversation(conv_id.into()));
    let key = ConvKey::parse(conv_id).ok_or_else(unknown)?;
    let media = m
        .media_id
        .as_deref()
        .map(|id| w.attachable(user, id))
        .transpose()
        .map_err(write_error)?;
    let (conv, id) = match (w.conv_index.get(&key).copied(), key) {
        (Some(c), _) => w.send_to_conversation(ctx.now_ms, user, c, m.text.as_deref(), media),
        // A 1:1 id naming the caller works before any message was exchanged.
        (None, ConvKey::Pair(a, b))
            if w.users[user as usize].id == a || w.users[user as usize].id == b =>
        {
            let me = w.users[user as usize].id;
            let other = if a == me { b } else { a };
            let to = w.user_by_id(other).ok_or_else(unknown)?;
            w.send_to_user(ctx.now_ms, user, to, m.text.as_deref(), media)
        }
        _ => Err(WriteError::UnknownConversation(conv_id.into())),
    }
    .map_err(write_error)?;
    Ok(created(conv, id))
}
