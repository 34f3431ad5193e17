//! Which credential each endpoint takes: the app's Bearer token for the stream, webhooks and
//! subscription management, a user token (with `dm.read`) for creating `dm.*` subscriptions and
//! for every DM endpoint. Each authorizer refuses the wrong kind before anything is sent.

use bytes::Bytes;
use http::Method;
use xdm_auth::AppBearerAuthorizer;
use xdm_auth::AuthorizeError;
use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Authorizer, TokenCredentials};
use xdm_auth::oauth2::{BearerAuthorizer, OAuth2Client, TokenManager, UserToken};
use xdm_core::endpoints::{
    ConnectStream, CreateSubscription, DeleteSubscription, ListEvents, ListSubscriptions,
    ListWebhooks, SubscriptionEventType,
};
use xdm_core::ids::{SubscriptionId, UserId};
use xdm_core::{Authorize, Endpoint, RequestContext, Scope};

use crate::support::at;

const APP_SECRET: &str = "AAAA-app-bearer-secret-value";
const USER_SECRET: &str = "user-access-token-secret";

fn build<E: Endpoint>(endpoint: &E) -> http::Request<Bytes> {
    endpoint.build_request(&RequestContext::default()).unwrap()
}

fn app_requests() -> Vec<http::Request<Bytes>> {
    vec![
        build(&ConnectStream::new()),
        build(&ListSubscriptions::new()),
        build(&DeleteSubscription::new(
            SubscriptionId::parse("7").unwrap(),
        )),
        build(&ListWebhooks::new()),
    ]
}

fn create_dm_subscription() -> http::Request<Bytes> {
    let user = UserId::parse("1111111111111111111").unwrap();
    build(&CreateSubscription::for_user(SubscriptionEventType::DmReceived, user).unwrap())
}

fn user_token(scopes: &[Scope]) -> UserToken {
    UserToken::new(USER_SECRET, at(0))
        .with_expires_at(at(7200))
        .with_scopes(scopes.iter().cloned())
}

const DM_SCOPES: [Scope; 3] = [Scope::DmRead, Scope::TweetRead, Scope::UsersRead];

fn user_authorizers(
    scopes: &[Scope],
) -> Vec<(&'static str, Box<dyn Authorize<Error = AuthorizeError>>)> {
    let client = OAuth2Client::public("client-id", "http://127.0.0.1/callback");
    vec![
        (
            "bearer",
            Box::new(BearerAuthorizer::new(user_token(scopes))),
        ),
        (
            "manager",
            Box::new(TokenManager::new(client, user_token(scopes))),
        ),
        (
            "oauth1",
            Box::new(OAuth1Authorizer::new(
                ConsumerCredentials::new("consumer-key", "consumer-secret"),
                TokenCredentials::new(USER_SECRET, "token-secret"),
            )),
        ),
    ]
}

#[test]
fn user_tokens_are_refused_on_app_only_endpoints() {
    for (name, authorizer) in user_authorizers(&DM_SCOPES) {
        for mut request in app_requests() {
            let path = request.uri().path().to_owned();
            let method = request.method().clone();
            let e = authorizer.authorize(&mut request, at(1)).unwrap_err();
            let AuthorizeError::NeedsAppBearer {
                method: m,
                endpoint,
            } = &e
            else {
                panic!("{name} {path}: {e:?}")
            };
            assert_eq!(m, method);
            assert!(endpoint.starts_with("/2/"));
            assert!(request.headers().get("authorization").is_none(), "{name}");
            assert!(!e.to_string().contains(USER_SECRET));
        }
    }
    let mut stream = build(&ConnectStream::new());
    let e = BearerAuthorizer::new(user_token(&DM_SCOPES))
        .authorize(&mut stream, at(1))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /2/activity/stream needs the app's Bearer token, not a user token"
    );
}

#[test]
fn the_app_bearer_is_refused_on_user_endpoints() {
    let app = AppBearerAuthorizer::new(APP_SECRET);
    for mut request in [create_dm_subscription(), build(&ListEvents::new())] {
        let e = app.authorize(&mut request, at(1)).unwrap_err();
        assert!(matches!(e, AuthorizeError::NeedsUserToken { .. }), "{e:?}");
        assert!(request.headers().get("authorization").is_none());
        assert!(!e.to_string().contains(APP_SECRET));
    }
    let mut create = create_dm_subscription();
    assert_eq!(
        app.authorize(&mut create, at(1)).unwrap_err().to_string(),
        "POST /2/activity/subscriptions needs a user's token (OAuth 2.0 user context or \
         OAuth 1.0a), not the app's Bearer token"
    );
}

#[test]
fn the_app_bearer_authorizes_app_only_endpoints() {
    let app = AppBearerAuthorizer::new(APP_SECRET);
    assert_eq!(app.token().expose_secret(), APP_SECRET);
    for mut request in app_requests() {
        app.authorize(&mut request, at(1)).unwrap();
        let header = &request.headers()["authorization"];
        assert_eq!(header, &format!("Bearer {APP_SECRET}"));
        assert!(header.is_sensitive());
    }
    // A bare request says nothing about what it needs: it gets the header.
    let mut bare = http::Request::new(Bytes::new());
    app.authorize(&mut bare, at(1)).unwrap();
    assert!(bare.headers().contains_key("authorization"));
}

#[test]
fn a_dm_subscription_needs_dm_read_before_any_request() {
    let without = [Scope::TweetRead, Scope::UsersRead, Scope::DmWrite];
    for authorizer in [
        Box::new(BearerAuthorizer::new(user_token(&without))) as Box<dyn Authorize<Error = _>>,
        Box::new(TokenManager::new(
            OAuth2Client::public("client-id", "http://127.0.0.1/callback"),
            user_token(&without),
        )),
    ] {
        let mut request = create_dm_subscription();
        let e = authorizer.authorize(&mut request, at(1)).unwrap_err();
        assert_eq!(
            e,
            AuthorizeError::MissingScopes {
                method: Method::POST,
                endpoint: "/2/activity/subscriptions",
                missing: vec![Scope::DmRead],
            }
        );
        assert!(e.to_string().contains("dm.read"));
        assert!(request.headers().get("authorization").is_none());
    }
    // With dm.read (and the scopes every DM token carries), the create goes out.
    for (name, authorizer) in user_authorizers(&DM_SCOPES) {
        let mut request = create_dm_subscription();
        authorizer
            .authorize(&mut request, at(1))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(request.headers().contains_key("authorization"), "{name}");
    }
}

#[test]
fn the_app_secret_never_shows() {
    let app = AppBearerAuthorizer::new(APP_SECRET);
    for shown in [
        format!("{app:?}"),
        format!("{:?}", app.token()),
        app.token().to_string(),
    ] {
        assert!(!shown.contains(APP_SECRET), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
    let broken = AppBearerAuthorizer::new("line\nbreak-secret");
    let mut request = build(&ConnectStream::new());
    let e = broken.authorize(&mut request, at(1)).unwrap_err();
    assert_eq!(e, AuthorizeError::InvalidHeaderValue);
    assert!(!e.to_string().contains("break-secret"));
    assert!(!format!("{e:?}").contains("break-secret"));
    assert!(!format!("{request:?}").contains("break-secret"));
}
