//! `/2/activity/subscriptions`: shapes, credentials, validation, duplicates, the cap, paging
//! and the per-app budget.

use serde_json::{Value, json};
use xdm_emulator::{Emulator, GroupLimits, RateLimits};

use crate::common::{Api, Auth, emulator, user};

const PATH: &str = "/2/activity/subscriptions";

fn app(emu: &Emulator) -> Api {
    Api::new(
        emu,
        Auth::Bearer(emu.credentials().app_bearer_token.clone()),
    )
}

/// A user API for `name`, with an OAuth 2.0 token holding `scopes`.
fn as_user(emu: &Emulator, name: &str, scopes: &[&str]) -> Api {
    let token = emu
        .handle()
        .issue_oauth2_token(&user(emu, name), scopes)
        .unwrap();
    Api::new(emu, Auth::Bearer(token))
}

fn dm_read(emu: &Emulator, name: &str) -> Api {
    as_user(emu, name, &["dm.read", "tweet.read", "users.read"])
}

async fn create(api: &Api, event_type: &str, user_id: &str) -> crate::common::Resp {
    api.post_json(
        PATH,
        json!({"event_type": event_type, "filter": {"user_id": user_id}, "tag": "t"}),
    )
    .await
}

fn title(r: &crate::common::Resp) -> String {
    r.json()["title"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn create_list_update_delete() {
    let emu = emulator().await;
    let me = user(&emu, "me");
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let r = create(&api, "dm.received", &me).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sub = r.json()["data"]["subscription"].clone();
    assert_eq!(sub["event_type"], "dm.received");
    assert_eq!(sub["filter"], json!({"user_id": me}));
    assert_eq!(sub["tag"], "t");
    assert!(sub.get("webhook_id").is_none());
    let id = sub["subscription_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 19);
    assert!(sub["created_at"].as_str().unwrap().ends_with('Z'));

    let r = create(&api, "dm.received", &me).await;
    assert_eq!(r.status, 409);
    assert_eq!(title(&r), "DuplicateSubscription");
    // A different type for the same user is no duplicate; OAuth 1.0a may create too.
    let o1 = Api::new(&emu, Auth::oauth1(&emu));
    assert_eq!(create(&o1, "dm.sent", &me).await.status, 200);

    let l = app(&emu).get(PATH).await;
    assert_eq!(l.status, 200);
    let v = l.json();
    assert_eq!(v["meta"], json!({"result_count": 2}));
    assert_eq!(v["data"][0], sub);
    assert_eq!(l.header("x-rate-limit-limit"), Some("500"));

    let r = app(&emu)
        .send(
            "PUT",
            &format!("{PATH}/{id}"),
            Some(("application/json", br#"{"tag":"renamed"}"#.to_vec())),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["subscription"]["tag"], "renamed");
    assert_eq!(r.json()["data"]["total_subscriptions"], 2);

    let r = app(&emu).delete(&format!("{PATH}/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"data": {"deleted": true}, "meta": {"total_subscriptions": 1}})
    );
    let r = app(&emu).delete(&format!("{PATH}/{id}")).await;
    assert_eq!(r.status, 404);
    let r = app(&emu)
        .send(
            "PUT",
            &format!("{PATH}/{id}"),
            Some(("application/json", br#"{"tag":"x"}"#.to_vec())),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(emu.handle().subscriptions().len(), 1);
}

#[tokio::test]
async fn delete_many_reports_per_id() {
    let emu = emulator().await;
    let me = user(&emu, "me");
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let a =
        create(&api, "dm.received", &me).await.json()["data"]["subscription"]["subscription_id"]
            .clone();
    let b = create(&api, "dm.sent", &me).await.json()["data"]["subscription"]["subscription_id"]
        .clone();
    let q = format!(
        "{PATH}?ids={},{},123",
        a.as_str().unwrap(),
        b.as_str().unwrap()
    );
    let r = app(&emu).delete(&q).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["data"],
        json!([{"subscription_id": a, "deleted": true}, {"subscription_id": b, "deleted": true}])
    );
    assert_eq!(v["errors"][0]["subscription_id"], "123");
    assert_eq!(v["errors"][0]["reason"], "SubscriptionNotFound");
    assert_eq!(v["meta"]["total_subscriptions"], 0);
    for bad in [
        format!("{PATH}?ids=abc"),
        format!("{PATH}?ids=1&x=2"),
        format!(
            "{PATH}?ids={}",
            (1..=101)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    ] {
        assert_eq!(app(&emu).delete(&bad).await.status, 400, "{bad}");
    }
    assert_eq!(app(&emu).delete(PATH).await.status, 400, "ids is required");
}

#[tokio::test]
async fn credentials() {
    let emu = emulator().await;
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let r = create(&app(&emu), "dm.received", &me).await;
    assert_eq!(
        r.status, 403,
        "the app bearer cannot subscribe to private events"
    );
    let r = create(
        &as_user(&emu, "me", &["tweet.read", "users.read"]),
        "dm.received",
        &me,
    )
    .await;
    assert_eq!(r.status, 403, "dm.read is needed");
    let r = create(&dm_read(&emu, "me"), "dm.received", &alice).await;
    assert_eq!(r.status, 403, "only for the token's own user");
    assert_eq!(
        create(&dm_read(&emu, "alice"), "dm.received", &alice)
            .await
            .status,
        200
    );
    let r = create(&Api::new(&emu, Auth::None), "dm.received", &me).await;
    assert_eq!(r.status, 401);
    let r = create(
        &Api::new(&emu, Auth::Bearer("nope".into())),
        "dm.received",
        &me,
    )
    .await;
    assert_eq!(r.status, 401);
    // Listing, updating, deleting: the app bearer only.
    let user_api = Api::new(&emu, Auth::oauth2(&emu));
    let r = user_api.get(PATH).await;
    assert_eq!(r.status, 403);
    assert_eq!(title(&r), "Unsupported Authentication");
    assert_eq!(user_api.delete(&format!("{PATH}/1")).await.status, 403);
    assert_eq!(
        Api::new(&emu, Auth::oauth1(&emu)).get(PATH).await.status,
        403
    );
    assert_eq!(Api::new(&emu, Auth::None).get(PATH).await.status, 401);
}

#[tokio::test]
async fn bodies_are_checked() {
    let emu = emulator().await;
    let me = user(&emu, "me");
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let long = "x".repeat(201);
    for body in [
        json!({"event_type": "dm.received", "filter": {"user_id": me}, "extra": 1}),
        json!({"event_type": "dm.received", "filter": {"user_id": me, "extra": 1}}),
        json!({"event_type": "profile.update.bio", "filter": {"user_id": me}}),
        json!({"event_type": 5, "filter": {"user_id": me}}),
        json!({"filter": {"user_id": me}}),
        json!({"event_type": "dm.received"}),
        json!({"event_type": "dm.received", "filter": "me"}),
        json!({"event_type": "dm.received", "filter": {}}),
        json!({"event_type": "dm.received", "filter": {"user_id": "12a"}}),
        json!({"event_type": "dm.received", "filter": {"user_id": 5}}),
        json!({"event_type": "dm.received", "filter": {"user_id": me, "keyword": ""}}),
        json!({"event_type": "dm.received", "filter": {"user_id": me, "direction": "sideways"}}),
        json!({"event_type": "dm.received", "filter": {"user_id": me}, "tag": ""}),
        json!({"event_type": "dm.received", "filter": {"user_id": me}, "tag": long}),
        json!({"event_type": "dm.received", "filter": {"user_id": me}, "webhook_id": "x1"}),
        json!({"event_type": "dm.received", "filter": {"user_id": me}, "webhook_id": "77"}),
        json!([1]),
    ] {
        let r = api.post_json(PATH, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
    }
    let r = api
        .post_json(
            PATH,
            json!({"event_type": "dm.received", "filter": {"user_id": me}, "webhook_id": "77"}),
        )
        .await;
    assert_eq!(title(&r), "WebhookIdInvalid");
    let r = api
        .send("POST", PATH, Some(("application/json", b"{nope".to_vec())))
        .await;
    assert_eq!(r.status, 400);
    let r = create(&api, "dm.read", &me).await;
    let id = r.json()["data"]["subscription"]["subscription_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [
        r#"{"event_type":"dm.sent"}"#,
        r#"{"tag":""}"#,
        r#"{"webhook_id":"5"}"#,
        r#"{"webhook_id":null}"#,
    ] {
        let r = app(&emu)
            .send(
                "PUT",
                &format!("{PATH}/{id}"),
                Some(("application/json", body.into())),
            )
            .await;
        assert_eq!(r.status, 400, "{body}");
    }
    let r = app(&emu)
        .send(
            "PUT",
            &format!("{PATH}/abc"),
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(app(&emu).delete(&format!("{PATH}/abc")).await.status, 400);
}

#[tokio::test]
async fn pages_and_the_cap() {
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .subscription_cap(5)
        .start()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["me", "alice", "bob"] {
        let api = dm_read(&emu, name);
        for t in ["dm.received", "dm.sent"] {
            let r = create(&api, t, &user(&emu, name)).await;
            if ids.len() == 5 {
                assert_eq!(r.status, 400);
                assert_eq!(title(&r), "SubscriptionLimitExceeded");
            } else {
                assert_eq!(r.status, 200);
                ids.push(r.json()["data"]["subscription"]["subscription_id"].clone());
            }
        }
    }
    let mut seen = Vec::new();
    let mut q = format!("{PATH}?max_results=2");
    loop {
        let v = app(&emu).get(&q).await.json();
        let page = v["data"].as_array().unwrap().clone();
        assert_eq!(v["meta"]["result_count"], page.len());
        seen.extend(page.iter().map(|s| s["subscription_id"].clone()));
        match v["meta"]["next_token"].as_str() {
            Some(t) => q = format!("{PATH}?max_results=2&pagination_token={t}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    for bad in [
        "max_results=0",
        "max_results=1001",
        "max_results=x",
        "pagination_token=AAAAAAAAAAAAAAAAAAAAZZZZ",
        "foo=1",
    ] {
        assert_eq!(
            app(&emu).get(&format!("{PATH}?{bad}")).await.status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn each_method_has_its_own_app_budget() {
    let limits = RateLimits {
        subscriptions: GroupLimits {
            user_per_window: 2,
            user_per_day: None,
            app_per_window: Some(2),
            app_per_day: None,
        },
        ..RateLimits::default()
    };
    let emu = Emulator::builder()
        .seed_events(5)
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let a = app(&emu);
    let statuses: Vec<u16> = [a.get(PATH).await, a.get(PATH).await, a.get(PATH).await]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    // Other methods and other callers of POST count apart from GET, but per app.
    assert_eq!(
        create(&dm_read(&emu, "me"), "dm.sent", &user(&emu, "me"))
            .await
            .status,
        200
    );
    assert_eq!(
        create(&dm_read(&emu, "alice"), "dm.sent", &user(&emu, "alice"))
            .await
            .status,
        200
    );
    let r = create(&dm_read(&emu, "bob"), "dm.sent", &user(&emu, "bob")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    let _: Value = r.json();
}
