//! Benchmarks of the xdm crates that span more than one of them, and the drivers that
//! `benches/compare/run.sh` runs against the emulator. See `BENCHMARKS.md` at the top level.
//!
//! The library part holds what the benchmarks and drivers share: the fixtures and the request
//! every contender makes.

use bytes::Bytes;
use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Authorizer, TokenCredentials};
use xdm_core::endpoints::{ListEvents, ListParams};
use xdm_core::fields::FieldSet;
use xdm_core::ids::PaginationToken;

/// One 100-event page with every field and its includes (users, posts, media), ~100 KiB.
pub const PAGE_100: &[u8] =
    include_bytes!("../../crates/xdm-core/benches/data/dm_events_page_100.json");

/// The first event of [`PAGE_100`] alone, with its sender and a `next_token`: what one list
/// call decodes when the payload is small, so that per-call overhead is not hidden by
/// payload size.
pub const PAGE_1: &[u8] =
    include_bytes!("../../crates/xdm-core/benches/data/dm_events_page_1.json");

/// The pagination token the per-call listing carries, so the query is as long as a real
/// second page's.
pub const PAGE_TOKEN: &str = "18LAA5G1SL0NR5OG0G00ZZZZ";

/// A 200 answer carrying `body`, with the headers X sends on a listing.
pub fn page_response(body: &'static [u8]) -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-rate-limit-limit", "15")
        .header("x-rate-limit-remaining", "14")
        .header("x-rate-limit-reset", "1763800000")
        .body(Bytes::from_static(body))
        .expect("a valid response")
}

/// An OAuth 1.0a signer with the credentials of X's documented signing example.
pub fn authorizer() -> OAuth1Authorizer {
    OAuth1Authorizer::new(
        ConsumerCredentials::new(
            "xvz1evFS4wEEPTGEFPHBog",
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        ),
        TokenCredentials::new(
            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        ),
    )
}

/// The listing every contender sends: 100 events a page, every field and expansion.
pub fn full_listing(token: Option<&str>) -> ListEvents {
    let mut list = ListEvents::new()
        .with_max_results(100)
        .expect("100 is in range")
        .with_fields(FieldSet::everything());
    if let Some(token) = token {
        list = list.with_pagination_token(PaginationToken::parse(token).expect("a valid token"));
    }
    list
}

/// The fields every contender of the end-to-end comparison asks for, as X's docs spell them
/// (`benches/compare/py/peers.py` asks for the same).
pub const COMPARE_FIELDS: [(&str, &[&str]); 5] = [
    (
        "dm_event.fields",
        &[
            "attachments",
            "created_at",
            "dm_conversation_id",
            "entities",
            "event_type",
            "id",
            "text",
            "participant_ids",
            "referenced_tweets",
            "sender_id",
        ],
    ),
    (
        "expansions",
        &[
            "attachments.media_keys",
            "participant_ids",
            "referenced_tweets.id",
            "sender_id",
        ],
    ),
    (
        "user.fields",
        &[
            "created_at",
            "description",
            "entities",
            "id",
            "location",
            "name",
            "profile_image_url",
            "protected",
            "public_metrics",
            "url",
            "username",
            "verified",
            "verified_type",
        ],
    ),
    (
        "tweet.fields",
        &[
            "attachments",
            "author_id",
            "conversation_id",
            "created_at",
            "entities",
            "id",
            "lang",
            "public_metrics",
            "text",
        ],
    ),
    (
        "media.fields",
        &[
            "alt_text",
            "duration_ms",
            "height",
            "media_key",
            "preview_image_url",
            "public_metrics",
            "type",
            "url",
            "variants",
            "width",
        ],
    ),
];

/// The listing parameters of the end-to-end comparison: 100 events a page and
/// [`COMPARE_FIELDS`].
pub fn compare_params() -> ListParams {
    use xdm_core::fields::{DmEventField, Expansion, MediaField, TweetField, UserField};
    let [
        (_, events),
        (_, expansions),
        (_, users),
        (_, tweets),
        (_, media),
    ] = COMPARE_FIELDS;
    let fields = FieldSet::new()
        .with_dm_event_fields(
            events
                .iter()
                .map(|f| DmEventField::parse(f).expect("known")),
        )
        .with_expansions(
            expansions
                .iter()
                .map(|f| Expansion::parse(f).expect("known")),
        )
        .with_user_fields(users.iter().map(|f| UserField::parse(f).expect("known")))
        .with_tweet_fields(tweets.iter().map(|f| TweetField::parse(f).expect("known")))
        .with_media_fields(media.iter().map(|f| MediaField::parse(f).expect("known")));
    ListParams::new()
        .with_max_results(100)
        .expect("100 is in range")
        .with_fields(fields)
}
