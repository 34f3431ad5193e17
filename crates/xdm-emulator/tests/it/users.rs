//! `GET /2/users/me`; every 200 body here is checked against `getUsersMe`'s schema.

use serde_json::{Value, json};
use xdm_emulator::CredentialUsed;

use crate::common::{Api, Auth, emulator, user};

fn me_body(emu: &xdm_emulator::Emulator, name: &str) -> Value {
    let u = emu
        .handle()
        .users()
        .into_iter()
        .find(|u| u.id == user(emu, name))
        .unwrap();
    json!({"data": {"id": u.id, "name": u.name, "username": u.username}})
}

#[tokio::test]
async fn the_caller_for_either_kind_of_user_token() {
    let emu = emulator().await;
    let expected = me_body(&emu, "me");
    assert_eq!(expected["data"]["username"], "emu_me");
    let checked = crate::schema::checked();
    let r = Api::new(&emu, Auth::oauth2(&emu)).get("/2/users/me").await;
    assert!(
        crate::schema::checked() > checked,
        "validated against getUsersMe"
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), expected);
    assert!(r.header("x-access-level").is_none());
    let r = Api::new(&emu, Auth::oauth1(&emu)).get("/2/users/me").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), expected);
    assert_eq!(
        r.header("x-access-level"),
        Some("read-write-directmessages")
    );

    // The tokens of others name them: this is how a client learns whose token it holds. The
    // two scopes X's spec asks for are enough.
    let bob = user(&emu, "bob");
    let t = emu
        .handle()
        .issue_oauth2_token(&bob, &["tweet.read users.read"])
        .unwrap();
    let r = Api::new(&emu, Auth::Bearer(t)).get("/2/users/me").await;
    assert_eq!(r.json(), me_body(&emu, "bob"));
    let carol = user(&emu, "carol");
    let (tk, ts) = emu.handle().issue_oauth1_token(&carol).unwrap();
    let c = &emu.credentials().oauth1;
    let auth = Auth::OAuth1 {
        ck: c.consumer_key.clone(),
        cs: c.consumer_secret.clone(),
        tk: tk.clone(),
        ts,
    };
    let r = Api::new(&emu, auth).get("/2/users/me").await;
    assert_eq!(r.json(), me_body(&emu, "carol"));

    let log = emu.handle().requests();
    assert!(log.iter().all(|r| r.template == "/2/users/me"));
    assert_eq!(
        log[2].credential,
        CredentialUsed::OAuth2User {
            user_id: bob.clone()
        }
    );
    assert_eq!(
        log[3].credential,
        CredentialUsed::OAuth1 {
            access_token: tk,
            user_id: carol
        }
    );
}

#[tokio::test]
async fn user_fields_in_both_dialects() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let v = api
        .get("/2/users/me?user.fields=created_at,description,public_metrics,protected,id")
        .await
        .json();
    let d = &v["data"];
    assert_eq!(d["id"], user(&emu, "me").as_str());
    assert_eq!(d["username"], "emu_me");
    assert!(d["name"].is_string());
    assert!(d["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(d["description"].is_string());
    assert_eq!(d["protected"], false);
    assert!(d["public_metrics"]["tweet_count"].is_number());
    assert!(d["public_metrics"].get("post_count").is_none());
    let v = api
        .get("/2/users/me?user.fields=public_metrics&post.fields=created_at")
        .await
        .json();
    assert!(v["data"]["public_metrics"]["post_count"].is_number());
    assert!(v["data"]["public_metrics"].get("tweet_count").is_none());
    // Fields the emulated users have no value for are left out, as X leaves them out.
    let r = api.get("/2/users/me?user.fields=location,url").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), me_body(&emu, "me"));
    // Expansions are accepted; the emulated users have no posts to expand.
    let r = api
        .get("/2/users/me?expansions=pinned_tweet_id,most_recent_tweet_id,affiliation.user_id&tweet.fields=created_at")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), me_body(&emu, "me"));
    let r = api
        .get("/2/users/me?expansions=pinned_post_id,affiliation&post.fields=id")
        .await;
    assert_eq!(r.json(), me_body(&emu, "me"));
}

#[tokio::test]
async fn the_same_auth_errors_as_the_dm_routes() {
    let emu = emulator().await;
    let unauthorized = json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"});
    let r = Api::new(&emu, Auth::None).get("/2/users/me").await;
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    assert!(r.header("x-rate-limit-limit").is_none());
    let r = Api::new(&emu, Auth::Bearer("nope".into()))
        .get("/2/users/me")
        .await;
    assert_eq!((r.status, r.json()), (401, unauthorized));
    let r = Api::new(
        &emu,
        Auth::Bearer(emu.credentials().app_bearer_token.clone()),
    )
    .get("/2/users/me")
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["type"],
        "https://api.twitter.com/2/problems/unsupported-authentication"
    );
    let me = user(&emu, "me");
    for scopes in ["tweet.read", "users.read", "dm.read dm.write"] {
        let t = emu.handle().issue_oauth2_token(&me, &[scopes]).unwrap();
        let r = Api::new(&emu, Auth::Bearer(t)).get("/2/users/me").await;
        assert_eq!(r.status, 403, "{scopes}");
        assert_eq!(
            r.json(),
            json!({"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"})
        );
    }
}

#[tokio::test]
async fn bad_queries_get_x_400() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let cases = [
        (
            "foo=1",
            "foo",
            "The query parameter [foo] is not one of [expansions,post.fields,tweet.fields,user.fields]",
        ),
        (
            "user.fields=bogus",
            "user.fields",
            "The `user.fields` query parameter value [bogus] is not one of [",
        ),
        (
            "user.fields=",
            "user.fields",
            "The `user.fields` query parameter can not be empty",
        ),
        (
            "user.fields=id&user.fields=name",
            "user.fields",
            "The query parameter [user.fields] was given more than once",
        ),
        (
            "user.fields=id,id",
            "user.fields",
            "The `user.fields` query parameter value [id] is duplicated",
        ),
        (
            "expansions=sender_id",
            "expansions",
            "The `expansions` query parameter value [sender_id] is not one of [",
        ),
        (
            "tweet.fields=nope",
            "tweet.fields",
            "The `tweet.fields` query parameter value [nope] is not one of [",
        ),
    ];
    for (query, param, message) in cases {
        let r = api.get(&format!("/2/users/me?{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        let v = r.json();
        assert_eq!(
            v["type"], "https://api.twitter.com/2/problems/invalid-request",
            "{query}"
        );
        assert!(
            v["errors"][0]["parameters"].get(param).is_some(),
            "{query}: {v}"
        );
        let got = v["errors"][0]["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{query}: {got}");
    }
    // Mixing the dialects is refused, in the post dialect's words.
    for query in [
        "tweet.fields=id&post.fields=id",
        "expansions=pinned_tweet_id&post.fields=id",
    ] {
        let r = api.get(&format!("/2/users/me?{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        let v = r.json();
        assert_eq!(v["type"], "https://api.x.com/2/problems/invalid-request");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("The request mixes legacy names"),
            "{v}"
        );
    }
    let r = api.get("/2/users/me?post.fields=nope").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["type"],
        "https://api.x.com/2/problems/invalid-request"
    );
}
