//! The decoding rules shared by every model: absent and `null` are the same, a `null` inside a
//! list is dropped, and keys this crate does not name are kept in `extra`.
//!
//! The models' `Deserialize` impls are generated here instead of derived because a derived
//! struct with a `#[serde(flatten)]` map buffers its fields before decoding them, and an error
//! inside that buffer no longer knows which field it came from. A hand-rolled visitor decodes
//! each value in place, so a failure is reported with its full path (`data[3].attachments`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

/// How a field's value is read from the wire.
///
/// Implemented for the leaf types (strings, numbers, booleans), for the models, and for lists
/// of any of them. A list drops `null` items instead of failing on them.
pub(crate) trait Wire: Sized {
    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

macro_rules! wire_via_deserialize {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::models::wire::Wire for $ty {
            fn from_wire<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$ty as ::serde::Deserialize<'de>>::deserialize(d)
            }
        })*
    };
}
pub(crate) use wire_via_deserialize;

wire_via_deserialize!(String, bool, u64, i64, serde_json::Value);

impl<T: Wire> Wire for Vec<T> {
    fn from_wire<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Wire> Visitor<'de> for ListVisitor<T> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                // The hint comes from the input; never let it size an allocation unchecked.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(128));
                while let Some(Nullable(item)) = seq.next_element::<Nullable<T>>()? {
                    out.extend(item);
                }
                Ok(out)
            }
        }

        d.deserialize_seq(ListVisitor(PhantomData))
    }
}

/// An object key or enum string, borrowed from the input when it has no escapes.
///
/// Matching a key against the names a model knows needs no copy of it; only keys kept in
/// `extra` are copied. A page of events has thousands of keys, and allocating each one was a
/// large share of decoding it.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl<'de> Key<'de> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }

        d.deserialize_str(KeyVisitor)
    }
}

/// Both spellings of a renamed list, one after the other.
pub(crate) fn both<'a, T: 'a>(
    first: impl Into<Option<&'a Vec<T>>>,
    second: impl Into<Option<&'a Vec<T>>>,
) -> impl Iterator<Item = &'a T> {
    let first: Option<&Vec<T>> = first.into();
    let second: Option<&Vec<T>> = second.into();
    first
        .into_iter()
        .flatten()
        .chain(second.into_iter().flatten())
}

/// Reads one of X's RFC 3339 times (`2022-10-19T20:58:00.000Z`, or with a numeric offset);
/// `None` when absent or not such a time. The raw string stays in the model, so a value this
/// cannot read is still there, as X sent it.
pub(crate) fn timestamp(raw: Option<&String>) -> Option<jiff::Timestamp> {
    raw?.parse().ok()
}

/// A value where `null` means absent.
pub(crate) struct Nullable<T>(pub(crate) Option<T>);

impl<'de, T: Wire> de::Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NullableVisitor<T>(PhantomData<T>);

        impl<'de, T: Wire> Visitor<'de> for NullableVisitor<T> {
            type Value = Nullable<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Nullable(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Nullable(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                T::from_wire(d).map(|v| Nullable(Some(v)))
            }
        }

        d.deserialize_option(NullableVisitor(PhantomData))
    }
}

/// Declares a model: a struct whose named fields are all `Option`s, plus an `extra` map for the
/// keys it does not name, with a path-preserving `Deserialize` and a `Serialize` that writes
/// back the same keys.
macro_rules! wire_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident ($wire:literal): $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        ///
        /// X adds fields over time, so the struct is `#[non_exhaustive]`: build one with
        /// `Default::default()` and set the fields you need.
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $wire, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Keys this crate does not name, kept as they arrived so that nothing X sends is
            /// lost and re-encoding writes them back.
            #[serde(flatten)]
            pub extra: ::serde_json::Map<String, ::serde_json::Value>,
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) =
                            map.next_key::<$crate::models::wire::Key<'de>>()?
                        {
                            match key.as_str() {
                                $($wire => {
                                    out.$field = map
                                        .next_value::<$crate::models::wire::Nullable<$ty>>()?
                                        .0;
                                })*
                                _ => {
                                    let value = map.next_value::<::serde_json::Value>()?;
                                    out.extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok(out)
                    }
                }

                d.deserialize_map(ObjectVisitor)
            }
        }

        $crate::models::wire::wire_via_deserialize!($name);
    };
}
pub(crate) use wire_object;

/// Declares a string enum with known variants and an `Other(String)` for the rest; it reads and
/// writes the exact wire string, so an unknown value round-trips.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know, as it arrived.
            Other(String),
        }

        impl $name {
            /// The value as X spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(s) => s,
                }
            }

            /// Reads a wire value; unknown values become `Other`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <$crate::models::wire::Key<'de> as ::serde::Deserialize<'de>>::deserialize(d)?;
                Ok($name::parse(s.as_str()))
            }
        }

        $crate::models::wire::wire_via_deserialize!($name);
    };
}
pub(crate) use wire_enum;
