//! Per-call overhead without a network: build one list request, sign it with OAuth 1.0a and
//! decode a one-event response.
//!
//! This is what the SDK adds to every call on top of the transport and the payload. The
//! request asks for every field and expansion (the longest query to encode and sign); the
//! nonce is random and the timestamp read from the clock, as in production. The response is
//! `PAGE_1` with X's rate-limit headers. `stages/*` time each step alone.
//!
//! Run with `cargo bench -p xdm-benches --bench per_call`.

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use xdm_auth::oauth1::{ConsumerCredentials, Oauth1Authorizer, TokenCredentials};
use xdm_benches::{PAGE_1, full_listing};
use xdm_core::{Authorize, BaseUrl, Endpoint, RequestContext};

fn response() -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-rate-limit-limit", "15")
        .header("x-rate-limit-remaining", "14")
        .header("x-rate-limit-reset", "1763800000")
        .body(Bytes::from_static(PAGE_1))
        .expect("a valid response")
}

fn per_call(c: &mut Criterion) {
    let ctx = RequestContext::new(BaseUrl::parse("https://api.x.com").expect("a base URL"));
    let authorizer = Oauth1Authorizer::new(
        ConsumerCredentials::new(
            "xvz1evFS4wEEPTGEFPHBog",
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        ),
        TokenCredentials::new(
            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        ),
    );
    let token = "18LAA5G1SL0NR5OG0G00ZZZZ";
    let list = full_listing(Some(token));
    // The whole call must succeed, or the numbers would time an error path.
    let page = list.decode_response(response()).expect("the page decodes");
    assert_eq!(page.items().len(), 1);

    c.bench_function("per_call/build_sign_decode", |b| {
        b.iter_batched(
            response,
            |resp| {
                let list = full_listing(Some(black_box(token)));
                let mut request = list.build_request(&ctx).expect("builds");
                authorizer
                    .authorize(&mut request, SystemTime::now())
                    .expect("signs");
                black_box(&request);
                list.decode_response(resp).expect("decodes")
            },
            BatchSize::SmallInput,
        )
    });

    let mut stages = c.benchmark_group("per_call/stages");
    stages.bench_function("build", |b| {
        b.iter(|| {
            full_listing(Some(black_box(token)))
                .build_request(&ctx)
                .expect("builds")
        })
    });
    let built = list.build_request(&ctx).expect("builds");
    stages.bench_function("sign", |b| {
        b.iter_batched(
            || built.clone(),
            |mut request| {
                authorizer
                    .authorize(&mut request, SystemTime::now())
                    .expect("signs");
                request
            },
            BatchSize::SmallInput,
        )
    });
    stages.bench_function("decode", |b| {
        b.iter_batched(
            response,
            |resp| list.decode_response(resp).expect("decodes"),
            BatchSize::SmallInput,
        )
    });
    stages.finish();
}

criterion_group!(benches, per_call);
criterion_main!(benches);
