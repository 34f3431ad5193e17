//! The pagination state machine, fed a stream of arbitrary page bodies and failures: it must
//! stop within a bounded number of requests and never panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use xdm_core::Endpoint;
use xdm_core::endpoints::ListEvents;
use xdm_core::pagination::Paginator;

fuzz_target!(|data: &[u8]| {
    let mut pages = Paginator::new(ListEvents::new()).with_max_items(1_000);
    // Each chunk between 0xFF bytes is one answer; a chunk starting with 0 is a failure.
    let mut answers = data.split(|b| *b == 0xFF);
    let mut requests = 0u32;
    while let Some(list) = pages.poll_request() {
        requests += 1;
        assert!(requests < 10_000, "the paginator did not stop");
        let Some(answer) = answers.next() else {
            return;
        };
        if answer.first() == Some(&0) {
            pages.handle_failure();
            continue;
        }
        let response = http::Response::new(Bytes::copy_from_slice(answer));
        match list.decode_response(response) {
            Ok(page) => {
                let kept = pages.handle_page(&page);
                assert!(kept <= page.items().len());
            }
            Err(_) => pages.handle_failure(),
        }
    }
});
