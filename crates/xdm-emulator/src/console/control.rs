//! The request log, the limits, the faults and the activity, as the console sees and
//! steers them.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::requests::Filter;
use super::{Request, Update, bad_request, not_found};
use crate::faults::{Fault, FaultKind};
use crate::rate_limit::{BudgetView, EndpointGroup, GroupView};
use crate::reply::Reply;
use crate::server::Shared;

fn ok() -> Reply {
    Reply::json(StatusCode::OK, json!({"ok": true}))
}

pub(super) fn requests(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let number = |name: &str| -> Result<Option<u64>, Reply> {
        req.param(name)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| bad_request(format!("{name} must be a whole number, not {s:?}")))
            })
            .transpose()
    };
    let text = |name: &str| req.param(name).filter(|s| !s.is_empty()).map(str::to_owned);
    let status = text("status");
    if let Some(s) = &status
        && !Filter::valid_status(s)
    {
        return Err(bad_request(format!(
            "status {s:?} is not a status (200), a class (4xx) or closed"
        )));
    }
    let limit = number("limit")?.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(bad_request("limit must be 1 to 1000"));
    }
    let filter = Filter {
        status,
        endpoint: text("endpoint"),
        user: text("user"),
        after: number("after")?,
    };
    let g = shared.lock();
    let Some(log) = &g.requests else {
        return Ok(Reply::json(StatusCode::OK, json!({"requests": []})));
    };
    let matching: Vec<_> = log.iter().filter(|r| filter.keeps(r)).collect();
    // The newest `limit`, oldest first.
    let skip = matching.len().saturating_sub(limit as usize);
    let list: Vec<Value> = matching[skip..].iter().map(|r| r.summary()).collect();
    Ok(Reply::json(StatusCode::OK, json!({ "requests": list })))
}

pub(super) fn request(shared: &Arc<Shared>, seq: &str) -> Result<Reply, Reply> {
    let n: u64 = seq
        .parse()
        .map_err(|_| bad_request(format!("{seq:?} is not a request number")))?;
    let g = shared.lock();
    g.requests
        .as_ref()
        .and_then(|log| log.get(n))
        .map(|r| Reply::json(StatusCode::OK, r.detail()))
        .ok_or_else(|| not_found(format!("the log holds no request {n}")))
}

pub(super) fn clear_requests(shared: &Arc<Shared>) -> Reply {
    if let Some(log) = &mut shared.lock().requests {
        log.clear();
    }
    ok()
}

fn budget(b: &BudgetView) -> (u32, u32, Option<u64>) {
    (b.limit, b.remaining, b.reset_ms)
}

fn group_json(v: &GroupView) -> Value {
    let (limit, remaining, reset_ms) = budget(&v.window);
    let day = v.day.as_ref().map(budget);
    json!({
        "group": v.group.name(),
        "limit": limit,
        "remaining": remaining,
        "reset_ms": reset_ms,
        "day_limit": day.map(|d| d.0),
        "day_remaining": day.map(|d| d.1),
        "day_reset_ms": day.and_then(|d| d.2),
        "held_until_ms": v.held_until_ms,
    })
}

pub(super) fn limits(shared: &Arc<Shared>) -> Reply {
    let now = shared.clock.now_millis();
    let g = shared.lock();
    let mut users = g.limiter.users_seen();
    if !users.contains(&0) {
        users.insert(0, 0);
    }
    let users: Vec<Value> = users
        .into_iter()
        .map(|u| {
            let groups: Vec<Value> = EndpointGroup::PER_USER
                .iter()
                .map(|&grp| group_json(&g.limiter.view(&g.limits, Some(u), grp, now)))
                .collect();
            let info = &g.world.users[u as usize];
            json!({"user_id": info.id.to_string(), "username": info.username, "groups": groups})
        })
        .collect();
    let app: Vec<Value> = g
        .limiter
        .app_groups_seen()
        .into_iter()
        .map(|grp| group_json(&g.limiter.view(&g.limits, None, grp, now)))
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({
            "now_ms": now,
            "enabled": g.limits.enabled,
            "window_seconds": g.limits.window.as_secs(),
            "day_seconds": g.limits.day.as_secs(),
            "users": users,
            "app": app,
        }),
    )
}

fn kind_json(k: &FaultKind) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("kind".into(), json!(k.name()));
    match k {
        FaultKind::Status(s) => {
            o.insert("status".into(), json!(s));
        }
        FaultKind::RateLimited { reset_after } => {
            o.insert("reset_seconds".into(), json!(reset_after.as_secs()));
        }
        FaultKind::DelayHeaders(d) | FaultKind::DelayBody(d) => {
            o.insert("delay_ms".into(), json!(d.as_millis() as u64));
        }
        _ => {}
    }
    o
}

pub(super) fn faults(shared: &Arc<Shared>) -> Reply {
    let g = shared.lock();
    let list: Vec<Value> = g
        .faults
        .list()
        .into_iter()
        .map(|a| {
            let mut o = kind_json(&a.fault.kind);
            o.insert("id".into(), json!(a.id));
            o.insert("method".into(), json!(a.fault.method));
            o.insert("path".into(), json!(a.fault.path));
            o.insert("remaining".into(), json!(a.remaining));
            Value::Object(o)
        })
        .collect();
    Reply::json(StatusCode::OK, json!({ "faults": list }))
}

/// A whole number field within `range`, or `default` when absent.
fn bounded(
    body: &Map<String, Value>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| range.contains(n)).ok_or_else(|| {
            bad_request(format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        }),
    }
}

pub(super) fn add_fault(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    let text = |name: &str, default: &str| -> Result<String, Reply> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(default.to_owned()),
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(bad_request(format!("{name} must be a non-empty string"))),
        }
    };
    let method = text("method", "*")?.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "DELETE", "*"].contains(&method.as_str()) {
        return Err(bad_request(format!(
            "method {method:?} is not GET, POST, PUT, DELETE or *"
        )));
    }
    let path = text("path", "*")?;
    if path != "*" && !path.starts_with('/') {
        return Err(bad_request(format!(
            "path {path:?} is not a path template like /2/dm_events or *"
        )));
    }
    let count = bounded(&body, "count", 1, 1..=1000)? as u32;
    let kind = match body.get("kind").and_then(Value::as_str) {
        Some("rate_limited") => FaultKind::RateLimited {
            reset_after: Duration::from_secs(bounded(&body, "reset_seconds", 60, 1..=86_400)?),
        },
        Some("status") => {
            let s = bounded(&body, "status", 503, 400..=599)?;
            FaultKind::Status(s as u16)
        }
        Some("drop") => FaultKind::CloseBeforeResponse,
        Some("slow") => FaultKind::DelayHeaders(Duration::from_millis(bounded(
            &body,
            "delay_ms",
            3000,
            0..=120_000,
        )?)),
        Some("partial_errors") => FaultKind::PartialErrors,
        Some(other) => {
            return Err(bad_request(format!(
                "kind {other:?} is not rate_limited, status, drop, slow or partial_errors"
            )));
        }
        None => return Err(bad_request("kind is required")),
    };
    let id = shared
        .lock()
        .faults
        .add_times(Fault::once(&method, &path, kind), count);
    shared.publish(Update::faults());
    Ok(Reply::json(StatusCode::CREATED, json!({ "id": id })))
}

pub(super) fn clear_faults(shared: &Arc<Shared>) -> Reply {
    shared.lock().faults.clear();
    shared.publish(Update::faults());
    ok()
}

pub(super) fn remove_fault(shared: &Arc<Shared>, id: &str) -> Result<Reply, Reply> {
    let n: u64 = id
        .parse()
        .map_err(|_| bad_request(format!("{id:?} is not a fault id")))?;
    if !shared.lock().faults.remove(n) {
        return Err(not_found(format!("no fault {n} is armed")));
    }
    shared.publish(Update::faults());
    Ok(ok())
}

pub(super) fn drop_streams(shared: &Arc<Shared>) -> Reply {
    let n = shared.lock().activity.drop_streams();
    shared.publish(Update::activity());
    Reply::json(StatusCode::OK, json!({ "dropped": n }))
}

pub(super) fn fail_webhooks(shared: &Arc<Shared>, req: &Request<'_>) -> Result<Reply, Reply> {
    let body = req.json()?;
    if body.get("count").is_none() {
        return Err(bad_request("count is required"));
    }
    let count = bounded(&body, "count", 1, 1..=1000)? as usize;
    let status = bounded(&body, "status", 503, 400..=599)? as u16;
    shared.lock().activity.fail_webhooks(count, status);
    shared.publish(Update::activity());
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({"count": count, "status": status}),
    ))
}

pub(super) fn activity(shared: &Arc<Shared>) -> Reply {
    let mut g = shared.lock();
    let a = &mut g.activity;
    a.open_streams();
    let streams: Vec<Value> = a
        .streams
        .iter()
        .map(|c| {
            json!({"id": c.id.to_string(), "opened_ms": c.opened_ms, "events_sent": c.events_sent()})
        })
        .collect();
    let subscriptions: Vec<Value> = a
        .subscriptions
        .values()
        .map(crate::routes::activity::subscription_json)
        .collect();
    let webhooks: Vec<Value> = a
        .webhooks
        .values()
        .map(|h| {
            let deliveries: Vec<Value> = h
                .deliveries
                .iter()
                .map(|d| {
                    let mut o = json!({
                        "time_ms": d.at_ms,
                        "status": d.attempts.last().copied().flatten(),
                        "attempt": d.attempts.len(),
                        "replay": d.replay,
                    });
                    let ids: Vec<Value> = d
                        .envelope
                        .as_ref()
                        .and_then(|e| e["data"]["payload"]["direct_message_events"].as_array())
                        .map(|evs| evs.iter().map(|e| e["id"].clone()).collect())
                        .unwrap_or_default();
                    if !ids.is_empty() {
                        o["event_ids"] = json!(ids);
                    }
                    o
                })
                .collect();
            json!({"id": h.id.to_string(), "url": h.url, "valid": h.valid, "deliveries": deliveries})
        })
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({"stream_connections": streams, "subscriptions": subscriptions, "webhooks": webhooks}),
    )
}
