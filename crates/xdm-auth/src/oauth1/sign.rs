//! Signing a request: the signature base string of RFC 5849 §3.4.1, HMAC-SHA1, and the
//! `Authorization` header, written straight into their buffers.
//!
//! The query of a request the core built is already percent-encoded the way the base string
//! wants it (only unreserved bytes and upper-case `%XX`), so such a component is taken as it
//! is. Anything else (a `+`, a lower-case escape, an escaped unreserved byte, a raw non-ASCII
//! byte) is decoded and encoded again, which gives the same bytes a decode-everything signer
//! would; the tests below hold the two paths to that.

use std::borrow::Cow;
use std::num::NonZeroU64;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Uri};
use xdm_core::{Authorize, EndpointInfo};

use super::{ConsumerCredentials, TokenCredentials};
use crate::error::AuthorizeError;
use crate::form;
use crate::random::Nonce;

/// What a signature is computed with, besides the request itself.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    consumer: ConsumerCredentials,
    fixed: Option<(String, u64)>,
    version: bool,
}

/// The protocol parameters that vary between the legs of the flow and API calls.
#[derive(Default)]
pub(crate) struct Extras<'a> {
    pub(crate) token: Option<(&'a str, &'a str)>,
    pub(crate) callback: Option<&'a str>,
    pub(crate) verifier: Option<&'a str>,
}

impl Signer {
    pub(crate) fn new(consumer: ConsumerCredentials) -> Self {
        Self {
            consumer,
            fixed: None,
            version: true,
        }
    }

    pub(crate) fn fix(&mut self, nonce: String, timestamp: u64) {
        self.fixed = Some((nonce, timestamp));
    }

    pub(crate) fn set_version(&mut self, version: bool) {
        self.version = version;
    }

    /// Adds the `Authorization` header to `request`, rewriting its URI's scheme and authority
    /// to their normal form first if needed, so that the URL signed is the URL sent.
    pub(crate) fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
        extras: Extras<'_>,
    ) -> Result<(), AuthorizeError> {
        normalise_uri(request)?;
        let random;
        let mut digits = [0u8; 20];
        let uri = request.uri();
        let form_body = request
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| form::is_form_content_type(v.as_bytes()))
            .then(|| request.body().as_ref());
        // A reserved name is refused before the clock or the random source is consulted.
        let mut params = request_params(uri.query(), form_body)?;
        let timestamp = match &self.fixed {
            Some((_, t)) => *t,
            None => now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_err(|_| AuthorizeError::ClockBeforeEpoch)?
                .as_secs(),
        };
        let timestamp = NonZeroU64::new(timestamp).ok_or(AuthorizeError::ClockBeforeEpoch)?;
        let nonce = match &self.fixed {
            Some((n, _)) => n.as_str(),
            None => {
                random = Nonce::generate()?;
                random.as_str()
            }
        };
        let protocol = Protocol {
            callback: extras.callback,
            consumer_key: &self.consumer.key,
            nonce,
            timestamp: format_u64(timestamp.get(), &mut digits),
            token: extras.token.map(|(t, _)| t),
            verifier: extras.verifier,
            version: self.version,
        };
        add_protocol(&mut params, &protocol);
        let base = base_string(request.method().as_str(), uri, &params);
        let signature = hmac_sha1(
            &base,
            self.consumer.secret.expose_secret(),
            extras.token.map(|(_, s)| s),
        );
        let header = authorization_header(&params, &signature);
        drop(params);
        // Every value in the header is percent-encoded, so it is always a valid header value;
        // from a `String` the header value takes over the buffer.
        let mut value = HeaderValue::try_from(header).expect("an OAuth header is visible ASCII");
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// The protocol parameters of one signature, unencoded.
struct Protocol<'a> {
    callback: Option<&'a str>,
    consumer_key: &'a str,
    nonce: &'a str,
    timestamp: &'a str,
    token: Option<&'a str>,
    verifier: Option<&'a str>,
    version: bool,
}

impl<'a> Protocol<'a> {
    /// The `oauth_*` pairs that are sent, in name order, with their values encoded.
    fn encoded(&self) -> impl Iterator<Item = (&'static str, Cow<'a, str>)> {
        [
            ("oauth_callback", self.callback),
            ("oauth_consumer_key", Some(self.consumer_key)),
            ("oauth_nonce", Some(self.nonce)),
            ("oauth_signature_method", Some("HMAC-SHA1")),
            ("oauth_timestamp", Some(self.timestamp)),
            ("oauth_token", self.token),
            ("oauth_verifier", self.verifier),
            ("oauth_version", self.version.then_some("1.0")),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, form::encode(value?))))
    }
}

/// Writes `n` in decimal at the end of `buf` (`u64::MAX` has 20 digits).
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("ASCII digits")
}

/// Brings the request's URI to the form RFC 5849 §3.4.1.2 signs (lowercase scheme and host, no
/// default port, no user info), rewriting it only when it is not already in that form.
fn normalise_uri(request: &mut http::Request<Bytes>) -> Result<(), AuthorizeError> {
    let uri = request.uri();
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(AuthorizeError::RelativeUri);
    };
    let host = authority.host();
    let default_port = match scheme {
        "https" => Some(443),
        "http" => Some(80),
        s if s.eq_ignore_ascii_case("https") => Some(443),
        s if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    };
    let port = authority.port_u16().filter(|p| Some(*p) != default_port);
    let mut digits = [0u8; 20];
    // The port as written must be the port's decimal form: `:08080` is rewritten as `:8080`.
    let is_normal = !scheme.bytes().any(|b| b.is_ascii_uppercase())
        && !host.bytes().any(|b| b.is_ascii_uppercase())
        && match port {
            None => authority.as_str() == host,
            Some(port) => authority
                .as_str()
                .strip_prefix(host)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|written| written == format_u64(port.into(), &mut digits)),
        };
    if is_normal {
        return Ok(());
    }
    let mut origin = format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    );
    if let Some(port) = port {
        origin.push_str(&format!(":{port}"));
    }
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    origin.push_str(path_and_query);
    let rewritten: Uri = origin.parse().map_err(|_| AuthorizeError::RelativeUri)?;
    *request.uri_mut() = rewritten;
    Ok(())
}

/// One parameter of the base string, both halves percent-encoded in RFC 3986's canonical form.
type Param<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The request's query and form parameters, each encoded.
fn request_params<'a>(
    query: Option<&'a str>,
    form_body: Option<&'a [u8]>,
) -> Result<Vec<Param<'a>>, AuthorizeError> {
    // The full listing has seven request parameters, and eight protocol parameters join them;
    // this is a guess, not a limit.
    let mut params = Vec::with_capacity(16);
    for input in [query.map(str::as_bytes), form_body].into_iter().flatten() {
        push_pairs(input, &mut params)?;
    }
    Ok(params)
}

/// Adds the protocol parameters, and sorts all as RFC 5849 §3.4.1.3.2 orders them: by encoded
/// name, then encoded value.
fn add_protocol<'a>(params: &mut Vec<Param<'a>>, protocol: &Protocol<'a>) {
    params.extend(protocol.encoded().map(|(n, v)| (Cow::Borrowed(n), v)));
    params.sort_unstable_by(|a, b| {
        (a.0.as_bytes(), a.1.as_bytes()).cmp(&(b.0.as_bytes(), b.1.as_bytes()))
    });
}

/// Splits a query or form body into `name=value` pairs (a pair without `=` has an empty value,
/// empty pairs are skipped) and appends each in canonical encoding.
///
/// One pass finds the separators and checks canonical form at once: the query of a listing
/// with every field is about a kilobyte, and this is most of what signing reads.
fn push_pairs<'a>(input: &'a [u8], params: &mut Vec<Param<'a>>) -> Result<(), AuthorizeError> {
    let mut pair_start = 0;
    let mut equals = None;
    let mut name_canonical = true;
    let mut canonical = true;
    let mut i = 0;
    // The end of the input closes the last pair as a `&` would.
    while i <= input.len() {
        let b = input.get(i).copied().unwrap_or(b'&');
        if is_unreserved(b) {
            i += 1;
            continue;
        }
        match b {
            b'&' => {
                push_pair(
                    input,
                    pair_start,
                    equals,
                    i,
                    name_canonical,
                    canonical,
                    params,
                )?;
                pair_start = i + 1;
                equals = None;
                name_canonical = true;
                canonical = true;
                i += 1;
            }
            b'=' if equals.is_none() => {
                equals = Some(i);
                name_canonical = canonical;
                canonical = true;
                i += 1;
            }
            b'%' if is_canonical_escape(&input[i..]) => i += 3,
            _ => {
                canonical = false;
                i += 1;
            }
        }
    }
    Ok(())
}

/// Appends the pair `input[start..end]`, split at `equals` if it has one.
fn push_pair<'a>(
    input: &'a [u8],
    start: usize,
    equals: Option<usize>,
    end: usize,
    name_canonical: bool,
    value_canonical: bool,
    params: &mut Vec<Param<'a>>,
) -> Result<(), AuthorizeError> {
    if start == end {
        return Ok(());
    }
    let (name, name_canonical, value) = match equals {
        Some(e) => (&input[start..e], name_canonical, &input[e + 1..end]),
        // No `=`: what was scanned as the value is the name.
        None => (&input[start..end], value_canonical, &input[end..end]),
    };
    let name = canonical_as(name, name_canonical);
    if name.starts_with("oauth_") {
        return Err(AuthorizeError::ReservedParameter {
            name: String::from_utf8_lossy(&form::decode_component(name.as_bytes())).into_owned(),
        });
    }
    let value = canonical_as(value, equals.is_none() || value_canonical);
    params.push((name, value));
    Ok(())
}

/// `raw` itself when the scan found it canonical, else decoded and encoded again.
fn canonical_as(raw: &[u8], is_canonical: bool) -> Cow<'_, str> {
    match is_canonical {
        true => Cow::Borrowed(std::str::from_utf8(raw).expect("canonical components are ASCII")),
        false => Cow::Owned(form::encode_bytes(&form::decode_component(raw))),
    }
}

/// Whether `escape` starts with `%XX` in upper-case hex, naming a byte that must be escaped.
fn is_canonical_escape(escape: &[u8]) -> bool {
    match escape {
        [b'%', hi, lo, ..] => match (upper_hex(*hi), upper_hex(*lo)) {
            (Some(hi), Some(lo)) => !is_unreserved(hi << 4 | lo),
            _ => false,
        },
        _ => false,
    }
}

/// Whether encoding the decoding of `raw` gives `raw` back: only unreserved bytes, and escapes
/// with upper-case hex digits of bytes that must be escaped.
#[cfg(test)]
fn is_canonical(raw: &[u8]) -> bool {
    let mut i = 0;
    while i < raw.len() {
        if is_unreserved(raw[i]) {
            i += 1;
        } else if is_canonical_escape(&raw[i..]) {
            i += 3;
        } else {
            return false;
        }
    }
    true
}

fn is_unreserved(b: u8) -> bool {
    // The same set the core encodes queries with: what it builds is canonical here.
    xdm_core::query::is_unreserved(b)
}

fn upper_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `METHOD&enc(base URI)&enc(normalised parameters)`. Every parameter is already encoded, so
/// encoding it once more only turns `%` into `%25`; `=` and `&` between them become `%3D` and
/// `%26`.
fn base_string(method: &str, uri: &Uri, params: &[Param<'_>]) -> Vec<u8> {
    let scheme = uri.scheme_str().unwrap_or_default();
    let authority = uri.authority().map_or("", |a| a.as_str());
    let path = uri.path();
    // An upper bound: escapes are three bytes for every one (`%` becomes `%25`).
    let params_len: usize = params
        .iter()
        .map(|(n, v)| 3 * (n.len() + v.len()) + 6)
        .sum();
    let mut out = Vec::with_capacity(
        method.len() + 2 + 3 * (scheme.len() + authority.len() + path.len() + 3) + params_len,
    );
    out.extend_from_slice(method.as_bytes());
    out.push(b'&');
    push_encoded(&mut out, scheme);
    out.extend_from_slice(b"%3A%2F%2F");
    push_encoded(&mut out, authority);
    push_encoded(&mut out, path);
    out.push(b'&');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"%26");
        }
        push_reencoded(&mut out, name);
        out.extend_from_slice(b"%3D");
        push_reencoded(&mut out, value);
    }
    out
}

fn push_encoded(out: &mut Vec<u8>, raw: &str) {
    for chunk in percent_encoding::utf8_percent_encode(raw, form::OAUTH_ENCODE) {
        out.extend_from_slice(chunk.as_bytes());
    }
}

/// Appends an already encoded component encoded once more: `%` is the only byte in it that is
/// not unreserved, and it becomes `%25`. (A branch-free version that writes `b25` for every
/// byte and advances past the `25` only after a `%` measured slower: it makes each store
/// depend on the one before.)
fn push_reencoded(out: &mut Vec<u8>, encoded: &str) {
    for &b in encoded.as_bytes() {
        if b == b'%' {
            out.extend_from_slice(b"%25");
        } else {
            out.push(b);
        }
    }
}

/// HMAC-SHA1 of `base` keyed with `enc(consumer_secret)&enc(token_secret)`, in base64.
fn hmac_sha1(base: &[u8], consumer_secret: &str, token_secret: Option<&str>) -> [u8; 28] {
    let consumer = form::encode(consumer_secret);
    let token = token_secret.map(form::encode).unwrap_or_default();
    let mut key = Vec::with_capacity(consumer.len() + 1 + token.len());
    key.extend_from_slice(consumer.as_bytes());
    key.push(b'&');
    key.extend_from_slice(token.as_bytes());
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(base);
    let mut out = [0u8; 28];
    STANDARD
        .encode_slice(mac.finalize().into_bytes(), &mut out)
        .expect("20 bytes are 28 in base64");
    out
}

/// `OAuth name="value",...,oauth_signature="..."`, the protocol parameters in name order.
fn authorization_header(params: &[Param<'_>], signature: &[u8; 28]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("OAuth ");
    // Request parameters cannot start with `oauth_`, so these are the protocol parameters.
    for (name, value) in params.iter().filter(|(n, _)| n.starts_with("oauth_")) {
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(value);
        out.push_str("\",");
    }
    out.push_str("oauth_signature=\"");
    let signature = std::str::from_utf8(signature).expect("base64 is ASCII");
    out.extend(percent_encoding::utf8_percent_encode(
        signature,
        form::OAUTH_ENCODE,
    ));
    out.push('"');
    out
}

/// Signs requests with a user's access token (HMAC-SHA1).
///
/// Requests whose [`EndpointInfo`] says the endpoint does not accept OAuth 1.0a (media
/// download) are refused before anything is signed.
#[derive(Debug, Clone)]
pub struct Oauth1Authorizer {
    signer: Signer,
    token: TokenCredentials,
}

impl Oauth1Authorizer {
    /// Signs with the app's consumer credentials and the user's access token; each request
    /// gets a fresh random nonce and the timestamp of the `now` it is authorized at.
    pub fn new(consumer: ConsumerCredentials, token: TokenCredentials) -> Self {
        Self {
            signer: Signer::new(consumer),
            token,
        }
    }

    /// Like [`new`](Self::new), but every signature uses this nonce and timestamp, so that
    /// signatures are reproducible. For tests only: a server refuses a repeated nonce.
    pub fn with_fixed_nonce(
        consumer: ConsumerCredentials,
        token: TokenCredentials,
        nonce: impl Into<String>,
        timestamp: u64,
    ) -> Self {
        let mut this = Self::new(consumer, token);
        this.signer.fix(nonce.into(), timestamp);
        this
    }

    /// Whether to send `oauth_version="1.0"` (the default, as X's examples do); RFC 5849 makes
    /// it optional.
    pub fn oauth_version(mut self, include: bool) -> Self {
        self.signer.set_version(include);
        self
    }
}

impl Authorize for Oauth1Authorizer {
    type Error = AuthorizeError;

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), AuthorizeError> {
        if let Some(info) = request.extensions().get::<EndpointInfo>()
            && !info.oauth1
        {
            return Err(AuthorizeError::Oauth1NotAccepted {
                method: info.method.clone(),
                endpoint: info.path_template,
            });
        }
        let extras = Extras {
            token: Some((
                self.token.token.expose_secret(),
                self.token.secret.expose_secret(),
            )),
            ..Extras::default()
        };
        self.signer.sign(request, now, extras)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use oauth1_request::serializer::Serializer;
    use proptest::prelude::*;

    use super::*;

    const URI: &str = "https://api.x.com/2/dm_events";

    fn protocol() -> Protocol<'static> {
        Protocol {
            callback: Some("http://127.0.0.1:8765/cb?x=1"),
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            nonce: "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            timestamp: "1318622958",
            token: Some("370773112-GmHx+Mg"),
            verifier: None,
            version: true,
        }
    }

    fn fast(query: &str, form_body: &[u8]) -> Result<String, AuthorizeError> {
        let uri: Uri = URI.parse().unwrap();
        let mut params = request_params(Some(query), Some(form_body))?;
        add_protocol(&mut params, &protocol());
        Ok(String::from_utf8(base_string("GET", &uri, &params)).unwrap())
    }

    /// The base string as RFC 5849 describes it, step by step: decode every pair, encode it,
    /// sort the pairs, join them, encode the whole.
    fn reference(query: &str, form_body: &[u8]) -> Result<String, AuthorizeError> {
        let mut pairs = Vec::new();
        for (name, value) in form::parse_pairs(query.as_bytes())
            .into_iter()
            .chain(form::parse_pairs(form_body))
        {
            if name.starts_with(b"oauth_") {
                return Err(AuthorizeError::ReservedParameter {
                    name: String::from_utf8_lossy(&name).into_owned(),
                });
            }
            pairs.push((form::encode_bytes(&name), form::encode_bytes(&value)));
        }
        for (name, value) in protocol().encoded() {
            pairs.push((name.to_owned(), value.into_owned()));
        }
        pairs.sort();
        let normalised = pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Ok(format!(
            "GET&{}&{}",
            form::encode(URI),
            form::encode(&normalised)
        ))
    }

    /// The signer this one replaced, built on `oauth1-request`: the header it writes for the
    /// same request, nonce and timestamp.
    fn oauth1_request_header(request: &http::Request<Bytes>, version: bool) -> String {
        struct Params(Vec<(String, String, String)>);
        impl oauth1_request::Request for Params {
            fn serialize<S: Serializer>(&self, mut s: S) -> S::Output {
                let mut protocol_done = false;
                let protocol = |s: &mut S| {
                    s.serialize_oauth_callback();
                    s.serialize_oauth_consumer_key();
                    s.serialize_oauth_nonce();
                    s.serialize_oauth_signature_method();
                    s.serialize_oauth_timestamp();
                    s.serialize_oauth_token();
                    s.serialize_oauth_verifier();
                    s.serialize_oauth_version();
                };
                for (name, base_name, value) in &self.0 {
                    if !protocol_done && name.as_str() > "oauth_" {
                        protocol(&mut s);
                        protocol_done = true;
                    }
                    s.serialize_parameter_encoded(base_name, value);
                }
                if !protocol_done {
                    protocol(&mut s);
                }
                s.end()
            }
        }
        let mut params: Vec<(String, String, String)> = form::signed_pairs(request)
            .iter()
            .map(|(n, v)| {
                let name = form::encode_bytes(n);
                let base_name = form::encode(&name).into_owned();
                (name, base_name, form::encode_bytes(v))
            })
            .collect();
        params.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
        let p = protocol();
        let mut builder = oauth1_request::Builder::<_, &str, &str>::new(
            oauth1_request::Credentials::new(p.consumer_key, "consumer secret"),
            oauth1_request::HmacSha1::new(),
        );
        builder
            .token(Some(oauth1_request::Credentials::new(
                p.token.unwrap(),
                "token&secret",
            )))
            .callback(p.callback)
            .nonce(p.nonce)
            .timestamp(NonZeroU64::new(1318622958))
            .version(version);
        let base_uri = format!(
            "{}://{}{}",
            request.uri().scheme_str().unwrap(),
            request.uri().authority().unwrap(),
            request.uri().path()
        );
        builder.authorize(request.method().as_str(), &base_uri, &Params(params))
    }

    fn header(request: &mut http::Request<Bytes>, version: bool) -> Result<String, AuthorizeError> {
        let p = protocol();
        let mut signer = Signer::new(ConsumerCredentials::new(p.consumer_key, "consumer secret"));
        signer.fix(p.nonce.to_owned(), 1318622958);
        signer.set_version(version);
        let extras = Extras {
            token: Some((p.token.unwrap(), "token&secret")),
            callback: p.callback,
            verifier: None,
        };
        signer.sign(
            request,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1),
            extras,
        )?;
        Ok(request.headers()[AUTHORIZATION]
            .to_str()
            .unwrap()
            .to_owned())
    }

    /// One name or value as a user might write it: canonical escapes and everything else a
    /// decoder must cope with (`+`, lower-case hex, escaped unreserved bytes, stray `%`,
    /// reserved and, unless the result must fit in a URI, non-ASCII characters).
    fn component(uri_safe: bool) -> impl Strategy<Value = String> {
        let other = if uri_safe {
            "[!*,/?:@$'();]".boxed()
        } else {
            "[ !*,/?:@$'();\\[\\]\"é日\u{80}\u{1F600}]".boxed()
        };
        proptest::collection::vec(
            prop_oneof![
                "[A-Za-z0-9._~-]{1,3}",
                Just("+".to_owned()),
                "%[0-9A-Fa-f]{2}",
                "%(4[1-9A-F]|5[0-9A]|6[1-9a-f]|7[0-9Aa]|2[DEde]|5[Ff]|7[Ee])",
                Just("%".to_owned()),
                "%[G-Zg-z][0-9]?",
                Just("=".to_owned()),
                other,
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    /// A query or form body: repeated names, names without `=`, empty values and empty pairs.
    fn pairs(uri_safe: bool) -> impl Strategy<Value = String> {
        let name = prop_oneof![
            3 => prop_oneof![Just("a"), Just("b"), Just("a%20b"), Just("a+b"), Just("c%2c")]
                .prop_map(str::to_owned),
            3 => component(uri_safe),
            1 => "oauth_[a-z]{0,3}|oauth%5[Ff][a-z]|OAUTH_x",
        ];
        proptest::collection::vec((name, proptest::option::of(component(uri_safe))), 0..8).prop_map(
            |pairs| {
                pairs
                    .into_iter()
                    .map(|(n, v)| match v {
                        Some(v) => format!("{n}={v}"),
                        None => n,
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            },
        )
    }

    #[test]
    fn canonical_means_encoding_the_decoding_gives_it_back() {
        for (raw, canonical) in [
            ("", true),
            ("id%2Ctext", true),
            ("-._~AZaz09", true),
            ("%C3%A9", true),
            ("id%2ctext", false),
            ("%41", false),
            ("%7E", false),
            ("a+b", false),
            ("a b", false),
            ("%", false),
            ("%2", false),
            ("%G0", false),
            ("é", false),
        ] {
            assert_eq!(is_canonical(raw.as_bytes()), canonical, "{raw}");
            let again = form::encode_bytes(&form::decode_component(raw.as_bytes()));
            assert_eq!(again == raw, canonical, "{raw}");
        }
    }

    #[test]
    fn uris_are_rewritten_to_their_normal_form_only_when_needed() {
        for (given, normal) in [
            ("https://api.x.com/2/x?a=1", "https://api.x.com/2/x?a=1"),
            ("HTTPS://API.X.com:443/2/x?a=1", "https://api.x.com/2/x?a=1"),
            ("http://localhost:8080/2/x", "http://localhost:8080/2/x"),
            ("http://localhost:08080/2/x", "http://localhost:8080/2/x"),
            ("http://localhost:80/2/x", "http://localhost/2/x"),
            (
                "http://user@localhost:8080/2/x",
                "http://localhost:8080/2/x",
            ),
            ("http://localhost:/2/x", "http://localhost/2/x"),
        ] {
            let mut request = http::Request::get(given).body(Bytes::new()).unwrap();
            normalise_uri(&mut request).unwrap();
            assert_eq!(request.uri().to_string(), normal, "{given}");
        }
    }

    #[test]
    fn digits() {
        let mut buf = [0u8; 20];
        assert_eq!(format_u64(1, &mut buf), "1");
        assert_eq!(format_u64(1318622958, &mut buf), "1318622958");
        assert_eq!(format_u64(u64::MAX, &mut buf), u64::MAX.to_string());
    }

    proptest! {
        #[test]
        fn is_canonical_agrees_with_decoding_and_encoding(raw in component(false)) {
            let again = form::encode_bytes(&form::decode_component(raw.as_bytes()));
            let is = is_canonical(raw.as_bytes());
            prop_assert_eq!(is, again == raw);
            prop_assert_eq!(canonical_as(raw.as_bytes(), is), again);
        }

        #[test]
        fn canonical_components_are_borrowed(raw in component(false)) {
            prop_assume!(!raw.contains(['&', '=']));
            let input = format!("x={raw}&{raw}");
            let mut params = Vec::new();
            push_pairs(input.as_bytes(), &mut params).unwrap();
            let is = is_canonical(raw.as_bytes());
            prop_assert_eq!(matches!(params[0].1, Cow::Borrowed(_)), is);
            if let Some((name, _)) = params.get(1) {
                prop_assert_eq!(matches!(name, Cow::Borrowed(_)), is);
            }
        }

        #[test]
        fn the_base_string_is_the_reference_one(
            query in pairs(false),
            body in pairs(false),
        ) {
            prop_assert_eq!(fast(&query, body.as_bytes()), reference(&query, body.as_bytes()));
        }

        #[test]
        fn the_header_is_the_one_oauth1_request_writes(
            query in pairs(true),
            body in pairs(false),
            form_body in any::<bool>(),
            version in any::<bool>(),
            host in "api\\.x\\.com|API\\.X\\.com:443|localhost:8080",
        ) {
            let url = if query.is_empty() {
                format!("https://{host}/2/dm_events")
            } else {
                format!("https://{host}/2/dm_events?{query}")
            };
            let mut builder = http::Request::post(url.as_str());
            if form_body {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            }
            let mut request = builder.body(Bytes::from(body)).unwrap();
            match header(&mut request, version) {
                Ok(ours) => prop_assert_eq!(ours, oauth1_request_header(&request, version)),
                Err(e) => prop_assert!(
                    matches!(e, AuthorizeError::ReservedParameter { .. }),
                    "{e:?}"
                ),
            }
        }
    }
}
