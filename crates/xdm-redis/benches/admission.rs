//! What fleet-wide admission adds to a call: a request admitted against the windows in a
//! loopback Redis and settled with its answer's headers (two Lua scripts, two round trips),
//! against the core's in-process limiter doing the same.
//!
//! The transport underneath answers at once with X's rate-limit headers and a budget that
//! never runs out, so the numbers are the admission and settlement alone. Besides
//! criterion's estimates, the bench prints p50 and p99 of 5,000 single calls of each.
//!
//! Run with `cargo bench -p xdm-redis --bench admission`. It starts its own `redis-server`
//! (Debian's package) on a free loopback port, with its data in a temporary directory.

mod support;

use support::start_redis;

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, StatusCode};
use xdm_client::transport::{Transport, TransportError};
use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimiter};
use xdm_core::{Delivery, EndpointGroup, EndpointInfo};
use xdm_redis::{AccountId, FleetLimits, Redis, RedisOptions};

fn headers() -> http::HeaderMap {
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let mut map = http::HeaderMap::new();
    map.insert("x-rate-limit-limit", 1_000_000_000u64.into());
    map.insert("x-rate-limit-remaining", 1_000_000_000u64.into());
    map.insert("x-rate-limit-reset", reset.into());
    map
}

fn request() -> http::Request<Bytes> {
    let mut request = http::Request::get("https://api.x.com/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    request.extensions_mut().insert(EndpointInfo::new(
        Method::GET,
        "/2/dm_events",
        EndpointGroup::ReadEvents,
        &[],
        Delivery::Idempotent,
    ));
    request
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.50), at(0.99))
}

fn admission(c: &mut Criterion) {
    let (_server, url) = start_redis(&[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = runtime
        .block_on(Redis::connect_with(
            &url,
            RedisOptions::default().with_prefix("bench"),
        ))
        .expect("the bench's redis-server answers");
    let answer = headers();
    let instant = move |_: http::Request<Bytes>| {
        let mut response = http::Response::new(Bytes::new());
        *response.headers_mut() = answer.clone();
        async move { Ok::<_, TransportError>(response) }
    };
    let fleet = FleetLimits::new(&redis).transport(AccountId::new("bench").unwrap(), instant);
    let snapshot = RateLimitSnapshot::from_headers(&headers());
    let mut local = RateLimiter::new(LimiterConfig::default());
    let local_call = |local: &mut RateLimiter<u64>| {
        let now = SystemTime::now();
        assert_eq!(
            local.poll_admit(&1, EndpointGroup::ReadEvents, now),
            Admit::Send
        );
        local.handle_response(
            &1,
            EndpointGroup::ReadEvents,
            &snapshot,
            StatusCode::OK,
            now,
        );
    };

    // Warm both up (the scripts are loaded into Redis on first use), then sample.
    let mut redis_samples = Vec::with_capacity(5_000);
    let mut local_samples = Vec::with_capacity(5_000);
    runtime.block_on(async {
        for i in 0..5_500 {
            let started = Instant::now();
            black_box(fleet.send(request()).await.unwrap());
            if i >= 500 {
                redis_samples.push(started.elapsed());
            }
        }
    });
    for i in 0..5_500 {
        let started = Instant::now();
        local_call(&mut local);
        if i >= 500 {
            local_samples.push(started.elapsed());
        }
    }
    let (redis_p50, redis_p99) = percentiles(redis_samples);
    let (local_p50, local_p99) = percentiles(local_samples);
    eprintln!("admission+settlement per call, 5,000 calls each:");
    eprintln!("  local limiter      p50 {local_p50:>10.2?}  p99 {local_p99:>10.2?}");
    eprintln!("  fleet (Redis)      p50 {redis_p50:>10.2?}  p99 {redis_p99:>10.2?}");

    c.bench_function("admission/local", |b| b.iter(|| local_call(&mut local)));
    c.bench_function("admission/redis", |b| {
        // One runtime entry per batch, so the numbers hold the calls and not the entering.
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    black_box(fleet.send(request()).await.unwrap());
                }
                started.elapsed()
            })
        })
    });
}

criterion_group!(benches, admission);
criterion_main!(benches);
