//! The `includes` object of a response, and resolving an event's ids against it.
//!
//! X puts the objects a page refers to (senders, participants, media, linked posts) in one
//! `includes` object beside `data`. [`Includes::index`] builds hash maps once, so resolving
//! every event of a full page costs one lookup per id rather than a scan per id;
//! [`Includes::merge`] folds the includes of further pages in without duplicates.
//!
//! ```
//! use xdm_core::response::{EventPage, decode_json};
//!
//! let body = r#"{"data":[{"id":"1","event_type":"MessageCreate","sender_id":"7"}],
//!                "includes":{"users":[{"id":"7","username":"alice"}]}}"#;
//! let page: EventPage = decode_json(http::Response::new(bytes::Bytes::from(body)))?;
//! let index = page.includes.index();
//! let event = &page.items()[0];
//! assert_eq!(index.sender(event).and_then(|u| u.username.as_deref()), Some("alice"));
//! # Ok::<(), xdm_core::error::ApiError>(())
//! ```

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::models::wire::{both, wire_object};
use crate::models::{DmEvent, Media, Place, Poll, Topic, Tweet, User};

wire_object! {
    /// Objects referred to by the events of a response.
    ///
    /// Posts arrive as `tweets` (the live API) or `posts` (spec 2.167) and are kept under the
    /// key they came with; [`Includes::all_tweets`] and the index read both.
    pub struct Includes {
        /// Senders and participants.
        users("users"): Vec<User>,
        /// Linked posts (legacy name).
        tweets("tweets"): Vec<Tweet>,
        /// Linked posts (spec 2.167 name).
        posts("posts"): Vec<Tweet>,
        /// Attached media.
        media("media"): Vec<Media>,
        /// Places.
        places("places"): Vec<Place>,
        /// Polls.
        polls("polls"): Vec<Poll>,
        /// Topics.
        topics("topics"): Vec<Topic>,
    }
}

impl Includes {
    /// Whether nothing at all was included.
    pub fn is_empty(&self) -> bool {
        self == &Includes::default()
    }

    /// Every included post, under either spelling.
    pub fn all_tweets(&self) -> impl Iterator<Item = &Tweet> {
        both(&self.tweets, &self.posts)
    }

    /// Folds `other` (usually the includes of a later page) into `self`.
    ///
    /// An object whose id (`media_key` for media) is already present is skipped, whichever
    /// spelling of the list holds it; objects without an id are skipped only when an equal
    /// one is present. New posts stay under the spelling they arrived with. Unknown lists in
    /// `extra` are merged the same way, by their items' `id` or `media_key`.
    pub fn merge(&mut self, other: Includes) {
        merge_list(&mut self.users, other.users, |u| u.id.as_deref());
        merge_list(&mut self.media, other.media, |m| m.media_key.as_deref());
        merge_list(&mut self.places, other.places, |p| p.id.as_deref());
        merge_list(&mut self.polls, other.polls, |p| p.id.as_deref());
        merge_list(&mut self.topics, other.topics, |t| t.id.as_deref());
        self.merge_tweets(other.tweets, other.posts);
        merge_extra(&mut self.extra, other.extra);
    }

    fn merge_tweets(&mut self, tweets: Option<Vec<Tweet>>, posts: Option<Vec<Tweet>>) {
        let mut seen: HashSet<String> = self.all_tweets().filter_map(|t| t.id.clone()).collect();
        for (dst, src) in [(&mut self.tweets, tweets), (&mut self.posts, posts)] {
            let Some(src) = src else { continue };
            let dst = dst.get_or_insert_with(Vec::new);
            for tweet in src {
                let new = match &tweet.id {
                    Some(id) => seen.insert(id.clone()),
                    None => !dst.contains(&tweet),
                };
                if new {
                    dst.push(tweet);
                }
            }
        }
    }

    /// Builds lookup tables over the included objects. When an id appears twice, the first
    /// object wins.
    pub fn index(&self) -> IncludesIndex<'_> {
        fn table<'a, T>(
            items: impl Iterator<Item = &'a T>,
            key: impl Fn(&'a T) -> Option<&'a str>,
        ) -> HashMap<&'a str, &'a T> {
            let mut map = HashMap::new();
            for item in items {
                if let Some(k) = key(item) {
                    map.entry(k).or_insert(item);
                }
            }
            map
        }
        IncludesIndex {
            users: table(self.users.iter().flatten(), |u| u.id.as_deref()),
            tweets: table(self.all_tweets(), |t| t.id.as_deref()),
            media: table(self.media.iter().flatten(), |m| m.media_key.as_deref()),
            places: table(self.places.iter().flatten(), |p| p.id.as_deref()),
        }
    }
}

fn merge_list<T: PartialEq>(
    dst: &mut Option<Vec<T>>,
    src: Option<Vec<T>>,
    key: impl Fn(&T) -> Option<&str>,
) {
    let Some(src) = src else { return };
    let dst = dst.get_or_insert_with(Vec::new);
    let mut seen: HashSet<String> = dst
        .iter()
        .filter_map(|t| key(t).map(str::to_owned))
        .collect();
    for item in src {
        let new = match key(&item) {
            Some(k) => seen.insert(k.to_owned()),
            None => !dst.contains(&item),
        };
        if new {
            dst.push(item);
        }
    }
}

fn merge_extra(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    fn key(v: &Value) -> Option<&str> {
        v.get("id")
            .or_else(|| v.get("media_key"))
            .and_then(Value::as_str)
    }
    for (name, value) in src {
        match (dst.get_mut(&name), value) {
            (Some(Value::Array(have)), Value::Array(more)) => {
                let mut list = Some(std::mem::take(have));
                merge_list(&mut list, Some(more), key);
                *have = list.unwrap_or_default();
            }
            // Not two lists: there is no safe way to combine them, so the first page's
            // value stands.
            (Some(_), _) => {}
            (None, value) => {
                dst.insert(name, value);
            }
        }
    }
}

/// Lookup tables over an [`Includes`], built by [`Includes::index`].
#[derive(Debug, Clone)]
pub struct IncludesIndex<'a> {
    users: HashMap<&'a str, &'a User>,
    tweets: HashMap<&'a str, &'a Tweet>,
    media: HashMap<&'a str, &'a Media>,
    places: HashMap<&'a str, &'a Place>,
}

impl<'a> IncludesIndex<'a> {
    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&'a User> {
        self.users.get(id).copied()
    }

    /// The post with this id, from `tweets` or `posts`.
    pub fn tweet(&self, id: &str) -> Option<&'a Tweet> {
        self.tweets.get(id).copied()
    }

    /// The media item with this key.
    pub fn media(&self, media_key: &str) -> Option<&'a Media> {
        self.media.get(media_key).copied()
    }

    /// The place with this id.
    pub fn place(&self, id: &str) -> Option<&'a Place> {
        self.places.get(id).copied()
    }

    /// Who sent the event, when `sender_id` was asked for and expanded.
    pub fn sender(&self, event: &DmEvent) -> Option<&'a User> {
        self.user(event.sender_id.as_deref()?)
    }

    /// The users who joined or left, in the event's order; ids without an included user are
    /// skipped (compare with `participant_ids` to find them).
    pub fn participants(&self, event: &DmEvent) -> Vec<&'a User> {
        event
            .participant_ids
            .iter()
            .flatten()
            .filter_map(|id| self.user(id))
            .collect()
    }

    /// The attached media, in the event's order; keys without an included item are skipped.
    pub fn media_of(&self, event: &DmEvent) -> Vec<&'a Media> {
        event.media_keys().filter_map(|k| self.media(k)).collect()
    }

    /// The linked posts, in the event's order; ids without an included post are skipped.
    pub fn tweets_of(&self, event: &DmEvent) -> Vec<&'a Tweet> {
        event
            .referenced_tweet_ids()
            .filter_map(|id| self.tweet(id))
            .collect()
    }

    /// Everything the event refers to, resolved at once.
    pub fn resolve<'e>(&self, event: &'e DmEvent) -> ResolvedEvent<'e>
    where
        'a: 'e,
    {
        ResolvedEvent {
            event,
            sender: self.sender(event),
            participants: self.participants(event),
            media: self.media_of(event),
            tweets: self.tweets_of(event),
        }
    }
}

/// An event with the objects it refers to, from [`IncludesIndex::resolve`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResolvedEvent<'a> {
    /// The event itself.
    pub event: &'a DmEvent,
    /// Its sender, when included.
    pub sender: Option<&'a User>,
    /// The users who joined or left that were included.
    pub participants: Vec<&'a User>,
    /// The attached media that were included.
    pub media: Vec<&'a Media>,
    /// The linked posts that were included.
    pub tweets: Vec<&'a Tweet>,
}

#[cfg(test)]
mod tests;
