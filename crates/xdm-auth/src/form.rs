//! Percent-encoding as OAuth defines it, and `application/x-www-form-urlencoded` bodies.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is escaped: RFC 5849
/// §3.6 requires exactly this set for signatures, and using it for every URL and form this crate
/// writes means a space is always `%20` and never `+`.
pub(crate) const OAUTH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn encode(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, OAUTH_ENCODE).into()
}

pub(crate) fn encode_bytes(value: &[u8]) -> String {
    percent_encoding::percent_encode(value, OAUTH_ENCODE).to_string()
}

/// Splits a query string or form body into decoded `(name, value)` byte pairs, with `+` read
/// as a space as the form encoding defines. A pair without `=` has an empty value.
pub(crate) fn parse_pairs(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &part[part.len()..]),
            };
            (decode_component(name), decode_component(value))
        })
        .collect()
}

/// Decodes one name or value: `+` is a space, then `%XX` escapes.
pub(crate) fn decode_component(raw: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// Decoded pairs as UTF-8 strings; pairs that are not UTF-8 are dropped, since no field this
/// crate reads can hold such a value.
pub(crate) fn parse_text_pairs(input: &[u8]) -> Vec<(String, String)> {
    parse_pairs(input)
        .into_iter()
        .filter_map(|(k, v)| Some((String::from_utf8(k).ok()?, String::from_utf8(v).ok()?)))
        .collect()
}

/// Builds a form body or query string from unencoded pairs.
pub(crate) fn serialize<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// The query of a URL, or the input itself when it has no `?` (a bare query).
pub(crate) fn query_of(url: &str) -> &str {
    let url = url.split('#').next().unwrap_or_default();
    match url.split_once('?') {
        Some((_, query)) => query,
        None => url,
    }
}

/// The decoded pairs OAuth 1.0a signs for `request`: its query's, then its body's when the
/// body is `application/x-www-form-urlencoded` (a JSON body is never signed).
pub(crate) fn signed_pairs(request: &http::Request<bytes::Bytes>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = request
        .uri()
        .query()
        .map(|q| parse_pairs(q.as_bytes()))
        .unwrap_or_default();
    if request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| is_form_content_type(v.as_bytes()))
    {
        pairs.extend(parse_pairs(request.body()));
    }
    pairs
}

/// Whether a `Content-Type` value names the form encoding, ignoring case and parameters.
pub(crate) fn is_form_content_type(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_oauth_set() {
        assert_eq!(encode("a b,c~d-e.f_g*+!"), "a%20b%2Cc~d-e.f_g%2A%2B%21");
        assert_eq!(encode_bytes(&[0xff, b'a']), "%FFa");
    }

    #[test]
    fn parses_pairs_with_plus_and_escapes() {
        let pairs = parse_pairs(b"a=1+2&b&c=%3D%253D&&d=");
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"1 2".to_vec()),
                (b"b".to_vec(), b"".to_vec()),
                (b"c".to_vec(), b"=%3D".to_vec()),
                (b"d".to_vec(), b"".to_vec()),
            ]
        );
        assert_eq!(
            parse_text_pairs(b"x=%FF&y=1"),
            vec![("y".into(), "1".into())]
        );
    }

    #[test]
    fn query_of_accepts_urls_and_bare_queries() {
        assert_eq!(query_of("http://127.0.0.1/cb?a=1#frag"), "a=1");
        assert_eq!(query_of("a=1&b=2"), "a=1&b=2");
    }

    #[test]
    fn serializes_and_recognises_form_types() {
        assert_eq!(serialize([("a b", "c&d"), ("e", "")]), "a%20b=c%26d&e=");
        assert!(is_form_content_type(
            b"Application/X-WWW-Form-Urlencoded; charset=utf-8"
        ));
        assert!(!is_form_content_type(b"application/json"));
    }
}
