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

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use xdm_benches::{PAGE_1, PAGE_TOKEN, authorizer, full_listing, page_response};
use xdm_core::{Authorize, BaseUrl, Endpoint, RequestContext};

fn per_call(c: &mut Criterion) {
    let ctx = RequestContext::new(BaseUrl::parse("https://api.x.com").expect("a base URL"));
    let authorizer = authorizer();
    let token = PAGE_TOKEN;
    let list = full_listing(Some(token));
    // The whole call must succeed, or the numbers would time an error path.
    let page = list
        .decode_response(page_response(PAGE_1))
        .expect("the page decodes");
    assert_eq!(page.items().len(), 1);

    c.bench_function("per_call/build_sign_decode", |b| {
        b.iter_batched(
            || page_response(PAGE_1),
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
            || page_response(PAGE_1),
            |resp| list.decode_response(resp).expect("decodes"),
            BatchSize::SmallInput,
        )
    });
    stages.finish();
}

criterion_group!(benches, per_call);
criterion_main!(benches);
