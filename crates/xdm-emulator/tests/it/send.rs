use serde_json::json;
use xdm_emulator::EventType;

use crate::common::{Api, Auth, emulator, user};

#[tokio::test]
async fn send_to_participant_creates_the_conversation() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let (me, dave) = (user(&emu, "me"), user(&emu, "dave"));
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{dave}/messages"),
            json!({"text": "hi dave"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let v = r.json();
    let (lo, hi) = if me < dave {
        (&me, &dave)
    } else {
        (&dave, &me)
    };
    assert_eq!(v["data"]["dm_conversation_id"], format!("{lo}-{hi}"));
    let id = v["data"]["dm_event_id"].as_str().unwrap();
    assert_eq!(
        r.header("location").unwrap(),
        format!("https://api.twitter.com/2/dm_events/\"{id}\"")
    );
    let ev = emu.handle().event(id).unwrap();
    assert_eq!(ev.text.as_deref(), Some("hi dave"));
    assert_eq!(ev.sender_id, me);
    assert_eq!(ev.event_type, EventType::MessageCreate);
    // Newest first: the new message heads the listing.
    let list = api.get("/2/dm_events?max_results=1").await.json();
    assert_eq!(list["data"][0]["id"], id);
    // Dave sees it too.
    let token = emu
        .handle()
        .issue_oauth2_token(&dave, &["dm.read", "tweet.read", "users.read"])
        .unwrap();
    let dave_api = Api::new(&emu, Auth::Bearer(token));
    assert_eq!(
        dave_api.get("/2/dm_events?max_results=1").await.json()["data"][0]["id"],
        id
    );
}

#[tokio::test]
async fn send_to_conversation_one_to_one_and_group() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth1(&emu));
    let group = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.is_group)
        .unwrap();
    let r = api
        .post_json(
            &format!("/2/dm_conversations/{}/messages", group.id),
            json!({"text": "hello group"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["data"]["dm_conversation_id"], group.id.as_str());
    let pair = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| !c.is_group)
        .unwrap();
    let r = api
        .post_json(
            &format!("/2/dm_conversations/{}/messages", pair.id),
            json!({"text": "hello you"}),
        )
        .await;
    assert_eq!(r.status, 201);
    // A 1:1 id naming me and a user I never wrote to works at once.
    let (me, dave) = (user(&emu, "me"), user(&emu, "dave"));
    let r = api
        .post_json(
            &format!("/2/dm_conversations/{dave}-{me}/messages"),
            json!({"text": "first"}),
        )
        .await;
    assert_eq!(r.status, 201);
    // Unknown conversations, and one I am not in.
    let r = api
        .post_json(
            "/2/dm_conversations/123456789012345678/messages",
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, 404);
    let (alice, bob) = (user(&emu, "alice"), user(&emu, "bob"));
    let r = api
        .post_json(
            &format!("/2/dm_conversations/{alice}-{bob}/messages"),
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api
        .post_json(
            "/2/dm_conversations/not-a-conversation/messages",
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_post_link_becomes_a_reference() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let alice = user(&emu, "alice");
    let v = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "look https://twitter.com/someone/status/1578900353814519810"}),
        )
        .await
        .json();
    let id = v["data"]["dm_event_id"].as_str().unwrap();
    let got = api
        .get(&format!(
            "/2/dm_events/{id}?expansions=referenced_tweets.id"
        ))
        .await
        .json();
    assert_eq!(
        got["data"]["referenced_tweets"],
        json!([{"id": "1578900353814519810"}])
    );
    assert_eq!(got["includes"]["tweets"][0]["id"], "1578900353814519810");
}

#[tokio::test]
async fn create_group() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let (alice, bob) = (user(&emu, "alice"), user(&emu, "bob"));
    let body = json!({"conversation_type": "Group", "message": {"text": "Testing"}, "participant_ids": [alice, bob]});
    let r = api.post_json("/2/dm_conversations", body.clone()).await;
    assert_eq!(r.status, 201);
    let v = r.json();
    let conv = v["data"]["dm_conversation_id"].as_str().unwrap().to_owned();
    assert!(conv.len() >= 15 && conv.bytes().all(|b| b.is_ascii_digit()));
    let again = api.post_json("/2/dm_conversations", body).await.json();
    assert_ne!(
        again["data"]["dm_conversation_id"],
        conv.as_str(),
        "the same list makes a new group"
    );
    let events = api
        .get(&format!("/2/dm_conversations/{conv}/dm_events"))
        .await
        .json();
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["MessageCreate", "ParticipantsJoin"]);
    let c = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.id == conv)
        .unwrap();
    assert_eq!(c.participant_ids.len(), 3);
    // An unknown participant.
    let r = api.post_json("/2/dm_conversations", json!({"conversation_type": "Group", "message": {"text": "x"}, "participant_ids": [alice, "42"]})).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn blocks() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let (me, alice, erin) = (user(&emu, "me"), user(&emu, "alice"), user(&emu, "erin"));
    // Erin blocks me in every world.
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{erin}/messages"),
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["detail"], "You cannot send messages to this user.");
    // I block alice: alice can no longer write to me.
    let r = api
        .send("POST", &format!("/2/users/{alice}/dm/block"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"data": {"blocked": true}}));
    assert!(emu.handle().is_blocked(&me, &alice));
    let t = emu
        .handle()
        .issue_oauth2_token(&alice, &["dm.write tweet.read users.read"])
        .unwrap();
    let alice_api = Api::new(&emu, Auth::Bearer(t));
    let r = alice_api
        .post_json(
            &format!("/2/dm_conversations/with/{me}/messages"),
            json!({"text": "hey"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let pair = if me < alice {
        format!("{me}-{alice}")
    } else {
        format!("{alice}-{me}")
    };
    let r = alice_api
        .post_json(
            &format!("/2/dm_conversations/{pair}/messages"),
            json!({"text": "hey"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .send("POST", &format!("/2/users/{alice}/dm/unblock"), None)
        .await;
    assert_eq!(r.json(), json!({"data": {"blocked": false}}));
    assert!(!emu.handle().is_blocked(&me, &alice));
    let r = alice_api
        .post_json(
            &format!("/2/dm_conversations/with/{me}/messages"),
            json!({"text": "hey"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api.send("POST", "/2/users/42/dm/block", None).await;
    assert_eq!(r.status, 404);
    let r = api
        .post_json(
            "/2/dm_conversations/with/42/messages",
            json!({"text": "anyone?"}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["resource_type"], "user");
}

#[tokio::test]
async fn former_members_cannot_write_to_a_group() {
    let emu = emulator().await;
    let carol = user(&emu, "carol");
    let group = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.is_group)
        .unwrap();
    assert!(
        !group.participant_ids.contains(&carol),
        "carol left the seeded group"
    );
    let t = emu
        .handle()
        .issue_oauth2_token(&carol, &["dm.write tweet.read users.read"])
        .unwrap();
    let r = Api::new(&emu, Auth::Bearer(t))
        .post_json(
            &format!("/2/dm_conversations/{}/messages", group.id),
            json!({"text": "back?"}),
        )
        .await;
    assert_eq!(r.status, 403);
    // Joins and leaves cannot be deleted, even by the user who made them.
    let me = user(&emu, "me");
    let join = emu
        .handle()
        .events()
        .into_iter()
        .find(|e| e.event_type == EventType::ParticipantsJoin && e.sender_id == me)
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    assert_eq!(
        api.delete(&format!("/2/dm_events/{}", join.id))
            .await
            .status,
        403
    );
    assert_eq!(api.delete("/2/dm_events/1?x=1").await.status, 400);
    assert_eq!(
        api.send("POST", &format!("/2/users/{me}/dm/block?x=1"), None)
            .await
            .status,
        400
    );
    assert_eq!(
        api.post_json("/2/dm_conversations?x=1", json!({}))
            .await
            .status,
        400
    );
}
