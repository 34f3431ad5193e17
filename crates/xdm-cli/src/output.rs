//! What the commands print: lines for people, JSON Lines for scripts, and the times both
//! show (through `jiff`).
//!
//! Times are shown in UTC, marked as such: the local zone would need the system's zone
//! database, which is not worth carrying for a time stamp on a message.

use std::time::SystemTime;

use jiff::Timestamp;

use serde_json::Value;
use xdm_core::includes::IncludesIndex;
use xdm_core::models::{DmEvent, EventType};

use crate::exit::{Failure, Kind};

/// The moment of an RFC 3339 time such as `2022-10-28T01:57:27.000Z` or
/// `2022-10-28T03:57:27+02:00`; `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn date_time_utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A system time as a timestamp; times beyond the calendar's range are clamped to it.
fn timestamp(at: SystemTime) -> Timestamp {
    Timestamp::try_from(at).unwrap_or_else(|_| {
        if at > SystemTime::UNIX_EPOCH {
            Timestamp::MAX
        } else {
            Timestamp::MIN
        }
    })
}

/// `HH:MM:SS UTC` of a moment on the same UTC day as `now`, else `YYYY-MM-DD HH:MM:SS UTC`:
/// a time of day alone would read as today.
pub fn moment_utc(at: SystemTime, now: SystemTime) -> String {
    let (at, now) = (timestamp(at), timestamp(now));
    let day = |t: Timestamp| t.strftime("%Y-%m-%d").to_string();
    if day(at) == day(now) {
        format!("{} UTC", at.strftime("%H:%M:%S"))
    } else {
        format!("{} UTC", date_time_utc(at))
    }
}

/// `1h 2m 3s`, `4m 5s`, `6s`.
pub fn duration_words(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// One event on one line for people: time, sender, text, attachments.
pub fn event_line(event: &DmEvent, index: &IncludesIndex<'_>) -> String {
    let when = event
        .created_at
        .as_deref()
        .and_then(parse_rfc3339)
        .map(date_time_utc)
        .unwrap_or_else(|| "-".repeat(19));
    let who = |id: &str| match index.user(id).and_then(|u| u.username.as_deref()) {
        Some(name) => format!("@{name}"),
        None => id.to_owned(),
    };
    let sender = event.sender_id.as_deref().map(who);
    let mut line = format!("{when}  {}", sender.as_deref().unwrap_or("?"));
    match event.event_type {
        Some(EventType::ParticipantsJoin) | Some(EventType::ParticipantsLeave) => {
            let verb = if event.event_type == Some(EventType::ParticipantsJoin) {
                "joined"
            } else {
                "left"
            };
            let people: Vec<String> = event
                .participant_ids
                .iter()
                .flatten()
                .map(|id| who(id))
                .collect();
            line = format!("{when}  {} {verb}", people.join(", "));
        }
        _ => {
            if let Some(text) = event.text.as_deref() {
                line.push_str("  ");
                line.push_str(&one_line(text));
            }
        }
    }
    for key in event.media_keys() {
        let media = index.media(key);
        let kind = media
            .and_then(|m| m.media_type.as_ref())
            .map(|t| format!("{t:?}").to_lowercase())
            .unwrap_or_else(|| "media".to_owned());
        match media.and_then(|m| m.url.as_deref().or(m.preview_image_url.as_deref())) {
            Some(url) => line.push_str(&format!("  [{kind}: {url}]")),
            None => line.push_str(&format!("  [{kind} {key}]")),
        }
    }
    line.push_str(&format!("  ({})", event.id.as_deref().unwrap_or("?")));
    line
}

/// A text on one line for a terminal: newlines shown as `⏎`, so that one event stays one
/// line, and every other control character (an escape sequence's ESC among them) as a space,
/// so that a message cannot move the cursor, recolour or clear the reader's terminal.
pub fn one_line(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(|part| {
            part.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ⏎ ")
}

/// The `data` of a response body as it arrived: a list's items, or a single object.
///
/// Values are re-encoded compactly; keys keep their order (serde_json's `preserve_order`),
/// so each line is the object X sent, minus insignificant whitespace.
pub fn raw_data(body: &[u8]) -> Result<Vec<Value>, Failure> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Failure::new(Kind::Local, format!("X's answer is not JSON: {e}")))?;
    Ok(match value {
        Value::Object(mut map) => match map.remove("data") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one],
        },
        _ => Vec::new(),
    })
}

/// Prints one JSON value as a line on standard output.
pub fn json_line(value: &Value) {
    println!("{value}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_cannot_send_control_characters_to_the_terminal() {
        assert_eq!(
            super::one_line("red\x1b[31m\r\nclear\x1b[2J\x07\rend\tx"),
            "red [31m ⏎ clear [2J  ⏎ end x"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_becomes_one_line_without_control_characters(text in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f a-z]*") {
            let line = super::one_line(&text);
            proptest::prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
            let breaks = text.replace("\r\n", "\n").matches(['\n', '\r']).count();
            proptest::prop_assert_eq!(line.matches('⏎').count(), breaks + text.matches('⏎').count());
        }
    }

    use xdm_core::models::Includes;

    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_calendar() {
        let t = parse_rfc3339("2022-10-28T01:57:27.000Z").unwrap();
        assert_eq!(t.as_second(), 1_666_922_247);
        assert_eq!(date_time_utc(t), "2022-10-28 01:57:27");
        assert_eq!(parse_rfc3339("2022-10-28T03:57:27+02:00"), Some(t));
        assert_eq!(date_time_utc(Timestamp::UNIX_EPOCH), "1970-01-01 00:00:00");
        let leap_day = Timestamp::from_second(951_782_400).unwrap();
        assert_eq!(date_time_utc(leap_day), "2000-02-29 00:00:00");
    }

    #[test]
    fn a_moment_on_another_day_shows_its_date() {
        use std::time::{Duration, UNIX_EPOCH};
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_500);
        let later_today = now + Duration::from_secs(210);
        assert_eq!(moment_utc(later_today, now), "22:25:10 UTC");
        let tomorrow = now + Duration::from_secs(3 * 3600);
        assert_eq!(moment_utc(tomorrow, now), "2023-11-15 01:21:40 UTC");
        // Centuries ahead, and beyond the calendar's range, are dates too.
        let far = UNIX_EPOCH + Duration::from_secs(32_503_680_000);
        assert_eq!(moment_utc(far, now), "3000-01-01 00:00:00 UTC");
        let beyond = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100);
        assert!(moment_utc(beyond, now).starts_with("9999-12-"));
    }

    #[test]
    fn malformed_times_are_refused() {
        for s in [
            "",
            "2022-10-28",
            "2022-13-28T01:57:27Z",
            "2022-10-28T01:57:27",
            "2022-10-28T01:57:27.Z",
            "yyyy-10-28T01:57:27Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(5), "5s");
        assert_eq!(duration_words(200), "3m 20s");
        assert_eq!(duration_words(3725), "1h 2m 5s");
    }

    #[test]
    fn an_event_line_names_the_sender_and_media() {
        let includes: Includes = serde_json::from_str(
            r#"{"users":[{"id":"9","username":"alice"}],
                "media":[{"media_key":"3_1","type":"photo","url":"https://ton.example/p.jpg"}]}"#,
        )
        .unwrap();
        let event: DmEvent = serde_json::from_str(
            r#"{"id":"5","event_type":"MessageCreate","text":"hi\nthere","sender_id":"9",
                "created_at":"2022-10-28T01:57:27.000Z","attachments":{"media_keys":["3_1"]}}"#,
        )
        .unwrap();
        let index = includes.index();
        assert_eq!(
            event_line(&event, &index),
            "2022-10-28 01:57:27  @alice  hi ⏎ there  [photo: https://ton.example/p.jpg]  (5)"
        );
    }

    #[test]
    fn a_join_lists_who_joined() {
        let event: DmEvent = serde_json::from_str(
            r#"{"id":"6","event_type":"ParticipantsJoin","participant_ids":["7","8"]}"#,
        )
        .unwrap();
        let includes = Includes::default();
        let line = event_line(&event, &includes.index());
        assert!(line.ends_with("7, 8 joined  (6)"), "{line}");
    }

    #[test]
    fn raw_data_keeps_the_objects_as_sent() {
        let body = br#"{"data":[{"z":1,"a":{"k":"v"}},{"id":"2"}],"meta":{"result_count":2}}"#;
        let items = raw_data(body).unwrap();
        assert_eq!(items[0].to_string(), r#"{"z":1,"a":{"k":"v"}}"#);
        assert_eq!(raw_data(br#"{"data":{"id":"1"}}"#).unwrap().len(), 1);
        assert!(
            raw_data(br#"{"meta":{"result_count":0}}"#)
                .unwrap()
                .is_empty()
        );
        assert_eq!(raw_data(b"nope").unwrap_err().kind, Kind::Local);
    }
}
