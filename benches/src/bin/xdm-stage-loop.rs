//! Runs one stage of the per-call benchmark a fixed number of times, for instruction counts.
//!
//! Criterion's times move with whatever else the machine runs; the instructions a stage
//! executes do not. Count them with callgrind, once with `N` iterations and once with none,
//! and divide the difference by `N`:
//!
//! ```sh
//! cargo build --release -p xdm-benches --bin xdm-stage-loop
//! valgrind --tool=callgrind target/release/xdm-stage-loop sign 2000
//! valgrind --tool=callgrind target/release/xdm-stage-loop sign 0
//! ```
//!
//! Stages: `build`, `sign`, `decode` (as `benches/per_call.rs` times them) and `decode100`
//! (the 100-event page of `crates/xdm-core/benches/decode.rs`). The decode stages include
//! building the `http::Response` they decode. Under valgrind SHA-1 runs in its portable code
//! rather than with the CPU's SHA instructions, so `sign` counts more than it executes natively.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::SystemTime;

use xdm_benches::{PAGE_1, PAGE_100, PAGE_TOKEN, authorizer, full_listing, page_response};
use xdm_core::models::DmEvent;
use xdm_core::response::decode_json;
use xdm_core::{Authorize, BaseUrl, Endpoint, RequestContext};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (stage, n) = match args.as_slice() {
        [stage, n] => match n.parse::<usize>() {
            Ok(n) => (stage.as_str(), n),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let ctx = RequestContext::new(BaseUrl::parse("https://api.x.com").expect("a base URL"));
    let authorizer = authorizer();
    let token = PAGE_TOKEN;
    let list = full_listing(Some(token));
    let built = list.build_request(&ctx).expect("builds");
    let run: Box<dyn Fn()> = match stage {
        "build" => Box::new(|| {
            black_box(
                full_listing(Some(black_box(token)))
                    .build_request(&ctx)
                    .expect("builds"),
            );
        }),
        "sign" => Box::new(|| {
            let mut request = built.clone();
            authorizer
                .authorize(&mut request, SystemTime::now())
                .expect("signs");
            black_box(request);
        }),
        "decode" => Box::new(|| {
            black_box(
                list.decode_response(page_response(PAGE_1))
                    .expect("decodes"),
            );
        }),
        "decode100" => Box::new(|| {
            black_box(decode_json::<Vec<DmEvent>>(page_response(PAGE_100)).expect("decodes"));
        }),
        _ => return usage(),
    };
    for _ in 0..n {
        run();
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: xdm-stage-loop build|sign|decode|decode100 ITERATIONS");
    ExitCode::from(2)
}
