//! No secret reaches `Debug` or `Display` of any type that holds one.

use std::time::SystemTime;

use crate::verify;
use bytes::Bytes;
use xdm_auth::oauth1::{
    ConsumerCredentials, OAuth1Authorizer, OAuth1Flow, RequestToken, TokenCredentials,
};
use xdm_auth::oauth2::{
    Bearer, BearerAuthorizer, LockedRefresh, OAuth2Client, PkceVerifier, RefreshOutcome,
    TokenAction, TokenManager, UserToken,
};
use xdm_auth::secret::{
    AccessToken, AuthorizationCode, ClientSecret, ConsumerSecret, RefreshToken, TokenSecret,
    Verifier,
};
use xdm_auth::{AuthorizeError, ResponseError};
use xdm_core::{Authorize, BaseUrl};

use crate::support::{at, response};

const SECRETS: [&str; 10] = [
    "S1-consumer-secret",
    "S2-token-secret",
    "S3-access-token",
    "S4-refresh-token",
    "S5-client-secret",
    "S6-authorization-code",
    "S7-oauth-verifier",
    "S8-request-token-secret",
    "S9pkceverifierxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "S10-new-access-token",
];

fn assert_hidden(what: &str, shown: &str) {
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{what} shows {secret}: {shown}");
    }
}

macro_rules! check_debug {
    ($($value:expr),* $(,)?) => {$(
        let value = &$value;
        assert_hidden(stringify!($value), &format!("{value:?} {value:#?}"));
    )*};
}

macro_rules! check_both {
    ($($value:expr),* $(,)?) => {$(
        let value = &$value;
        assert_hidden(stringify!($value), &format!("{value:?} {value:#?} {value}"));
    )*};
}

#[test]
fn secrets_never_show() {
    let [
        cs,
        ts,
        at_,
        rt,
        client_secret,
        code,
        verifier,
        req_secret,
        pkce,
        new_at,
    ] = SECRETS;

    check_both!(
        ConsumerSecret::new(cs),
        TokenSecret::new(ts),
        AccessToken::new(at_),
        RefreshToken::new(rt),
        ClientSecret::new(client_secret),
        AuthorizationCode::new(code),
        Verifier::new(verifier),
        PkceVerifier::parse(pkce).unwrap(),
    );

    let consumer = ConsumerCredentials::new("ck", cs);
    let token = TokenCredentials::new(at_, ts);
    let request_token = RequestToken {
        token: "public-request-token".into(),
        secret: TokenSecret::new(req_secret),
    };
    let flow = OAuth1Flow::new(consumer.clone());
    check_debug!(
        consumer,
        token,
        request_token,
        flow,
        OAuth1Authorizer::new(consumer.clone(), token.clone()),
        OAuth1Authorizer::with_fixed_nonce(consumer.clone(), token.clone(), "n", 1),
        flow.parse_access_token(&response(
            200,
            &format!("oauth_token={at_}&oauth_token_secret={ts}&user_id=1")
        ))
        .unwrap(),
    );

    // The server side's view of a signed request carrying a verifier.
    let signed = flow
        .access_token_request(&request_token, &Verifier::new(verifier), at(0))
        .unwrap();
    let header = signed.headers()["authorization"].to_str().unwrap();
    check_debug!(verify::parse_authorization(header).unwrap());
    check_debug!(signed.headers()["authorization"]);

    let user_token = UserToken::new(at_, at(0))
        .with_refresh_token(rt)
        .with_expires_at(at(7200));
    let client = OAuth2Client::confidential("id", client_secret, "http://127.0.0.1/cb")
        .with_api_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap());
    let pending = client.authorize_with(&[], PkceVerifier::parse(pkce).unwrap(), "st".into());
    check_debug!(
        user_token,
        Bearer::new(AccessToken::new(at_)),
        BearerAuthorizer::new(user_token.clone()),
        client,
        pending,
        client
            .refresh_request(&RefreshToken::new(rt))
            .headers()
            .clone(),
        client
            .exchange_code_request(&AuthorizationCode::new(code), pending.verifier())
            .headers()
            .clone(),
    );

    let manager = TokenManager::new(client.clone(), user_token.clone());
    check_debug!(manager);
    let TokenAction::Refresh(ticket) = manager.poll_token(at(7200)) else {
        panic!()
    };
    let wait = manager.poll_token(at(7200));
    check_debug!(ticket, wait);
    let bearer = ticket
        .handle_response(
            &response(
                200,
                &format!(r#"{{"token_type":"bearer","access_token":"{new_at}"}}"#),
            ),
            at(7200),
        )
        .unwrap();
    check_debug!(bearer, manager, RefreshOutcome::Refreshed(bearer.clone()));

    // Errors built from secret-bearing inputs.
    let broken = BearerAuthorizer::new(UserToken::new(format!("{at_}\n"), at(0)));
    let mut r = http::Request::get("https://api.x.com/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    check_both!(broken.authorize(&mut r, at(0)).unwrap_err());
    check_both!(
        BearerAuthorizer::new(user_token.clone())
            .authorize(&mut r, at(9999))
            .unwrap_err()
    );
    let mut r = http::Request::get(format!("https://api.x.com/2/x?oauth_token={at_}"))
        .body(Bytes::new())
        .unwrap();
    let e = OAuth1Authorizer::new(consumer.clone(), token.clone())
        .authorize(&mut r, at(0))
        .unwrap_err();
    assert!(matches!(e, AuthorizeError::ReservedParameter { .. }));
    check_both!(e);
    let e = OAuth1Authorizer::new(consumer, token)
        .authorize(&mut r, SystemTime::UNIX_EPOCH)
        .unwrap_err();
    check_both!(e);
    for body in [
        format!(r#"{{"token_type":"{at_}","access_token":"{at_}"}}"#),
        format!(r#"{{"token_type":"bearer","access_token":"{at_}","expires_in":"{rt}"}}"#),
        format!(r#"{{"access_token":"{at_}"#),
    ] {
        let e = client
            .parse_token_response(&response(200, &body), at(0))
            .unwrap_err();
        assert!(matches!(e, ResponseError::Malformed { .. }));
        check_both!(e);
    }
    let e = client
        .parse_token_response(
            &response(
                400,
                &format!(r#"{{"error":"invalid_grant","refresh":"{rt}"}}"#),
            ),
            at(0),
        )
        .unwrap_err();
    check_both!(e);
    let e = pending
        .handle_callback(&format!("state=wrong&code={code}"))
        .unwrap_err();
    check_both!(e);
    let e = flow
        .parse_callback(
            &request_token,
            &format!("oauth_token=other&oauth_verifier={verifier}"),
        )
        .unwrap_err();
    check_both!(e);
    let e = flow
        .parse_request_token(&response(200, &format!("oauth_token_secret={req_secret}")))
        .unwrap_err();
    check_both!(e);
    let e = verify::verify_request(
        &signed,
        "http://wrong.example",
        &ConsumerSecret::new(cs),
        Some(&TokenSecret::new(req_secret)),
    )
    .unwrap_err();
    check_both!(e);

    // The steps of a refresh shared through a store: the ticket, what it resumes to, and a
    // refused refresh's error.
    let m = TokenManager::new(client.clone(), user_token);
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let step = ticket.resume_from(None, at(7200));
    assert!(matches!(step, LockedRefresh::Send(_)));
    check_debug!(step);
    let LockedRefresh::Send(ticket) = step else {
        panic!()
    };
    let parsed = ticket.parse(
        &response(
            400,
            r#"{"error":"invalid_grant","error_description":"bad"}"#,
        ),
        at(7200),
    );
    let e = ticket.complete(parsed).unwrap_err();
    check_both!(e);
}
