//! Signing a request: `oauth1-request` writes the signature base string, the HMAC-SHA1 and
//! the `Authorization` header; this module hands it the request's parameters in the form RFC
//! 5849 signs them and puts the header on the request.

use std::num::NonZeroU64;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Uri};
use oauth1_request::serializer::Serializer;
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
        let base_uri = normalise_uri(request)?;
        // A reserved name is refused before the clock or the random source is consulted.
        let params = SignedParams::from_request(request)?;
        let timestamp = match &self.fixed {
            Some((_, t)) => *t,
            None => now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_err(|_| AuthorizeError::ClockBeforeEpoch)?
                .as_secs(),
        };
        let timestamp = NonZeroU64::new(timestamp).ok_or(AuthorizeError::ClockBeforeEpoch)?;
        let random;
        let nonce = match &self.fixed {
            Some((n, _)) => n.as_str(),
            None => {
                random = Nonce::generate()?;
                random.as_str()
            }
        };
        let client = oauth1_request::Credentials::new(
            self.consumer.key.as_str(),
            self.consumer.secret.expose_secret(),
        );
        let mut builder =
            oauth1_request::Builder::<_, &str, &str>::new(client, oauth1_request::HmacSha1::new());
        builder
            .token(
                extras
                    .token
                    .map(|(t, s)| oauth1_request::Credentials::new(t, s)),
            )
            .callback(extras.callback)
            .verifier(extras.verifier)
            .nonce(nonce)
            .timestamp(timestamp)
            .version(self.version);
        let header = builder.authorize(request.method().as_str(), &base_uri, &params);
        // Every value in the header is percent-encoded, so it is always a valid header value.
        let mut value = HeaderValue::try_from(header).expect("an OAuth header is visible ASCII");
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// Returns `scheme://host[:port]/path` in the form RFC 5849 §3.4.1.2 signs (lowercase scheme
/// and host, no default port, no user info), and makes the request's own URI agree with it.
fn normalise_uri(request: &mut http::Request<Bytes>) -> Result<String, AuthorizeError> {
    let uri = request.uri();
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(AuthorizeError::RelativeUri);
    };
    let scheme = scheme.to_ascii_lowercase();
    let mut origin = format!("{scheme}://{}", authority.host().to_ascii_lowercase());
    let default_port = match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    if let Some(port) = authority.port_u16()
        && Some(port) != default_port
    {
        origin.push_str(&format!(":{port}"));
    }
    let base_uri = format!("{origin}{}", uri.path());
    if authority.as_str() != &origin[scheme.len() + 3..] || uri.scheme_str() != Some(&scheme) {
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let rewritten: Uri = format!("{origin}{path_and_query}")
            .parse()
            .map_err(|_| AuthorizeError::RelativeUri)?;
        *request.uri_mut() = rewritten;
    }
    Ok(base_uri)
}

/// The request's query and form parameters, encoded and sorted as RFC 5849 §3.4.1.3.2 orders
/// them: by encoded name, then encoded value.
///
/// `oauth1-request`'s own `ParameterList` sorts by the unencoded values and writes names
/// unescaped; both can differ from the RFC for the bytes a query may hold, so the list is
/// built here and handed over already encoded.
struct SignedParams(Vec<Param>);

struct Param {
    encoded_name: String,
    /// The encoded name encoded once more: the signer writes names into the base string as
    /// given, and the base string holds the normalised parameters encoded again.
    base_string_name: String,
    encoded_value: String,
}

/// The protocol parameters in name order; the serializer must place them among the others.
const PROTOCOL_PARAMETERS: [&str; 8] = [
    "oauth_callback",
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_token",
    "oauth_verifier",
    "oauth_version",
];

impl SignedParams {
    fn from_request(request: &http::Request<Bytes>) -> Result<Self, AuthorizeError> {
        let pairs = form::signed_pairs(request);
        let mut params = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            if name.starts_with(b"oauth_") {
                return Err(AuthorizeError::ReservedParameter {
                    name: String::from_utf8_lossy(&name).into_owned(),
                });
            }
            let encoded_name = form::encode_bytes(&name);
            params.push(Param {
                base_string_name: form::encode(&encoded_name).into_owned(),
                encoded_name,
                encoded_value: form::encode_bytes(&value),
            });
        }
        params.sort_unstable_by(|a, b| {
            (&a.encoded_name, &a.encoded_value).cmp(&(&b.encoded_name, &b.encoded_value))
        });
        Ok(Self(params))
    }
}

impl oauth1_request::Request for SignedParams {
    fn serialize<S: Serializer>(&self, mut serializer: S) -> S::Output {
        fn protocol<S: Serializer>(s: &mut S, index: usize) {
            match index {
                0 => s.serialize_oauth_callback(),
                1 => s.serialize_oauth_consumer_key(),
                2 => s.serialize_oauth_nonce(),
                3 => s.serialize_oauth_signature_method(),
                4 => s.serialize_oauth_timestamp(),
                5 => s.serialize_oauth_token(),
                6 => s.serialize_oauth_verifier(),
                _ => s.serialize_oauth_version(),
            }
        }
        let mut next = 0;
        for param in &self.0 {
            while next < PROTOCOL_PARAMETERS.len()
                && PROTOCOL_PARAMETERS[next] < param.encoded_name.as_str()
            {
                protocol(&mut serializer, next);
                next += 1;
            }
            serializer.serialize_parameter_encoded(&param.base_string_name, &param.encoded_value);
        }
        while next < PROTOCOL_PARAMETERS.len() {
            protocol(&mut serializer, next);
            next += 1;
        }
        serializer.end()
    }
}

/// Signs requests with a user's access token (HMAC-SHA1).
///
/// Requests whose [`EndpointInfo`] says the endpoint does not accept OAuth 1.0a (media
/// download) or takes the app's Bearer token (the activity stream, webhooks) are refused
/// before anything is signed.
#[derive(Debug, Clone)]
pub struct OAuth1Authorizer {
    signer: Signer,
    token: TokenCredentials,
}

impl OAuth1Authorizer {
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

impl Authorize for OAuth1Authorizer {
    type Error = AuthorizeError;

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), AuthorizeError> {
        if let Some(info) = request.extensions().get::<EndpointInfo>() {
            crate::oauth2::check_user_endpoint(info)?;
            if !info.oauth1 {
                return Err(AuthorizeError::OAuth1NotAccepted {
                    method: info.method.clone(),
                    endpoint: info.path_template,
                });
            }
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
    use super::*;

    #[test]
    fn uris_are_rewritten_to_their_normal_form_only_when_needed() {
        for (given, normal, base) in [
            (
                "https://api.x.com/2/x?a=1",
                "https://api.x.com/2/x?a=1",
                "https://api.x.com/2/x",
            ),
            (
                "HTTPS://API.X.com:443/2/x?a=1",
                "https://api.x.com/2/x?a=1",
                "https://api.x.com/2/x",
            ),
            (
                "http://localhost:8080/2/x",
                "http://localhost:8080/2/x",
                "http://localhost:8080/2/x",
            ),
            (
                "http://localhost:08080/2/x",
                "http://localhost:8080/2/x",
                "http://localhost:8080/2/x",
            ),
            (
                "http://localhost:80/2/x",
                "http://localhost/2/x",
                "http://localhost/2/x",
            ),
            (
                "http://user@localhost:8080/2/x",
                "http://localhost:8080/2/x",
                "http://localhost:8080/2/x",
            ),
            (
                "http://localhost:/2/x",
                "http://localhost/2/x",
                "http://localhost/2/x",
            ),
        ] {
            let mut request = http::Request::get(given).body(Bytes::new()).unwrap();
            assert_eq!(normalise_uri(&mut request).unwrap(), base, "{given}");
            assert_eq!(request.uri().to_string(), normal, "{given}");
        }
    }

    #[test]
    fn parameters_are_sorted_by_their_encoded_form() {
        // By the encoded bytes, `%E2%82%AC` (a euro sign) comes before `1`, and `a%20b` before
        // `a~`; the decoded bytes would sort both pairs the other way round.
        let request = http::Request::get("https://api.x.com/x?z=1&a%7E=2&a%20b=3&a=%E2%82%AC&a=1")
            .body(Bytes::new())
            .unwrap();
        let params = SignedParams::from_request(&request).unwrap();
        let order: Vec<(&str, &str)> = params
            .0
            .iter()
            .map(|p| (p.encoded_name.as_str(), p.encoded_value.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("a", "%E2%82%AC"),
                ("a", "1"),
                ("a%20b", "3"),
                ("a~", "2"),
                ("z", "1")
            ]
        );
        assert_eq!(params.0[2].base_string_name, "a%2520b");
    }
}
