//! Users, as X returns them in `includes.users`.

use super::wire::wire_object;

wire_object! {
    /// A user: a sender or participant expanded into `includes.users`.
    ///
    /// Renamed fields are kept under the key they arrived with (`pinned_tweet_id` and
    /// `pinned_post_id`, `most_recent_tweet_id` and `most_recent_post_id`); the accessors read
    /// either.
    pub struct User {
        /// The user's id.
        id("id"): String,
        /// The display name.
        name("name"): String,
        /// The handle, without `@`.
        username("username"): String,
        /// When the account was created (RFC 3339).
        created_at("created_at"): String,
        /// The profile text.
        description("description"): String,
        /// The location the user entered.
        location("location"): String,
        /// The link in the profile.
        url("url"): String,
        /// The avatar's URL.
        profile_image_url("profile_image_url"): String,
        /// The banner's URL.
        profile_banner_url("profile_banner_url"): String,
        /// Whether the account's posts are protected.
        protected("protected"): bool,
        /// Whether the account is verified.
        verified("verified"): bool,
        /// The kind of verification, such as `blue` or `business`.
        verified_type("verified_type"): String,
        /// Whether the user accepts DMs from the caller.
        receives_your_dm("receives_your_dm"): bool,
        /// Follower, following, post and list counts.
        public_metrics("public_metrics"): UserPublicMetrics,
        /// The pinned post's id (legacy name).
        pinned_tweet_id("pinned_tweet_id"): String,
        /// The pinned post's id (spec 2.167 name).
        pinned_post_id("pinned_post_id"): String,
        /// The latest post's id (legacy name).
        most_recent_tweet_id("most_recent_tweet_id"): String,
        /// The latest post's id (spec 2.167 name).
        most_recent_post_id("most_recent_post_id"): String,
    }
}

wire_object! {
    /// A user's public counts. X's live API says `tweet_count`, spec 2.167 says `post_count`;
    /// [`UserPublicMetrics::posts`] reads either.
    pub struct UserPublicMetrics {
        /// Followers.
        followers_count("followers_count"): u64,
        /// Accounts followed.
        following_count("following_count"): u64,
        /// Posts, including reposts (legacy name).
        tweet_count("tweet_count"): u64,
        /// Posts, including reposts (spec 2.167 name).
        post_count("post_count"): u64,
        /// Lists that include the user.
        listed_count("listed_count"): u64,
        /// Posts the user liked.
        like_count("like_count"): u64,
        /// Media the user posted.
        media_count("media_count"): u64,
    }
}

impl User {
    /// When the account was created, read from [`created_at`](Self::created_at) (which keeps the string as X sent
    /// it); `None` when absent or not an RFC 3339 time.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        super::wire::timestamp(self.created_at.as_ref())
    }

    /// The pinned post's id, under either spelling.
    pub fn pinned_id(&self) -> Option<&str> {
        self.pinned_post_id
            .as_deref()
            .or(self.pinned_tweet_id.as_deref())
    }

    /// The latest post's id, under either spelling.
    pub fn most_recent_id(&self) -> Option<&str> {
        self.most_recent_post_id
            .as_deref()
            .or(self.most_recent_tweet_id.as_deref())
    }
}

impl UserPublicMetrics {
    /// The number of posts, under either spelling.
    pub fn posts(&self) -> Option<u64> {
        self.post_count.or(self.tweet_count)
    }
}
