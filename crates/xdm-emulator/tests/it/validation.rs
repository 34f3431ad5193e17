use serde_json::{Value, json};

use crate::common::{Api, Auth, emulator, user};

fn assert_invalid(v: &Value, param: &str) {
    assert_eq!(v["title"], "Invalid Request", "{v}");
    assert_eq!(
        v["detail"],
        "One or more parameters to your request was invalid."
    );
    let t = v["type"].as_str().unwrap();
    assert!(
        t == "https://api.twitter.com/2/problems/invalid-request"
            || t == "https://api.x.com/2/problems/invalid-request",
        "{t}"
    );
    let e = &v["errors"][0];
    assert!(
        e["parameters"][param].is_array(),
        "parameter {param} in {v}"
    );
    assert!(e["message"].is_string());
}

async fn get400(api: &Api, q: &str, param: &str) {
    let r = api.get(q).await;
    assert_eq!(r.status, 400, "{q}: {}", String::from_utf8_lossy(&r.body));
    assert_invalid(&r.json(), param);
}

#[tokio::test]
async fn query_parameters() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    get400(&api, "/2/dm_events?foo=bar", "foo").await;
    get400(&api, "/2/dm_events?max_results=0", "max_results").await;
    get400(&api, "/2/dm_events?max_results=101", "max_results").await;
    get400(&api, "/2/dm_events?max_results=ten", "max_results").await;
    get400(
        &api,
        "/2/dm_events?event_types=MessageDelete",
        "event_types",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?dm_event.fields=id,bogus",
        "dm_event.fields",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?dm_event.fields=id,id",
        "dm_event.fields",
    )
    .await;
    get400(&api, "/2/dm_events?expansions=author_id", "expansions").await;
    get400(&api, "/2/dm_events?user.fields=nope", "user.fields").await;
    get400(&api, "/2/dm_events?media.fields=nope", "media.fields").await;
    get400(&api, "/2/dm_events?tweet.fields=note_post", "tweet.fields").await;
    get400(&api, "/2/dm_events?post.fields=note_tweet", "post.fields").await;
    get400(
        &api,
        "/2/dm_events?pagination_token=short",
        "pagination_token",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?pagination_token=AAAAAAAAAAAAAAAAAAAAZZZZ",
        "pagination_token",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?max_results=5&max_results=6",
        "max_results",
    )
    .await;
    get400(&api, "/2/dm_events?user.fields=", "user.fields").await;
    get400(&api, "/2/dm_events/12a", "event_id").await;
    get400(&api, "/2/dm_events/12345678901234567890", "event_id").await;
    get400(
        &api,
        "/2/dm_conversations/with/abc/dm_events",
        "participant_id",
    )
    .await;
    get400(&api, "/2/dm_conversations/1234/dm_events", "id").await;
    get400(&api, "/2/dm_conversations/1-x/dm_events", "id").await;
    let r = api
        .get("/2/dm_events?max_results=1&max_results=0&foo=1")
        .await;
    assert!(
        r.json()["errors"].as_array().unwrap().len() >= 2,
        "every problem is reported"
    );
}

#[tokio::test]
async fn dialects_cannot_mix() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    get400(
        &api,
        "/2/dm_events?tweet.fields=id&post.fields=id",
        "post.fields",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?expansions=referenced_tweets.id,referenced_posts",
        "expansions",
    )
    .await;
    get400(
        &api,
        "/2/dm_events?expansions=referenced_posts&dm_event.fields=referenced_tweets",
        "expansions",
    )
    .await;
    let r = api
        .get("/2/dm_events?expansions=referenced_posts&post.fields=id")
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn message_bodies() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let alice = user(&emu, "alice");
    let path = format!("/2/dm_conversations/with/{alice}/messages");
    let cases = [
        (json!({}), "text"),
        (json!({"text": ""}), "text"),
        (json!({"text": 5}), "text"),
        (json!({"text": "x", "extra": 1}), "extra"),
        (
            json!({"attachments": [{"media_id": "1"}, {"media_id": "2"}]}),
            "attachments",
        ),
        (json!({"attachments": []}), "attachments"),
        (json!({"attachments": [{"media_id": "x"}]}), "attachments"),
        (
            json!({"attachments": [{"media_id": "1", "more": true}]}),
            "attachments",
        ),
        (json!({"attachments": "1"}), "attachments"),
    ];
    let before = emu.handle().event_count();
    for (body, param) in cases {
        let r = api.post_json(&path, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_invalid(&r.json(), param);
    }
    let r = api
        .send(
            "POST",
            &path,
            Some(("application/json", b"{not json".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_invalid(&r.json(), "body");
    let r = api
        .send("POST", &path, Some(("application/json", b"[1]".to_vec())))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post_json(&format!("{path}?x=1"), json!({"text": "q"}))
        .await;
    assert_eq!(r.status, 400);
    get400(
        &api,
        "/2/dm_conversations/with/1x/dm_events",
        "participant_id",
    )
    .await;
    let r = api
        .post_json("/2/dm_conversations/with/1x/messages", json!({"text": "x"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(emu.handle().event_count(), before, "nothing was stored");
}

#[tokio::test]
async fn group_bodies() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let (a, b) = (user(&emu, "alice"), user(&emu, "bob"));
    let many: Vec<String> = (1..=50).map(|i| i.to_string()).collect();
    let cases = [
        (
            json!({"conversation_type": "group", "message": {"text": "x"}, "participant_ids": [a, b]}),
            "conversation_type",
        ),
        (
            json!({"message": {"text": "x"}, "participant_ids": [a, b]}),
            "conversation_type",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": [a]}),
            "participant_ids",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": many}),
            "participant_ids",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": [a, a]}),
            "participant_ids",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": [a, "b"]}),
            "participant_ids",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}}),
            "participant_ids",
        ),
        (
            json!({"conversation_type": "Group", "participant_ids": [a, b]}),
            "message",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": ""}, "participant_ids": [a, b]}),
            "message.text",
        ),
        (
            json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": [a, b], "x": 1}),
            "x",
        ),
    ];
    for (body, param) in cases {
        let r = api.post_json("/2/dm_conversations", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_invalid(&r.json(), param);
    }
}

#[tokio::test]
async fn path_ids_on_writes() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    for p in ["/2/users/abc/dm/block", "/2/users/abc/dm/unblock"] {
        let r = api.send("POST", p, None).await;
        assert_eq!(r.status, 400);
        assert_invalid(&r.json(), "id");
    }
    let r = api.delete("/2/dm_events/abc").await;
    assert_eq!(r.status, 400);
    assert_invalid(&r.json(), "event_id");
}

#[tokio::test]
async fn unknown_routes_get_x_not_found() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let r = api.get("/2/nothing_here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errors"][0]["code"], 34);
}
