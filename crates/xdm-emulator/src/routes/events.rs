//! Event lookups (list all, by participant, by conversation, one by id) and delete.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::ids::Direction;
use crate::problem;
use crate::render;
use crate::reply::Reply;
use crate::server::Inner;
use crate::state::ConvKey;
use crate::validate::{self, ListParams};

fn page(inner: &Inner, user: u32, conv: Option<u32>, p: &ListParams) -> Reply {
    let w = &inner.world;
    let positions = w.page(user, conv, p.types, p.cursor, p.max_results);
    if positions.is_empty() {
        return Reply::json(StatusCode::OK, json!({"meta": {"result_count": 0}}));
    }
    let events: Vec<&crate::state::Event> = positions.iter().map(|&i| &w.events[i]).collect();
    let mut body = Map::new();
    body.insert(
        "data".into(),
        events
            .iter()
            .map(|e| render::event(w, e, &p.fields))
            .collect(),
    );
    if let Some(inc) = render::includes(w, &events, &p.fields) {
        body.insert("includes".into(), inc);
    }
    // X keeps a next_token on every non-empty page, even the last one.
    let mut meta = json!({
        "result_count": events.len(),
        "next_token": inner.codec.encode(Direction::Next, events[events.len() - 1].id),
    });
    if p.cursor.is_some() {
        meta["previous_token"] = json!(inner.codec.encode(Direction::Previous, events[0].id));
    }
    body.insert("meta".into(), meta);
    Reply::json(StatusCode::OK, Value::Object(body))
}

pub(super) fn list_all(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    let p = validate::lookup_params(&ctx.query, true, &inner.codec)?;
    Ok(page(inner, user, None, &p))
}

pub(super) fn list_with(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    participant: &str,
) -> Result<Reply, Reply> {
    let pid = validate::numeric_id("participant_id", participant)?;
    let p = validate::lookup_params(&ctx.query, true, &inner.codec)?;
    let w = &inner.world;
    let me = w.users[user as usize].id;
    match w.conv_index.get(&ConvKey::pair(me, pid)) {
        Some(&c) => Ok(page(inner, user, Some(c), &p)),
        None if w.user_by_id(pid).is_none() => {
            Err(problem::not_found("user", "participant_id", participant))
        }
        None => Ok(Reply::json(
            StatusCode::OK,
            json!({"meta": {"result_count": 0}}),
        )),
    }
}

pub(super) fn list_conversation(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    id: &str,
) -> Result<Reply, Reply> {
    let key = validate::conversation_id("id", id)?;
    let p = validate::lookup_params(&ctx.query, true, &inner.codec)?;
    let w = &inner.world;
    match w.conv_index.get(&key) {
        Some(&c) if w.convs[c as usize].members.contains(&user) => {
            Ok(page(inner, user, Some(c), &p))
        }
        Some(_) => Err(problem::forbidden(
            "You are not a participant in this conversation.",
        )),
        None => Err(problem::not_found("dm_conversation", "id", id)),
    }
}

/// `GET /2/dm_events/{event_id}`. An event the caller cannot see (not theirs, unknown, or
/// deleted by the caller) is answered like an unknown id.
pub(super) fn get(inner: &mut Inner, ctx: &Ctx, user: u32, id: &str) -> Result<Reply, Reply> {
    let eid = validate::numeric_id("event_id", id)?;
    let p = validate::lookup_params(&ctx.query, false, &inner.codec)?;
    let w = &inner.world;
    let Some(i) = w.event_seen_by(user, eid) else {
        // X answers a lookup of a missing resource with 200 and a partial error.
        return Ok(Reply::json(
            StatusCode::OK,
            json!({"errors": [problem::not_found_item("dm_event", "event_id", id)]}),
        ));
    };
    let e = &w.events[i];
    let mut body = json!({"data": render::event(w, e, &p.fields)});
    if let Some(inc) = render::includes(w, &[e], &p.fields) {
        body["includes"] = inc;
    }
    Ok(Reply::json(StatusCode::OK, body))
}

/// `DELETE /2/dm_events/{event_id}`: X's "delete for you". Only the sender of a message may
/// delete it; afterwards the sender's lookup of the id answers like an unknown id (200 with a
/// `resource-not-found` partial error) and their listings leave it out, while the other
/// participants still see it.
///
/// Deleting an event the caller already deleted is answered like deleting an unknown id:
/// 404 `resource-not-found`. The wire reference does not say what X answers, and this is the
/// emulator's one not-found answer for this route; a client that retries a delete whose
/// response was lost can read the 404 as "already gone".
pub(super) fn delete(inner: &mut Inner, ctx: &Ctx, user: u32, id: &str) -> Result<Reply, Reply> {
    let eid = validate::numeric_id("event_id", id)?;
    validate::no_query(&ctx.query)?;
    let w = &mut inner.world;
    let Some(i) = w.event_seen_by(user, eid) else {
        return Err(problem::not_found("dm_event", "event_id", id));
    };
    if w.events[i].sender != user || w.events[i].kind != crate::state::EventType::MessageCreate {
        return Err(problem::forbidden("You can only delete messages you sent."));
    }
    w.events[i].deleted = true;
    w.note_change(w.events[i].conv, Some(eid));
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"deleted": true}}),
    ))
}
