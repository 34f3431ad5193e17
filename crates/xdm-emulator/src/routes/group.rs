//! Creating a group conversation with its first message.

use serde_json::Value;

use super::Ctx;
use super::send::{created, message, write_error};
use crate::problem;
use crate::reply::Reply;
use crate::server::Inner;
use crate::state::WriteError;
use crate::validate;

pub(super) fn create(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let body = ctx.json_object()?;
    for k in body.keys() {
        if !["conversation_type", "participant_ids", "message"].contains(&k.as_str()) {
            return Err(problem::invalid_one(
                k,
                k,
                format!(
                    "$.{k}: is not defined in the schema and the schema does not allow additional properties"
                ),
            ));
        }
    }
    match body.get("conversation_type") {
        Some(Value::String(s)) if s == "Group" => {}
        other => {
            let v = other
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default();
            return Err(problem::invalid_one(
                "conversation_type",
                &v,
                format!(
                    "$.conversation_type: does not have a value in the enumeration [Group] (got [{v}])"
                ),
            ));
        }
    }
    let ids = match body.get("participant_ids") {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(problem::invalid_one(
                "participant_ids",
                "",
                "$.participant_ids: is missing but it is required",
            ));
        }
    };
    if !(2..=49).contains(&ids.len()) {
        return Err(problem::invalid_one(
            "participant_ids",
            &ids.len().to_string(),
            format!(
                "$.participant_ids: there must be between 2 and 49 participants (got {})",
                ids.len()
            ),
        ));
    }
    let mut numeric = Vec::new();
    for v in ids {
        let s = v.as_str().unwrap_or_default();
        let n = validate::numeric_id("participant_ids", s)?;
        if numeric.contains(&n) {
            return Err(problem::invalid_one(
                "participant_ids",
                s,
                "$.participant_ids: the items in the array must be unique",
            ));
        }
        numeric.push(n);
    }
    let msg = match body.get("message") {
        Some(Value::Object(o)) => message(o, "message.")?,
        _ => {
            return Err(problem::invalid_one(
                "message",
                "",
                "$.message: is missing but it is required",
            ));
        }
    };
    let w = &mut inner.world;
    let mut members = Vec::new();
    for (n, v) in numeric.iter().zip(ids) {
        let id = v.as_str().unwrap_or_default();
        members.push(
            w.user_by_id(*n)
                .ok_or_else(|| write_error(WriteError::UnknownUser(id.into())))?,
        );
    }
    let media = msg
        .media_id
        .as_deref()
        .map(|id| w.attachable(user, id))
        .transpose()
        .map_err(write_error)?;
    let (conv, id) = w.create_group(ctx.now_ms, user, &members, msg.text.as_deref(), media);
    Ok(created(conv, id))
}
