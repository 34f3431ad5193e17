//! The payloads inside XAA envelopes: v1.1 `direct_message_events` items and the `users` map.

use serde_json::{Map, Value, json};

use crate::clock::rfc3339_millis;
use crate::ids::millis_of;
use crate::state::{Event, World};

/// A v1.1 DM event object (`type: message_create`) for a message to `recipient`.
pub(crate) fn message_item(w: &World, e: &Event, recipient: u64) -> Value {
    let text = w.text_of(e).unwrap_or_default();
    let (urls, tags, mentions, cash) = crate::render::entities(&text, w);
    let indices = |v: &Value| json!([v["start"], v["end"]]);
    let hashtags: Vec<Value> = tags
        .iter()
        .map(|t| json!({"text": t["tag"], "indices": indices(t)}))
        .collect();
    let symbols: Vec<Value> = cash
        .iter()
        .map(|t| json!({"text": t["tag"], "indices": indices(t)}))
        .collect();
    let user_mentions: Vec<Value> = mentions
        .iter()
        .map(|m| {
            let id = m["id"].as_str().unwrap_or("");
            let name = m["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .and_then(|i| w.user_by_id(i))
                .map_or(String::new(), |u| w.users[u as usize].name.clone());
            json!({
                "screen_name": m["username"],
                "name": name,
                "id": id.parse::<u64>().ok(),
                "id_str": id,
                "indices": indices(m),
            })
        })
        .collect();
    let urls: Vec<Value> = urls
        .iter()
        .map(|u| {
            json!({
                "url": u["url"],
                "expanded_url": u["expanded_url"],
                "display_url": u["display_url"],
                "indices": indices(u),
            })
        })
        .collect();
    let mut data = Map::new();
    data.insert("text".into(), json!(text));
    data.insert(
        "entities".into(),
        json!({"hashtags": hashtags, "symbols": symbols, "user_mentions": user_mentions, "urls": urls}),
    );
    if let Some(m) = w.rich_of(e).and_then(|r| r.media) {
        let media = &w.media[m as usize];
        data.insert(
            "attachment".into(),
            json!({"type": "media", "media": {
                "id": media.id,
                "id_str": media.id.to_string(),
                "media_url_https": format!(
                    "https://ton.twitter.com/1.1/ton/data/dm/{}/{}/{}",
                    e.id, media.id, media.resource_id
                ),
                "type": match media.kind() { "photo" => "photo", "video" => "video", _ => "animated_gif" },
            }}),
        );
    }
    json!({
        "type": "message_create",
        "id": e.id.to_string(),
        "created_timestamp": millis_of(e.id).to_string(),
        "message_create": {
            "target": {"recipient_id": recipient.to_string()},
            "sender_id": w.users[e.sender as usize].id.to_string(),
            "message_data": Value::Object(data),
        },
    })
}

/// The `users` map of a payload: each user wrapped in `{"data": ...}`, with X's `_str` twins
/// of the counts.
pub(crate) fn users(w: &World, ids: &[u64]) -> Value {
    let mut out = Map::new();
    for &id in ids {
        let Some(u) = w.user_by_id(id) else { continue };
        let u = &w.users[u as usize];
        out.insert(
            id.to_string(),
            json!({"data": {
                "id": id.to_string(),
                "username": u.username,
                "name": u.name,
                "protected": false,
                "verified": false,
                "created_at": rfc3339_millis(u.created_ms),
                "public_metrics": {
                    "followers_count": 0, "followers_count_str": "0",
                    "following_count": 0, "following_count_str": "0",
                    "tweet_count": 0, "tweet_count_str": "0",
                    "listed_count": 0, "listed_count_str": "0",
                },
            }}),
        );
    }
    Value::Object(out)
}
