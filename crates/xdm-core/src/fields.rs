//! Field, expansion and event-type parameters, and the wire dialect.

/// Which spelling of the names X renamed in spec 2.167 to send.
///
/// Decoding always accepts both spellings; this only chooses what requests say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// `tweet.fields`, `referenced_tweets.id`: what the docs use and the live API is known to
    /// accept. The default.
    #[default]
    Legacy,
    /// `post.fields`, `referenced_posts`: the names of spec 2.167.
    Post,
}

use std::str::FromStr;

use crate::InvalidInput;
use crate::query::Query;

/// Checks a field name this crate does not know before it goes on the wire.
///
/// A comma would split one name into two inside a comma-joined list, and whitespace or
/// non-ASCII never occurs in X's names, so either means the value is not a field name.
pub(crate) fn check_other(parameter: &'static str, name: &str) -> Result<(), InvalidInput> {
    let problem = if name.is_empty() {
        "an empty name"
    } else if name.contains(',') {
        "a name containing a comma"
    } else if !name.bytes().all(|b| b.is_ascii_graphic()) {
        "a name containing whitespace, control or non-ASCII characters"
    } else {
        return Ok(());
    };
    Err(InvalidInput::new(
        parameter,
        problem,
        "known names, or a non-empty printable ASCII name without commas or whitespace",
    ))
}

/// Declares one enum of wire names, with an `Other` variant for names this crate does not know.
///
/// `Variant => "legacy"` has one spelling; `Variant => "legacy" / "post"` is spelled differently
/// in the post dialect, and parsing accepts both spellings.
macro_rules! wire_enum {
    (
        $(#[$doc:meta])*
        $name:ident, parameter: $param:literal,
        { $( $variant:ident => $legacy:literal $(/ $post:literal)? ),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $legacy, "`", $(" (`", $post, "` in the post dialect)")?)]
                $variant,
            )*
            /// A name this crate does not know, sent as written; checked when a request is built.
            Other(String),
        }

        impl $name {
            /// Every value this crate names, in the order X's spec lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name sent in `dialect`.
            pub fn as_wire(&self, dialect: crate::Dialect) -> &str {
                match (self, dialect) {
                    $(
                        ($name::$variant, crate::Dialect::Post) => wire_enum!(@post $legacy $(, $post)?),
                        ($name::$variant, _) => $legacy,
                    )*
                    ($name::Other(name), _) => name,
                }
            }

            /// Parses either dialect's spelling; an unknown but well-formed name becomes `Other`.
            pub fn parse(name: &str) -> Result<Self, InvalidInput> {
                match name {
                    $(
                        $legacy $(| $post)? => Ok($name::$variant),
                    )*
                    other => {
                        check_other($param, other)?;
                        Ok($name::Other(other.to_owned()))
                    }
                }
            }

            /// Checks that an `Other` name can be sent; named values always can.
            pub fn validate(&self) -> Result<(), InvalidInput> {
                match self {
                    $name::Other(name) => check_other($param, name),
                    _ => Ok(()),
                }
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
    (@post $legacy:literal) => { $legacy };
    (@post $legacy:literal, $post:literal) => { $post };
}

wire_enum! {
    /// A field of a direct-message event to return (`dm_event.fields`).
    ///
    /// Spec 2.167 lists only seven of these; `participant_ids`, `referenced_tweets` and
    /// `sender_id` are documented, were in 2.166, and are returned by the live API.
    DmEventField, parameter: "dm_event.fields",
    {
        Attachments => "attachments",
        CreatedAt => "created_at",
        DmConversationId => "dm_conversation_id",
        Entities => "entities",
        EventType => "event_type",
        Id => "id",
        ParticipantIds => "participant_ids",
        ReferencedTweets => "referenced_tweets" / "referenced_posts",
        SenderId => "sender_id",
        Text => "text",
    }
}

impl DmEventField {
    /// What a message needs to be shown or answered: who sent what, when, where, with which
    /// attachments (the fields of a message on the activity stream).
    pub const MESSAGE: &'static [DmEventField] = &[
        DmEventField::Id,
        DmEventField::EventType,
        DmEventField::Text,
        DmEventField::CreatedAt,
        DmEventField::SenderId,
        DmEventField::DmConversationId,
        DmEventField::ParticipantIds,
        DmEventField::Attachments,
    ];
}

wire_enum! {
    /// An id field of an event to expand into an object in `includes` (`expansions`).
    Expansion, parameter: "expansions",
    {
        AttachmentsMediaKeys => "attachments.media_keys",
        ParticipantIds => "participant_ids",
        ReferencedTweets => "referenced_tweets.id" / "referenced_posts",
        SenderId => "sender_id",
    }
}

wire_enum! {
    /// A field of an expanded user to return (`user.fields`).
    UserField, parameter: "user.fields",
    {
        Affiliation => "affiliation",
        ConfirmedEmail => "confirmed_email",
        ConnectionStatus => "connection_status",
        CreatedAt => "created_at",
        Description => "description",
        Entities => "entities",
        Id => "id",
        IsIdentityVerified => "is_identity_verified",
        Location => "location",
        MostRecentTweetId => "most_recent_tweet_id" / "most_recent_post_id",
        Name => "name",
        Parody => "parody",
        PinnedTweetId => "pinned_tweet_id" / "pinned_post_id",
        ProfileBannerUrl => "profile_banner_url",
        ProfileImageUrl => "profile_image_url",
        Protected => "protected",
        PublicMetrics => "public_metrics",
        ReceivesYourDm => "receives_your_dm",
        SubscribesToYou => "subscribes_to_you",
        Subscription => "subscription",
        SubscriptionType => "subscription_type",
        Url => "url",
        Username => "username",
        Verified => "verified",
        VerifiedFollowersCount => "verified_followers_count",
        VerifiedType => "verified_type",
        Withheld => "withheld",
    }
}

wire_enum! {
    /// A field of an expanded post to return (`tweet.fields`, or `post.fields` in the post
    /// dialect).
    TweetField, parameter: "tweet.fields",
    {
        Article => "article",
        ArticleTitle => "article_title",
        Attachments => "attachments",
        AuthorId => "author_id",
        CardUri => "card_uri",
        CommunityId => "community_id",
        ContextAnnotations => "context_annotations",
        ConversationId => "conversation_id",
        CreatedAt => "created_at",
        DisplayTextRange => "display_text_range",
        EditControls => "edit_controls",
        EditHistoryTweetIds => "edit_history_tweet_ids" / "edit_history_post_ids",
        Entities => "entities",
        Geo => "geo",
        Id => "id",
        InReplyToUserId => "in_reply_to_user_id",
        Lang => "lang",
        MatchedMediaNotes => "matched_media_notes",
        MediaMetadata => "media_metadata",
        NonPublicMetrics => "non_public_metrics",
        NoteRequestSuggestions => "note_request_suggestions",
        NoteTweet => "note_tweet" / "note_post",
        OrganicMetrics => "organic_metrics",
        PaidPartnership => "paid_partnership",
        PossiblySensitive => "possibly_sensitive",
        PromotedMetrics => "promoted_metrics",
        PublicMetrics => "public_metrics",
        ReferencedTweets => "referenced_tweets" / "referenced_posts",
        ReplySettings => "reply_settings",
        Scopes => "scopes",
        Source => "source",
        SuggestedSourceLinks => "suggested_source_links",
        SuggestedSourceLinksWithCounts => "suggested_source_links_with_counts",
        Text => "text",
        Withheld => "withheld",
    }
}

impl TweetField {
    /// The query parameter's name: `tweet.fields`, or `post.fields` in the post dialect.
    pub fn parameter(dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Post => "post.fields",
            _ => "tweet.fields",
        }
    }
}

wire_enum! {
    /// A field of an expanded media item to return (`media.fields`).
    MediaField, parameter: "media.fields",
    {
        AltText => "alt_text",
        DurationMs => "duration_ms",
        Height => "height",
        MediaKey => "media_key",
        NonPublicMetrics => "non_public_metrics",
        OrganicMetrics => "organic_metrics",
        PreviewImageUrl => "preview_image_url",
        PromotedMetrics => "promoted_metrics",
        PublicMetrics => "public_metrics",
        Type => "type",
        Url => "url",
        Variants => "variants",
        Width => "width",
    }
}

/// A kind of event to list (`event_types`): the same type as the `event_type` of a decoded
/// event, so a filter and what it filters on cannot drift apart.
#[doc(no_inline)]
pub use crate::models::EventType;

/// Which fields and expansions a request asks for.
///
/// Empty lists are left out of the request, so X applies its defaults (`id`, `event_type`,
/// `text` for events). Duplicates are dropped when the request is built.
///
/// ```
/// use xdm_core::fields::{DmEventField, Expansion, FieldSet, UserField};
///
/// let fields = FieldSet::new()
///     .with_dm_event_fields([DmEventField::Text, DmEventField::SenderId])
///     .with_expansions([Expansion::SenderId])
///     .with_user_fields([UserField::Username]);
/// assert!(fields.validate().is_ok());
/// ```
///
/// `#[non_exhaustive]`, since X adds kinds of fields: start from [`FieldSet::new`] and use
/// the `with_*` methods, or set the public lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldSet {
    /// `dm_event.fields`.
    pub dm_event_fields: Vec<DmEventField>,
    /// `expansions`.
    pub expansions: Vec<Expansion>,
    /// `media.fields`.
    pub media_fields: Vec<MediaField>,
    /// `user.fields`.
    pub user_fields: Vec<UserField>,
    /// `tweet.fields` / `post.fields`.
    pub tweet_fields: Vec<TweetField>,
}

impl FieldSet {
    /// Asks for nothing beyond X's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for every field and expansion this crate names.
    ///
    /// This includes fields that need elevated access (`non_public_metrics`,
    /// `organic_metrics`, `promoted_metrics`, `confirmed_email`); where the caller lacks it, X
    /// still answers but adds partial errors to the response.
    pub fn everything() -> Self {
        Self {
            dm_event_fields: DmEventField::ALL.to_vec(),
            expansions: Expansion::ALL.to_vec(),
            media_fields: MediaField::ALL.to_vec(),
            user_fields: UserField::ALL.to_vec(),
            tweet_fields: TweetField::ALL.to_vec(),
        }
    }

    /// Adds `dm_event.fields`.
    pub fn with_dm_event_fields(mut self, fields: impl IntoIterator<Item = DmEventField>) -> Self {
        self.dm_event_fields.extend(fields);
        self
    }

    /// Adds `expansions`.
    pub fn with_expansions(mut self, expansions: impl IntoIterator<Item = Expansion>) -> Self {
        self.expansions.extend(expansions);
        self
    }

    /// Adds `media.fields`.
    pub fn with_media_fields(mut self, fields: impl IntoIterator<Item = MediaField>) -> Self {
        self.media_fields.extend(fields);
        self
    }

    /// Adds `user.fields`.
    pub fn with_user_fields(mut self, fields: impl IntoIterator<Item = UserField>) -> Self {
        self.user_fields.extend(fields);
        self
    }

    /// Adds `tweet.fields` (`post.fields` in the post dialect).
    pub fn with_tweet_fields(mut self, fields: impl IntoIterator<Item = TweetField>) -> Self {
        self.tweet_fields.extend(fields);
        self
    }

    /// Whether nothing beyond the defaults is asked for.
    pub fn is_empty(&self) -> bool {
        self.dm_event_fields.is_empty()
            && self.expansions.is_empty()
            && self.media_fields.is_empty()
            && self.user_fields.is_empty()
            && self.tweet_fields.is_empty()
    }

    /// Checks every `Other` name.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        self.dm_event_fields
            .iter()
            .try_for_each(DmEventField::validate)?;
        self.expansions.iter().try_for_each(Expansion::validate)?;
        self.media_fields
            .iter()
            .try_for_each(MediaField::validate)?;
        self.user_fields.iter().try_for_each(UserField::validate)?;
        self.tweet_fields.iter().try_for_each(TweetField::validate)
    }

    /// Validates, then sets the non-empty lists on `query` with `dialect`'s names.
    pub(crate) fn apply(&self, query: &mut Query, dialect: Dialect) -> Result<(), InvalidInput> {
        self.validate()?;
        query.set_list(
            "dm_event.fields",
            self.dm_event_fields.iter().map(|f| f.as_wire(dialect)),
        );
        query.set_list(
            "expansions",
            self.expansions.iter().map(|f| f.as_wire(dialect)),
        );
        query.set_list(
            "media.fields",
            self.media_fields.iter().map(|f| f.as_wire(dialect)),
        );
        query.set_list(
            "user.fields",
            self.user_fields.iter().map(|f| f.as_wire(dialect)),
        );
        query.set_list(
            TweetField::parameter(dialect),
            self.tweet_fields.iter().map(|f| f.as_wire(dialect)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_names_follow_the_dialect() {
        let cases: [(&str, &str, &str); 6] = [
            (
                Expansion::ReferencedTweets.as_wire(Dialect::Legacy),
                Expansion::ReferencedTweets.as_wire(Dialect::Post),
                "referenced_tweets.id/referenced_posts",
            ),
            (
                TweetField::EditHistoryTweetIds.as_wire(Dialect::Legacy),
                TweetField::EditHistoryTweetIds.as_wire(Dialect::Post),
                "edit_history_tweet_ids/edit_history_post_ids",
            ),
            (
                TweetField::NoteTweet.as_wire(Dialect::Legacy),
                TweetField::NoteTweet.as_wire(Dialect::Post),
                "note_tweet/note_post",
            ),
            (
                TweetField::ReferencedTweets.as_wire(Dialect::Legacy),
                TweetField::ReferencedTweets.as_wire(Dialect::Post),
                "referenced_tweets/referenced_posts",
            ),
            (
                UserField::PinnedTweetId.as_wire(Dialect::Legacy),
                UserField::PinnedTweetId.as_wire(Dialect::Post),
                "pinned_tweet_id/pinned_post_id",
            ),
            (
                DmEventField::ReferencedTweets.as_wire(Dialect::Legacy),
                DmEventField::ReferencedTweets.as_wire(Dialect::Post),
                "referenced_tweets/referenced_posts",
            ),
        ];
        for (legacy, post, expected) in cases {
            assert_eq!(format!("{legacy}/{post}"), expected);
        }
        assert_eq!(TweetField::Text.as_wire(Dialect::Post), "text");
        assert_eq!(TweetField::parameter(Dialect::Legacy), "tweet.fields");
        assert_eq!(TweetField::parameter(Dialect::Post), "post.fields");
    }

    #[test]
    fn parsing_accepts_both_spellings_and_round_trips() {
        assert_eq!(
            "referenced_posts".parse::<Expansion>().unwrap(),
            Expansion::ReferencedTweets
        );
        assert_eq!(
            "referenced_tweets.id".parse::<Expansion>().unwrap(),
            Expansion::ReferencedTweets
        );
        assert_eq!(
            "note_post".parse::<TweetField>().unwrap(),
            TweetField::NoteTweet
        );
        for dialect in [Dialect::Legacy, Dialect::Post] {
            for f in DmEventField::ALL {
                assert_eq!(&DmEventField::parse(f.as_wire(dialect)).unwrap(), f);
            }
            for f in Expansion::ALL {
                assert_eq!(&Expansion::parse(f.as_wire(dialect)).unwrap(), f);
            }
            for f in UserField::ALL {
                assert_eq!(&UserField::parse(f.as_wire(dialect)).unwrap(), f);
            }
            for f in TweetField::ALL {
                assert_eq!(&TweetField::parse(f.as_wire(dialect)).unwrap(), f);
            }
            for f in MediaField::ALL {
                assert_eq!(&MediaField::parse(f.as_wire(dialect)).unwrap(), f);
            }
        }
    }

    #[test]
    fn unknown_names_are_kept() {
        let f: UserField = "most_liked".parse().unwrap();
        assert_eq!(f, UserField::Other("most_liked".into()));
        assert_eq!(f.as_wire(Dialect::Post), "most_liked");
    }

    #[test]
    fn malformed_other_names_are_refused_naming_the_parameter() {
        for (bad, problem) in [
            ("", "empty"),
            ("a,b", "comma"),
            ("a b", "whitespace"),
            ("tëxt", "non-ASCII"),
            ("a\nb", "control"),
        ] {
            let e = DmEventField::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "dm_event.fields");
            assert!(e.problem.contains(problem), "{bad:?}: {e}");
        }
        assert_eq!(
            "".parse::<EventType>().unwrap_err().parameter,
            "event_types"
        );
        for t in EventType::ALL {
            assert_eq!(&t.as_str().parse::<EventType>().unwrap(), t);
        }
        assert_eq!(
            MediaField::parse(" ").unwrap_err().parameter,
            "media.fields"
        );
        assert_eq!(
            TweetField::parse("a,b").unwrap_err().parameter,
            "tweet.fields"
        );
    }

    #[test]
    fn field_sets_validate_other_names_built_directly() {
        let bad = FieldSet::new().with_expansions([Expansion::Other("a,b".into())]);
        let e = bad.apply(&mut Query::new(), Dialect::Legacy).unwrap_err();
        assert_eq!(e.parameter, "expansions");
        for bad in [
            FieldSet::new().with_dm_event_fields([DmEventField::Other(String::new())]),
            FieldSet::new().with_media_fields([MediaField::Other(" ".into())]),
            FieldSet::new().with_user_fields([UserField::Other("x y".into())]),
            FieldSet::new().with_tweet_fields([TweetField::Other("x,y".into())]),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(FieldSet::everything().validate().is_ok());
    }

    #[test]
    fn field_sets_use_dialect_names_and_drop_duplicates() {
        let fields = FieldSet::new()
            .with_tweet_fields([TweetField::NoteTweet, TweetField::Id, TweetField::NoteTweet])
            .with_expansions([Expansion::ReferencedTweets])
            .with_media_fields([MediaField::Url]);
        let mut legacy = Query::new();
        fields.apply(&mut legacy, Dialect::Legacy).unwrap();
        assert_eq!(
            legacy.encoded(),
            "expansions=referenced_tweets.id&media.fields=url&tweet.fields=note_tweet%2Cid"
        );
        let mut post = Query::new();
        fields.apply(&mut post, Dialect::Post).unwrap();
        assert_eq!(
            post.encoded(),
            "expansions=referenced_posts&media.fields=url&post.fields=note_post%2Cid"
        );
    }

    #[test]
    fn empty_and_everything() {
        assert!(FieldSet::new().is_empty());
        let mut q = Query::new();
        FieldSet::new().apply(&mut q, Dialect::Legacy).unwrap();
        assert!(q.is_empty());
        let all = FieldSet::everything();
        assert!(!all.is_empty());
        assert_eq!(all.dm_event_fields.len(), 10);
        assert_eq!(all.expansions.len(), 4);
        assert_eq!(all.user_fields.len(), 27);
        assert_eq!(all.tweet_fields.len(), 35);
        assert_eq!(all.media_fields.len(), 13);
        assert_eq!(EventType::ALL.len(), 3);
    }
}
