//! Turning state into X's JSON: events with the requested fields, and `includes`.

use serde_json::{Map, Value, json};

use crate::clock::rfc3339_millis;
use crate::ids::millis_of;
use crate::state::{Event, EventType, World};
use crate::validate::{Dialect, Fields};

pub(crate) fn entities(text: &str, w: &World) -> (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut urls, mut tags, mut mentions, mut cash) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0usize;
    for (i, word) in split_words(text) {
        pos = pos.max(i);
        let word = word.trim_end_matches(['.', ',', '!', '?', ')', ':', ';']);
        let start = pos;
        let end = start + word.chars().count();
        if word.starts_with("https://") || word.starts_with("http://") {
            let display: String = word
                .split_once("://")
                .map_or(word, |x| x.1)
                .chars()
                .take(26)
                .collect();
            urls.push(json!({"start": start, "end": end, "url": word, "expanded_url": word, "display_url": display}));
        } else if let Some(tag) = word.strip_prefix('#').filter(|t| !t.is_empty()) {
            tags.push(json!({"start": start, "end": end, "tag": tag}));
        } else if let Some(name) = word.strip_prefix('@').filter(|t| !t.is_empty()) {
            let mut m = json!({"start": start, "end": end, "username": name});
            if let Some(u) = w.user_by_name(name) {
                m["id"] = json!(w.users[u as usize].id.to_string());
            }
            mentions.push(m);
        } else if let Some(tag) = word
            .strip_prefix('$')
            .filter(|t| !t.is_empty() && t.chars().all(char::is_alphabetic))
        {
            cash.push(json!({"start": start, "end": end, "tag": tag}));
        }
    }
    (urls, tags, mentions, cash)
}

/// The entities of `text` as X's v2 `entities` object: only the kinds that occur, each an array.
pub(crate) fn entity_map(text: &str, w: &World) -> Map<String, Value> {
    let (urls, tags, mentions, cash) = entities(text, w);
    let mut ent = Map::new();
    for (k, v) in [
        ("urls", urls),
        ("hashtags", tags),
        ("mentions", mentions),
        ("cashtags", cash),
    ] {
        if !v.is_empty() {
            ent.insert(k.into(), Value::Array(v));
        }
    }
    ent
}

/// Words with their starting offsets in characters (X counts code points).
fn split_words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for (ci, (bi, ch)) in text.char_indices().enumerate() {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some((ci, bi)),
            (true, Some((c0, b0))) => {
                out.push((c0, &text[b0..bi]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((c0, b0)) = start {
        out.push((c0, &text[b0..]));
    }
    out
}

/// One event with the default and requested fields.
pub(crate) fn event(w: &World, e: &Event, f: &Fields) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(e.id.to_string()));
    o.insert("event_type".into(), json!(e.kind.as_str()));
    let rich = w.rich_of(e);
    let text = w.text_of(e);
    if e.kind == EventType::MessageCreate {
        if let Some(t) = &text {
            o.insert("text".into(), json!(t));
        }
    } else if let Some(r) = rich {
        o.insert("participant_ids".into(), json!(w.user_ids(&r.participants)));
    }
    if (f.wants("sender_id") || f.expands("sender_id")) && e.kind != EventType::ParticipantsLeave {
        o.insert(
            "sender_id".into(),
            json!(w.users[e.sender as usize].id.to_string()),
        );
    }
    if f.wants("dm_conversation_id") {
        o.insert(
            "dm_conversation_id".into(),
            json!(w.convs[e.conv as usize].key.to_string()),
        );
    }
    if f.wants("created_at") {
        o.insert("created_at".into(), json!(rfc3339_millis(millis_of(e.id))));
    }
    if let Some(m) = rich.and_then(|r| r.media)
        && (f.wants("attachments") || f.expands("attachments.media_keys"))
    {
        o.insert(
            "attachments".into(),
            json!({"media_keys": [w.media[m as usize].key()]}),
        );
    }
    if let Some(r) = rich.filter(|r| !r.referenced.is_empty()) {
        let want = f.wants("referenced_tweets")
            || f.wants("referenced_posts")
            || f.expands("referenced_tweets.id")
            || f.expands("referenced_posts");
        if want {
            let refs: Vec<Value> = r
                .referenced
                .iter()
                .map(|id| json!({"id": id.to_string()}))
                .collect();
            let key = match f.dialect {
                Dialect::Legacy => "referenced_tweets",
                Dialect::Post => "referenced_posts",
            };
            o.insert(key.into(), json!(refs));
        }
    }
    if f.wants("entities")
        && let Some(t) = &text
    {
        let ent = entity_map(t, w);
        match f.dialect {
            // 2.166 puts entity arrays directly on the event.
            Dialect::Legacy => o.extend(ent),
            Dialect::Post if !ent.is_empty() => {
                o.insert("entities".into(), Value::Object(ent));
            }
            Dialect::Post => {}
        }
    }
    Value::Object(o)
}

/// One user with `id`, `name`, `username` and the requested `user.fields` the emulator has
/// values for (X leaves out fields a user has no value for, too).
pub(crate) fn user(w: &World, u: u32, f: &Fields) -> Value {
    let user = &w.users[u as usize];
    let mut o = json!({"id": user.id.to_string(), "name": user.name, "username": user.username});
    for field in &f.user {
        let v = match *field {
            "created_at" => json!(rfc3339_millis(user.created_ms)),
            "description" => json!(user.description),
            "protected" | "verified" => json!(false),
            "verified_type" => json!("none"),
            "receives_your_dm" => json!(true),
            "profile_image_url" => json!(format!(
                "https://pbs.twimg.com/profile_images/{}/avatar_normal.png",
                user.id
            )),
            "public_metrics" => {
                let count = if f.dialect == Dialect::Legacy {
                    "tweet_count"
                } else {
                    "post_count"
                };
                json!({"followers_count": 10, "following_count": 5, count: 42, "listed_count": 0, "like_count": 7})
            }
            _ => continue,
        };
        o[*field] = v;
    }
    o
}

fn media(w: &World, m: u32, event_id: u64, f: &Fields) -> Value {
    let media = &w.media[m as usize];
    let mut o = json!({"media_key": media.key(), "type": media.kind()});
    let url = format!(
        "https://ton.twitter.com/1.1/ton/data/dm/{event_id}/{}/{}",
        media.id, media.resource_id
    );
    for field in &f.media {
        let v = match (*field, media.kind()) {
            ("url", "photo") => json!(url),
            ("preview_image_url", "video" | "animated_gif") => json!(url),
            ("width", _) => json!(640),
            ("height", _) => json!(480),
            ("duration_ms", "video") => json!(1000),
            _ => continue,
        };
        o[*field] = v;
    }
    o
}

fn post(id: u64, f: &Fields) -> Value {
    let history = match f.dialect {
        Dialect::Legacy => "edit_history_tweet_ids",
        Dialect::Post => "edit_history_post_ids",
    };
    let mut o =
        json!({"id": id.to_string(), "text": format!("Post {id}"), history: [id.to_string()]});
    for field in &f.post {
        let v = match *field {
            "created_at" => json!(rfc3339_millis(millis_of(id))),
            "lang" => json!("en"),
            "conversation_id" => json!(id.to_string()),
            _ => continue,
        };
        o[*field] = v;
    }
    o
}

/// The `includes` object for `events`, or `None` when nothing was expanded.
pub(crate) fn includes(w: &World, events: &[&Event], f: &Fields) -> Option<Value> {
    let mut users: Vec<u32> = Vec::new();
    let mut media_seen: Vec<(u32, u64)> = Vec::new();
    let mut posts: Vec<u64> = Vec::new();
    for e in events {
        if f.expands("sender_id")
            && e.kind != EventType::ParticipantsLeave
            && !users.contains(&e.sender)
        {
            users.push(e.sender);
        }
        let Some(r) = w.rich_of(e) else { continue };
        if f.expands("participant_ids") {
            for p in r.participants.iter() {
                if !users.contains(p) {
                    users.push(*p);
                }
            }
        }
        if f.expands("attachments.media_keys")
            && let Some(m) = r.media
            && !media_seen.iter().any(|(x, _)| *x == m)
        {
            media_seen.push((m, e.id));
        }
        if f.expands("referenced_tweets.id") || f.expands("referenced_posts") {
            for id in r.referenced.iter() {
                if !posts.contains(id) {
                    posts.push(*id);
                }
            }
        }
    }
    let mut inc = Map::new();
    if !users.is_empty() {
        inc.insert(
            "users".into(),
            users.iter().map(|&u| user(w, u, f)).collect(),
        );
    }
    if !media_seen.is_empty() {
        inc.insert(
            "media".into(),
            media_seen.iter().map(|&(m, e)| media(w, m, e, f)).collect(),
        );
    }
    if !posts.is_empty() {
        let key = if f.dialect == Dialect::Legacy {
            "tweets"
        } else {
            "posts"
        };
        inc.insert(key.into(), posts.iter().map(|&p| post(p, f)).collect());
    }
    (!inc.is_empty()).then_some(Value::Object(inc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_carry_character_offsets() {
        assert_eq!(
            split_words("héllo  #tag x"),
            vec![(0, "héllo"), (7, "#tag"), (12, "x")]
        );
        assert!(split_words("   ").is_empty());
    }
}
