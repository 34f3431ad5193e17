//! What the tests share: a real `redis-server` of their own (`xdm_redis::testing`), the emulator, and OAuth 2.0
//! token families obtained through the emulator's authorization flow.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use xdm_auth::oauth2::{OAuth2Client, UserToken};
use xdm_core::{BaseUrl, Scope};
use xdm_emulator::{Emulator, RateLimits};
use xdm_hyper::{HyperTransport, TokioClock};
pub(crate) use xdm_redis::testing::{RedisServer, free_port};
use xdm_redis::{AccountId, Fleet, Redis, RedisOptions};

/// The redirect URI the tests authorize with; nothing listens there.
pub(crate) const REDIRECT: &str = "http://127.0.0.1/callback";

/// Connects with a prefix of its own and short timeouts, so that a stopped server is noticed
/// quickly.
pub(crate) async fn connect(server: &RedisServer) -> Redis {
    connect_url(&server.url()).await
}

/// [`connect`], by URL.
pub(crate) async fn connect_url(url: &str) -> Redis {
    let options = RedisOptions::default()
        .with_prefix("test")
        .with_timeouts(Duration::from_millis(500), Duration::from_millis(500));
    Redis::connect_with(url, options)
        .await
        .expect("the test's redis-server answers")
}

/// What most tests start from: a Redis of their own, an emulator with `limits`, the
/// emulator's URL and OAuth 2.0 client id, and a connection to the Redis.
pub(crate) async fn world(limits: RateLimits) -> (RedisServer, Emulator, String, String, Redis) {
    let server = RedisServer::start();
    let emulator = emulator(limits).await;
    let url = emulator.base_url().to_owned();
    let client_id = emulator.credentials().oauth2.client_id.clone();
    let redis = connect(&server).await;
    (server, emulator, url, client_id, redis)
}

/// An emulator with the given limits.
pub(crate) async fn emulator(limits: RateLimits) -> Emulator {
    Emulator::builder()
        .rate_limits(limits)
        .start()
        .await
        .expect("the emulator starts")
}

/// The emulator's API root.
pub(crate) fn base_url(emulator_url: &str) -> BaseUrl {
    BaseUrl::parse(emulator_url).expect("the emulator's URL is an API root")
}

/// The public OAuth 2.0 client of the emulator's app, sending token requests to it.
pub(crate) fn oauth_client(client_id: &str, emulator_url: &str) -> OAuth2Client {
    OAuth2Client::public(client_id, REDIRECT).with_api_base_url(base_url(emulator_url))
}

/// A plain transport.
pub(crate) fn transport() -> HyperTransport {
    HyperTransport::builder().build().expect("a transport")
}

/// A fleet over `redis` and the emulator at `url`.
pub(crate) fn fleet(
    redis: &Redis,
    client_id: &str,
    url: &str,
) -> Fleet<HyperTransport, TokioClock> {
    Fleet::builder(redis, transport(), TokioClock, oauth_client(client_id, url))
        .base_url(base_url(url))
        .build()
}

/// A new token family for the emulator's "me" (its authorization flow approves at once),
/// already expired, so that its first use refreshes it.
pub(crate) async fn expired_token(url: &str, client_id: &str) -> UserToken {
    let transport = transport();
    let verifier = "v".repeat(43);
    let authorize = format!(
        "{url}/i/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
         &scope=dm.read%20dm.write%20tweet.read%20users.read%20offline.access&state=s\
         &code_challenge={verifier}&code_challenge_method=plain",
        percent(REDIRECT)
    );
    let request = http::Request::get(authorize).body(Bytes::new()).unwrap();
    let response = transport.send(request).await.expect("authorize answers");
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .expect("authorize redirects");
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("the redirect carries a code")
        .to_owned();
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}\
         &client_id={client_id}",
        percent(REDIRECT)
    );
    let request = http::Request::post(format!("{url}/2/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(form))
        .unwrap();
    let response = transport
        .send(request)
        .await
        .expect("the token endpoint answers");
    assert_eq!(response.status(), 200, "the code is exchanged");
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let issued = SystemTime::now() - Duration::from_secs(3 * 3600);
    UserToken::new(body["access_token"].as_str().unwrap().to_owned(), issued)
        .with_refresh_token(body["refresh_token"].as_str().unwrap().to_owned())
        .with_expires_at(issued + Duration::from_secs(3600))
        .with_scopes(
            [
                "dm.read",
                "dm.write",
                "tweet.read",
                "users.read",
                "offline.access",
            ]
            .iter()
            .map(|s| Scope::parse(s)),
        )
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The account names `acct-0` .. `acct-{n-1}`.
pub(crate) fn accounts(n: usize) -> Vec<AccountId> {
    (0..n)
        .map(|i| AccountId::new(format!("acct-{i}")).unwrap())
        .collect()
}

/// What the emulator saw at its token endpoint after the authorization codes were
/// exchanged: (refreshes granted, refreshes refused). A refresh is refused only for a refresh
/// token that is not live, which in these tests means one already spent.
pub(crate) fn refreshes(emulator: &Emulator, codes: usize) -> (usize, usize) {
    let statuses: Vec<Option<u16>> = emulator
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/2/oauth2/token")
        .map(|r| r.status)
        .skip(codes)
        .collect();
    let granted = statuses.iter().filter(|s| **s == Some(200)).count();
    (granted, statuses.len() - granted)
}

/// The calls of a group that reached the emulator, by status.
pub(crate) fn statuses(emulator: &Emulator, path: &str) -> Vec<Option<u16>> {
    emulator
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.status)
        .collect()
}

/// A connection of the test's own, for reading and damaging what the crate wrote.
pub(crate) async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("the test's URL")
        .get_multiplexed_async_connection()
        .await
        .expect("the test's redis-server answers")
}
