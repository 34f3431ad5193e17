//! OAuth 2.0: authorization URL, callback, token endpoint requests and their parsers.

use bytes::Bytes;
use http::Method;
use xdm_auth::oauth2::{BearerAuthorizer, OAuth2Client, PkceVerifier, RevocableToken, UserToken};
use xdm_auth::secret::{AccessToken, AuthorizationCode, RefreshToken};
use xdm_auth::{AuthorizeError, CallbackError, OAuthError, OAuthErrorCode, ResponseError};
use xdm_core::{Authorize, BaseUrl, Delivery, EndpointGroup, EndpointInfo, Scope};

use crate::support::{at, response};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn body(request: &http::Request<Bytes>) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}

#[test]
fn authorize_url_carries_every_parameter() {
    let client = OAuth2Client::public("my-id", "http://127.0.0.1:8765/cb");
    let pending = client.authorize_with(
        &[Scope::DmRead, Scope::DmWrite, Scope::OfflineAccess],
        PkceVerifier::parse(VERIFIER).unwrap(),
        "st4te".into(),
    );
    assert_eq!(
        pending.url(),
        "https://x.com/i/oauth2/authorize?response_type=code&client_id=my-id\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcb&scope=dm.read%20dm.write%20offline.access\
         &state=st4te&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256"
    );
    let custom = client
        .with_authorize_url(BaseUrl::parse("http://127.0.0.1:4000/i/oauth2/authorize").unwrap())
        .authorize(&[Scope::DmRead])
        .unwrap();
    assert!(
        custom
            .url()
            .starts_with("http://127.0.0.1:4000/i/oauth2/authorize?response_type=code&")
    );
    assert!(
        custom
            .url()
            .contains(&format!("&state={}&", custom.state()))
    );
    assert!(custom.url().contains(&format!(
        "code_challenge={}&",
        custom.verifier().challenge()
    )));
}

#[test]
fn callback_checks_state() {
    let client = OAuth2Client::public("id", "http://127.0.0.1/cb");
    let pending = client.authorize_with(&[], PkceVerifier::parse(VERIFIER).unwrap(), "abc".into());
    let code = pending
        .handle_callback("http://127.0.0.1/cb?state=abc&code=C0DE")
        .unwrap();
    assert_eq!(code.expose_secret(), "C0DE");
    assert_eq!(
        pending.handle_callback("http://127.0.0.1/cb?state=abd&code=C0DE"),
        Err(CallbackError::StateMismatch)
    );
    assert_eq!(
        pending.handle_callback("code=C0DE"),
        Err(CallbackError::MissingParameter { name: "state" })
    );
    assert_eq!(
        pending.handle_callback("state=abc"),
        Err(CallbackError::MissingParameter { name: "code" })
    );
    assert_eq!(
        pending.handle_callback("state=abc&error=access_denied&error_description=User+said+no"),
        Err(CallbackError::Denied {
            error: OAuthErrorCode::AccessDenied,
            description: Some("User said no".into())
        })
    );
    // An error with a forged state is a forgery first.
    assert_eq!(
        pending.handle_callback("state=zzz&error=access_denied"),
        Err(CallbackError::StateMismatch)
    );
}

#[test]
fn public_client_requests() {
    let client = OAuth2Client::public("my-id", "http://127.0.0.1:8765/cb")
        .with_api_base_url(BaseUrl::parse("http://127.0.0.1:4000").unwrap());
    let verifier = PkceVerifier::parse(VERIFIER).unwrap();
    let r = client.exchange_code_request(&AuthorizationCode::new("c+d"), &verifier);
    assert_eq!(r.method(), Method::POST);
    assert_eq!(r.uri(), "http://127.0.0.1:4000/2/oauth2/token");
    assert_eq!(
        r.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(r.headers().get("authorization").is_none());
    assert_eq!(
        body(&r),
        format!(
            "grant_type=authorization_code&code=c%2Bd&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcb\
             &code_verifier={VERIFIER}&client_id=my-id"
        )
    );
    let r = client.refresh_request(&RefreshToken::new("RT"));
    assert_eq!(
        body(&r),
        "grant_type=refresh_token&refresh_token=RT&client_id=my-id"
    );
    let r = client.revoke_request(RevocableToken::Access(&AccessToken::new("AT")));
    assert_eq!(r.uri(), "http://127.0.0.1:4000/2/oauth2/revoke");
    assert_eq!(
        body(&r),
        "token=AT&token_type_hint=access_token&client_id=my-id"
    );
    let r = client.revoke_request(RevocableToken::Refresh(&RefreshToken::new("RT")));
    assert_eq!(
        body(&r),
        "token=RT&token_type_hint=refresh_token&client_id=my-id"
    );
    assert_eq!(client.client_id(), "my-id");
}

#[test]
fn confidential_client_uses_basic_auth() {
    let client = OAuth2Client::confidential("my-id", "my:secret", "http://127.0.0.1/cb");
    let r = client.refresh_request(&RefreshToken::new("RT"));
    assert_eq!(r.uri(), "https://api.x.com/2/oauth2/token");
    assert_eq!(body(&r), "grant_type=refresh_token&refresh_token=RT");
    let auth = &r.headers()["authorization"];
    assert!(auth.is_sensitive());
    // base64("my-id:my%3Asecret")
    assert_eq!(auth, "Basic bXktaWQ6bXklM0FzZWNyZXQ=");
}

#[test]
fn token_responses() {
    let client = OAuth2Client::public("id", "http://127.0.0.1/cb");
    let token = client
        .parse_token_response(
            &response(
                200,
                r#"{"token_type":"bearer","expires_in":7200,"access_token":"AT","scope":"dm.read tweet.read like.read","refresh_token":"RT"}"#,
            ),
            at(10),
        )
        .unwrap();
    assert_eq!(token.access_token().expose_secret(), "AT");
    assert_eq!(token.refresh_token().unwrap().expose_secret(), "RT");
    assert_eq!(token.expires_at(), Some(at(7210)));
    assert_eq!(token.issued_at(), at(10));
    assert_eq!(
        token.scopes().unwrap(),
        &[
            Scope::DmRead,
            Scope::TweetRead,
            Scope::Other("like.read".into())
        ]
    );

    let minimal = client
        .parse_token_response(
            &response(200, r#"{"token_type":"Bearer","access_token":"AT"}"#),
            at(0),
        )
        .unwrap();
    assert_eq!(minimal.expires_at(), None);
    assert!(minimal.refresh_token().is_none());
    assert!(minimal.scopes().is_none());
    assert!(!minimal.is_expired(at(1_000_000)));

    let malformed = [
        (
            r#"{"token_type":"mac","access_token":"SECRET-AT"}"#,
            "token_type is not `bearer`",
        ),
        (
            r#"{"token_type":"bearer","access_token":""}"#,
            "access_token is empty",
        ),
        (r#"{"token_type":"bearer"}"#, "lacks a field"),
        (
            r#"{"token_type":"bearer","access_token":"SECRET-AT","expires_in":"SECRET-AT"}"#,
            "lacks a field",
        ),
        (r#"{"access_token":"SECRET-AT""#, "not valid JSON"),
    ];
    for (body, expected) in malformed {
        let e = client
            .parse_token_response(&response(200, body), at(0))
            .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ResponseError::Malformed { .. }), "{body}");
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("SECRET-AT"), "{text}");
    }
}

#[test]
fn oauth_error_responses_are_typed() {
    let client = OAuth2Client::public("id", "http://127.0.0.1/cb");
    for (code, expected) in [
        ("invalid_grant", OAuthErrorCode::InvalidGrant),
        ("invalid_client", OAuthErrorCode::InvalidClient),
        ("invalid_request", OAuthErrorCode::InvalidRequest),
        ("unauthorized_client", OAuthErrorCode::UnauthorizedClient),
        (
            "unsupported_grant_type",
            OAuthErrorCode::UnsupportedGrantType,
        ),
        ("invalid_scope", OAuthErrorCode::InvalidScope),
        (
            "brand_new_code",
            OAuthErrorCode::Other("brand_new_code".into()),
        ),
    ] {
        let body =
            format!(r#"{{"error":"{code}","error_description":"Value passed was invalid."}}"#);
        let e = client
            .parse_token_response(&response(400, &body), at(0))
            .unwrap_err();
        assert_eq!(
            e,
            ResponseError::OAuth(
                OAuthError::new(400, expected).with_description("Value passed was invalid.")
            )
        );
    }
    assert_eq!(
        client.parse_token_response(&response(503, "<html>down</html>"), at(0)),
        Err(ResponseError::Status { status: 503 })
    );
}

#[test]
fn revoke_responses() {
    let client = OAuth2Client::public("id", "http://127.0.0.1/cb");
    client
        .parse_revoke_response(&response(200, r#"{"revoked":true}"#))
        .unwrap();
    client.parse_revoke_response(&response(200, "")).unwrap();
    assert_eq!(
        client.parse_revoke_response(&response(200, r#"{"revoked":false}"#)),
        Err(ResponseError::Malformed {
            reason: "X answered `revoked: false`".into()
        })
    );
    assert!(matches!(
        client.parse_revoke_response(&response(200, "nope")),
        Err(ResponseError::Malformed { .. })
    ));
    assert!(matches!(
        client.parse_revoke_response(&response(401, r#"{"error":"invalid_client"}"#)),
        Err(ResponseError::OAuth(OAuthError {
            code: OAuthErrorCode::InvalidClient,
            ..
        }))
    ));
}

fn dm_request(scopes: &'static [Scope]) -> http::Request<Bytes> {
    http::Request::post("https://api.x.com/2/dm_conversations/with/1/messages")
        .extension(EndpointInfo::new(
            Method::POST,
            "/2/dm_conversations/with/{participant_id}/messages",
            EndpointGroup::SendMessage,
            scopes,
            Delivery::AtMostOnce,
        ))
        .body(Bytes::new())
        .unwrap()
}

#[test]
fn bearer_authorizer() {
    let token = UserToken::new("AT", at(0))
        .with_expires_at(at(100))
        .with_scopes([Scope::DmRead, Scope::TweetRead, Scope::UsersRead]);
    let authorizer = BearerAuthorizer::new(token.clone());
    assert_eq!(authorizer.token(), &token);

    let mut r = dm_request(&[Scope::DmRead]);
    authorizer.authorize(&mut r, at(50)).unwrap();
    assert_eq!(r.headers()["authorization"], "Bearer AT");
    assert!(r.headers()["authorization"].is_sensitive());

    let mut r = dm_request(&[Scope::DmRead]);
    assert_eq!(
        authorizer.authorize(&mut r, at(100)),
        Err(AuthorizeError::TokenExpired)
    );

    let mut r = dm_request(&[Scope::DmRead, Scope::DmWrite, Scope::MediaWrite]);
    let e = authorizer.authorize(&mut r, at(50)).unwrap_err();
    assert_eq!(
        e,
        AuthorizeError::MissingScopes {
            method: Method::POST,
            endpoint: "/2/dm_conversations/with/{participant_id}/messages",
            missing: vec![Scope::DmWrite, Scope::MediaWrite],
        }
    );
    assert!(e.to_string().contains("dm.write, media.write"));
    assert!(r.headers().get("authorization").is_none());

    // Unknown scopes: the request goes and X decides.
    let unknown = BearerAuthorizer::new(UserToken::new("AT", at(0)));
    let mut r = dm_request(&[Scope::DmWrite]);
    unknown.authorize(&mut r, at(1_000_000)).unwrap();

    let broken = BearerAuthorizer::new(UserToken::new("AT\nInjected: 1", at(0)));
    let mut r = dm_request(&[]);
    assert_eq!(
        broken.authorize(&mut r, at(0)),
        Err(AuthorizeError::InvalidHeaderValue)
    );
}

fn token_with_lifetime(expires_in: u64) -> Result<UserToken, ResponseError> {
    let client = OAuth2Client::public("id", "http://127.0.0.1:1/cb");
    client.parse_token_response(
        &response(
            200,
            &format!(r#"{{"token_type":"bearer","access_token":"AT","expires_in":{expires_in}}}"#),
        ),
        at(0),
    )
}

#[test]
fn an_absurd_lifetime_is_capped() {
    use xdm_auth::oauth2::MAX_TOKEN_LIFETIME;
    let t = token_with_lifetime(u64::MAX).unwrap();
    assert_eq!(t.expires_at(), Some(at(0) + MAX_TOKEN_LIFETIME));
    let t = token_with_lifetime(7200).unwrap();
    assert_eq!(t.expires_at(), Some(at(7200)));
}

proptest::proptest! {
    #[test]
    fn any_lifetime_parses_without_panicking(expires_in in proptest::prelude::any::<u64>()) {
        use xdm_auth::oauth2::MAX_TOKEN_LIFETIME;
        let t = token_with_lifetime(expires_in).unwrap();
        let lifetime = t.expires_at().unwrap().duration_since(at(0)).unwrap();
        let expected = std::time::Duration::from_secs(expires_in).min(MAX_TOKEN_LIFETIME);
        proptest::prop_assert_eq!(lifetime, expected);
    }
}
