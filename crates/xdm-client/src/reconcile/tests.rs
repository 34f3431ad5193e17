use std::time::Duration;

use super::*;

fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

#[test]
fn an_event_whose_time_cannot_be_read_is_not_the_message() {
    let me = SenderRule::Is(UserId::parse("1").unwrap());
    let text = Message::text("hi").unwrap();
    let since = at(0, 0);
    for bad in [
        "",
        "2022-10-28",
        "2022-13-28T00:11:42Z",
        "2022-10-28T25:11:42Z",
        "2022-10-28T00:11:42",
        "2022-1a-28T00:11:42Z",
    ] {
        let dated = event(&format!(
            r#"{{"sender_id":"1","text":"hi","created_at":"{bad}"}}"#
        ));
        assert!(!is_the_message(&dated, &text, &me, since), "{bad}");
    }
    // Times before the epoch, and with an offset, compare as instants.
    let early = event(r#"{"sender_id":"1","text":"hi","created_at":"1969-12-31T23:59:59Z"}"#);
    assert!(!is_the_message(&early, &text, &me, since));
    let offset = event(r#"{"sender_id":"1","text":"hi","created_at":"2022-10-28T02:11:42+02:00"}"#);
    assert!(is_the_message(&offset, &text, &me, at(1_666_915_902, 0)));
    assert!(!is_the_message(&offset, &text, &me, at(1_666_915_902, 1)));
}

fn event(json: &str) -> DmEvent {
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_match_needs_sender_text_attachment_and_time() {
    let me = SenderRule::Is(UserId::parse("1").unwrap());
    let since = at(1_666_915_900, 0);
    let text = Message::text("hi").unwrap();
    let with_media = Message::text("hi")
        .unwrap()
        .with_attachment("99".parse().unwrap())
        .unwrap();
    let base = r#""sender_id":"1","text":"hi","created_at":"2022-10-28T00:11:42.000Z""#;
    let plain = event(&format!("{{{base}}}"));
    let attached = event(&format!(
        r#"{{{base},"attachments":{{"media_keys":["3_99"]}}}}"#
    ));
    assert!(is_the_message(&plain, &text, &me, since));
    assert!(!is_the_message(&plain, &with_media, &me, since));
    assert!(is_the_message(&attached, &with_media, &me, since));
    assert!(!is_the_message(&attached, &text, &me, since));
    assert!(!is_the_message(
        &plain,
        &Message::text("ho").unwrap(),
        &me,
        since
    ));
    assert!(!is_the_message(&plain, &text, &me, at(1_666_915_903, 0)));
    let other = SenderRule::Is(UserId::parse("2").unwrap());
    assert!(!is_the_message(&plain, &text, &other, since));
    let not_peer = SenderRule::IsNot(UserId::parse("2").unwrap());
    assert!(is_the_message(&plain, &text, &not_peer, since));
    let undated = event(r#"{"sender_id":"1","text":"hi"}"#);
    assert!(!is_the_message(&undated, &text, &me, since));
}
