//! What the commands print: lines for people, JSON Lines for scripts, and the small amount
//! of calendar arithmetic both need.
//!
//! Times are shown in UTC, marked as such: the local zone would need the system's zone
//! database, which is not worth a dependency for a time stamp on a message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use xdm_core::includes::IncludesIndex;
use xdm_core::models::{DmEvent, EventType};

use crate::exit::{Failure, Kind};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Seconds since the epoch of an RFC 3339 time such as `2022-10-28T01:57:27.000Z` or
/// `2022-10-28T03:57:27+02:00`; `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn date_time_utc(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `HH:MM:SS UTC` of a moment.
pub fn clock_utc(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64;
    let s = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
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

/// A text on one line: newlines shown as `⏎`, so that one event stays one line.
fn one_line(text: &str) -> String {
    text.replace("\r\n", "\n").replace(['\n', '\r'], " ⏎ ")
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
    use xdm_core::models::Includes;

    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_calendar() {
        let t = parse_rfc3339("2022-10-28T01:57:27.000Z").unwrap();
        assert_eq!(t, 1_666_922_247);
        assert_eq!(date_time_utc(t), "2022-10-28 01:57:27");
        assert_eq!(parse_rfc3339("2022-10-28T03:57:27+02:00"), Some(t));
        assert_eq!(date_time_utc(0), "1970-01-01 00:00:00");
        assert_eq!(date_time_utc(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn malformed_times_are_refused() {
        for s in [
            "",
            "2022-10-28",
            "2022-13-28T01:57:27Z",
            "2022-10-28T01:57:27",
            "2022-10-28T01:57:27.Z",
            "2022-10-28T01:57:27+0200",
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
