//! The stream line decoder: framing, every kind of line, every way a line can be wrong, and
//! the same items under any chunking of the same bytes.

use proptest::prelude::*;
use xdm_core::activity::ActivityEvent;
use xdm_core::activity::stream::{
    ConnectionIssue, DisconnectType, LineDecoder, StreamItem, StreamProblemKind,
    decode_connection_problem, decode_line,
};

fn delivery_line(id: &str, text: &str) -> String {
    let text = serde_json::to_string(text).unwrap();
    format!(
        r#"{{"data":{{"event_type":"dm.sent","filter":{{"user_id":"2"}},"payload":{{"direct_message_events":[{{"type":"message_create","id":"{id}","message_create":{{"sender_id":"2","target":{{"recipient_id":"3"}},"message_data":{{"text":{text}}}}}}}]}}}}}}"#
    )
}

fn drain(decoder: &mut LineDecoder) -> Vec<StreamItem> {
    std::iter::from_fn(|| decoder.poll_item()).collect()
}

fn decode_all(bytes: &[u8], max: usize) -> Vec<StreamItem> {
    let mut decoder = LineDecoder::with_max_line_len(max);
    decoder.push(bytes);
    decoder.finish();
    drain(&mut decoder)
}

/// The only item of one line.
fn one(line: &[u8]) -> StreamItem {
    let mut items = decode_line(line);
    assert_eq!(items.len(), 1, "{items:?}");
    items.remove(0)
}

fn malformed_reason(item: &StreamItem) -> &str {
    match item {
        StreamItem::Malformed(m) => &m.reason,
        other => panic!("not malformed: {other:?}"),
    }
}

#[test]
fn blank_lines_are_keep_alives_with_either_line_ending() {
    let items = decode_all(b"\r\n\n  \r\n\t\n", 100);
    assert_eq!(items, vec![StreamItem::KeepAlive; 4]);
}

#[test]
fn a_delivery_line_decodes_and_nothing_is_returned_before_its_end() {
    let line = delivery_line("42", "hi");
    let mut decoder = LineDecoder::new();
    decoder.push(line.as_bytes());
    assert_eq!(decoder.poll_item(), None);
    assert_eq!(decoder.buffered_len(), line.len());
    decoder.push(b"\r\n");
    let Some(StreamItem::Delivery(delivery)) = decoder.poll_item() else {
        panic!()
    };
    let ActivityEvent::Message(m) = &delivery.events[0] else {
        panic!()
    };
    assert_eq!(m.id(), "42");
    assert_eq!(decoder.buffered_len(), 0);
    assert_eq!(decoder.max_line_len(), LineDecoder::DEFAULT_MAX_LINE_LEN);
}

#[test]
fn a_line_with_data_and_errors_yields_both_in_order() {
    let line = br#"{"data":{"event_type":"dm.read","payload":{}},"errors":[{"title":"x","type":"https://api.x.com/2/problems/brand-new"}]}"#;
    let items = decode_line(line);
    assert!(matches!(items[0], StreamItem::Delivery(_)));
    let StreamItem::Problems(problems) = &items[1] else {
        panic!()
    };
    assert_eq!(problems[0].kind, StreamProblemKind::Other);
    assert_eq!(
        problems[0].type_uri(),
        Some("https://api.x.com/2/problems/brand-new")
    );
    assert!(!problems[0].is_operational_disconnect());
}

#[test]
fn replayed_lines_are_marked() {
    let line = br#"{"data":{"event_type":"dm.read","payload":{}},"meta":{"replay":true}}"#;
    let StreamItem::Delivery(delivery) = one(line) else {
        panic!()
    };
    assert!(delivery.replay);
    // A `meta` of another shape is not a replay.
    let line = br#"{"data":{"event_type":"dm.read","payload":{}},"meta":{"replay":"yes"}}"#;
    let StreamItem::Delivery(delivery) = one(line) else {
        panic!()
    };
    assert!(!delivery.replay);
}

#[test]
fn operational_disconnects_are_recognised_on_both_hosts() {
    for host in ["api.x.com", "api.twitter.com"] {
        let line = format!(
            r#"{{"errors":[{{"title":"operational-disconnect","disconnect_type":"ForceDisconnect","type":"https://{host}/2/problems/operational-disconnect"}}]}}"#
        );
        let StreamItem::Problems(problems) = one(line.as_bytes()) else {
            panic!()
        };
        assert_eq!(problems[0].kind, StreamProblemKind::OperationalDisconnect);
        assert_eq!(
            problems[0].disconnect_type,
            Some(DisconnectType::ForceDisconnect)
        );
    }
    // An unknown disconnect type under another problem type still says the stream ends.
    let line = br#"{"errors":[{"disconnect_type":"SomethingNew","type":"https://example.com/2/problems/operational-disconnect"}]}"#;
    let StreamItem::Problems(problems) = one(line) else {
        panic!()
    };
    assert_eq!(problems[0].kind, StreamProblemKind::Other);
    assert_eq!(
        problems[0].disconnect_type,
        Some(DisconnectType::Other("SomethingNew".into()))
    );
    assert!(problems[0].is_operational_disconnect());
}

#[test]
fn malformed_lines_are_reported_and_skipped() {
    let cases: &[(&[u8], &str)] = &[
        (b"not json", "not valid JSON"),
        (b"[1,2]", "not a JSON object"),
        (br#"{"data":{"event_type":"dm.sent""#, "JSON cut short"),
        (
            br#"{"hello":1}"#,
            "an object with neither `data` nor `errors`",
        ),
        (br#"{}"#, "an object with neither `data` nor `errors`"),
        (br#"{"data":5}"#, "`data`: not a JSON object"),
        (br#"{"data":{"filter":7}}"#, "`data`: not a JSON object"),
        (br#"{"errors":5}"#, "`errors` is not a list"),
        (b"\xff\xfe{}", "not valid JSON"),
    ];
    for (line, reason) in cases {
        let items = decode_line(line);
        assert_eq!(items.len(), 1, "{items:?}");
        let got = malformed_reason(&items[0]);
        assert!(got.starts_with(reason), "{got:?} for {line:?}");
        let StreamItem::Malformed(m) = &items[0] else {
            unreachable!()
        };
        assert_eq!(m.len, line.len());
    }
    // The decoder goes on after one.
    let mut bytes = b"garbage\r\n".to_vec();
    bytes.extend_from_slice(delivery_line("7", "after").as_bytes());
    bytes.extend_from_slice(b"\r\n");
    let items = decode_all(&bytes, 1000);
    assert!(matches!(items[0], StreamItem::Malformed(_)));
    assert!(matches!(items[1], StreamItem::Delivery(_)));
}

#[test]
fn over_long_lines_are_skipped_without_being_buffered() {
    let max = 64;
    let mut decoder = LineDecoder::with_max_line_len(max);
    for _ in 0..1000 {
        decoder.push(&[b'x'; 97]);
        assert!(decoder.buffered_len() <= max + 1);
    }
    assert_eq!(decoder.poll_item(), None);
    decoder.push(b"\r\n\r\n");
    assert_eq!(
        decoder.poll_item(),
        Some(StreamItem::Oversized { len: 97_000 })
    );
    assert_eq!(decoder.poll_item(), Some(StreamItem::KeepAlive));
    // A line of exactly the limit is kept, with either ending; one more byte is not.
    let exact = "y".repeat(max);
    let items = decode_all(format!("{exact}\r\n{exact}\n{exact}z\r\n").as_bytes(), max);
    assert!(matches!(&items[0], StreamItem::Malformed(m) if m.len == max));
    assert!(matches!(&items[1], StreamItem::Malformed(m) if m.len == max));
    assert_eq!(items[2], StreamItem::Oversized { len: max + 1 });
}

#[test]
fn finish_decodes_an_unfinished_last_line() {
    // A connection dropped mid-line: the piece is reported, not lost silently.
    let line = delivery_line("1", "cut");
    let mut decoder = LineDecoder::new();
    decoder.push(&line.as_bytes()[..line.len() / 2]);
    decoder.finish();
    assert!(malformed_reason(&decoder.poll_item().unwrap()).starts_with("JSON cut short"));
    // The decoder is ready for the next connection.
    decoder.push(b"\r\n");
    assert_eq!(drain(&mut decoder), [StreamItem::KeepAlive]);
    // Nothing pending: nothing reported.
    decoder.finish();
    assert_eq!(decoder.poll_item(), None);
    // Dropped in the middle of an over-long line.
    let mut small = LineDecoder::with_max_line_len(4);
    small.push(b"0123456789");
    small.finish();
    assert_eq!(small.poll_item(), Some(StreamItem::Oversized { len: 10 }));
}

#[test]
fn the_connection_refusal_body_decodes_in_both_forms() {
    let bare = br#"{"title":"ConnectionException","connection_issue":"ProvisioningSubscription","type":"https://api.twitter.com/2/problems/streaming-connection"}"#;
    let problem = decode_connection_problem(bare).unwrap();
    assert_eq!(problem.kind, StreamProblemKind::StreamingConnection);
    assert_eq!(
        problem.connection_issue,
        Some(ConnectionIssue::ProvisioningSubscription)
    );
    assert!(!problem.is_too_many_connections());
    let wrapped = br#"{"errors":[{"connection_issue":"Novel","detail":"d"}]}"#;
    let problem = decode_connection_problem(wrapped).unwrap();
    assert_eq!(
        problem.connection_issue,
        Some(ConnectionIssue::Other("Novel".into()))
    );
    assert_eq!(problem.detail(), Some("d"));
    for body in [
        &b"<html>"[..],
        b"[1]",
        br#"{"errors":5}"#,
        br#"{"errors":[]}"#,
        br#"{"errors":[5]}"#,
    ] {
        assert_eq!(decode_connection_problem(body), None, "{body:?}");
    }
}

/// One line of a generated stream, without its ending.
fn line(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        ("[0-9]{1,19}", "\\PC{0,24}").prop_map(|(id, text)| delivery_line(&id, &text)),
        Just(r#"{"errors":[{"title":"operational-disconnect","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#.to_owned()),
        "[a-z{}\\[\\]\": ]{1,40}",
        // Lines around the limit, in bytes of multi-byte characters and plain ones.
        (max.saturating_sub(3)..max + 40).prop_map(|n| "é".repeat(n / 2) + &"a".repeat(n % 2)),
        (max.saturating_sub(3)..max + 3).prop_map(|n| "a".repeat(n)),
    ]
}

fn stream(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((line(max), any::<bool>()), 0..12).prop_map(|lines| {
        let mut bytes = Vec::new();
        for (line, crlf) in lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any chunking of the same bytes gives the same items, and memory stays bounded while
    /// the chunks arrive.
    #[test]
    fn items_do_not_depend_on_chunking(
        bytes in stream(300),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..40),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let max = 300;
        let mut input = bytes;
        input.extend_from_slice(&tail);
        let whole = decode_all(&input, max);

        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        at.sort_unstable();
        let mut decoder = LineDecoder::with_max_line_len(max);
        let mut items = Vec::new();
        let mut start = 0;
        for end in at.into_iter().chain([input.len()]) {
            decoder.push(&input[start..end]);
            prop_assert!(decoder.buffered_len() <= max + 1);
            items.extend(drain(&mut decoder));
            start = end;
        }
        decoder.finish();
        items.extend(drain(&mut decoder));
        prop_assert_eq!(items, whole);
    }

    /// A line within the limit decodes to what `decode_line` says of it alone.
    #[test]
    fn the_decoder_agrees_with_decode_line(l in line(300), crlf in any::<bool>()) {
        prop_assume!(l.len() <= 300);
        let mut bytes = l.clone().into_bytes();
        bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        prop_assert_eq!(decode_all(&bytes, 300), decode_line(l.as_bytes()));
    }
}
