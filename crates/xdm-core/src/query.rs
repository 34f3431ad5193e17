//! Query strings and path segments, encoded the way OAuth 1.0a signs them.
//!
//! An OAuth 1.0a signature covers the query parameters after RFC 3986 percent-encoding, and the
//! server recomputes it from the URL it received. If the URL said `id,text` while the signature
//! covered `id%2Ctext`, the two would disagree and X would answer 401. So every byte outside the
//! unreserved set `A-Z a-z 0-9 - . _ ~` is encoded, in names and values alike: a comma becomes
//! `%2C`, a space `%20` (never `+`), and hex digits are uppercase. The encoding itself is the
//! `percent-encoding` crate's.
//!
//! Internal to the crate: endpoints build their queries here, and callers see only URLs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What RFC 3986 leaves unencoded in a component, `A-Z a-z 0-9 - . _ ~`; every other byte,
/// and every byte of a non-ASCII character, is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether `byte` is one of RFC 3986's unreserved characters, `A-Z a-z 0-9 - . _ ~`: the only
/// bytes [`encode`] leaves as they are.
///
/// The RFC 3986 unreserved set, the reference the encoder is tested against.
#[cfg(test)]
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes `input` as an RFC 3986 component: everything but `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn encode(input: &str) -> String {
    utf8_percent_encode(input, COMPONENT).to_string()
}

/// Appends the encoding of `input` to `out`.
fn encode_into(out: &mut String, input: &str) {
    out.extend(utf8_percent_encode(input, COMPONENT));
}

/// Percent-encodes one path segment, so that no value can add a segment, a query or a fragment.
pub(crate) fn encode_path_segment(segment: &str) -> String {
    encode(segment)
}

/// An ordered set of query parameters, kept unencoded until they are appended to a path.
///
/// Each name appears at most once (X refuses repeated keys): setting a name again replaces its
/// value in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// An empty query.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing an earlier value for the same name.
    pub(crate) fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    /// Sets `name` to the comma-joined `values`, without duplicates, in first-seen order.
    ///
    /// An empty list sets nothing: X's array parameters require at least one item, and leaving
    /// the parameter out asks for the server's default.
    pub(crate) fn set_list<I, S>(&mut self, name: impl Into<String>, values: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Lists are short (at most a few dozen names), so a linear scan for duplicates beats
        // hashing, and keeping the items themselves avoids a copy of each before the join. A
        // 64-bit filter of length and end bytes skips the scan for most new names, which is
        // most of the cost of a list of every field.
        let mut seen: Vec<S> = Vec::new();
        let mut filter = 0u64;
        for value in values {
            let bit = filter_bit(value.as_ref());
            if filter & bit == 0 || !seen.iter().any(|v| v.as_ref() == value.as_ref()) {
                filter |= bit;
                seen.push(value);
            }
        }
        if seen.is_empty() {
            return;
        }
        let len = seen.iter().map(|v| v.as_ref().len() + 1).sum::<usize>() - 1;
        let mut joined = String::with_capacity(len);
        for (i, value) in seen.iter().enumerate() {
            if i > 0 {
                joined.push(',');
            }
            joined.push_str(value.as_ref());
        }
        self.set(name, joined);
    }

    /// The value set for `name`, unencoded.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether no parameter is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The encoded query, `name=value` pairs joined by `&`, without a leading `?`.
    #[cfg(test)]
    pub(crate) fn encoded(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len_hint());
        self.write_encoded(&mut out);
        out
    }

    /// Appends the encoded query to `out`, encoding straight into it.
    fn write_encoded(&self, out: &mut String) {
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_into(out, name);
            out.push('=');
            encode_into(out, value);
        }
    }

    /// A guess at the encoded length: the raw length plus room for a few escapes, so that a
    /// typical query is written without growing the string.
    fn encoded_len_hint(&self) -> usize {
        self.pairs
            .iter()
            .map(|(n, v)| (n.len() + v.len()) * 3 / 2 + 2)
            .sum()
    }

    /// `path` followed by `?` and the encoded query, or `path` alone when the query is empty.
    pub(crate) fn append_to_path(&self, path: &str) -> String {
        if self.is_empty() {
            return path.to_owned();
        }
        let mut out = String::with_capacity(path.len() + 1 + self.encoded_len_hint());
        out.push_str(path);
        out.push('?');
        self.write_encoded(&mut out);
        out
    }
}

/// One bit of a 64-bit filter for a name, from its length and its first and last bytes: equal
/// names always set the same bit.
fn filter_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let (first, last) = match bytes {
        [] => (0, 0),
        [one] => (*one, *one),
        [first, .., last] => (*first, *last),
    };
    let mix = bytes.len().wrapping_mul(31) ^ usize::from(first).wrapping_mul(7) ^ usize::from(last);
    1 << (mix % 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode_str;
    use proptest::prelude::*;

    fn is_well_formed(encoded: &str) -> bool {
        let bytes = encoded.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
                if i + 2 >= bytes.len() {
                    return false;
                }
                if !(hex(bytes[i + 1]) && hex(bytes[i + 2])) {
                    return false;
                }
                i += 3;
            } else if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                i += 1;
            } else {
                return false;
            }
        }
        true
    }

    #[test]
    fn encodes_reserved_bytes_like_an_oauth1_signer() {
        assert_eq!(
            encode("Hello Ladies + Gentlemen, a signed OAuth request!"),
            "Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
        );
        assert_eq!(encode("-._~AZaz09"), "-._~AZaz09");
        assert_eq!(encode("*'()"), "%2A%27%28%29");
        assert_eq!(encode("ü"), "%C3%BC");
    }

    #[test]
    fn path_segments_cannot_add_a_segment_a_query_or_a_fragment() {
        assert_eq!(encode_path_segment("123?x=1#f"), "123%3Fx%3D1%23f");
        assert_eq!(encode_path_segment("../up"), "..%2Fup");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn the_unreserved_bytes_are_the_ones_left_as_they_are() {
        for byte in 0..=u8::MAX {
            let alone = [byte];
            let encoded = match std::str::from_utf8(&alone) {
                Ok(s) => encode(s),
                Err(_) => continue,
            };
            assert_eq!(is_unreserved(byte), encoded.len() == 1, "{byte:#04x}");
        }
        assert!(!is_unreserved(0xC3));
    }

    #[test]
    fn a_query_keeps_its_order_and_names_once() {
        let mut q = Query::new();
        q.set("max_results", "50");
        q.set_list("dm_event.fields", ["id", "text", "id"]);
        assert_eq!(q.encoded(), "max_results=50&dm_event.fields=id%2Ctext");
    }

    #[test]
    fn names_are_encoded_too() {
        let mut q = Query::new();
        q.set("a b", "c");
        assert_eq!(q.encoded(), "a%20b=c");
    }

    #[test]
    fn setting_a_name_again_replaces_in_place() {
        let mut q = Query::new();
        q.set("a", "1");
        q.set("b", "2");
        q.set("a", "3");
        assert_eq!(q.encoded(), "a=3&b=2");
        assert_eq!(q.get("a"), Some("3"));
        assert_eq!(q.get("c"), None);
    }

    #[test]
    fn lists_are_deduplicated_in_first_seen_order_and_empty_lists_skipped() {
        let mut q = Query::new();
        q.set_list("x", ["b", "a", "b", "c", "a"]);
        q.set_list("empty", Vec::<String>::new());
        assert_eq!(q.get("x"), Some("b,a,c"));
        assert_eq!(q.encoded(), "x=b%2Ca%2Cc");
        assert_eq!(q.encoded().matches('=').count(), 1);
    }

    #[test]
    fn path_gets_a_question_mark_only_when_needed() {
        let mut q = Query::new();
        assert!(q.is_empty());
        assert_eq!(q.append_to_path("/2/dm_events"), "/2/dm_events");
        q.set("max_results", "5");
        assert_eq!(
            q.append_to_path("/2/dm_events"),
            "/2/dm_events?max_results=5"
        );
    }

    #[test]
    fn the_well_formedness_check_rejects_what_it_should() {
        assert!(is_well_formed("a%2Cb"));
        assert!(!is_well_formed("a%2cb"));
        assert!(!is_well_formed("a,b"));
        assert!(!is_well_formed("a%2"));
        assert!(!is_well_formed("a%"));
    }

    proptest! {
        #[test]
        fn decoding_the_encoding_gives_the_input(s in any::<String>()) {
            let e = encode(&s);
            let decoded = percent_decode_str(&e).decode_utf8().unwrap();
            prop_assert_eq!(decoded.as_ref(), s.as_str());
        }

        #[test]
        fn encoding_holds_only_unreserved_and_uppercase_escapes(s in any::<String>()) {
            let e = encode(&s);
            prop_assert!(is_well_formed(&e), "{:?} -> {:?}", s, e);
            prop_assert_eq!(encode_path_segment(&s), e);
        }

        #[test]
        fn lists_keep_each_name_once_in_first_seen_order(
            names in proptest::collection::vec("[a-c_.]{0,4}", 0..40),
        ) {
            let mut expected: Vec<&str> = Vec::new();
            for name in &names {
                if !expected.contains(&name.as_str()) {
                    expected.push(name);
                }
            }
            let mut q = Query::new();
            q.set_list("x", &names);
            let joined = (!expected.is_empty()).then(|| expected.join(","));
            prop_assert_eq!(q.get("x"), joined.as_deref());
        }

        #[test]
        fn encoding_escapes_exactly_the_bytes_that_are_not_unreserved(s in any::<String>()) {
            let expected: String = s
                .bytes()
                .map(|b| if is_unreserved(b) { char::from(b).to_string() } else { format!("%{b:02X}") })
                .collect();
            prop_assert_eq!(encode(&s), expected);
        }

        #[test]
        fn commas_always_become_2c(parts in proptest::collection::vec("[^,]*", 1..5)) {
            let joined = parts.join(",");
            let e = encode(&joined);
            prop_assert!(!e.contains(','));
            prop_assert_eq!(e.matches("%2C").count(), parts.len() - 1);
        }
    }
}
