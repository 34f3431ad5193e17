//! The three-legged OAuth 1.0a flow against a tiny fake server built on `verify`.

use crate::verify;
use bytes::Bytes;
use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Flow, RequestToken};
use xdm_auth::secret::{ConsumerSecret, TokenSecret, Verifier};
use xdm_auth::{CallbackError, OAuthErrorCode, ResponseError};
use xdm_core::{Authorize, BaseUrl};

use crate::support::{at, response};

const CONSUMER_SECRET: &str = "consumer-secret";
const REQUEST_SECRET: &str = "request-token-secret";
const ACCESS_SECRET: &str = "access-token-secret";
const ORIGIN: &str = "http://127.0.0.1:4000";

fn flow() -> OAuth1Flow {
    OAuth1Flow::new(ConsumerCredentials::new("consumer-key", CONSUMER_SECRET))
        .with_base_url(BaseUrl::parse(ORIGIN).unwrap())
}

fn request_token() -> RequestToken {
    RequestToken {
        token: "req-token".into(),
        secret: TokenSecret::new(REQUEST_SECRET),
    }
}

#[test]
fn full_flow_signs_api_calls_with_the_access_token_secret() {
    let flow = flow();
    let consumer = ConsumerSecret::new(CONSUMER_SECRET);

    // Leg 1: the server checks the consumer signature and the callback.
    let request = flow
        .request_token_request("http://127.0.0.1:8765/cb", at(0))
        .unwrap();
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri(), "http://127.0.0.1:4000/oauth/request_token");
    let protocol = verify::verify_request(&request, ORIGIN, &consumer, None).unwrap();
    assert_eq!(
        protocol.callback.as_deref(),
        Some("http://127.0.0.1:8765/cb")
    );
    assert!(protocol.token.is_none());
    let token = flow
        .parse_request_token(&response(
            200,
            &format!("oauth_token=req-token&oauth_token_secret={REQUEST_SECRET}&oauth_callback_confirmed=true"),
        ))
        .unwrap();
    assert_eq!(token, request_token());

    // Leg 2.
    assert_eq!(
        flow.authorize_url(&token),
        "http://127.0.0.1:4000/oauth/authorize?oauth_token=req-token"
    );
    let verifier = flow
        .parse_callback(
            &token,
            "http://127.0.0.1:8765/cb?oauth_token=req-token&oauth_verifier=v123",
        )
        .unwrap();
    assert_eq!(verifier.expose_secret(), "v123");

    // Leg 3: signed with the request token and its secret, carrying the verifier.
    let request = flow.access_token_request(&token, &verifier, at(1)).unwrap();
    assert_eq!(request.uri(), "http://127.0.0.1:4000/oauth/access_token");
    let protocol = verify::verify_request(
        &request,
        ORIGIN,
        &consumer,
        Some(&TokenSecret::new(REQUEST_SECRET)),
    )
    .unwrap();
    assert_eq!(protocol.verifier, Some(Verifier::new("v123")));
    assert_eq!(protocol.token.unwrap().expose_secret(), "req-token");
    let access = flow
        .parse_access_token(&response(
            200,
            &format!("oauth_token=acc-token&oauth_token_secret={ACCESS_SECRET}&user_id=42&screen_name=alice"),
        ))
        .unwrap();
    assert_eq!(access.user_id.as_deref(), Some("42"));
    assert_eq!(access.screen_name.as_deref(), Some("alice"));

    // API calls: the access token's secret signs, the request token's does not.
    let authorizer = flow.authorizer(access.credentials);
    let mut call = http::Request::get("http://127.0.0.1:4000/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    authorizer.authorize(&mut call, at(2)).unwrap();
    let protocol = verify::verify_request(
        &call,
        ORIGIN,
        &consumer,
        Some(&TokenSecret::new(ACCESS_SECRET)),
    )
    .unwrap();
    assert_eq!(protocol.token.unwrap().expose_secret(), "acc-token");
    assert_eq!(
        verify::verify_request(
            &call,
            ORIGIN,
            &consumer,
            Some(&TokenSecret::new(REQUEST_SECRET))
        ),
        Err(verify::VerifyError::BadSignature)
    );
}

#[test]
fn fixed_nonce_flow_is_reproducible() {
    let flow = flow().with_fixed_nonce("n0nce", 1_700_000_000);
    let a = flow.request_token_request("oob", at(0)).unwrap();
    let b = flow.request_token_request("oob", at(99)).unwrap();
    assert_eq!(a.headers()["authorization"], b.headers()["authorization"]);
    let err = flow.request_token_request("oob", std::time::SystemTime::UNIX_EPOCH);
    assert!(err.is_ok(), "a fixed timestamp does not read the clock");
    let unfixed = self::flow().request_token_request("oob", std::time::SystemTime::UNIX_EPOCH);
    assert_eq!(
        unfixed.unwrap_err(),
        xdm_auth::AuthorizeError::ClockBeforeEpoch
    );
    let unfixed = self::flow().access_token_request(
        &request_token(),
        &Verifier::new("v"),
        std::time::SystemTime::UNIX_EPOCH,
    );
    assert_eq!(
        unfixed.unwrap_err(),
        xdm_auth::AuthorizeError::ClockBeforeEpoch
    );
}

#[test]
fn response_errors() {
    let flow = flow();
    assert_eq!(
        flow.parse_request_token(&response(
            200,
            "oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=false"
        )),
        Err(ResponseError::CallbackNotConfirmed)
    );
    assert_eq!(
        flow.parse_request_token(&response(
            200,
            "oauth_token=a&oauth_callback_confirmed=true"
        )),
        Err(ResponseError::Malformed {
            reason: "the response has no `oauth_token_secret`".into()
        })
    );
    assert_eq!(
        flow.parse_request_token(&response(401, r#"{"errors":[{"code":32}]}"#)),
        Err(ResponseError::Status { status: 401 })
    );
    assert_eq!(
        flow.parse_access_token(&response(200, "oauth_token=&oauth_token_secret=b")),
        Err(ResponseError::Malformed {
            reason: "the response has no `oauth_token`".into()
        })
    );
    assert_eq!(
        flow.parse_access_token(&response(403, "")),
        Err(ResponseError::Status { status: 403 })
    );
}

#[test]
fn callback_errors() {
    let flow = flow();
    let token = request_token();
    assert_eq!(
        flow.parse_callback(&token, "http://127.0.0.1/cb?denied=req-token"),
        Err(CallbackError::Denied {
            error: OAuthErrorCode::AccessDenied,
            description: None
        })
    );
    assert_eq!(
        flow.parse_callback(&token, "oauth_token=other&oauth_verifier=v"),
        Err(CallbackError::TokenMismatch)
    );
    assert_eq!(
        flow.parse_callback(&token, "oauth_verifier=v"),
        Err(CallbackError::MissingParameter {
            name: "oauth_token"
        })
    );
    assert_eq!(
        flow.parse_callback(&token, "oauth_token=req-token"),
        Err(CallbackError::MissingParameter {
            name: "oauth_verifier"
        })
    );
}
