//! Taking every secret out of a request or response before the console's log stores it.
//!
//! Two passes: by name (the `Authorization` header, cookies, webhook signatures, and JSON,
//! form and query fields named like credentials, at any depth), then by value (every token
//! and secret the emulator knows at that moment), so that a secret in a place no name gives
//! away (an HTML page, a redirect URL) is caught as well.

use serde_json::Value;

use crate::auth::AuthState;

/// What a redacted value reads as.
pub(crate) const REDACTED: &str = "[redacted]";

/// Field names whose values are credentials, in JSON, forms and queries.
pub(crate) const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "code",
    "code_verifier",
    "client_secret",
    "oauth_token",
    "oauth_token_secret",
    "oauth_verifier",
    "oauth_signature",
    "token",
    "crc_token",
    "response_token",
    "bearer_token",
    // The names `describe()` uses for the rest of its secrets.
    "consumer_secret",
    "access_token_secret",
    "app_bearer_token",
];

/// Bodies are kept up to this many bytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// One header's value as the log keeps it.
pub(crate) fn header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {REDACTED}"),
            None => REDACTED.to_owned(),
        },
        "cookie" | "set-cookie" | "x-twitter-webhooks-signature" => REDACTED.to_owned(),
        // A redirect may carry a code or a token in its query.
        "location" => match value.split_once('?') {
            Some((base, q)) => format!("{base}?{}", pairs(q)),
            None => value.to_owned(),
        },
        _ => value.to_owned(),
    }
}

/// `a=1&b=2` with the values of secret fields replaced (keys stay as sent).
pub(crate) fn pairs(raw: &str) -> String {
    raw.split('&')
        .map(|pair| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            let decoded = percent_encoding::percent_decode_str(&key.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            if is_secret_field(decoded.trim()) {
                format!("{key}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON value with the values of secret fields replaced, at any depth.
pub(crate) fn json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if is_secret_field(k) {
                    *val = Value::String(REDACTED.to_owned());
                } else {
                    json(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(json),
        // A URL inside a string (a redirect, a callback) may carry a secret query.
        Value::String(s) if s.contains('=') => *s = text(s),
        _ => {}
    }
}

/// Free text with every `name=value` of a secret field blanked (`value` ends at `&`,
/// whitespace, a quote, `<`, `>`, `;` or `#`).
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let hit = SECRET_FIELDS.iter().find(|f| {
            let end = i + f.len();
            end < s.len()
                && bytes[end] == b'='
                && s.is_char_boundary(end)
                && s[i..end].eq_ignore_ascii_case(f)
                && (i == 0 || !is_name_byte(bytes[i - 1]))
        });
        match hit {
            Some(f) => {
                let value_start = i + f.len() + 1;
                let value_end = s[value_start..]
                    .find(|c: char| {
                        c == '&'
                            || c.is_whitespace()
                            || matches!(c, '"' | '\'' | '<' | '>' | ';' | '#')
                    })
                    .map_or(s.len(), |n| value_start + n);
                out.push_str(&s[i..value_start]);
                out.push_str(REDACTED);
                i = value_end;
            }
            None => {
                let ch = s[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a body of this content type is kept as text.
fn is_text(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.contains("json")
        || ct.starts_with("application/x-www-form-urlencoded")
        || ct.contains("javascript")
        || ct.contains("xml")
}

/// A body as the log keeps it: redacted text, cut at [`BODY_LIMIT`] bytes, or a
/// placeholder for binary content. The flag says whether it was cut.
pub(crate) fn body(content_type: &str, bytes: &[u8]) -> (String, bool) {
    if bytes.is_empty() {
        return (String::new(), false);
    }
    let utf8 = std::str::from_utf8(bytes).ok();
    let Some(raw) = utf8.filter(|_| is_text(content_type)) else {
        let ct = if content_type.is_empty() {
            "application/octet-stream"
        } else {
            content_type
                .split(';')
                .next()
                .unwrap_or(content_type)
                .trim()
        };
        return (format!("<{} bytes of {ct}>", bytes.len()), false);
    };
    let redacted = if let Ok(mut v) = serde_json::from_str::<Value>(raw) {
        json(&mut v);
        v.to_string()
    } else if content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        text(&pairs(raw))
    } else {
        text(raw)
    };
    cut(redacted)
}

/// Cuts `s` to at most [`BODY_LIMIT`] bytes on a character boundary.
fn cut(mut s: String) -> (String, bool) {
    if s.len() <= BODY_LIMIT {
        return (s, false);
    }
    let mut at = BODY_LIMIT;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    (s, true)
}

/// Every token and secret the emulator knows now (and the app's consumer key and client
/// id), longest first.
pub(crate) fn known_secrets(auth: &AuthState) -> Vec<String> {
    let mut out: Vec<String> = [
        // Identifiers more than secrets, but credentials all the same: kept out too.
        auth.consumer_key.clone(),
        auth.client_id.clone(),
        auth.consumer_secret.clone(),
        auth.client_secret.clone(),
        auth.app_bearer.clone(),
    ]
    .into_iter()
    .chain(auth.access.keys().cloned())
    .chain(auth.refresh.keys().cloned())
    .chain(auth.codes.keys().cloned())
    .chain(
        auth.oauth1_tokens
            .iter()
            .flat_map(|(t, (s, _))| [t.clone(), s.clone()]),
    )
    .chain(auth.request_tokens.iter().flat_map(|(t, r)| {
        [t.clone(), r.secret.clone()]
            .into_iter()
            .chain(r.verifier.clone())
    }))
    // Short strings would blank unrelated text; the emulator's secrets are long.
    .filter(|s| s.len() >= 8)
    .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `s` with every occurrence of a known secret replaced.
pub(crate) fn scrub(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers() {
        assert_eq!(
            header("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(
            header(
                "authorization",
                r#"OAuth oauth_consumer_key="k", oauth_signature="s""#
            ),
            "OAuth [redacted]"
        );
        assert_eq!(header("authorization", "opaque"), "[redacted]");
        assert_eq!(header("Cookie", "a=b"), "[redacted]");
        assert_eq!(header("set-cookie", "a=b"), "[redacted]");
        assert_eq!(
            header("x-twitter-webhooks-signature", "sha256=abc"),
            "[redacted]"
        );
        assert_eq!(
            header("location", "http://cb/?state=s&code=xyz"),
            "http://cb/?state=s&code=[redacted]"
        );
        assert_eq!(header("content-type", "text/plain"), "text/plain");
    }

    #[test]
    fn queries_forms_and_text() {
        assert_eq!(
            pairs("crc_token=abc&nonce=1&Token=t&x"),
            "crc_token=[redacted]&nonce=1&Token=[redacted]&x"
        );
        assert_eq!(pairs("oauth%5Ftoken=abc"), "oauth%5Ftoken=[redacted]");
        assert_eq!(
            text(r#"<a href="/cb?oauth_token=abc&oauth_verifier=v">x</a> decode=1"#),
            r#"<a href="/cb?oauth_token=[redacted]&oauth_verifier=[redacted]">x</a> decode=1"#
        );
        assert_eq!(text("mytoken=abc"), "mytoken=abc", "only whole names");
    }

    #[test]
    fn bodies() {
        let (b, cut) = body(
            "application/json",
            br#"{"token_type":"bearer","access_token":"A","data":[{"refresh_token":"R"}],"url":"https://x/?code=C"}"#,
        );
        assert!(!cut);
        assert!(
            !b.contains("\"A\"") && !b.contains("\"R\"") && !b.contains("=C"),
            "{b}"
        );
        assert!(b.contains("bearer"));
        let (b, _) = body(
            "application/x-www-form-urlencoded",
            b"grant_type=refresh_token&refresh_token=R1&client_id=c",
        );
        assert_eq!(
            b,
            "grant_type=refresh_token&refresh_token=[redacted]&client_id=c"
        );
        assert_eq!(
            body("image/png", &[0x89, b'P', b'N', b'G']),
            ("<4 bytes of image/png>".to_owned(), false)
        );
        assert_eq!(
            body("text/plain", &[0xff, 0xfe]),
            ("<2 bytes of text/plain>".to_owned(), false)
        );
        assert_eq!(body("", b""), (String::new(), false));
        let long = "é".repeat(BODY_LIMIT);
        let (b, cut) = body("text/plain", long.as_bytes());
        assert!(cut);
        assert!(b.len() <= BODY_LIMIT && b.len() > BODY_LIMIT - 2);
    }

    #[test]
    fn known_values_are_scrubbed() {
        let secrets = vec!["longsecretvalue".to_owned(), "shortish".to_owned()];
        assert_eq!(
            scrub("a longsecretvalue b shortish", &secrets),
            "a [redacted] b [redacted]"
        );
    }

    /// A JSON value of ordinary content (lower-case letters, no digits), with `secret`
    /// (digits) under a secret field name somewhere inside.
    fn json_with_secret() -> impl Strategy<Value = (Value, String)> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-z ]{0,8}".prop_map(Value::String),
        ];
        let tree = leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        (
            tree,
            prop::sample::select(SECRET_FIELDS),
            "[0-9]{12,20}",
            prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            any::<bool>(),
        )
            .prop_map(|(mut tree, field, secret, path, as_url)| {
                let value = if as_url {
                    Value::String(format!("https://cb.example/?{field}={secret}&state=s"))
                } else {
                    Value::String(secret.clone())
                };
                plant(&mut tree, &path, field, value);
                (tree, secret)
            })
    }

    /// Walks down into containers along `path`, then puts `field: value` there.
    fn plant(at: &mut Value, path: &[prop::sample::Index], field: &str, value: Value) {
        if let Some((i, rest)) = path.split_first() {
            match at {
                Value::Array(a) if !a.is_empty() => {
                    let n = i.index(a.len());
                    return plant(&mut a[n], rest, field, value);
                }
                Value::Object(m) if !m.is_empty() => {
                    let n = i.index(m.len());
                    let next = m.values_mut().nth(n).expect("in range");
                    return plant(next, rest, field, value);
                }
                _ => {}
            }
        }
        match at {
            Value::Object(m) => {
                m.insert(field.to_owned(), value);
            }
            Value::Array(a) => a.push(serde_json::json!({ field: value })),
            other => *other = serde_json::json!({ field: value }),
        }
    }

    proptest! {
        #[test]
        fn no_secret_survives_in_json((v, secret) in json_with_secret()) {
            let raw = v.to_string();
            prop_assert!(raw.contains(&secret));
            let (out, _) = body("application/json", raw.as_bytes());
            prop_assert!(!out.contains(&secret), "{raw} -> {out}");
        }

        #[test]
        fn no_secret_survives_in_forms(
            before in prop::collection::vec(("[a-z_]{1,6}", "[a-z]{0,6}"), 0..4),
            after in prop::collection::vec(("[a-z_]{1,6}", "[a-z]{0,6}"), 0..4),
            field in prop::sample::select(SECRET_FIELDS),
            secret in "[0-9]{12,20}",
            upper in any::<bool>(),
        ) {
            let field = if upper { field.to_ascii_uppercase() } else { field.to_owned() };
            let mut all: Vec<String> = before.iter().map(|(k, v)| format!("{k}={v}")).collect();
            all.push(format!("{field}={secret}"));
            all.extend(after.iter().map(|(k, v)| format!("{k}={v}")));
            let raw = all.join("&");
            let (form, _) = body("application/x-www-form-urlencoded", raw.as_bytes());
            prop_assert!(!form.contains(&secret), "{raw} -> {form}");
            prop_assert!(!pairs(&raw).contains(&secret));
            prop_assert!(!text(&raw).contains(&secret));
        }
    }
}
