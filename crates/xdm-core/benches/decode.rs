//! Decoding one full page of DM events: typed models against `serde_json::Value`.
//!
//! The fixture (`data/dm_events_page_100.json`, written by `benches/compare/make_fixture.py`)
//! is one 100-event page with every DM event field and the users, posts and media it expands
//! to, about 100 KiB. Both contenders read the same bytes:
//!
//! - `typed`: [`decode_json`] into `EventPage`, the whole public decode path (status check,
//!   rate-limit headers, envelope, models with their `extra` maps);
//! - `value`: `serde_json::from_slice::<Value>`, what any JSON client in Rust pays at least
//!   before it can look at a field, with the workspace's `serde_json` features.
//!
//! Run with `cargo bench -p xdm-core --bench decode`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xdm_core::response::{EventPage, decode_json};

const PAGE: &[u8] = include_bytes!("data/dm_events_page_100.json");

fn response(body: &Bytes) -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-rate-limit-limit", "15")
        .header("x-rate-limit-remaining", "14")
        .header("x-rate-limit-reset", "1763800000")
        .body(body.clone())
        .expect("a valid response")
}

fn decode(c: &mut Criterion) {
    let body = Bytes::from_static(PAGE);
    // Guard against benchmarking an error path: the fixture must decode in full.
    let page: EventPage = decode_json(response(&body)).expect("the fixture decodes");
    assert_eq!(page.items().len(), 100);
    assert!(!page.includes.is_empty());

    let mut group = c.benchmark_group("decode_page_100");
    group.throughput(Throughput::Bytes(PAGE.len() as u64));
    group.bench_function("typed", |b| {
        b.iter_batched(
            || response(&body),
            |r| decode_json::<Vec<xdm_core::models::DmEvent>>(black_box(r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("value", |b| {
        b.iter_batched(
            || response(&body),
            |r| serde_json::from_slice::<serde_json::Value>(black_box(r.body())),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
