//! The input both activity benchmarks decode: the documented `dm.received` delivery, one per
//! line, with a fresh DM id each and a keep-alive every ten lines. Included by path from
//! `crates/xdm-core/benches/activity.rs` and `benches/src/bin/xdm-activity.rs`, so that the
//! in-crate and the cross-peer numbers measure the same bytes.

const SAMPLE: &[u8] = include_bytes!("../../spec/fixtures/activity/dm_received.json");
const SAMPLE_ID: &str = "2080765901528535096";

/// The sample on one line, with the DM id replaced by `id`.
pub(crate) fn delivery_line(id: u64) -> String {
    let value: serde_json::Value = serde_json::from_slice(SAMPLE).expect("the fixture is JSON");
    let line = serde_json::to_string(&value).expect("a value serialises");
    line.replace(SAMPLE_ID, &id.to_string())
}

/// `lines` deliveries as the stream sends them (`\r\n` after each, a keep-alive every ten).
pub(crate) fn stream_bytes(lines: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..lines {
        bytes.extend_from_slice(delivery_line(3_000_000_000_000_000_000 + i).as_bytes());
        bytes.extend_from_slice(b"\r\n");
        if i % 10 == 9 {
            bytes.extend_from_slice(b"\r\n");
        }
    }
    bytes
}
