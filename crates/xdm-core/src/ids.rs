//! Validated identifiers.
//!
//! X sends every id as a string of up to 19 digits. Each kind of id gets its own type so that a
//! user id cannot be passed where an event id belongs, and each is checked against the spec's
//! pattern when it is made, so a malformed id is refused before any request exists (a
//! conversation id, whose send path has no pattern, only against what a path segment can hold). A valid id
//! never contains a character that would need encoding in a path, but endpoints encode path
//! segments regardless.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::InvalidInput;

const NUMERIC_PATTERN: &str = "1 to 19 ASCII digits (^[0-9]{1,19}$), not zero";

/// Whether `s` is 1 to 19 ASCII digits.
fn is_digits(s: &str) -> bool {
    (1..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` can be an id: the spec's pattern, and not zero. X numbers nothing 0, so a
/// zero is a typing slip or a placeholder, and sending it would spend a request on a refusal.
fn is_numeric_id(s: &str) -> bool {
    is_digits(s) && s.bytes().any(|b| b != b'0')
}

/// What is wrong with a conversation id made of digits (one number, or two joined by `-`)
/// that cannot name a conversation: a zero, a number beyond the 64-bit range X numbers with,
/// or a one-to-one conversation of one user with themself. Other shapes are X's to judge.
fn numeric_conversation_problem(input: &str) -> Option<&'static str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let halves: Vec<&str> = match input.split_once('-') {
        Some((low, high)) if digits(low) && digits(high) => vec![low, high],
        None if digits(input) => vec![input],
        _ => return None,
    };
    let mut values = Vec::with_capacity(2);
    for half in halves {
        match half.parse::<u64>() {
            Ok(0) => return Some("zero is not a user or conversation id"),
            Ok(v) => values.push(v),
            Err(_) => return Some("a number beyond the 64-bit range of X's ids"),
        }
    }
    (values.len() == 2 && values[0] == values[1])
        .then_some("a one-to-one conversation of a user with themself")
}

/// The number a validated numeric id stands for. 19 digits always fit in a `u64`.
fn numeric_value(s: &str) -> u64 {
    s.parse()
        .expect("a validated id of at most 19 digits fits in u64")
}

/// Implements the string plumbing every id type shares, given its `parse`.
macro_rules! string_id_impls {
    ($name:ident) => {
        impl $name {
            /// The id as X writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Parses `input`, naming `parameter` in the error if it is refused.
            pub fn parse_as(input: &str, parameter: &'static str) -> Result<Self, InvalidInput> {
                Self::parse(input).map_err(|e| InvalidInput {
                    parameter: parameter.into(),
                    ..e
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidInput;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Declares a newtype over a numeric id of 1 to 19 digits.
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $parameter:literal) => {
        $(#[$doc])*
        ///
        /// Ids order by their numeric value, so `9` sorts before `10`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                // The text breaks ties between spellings of one number ("7", "07") so that the
                // order agrees with `Eq`.
                (self.as_u64(), self.as_str()).cmp(&(other.as_u64(), other.as_str()))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// Parses an id of 1 to 19 ASCII digits.
            pub fn parse(input: &str) -> Result<Self, InvalidInput> {
                if is_numeric_id(input) {
                    Ok(Self(input.to_owned()))
                } else {
                    Err(InvalidInput::new(
                        $parameter,
                        "not a numeric id",
                        NUMERIC_PATTERN,
                    ))
                }
            }

            /// The number the id stands for.
            pub fn as_u64(&self) -> u64 {
                numeric_value(&self.0)
            }
        }

        impl TryFrom<u64> for $name {
            type Error = InvalidInput;

            /// Writes the number in decimal. A `u64` can have 20 digits, which the spec's
            /// pattern (and so [`parse`](Self::parse)) refuses: numbers above
            /// 9999999999999999999 fail with an error naming the parameter.
            fn try_from(n: u64) -> Result<Self, Self::Error> {
                Self::parse(&n.to_string())
            }
        }

        string_id_impls!($name);
    };
}

numeric_id!(
    /// A user's id, such as `2244994945`.
    ///
    /// ```
    /// use xdm_core::ids::UserId;
    /// let id: UserId = "2244994945".parse().unwrap();
    /// assert_eq!(id.as_u64(), 2244994945);
    /// assert_eq!(UserId::try_from(12u64).unwrap().as_str(), "12");
    /// assert_eq!(UserId::try_from(u64::MAX).unwrap_err().parameter, "user_id");
    /// let err = UserId::parse("@jack").unwrap_err();
    /// assert_eq!(err.parameter, "user_id");
    /// ```
    UserId,
    "user_id"
);

numeric_id!(
    /// A direct-message event's id, such as `1585800613253812228`.
    EventId,
    "event_id"
);

numeric_id!(
    /// An uploaded media item's id, as returned by media upload and used in attachments.
    MediaId,
    "media_id"
);

numeric_id!(
    /// An X Activity API subscription's id, as returned when it is created or listed.
    SubscriptionId,
    "subscription_id"
);

numeric_id!(
    /// A registered webhook's id, as returned by `POST /2/webhooks`.
    WebhookId,
    "webhook_id"
);

/// Whether a conversation is between two people or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_enums,
    reason = "X's conversations are one-to-one or groups; a third kind would be a new API"
)]
pub enum ConversationKind {
    /// A one-to-one conversation, written `low-high` from its two participants' ids.
    OneToOne,
    /// A group conversation, written as a single number.
    Group,
}

/// A conversation's id: `low-high` for one-to-one, a single number for a group.
///
/// The send path's `dm_conversation_id` has no pattern in X's specifications, and the DM
/// quick start's own example (`123456789`) is shorter than the listing path's pattern allows,
/// so parsing refuses only what cannot travel as one path segment (see
/// [`parse`](Self::parse)) and lets X judge the rest.
///
/// ```
/// use xdm_core::ids::{ConversationId, ConversationKind, UserId};
/// let a = UserId::try_from(9u64).unwrap();
/// let b = UserId::try_from(10u64).unwrap();
/// let id = ConversationId::one_to_one(&b, &a);
/// assert_eq!(id.as_str(), "9-10");
/// assert_eq!(id.kind(), ConversationKind::OneToOne);
/// assert_eq!(
///     ConversationId::parse("1578900353814519810").unwrap().kind(),
///     ConversationKind::Group
/// );
/// assert!(ConversationId::parse("123456789").is_ok());
/// assert!(ConversationId::parse("1/2").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(String);

/// The longest conversation id accepted: two 19-digit ids and a dash are 39 characters, so
/// this leaves room for forms X may add without letting a runaway value into a URL.
const MAX_CONVERSATION_ID_LEN: usize = 128;

impl ConversationId {
    /// Parses a conversation id: 1 to 128 printable ASCII characters, other than `.` and
    /// `..`, without `/`, `\\`, `?`, `#` or `%`. Whitespace, control and non-ASCII characters
    /// are refused too. Everything else is X's to judge.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let problem = if input.is_empty() {
            "empty"
        } else if input.len() > MAX_CONVERSATION_ID_LEN {
            "longer than 128 characters"
        } else if !input.bytes().all(|b| b.is_ascii_graphic()) {
            "contains whitespace, control or non-ASCII characters"
        } else if input.contains(['/', '\\', '?', '#', '%']) {
            "contains a character that cannot stand in a URL path segment (/ \\ ? # %)"
        } else if input == "." || input == ".." {
            "a path step, not an id"
        } else if let Some(problem) = numeric_conversation_problem(input) {
            problem
        } else {
            return Ok(Self(input.to_owned()));
        };
        Err(InvalidInput::new(
            "dm_conversation_id",
            problem,
            "a conversation id such as 123-456 (one-to-one, two different users) or \
             1578900353814519810 (group): 1 to 128 printable ASCII characters without / \\ ? # %",
        ))
    }

    /// The id of the one-to-one conversation between `a` and `b`, in either order.
    ///
    /// X writes the numerically lower id first. `a` and `b` should be two people: the id of
    /// one user with themself is refused by [`parse`](Self::parse).
    pub fn one_to_one(a: &UserId, b: &UserId) -> Self {
        // `UserId` orders numerically with a textual tie-break, so the result never depends on
        // argument order.
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Self(format!("{low}-{high}"))
    }

    /// Whether this is a one-to-one or a group conversation: one-to-one when the id is two
    /// user ids joined by `-`, a group otherwise.
    pub fn kind(&self) -> ConversationKind {
        if self.participants().is_some() {
            ConversationKind::OneToOne
        } else {
            ConversationKind::Group
        }
    }

    /// The two participants of a one-to-one conversation, as written (X writes the lower id
    /// first); `None` when the id is not two user ids joined by `-`.
    pub fn participants(&self) -> Option<(UserId, UserId)> {
        let (low, high) = self.0.split_once('-')?;
        Some((UserId::parse(low).ok()?, UserId::parse(high).ok()?))
    }
}

string_id_impls!(ConversationId);

/// A media key as it appears in events and `includes.media`, such as `3_1589472151165317121`.
///
/// The part before `_` is the media type; the part after is the [`MediaId`].
///
/// ```
/// use xdm_core::ids::MediaKey;
/// let key = MediaKey::parse("3_1589472151165317121").unwrap();
/// assert_eq!(key.media_id().as_str(), "1589472151165317121");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaKey(String);

impl MediaKey {
    /// Parses `^[0-9]{1,19}_[0-9]{1,19}$`.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        match input.split_once('_') {
            Some((kind, id)) if is_digits(kind) && is_numeric_id(id) => Ok(Self(input.to_owned())),
            _ => Err(InvalidInput::new(
                "media_key",
                "not a media key",
                "digits, '_', then a media id of 1 to 19 digits, such as 3_1589472151165317121",
            )),
        }
    }

    /// The numeric media id after the `_`.
    pub fn media_id(&self) -> MediaId {
        let (_, id) = self
            .0
            .split_once('_')
            .expect("a validated media key contains '_'");
        MediaId(id.to_owned())
    }
}

string_id_impls!(MediaKey);

/// The file name of a media item in a legacy direct message, such as `ncc3LNYu.jpg`.
///
/// Spec 2.166 gives the pattern `^[a-zA-Z0-9_.-]{1,50}$`; `.` and `..` are refused as well,
/// since a path would treat them as directory steps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

impl ResourceId {
    /// Parses `^[a-zA-Z0-9_.-]{1,50}$`, other than `.` and `..`.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let charset_ok = (1..=50).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if charset_ok && input != "." && input != ".." {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidInput::new(
                "resource_id",
                "not a media file name",
                "1 to 50 of A-Z a-z 0-9 _ . - (^[a-zA-Z0-9_.-]{1,50}$), other than . and ..",
            ))
        }
    }
}

string_id_impls!(ResourceId);

/// An opaque cursor from `meta.next_token` or `meta.previous_token`.
///
/// X documents at least 16 characters; this type also caps the length at 1024 and allows only
/// printable ASCII without spaces, which covers every token X is known to produce and keeps a
/// corrupted or injected value out of URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaginationToken(String);

impl PaginationToken {
    /// Parses 16 to 1024 printable ASCII characters with no whitespace.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let refuse = |problem: &'static str| {
            InvalidInput::new(
                "pagination_token",
                problem,
                "16 to 1024 printable ASCII characters without whitespace, as returned in \
                 meta.next_token",
            )
        };
        if !(16..=1024).contains(&input.len()) {
            return Err(refuse("wrong length"));
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refuse(
                "contains whitespace, control or non-ASCII characters",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

string_id_impls!(PaginationToken);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numeric_ids_accept_1_to_19_digits() {
        for ok in ["1", "0123", "9999999999999999999"] {
            assert_eq!(UserId::parse(ok).unwrap().as_str(), ok);
            assert_eq!(EventId::parse(ok).unwrap().to_string(), ok);
            assert_eq!(MediaId::parse(ok).unwrap().as_ref(), ok);
        }
        assert_eq!(
            UserId::parse("9999999999999999999").unwrap().as_u64(),
            9_999_999_999_999_999_999
        );
    }

    #[test]
    fn numeric_ids_refuse_everything_else_naming_the_parameter() {
        for bad in [
            "",
            "12345678901234567890",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1a",
            "123?x=1",
            "١٢٣",
            "0",
            "0000000000000000000",
        ] {
            let e = UserId::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "user_id", "{bad:?}");
            assert!(e.allowed.contains("^[0-9]{1,19}$"));
            assert_eq!(EventId::parse(bad).unwrap_err().parameter, "event_id");
            assert_eq!(MediaId::parse(bad).unwrap_err().parameter, "media_id");
        }
    }

    #[test]
    fn parse_as_renames_the_parameter() {
        let e = UserId::parse_as("x", "participant_id").unwrap_err();
        assert_eq!(e.parameter, "participant_id");
        assert!(e.to_string().starts_with("invalid participant_id: "));
        assert!(UserId::parse_as("5", "participant_id").is_ok());
    }

    #[test]
    fn conversions_agree() {
        let a: UserId = "42".try_into().unwrap();
        let b: UserId = String::from("42").try_into().unwrap();
        let c: UserId = "42".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(UserId::try_from(42u64).unwrap(), a);
        assert_eq!(
            EventId::try_from(9_999_999_999_999_999_999u64)
                .unwrap()
                .as_str(),
            "9999999999999999999"
        );
        let e = EventId::try_from(u64::MAX).unwrap_err();
        assert_eq!(e.parameter, "event_id");
        assert!(e.allowed.contains("^[0-9]{1,19}$"));
        assert_eq!(
            UserId::try_from(10_000_000_000_000_000_000u64)
                .unwrap_err()
                .parameter,
            "user_id"
        );
        assert_eq!(
            MediaId::try_from(u64::MAX).unwrap_err().parameter,
            "media_id"
        );
        assert!(UserId::try_from("x").is_err());
        assert!(UserId::try_from(String::from("x")).is_err());
        assert!("x".parse::<UserId>().is_err());
    }

    #[test]
    fn serde_is_a_validated_string() {
        let id = EventId::parse("1585800613253812228").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"1585800613253812228\""
        );
        let back: EventId = serde_json::from_str("\"1585800613253812228\"").unwrap();
        assert_eq!(back, id);
        let err = serde_json::from_str::<EventId>("\"12a\"").unwrap_err();
        assert!(err.to_string().contains("event_id"), "{err}");
        assert!(serde_json::from_str::<EventId>("12").is_err());
        let owned: ConversationId = serde_json::from_value(serde_json::json!("1-2")).unwrap();
        assert_eq!(owned.as_str(), "1-2");
    }

    #[test]
    fn conversation_ids() {
        let one = ConversationId::parse("123123123-456456456").unwrap();
        assert_eq!(one.kind(), ConversationKind::OneToOne);
        let (low, high) = one.participants().unwrap();
        assert_eq!((low.as_str(), high.as_str()), ("123123123", "456456456"));
        let group = ConversationId::parse("123456789012345").unwrap();
        assert_eq!(group.kind(), ConversationKind::Group);
        assert_eq!(group.participants(), None);
        // The send path has no pattern: short numbers (the quick start's example) and other
        // forms go to X, which judges them.
        for ok in [
            "123456789",
            "12345678901234",
            "1-2-3",
            "a-1",
            "1--2",
            "abc_DEF~1",
        ] {
            let id = ConversationId::parse(ok).unwrap();
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.kind(), ConversationKind::Group, "{ok:?}");
            assert_eq!(id.participants(), None);
        }
        for (bad, problem) in [
            ("", "empty"),
            ("1/2", "path segment"),
            ("1\\2", "path segment"),
            ("1-2?x", "path segment"),
            ("1#2", "path segment"),
            ("%31", "path segment"),
            ("1 2", "whitespace"),
            ("1\t", "whitespace"),
            ("1\u{7f}", "control"),
            ("١٢٣", "non-ASCII"),
            (".", "path step"),
            ("..", "path step"),
            ("99999999999999999999-1", "64-bit"),
            ("5-5", "themself"),
            ("05-5", "themself"),
            ("0-5", "zero"),
            ("000000000000000", "zero"),
            ("18446744073709551616", "64-bit"),
        ] {
            let e = ConversationId::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "dm_conversation_id", "{bad:?}");
            assert!(e.problem.contains(problem), "{bad:?}: {e}");
        }
        let long = "a".repeat(129);
        assert!(ConversationId::parse(&long[..128]).is_ok());
        assert!(
            ConversationId::parse(&long)
                .unwrap_err()
                .problem
                .contains("128")
        );
    }

    #[test]
    fn numeric_ids_order_by_value() {
        let mut ids = ["10", "9", "07", "7", "100"].map(|s| UserId::parse(s).unwrap());
        ids.sort();
        let sorted: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        assert_eq!(sorted, ["07", "7", "9", "10", "100"]);
        assert_eq!(
            EventId::try_from(2)
                .unwrap()
                .partial_cmp(&EventId::try_from(10).unwrap()),
            Some(std::cmp::Ordering::Less)
        );
    }

    #[test]
    fn one_to_one_orders_numerically_not_textually() {
        let nine = UserId::try_from(9u64).unwrap();
        let ten = UserId::try_from(10u64).unwrap();
        assert_eq!(ConversationId::one_to_one(&ten, &nine).as_str(), "9-10");
        assert_eq!(ConversationId::one_to_one(&nine, &ten).as_str(), "9-10");
        assert_eq!(ConversationId::one_to_one(&nine, &nine).as_str(), "9-9");
    }

    #[test]
    fn media_keys() {
        let key = MediaKey::parse("5_1589472151165317121").unwrap();
        assert_eq!(
            key.media_id(),
            MediaId::try_from(1589472151165317121u64).unwrap()
        );
        assert_eq!(key.to_string(), "5_1589472151165317121");
        for bad in [
            "",
            "5",
            "_1",
            "5_",
            "5_1_2",
            "a_1",
            "5-1",
            "5_12345678901234567890",
        ] {
            assert_eq!(
                MediaKey::parse(bad).unwrap_err().parameter,
                "media_key",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn resource_ids() {
        for ok in ["ncc3LNYu.jpg", "a", "x-y_z.mp4", "..."] {
            assert_eq!(ResourceId::parse(ok).unwrap().as_str(), ok);
        }
        let fifty = "a".repeat(50);
        assert!(ResourceId::parse(&fifty).is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "a?b",
            "a%2Fb",
            "ü.jpg",
            &"a".repeat(51),
        ] {
            assert_eq!(
                ResourceId::parse(bad).unwrap_err().parameter,
                "resource_id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pagination_tokens() {
        let t = PaginationToken::parse("18LAA5G1SL0NR5OG0G00ZZZZ").unwrap();
        assert_eq!(t.as_str(), "18LAA5G1SL0NR5OG0G00ZZZZ");
        assert!(PaginationToken::parse(&"a".repeat(16)).is_ok());
        assert!(PaginationToken::parse(&"a".repeat(1024)).is_ok());
        let short = PaginationToken::parse(&"a".repeat(15)).unwrap_err();
        assert_eq!(short.parameter, "pagination_token");
        assert_eq!(short.problem, "wrong length");
        assert!(PaginationToken::parse(&"a".repeat(1025)).is_err());
        for bad in [
            "aaaaaaaa aaaaaaaa",
            "aaaaaaaa\taaaaaaaa",
            "aaaaaaaaaaaaaaaaé",
        ] {
            let e = PaginationToken::parse(bad).unwrap_err();
            assert!(e.problem.contains("whitespace"), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = UserId::parse(&s);
            let _ = EventId::parse(&s);
            let _ = MediaId::parse(&s);
            let _ = ConversationId::parse(&s);
            let _ = MediaKey::parse(&s);
            let _ = ResourceId::parse(&s);
            let _ = PaginationToken::parse(&s);
        }

        #[test]
        fn valid_numeric_ids_round_trip(n in any::<u64>().prop_map(|n| n % 9_999_999_999_999_999_999 + 1)) {
            let id = UserId::try_from(n).unwrap();
            prop_assert_eq!(UserId::parse(id.as_str()).unwrap(), id.clone());
            prop_assert_eq!(id.as_u64(), n);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        }

        #[test]
        fn numbers_convert_iff_they_have_at_most_19_digits(n in prop_oneof![
            any::<u64>(),
            // The boundary, which uniform draws almost never reach from below.
            9_999_999_999_999_999_990u64..=10_000_000_000_000_000_010u64,
            0u64..1_000,
        ]) {
            let fits = n != 0 && n.to_string().len() <= 19;
            // Each type's conversion: the text it wrote, reparsed by its own `parse`.
            let results = [
                (UserId::try_from(n).map(|id| UserId::parse(id.as_str()).map(|p| (p.as_u64(), id == p))), "user_id"),
                (EventId::try_from(n).map(|id| EventId::parse(id.as_str()).map(|p| (p.as_u64(), id == p))), "event_id"),
                (MediaId::try_from(n).map(|id| MediaId::parse(id.as_str()).map(|p| (p.as_u64(), id == p))), "media_id"),
            ];
            for (result, parameter) in results {
                match result {
                    Ok(reparsed) => {
                        prop_assert!(fits, "{} accepted", n);
                        prop_assert_eq!(reparsed, Ok((n, true)));
                    }
                    Err(e) => {
                        prop_assert!(!fits, "{} refused", n);
                        prop_assert_eq!(e.parameter.as_ref(), parameter);
                    }
                }
            }
        }

        #[test]
        fn conversation_ids_refuse_exactly_what_breaks_a_path_segment(s in "[ -~\t\n\u{80}-\u{10FFFF}]{0,40}") {
            let breaks = s.is_empty()
                || s == "."
                || s == ".."
                || s.chars().any(|c| !c.is_ascii_graphic() || "/\\?#%".contains(c))
                || numeric_conversation_problem(&s).is_some();
            prop_assert_eq!(ConversationId::parse(&s).is_err(), breaks, "{:?}", s);
        }

        #[test]
        fn valid_conversation_ids_round_trip(s in "[1-9][0-9]{0,18}-[1-9][0-9]{0,18}|[1-9][0-9]{14,18}") {
            let halves: Vec<u64> = s.split('-').map(|h| h.parse().unwrap()).collect();
            prop_assume!(halves.len() == 1 || halves[0] != halves[1]);
            let id = ConversationId::parse(&s).unwrap();
            prop_assert_eq!(id.to_string(), s.clone());
            prop_assert_eq!(id.kind() == ConversationKind::OneToOne, s.contains('-'));
        }

        #[test]
        fn zero_is_never_an_id(zeros in "0{1,19}", other in "[1-9][0-9]{0,5}") {
            prop_assert!(UserId::parse(&zeros).is_err());
            prop_assert!(EventId::parse(&zeros).is_err());
            prop_assert!(MediaId::parse(&zeros).is_err());
            let conversation = format!("{zeros}-{other}");
            prop_assert!(ConversationId::parse(&conversation).is_err());
            let key = format!("3_{zeros}");
            prop_assert!(MediaKey::parse(&key).is_err());
        }

        #[test]
        fn a_user_is_not_a_conversation_with_themself(n in "[1-9][0-9]{0,17}", pad in "0{0,1}") {
            let id = format!("{n}-{pad}{n}");
            let e = ConversationId::parse(&id).unwrap_err();
            prop_assert_eq!(e.parameter.as_ref(), "dm_conversation_id");
        }

        #[test]
        fn valid_tokens_and_keys_round_trip(
            token in "[!-~]{16,64}",
            key in "[0-9]{1,3}_[1-9][0-9]{0,18}",
        ) {
            prop_assert_eq!(PaginationToken::parse(&token).unwrap().to_string(), token);
            prop_assert_eq!(MediaKey::parse(&key).unwrap().to_string(), key);
        }

        #[test]
        fn one_to_one_is_symmetric_and_parses(a in "[1-9][0-9]{0,18}", b in "[1-9][0-9]{0,18}") {
            let a = UserId::parse(&a).unwrap();
            let b = UserId::parse(&b).unwrap();
            prop_assume!(a.as_u64() != b.as_u64());
            let ab = ConversationId::one_to_one(&a, &b);
            prop_assert_eq!(&ab, &ConversationId::one_to_one(&b, &a));
            prop_assert_eq!(ConversationId::parse(ab.as_str()).unwrap(), ab.clone());
            let (low, high) = ab.participants().unwrap();
            prop_assert!(low.as_u64() <= high.as_u64());
        }
    }
}
