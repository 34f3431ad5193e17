//! Helpers shared by the test modules.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use xdm_auth::oauth2::{OAuth2Client, UserToken};
use xdm_core::BaseUrl;

/// A fake clock reading: `secs` after 2023-11-14T22:13:20Z.
pub(crate) fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

/// HMAC-SHA1 in base64, computed without any of the crate's code.
pub(crate) fn reference_hmac(key: &str, base_string: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(base_string.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn response(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

pub(crate) fn token_response(
    access: &str,
    refresh: &str,
    expires_in: u64,
) -> http::Response<Bytes> {
    response(
        200,
        &format!(
            r#"{{"token_type":"bearer","expires_in":{expires_in},"access_token":"{access}","refresh_token":"{refresh}","scope":"dm.read tweet.read users.read offline.access"}}"#
        ),
    )
}

pub(crate) fn client() -> OAuth2Client {
    OAuth2Client::public("client-id", "http://127.0.0.1:8765/cb")
        .with_api_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap())
}

/// A token issued at `at(0)`, expiring at `at(7200)`.
pub(crate) fn token(access: &str, refresh: &str) -> UserToken {
    UserToken::new(access, at(0))
        .with_refresh_token(refresh)
        .with_expires_at(at(7200))
}

/// The `refresh_token` field of a refresh request's body.
pub(crate) fn refresh_token_sent(request: &http::Request<Bytes>) -> String {
    let body = std::str::from_utf8(request.body()).unwrap();
    body.split('&')
        .find_map(|kv| kv.strip_prefix("refresh_token="))
        .unwrap()
        .to_owned()
}
