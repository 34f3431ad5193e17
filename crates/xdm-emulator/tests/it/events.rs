use serde_json::{Value, json};

use crate::common::{Api, Auth, emulator, user};

fn ids(v: &Value) -> Vec<u64> {
    v["data"].as_array().map_or(vec![], |a| {
        a.iter()
            .map(|e| e["id"].as_str().unwrap().parse().unwrap())
            .collect()
    })
}

#[tokio::test]
async fn list_pages_newest_first_with_the_sticky_next_token() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let q = match &token {
            Some(t) => format!("/2/dm_events?max_results=25&pagination_token={t}"),
            None => "/2/dm_events?max_results=25".to_owned(),
        };
        let r = api.get(&q).await;
        assert_eq!(r.status, 200);
        let v = r.json();
        pages += 1;
        if v["meta"]["result_count"] == 0 {
            assert_eq!(
                v,
                json!({"meta": {"result_count": 0}}),
                "the empty page is bare"
            );
            break;
        }
        let page = ids(&v);
        assert!(page.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(v["meta"]["result_count"], page.len());
        let next = v["meta"]["next_token"]
            .as_str()
            .expect("a next_token on every non-empty page")
            .to_owned();
        assert!(next.len() >= 16);
        if token.is_some() {
            assert!(v["meta"]["previous_token"].is_string());
        } else {
            assert!(v["meta"].get("previous_token").is_none());
        }
        seen.extend(page);
        token = Some(next);
        assert!(pages < 20);
    }
    assert!(pages >= 3, "listings need several pages");
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
    let me = user(&emu, "me");
    let visible: Vec<_> = emu
        .handle()
        .events()
        .into_iter()
        .filter(|e| {
            emu.handle()
                .conversations()
                .iter()
                .any(|c| c.id == e.conversation_id && c.participant_ids.contains(&me))
        })
        .collect();
    assert_eq!(seen.len(), visible.len());
    for id in &seen {
        assert_eq!(id.to_string().len(), 19, "snowflake-like ids");
    }
}

#[tokio::test]
async fn previous_token_pages_back() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let first = api.get("/2/dm_events?max_results=5").await.json();
    let next = first["meta"]["next_token"].as_str().unwrap();
    let second = api
        .get(&format!(
            "/2/dm_events?max_results=5&pagination_token={next}"
        ))
        .await
        .json();
    let prev = second["meta"]["previous_token"].as_str().unwrap();
    let back = api
        .get(&format!(
            "/2/dm_events?max_results=5&pagination_token={prev}"
        ))
        .await
        .json();
    assert_eq!(ids(&back), ids(&first));
}

#[tokio::test]
async fn default_fields_per_event_type() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let v = api.get("/2/dm_events?max_results=100").await.json();
    let mut kinds = std::collections::HashSet::new();
    for e in v["data"].as_array().unwrap() {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        match e["event_type"].as_str().unwrap() {
            "MessageCreate" => assert_eq!(keys, ["id", "event_type", "text"]),
            "ParticipantsJoin" | "ParticipantsLeave" => {
                assert_eq!(keys, ["id", "event_type", "participant_ids"])
            }
            other => panic!("{other}"),
        }
        kinds.insert(e["event_type"].as_str().unwrap().to_owned());
    }
    assert!(kinds.contains("ParticipantsJoin"), "{kinds:?}");
    assert!(v.get("includes").is_none());
}

#[tokio::test]
async fn event_types_filter() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let v = api
        .get("/2/dm_events?event_types=ParticipantsJoin,ParticipantsLeave")
        .await
        .json();
    let data = v["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(data.iter().all(|e| e["event_type"] != "MessageCreate"));
}

#[tokio::test]
async fn all_fields_and_expansions_legacy_dialect() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let q = "/2/dm_events?max_results=100&dm_event.fields=attachments,created_at,dm_conversation_id,entities,event_type,id,participant_ids,referenced_tweets,sender_id,text&expansions=attachments.media_keys,participant_ids,referenced_tweets.id,sender_id&user.fields=created_at,description,public_metrics,protected,verified&media.fields=url,width,height,media_key,type&tweet.fields=created_at,lang,author_id";
    let v = api.get(q).await.json();
    let data = v["data"].as_array().unwrap();
    let with_ref = data
        .iter()
        .find(|e| e.get("referenced_tweets").is_some())
        .expect("a message linking a post");
    assert!(
        with_ref["text"]
            .as_str()
            .unwrap()
            .contains("https://x.com/")
    );
    assert!(with_ref.get("urls").is_some(), "legacy entities are flat");
    assert!(data.iter().any(|e| e.get("attachments").is_some()));
    assert!(
        data.iter()
            .all(|e| e.get("created_at").is_some() && e.get("dm_conversation_id").is_some())
    );
    let inc = &v["includes"];
    assert!(
        inc["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["public_metrics"].get("tweet_count").is_some())
    );
    assert!(inc["tweets"][0]["edit_history_tweet_ids"].is_array());
    let url = inc["media"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://ton.twitter.com/1.1/ton/data/dm/"),
        "{url}"
    );
    assert!(
        inc["media"][0]["media_key"]
            .as_str()
            .unwrap()
            .starts_with("3_")
    );
    assert!(inc.get("posts").is_none());
}

#[tokio::test]
async fn post_dialect_answers_in_post_names() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let q = "/2/dm_events?max_results=100&dm_event.fields=entities,sender_id&expansions=referenced_posts,sender_id&post.fields=created_at&user.fields=public_metrics";
    let v = api.get(q).await.json();
    let with_ref = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.get("referenced_posts").is_some())
        .expect("referenced_posts");
    assert!(with_ref.get("referenced_tweets").is_none());
    assert!(
        with_ref["entities"]["urls"].is_array(),
        "post entities are nested"
    );
    assert!(v["includes"]["posts"][0]["edit_history_post_ids"].is_array());
    assert!(v["includes"].get("tweets").is_none());
    assert!(
        v["includes"]["users"][0]["public_metrics"]
            .get("post_count")
            .is_some()
    );
}

#[tokio::test]
async fn by_participant_and_by_conversation() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth1(&emu));
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let v = api.get(&format!("/2/dm_conversations/with/{alice}/dm_events?dm_event.fields=dm_conversation_id,sender_id")).await.json();
    let (lo, hi) = if me < alice {
        (&me, &alice)
    } else {
        (&alice, &me)
    };
    let conv = format!("{lo}-{hi}");
    let data = v["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(
        data.iter()
            .all(|e| e["dm_conversation_id"] == conv.as_str())
    );
    let v2 = api
        .get(&format!(
            "/2/dm_conversations/{conv}/dm_events?dm_event.fields=dm_conversation_id,sender_id"
        ))
        .await
        .json();
    assert_eq!(ids(&v), ids(&v2));
    let group = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.is_group)
        .unwrap();
    let g = api
        .get(&format!(
            "/2/dm_conversations/{}/dm_events?expansions=participant_ids",
            group.id
        ))
        .await
        .json();
    assert!(g["includes"]["users"].is_array());
    // No conversation yet with dave: an empty page.
    let dave = user(&emu, "dave");
    assert_eq!(
        api.get(&format!("/2/dm_conversations/with/{dave}/dm_events"))
            .await
            .json(),
        json!({"meta": {"result_count": 0}})
    );
    // Unknown user and unknown conversation.
    let r = api.get("/2/dm_conversations/with/42/dm_events").await;
    assert_eq!(r.status, 404);
    let r = api
        .get("/2/dm_conversations/123456789012345678/dm_events")
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn only_visible_conversations() {
    let emu = emulator().await;
    let bob = user(&emu, "bob");
    let token = emu
        .handle()
        .issue_oauth2_token(&bob, &["dm.read tweet.read users.read"])
        .unwrap();
    let api = Api::new(&emu, Auth::Bearer(token));
    let v = api
        .get("/2/dm_events?dm_event.fields=dm_conversation_id")
        .await
        .json();
    let alice = user(&emu, "alice");
    let me = user(&emu, "me");
    for e in v["data"].as_array().unwrap() {
        let c = e["dm_conversation_id"].as_str().unwrap();
        assert!(
            !(c.contains(&alice) && c.contains(&me)),
            "bob must not see me-alice: {c}"
        );
    }
    let (lo, hi) = if me < alice {
        (&me, &alice)
    } else {
        (&alice, &me)
    };
    let r = api
        .get(&format!("/2/dm_conversations/{lo}-{hi}/dm_events"))
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn get_one_and_missing_one() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let ev = emu
        .handle()
        .events()
        .into_iter()
        .rev()
        .find(|e| !e.media_keys.is_empty())
        .unwrap();
    let v = api.get(&format!("/2/dm_events/{}?dm_event.fields=created_at,attachments&expansions=attachments.media_keys,sender_id", ev.id)).await.json();
    assert_eq!(v["data"]["id"], ev.id.as_str());
    assert_eq!(v["data"]["created_at"], ev.created_at.as_str());
    assert_eq!(
        v["includes"]["media"][0]["media_key"],
        ev.media_keys[0].as_str()
    );
    let r = api.get("/2/dm_events/1234567890123456789").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["errors"][0]["type"],
        "https://api.twitter.com/2/problems/resource-not-found"
    );
    assert!(v.get("data").is_none());
    let r = api.get("/2/dm_events/123?max_results=5").await;
    assert_eq!(
        r.status, 400,
        "max_results is not a parameter of the single lookup"
    );
}

#[tokio::test]
async fn delete_own_message_only() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let me = user(&emu, "me");
    let events = emu.handle().events();
    let mine = events
        .iter()
        .rev()
        .find(|e| e.sender_id == me && e.event_type == xdm_emulator::EventType::MessageCreate)
        .unwrap();
    let theirs = events
        .iter()
        .rev()
        .find(|e| {
            e.sender_id != me
                && e.event_type == xdm_emulator::EventType::MessageCreate
                && emu
                    .handle()
                    .conversations()
                    .iter()
                    .any(|c| c.id == e.conversation_id && c.participant_ids.contains(&me))
        })
        .unwrap();
    let r = api.delete(&format!("/2/dm_events/{}", mine.id)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"data": {"deleted": true}}));
    assert!(emu.handle().event(&mine.id).is_none());
    let r = api.delete(&format!("/2/dm_events/{}", theirs.id)).await;
    assert_eq!(r.status, 403);
    assert!(emu.handle().event(&theirs.id).is_some());
}

/// The answer to a lookup of `id`, with the id itself replaced so that two answers about
/// different ids can be compared for shape.
async fn lookup_shape(api: &Api, id: &str) -> (u16, Value) {
    let r = api.get(&format!("/2/dm_events/{id}")).await;
    let text = r.json().to_string().replace(id, "ID");
    (r.status, serde_json::from_str(&text).unwrap())
}

async fn all_ids(api: &Api, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let q = match &token {
            Some(t) => format!("{path}{sep}max_results=100&pagination_token={t}"),
            None => format!("{path}{sep}max_results=100"),
        };
        let v = api.get(&q).await.json();
        if v["meta"]["result_count"] == 0 {
            return out;
        }
        out.extend(ids(&v).iter().map(u64::to_string));
        token = v["meta"]["next_token"].as_str().map(str::to_owned);
    }
}

#[tokio::test]
async fn delete_is_for_the_deleting_user_only() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let sent = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "soon gone for me"}),
        )
        .await
        .json();
    let id = sent["data"]["dm_event_id"].as_str().unwrap().to_owned();
    let conv = sent["data"]["dm_conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice_api = Api::new(
        &emu,
        Auth::Bearer(
            emu.handle()
                .issue_oauth2_token(&alice, &["dm.read dm.write tweet.read users.read"])
                .unwrap(),
        ),
    );
    let listings = |who: &str| {
        [
            "/2/dm_events".to_owned(),
            format!("/2/dm_conversations/with/{who}/dm_events"),
            format!("/2/dm_conversations/{conv}/dm_events"),
            "/2/dm_events?event_types=MessageCreate".to_owned(),
        ]
    };
    for path in listings(&alice) {
        assert!(all_ids(&api, &path).await.contains(&id), "{path}");
    }

    assert_eq!(api.delete(&format!("/2/dm_events/{id}")).await.status, 200);

    // For me it is gone, and its lookup reads exactly like that of an id that never existed.
    let unknown = "1234567890123456789";
    assert_eq!(
        lookup_shape(&api, &id).await,
        lookup_shape(&api, unknown).await
    );
    let (status, body) = lookup_shape(&api, &id).await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["resource_id"], "ID");
    for path in listings(&alice) {
        assert!(!all_ids(&api, &path).await.contains(&id), "{path}");
    }
    assert!(emu.handle().event(&id).is_none());
    assert!(emu.handle().event_as(&me, &id).is_none());
    // Through OAuth 1.0a too: the credential does not matter, the user does.
    let v = Api::new(&emu, Auth::oauth1(&emu))
        .get(&format!("/2/dm_events/{id}"))
        .await
        .json();
    assert!(v.get("data").is_none() && v.get("errors").is_some());

    // Alice still sees it everywhere.
    let v = alice_api
        .get(&format!("/2/dm_events/{id}?dm_event.fields=sender_id"))
        .await
        .json();
    assert_eq!(v["data"]["text"], "soon gone for me");
    assert_eq!(v["data"]["sender_id"], me.as_str());
    for path in listings(&me) {
        assert!(all_ids(&alice_api, &path).await.contains(&id), "{path}");
    }
    assert_eq!(
        emu.handle().event_as(&alice, &id).unwrap().text.as_deref(),
        Some("soon gone for me")
    );
    assert!(emu.handle().event_as(&alice, "1").is_none());
    assert!(emu.handle().event_as("42", &id).is_none());
    assert!(emu.handle().event_as("x", &id).is_none());
    assert!(emu.handle().event_as(&alice, "x").is_none());
    // She may not delete what she did not send, deleted for its sender or not.
    assert_eq!(
        alice_api.delete(&format!("/2/dm_events/{id}")).await.status,
        403
    );

    // Deleting again is deleting an unknown id: the same 404.
    let again = api.delete(&format!("/2/dm_events/{id}")).await;
    let never = api.delete(&format!("/2/dm_events/{unknown}")).await;
    assert_eq!(again.status, 404);
    assert_eq!(never.status, 404);
    assert_eq!(
        again.json().to_string().replace(&id, "ID"),
        never.json().to_string().replace(unknown, "ID")
    );
    assert_eq!(
        again.json()["type"],
        "https://api.twitter.com/2/problems/resource-not-found"
    );
}

#[tokio::test]
async fn large_worlds_page_quickly() {
    let emu = xdm_emulator::Emulator::builder()
        .seed_events(100_000)
        .rate_limits(xdm_emulator::RateLimits::off())
        .start()
        .await
        .unwrap();
    assert_eq!(emu.handle().event_count(), 100_000);
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let v = api.get("/2/dm_events?max_results=100").await.json();
    assert_eq!(v["meta"]["result_count"], 100);
}

#[tokio::test]
async fn seeded_worlds_repeat() {
    let a = xdm_emulator::Emulator::builder()
        .seed(7)
        .seed_events(30)
        .clock(xdm_emulator::ManualClock::new(1_790_000_000_000))
        .start()
        .await
        .unwrap();
    let b = xdm_emulator::Emulator::builder()
        .seed(7)
        .seed_events(30)
        .clock(xdm_emulator::ManualClock::new(1_790_000_000_000))
        .start()
        .await
        .unwrap();
    assert_eq!(a.handle().events(), b.handle().events());
    assert_eq!(a.credentials(), b.credentials());
    let empty = xdm_emulator::Emulator::builder()
        .empty_world()
        .start()
        .await
        .unwrap();
    assert!(empty.handle().events().is_empty());
    assert_eq!(empty.handle().users().len(), 6);
    let api = Api::new(&empty, Auth::oauth2(&empty));
    assert_eq!(
        api.get("/2/dm_events").await.json(),
        json!({"meta": {"result_count": 0}})
    );
}
