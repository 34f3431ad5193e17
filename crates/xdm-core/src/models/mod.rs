//! Typed views of what the DM endpoints return: events, users, posts, media, paging metadata
//! and write results.
//!
//! # Decoding rules
//!
//! X's schemas changed under their users (spec 2.166 → 2.167 renamed fields and moved entities)
//! and its live responses do not always follow either spec, so every model is forgiving:
//!
//! - every field is an `Option`: absent and `null` read the same, also where a list or an
//!   object is expected; a `null` item inside a list is dropped;
//! - keys this crate does not name go into the model's `extra` map, untouched;
//! - a value of the wrong type (a number where a string belongs) is an error, reported with
//!   the path of the field (see [`ApiErrorKind::Undecodable`](crate::error::ApiErrorKind)).
//!
//! # Renamed fields keep their spelling
//!
//! Where the live API and spec 2.167 disagree on a name (`referenced_tweets` and
//! `referenced_posts`, `tweets` and `posts`, `tweet_count` and `post_count`, ...), a model has
//! one field per spelling, and decoding fills the one that matches the key that arrived.
//! Accessor methods ([`DmEvent::referenced_tweet_ids`], [`Includes::all_tweets`],
//! [`UserPublicMetrics::posts`], ...) read both, so callers need not care which dialect the
//! server spoke. The price is a pair of fields instead of one; the gain is that re-encoding a
//! decoded value gives back exactly what X sent (as JSON values: key order aside), with no
//! hidden "which spelling was it" flag to keep in sync. The one thing not written back is an
//! explicit `null`, which decodes as absent and is then left out.
//!
//! # Ids
//!
//! Ids are plain `String`s, as X sends them. The request side validates ids it sends; ids
//! received are taken as they are, since refusing a response over an id's shape would lose
//! the user's data.
//!
//! # Example
//!
//! ```
//! use xdm_core::models::{DmEvent, EventType};
//!
//! let json = r#"{"id":"1582835469712138240","event_type":"ParticipantsJoin",
//!                "participant_ids":["944480690"],"attachments":{"media_keys":null},
//!                "some_future_field":{"x":1}}"#;
//! let event: DmEvent = serde_json::from_str(json)?;
//! assert_eq!(event.event_type, Some(EventType::ParticipantsJoin));
//! assert_eq!(event.media_keys().count(), 0);
//! assert!(event.extra.contains_key("some_future_field"));
//! # Ok::<(), serde_json::Error>(())
//! ```

pub(crate) mod wire;

mod event;
mod expansions;
mod media;
mod outcome;
mod tweet;
mod user;

pub use crate::includes::Includes;
pub use event::{
    Attachments, DmEvent, Entities, EventType, MentionEntity, ReferencedTweet, TagEntity, UrlEntity,
};
pub use expansions::{Place, Poll, PollOption, Topic};
pub use media::{Media, MediaPublicMetrics, MediaType, MediaVariant};
pub use outcome::{BlockStatus, Deleted, Meta, SentMessage};
pub use tweet::{NoteTweet, Tweet, TweetPublicMetrics};
pub use user::{User, UserPublicMetrics};

#[cfg(test)]
mod tests;
