//! Small response bodies: list metadata and the results of writes.

use super::wire::{Nullable, wire_object};

wire_object! {
    /// Paging information of a list response.
    ///
    /// X sends a `next_token` even on the last page of DM events; the page after it is empty.
    pub struct Meta {
        /// Events on this page.
        result_count("result_count"): u64,
        /// Pass as `pagination_token` to get older events.
        next_token("next_token"): String,
        /// Pass as `pagination_token` to get newer events.
        previous_token("previous_token"): String,
    }
}

wire_object! {
    /// The result of sending a message or creating a group.
    pub struct SentMessage {
        /// The conversation the message went to (new, for a group or a first 1:1 message).
        dm_conversation_id("dm_conversation_id"): String,
        /// The new message event's id.
        dm_event_id("dm_event_id"): String,
    }
}

/// Declares a write result whose one field is a required boolean: without it the outcome is
/// unknown, and guessing would be worse than failing.
macro_rules! flag_object {
    ($(#[$meta:meta])* $name:ident, $(#[$fmeta:meta])* $field:ident) => {
        $(#[$meta])*
        ///
        /// `#[non_exhaustive]`, since X may add fields: build one with
        #[doc = concat!("[`", stringify!($name), "::new`].")]
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[non_exhaustive]
        pub struct $name {
            $(#[$fmeta])*
            pub $field: bool,
            /// Keys this crate does not name, kept as they arrived.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            #[doc = concat!("A result whose `", stringify!($field), "` is `", stringify!($field), "`, with nothing else.")]
            pub fn new($field: bool) -> Self {
                Self { $field, extra: serde_json::Map::new() }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct FlagVisitor;

                impl<'de> serde::de::Visitor<'de> for FlagVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut flag = None;
                        let mut extra = serde_json::Map::new();
                        while let Some(key) = map.next_key::<String>()? {
                            if key == stringify!($field) {
                                flag = map.next_value::<Nullable<bool>>()?.0;
                            } else {
                                extra.insert(key, map.next_value()?);
                            }
                        }
                        let $field = flag.ok_or_else(|| {
                            <A::Error as serde::de::Error>::missing_field(stringify!($field))
                        })?;
                        Ok($name { $field, extra })
                    }
                }

                d.deserialize_map(FlagVisitor)
            }
        }
    };
}

flag_object!(
    /// The result of deleting a message event.
    Deleted,
    /// Whether the event is gone.
    deleted
);

flag_object!(
    /// The result of blocking or unblocking a user's DMs.
    BlockStatus,
    /// Whether the user is now blocked.
    blocked
);
