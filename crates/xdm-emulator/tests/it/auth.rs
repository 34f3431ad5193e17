use std::num::NonZeroU64;
use std::time::Duration;

use serde_json::json;
use xdm_emulator::{CredentialUsed, Emulator, ManualClock, RateLimits};

use crate::common::{Api, Auth, emulator, raw, user};

fn unauthorized() -> serde_json::Value {
    json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
}

#[tokio::test]
async fn missing_and_bad_bearer() {
    let emu = emulator().await;
    let r = Api::new(&emu, Auth::None).get("/2/dm_events").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), unauthorized());
    assert!(r.header("x-rate-limit-limit").is_none());
    let r = Api::new(&emu, Auth::Bearer("nope".into()))
        .get("/2/dm_events")
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), unauthorized());
    let log = emu.handle().requests();
    assert_eq!(log[0].credential, CredentialUsed::None);
    assert_eq!(log[1].credential, CredentialUsed::Rejected);
    assert_eq!(log[1].status, Some(401));
}

#[tokio::test]
async fn app_only_bearer_is_refused() {
    let emu = emulator().await;
    let api = Api::new(
        &emu,
        Auth::Bearer(emu.credentials().app_bearer_token.clone()),
    );
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 403);
    let v = r.json();
    assert_eq!(
        v["type"],
        "https://api.twitter.com/2/problems/unsupported-authentication"
    );
    assert_eq!(v["title"], "Unsupported Authentication");
    assert_eq!(
        emu.handle().requests()[0].credential,
        CredentialUsed::AppOnly
    );
}

#[tokio::test]
async fn scopes_are_checked() {
    let emu = emulator().await;
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let read_only = emu
        .handle()
        .issue_oauth2_token(&me, &["dm.read", "tweet.read", "users.read"])
        .unwrap();
    let api = Api::new(&emu, Auth::Bearer(read_only));
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"})
    );
    let write_only = emu
        .handle()
        .issue_oauth2_token(&me, &["dm.write tweet.read users.read"])
        .unwrap();
    let api = Api::new(&emu, Auth::Bearer(write_only));
    assert_eq!(api.get("/2/dm_events").await.status, 403);
    assert_eq!(
        api.delete("/2/dm_events/1").await.status,
        403,
        "delete needs dm.read too"
    );
    assert!(
        emu.handle()
            .issue_oauth2_token("42", &["dm.read"])
            .is_none()
    );
    assert_eq!(
        emu.handle().requests().last().unwrap().credential,
        CredentialUsed::OAuth2User {
            user_id: me.clone()
        }
    );
}

#[tokio::test]
async fn access_tokens_expire_after_two_hours() {
    let clock = ManualClock::new(1_790_000_000_000);
    let emu = Emulator::builder()
        .seed_events(10)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    clock.advance(Duration::from_secs(2 * 3600 + 1));
    assert_eq!(api.get("/2/dm_events").await.status, 401);
}

#[tokio::test]
async fn oauth1_signed_by_an_independent_signer() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth1(&emu));
    let r = api
        .get("/2/dm_events?dm_event.fields=id,text,created_at&max_results=3")
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let alice = user(&emu, "alice");
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "signed, with spaces & symbols!"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let me = user(&emu, "me");
    match &emu.handle().requests().last().unwrap().credential {
        CredentialUsed::OAuth1 {
            access_token,
            user_id,
        } => {
            assert_eq!(access_token, &emu.credentials().oauth1.access_token);
            assert_eq!(user_id, &me);
        }
        other => panic!("{other:?}"),
    }
    // A token issued for another user acts as that user.
    let bob = user(&emu, "bob");
    let (t, s) = emu.handle().issue_oauth1_token(&bob).unwrap();
    let c = &emu.credentials().oauth1;
    let api = Api::new(
        &emu,
        Auth::OAuth1 {
            ck: c.consumer_key.clone(),
            cs: c.consumer_secret.clone(),
            tk: t,
            ts: s,
        },
    );
    let v = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "from bob"}),
        )
        .await
        .json();
    let ev = emu
        .handle()
        .event(v["data"]["dm_event_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(ev.sender_id, bob);
    assert!(emu.handle().issue_oauth1_token("42").is_none());
}

fn header_with(
    emu: &Emulator,
    url: &str,
    nonce: &str,
    ts: u64,
    secret_override: Option<&str>,
) -> String {
    let c = &emu.credentials().oauth1;
    let cs = secret_override.unwrap_or(&c.consumer_secret);
    let mut b = oauth1_request::Builder::<_, _>::new(
        oauth1_request::Credentials::new(c.consumer_key.as_str(), cs),
        oauth1_request::HmacSha1::new(),
    );
    b.token(oauth1_request::Credentials::new(
        c.access_token.as_str(),
        c.access_token_secret.as_str(),
    ));
    b.nonce(nonce);
    b.timestamp(NonZeroU64::new(ts));
    b.authorize("GET", url, &())
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn oauth1_refusals() {
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let url = format!("{}/2/dm_events", emu.base_url());
    let get = |h: String| {
        let url = url.clone();
        async move { raw("GET", &url, &[("authorization", h)], None).await }
    };
    assert_eq!(
        get(header_with(&emu, &url, "n1", now_s(), None))
            .await
            .status,
        200
    );
    // The same nonce again is a replay.
    assert_eq!(
        get(header_with(&emu, &url, "n1", now_s(), None))
            .await
            .status,
        401
    );
    // Outside the ±300 s window.
    assert_eq!(
        get(header_with(&emu, &url, "n2", now_s() - 301, None))
            .await
            .status,
        401
    );
    assert_eq!(
        get(header_with(&emu, &url, "n3", now_s() + 301, None))
            .await
            .status,
        401
    );
    // Wrong secret, and a URL other than the one reached.
    assert_eq!(
        get(header_with(&emu, &url, "n4", now_s(), Some("wrong")))
            .await
            .status,
        401
    );
    let other = url.replace("127.0.0.1", "api.x.com");
    let r = get(header_with(&emu, &other, "n5", now_s(), None)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), unauthorized());
    // A forged request did not burn the nonce it carried.
    assert_eq!(
        get(header_with(&emu, &url, "n4", now_s(), None))
            .await
            .status,
        200
    );
    // Garbage and an unknown consumer key.
    assert_eq!(get("OAuth garbage".into()).await.status, 401);
    let h = header_with(&emu, &url, "n6", now_s(), None)
        .replace(&emu.credentials().oauth1.consumer_key, "unknownkey");
    assert_eq!(get(h).await.status, 401);
    // An unsigned query parameter breaks the signature.
    let h = header_with(&emu, &url, "n7", now_s(), None);
    assert_eq!(
        raw(
            "GET",
            &format!("{url}?max_results=5"),
            &[("authorization", h)],
            None
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn oauth1_header_variants() {
    let emu = emulator().await;
    let url = format!("{}/2/dm_events", emu.base_url());
    let good = header_with(&emu, &url, "v1", now_s(), None);
    let c = &emu.credentials().oauth1;
    for bad in [
        good.replace("HMAC-SHA1", "PLAINTEXT"),
        good.replacen("OAuth ", "OAuth oauth_version=\"2.0\",", 1),
        good.replace(&c.access_token, "1-unknowntoken"),
        good.replace("oauth_timestamp=\"", "oauth_timestamp=\"x"),
        good.replace("oauth_nonce=\"v1\"", "oauth_nonce=\"\""),
    ] {
        let r = raw("GET", &url, &[("authorization", bad.clone())], None).await;
        assert_eq!(r.status, 401, "{bad}");
    }
    let r = raw("GET", &url, &[("authorization", good)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-access-level"),
        Some("read-write-directmessages")
    );
}
