//! `/2/activity/subscriptions` and `GET /2/activity/stream`.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::activity::Subscription;
use crate::activity::stream::StreamConn;
use crate::auth::Caller;
use crate::clock::rfc3339_millis;
use crate::faults::FaultKind;
use crate::ids::Direction;
use crate::problem;
use crate::reply::Reply;
use crate::server::{Followup, Inner};
use crate::validate;

/// The event types the emulator produces. X knows 42; the others are refused here, since the
/// emulator would accept them and never deliver anything.
pub(crate) const DM_EVENT_TYPES: &[&str] =
    &["dm.received", "dm.sent", "dm.read", "dm.indicate_typing"];

fn extra_key(path: &str, k: &str) -> Reply {
    problem::invalid_one(
        &format!("{path}{k}"),
        k,
        format!(
            "$.{path}{k}: is not defined in the schema and the schema does not allow additional properties"
        ),
    )
}

fn string_field<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
    len: std::ops::RangeInclusive<usize>,
) -> Result<Option<&'a str>, Reply> {
    let name = format!("{path}{key}");
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if len.contains(&s.chars().count()) => Ok(Some(s)),
        Some(Value::String(s)) => Err(problem::invalid_one(
            &name,
            s,
            format!(
                "$.{name}: must be {} to {} characters long",
                len.start(),
                len.end()
            ),
        )),
        Some(v) => Err(problem::invalid_one(
            &name,
            &v.to_string(),
            format!("$.{name}: string expected"),
        )),
    }
}

fn id_field(obj: &Map<String, Value>, path: &str, key: &str) -> Result<Option<u64>, Reply> {
    match string_field(obj, path, key, 1..=19)? {
        None => Ok(None),
        Some(s) => validate::numeric_id(&format!("{path}{key}"), s).map(Some),
    }
}

/// The webhook a subscription names must be one of the app's.
fn known_webhook(inner: &Inner, id: Option<u64>) -> Result<Option<u64>, Reply> {
    match id {
        Some(id) if !inner.activity.webhooks.contains_key(&id) => Err(problem::refused(
            StatusCode::BAD_REQUEST,
            "WebhookIdInvalid",
            &format!("The webhook_id {id} is not a webhook of this app."),
        )),
        other => Ok(other),
    }
}

pub(crate) fn subscription_json(s: &Subscription) -> Value {
    let mut o = Map::new();
    o.insert("subscription_id".into(), json!(s.id.to_string()));
    o.insert("event_type".into(), json!(s.event_type));
    o.insert("filter".into(), Value::Object(s.filter.clone()));
    if let Some(t) = &s.tag {
        o.insert("tag".into(), json!(t));
    }
    if let Some(w) = s.webhook_id {
        o.insert("webhook_id".into(), json!(w.to_string()));
    }
    o.insert("created_at".into(), json!(rfc3339_millis(s.created_ms)));
    o.insert("updated_at".into(), json!(rfc3339_millis(s.updated_ms)));
    Value::Object(o)
}

/// `POST /2/activity/subscriptions`: the filtered user's own token, holding `dm.read`.
pub(crate) fn create(inner: &mut Inner, ctx: &Ctx, caller: &Caller) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let body = ctx.json_object()?;
    if let Some(k) = body
        .keys()
        .find(|k| !["event_type", "filter", "tag", "webhook_id"].contains(&k.as_str()))
    {
        return Err(extra_key("", k));
    }
    let event_type = match body.get("event_type") {
        Some(Value::String(s)) if DM_EVENT_TYPES.contains(&s.as_str()) => s.clone(),
        Some(Value::String(s)) => {
            return Err(problem::invalid_one(
                "event_type",
                s,
                format!(
                    "$.event_type: {s} is not an event type the emulator serves ({})",
                    DM_EVENT_TYPES.join(", ")
                ),
            ));
        }
        Some(v) => {
            return Err(problem::invalid_one(
                "event_type",
                &v.to_string(),
                "$.event_type: string expected",
            ));
        }
        None => {
            return Err(problem::invalid_one(
                "event_type",
                "",
                "$.event_type: is missing but it is required",
            ));
        }
    };
    let filter = match body.get("filter") {
        Some(Value::Object(f)) => f.clone(),
        Some(v) => {
            return Err(problem::invalid_one(
                "filter",
                &v.to_string(),
                "$.filter: object expected",
            ));
        }
        None => {
            return Err(problem::invalid_one(
                "filter",
                "",
                "$.filter: is missing but it is required",
            ));
        }
    };
    if let Some(k) = filter
        .keys()
        .find(|k| !["user_id", "keyword", "direction"].contains(&k.as_str()))
    {
        return Err(extra_key("filter.", k));
    }
    let user_id = id_field(&filter, "filter.", "user_id")?;
    string_field(&filter, "filter.", "keyword", 1..=150)?;
    if let Some(d) = string_field(&filter, "filter.", "direction", 1..=8)?
        && d != "inbound"
        && d != "outbound"
    {
        return Err(problem::invalid_one(
            "filter.direction",
            d,
            "$.filter.direction: must be one of [inbound, outbound]",
        ));
    }
    let Some(user_id) = user_id else {
        return Err(problem::invalid_one(
            "filter.user_id",
            "",
            format!("$.filter.user_id: is required for {event_type}"),
        ));
    };
    let tag = string_field(&body, "", "tag", 1..=200)?.map(str::to_owned);
    let webhook_id = known_webhook(inner, id_field(&body, "", "webhook_id")?)?;
    // Private events: only the filtered user may subscribe, with a token that reads DMs.
    let (caller_user, scopes_ok) = match caller {
        Caller::AppOnly => {
            return Err(problem::forbidden(
                "Subscribing to private events (dm.*) requires the filtered user's OAuth 2.0 \
                 user token with the dm.read scope, or their OAuth 1.0a token.",
            ));
        }
        Caller::OAuth2 { user, scopes } => (*user, scopes.iter().any(|s| s == "dm.read")),
        Caller::OAuth1 { user } => (*user, true),
    };
    if !scopes_ok {
        return Err(problem::forbidden(
            "The token lacks the dm.read scope that dm.* subscriptions need.",
        ));
    }
    if inner.world.users[caller_user as usize].id != user_id {
        return Err(problem::forbidden(
            "A private event subscription must filter on the user who authorized it.",
        ));
    }
    let a = &mut inner.activity;
    if a.subscriptions
        .values()
        .any(|s| s.event_type == event_type && s.filter == filter)
    {
        return Err(problem::refused(
            StatusCode::CONFLICT,
            "DuplicateSubscription",
            "A subscription with this event_type and filter already exists.",
        ));
    }
    if a.subscriptions.len() >= a.config.subscription_cap {
        return Err(problem::refused(
            StatusCode::BAD_REQUEST,
            "SubscriptionLimitExceeded",
            &format!(
                "This app already has the maximum of {} subscriptions.",
                a.config.subscription_cap
            ),
        ));
    }
    let id = a.new_id(ctx.now_ms);
    let sub = Subscription {
        id,
        event_type,
        filter,
        user_id: Some(user_id),
        tag,
        webhook_id,
        created_ms: ctx.now_ms,
        updated_ms: ctx.now_ms,
    };
    let out = json!({"data": {"subscription": subscription_json(&sub)}});
    a.subscriptions.insert(id, sub);
    Ok(Reply::json(StatusCode::OK, out))
}

/// `GET /2/activity/subscriptions`, oldest first, in pages.
pub(crate) fn list(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut max = 1000usize;
    let mut after: Option<u64> = None;
    for (k, v) in &ctx.query {
        match k.as_str() {
            "max_results" => {
                max = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        problem::invalid_one(
                            "max_results",
                            v,
                            format!(
                                "The `max_results` query parameter value [{v}] is not between 1 and 1000"
                            ),
                        )
                    })?;
            }
            "pagination_token" => {
                let c = inner.codec.decode(v).filter(|(d, _)| *d == Direction::Next);
                after = Some(c.map(|(_, id)| id).ok_or_else(|| {
                    problem::invalid_one(
                        "pagination_token",
                        v,
                        "The `pagination_token` query parameter value is not valid",
                    )
                })?);
            }
            other => {
                return Err(problem::invalid_one(
                    other,
                    v,
                    format!(
                        "The query parameter [{other}] is not one of [max_results,pagination_token]"
                    ),
                ));
            }
        }
    }
    let subs = &inner.activity.subscriptions;
    let mut page: Vec<&Subscription> = subs
        .range(after.unwrap_or(0)..)
        .map(|(_, s)| s)
        .take(max + 1)
        .collect();
    let next = (page.len() > max)
        .then(|| page.pop().map(|s| s.id))
        .flatten();
    let mut meta = json!({"result_count": page.len()});
    if let Some(n) = next {
        meta["next_token"] = json!(inner.codec.encode(Direction::Next, n));
    }
    let data: Vec<Value> = page.into_iter().map(subscription_json).collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": data, "meta": meta}),
    ))
}

fn unknown_subscription(id: &str) -> Reply {
    problem::not_found("subscription", "subscription_id", id)
}

/// `PUT /2/activity/subscriptions/{subscription_id}`: `tag` and `webhook_id` only.
pub(crate) fn update(inner: &mut Inner, ctx: &Ctx, id: &str) -> Result<Reply, Reply> {
    let sid = validate::numeric_id("subscription_id", id)?;
    validate::no_query(&ctx.query)?;
    let body = ctx.json_object()?;
    if let Some(k) = body
        .keys()
        .find(|k| !["tag", "webhook_id"].contains(&k.as_str()))
    {
        return Err(extra_key("", k));
    }
    let tag = string_field(&body, "", "tag", 1..=200)?.map(str::to_owned);
    let webhook_id = known_webhook(inner, id_field(&body, "", "webhook_id")?)?;
    let a = &mut inner.activity;
    let total = a.subscriptions.len();
    let sub = a
        .subscriptions
        .get_mut(&sid)
        .ok_or_else(|| unknown_subscription(id))?;
    if tag.is_some() {
        sub.tag = tag;
    }
    if webhook_id.is_some() {
        sub.webhook_id = webhook_id;
    }
    sub.updated_ms = ctx.now_ms;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"subscription": subscription_json(sub), "total_subscriptions": total}}),
    ))
}

/// `DELETE /2/activity/subscriptions/{subscription_id}`.
pub(crate) fn delete_one(inner: &mut Inner, ctx: &Ctx, id: &str) -> Result<Reply, Reply> {
    let sid = validate::numeric_id("subscription_id", id)?;
    validate::no_query(&ctx.query)?;
    let subs = &mut inner.activity.subscriptions;
    subs.remove(&sid).ok_or_else(|| unknown_subscription(id))?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"deleted": true}, "meta": {"total_subscriptions": subs.len()}}),
    ))
}

/// `DELETE /2/activity/subscriptions?ids=1,2`: per-id results, failures do not stop the rest.
pub(crate) fn delete_many(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut ids = None;
    for (k, v) in &ctx.query {
        if k == "ids" {
            ids = Some(v.clone());
        } else {
            return Err(problem::invalid_one(
                k,
                v,
                format!("The query parameter [{k}] is not one of [ids]"),
            ));
        }
    }
    let Some(ids) = ids else {
        return Err(problem::invalid_one(
            "ids",
            "",
            "The `ids` query parameter can not be empty",
        ));
    };
    let list: Vec<&str> = ids.split(',').collect();
    if list.len() > 100 {
        return Err(problem::invalid_one(
            "ids",
            &ids,
            "The `ids` query parameter can have at most 100 ids",
        ));
    }
    let parsed = list
        .iter()
        .map(|s| validate::numeric_id("ids", s))
        .collect::<Result<Vec<u64>, Reply>>()?;
    let subs = &mut inner.activity.subscriptions;
    let (mut data, mut errors) = (Vec::new(), Vec::new());
    for (raw, id) in list.iter().zip(parsed) {
        if subs.remove(&id).is_some() {
            data.push(json!({"subscription_id": raw, "deleted": true}));
        } else {
            errors.push(json!({
                "subscription_id": raw,
                "reason": "SubscriptionNotFound",
                "message": format!("No subscription with id {raw}."),
            }));
        }
    }
    let mut out = json!({"data": data, "meta": {"total_subscriptions": subs.len()}});
    if !errors.is_empty() {
        out["errors"] = json!(errors);
    }
    Ok(Reply::json(StatusCode::OK, out))
}

/// The 429 X sends when the app already holds its stream connections (documented shape).
pub(crate) fn too_many_connections() -> Reply {
    Reply::json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({
            "title": "ConnectionException",
            "detail": "This stream is currently at the maximum allowed connection limit.",
            "connection_issue": "TooManyConnections",
            "type": "https://api.x.com/2/problems/streaming-connection",
        }),
    )
    .with_content_type("application/problem+json")
}

fn parse_time(name: &str, v: &str) -> Result<u64, Reply> {
    v.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| u64::try_from(t.as_millisecond()).ok())
        .ok_or_else(|| {
            problem::invalid_one(
                name,
                v,
                format!("Invalid {name}: expected an RFC 3339 time such as 2026-01-01T00:00:00Z"),
            )
        })
}

/// `GET /2/activity/stream`: registers a connection and hands the body to the server.
pub(crate) fn stream(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    let (mut backfill, mut start, mut end) = (None, None, None);
    for (k, v) in &ctx.query {
        match k.as_str() {
            "backfill_minutes" => {
                backfill = Some(v.parse::<u64>().ok().filter(|n| *n <= 5).ok_or_else(|| {
                    problem::invalid_one(
                        "backfill_minutes",
                        v,
                        format!("The `backfill_minutes` query parameter value [{v}] is not between 0 and 5"),
                    )
                })?);
            }
            "start_time" => start = Some(parse_time("start_time", v)?),
            "end_time" => end = Some(parse_time("end_time", v)?),
            other => {
                return Err(problem::invalid_one(
                    other,
                    v,
                    format!(
                        "The query parameter [{other}] is not one of [backfill_minutes,start_time,end_time]"
                    ),
                ));
            }
        }
    }
    if let Some(n) = backfill
        && inner.activity.config.refuse_backfill
    {
        return Err(problem::invalid_one(
            "backfill_minutes",
            &n.to_string(),
            "You are not authorized to use the backfill_minutes parameter.",
        ));
    }
    match (start, end) {
        (None, Some(e)) => {
            return Err(problem::invalid_one(
                "end_time",
                &rfc3339_millis(e),
                "end_time needs a start_time",
            ));
        }
        (Some(s), Some(e)) if e <= s => {
            return Err(problem::invalid_one(
                "end_time",
                &rfc3339_millis(e),
                "end_time must be after start_time",
            ));
        }
        (Some(s), _) if s > ctx.now_ms => {
            return Err(problem::invalid_one(
                "start_time",
                &rfc3339_millis(s),
                "start_time must not be in the future",
            ));
        }
        _ => {}
    }
    let script = match &ctx.fault {
        Some(FaultKind::TooManyConnections) => return Err(too_many_connections()),
        Some(FaultKind::Stream {
            fault,
            after_events,
        }) => Some((*fault, *after_events)),
        _ => None,
    };
    let a = &mut inner.activity;
    if a.open_streams() >= a.config.connection_limit {
        return Err(too_many_connections());
    }
    let (mut conn, body) = StreamConn::open(script, a.config.keep_alive, a.stop.clone());
    // Replayed lines first, oldest first, then live ones.
    let from = [
        backfill.map(|n| ctx.now_ms.saturating_sub(n * 60_000)),
        start,
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some(from) = from {
        let until = end.unwrap_or(u64::MAX);
        let lines: Vec<_> = a
            .stream_log
            .iter()
            .filter(|r| r.at_ms >= from && r.at_ms < until)
            .map(|r| r.line.clone())
            .collect();
        for line in &lines {
            a.send_line(&mut conn, line);
        }
    }
    if end.is_some() {
        // A recovery window: the connection closes when it is done.
        conn.close();
    }
    conn.start();
    conn.id = a.new_id(ctx.now_ms);
    conn.opened_ms = ctx.now_ms;
    a.streams.push(conn);
    inner.followup = Some(Followup::Stream(body));
    Ok(Reply::json(StatusCode::OK, Value::Null).with_content_type("application/json"))
}
