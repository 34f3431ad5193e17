//! `/2/webhooks`: registration with a CRC check, listing, revalidation, deletion, replay.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{Value, json};

use super::Ctx;
use crate::activity::webhook::{self, WebhookJob};
use crate::activity::{CrcCheck, Webhook};
use crate::clock::rfc3339_millis;
use crate::problem;
use crate::reply::Reply;
use crate::server::{CrcFollowup, Followup, Inner, Shared};
use crate::validate;

const FIELDS: &[&str] = &["created_at", "id", "url", "valid"];

/// Why X would refuse `url`, if it would. With `loopback` on, `http://` URLs on
/// `127.0.0.1`, `localhost` or `[::1]` (with any port) pass too, so tests can register a
/// local receiver.
pub(crate) fn url_problem(url: &str, loopback: bool) -> Option<&'static str> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Some("The URL does not parse.");
    };
    let host = uri.host().unwrap_or("");
    let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    match uri.scheme_str() {
        Some("http") if loopback && local => None,
        Some("https") if uri.port().is_some() => Some("The URL must not name a port."),
        Some("https") if !host.is_empty() => None,
        Some("https") => Some("The URL has no host."),
        _ => Some("The URL must use https."),
    }
}

fn webhook_json(h: &Webhook, fields: &[&str]) -> Value {
    let mut o = serde_json::Map::new();
    for f in fields {
        let v = match *f {
            "created_at" => json!(rfc3339_millis(h.created_ms)),
            "id" => json!(h.id.to_string()),
            "url" => json!(h.url),
            _ => json!(h.valid),
        };
        o.insert((*f).to_owned(), v);
    }
    Value::Object(o)
}

fn invalid_id(id: &str) -> Reply {
    problem::refused(
        StatusCode::BAD_REQUEST,
        "WebhookIdInvalid",
        &format!("The webhook id {id} is not a webhook of this app."),
    )
}

fn checks_for_new(inner: &Inner, url: &str) -> Result<(), Reply> {
    let a = &inner.activity;
    if a.webhooks.values().any(|h| h.url == url) {
        return Err(problem::refused(
            StatusCode::BAD_REQUEST,
            "DuplicateUrlFailed",
            "This URL is already registered for this app.",
        ));
    }
    if a.webhooks.len() >= a.config.webhook_cap {
        return Err(problem::refused(
            StatusCode::BAD_REQUEST,
            "WebhookLimitExceeded",
            &format!(
                "The account already has the maximum of {} webhooks.",
                a.config.webhook_cap
            ),
        ));
    }
    Ok(())
}

/// `POST /2/webhooks`: checks the body and URL here; the CRC runs after the lock is released.
pub(crate) fn create(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let body = ctx.json_object()?;
    if let Some(k) = body.keys().find(|k| *k != "url") {
        return Err(problem::invalid_one(
            k,
            k,
            format!(
                "$.{k}: is not defined in the schema and the schema does not allow additional properties"
            ),
        ));
    }
    let url = match body.get("url") {
        Some(Value::String(s)) if (1..=200).contains(&s.chars().count()) => s.clone(),
        Some(Value::String(s)) => {
            return Err(problem::invalid_one(
                "url",
                s,
                "$.url: must be 1 to 200 characters long",
            ));
        }
        Some(v) => {
            return Err(problem::invalid_one(
                "url",
                &v.to_string(),
                "$.url: string expected",
            ));
        }
        None => {
            return Err(problem::invalid_one(
                "url",
                "",
                "$.url: is missing but it is required",
            ));
        }
    };
    if let Some(why) = url_problem(&url, inner.activity.config.loopback_webhooks) {
        return Err(problem::refused(
            StatusCode::BAD_REQUEST,
            "UrlValidationFailed",
            why,
        ));
    }
    checks_for_new(inner, &url)?;
    inner.followup = Some(Followup::Crc(CrcFollowup::Register { url }));
    Ok(Reply::json(StatusCode::OK, Value::Null))
}

/// `GET /2/webhooks`.
pub(crate) fn list(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut fields: Vec<&str> = FIELDS.to_vec();
    for (k, v) in &ctx.query {
        if k != "webhook_config.fields" {
            return Err(problem::invalid_one(
                k,
                v,
                format!("The query parameter [{k}] is not one of [webhook_config.fields]"),
            ));
        }
        let asked: Vec<&str> = v.split(',').collect();
        if let Some(bad) = asked.iter().find(|f| !FIELDS.contains(f)) {
            return Err(problem::invalid_one(
                k,
                bad,
                format!(
                    "The `{k}` query parameter value [{bad}] is not one of [{}]",
                    FIELDS.join(",")
                ),
            ));
        }
        // The id always comes back, as on X's other field-selected objects.
        fields = FIELDS
            .iter()
            .copied()
            .filter(|f| *f == "id" || asked.contains(f))
            .collect();
    }
    let data: Vec<Value> = inner
        .activity
        .webhooks
        .values()
        .map(|h| webhook_json(h, &fields))
        .collect();
    let n = data.len();
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": data, "meta": {"result_count": n}}),
    ))
}

/// `PUT /2/webhooks/{webhook_id}`: a new CRC, after the lock is released.
pub(crate) fn update(inner: &mut Inner, ctx: &Ctx, id: &str) -> Result<Reply, Reply> {
    let wid = validate::numeric_id("webhook_id", id)?;
    validate::no_query(&ctx.query)?;
    if !inner.activity.webhooks.contains_key(&wid) {
        return Err(invalid_id(id));
    }
    inner.followup = Some(Followup::Crc(CrcFollowup::Revalidate { id: wid }));
    Ok(Reply::json(StatusCode::OK, Value::Null))
}

/// `DELETE /2/webhooks/{webhook_id}`; its queue closes, so its delivery task ends.
pub(crate) fn delete(inner: &mut Inner, ctx: &Ctx, id: &str) -> Result<Reply, Reply> {
    let wid = validate::numeric_id("webhook_id", id)?;
    validate::no_query(&ctx.query)?;
    inner
        .activity
        .webhooks
        .remove(&wid)
        .ok_or_else(|| invalid_id(id))?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"deleted": true}}),
    ))
}

/// `yyyymmddhhmm` (UTC) as epoch milliseconds.
fn replay_date(name: &str, v: &Value) -> Result<u64, Reply> {
    let bad = |value: &str| {
        problem::invalid_one(
            name,
            value,
            format!("$.{name}: must be a UTC time written yyyymmddhhmm"),
        )
    };
    let s = v.as_str().ok_or_else(|| bad(&v.to_string()))?;
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(s));
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i16>().unwrap_or(-1);
    let at = jiff::civil::DateTime::new(
        n(0..4),
        n(4..6) as i8,
        n(6..8) as i8,
        n(8..10) as i8,
        n(10..12) as i8,
        0,
        0,
    )
    .ok()
    .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
    .ok_or_else(|| bad(s))?;
    u64::try_from(at.timestamp().as_millisecond()).map_err(|_| bad(s))
}

fn query_param_invalid(detail: &str) -> Reply {
    problem::refused(StatusCode::BAD_REQUEST, "QueryParamInvalid", detail)
}

/// `POST /2/webhooks/replay`: re-sends what was delivered or attempted in the window (from
/// the start of `from_date`'s minute to the end of `to_date`'s, `to_date` taken as
/// inclusive as the spec says), each with `"meta":{"replay":true}`, then a completion notice.
pub(crate) fn replay(inner: &mut Inner, ctx: &Ctx) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let body = ctx.json_object()?;
    if let Some(k) = body
        .keys()
        .find(|k| !["webhook_id", "from_date", "to_date"].contains(&k.as_str()))
    {
        return Err(problem::invalid_one(
            k,
            k,
            format!(
                "$.{k}: is not defined in the schema and the schema does not allow additional properties"
            ),
        ));
    }
    for k in ["webhook_id", "from_date", "to_date"] {
        if !body.contains_key(k) {
            return Err(problem::invalid_one(
                k,
                "",
                format!("$.{k}: is missing but it is required"),
            ));
        }
    }
    let raw_id = body["webhook_id"].as_str().unwrap_or("");
    let wid = validate::numeric_id("webhook_id", raw_id)?;
    let from = replay_date("from_date", &body["from_date"])?;
    let to = replay_date("to_date", &body["to_date"])?;
    let now = ctx.now_ms;
    if from >= to {
        return Err(query_param_invalid("from_date must be before to_date."));
    }
    if to > now {
        return Err(query_param_invalid(
            "The window must not reach into the future.",
        ));
    }
    if from + 24 * 60 * 60 * 1000 < now {
        return Err(query_param_invalid(
            "from_date must be within the last 24 hours.",
        ));
    }
    let a = &mut inner.activity;
    let job_id = a.new_id(now);
    let hook = a.webhooks.get_mut(&wid).ok_or_else(|| invalid_id(raw_id))?;
    if hook.replay_job.is_some() {
        return Err(problem::refused(
            StatusCode::CONFLICT,
            "ReplayConflictError",
            "A replay job is already running for this webhook.",
        ));
    }
    hook.replay_job = Some(job_id);
    let again: Vec<Value> = hook
        .deliveries
        .iter()
        .filter(|d| !d.replay && d.at_ms >= from && d.at_ms < to + 60_000)
        .filter_map(|d| d.envelope.clone())
        .collect();
    for mut envelope in again {
        envelope["meta"] = json!({"replay": true});
        let body = bytes::Bytes::from(envelope.to_string());
        hook.push(now, Some(envelope), body, true);
    }
    let _ = hook.queue.send(WebhookJob::ReplayDone { job_id });
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"job_id": job_id.to_string(), "created_at": rfc3339_millis(now)}}),
    ))
}

/// Runs a registration's or revalidation's CRC outside the lock and makes the final reply.
pub(crate) async fn finish(shared: &Arc<Shared>, followup: CrcFollowup) -> Reply {
    let (url, existing) = match followup {
        CrcFollowup::Register { url } => (url, None),
        CrcFollowup::Revalidate { id } => {
            let g = shared.lock();
            match g.activity.webhooks.get(&id) {
                Some(h) => (h.url.clone(), Some(id)),
                None => return invalid_id(&id.to_string()),
            }
        }
    };
    let (secret, cfg, token) = {
        let mut g = shared.lock();
        let token = g.auth.new_token(43);
        (
            g.auth.consumer_secret.clone(),
            g.activity.config.clone(),
            token,
        )
    };
    let check = webhook::crc(&url, &secret, &cfg, token).await;
    let mut g = shared.lock();
    g.activity.last_crc = Some(check.clone());
    match existing {
        Some(id) => {
            let Some(h) = g.activity.webhooks.get_mut(&id) else {
                return invalid_id(&id.to_string());
            };
            h.valid = check.valid;
            if check.valid {
                Reply::json(StatusCode::OK, json!({"data": {"valid": true}}))
            } else {
                crc_failed(&check)
            }
        }
        None => {
            if !check.valid {
                return crc_failed(&check);
            }
            // Another registration may have finished while this CRC ran.
            if let Err(r) = checks_for_new(&g, &url) {
                return r;
            }
            let now = shared.clock.now_millis();
            let id = g.activity.new_id(now);
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let hook = Webhook {
                id,
                url,
                valid: true,
                created_ms: now,
                queue: tx,
                deliveries: Vec::new(),
                replay_job: None,
            };
            let out = json!({"data": webhook_json(&hook, FIELDS)});
            g.activity.webhooks.insert(id, hook);
            drop(g);
            webhook::spawn_worker(shared.clone(), id, rx);
            Reply::json(StatusCode::OK, out)
        }
    }
}

fn crc_failed(check: &CrcCheck) -> Reply {
    problem::refused(
        StatusCode::BAD_REQUEST,
        "CrcValidationFailed",
        &format!("The CRC check of the URL failed: {}.", check.reason),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert_eq!(url_problem("https://example.com/hook", false), None);
        assert!(url_problem("http://example.com/hook", false).is_some());
        assert!(url_problem("https://example.com:8443/hook", false).is_some());
        assert!(url_problem("http://127.0.0.1:8080/hook", false).is_some());
        assert_eq!(url_problem("http://127.0.0.1:8080/hook", true), None);
        assert_eq!(url_problem("http://localhost:1/x", true), None);
        assert!(url_problem("http://example.com/hook", true).is_some());
        assert!(url_problem("not a url", false).is_some());
        assert!(url_problem("https:///nohost", false).is_some());
    }
}
