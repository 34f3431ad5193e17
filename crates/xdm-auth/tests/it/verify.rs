//! Checking an OAuth 1.0a signature as a server does: the tests' own verifier.
//!
//! It builds the signature base string of RFC 5849 §3.4.1 the plain way (decode every
//! parameter, encode it, sort, join, encode) with none of the crate's code, so that the signer
//! (`oauth1-request`, fed by the crate) is checked against an independent reading of the RFC.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use xdm_auth::secret::{AccessToken, ConsumerSecret, TokenSecret, Verifier};

/// RFC 3986's unreserved characters stay; everything else is escaped (RFC 5849 §3.6).
const OAUTH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(value: &str) -> String {
    utf8_percent_encode(value, OAUTH_ENCODE).to_string()
}

fn encode_bytes(value: &[u8]) -> String {
    percent_encoding::percent_encode(value, OAUTH_ENCODE).to_string()
}

/// Decoded `(name, value)` pairs of a query or form body, `+` read as a space.
fn parse_pairs(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let decode = |raw: &[u8]| -> Vec<u8> {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_decode(&spaced).collect()
    };
    input
        .split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.iter().position(|&b| b == b'=') {
            Some(i) => (decode(&part[..i]), decode(&part[i + 1..])),
            None => (decode(part), Vec::new()),
        })
        .collect()
}

/// The query's pairs, then the body's when it is a form.
fn signed_pairs(request: &http::Request<Bytes>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = request
        .uri()
        .query()
        .map(|q| parse_pairs(q.as_bytes()))
        .unwrap_or_default();
    let is_form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if is_form {
        pairs.extend(parse_pairs(request.body()));
    }
    pairs
}

/// The protocol parameters of an `Authorization: OAuth ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolParams {
    /// `oauth_consumer_key`.
    pub(crate) consumer_key: String,
    /// `oauth_token`, absent when requesting a request token.
    pub(crate) token: Option<AccessToken>,
    /// `oauth_signature_method`.
    pub(crate) signature_method: String,
    /// `oauth_timestamp`.
    pub(crate) timestamp: u64,
    /// `oauth_nonce`.
    pub(crate) nonce: String,
    /// `oauth_version`, if sent.
    pub(crate) version: Option<String>,
    /// `oauth_callback`, if sent.
    pub(crate) callback: Option<String>,
    /// `oauth_verifier`, if sent.
    pub(crate) verifier: Option<Verifier>,
    /// `oauth_signature`, base64.
    pub(crate) signature: String,
}

/// Why a request's OAuth 1.0a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VerifyError {
    /// The request has no `Authorization` header, or it is not OAuth.
    #[error("the request has no `Authorization: OAuth ...` header")]
    MissingHeader,
    /// The header cannot be parsed.
    #[error("the OAuth Authorization header is malformed: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// A required protocol parameter is missing.
    #[error("the OAuth Authorization header has no `{name}`")]
    MissingParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// A signature method other than HMAC-SHA1.
    #[error("unsupported oauth_signature_method `{method}` (only HMAC-SHA1 is accepted)")]
    UnsupportedSignatureMethod {
        /// The method named.
        method: String,
    },
    /// The signature does not match the request.
    #[error("the OAuth signature does not match the request")]
    BadSignature,
}

/// Parses an `Authorization` header value of the form `OAuth k="v", ...`.
pub(crate) fn parse_authorization(value: &str) -> Result<ProtocolParams, VerifyError> {
    let rest = value
        .strip_prefix("OAuth ")
        .ok_or(VerifyError::MissingHeader)?;
    let mut pairs = Vec::new();
    for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, quoted) = item.split_once('=').ok_or(VerifyError::Malformed {
            reason: "a parameter has no `=`",
        })?;
        let raw = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(VerifyError::Malformed {
                reason: "a value is not quoted",
            })?;
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| VerifyError::Malformed {
                reason: "a value is not UTF-8",
            })?;
        if pairs.iter().any(|(n, _): &(String, String)| n == name) {
            return Err(VerifyError::Malformed {
                reason: "a parameter is repeated",
            });
        }
        pairs.push((name.trim().to_owned(), decoded.into_owned()));
    }
    let take = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let require = |name: &'static str| take(name).ok_or(VerifyError::MissingParameter { name });
    Ok(ProtocolParams {
        consumer_key: require("oauth_consumer_key")?,
        token: take("oauth_token").map(AccessToken::new),
        signature_method: require("oauth_signature_method")?,
        timestamp: require("oauth_timestamp")?
            .parse()
            .map_err(|_| VerifyError::Malformed {
                reason: "oauth_timestamp is not a number",
            })?,
        nonce: require("oauth_nonce")?,
        version: take("oauth_version"),
        callback: take("oauth_callback"),
        verifier: take("oauth_verifier").map(Verifier::new),
        signature: require("oauth_signature")?,
    })
}

/// The signature base string: `METHOD&enc(base_uri)&enc(normalised parameters)`, where
/// `params` are the request's query and form parameters plus the protocol parameters, each
/// already percent-encoded (RFC 5849 §3.4.1.3.2).
pub(crate) fn signature_base_string(
    method: &str,
    base_uri: &str,
    params: &[(String, String)],
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let normalised = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_uri),
        encode(&normalised)
    )
}

/// The encoded parameters a server signs for `request`: its query, its form body (only when
/// `Content-Type` is `application/x-www-form-urlencoded`) and the protocol parameters.
pub(crate) fn request_parameters(
    request: &http::Request<Bytes>,
    protocol: &ProtocolParams,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = signed_pairs(request)
        .iter()
        .map(|(k, v)| (encode_bytes(k), encode_bytes(v)))
        .collect();
    let mut protocol_param = |name: &str, value: &str| {
        params.push((name.to_owned(), encode(value)));
    };
    protocol_param("oauth_consumer_key", &protocol.consumer_key);
    protocol_param("oauth_signature_method", &protocol.signature_method);
    protocol_param("oauth_timestamp", &protocol.timestamp.to_string());
    protocol_param("oauth_nonce", &protocol.nonce);
    if let Some(t) = &protocol.token {
        protocol_param("oauth_token", t.expose_secret());
    }
    if let Some(v) = &protocol.version {
        protocol_param("oauth_version", v);
    }
    if let Some(c) = &protocol.callback {
        protocol_param("oauth_callback", c);
    }
    if let Some(v) = &protocol.verifier {
        protocol_param("oauth_verifier", v.expose_secret());
    }
    params
}

/// HMAC-SHA1 of `base_string` keyed with `enc(consumer_secret)&enc(token_secret)`, in base64.
pub(crate) fn hmac_sha1_signature(
    base_string: &str,
    consumer_secret: &ConsumerSecret,
    token_secret: Option<&TokenSecret>,
) -> String {
    let key = format!(
        "{}&{}",
        encode(consumer_secret.expose_secret()),
        token_secret.map_or_else(String::new, |s| encode(s.expose_secret()))
    );
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(base_string.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the signature of `request`, received at `origin` (`scheme://host[:port]`, in
/// normal form), with the secrets the server holds for its consumer key and token.
///
/// Checking the timestamp window and nonce reuse is left to the caller, who owns the clock
/// and the nonce memory.
pub(crate) fn verify_request(
    request: &http::Request<Bytes>,
    origin: &str,
    consumer_secret: &ConsumerSecret,
    token_secret: Option<&TokenSecret>,
) -> Result<ProtocolParams, VerifyError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(VerifyError::MissingHeader)?;
    let protocol = parse_authorization(header)?;
    if protocol.signature_method != "HMAC-SHA1" {
        return Err(VerifyError::UnsupportedSignatureMethod {
            method: protocol.signature_method.clone(),
        });
    }
    let base_uri = format!("{origin}{}", request.uri().path());
    let base = signature_base_string(
        request.method().as_str(),
        &base_uri,
        &request_parameters(request, &protocol),
    );
    let expected = hmac_sha1_signature(&base, consumer_secret, token_secret);
    if bool::from(expected.as_bytes().ct_eq(protocol.signature.as_bytes())) {
        Ok(protocol)
    } else {
        Err(VerifyError::BadSignature)
    }
}
