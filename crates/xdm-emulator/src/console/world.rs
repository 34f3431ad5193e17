//! The world as the console shows it: users, conversations, threads and media.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{Value, json};

use super::{Request, bad_request, not_found};
use crate::clock::rfc3339_millis;
use crate::ids::millis_of;
use crate::reply::Reply;
use crate::server::Shared;
use crate::state::{ConvKey, Event, EventType, MediaState, World};

pub(super) fn world(shared: &Arc<Shared>) -> Reply {
    let g = shared.lock();
    let w = &g.world;
    let users: Vec<Value> = w
        .users
        .iter()
        .map(|u| json!({"id": u.id.to_string(), "username": u.username, "name": u.name}))
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({"me": w.users[0].id.to_string(), "users": users}),
    )
}

/// A user of the world named by id, or the console's 404.
pub(super) fn user(w: &World, id: &str, field: &str) -> Result<u32, Reply> {
    id.parse()
        .ok()
        .and_then(|n| w.user_by_id(n))
        .ok_or_else(|| not_found(format!("{field}: no user has the id {id:?}")))
}

/// A conversation of the world by id, or the console's 404.
pub(super) fn conversation(w: &World, id: &str) -> Result<u32, Reply> {
    ConvKey::parse(id)
        .and_then(|k| w.conv_index.get(&k).copied())
        .ok_or_else(|| not_found(format!("no conversation has the id {id:?}")))
}

pub(super) fn conversations(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let g = shared.lock();
    let w = &g.world;
    let viewer = match req.param("as") {
        Some(id) => user(w, id, "as")?,
        None => 0,
    };
    let mut order: Vec<(u64, u32)> = w
        .convs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let last = c.events.last().map_or(0, |&p| w.events[p as usize].id);
            (last, i as u32)
        })
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let list: Vec<Value> = order
        .into_iter()
        .map(|(_, i)| {
            let c = &w.convs[i as usize];
            let last = c.events.last().map(|&p| event(w, &w.events[p as usize]));
            json!({
                "id": c.key.to_string(),
                "is_group": matches!(c.key, ConvKey::Group(_)),
                "participant_ids": members(w, i),
                "event_count": c.events.len(),
                "unread": w.unread(viewer, i),
                "last_event": last,
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({"as": w.users[viewer as usize].id.to_string(), "conversations": list}),
    ))
}

fn members(w: &World, conv: u32) -> Vec<String> {
    w.user_ids(&w.convs[conv as usize].members)
}

pub(super) fn events(shared: &Arc<Shared>, id: &str) -> Result<Reply, Reply> {
    let g = shared.lock();
    let w = &g.world;
    let conv = conversation(w, id)?;
    let c = &w.convs[conv as usize];
    let events: Vec<Value> = c
        .events
        .iter()
        .map(|&p| event(w, &w.events[p as usize]))
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "id": c.key.to_string(),
            "is_group": matches!(c.key, ConvKey::Group(_)),
            "participant_ids": members(w, conv),
            "events": events,
        }),
    ))
}

/// One event as the console shows it.
fn event(w: &World, e: &Event) -> Value {
    let ms = millis_of(e.id);
    let mut o = json!({
        "id": e.id.to_string(),
        "event_type": e.kind.as_str(),
        "created_at": rfc3339_millis(ms),
        "created_at_ms": ms,
        "deleted": e.deleted,
        "deleted_by": if e.deleted { vec![w.users[e.sender as usize].id.to_string()] } else { Vec::new() },
        // The sender of a message; the user who joined, created or left for the others.
        "sender_id": w.users[e.sender as usize].id.to_string(),
    });
    let rich = w.rich_of(e);
    if e.kind == EventType::MessageCreate {
        if let Some(t) = w.text_of(e) {
            let ent = crate::render::entity_map(&t, w);
            o["text"] = json!(t);
            if !ent.is_empty() {
                o["entities"] = Value::Object(ent);
            }
        }
    } else if let Some(r) = rich {
        o["participant_ids"] = json!(w.user_ids(&r.participants));
    }
    if let Some(m) = rich.and_then(|r| r.media) {
        let media = &w.media[m as usize];
        let key = media.key();
        o["attachments"] = json!({"media": [{
            "media_key": key,
            "type": media.kind(),
            "url": format!("/console/api/media/{key}"),
        }]});
    }
    o
}

pub(super) fn media(shared: &Arc<Shared>, key: &str) -> Result<Reply, Reply> {
    let g = shared.lock();
    let w = &g.world;
    let unknown = || not_found(format!("no media has the key {key:?}"));
    let (prefix, id) = key
        .split_once('_')
        .ok_or_else(|| bad_request(format!("{key:?} is not a media key like 3_123")))?;
    let (prefix, id) = match (prefix.parse::<u8>(), id.parse::<u64>()) {
        (Ok(p), Ok(i)) => (p, i),
        _ => {
            return Err(bad_request(format!(
                "{key:?} is not a media key like 3_123"
            )));
        }
    };
    let m = w.media_index.get(&id).copied().ok_or_else(unknown)?;
    let media = &w.media[m as usize];
    if media.prefix != prefix || media.state == MediaState::Uploading {
        return Err(unknown());
    }
    Ok(Reply::bytes(
        StatusCode::OK,
        &media.media_type,
        media.data.clone(),
    ))
}
