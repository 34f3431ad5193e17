use serde_json::json;

use super::*;

fn includes(value: serde_json::Value) -> Includes {
    serde_json::from_value(value).unwrap()
}

#[test]
fn merge_skips_known_ids_across_pages_and_spellings() {
    let mut first = includes(json!({
        "users": [{"id": "1", "name": "first"}],
        "tweets": [{"id": "10"}],
        "media": [{"media_key": "3_1"}],
        "future": [{"id": "a"}],
        "scalar": 1
    }));
    let second = includes(json!({
        "users": [{"id": "1", "name": "later copy"}, {"id": "2"}, {"name": "no id"}, {"name": "no id"}],
        "posts": [{"id": "10"}, {"id": "11"}],
        "media": [{"media_key": "3_1"}, {"media_key": "3_2"}],
        "places": [{"id": "p"}],
        "future": [{"id": "a"}, {"id": "b"}, 5],
        "scalar": 2,
        "new_list": [1]
    }));
    first.merge(second);
    let users = first.users.as_ref().unwrap();
    assert_eq!(users.len(), 3, "{users:?}");
    assert_eq!(users[0].name.as_deref(), Some("first"));
    assert_eq!(first.tweets.as_ref().unwrap().len(), 1);
    assert_eq!(
        first.posts.as_ref().unwrap().len(),
        1,
        "10 was known as a tweet"
    );
    assert_eq!(first.all_tweets().count(), 2);
    assert_eq!(first.media.as_ref().unwrap().len(), 2);
    assert_eq!(first.places.as_ref().unwrap().len(), 1);
    assert_eq!(first.extra["future"], json!([{"id": "a"}, {"id": "b"}, 5]));
    assert_eq!(first.extra["scalar"], json!(1));
    assert_eq!(first.extra["new_list"], json!([1]));
}

#[test]
fn merging_into_empty_and_merging_empty_are_identities() {
    let page = includes(json!({"users": [{"id": "1"}], "posts": [{"id": "2"}, {"text": "no id"}]}));
    let mut empty = Includes::default();
    assert!(empty.is_empty());
    empty.merge(page.clone());
    assert_eq!(empty, page);
    let mut again = page.clone();
    again.merge(Includes::default());
    assert_eq!(again, page);
    again.merge(page.clone());
    assert_eq!(again, page, "merging a page twice adds nothing");
}

#[test]
fn index_resolves_every_kind_of_reference() {
    let inc = includes(json!({
        "users": [{"id": "1", "username": "a"}, {"id": "2", "username": "b"}, {"id": "1", "username": "dup"}],
        "tweets": [{"id": "10"}],
        "posts": [{"id": "11"}],
        "media": [{"media_key": "3_5", "type": "photo"}],
        "places": [{"id": "p1"}]
    }));
    let event: DmEvent = serde_json::from_value(json!({
        "sender_id": "1",
        "participant_ids": ["2", "404", "1"],
        "attachments": {"media_keys": ["3_5", "3_missing"], "card_ids": null},
        "referenced_tweets": [{"id": "10"}],
        "referenced_posts": [{"id": "11"}, {"id": "12"}]
    }))
    .unwrap();
    let index = inc.index();
    assert_eq!(index.sender(&event).unwrap().username.as_deref(), Some("a"));
    let names: Vec<_> = index
        .participants(&event)
        .iter()
        .map(|u| u.username.clone().unwrap())
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(index.media_of(&event).len(), 1);
    assert_eq!(index.tweets_of(&event).len(), 2);
    assert!(index.place("p1").is_some() && index.place("p2").is_none());
    assert!(
        index.user("404").is_none()
            && index.tweet("12").is_none()
            && index.media("3_missing").is_none()
    );
    let resolved = index.resolve(&event);
    assert_eq!(resolved.sender.and_then(|u| u.id.as_deref()), Some("1"));
    assert_eq!(resolved.participants.len(), 2);
    assert_eq!(resolved.media.len(), 1);
    assert_eq!(resolved.tweets.len(), 2);
    let lonely = DmEvent::default();
    assert_eq!(index.resolve(&lonely).sender, None);
}

#[test]
fn a_full_page_resolves_through_one_index() {
    let users: Vec<_> = (0..100).map(|i| json!({"id": i.to_string()})).collect();
    let inc = includes(json!({ "users": users }));
    let events: Vec<DmEvent> = (0..100)
        .map(|i| serde_json::from_value(json!({"sender_id": (99 - i).to_string()})).unwrap())
        .collect();
    let index = inc.index();
    for (i, event) in events.iter().enumerate() {
        let sender = index.sender(event).unwrap();
        assert_eq!(sender.id.as_deref(), Some((99 - i).to_string().as_str()));
    }
}
