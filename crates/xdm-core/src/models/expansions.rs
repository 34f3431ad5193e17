//! The expansions a DM response can carry besides users, posts and media. DM endpoints do not
//! ask for them, but the shared `includes` schema allows them, so they are typed lightly and
//! everything else is kept in `extra`.

use super::wire::wire_object;

wire_object! {
    /// A place tagged on a post.
    pub struct Place {
        /// The place's id.
        id("id"): String,
        /// The long name, such as `Manhattan, NY`.
        full_name("full_name"): String,
        /// The short name.
        name("name"): String,
        /// The country's name.
        country("country"): String,
        /// ISO country code.
        country_code("country_code"): String,
        /// Kind of place, such as `city`.
        place_type("place_type"): String,
    }
}

wire_object! {
    /// A poll on a post.
    pub struct Poll {
        /// The poll's id.
        id("id"): String,
        /// The choices and their votes.
        options("options"): Vec<PollOption>,
        /// `open` or `closed`.
        voting_status("voting_status"): String,
        /// When voting ends (RFC 3339).
        end_datetime("end_datetime"): String,
        /// How long voting lasts.
        duration_minutes("duration_minutes"): u64,
    }
}

wire_object! {
    /// One choice of a [`Poll`].
    pub struct PollOption {
        /// 1-based position.
        position("position"): u64,
        /// The text of the choice.
        label("label"): String,
        /// Votes so far.
        votes("votes"): u64,
    }
}

wire_object! {
    /// A topic.
    pub struct Topic {
        /// The topic's id.
        id("id"): String,
        /// Its name.
        name("name"): String,
        /// Its description.
        description("description"): String,
    }
}
