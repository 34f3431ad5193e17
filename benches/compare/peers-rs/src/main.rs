//! `xdm-compare-peers page twapi-v2 DESCRIBE PAGES`: pages PAGES pages of 100 events from the
//! emulator through twapi-v2, the most complete Rust crate with DM endpoints, and prints one
//! JSON line like the other drivers of `benches/compare/run.sh`.
//!
//! twapi-v2 takes the base URL through `TwapiOptions::prefix_url`, and the emulator's OAuth
//! 2.0 user token through `BearerAuthentication`; nothing is patched.

use std::collections::HashSet;
use std::time::Instant;

use twapi_v2::api::{BearerAuthentication, TwapiOptions, get_2_dm_events};
use twapi_v2::fields::{
    dm_event_fields::DmEventFields, media_fields::MediaFields, tweet_fields::TweetFields,
    user_fields::UserFields,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The same fields as the other contenders ask for (twapi-v2 has no `entities` DM event field).
fn listing(prefix: &str, token: Option<&str>) -> get_2_dm_events::Api {
    use get_2_dm_events::Expansions;
    let options = TwapiOptions {
        prefix_url: Some(prefix.to_owned()),
        ..Default::default()
    };
    let mut api = get_2_dm_events::Api::new()
        .max_results(100)
        .dm_event_fields(HashSet::from([
            DmEventFields::Attachments,
            DmEventFields::CreatedAt,
            DmEventFields::DmConversationId,
            DmEventFields::EventType,
            DmEventFields::Id,
            DmEventFields::Text,
            DmEventFields::ParticipantIds,
            DmEventFields::ReferencedTweets,
            DmEventFields::SenderId,
        ]))
        .expansions(HashSet::from([
            Expansions::AttachmentsMediaKeys,
            Expansions::ParticipantIds,
            Expansions::ReferencedTweetsId,
            Expansions::SenderId,
        ]))
        .user_fields(HashSet::from([
            UserFields::CreatedAt,
            UserFields::Description,
            UserFields::Entities,
            UserFields::Id,
            UserFields::Location,
            UserFields::Name,
            UserFields::ProfileImageUrl,
            UserFields::Protected,
            UserFields::PublicMetrics,
            UserFields::Url,
            UserFields::Username,
            UserFields::Verified,
            UserFields::VerifiedType,
        ]))
        .tweet_fields(HashSet::from([
            TweetFields::Attachments,
            TweetFields::AuthorId,
            TweetFields::ConversationId,
            TweetFields::CreatedAt,
            TweetFields::Entities,
            TweetFields::Id,
            TweetFields::Lang,
            TweetFields::PublicMetrics,
            TweetFields::Text,
        ]))
        .media_fields(HashSet::from([
            MediaFields::AltText,
            MediaFields::DurationMs,
            MediaFields::Height,
            MediaFields::MediaKey,
            MediaFields::PreviewImageUrl,
            MediaFields::PublicMetrics,
            MediaFields::Type,
            MediaFields::Url,
            MediaFields::Variants,
            MediaFields::Width,
        ]))
        .twapi_options(options);
    if let Some(token) = token {
        api = api.pagination_token(token);
    }
    api
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cmd, who, describe, pages] = args.as_slice() else {
        return Err("usage: xdm-compare-peers page twapi-v2 DESCRIBE PAGES".into());
    };
    if cmd != "page" || who != "twapi-v2" {
        return Err("usage: xdm-compare-peers page twapi-v2 DESCRIBE PAGES".into());
    }
    let emu: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(describe)?)?;
    let base = emu["base_url"].as_str().ok_or("no base_url")?;
    let auth = BearerAuthentication::new(emu["oauth2"]["access_token"].as_str().ok_or("no token")?);
    let max_pages: u32 = pages.parse()?;
    let start = Instant::now();
    let (mut n, mut events) = (0u32, 0u64);
    let mut token: Option<String> = None;
    while n < max_pages {
        let (page, _headers) = listing(base, token.as_deref()).execute(&auth).await?;
        n += 1;
        let count = page.data.as_ref().map_or(0, Vec::len);
        events += count as u64;
        token = page.meta.and_then(|m| m.next_token);
        if token.is_none() || count == 0 {
            break;
        }
    }
    println!(
        "{}",
        serde_json::json!({"bench": "paging", "contender": "twapi-v2",
                           "seconds": start.elapsed().as_secs_f64(), "pages": n,
                           "events": events})
    );
    Ok(())
}
