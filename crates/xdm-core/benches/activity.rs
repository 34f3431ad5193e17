//! The real-time receive paths: stream lines into events, and a webhook delivery through
//! verification, decoding and deduplication.
//!
//! Both read the documented `dm.received` delivery of `spec/fixtures/activity/dm_received.json`
//! (one message, two hydrated users), compacted to one line as X sends it, with a distinct DM
//! id per copy so that deduplication sees new messages:
//!
//! - `stream_decode`: 1,000 such lines with a keep-alive after every tenth, `\r\n`-terminated,
//!   pushed through [`LineDecoder`] in 16 KiB chunks, items drained; throughput in bytes;
//!   beside it, `value_baseline` splits the same bytes on `\n` and parses each line into a
//!   `serde_json::Value`, the least any JSON consumer pays; and `decode_delivery_per_line`
//!   splits the same way and calls [`decode_delivery`] on each non-blank line (the decoding
//!   without the framing);
//! - `webhook_receive`: one signed POST per iteration, through [`classify`] (signature check
//!   and decode), then [`EventDeduper::retain_new`]; per event. The in-process
//!   `WebhookReceiver::handle` (which adds the queue) and the hyper server are measured by
//!   `xdm-activity` in the `xdm-benches` package, which may depend on the client.
//!
//! Run with `cargo bench -p xdm-core --bench activity`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xdm_core::activity::decode_delivery;
use xdm_core::activity::dedup::EventDeduper;
use xdm_core::activity::stream::{LineDecoder, StreamItem};
use xdm_core::activity::webhook::{ConsumerSecret, Inbound, SIGNATURE_HEADER, classify};

#[path = "../../../benches/src/activity_input.rs"]
mod activity_input;
use activity_input::{delivery_line, stream_bytes};

fn stream_decode(c: &mut Criterion) {
    let bytes = stream_bytes(1_000);
    // Guard against benchmarking an error path.
    let mut check = LineDecoder::new();
    check.push(&bytes);
    let deliveries = std::iter::from_fn(|| check.poll_item())
        .filter(|item| matches!(item, StreamItem::Delivery(_)))
        .count();
    assert_eq!(deliveries, 1_000);

    let mut group = c.benchmark_group("stream_decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("1000_deliveries_16k_chunks", |b| {
        b.iter(|| {
            let mut decoder = LineDecoder::new();
            let mut items = 0usize;
            for chunk in bytes.chunks(16 * 1024) {
                decoder.push(black_box(chunk));
                while let Some(item) = decoder.poll_item() {
                    black_box(&item);
                    items += 1;
                }
            }
            items
        })
    });
    group.bench_function("value_baseline", |b| {
        b.iter(|| {
            black_box(&bytes)
                .split(|&b| b == b'\n')
                .filter(|line| {
                    line.len() > 1 && serde_json::from_slice::<serde_json::Value>(line).is_ok()
                })
                .count()
        })
    });
    group.bench_function("decode_delivery_per_line", |b| {
        b.iter(|| {
            black_box(&bytes)
                .split(|&b| b == b'\n')
                .filter(|line| {
                    let line = line.trim_ascii();
                    !line.is_empty() && decode_delivery(line).is_ok()
                })
                .count()
        })
    });
    group.finish();
}

fn webhook_receive(c: &mut Criterion) {
    let secret = ConsumerSecret::new("example_consumer_secret");
    let requests: Vec<http::Request<Bytes>> = (0..4_096u64)
        .map(|i| {
            let body = Bytes::from(delivery_line(4_000_000_000_000_000_000 + i));
            http::Request::post("/webhooks/x")
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, secret.sign(&body))
                .body(body)
                .expect("a valid request")
        })
        .collect();
    assert!(matches!(
        classify(&requests[0], &secret),
        Ok(Inbound::Delivery(_))
    ));

    let mut group = c.benchmark_group("webhook_receive");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_decode", |b| {
        let mut next = 0;
        b.iter(|| {
            let request = &requests[next % requests.len()];
            next += 1;
            classify(black_box(request), &secret)
        })
    });
    group.bench_function("verify_decode_dedupe", |b| {
        // Smaller than the 4,096 bodies it cycles through: each id has been evicted before
        // it comes round again, so every event is new (and evicts one), the steady state of
        // a receiver that has run for a while, rather than the cheaper duplicate path.
        let mut deduper = EventDeduper::with_capacity(1_024);
        let mut next = 0;
        b.iter(|| {
            let request = &requests[next % requests.len()];
            next += 1;
            match classify(black_box(request), &secret) {
                Ok(Inbound::Delivery(mut delivery)) => {
                    let dropped = deduper.retain_new(&mut delivery);
                    assert_eq!(dropped, 0, "every event is new");
                    dropped
                }
                _ => unreachable!("every request is a signed delivery"),
            }
        })
    });
    group.finish();
}

criterion_group!(benches, stream_decode, webhook_receive);
criterion_main!(benches);
