//! The OAuth response and callback parsers of `xdm-auth`, on arbitrary bytes.
#![no_main]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use xdm_auth::oauth1::{ConsumerCredentials, Oauth1Flow};
use xdm_auth::oauth2::OAuth2Client;

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 201, 400, 401, 403, 500][usize::from(*head) % 6];
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = http::StatusCode::from_u16(status).expect("valid");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let oauth2 = OAuth2Client::public("client", "http://127.0.0.1:1/cb");
    let _ = oauth2.parse_token_response(&response, now);
    let _ = oauth2.parse_revoke_response(&response);
    let flow = Oauth1Flow::new(ConsumerCredentials::new("ck", "cs"));
    let _ = flow.parse_request_token(&response);
    let _ = flow.parse_access_token(&response);
    if let Ok(text) = std::str::from_utf8(body) {
        if let Ok(pending) = oauth2.authorize(&[]) {
            let _ = pending.handle_callback(text);
        }
    }
});
