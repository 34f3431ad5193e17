//! Query-parameter checks for the lookup endpoints, with X's messages.

use crate::ids::{Direction, TokenCodec};
use crate::problem::{self, ParamError};
use crate::reply::Reply;

/// Which set of wire names a request used; the response answers in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `tweet.fields`, `referenced_tweets.id`, `includes.tweets` (≤ 2.166 and the docs).
    Legacy,
    /// `post.fields`, `referenced_posts`, `includes.posts` (2.167).
    Post,
}

pub(crate) const EVENT_FIELDS: &[&str] = &[
    "attachments",
    "created_at",
    "dm_conversation_id",
    "entities",
    "event_type",
    "id",
    "participant_ids",
    "referenced_tweets",
    "referenced_posts",
    "sender_id",
    "text",
];
pub(crate) const EXPANSIONS: &[&str] = &[
    "attachments.media_keys",
    "participant_ids",
    "referenced_tweets.id",
    "referenced_posts",
    "sender_id",
];
const USER_FIELDS: &[&str] = &[
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    // The post-dialect spellings, present on 2.167's User schema though not in its enum.
    "most_recent_post_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "pinned_post_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscribes_to_you",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];
// A current server knows the fields added after the rename under either parameter name: the
// legacy dialect renames, it does not hide newer fields (hence `article_title` here).
const TWEET_FIELDS: &[&str] = &[
    "article",
    "article_title",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "matched_media_notes",
    "media_metadata",
    "non_public_metrics",
    "note_request_suggestions",
    "note_tweet",
    "organic_metrics",
    "paid_partnership",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
];
// 2.167's enum dropped `author_id`, `edit_history_post_ids`, `in_reply_to_user_id` and
// `referenced_posts`, though its Post schema still has them; the API still returns them.
const POST_FIELDS: &[&str] = &[
    "article",
    "article_title",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_post_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "matched_media_notes",
    "media_metadata",
    "non_public_metrics",
    "note_post",
    "note_request_suggestions",
    "organic_metrics",
    "paid_partnership",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_posts",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
];
const MEDIA_FIELDS: &[&str] = &[
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
];
const EVENT_TYPES: &[&str] = &["MessageCreate", "ParticipantsJoin", "ParticipantsLeave"];

/// The fields and expansions a lookup asked for.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub(crate) event: Vec<&'static str>,
    pub(crate) expansions: Vec<&'static str>,
    pub(crate) user: Vec<&'static str>,
    pub(crate) media: Vec<&'static str>,
    pub(crate) post: Vec<&'static str>,
    pub(crate) dialect: Dialect,
}

impl Fields {
    pub(crate) fn wants(&self, field: &str) -> bool {
        self.event.contains(&field)
    }

    pub(crate) fn expands(&self, e: &str) -> bool {
        self.expansions.contains(&e)
    }
}

/// A validated list request.
#[derive(Debug, Clone)]
pub(crate) struct ListParams {
    pub(crate) max_results: usize,
    pub(crate) cursor: Option<(Direction, u64)>,
    pub(crate) types: u8,
    pub(crate) fields: Fields,
}

fn list_values(
    name: &str,
    raw: &str,
    allowed: &'static [&'static str],
    errors: &mut Vec<ParamError>,
) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for v in raw.split(',') {
        match allowed.iter().find(|a| **a == v) {
            Some(a) if !out.contains(a) => out.push(a),
            Some(_) => errors.push(ParamError::new(
                name,
                raw,
                format!("The `{name}` query parameter value [{v}] is duplicated"),
            )),
            None => errors.push(ParamError::new(
                name,
                raw,
                format!(
                    "The `{name}` query parameter value [{v}] is not one of [{}]",
                    allowed.join(",")
                ),
            )),
        }
    }
    out
}

/// The parameters of `query` named in `allowed`, each given once and not empty; every other
/// one becomes an error in X's words.
fn known_params<'q>(
    query: &'q [(String, String)],
    allowed: &[&str],
    errors: &mut Vec<ParamError>,
) -> Vec<(&'q str, &'q str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (k, v) in query {
        if !allowed.contains(&k.as_str()) {
            let mut names = allowed.to_vec();
            names.sort_unstable();
            errors.push(ParamError::new(
                k,
                v,
                format!(
                    "The query parameter [{k}] is not one of [{}]",
                    names.join(",")
                ),
            ));
        } else if out.iter().any(|(seen, _)| seen == k) {
            errors.push(ParamError::new(
                k,
                v,
                format!("The query parameter [{k}] was given more than once"),
            ));
        } else if v.is_empty() {
            // Counted as seen, so a second, non-empty copy is still reported as a repeat.
            out.push((k, v));
            errors.push(ParamError::new(
                k,
                v,
                format!("The `{k}` query parameter can not be empty"),
            ));
        } else {
            out.push((k, v));
        }
    }
    out
}

/// Decides the dialect from the names that belong to each, refusing a mix, and turns the
/// collected errors into X's 400 (on the problem host of the dialect the request used).
fn settle(errors: Vec<ParamError>, legacy: &[&str], post: &[&str]) -> Result<Dialect, Reply> {
    let mut errors = errors;
    if !legacy.is_empty()
        && let Some(p) = post.first()
    {
        errors.push(ParamError::new(
            p.split('=').next().unwrap_or("post.fields"),
            p,
            format!(
                "The request mixes legacy names [{}] with post names [{}]; use one or the other",
                legacy.join(","),
                post.join(",")
            ),
        ));
    }
    match (errors.is_empty(), post.is_empty()) {
        (true, true) => Ok(Dialect::Legacy),
        (true, false) => Ok(Dialect::Post),
        (false, true) => Err(problem::invalid_request(errors)),
        (false, false) => Err(problem::invalid_request_post(errors)),
    }
}

fn no_fields() -> Fields {
    Fields {
        event: Vec::new(),
        expansions: Vec::new(),
        user: Vec::new(),
        media: Vec::new(),
        post: Vec::new(),
        dialect: Dialect::Legacy,
    }
}

/// Checks a lookup's query: known names only, each once, valid values, one dialect.
pub(crate) fn lookup_params(
    query: &[(String, String)],
    list: bool,
    codec: &TokenCodec,
) -> Result<ListParams, Reply> {
    let mut allowed = vec![
        "dm_event.fields",
        "expansions",
        "media.fields",
        "user.fields",
        "tweet.fields",
        "post.fields",
    ];
    if list {
        allowed.extend(["max_results", "pagination_token", "event_types"]);
    }
    let mut errors = Vec::new();
    let mut p = ListParams {
        max_results: 100,
        cursor: None,
        types: 7,
        fields: no_fields(),
    };
    let (mut legacy, mut post): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (k, v) in known_params(query, &allowed, &mut errors) {
        if v.is_empty() {
            continue;
        }
        match k {
            "max_results" => match v.parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => p.max_results = n as usize,
                _ => errors.push(ParamError::new(
                    k,
                    v,
                    format!(
                        "The `max_results` query parameter value [{v}] is not between 1 and 100"
                    ),
                )),
            },
            "pagination_token" => match codec.decode(v) {
                Some(c) if v.len() >= 16 => p.cursor = Some(c),
                _ => errors.push(ParamError::new(
                    k,
                    v,
                    format!(
                        "The `pagination_token` query parameter value [{v}] is not a valid token"
                    ),
                )),
            },
            "event_types" => {
                p.types = list_values(k, v, EVENT_TYPES, &mut errors)
                    .iter()
                    .filter_map(|t| crate::state::EventType::parse(t))
                    .fold(0, |acc, t| acc | t.bit());
            }
            "dm_event.fields" => {
                p.fields.event = list_values(k, v, EVENT_FIELDS, &mut errors);
                if p.fields.event.contains(&"referenced_tweets") {
                    legacy.push("dm_event.fields=referenced_tweets");
                }
                if p.fields.event.contains(&"referenced_posts") {
                    post.push("dm_event.fields=referenced_posts");
                }
            }
            "expansions" => {
                p.fields.expansions = list_values(k, v, EXPANSIONS, &mut errors);
                if p.fields.expansions.contains(&"referenced_tweets.id") {
                    legacy.push("expansions=referenced_tweets.id");
                }
                if p.fields.expansions.contains(&"referenced_posts") {
                    post.push("expansions=referenced_posts");
                }
            }
            "user.fields" => p.fields.user = list_values(k, v, USER_FIELDS, &mut errors),
            "media.fields" => p.fields.media = list_values(k, v, MEDIA_FIELDS, &mut errors),
            "tweet.fields" => {
                p.fields.post = list_values(k, v, TWEET_FIELDS, &mut errors);
                legacy.push("tweet.fields");
            }
            _ => {
                p.fields.post = list_values(k, v, POST_FIELDS, &mut errors);
                post.push("post.fields");
            }
        }
    }
    p.fields.dialect = settle(errors, &legacy, &post)?;
    Ok(p)
}

/// The expansions of a user lookup, in both dialects (2.166 spells the first
/// `affiliation.user_id`, 2.167 `affiliation`).
const USER_EXPANSIONS: &[&str] = &[
    "affiliation",
    "affiliation.user_id",
    "most_recent_tweet_id",
    "most_recent_post_id",
    "pinned_tweet_id",
    "pinned_post_id",
];

/// Checks the query of `GET /2/users/me`: `user.fields`, `expansions`, and the post fields of
/// either dialect.
pub(crate) fn user_params(query: &[(String, String)]) -> Result<Fields, Reply> {
    let allowed = ["expansions", "post.fields", "tweet.fields", "user.fields"];
    let mut errors = Vec::new();
    let mut f = no_fields();
    let (mut legacy, mut post): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (k, v) in known_params(query, &allowed, &mut errors) {
        if v.is_empty() {
            continue;
        }
        match k {
            "user.fields" => f.user = list_values(k, v, USER_FIELDS, &mut errors),
            "expansions" => {
                f.expansions = list_values(k, v, USER_EXPANSIONS, &mut errors);
                if f.expansions.iter().any(|e| e.ends_with("_tweet_id")) {
                    legacy.push("expansions");
                }
                if f.expansions.iter().any(|e| e.ends_with("_post_id")) {
                    post.push("expansions");
                }
            }
            "tweet.fields" => {
                f.post = list_values(k, v, TWEET_FIELDS, &mut errors);
                legacy.push("tweet.fields");
            }
            _ => {
                f.post = list_values(k, v, POST_FIELDS, &mut errors);
                post.push("post.fields");
            }
        }
    }
    f.dialect = settle(errors, &legacy, &post)?;
    Ok(f)
}

/// Checks a path id against `^[0-9]{1,19}$`.
pub(crate) fn numeric_id(name: &str, value: &str) -> Result<u64, Reply> {
    let ok = (1..=19).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(n) if ok => Ok(n),
        _ => Err(problem::invalid_one(
            name,
            value,
            format!("The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$"),
        )),
    }
}

/// Checks a conversation id against `^([0-9]{1,19}-[0-9]{1,19}|[0-9]{15,19})$`.
pub(crate) fn conversation_id(name: &str, value: &str) -> Result<crate::state::ConvKey, Reply> {
    let digits = |s: &str, min: usize| {
        (min..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let ok = match value.split_once('-') {
        Some((a, b)) => digits(a, 1) && digits(b, 1),
        None => digits(value, 15),
    };
    match crate::state::ConvKey::parse(value) {
        Some(k) if ok => Ok(k),
        _ => Err(problem::invalid_one(
            name,
            value,
            format!(
                "The `{name}` query parameter value [{value}] does not match ^([0-9]{{1,19}}-[0-9]{{1,19}}|[0-9]{{15,19}})$"
            ),
        )),
    }
}

/// Refuses any query parameter on endpoints that take none.
pub(crate) fn no_query(query: &[(String, String)]) -> Result<(), Reply> {
    match query.first() {
        None => Ok(()),
        Some((k, v)) => Err(problem::invalid_one(
            k,
            v,
            format!("The query parameter [{k}] is not one of []"),
        )),
    }
}
