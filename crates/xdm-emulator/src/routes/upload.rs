//! Media upload: one-shot, and chunked (initialize, append, finalize) with status.

use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::problem;
use crate::reply::Reply;
use crate::server::Inner;
use crate::state::{Media, MediaState};
use crate::validate;

const EXPIRES_S: u64 = 24 * 60 * 60;
const CATEGORIES: &[&str] = &[
    "amplify_video",
    "tweet_gif",
    "tweet_image",
    "tweet_video",
    "dm_gif",
    "dm_image",
    "dm_video",
    "subtitles",
];
/// Videos are "processed" for this long after finalize.
const PROCESSING_MS: u64 = 1000;

/// Form fields of a JSON, urlencoded or multipart body, values as bytes.
fn fields(ctx: &Ctx) -> Result<Vec<(String, FieldValue)>, Reply> {
    let ct = ctx.header("content-type").unwrap_or("").to_owned();
    let lower = ct.to_ascii_lowercase();
    if lower.starts_with("multipart/form-data") {
        let boundary = ct
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .map(|b| b.trim_matches('"').to_owned())
            .ok_or_else(|| {
                problem::invalid_one("content-type", &ct, "multipart body without a boundary")
            })?;
        return multipart(&ctx.body, &boundary).ok_or_else(|| {
            problem::invalid_one("body", "", "The multipart body could not be parsed")
        });
    }
    if lower.starts_with("application/x-www-form-urlencoded") {
        return Ok(ctx
            .form()
            .into_iter()
            .map(|(k, v)| (k, FieldValue::Text(v)))
            .collect());
    }
    if ctx.body.is_empty() {
        return Ok(Vec::new());
    }
    let obj = ctx.json_object()?;
    Ok(obj
        .into_iter()
        .map(|(k, v)| (k, FieldValue::Json(v)))
        .collect())
}

#[derive(Debug, Clone)]
enum FieldValue {
    Text(String),
    Binary(Bytes),
    Json(Value),
}

impl FieldValue {
    fn as_text(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.clone()),
            Self::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
            Self::Json(Value::String(s)) => Some(s.clone()),
            Self::Json(Value::Number(n)) => Some(n.to_string()),
            Self::Json(Value::Bool(b)) => Some(b.to_string()),
            Self::Json(_) => None,
        }
    }

    /// The media payload: raw bytes from a multipart file part, base64 anywhere else.
    fn as_media(&self) -> Option<Bytes> {
        match self {
            Self::Binary(b) => Some(b.clone()),
            other => base64::engine::general_purpose::STANDARD
                .decode(other.as_text()?.trim())
                .ok()
                .map(Bytes::from),
        }
    }
}

fn multipart(body: &[u8], boundary: &str) -> Option<Vec<(String, FieldValue)>> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut rest = body;
    let start = find(rest, delim.as_bytes())?;
    rest = &rest[start + delim.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(out);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, delim.as_bytes())?;
        let part = &rest[..end];
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]);
        let data = &part[split + 4..];
        let name = head
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()?
            .split("\r\n")
            .next()?
            .trim_matches('"')
            .to_owned();
        out.push((name, FieldValue::Binary(Bytes::copy_from_slice(data))));
        rest = &rest[end + delim.len()..];
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn get<'a>(f: &'a [(String, FieldValue)], k: &str) -> Option<&'a FieldValue> {
    f.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn check_keys(f: &[(String, FieldValue)], allowed: &[&str]) -> Result<(), Reply> {
    match f.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(problem::invalid_one(
            k,
            k,
            format!(
                "$.{k}: is not defined in the schema and the schema does not allow additional properties"
            ),
        )),
        None => Ok(()),
    }
}

struct Config {
    prefix: u8,
    media_type: String,
    extra_owners: Vec<u64>,
}

fn config(f: &[(String, FieldValue)], category_required: bool) -> Result<Config, Reply> {
    let category = get(f, "media_category").and_then(FieldValue::as_text);
    match &category {
        Some(c) if !CATEGORIES.contains(&c.as_str()) => {
            return Err(problem::invalid_one(
                "media_category",
                c,
                format!(
                    "$.media_category: does not have a value in the enumeration [{}]",
                    CATEGORIES.join(",")
                ),
            ));
        }
        None if category_required => {
            return Err(problem::invalid_one(
                "media_category",
                "",
                "$.media_category: is missing but it is required",
            ));
        }
        _ => {}
    }
    let media_type = get(f, "media_type").and_then(FieldValue::as_text);
    let cat = category.unwrap_or_default();
    let mt = media_type.clone().unwrap_or_default();
    let prefix = if cat.ends_with("video") || mt.starts_with("video/") {
        5
    } else if cat.ends_with("gif") || mt == "image/gif" {
        16
    } else {
        3
    };
    let media_type = media_type.unwrap_or_else(|| match prefix {
        5 => "video/mp4".into(),
        16 => "image/gif".into(),
        _ => "image/jpeg".into(),
    });
    let mut extra_owners = Vec::new();
    if let Some(FieldValue::Json(Value::Array(a))) = get(f, "additional_owners") {
        for v in a {
            extra_owners.push(validate::numeric_id(
                "additional_owners",
                v.as_str().unwrap_or_default(),
            )?);
        }
    }
    Ok(Config {
        prefix,
        media_type,
        extra_owners,
    })
}

fn extension(media_type: &str) -> &str {
    match media_type {
        "video/mp4" => "mp4",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

fn new_media(inner: &mut Inner, ctx: &Ctx, user: u32, cfg: Config, total: Option<u64>) -> u32 {
    let id = inner.world.ids.next_at(ctx.now_ms);
    let resource = format!("{}.{}", inner.auth.new_token(8), extension(&cfg.media_type));
    let m = inner.world.media.len() as u32;
    inner.world.media.push(Media {
        id,
        prefix: cfg.prefix,
        owner: user,
        extra_owners: cfg.extra_owners,
        media_type: cfg.media_type,
        total_bytes: total,
        segments: Default::default(),
        data: Bytes::new(),
        state: MediaState::Uploading,
        created_ms: ctx.now_ms,
        resource_id: resource,
    });
    inner.world.media_index.insert(id, m);
    m
}

fn describe(inner: &Inner, m: u32, now_ms: u64) -> Value {
    let media = &inner.world.media[m as usize];
    let mut data = Map::new();
    data.insert("id".into(), json!(media.id.to_string()));
    data.insert("media_key".into(), json!(media.key()));
    if media.state != MediaState::Uploading {
        data.insert("size".into(), json!(media.data.len()));
    }
    let left = (media.created_ms / 1000 + EXPIRES_S).saturating_sub(now_ms / 1000);
    data.insert("expires_after_secs".into(), json!(left));
    match media.state {
        MediaState::Processing { ready_ms } if ready_ms > now_ms => {
            data.insert(
                "processing_info".into(),
                json!({"state": "in_progress", "check_after_secs": (ready_ms - now_ms).div_ceil(1000), "progress_percent": 50}),
            );
        }
        MediaState::Processing { .. } => {
            data.insert(
                "processing_info".into(),
                json!({"state": "succeeded", "progress_percent": 100}),
            );
        }
        _ => {}
    }
    json!({ "data": data })
}

/// An upload of `user`'s by id, or 404.
fn owned(inner: &Inner, user: u32, id: &str) -> Result<u32, Reply> {
    let n = validate::numeric_id("id", id)?;
    inner
        .world
        .media_index
        .get(&n)
        .copied()
        .filter(|&m| inner.world.media[m as usize].owner == user)
        .ok_or_else(|| problem::not_found("media", "id", id))
}

pub(super) fn one_shot(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    let f = fields(ctx)?;
    check_keys(
        &f,
        &[
            "media",
            "media_category",
            "media_type",
            "shared",
            "additional_owners",
        ],
    )?;
    let cfg = config(&f, true)?;
    let data = get(&f, "media")
        .ok_or_else(|| problem::invalid_one("media", "", "$.media: is missing but it is required"))?
        .as_media()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            problem::invalid_one("media", "", "$.media: is not a valid media payload")
        })?;
    let m = new_media(inner, ctx, user, cfg, Some(data.len() as u64));
    let media = &mut inner.world.media[m as usize];
    media.data = data;
    media.state = MediaState::Ready;
    Ok(Reply::json(StatusCode::OK, describe(inner, m, ctx.now_ms)))
}

pub(super) fn initialize(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    let f = fields(ctx)?;
    check_keys(
        &f,
        &[
            "media_category",
            "media_type",
            "shared",
            "additional_owners",
            "total_bytes",
        ],
    )?;
    let cfg = config(&f, false)?;
    let total =
        match get(&f, "total_bytes").map(|v| v.as_text().and_then(|t| t.parse::<u64>().ok())) {
            None => None,
            Some(Some(n)) if n <= 17_179_869_184 => Some(n),
            Some(_) => {
                return Err(problem::invalid_one(
                    "total_bytes",
                    "",
                    "$.total_bytes: must be an integer between 0 and 17179869184",
                ));
            }
        };
    let m = new_media(inner, ctx, user, cfg, total);
    Ok(Reply::json(StatusCode::OK, describe(inner, m, ctx.now_ms)))
}

pub(super) fn append(inner: &mut Inner, ctx: &Ctx, user: u32, id: &str) -> Result<Reply, Reply> {
    let m = owned(inner, user, id)?;
    let f = fields(ctx)?;
    check_keys(&f, &["media", "segment_index"])?;
    let index = get(&f, "segment_index")
        .and_then(FieldValue::as_text)
        .and_then(|t| t.parse::<u32>().ok())
        .filter(|&i| i <= 999)
        .ok_or_else(|| {
            problem::invalid_one(
                "segment_index",
                "",
                "$.segment_index: must be an integer between 0 and 999",
            )
        })?;
    let data = get(&f, "media")
        .and_then(FieldValue::as_media)
        .ok_or_else(|| {
            problem::invalid_one(
                "media",
                "",
                "$.media: is missing or not a valid media payload",
            )
        })?;
    let media = &mut inner.world.media[m as usize];
    if media.state != MediaState::Uploading {
        return Err(problem::invalid_one(
            "id",
            id,
            "This upload was already finalized",
        ));
    }
    media.segments.insert(index, data);
    let expires_at = media.created_ms / 1000 + EXPIRES_S;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"expires_at": expires_at}}),
    ))
}

pub(super) fn finalize(inner: &mut Inner, ctx: &Ctx, user: u32, id: &str) -> Result<Reply, Reply> {
    let m = owned(inner, user, id)?;
    let media = &mut inner.world.media[m as usize];
    if media.state != MediaState::Uploading {
        return Err(problem::invalid_one(
            "id",
            id,
            "This upload was already finalized",
        ));
    }
    let size: usize = media.segments.values().map(Bytes::len).sum();
    let contiguous = media
        .segments
        .keys()
        .enumerate()
        .all(|(i, &k)| i as u32 == k);
    if size == 0 || !contiguous || media.total_bytes.is_some_and(|t| t != size as u64) {
        return Err(problem::invalid_one(
            "id",
            id,
            format!("Segments are missing or do not add up to total_bytes (got {size} bytes)"),
        ));
    }
    let mut all = Vec::with_capacity(size);
    for s in std::mem::take(&mut media.segments).into_values() {
        all.extend_from_slice(&s);
    }
    media.data = Bytes::from(all);
    media.state = if media.prefix == 3 {
        MediaState::Ready
    } else {
        MediaState::Processing {
            ready_ms: ctx.now_ms + PROCESSING_MS,
        }
    };
    Ok(Reply::json(StatusCode::OK, describe(inner, m, ctx.now_ms)))
}

pub(super) fn status(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    let mut id = None;
    for (k, v) in &ctx.query {
        match (k.as_str(), v.as_str()) {
            ("media_id", _) => id = Some(v.clone()),
            ("command", "STATUS") => {}
            _ => {
                return Err(problem::invalid_one(
                    k,
                    v,
                    format!("The query parameter [{k}] is not one of [command,media_id]"),
                ));
            }
        }
    }
    let id = id.ok_or_else(|| {
        problem::invalid_one("media_id", "", "The `media_id` query parameter is missing")
    })?;
    let m = owned(inner, user, &id)?;
    Ok(Reply::json(StatusCode::OK, describe(inner, m, ctx.now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"media_category\"\r\n\r\ndm_image\r\n--XX\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\x01\x02\r\n--XX--\r\n";
        let parts = multipart(body, "XX").unwrap();
        assert_eq!(parts[0].0, "media_category");
        assert_eq!(parts[0].1.as_text().as_deref(), Some("dm_image"));
        assert_eq!(parts[1].0, "media");
        assert_eq!(parts[1].1.as_media().unwrap().as_ref(), b"\x01\x02");
        assert!(multipart(b"garbage", "XX").is_none());
    }
}
