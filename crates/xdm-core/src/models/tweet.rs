//! Posts ("tweets"), as X returns them in `includes.tweets` or `includes.posts`.

use super::event::ReferencedTweet;
use super::wire::{both, wire_object};

wire_object! {
    /// A post a DM links to, expanded into `includes`.
    ///
    /// Renamed fields are kept under the key they arrived with (`edit_history_tweet_ids` or
    /// `edit_history_post_ids`, `note_tweet` or `note_post`, `referenced_tweets` or
    /// `referenced_posts`); the accessors read either.
    pub struct Tweet {
        /// The post's id.
        id("id"): String,
        /// The text (for long posts, the first part; see [`Tweet::note`]).
        text("text"): String,
        /// The author's user id.
        author_id("author_id"): String,
        /// When it was posted (RFC 3339).
        created_at("created_at"): String,
        /// The id of the thread's first post.
        conversation_id("conversation_id"): String,
        /// Whom it replies to.
        in_reply_to_user_id("in_reply_to_user_id"): String,
        /// The detected language (BCP 47).
        lang("lang"): String,
        /// Whether X marked it possibly sensitive.
        possibly_sensitive("possibly_sensitive"): bool,
        /// Ids of every version, oldest first (legacy name).
        edit_history_tweet_ids("edit_history_tweet_ids"): Vec<String>,
        /// Ids of every version, oldest first (spec 2.167 name).
        edit_history_post_ids("edit_history_post_ids"): Vec<String>,
        /// The full text of a long post (legacy name).
        note_tweet("note_tweet"): NoteTweet,
        /// The full text of a long post (spec 2.167 name).
        note_post("note_post"): NoteTweet,
        /// Engagement counts.
        public_metrics("public_metrics"): TweetPublicMetrics,
        /// Posts it quotes or replies to (legacy name).
        referenced_tweets("referenced_tweets"): Vec<ReferencedTweet>,
        /// Posts it quotes or replies to (spec 2.167 name).
        referenced_posts("referenced_posts"): Vec<ReferencedTweet>,
    }
}

wire_object! {
    /// The full text of a long post.
    pub struct NoteTweet {
        /// The whole text.
        text("text"): String,
    }
}

wire_object! {
    /// A post's public counts. Reposts are `retweet_count` on the live API and
    /// `repost_count` in spec 2.167; [`TweetPublicMetrics::reposts`] reads either.
    pub struct TweetPublicMetrics {
        /// Reposts (legacy name).
        retweet_count("retweet_count"): u64,
        /// Reposts (spec 2.167 name).
        repost_count("repost_count"): u64,
        /// Replies.
        reply_count("reply_count"): u64,
        /// Likes.
        like_count("like_count"): u64,
        /// Quotes.
        quote_count("quote_count"): u64,
        /// Bookmarks.
        bookmark_count("bookmark_count"): u64,
        /// Views.
        impression_count("impression_count"): u64,
    }
}

impl Tweet {
    /// When the post was made, read from [`created_at`](Self::created_at) (which keeps the string as X sent
    /// it); `None` when absent or not an RFC 3339 time.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        super::wire::timestamp(self.created_at.as_ref())
    }

    /// Ids of every version, under either spelling.
    pub fn edit_history_ids(&self) -> impl Iterator<Item = &str> {
        both(&self.edit_history_tweet_ids, &self.edit_history_post_ids).map(String::as_str)
    }

    /// The long-form note, under either spelling.
    pub fn note(&self) -> Option<&NoteTweet> {
        self.note_post.as_ref().or(self.note_tweet.as_ref())
    }

    /// The posts it quotes or replies to, under either spelling.
    pub fn references(&self) -> impl Iterator<Item = &ReferencedTweet> {
        both(&self.referenced_tweets, &self.referenced_posts)
    }
}

impl TweetPublicMetrics {
    /// The number of reposts, under either spelling.
    pub fn reposts(&self) -> Option<u64> {
        self.repost_count.or(self.retweet_count)
    }
}
