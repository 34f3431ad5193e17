//! Direct Message events and what hangs off them: attachments, entities, referenced posts.

use std::str::FromStr;

use super::wire::{both, wire_enum, wire_object};
use crate::InvalidInput;

wire_enum! {
    /// What a [`DmEvent`] records, and a kind of event to list (`event_types`). X sends this
    /// as a free string, so values this crate does not know are kept in [`EventType::Other`].
    ///
    /// [`EventType::parse`] reads what X sent and never fails; [`str::parse`] (`FromStr`) is
    /// for values a caller will send, and refuses an `Other` that cannot go on the wire.
    ///
    /// ```
    /// use xdm_core::models::EventType;
    ///
    /// assert_eq!("MessageCreate".parse::<EventType>()?, EventType::MessageCreate);
    /// assert_eq!(EventType::parse("MessageEdit"), EventType::Other("MessageEdit".into()));
    /// assert!("Message Create".parse::<EventType>().is_err());
    /// # Ok::<(), xdm_core::InvalidInput>(())
    /// ```
    pub enum EventType {
        /// A message was sent.
        MessageCreate = "MessageCreate",
        /// Users joined a group conversation.
        ParticipantsJoin = "ParticipantsJoin",
        /// Users left a group conversation.
        ParticipantsLeave = "ParticipantsLeave",
    }
}

impl EventType {
    /// Every value this crate names, in the order X's spec lists them.
    pub const ALL: &'static [EventType] = &[
        EventType::MessageCreate,
        EventType::ParticipantsJoin,
        EventType::ParticipantsLeave,
    ];

    /// Checks that an `Other` value can be sent in `event_types`; named values always can.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        match self {
            EventType::Other(name) => crate::fields::check_other("event_types", name),
            _ => Ok(()),
        }
    }
}

impl FromStr for EventType {
    type Err = InvalidInput;

    /// Reads a value to send: a known name, or a well-formed unknown one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = EventType::parse(s);
        parsed.validate()?;
        Ok(parsed)
    }
}

wire_object! {
    /// One event in a Direct Message conversation: a message, or users joining or leaving.
    ///
    /// Which fields are present depends on the `dm_event.fields` that were asked for; X sends
    /// `id` and `event_type` (and `text` or `participant_ids`) by default.
    ///
    /// Two spellings of the same data are kept apart, each under the key it arrived with, so
    /// that re-encoding gives back what X sent: `referenced_tweets` (the live API and spec
    /// 2.166) and `referenced_posts` (spec 2.167); the nested `entities` object (2.167) and the
    /// flat `hashtags`/`cashtags`/`mentions`/`urls` lists (2.166). Read them through
    /// [`DmEvent::referenced_tweet_ids`] and the `*_entities` methods, which see both.
    ///
    /// ```
    /// use xdm_core::models::{DmEvent, EventType};
    ///
    /// let event: DmEvent = serde_json::from_str(
    ///     r#"{"id":"1","event_type":"MessageCreate","text":"hi","referenced_tweets":[{"id":"9"}]}"#,
    /// )?;
    /// assert_eq!(event.event_type, Some(EventType::MessageCreate));
    /// assert_eq!(event.referenced_tweet_ids().collect::<Vec<_>>(), ["9"]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct DmEvent {
        /// The event's id.
        id("id"): String,
        /// What the event records.
        event_type("event_type"): EventType,
        /// The message text (`MessageCreate` only).
        text("text"): String,
        /// When the event happened, as X sends it (RFC 3339 with milliseconds).
        created_at("created_at"): String,
        /// The conversation: `"{low}-{high}"` for one-to-one, a single number for a group.
        dm_conversation_id("dm_conversation_id"): String,
        /// Who sent the message, or who added or removed the participants.
        sender_id("sender_id"): String,
        /// Who joined or left (`ParticipantsJoin`/`ParticipantsLeave` only).
        participant_ids("participant_ids"): Vec<String>,
        /// Media and cards attached to the message.
        attachments("attachments"): Attachments,
        /// Entities found in the text, nested (spec 2.167).
        entities("entities"): Entities,
        /// Hashtags, flat on the event (spec 2.166).
        hashtags("hashtags"): Vec<TagEntity>,
        /// Cashtags, flat on the event (spec 2.166).
        cashtags("cashtags"): Vec<TagEntity>,
        /// Mentions, flat on the event (spec 2.166).
        mentions("mentions"): Vec<MentionEntity>,
        /// URLs, flat on the event (spec 2.166).
        urls("urls"): Vec<UrlEntity>,
        /// Posts linked from the text, under the name the live API uses.
        referenced_tweets("referenced_tweets"): Vec<ReferencedTweet>,
        /// Posts linked from the text, under the name of spec 2.167.
        referenced_posts("referenced_posts"): Vec<ReferencedTweet>,
    }
}

wire_object! {
    /// What is attached to a message. X may send either list as `null`.
    pub struct Attachments {
        /// Keys of attached media, such as `3_1589472151165317121`.
        media_keys("media_keys"): Vec<String>,
        /// Ids of attached cards.
        card_ids("card_ids"): Vec<String>,
    }
}

wire_object! {
    /// Entities in a message's text. Offsets count characters: `start` inclusive, `end`
    /// exclusive.
    pub struct Entities {
        /// `#hashtags`.
        hashtags("hashtags"): Vec<TagEntity>,
        /// `$CASHTAGS`.
        cashtags("cashtags"): Vec<TagEntity>,
        /// `@mentions`.
        mentions("mentions"): Vec<MentionEntity>,
        /// Links.
        urls("urls"): Vec<UrlEntity>,
    }
}

wire_object! {
    /// A hashtag or cashtag in a text.
    pub struct TagEntity {
        /// First character, inclusive.
        start("start"): u64,
        /// Last character, exclusive.
        end("end"): u64,
        /// The tag without its `#` or `$`.
        tag("tag"): String,
    }
}

wire_object! {
    /// A user mention in a text.
    pub struct MentionEntity {
        /// First character, inclusive.
        start("start"): u64,
        /// Last character, exclusive.
        end("end"): u64,
        /// The handle without its `@`.
        username("username"): String,
        /// The mentioned user's id, when X resolved it.
        id("id"): String,
    }
}

wire_object! {
    /// A link in a text.
    pub struct UrlEntity {
        /// First character, inclusive.
        start("start"): u64,
        /// Last character, exclusive.
        end("end"): u64,
        /// The `t.co` link as it appears in the text.
        url("url"): String,
        /// The link as X would display it.
        display_url("display_url"): String,
        /// The link the `t.co` URL points to.
        expanded_url("expanded_url"): String,
    }
}

wire_object! {
    /// A reference to a post: from a DM event (id only) or from a post (id and `type`, such as
    /// `quoted` or `replied_to`).
    pub struct ReferencedTweet {
        /// The post's id.
        id("id"): String,
        /// How the post is referenced, on posts only.
        kind("type"): String,
    }
}

impl DmEvent {
    /// When the event happened, read from [`created_at`](Self::created_at) (which keeps the string as X sent
    /// it); `None` when absent or not an RFC 3339 time.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        super::wire::timestamp(self.created_at.as_ref())
    }

    /// Ids of the posts this event links to, under either spelling.
    pub fn referenced_tweet_ids(&self) -> impl Iterator<Item = &str> {
        both(&self.referenced_tweets, &self.referenced_posts).filter_map(|r| r.id.as_deref())
    }

    /// Keys of the attached media.
    pub fn media_keys(&self) -> impl Iterator<Item = &str> {
        let keys = self
            .attachments
            .as_ref()
            .and_then(|a| a.media_keys.as_ref());
        keys.into_iter().flatten().map(String::as_str)
    }

    /// Hashtags from the nested `entities` and the flat list.
    pub fn hashtag_entities(&self) -> impl Iterator<Item = &TagEntity> {
        both(
            self.nested().and_then(|e| e.hashtags.as_ref()),
            &self.hashtags,
        )
    }

    /// Cashtags from the nested `entities` and the flat list.
    pub fn cashtag_entities(&self) -> impl Iterator<Item = &TagEntity> {
        both(
            self.nested().and_then(|e| e.cashtags.as_ref()),
            &self.cashtags,
        )
    }

    /// Mentions from the nested `entities` and the flat list.
    pub fn mention_entities(&self) -> impl Iterator<Item = &MentionEntity> {
        both(
            self.nested().and_then(|e| e.mentions.as_ref()),
            &self.mentions,
        )
    }

    /// Links from the nested `entities` and the flat list.
    pub fn url_entities(&self) -> impl Iterator<Item = &UrlEntity> {
        both(self.nested().and_then(|e| e.urls.as_ref()), &self.urls)
    }

    fn nested(&self) -> Option<&Entities> {
        self.entities.as_ref()
    }
}
