//! OAuth 1.0a HMAC-SHA1: the base string, the signature and the header parser.
//!
//! Deliberately self-contained: this verifier and the SDK's signer are meant to catch each
//! other's mistakes, so it shares no code with any signing library.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, STRICT).to_string()
}

/// Decodes a query or form component; `+` means a space there, as HTML forms send it.
pub(crate) fn dec_form(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits `a=1&b=2` into decoded pairs.
pub(crate) fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec_form(k), dec_form(v)),
            None => (dec_form(p), String::new()),
        })
        .collect()
}

/// `METHOD&enc(base_url)&enc(k=v&...)` with keys and values encoded, then sorted.
pub(crate) fn base_string(method: &str, base_url: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    encoded.sort();
    let joined = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        enc(base_url),
        enc(&joined)
    )
}

/// Base64 of HMAC-SHA1 over the base string, keyed with `enc(cs)&enc(ts)`.
pub(crate) fn signature(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", enc(consumer_secret), enc(token_secret));
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn signatures_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Parses `OAuth k="v", ...` into decoded pairs; `None` if it is not an OAuth header or a
/// parameter repeats.
pub(crate) fn parse_header(value: &str) -> Option<Vec<(String, String)>> {
    let rest = value.trim_start();
    let (scheme, rest) = rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return None;
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=')?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        let k = percent_decode_str(k.trim())
            .decode_utf8()
            .ok()?
            .into_owned();
        let v = percent_decode_str(v).decode_utf8().ok()?.into_owned();
        if out.iter().any(|(ek, _)| *ek == k) {
            return None;
        }
        out.push((k, v));
    }
    Some(out)
}

/// The base-string URL: lowercase scheme and host, default port dropped, no query.
pub(crate) fn base_url(scheme: &str, authority: &str, path: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme, authority.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_owned(),
        _ => authority,
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn x_documented_example() {
        let params = vec![
            p("include_entities", "true"),
            p(
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            ),
            p("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            p("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "1318622958"),
            p(
                "oauth_token",
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            ),
            p("oauth_version", "1.0"),
        ];
        let base = base_string(
            "post",
            "https://api.twitter.com/1.1/statuses/update.json",
            &params,
        );
        assert_eq!(
            base,
            "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
        );
        let sig = signature(
            &base,
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        );
        assert_eq!(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
        assert!(signatures_match(&sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk="));
        assert!(!signatures_match(&sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk"));
        assert!(!signatures_match(&sig, "xCtSmYh+iHYCEqBWrE7C7hYmtUk="));
    }

    #[test]
    fn the_form_body_decodes_as_signed() {
        let pairs = parse_pairs(
            "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21&x=a+b&flag",
        );
        assert_eq!(
            pairs[0].1,
            "Hello Ladies + Gentlemen, a signed OAuth request!"
        );
        assert_eq!(pairs[1], p("x", "a b"));
        assert_eq!(pairs[2], p("flag", ""));
    }

    #[test]
    fn header_parsing() {
        let h = r#"OAuth oauth_consumer_key="a%20b", oauth_nonce="n",realm="x""#;
        let parsed = parse_header(h).unwrap();
        assert_eq!(parsed[0], p("oauth_consumer_key", "a b"));
        assert_eq!(parsed[2], p("realm", "x"));
        assert!(parse_header("Bearer abc").is_none());
        assert!(parse_header(r#"OAuth a="1", a="2""#).is_none());
        assert!(parse_header("OAuth garbage").is_none());
    }

    #[test]
    fn base_url_normalisation() {
        assert_eq!(
            base_url("http", "LOCALHOST:80", "/2/x"),
            "http://localhost/2/x"
        );
        assert_eq!(base_url("https", "h:443", "/p"), "https://h/p");
        assert_eq!(
            base_url("http", "127.0.0.1:8080", "/p"),
            "http://127.0.0.1:8080/p"
        );
    }
}
