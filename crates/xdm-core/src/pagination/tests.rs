use bytes::Bytes;
use http::Method;
use proptest::prelude::*;

use super::*;
use crate::error::ApiError;
use crate::models::{DmEvent, Meta};
use crate::{Delivery, EndpointGroup, EndpointInfo, RequestContext};

/// A listing that records its parameters and can be told to refuse small page sizes.
#[derive(Debug, Clone, Default)]
struct Fake {
    token: Option<PaginationToken>,
    max: Option<u8>,
    min_max_results: u8,
}

impl Endpoint for Fake {
    type Output = EventPage;

    fn info(&self) -> EndpointInfo {
        EndpointInfo::new(
            Method::GET,
            "/fake",
            EndpointGroup::ReadEvents,
            &[],
            Delivery::Idempotent,
        )
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut request = http::Request::new(Bytes::new());
        *request.uri_mut() = ctx.base_url.join("/fake");
        Ok(request)
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<EventPage, ApiError> {
        crate::response::decode_json(response)
    }
}

impl PagedEndpoint for Fake {
    fn pagination_token(&self) -> Option<&PaginationToken> {
        self.token.as_ref()
    }

    fn set_pagination_token(&mut self, token: Option<PaginationToken>) {
        self.token = token;
    }

    fn max_results(&self) -> Option<u8> {
        self.max
    }

    fn set_max_results(&mut self, n: u8) -> Result<(), InvalidInput> {
        if n < self.min_max_results {
            return Err(InvalidInput::new("max_results", "too small", "more"));
        }
        self.max = Some(n);
        Ok(())
    }
}

fn token(n: u32) -> String {
    format!("TOKEN{n:0>16}")
}

fn page(items: usize, next: Option<&str>) -> EventPage {
    let mut page = EventPage::from_data(vec![DmEvent::default(); items]);
    page.meta = Some(Meta {
        result_count: Some(items as u64),
        next_token: next.map(str::to_owned),
        ..Meta::default()
    });
    page
}

fn requested_token(p: &mut Paginator<Fake>) -> Option<Option<String>> {
    p.poll_request()
        .map(|e| e.pagination_token().map(|t| t.as_str().to_owned()))
}

#[test]
fn follows_tokens_until_one_is_missing() {
    let mut p = Paginator::new(Fake::default());
    assert_eq!(requested_token(&mut p), Some(None));
    assert_eq!(p.handle_page(&page(3, Some(&token(1)))), 3);
    assert_eq!(requested_token(&mut p), Some(Some(token(1))));
    assert_eq!(p.handle_page(&page(2, None)), 2);
    assert_eq!(requested_token(&mut p), None);
    assert_eq!(p.stop_reason(), Some(&StopReason::NoNextToken));
    assert_eq!((p.pages_seen(), p.items_seen()), (2, 5));
    assert!(p.is_done());
    assert_eq!(p.resume_token(), None);
}

#[test]
fn stops_on_an_empty_page_even_with_a_token() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    p.handle_page(&page(2, Some(&token(1))));
    p.poll_request();
    p.handle_page(&page(0, Some(&token(2))));
    assert_eq!(p.stop_reason(), Some(&StopReason::EmptyPage));
    assert!(p.poll_request().is_none());
}

#[test]
fn zero_result_count_is_an_empty_page() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    let mut odd = page(1, Some(&token(1)));
    odd.meta.as_mut().unwrap().result_count = Some(0);
    assert_eq!(p.handle_page(&odd), 1);
    assert_eq!(p.stop_reason(), Some(&StopReason::EmptyPage));
}

#[test]
fn absent_data_and_meta_is_an_empty_page() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    let mut bare = page(0, None);
    bare.data = None;
    bare.meta = None;
    assert_eq!(p.handle_page(&bare), 0);
    assert_eq!(p.stop_reason(), Some(&StopReason::EmptyPage));
}

#[test]
fn stops_on_a_repeated_token() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    p.handle_page(&page(1, Some(&token(1))));
    p.poll_request();
    p.handle_page(&page(1, Some(&token(2))));
    p.poll_request();
    p.handle_page(&page(1, Some(&token(1))));
    let repeated = PaginationToken::parse(&token(1)).unwrap();
    assert_eq!(p.stop_reason(), Some(&StopReason::RepeatedToken(repeated)));
    assert!(p.stop_reason().unwrap().is_end_of_listing());
    assert_eq!(p.resume_token(), None);
}

#[test]
fn the_start_token_counts_as_requested() {
    let start = PaginationToken::parse(&token(7)).unwrap();
    let mut p = Paginator::new(Fake {
        token: Some(start.clone()),
        ..Fake::default()
    });
    assert_eq!(p.resume_token(), Some(&start));
    assert_eq!(requested_token(&mut p), Some(Some(token(7))));
    p.handle_page(&page(1, Some(&token(7))));
    assert_eq!(p.stop_reason(), Some(&StopReason::RepeatedToken(start)));
}

#[test]
fn stops_on_a_malformed_token() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    p.handle_page(&page(1, Some("short")));
    assert_eq!(p.stop_reason(), Some(&StopReason::MalformedToken));
    assert!(!StopReason::MalformedToken.is_end_of_listing());
}

#[test]
fn a_malformed_token_resumes_from_the_page_that_carried_it() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    p.handle_page(&page(1, Some(&token(1))));
    p.poll_request();
    p.handle_page(&page(1, Some("bad token")));
    assert_eq!(p.stop_reason(), Some(&StopReason::MalformedToken));
    // Not the end: a caller that did not keep the page reads it again from here.
    assert_eq!(
        p.resume_token().map(|t| t.as_str()),
        Some(token(1).as_str())
    );
}

#[test]
fn page_limit_stops_and_keeps_the_resume_token() {
    let mut p = Paginator::new(Fake::default()).with_max_pages(2);
    p.poll_request();
    p.handle_page(&page(1, Some(&token(1))));
    p.poll_request();
    p.handle_page(&page(1, Some(&token(2))));
    assert_eq!(p.stop_reason(), Some(&StopReason::PageLimit));
    assert!(p.poll_request().is_none());
    assert_eq!(
        p.resume_token().map(|t| t.as_str()),
        Some(token(2).as_str())
    );
}

#[test]
fn zero_page_limit_sends_nothing() {
    let mut p = Paginator::new(Fake::default()).with_max_pages(0);
    assert!(p.poll_request().is_none());
    assert_eq!(p.stop_reason(), Some(&StopReason::PageLimit));
}

#[test]
fn item_limit_lowers_the_last_page_size() {
    let mut p = Paginator::new(Fake {
        max: Some(20),
        ..Fake::default()
    })
    .with_max_items(45);
    assert_eq!(p.poll_request().unwrap().max_results(), Some(20));
    p.handle_page(&page(20, Some(&token(1))));
    assert_eq!(p.poll_request().unwrap().max_results(), Some(20));
    p.handle_page(&page(20, Some(&token(2))));
    assert_eq!(p.poll_request().unwrap().max_results(), Some(5));
    assert_eq!(p.handle_page(&page(5, Some(&token(3)))), 5);
    assert_eq!(p.stop_reason(), Some(&StopReason::ItemLimit));
    assert_eq!(p.items_seen(), 45);
    assert_eq!(
        p.resume_token().map(|t| t.as_str()),
        Some(token(3).as_str())
    );
}

#[test]
fn item_limit_below_the_default_page_size_applies_to_the_first_request() {
    let mut p = Paginator::new(Fake::default()).with_max_items(10);
    assert_eq!(p.poll_request().unwrap().max_results(), Some(10));
}

#[test]
fn an_oversized_page_is_cut_and_will_be_fetched_again() {
    let mut p = Paginator::new(Fake {
        min_max_results: 10,
        ..Fake::default()
    })
    .with_max_items(3);
    // The endpoint refuses a page size of 3, so the request keeps its own.
    assert_eq!(p.poll_request().unwrap().max_results(), None);
    assert_eq!(p.handle_page(&page(8, Some(&token(1)))), 3);
    assert_eq!(p.stop_reason(), Some(&StopReason::ItemLimit));
    // The unseen events are on the page just read: resuming starts there again.
    assert_eq!(p.resume_token(), None);
    assert_eq!(p.items_seen(), 3);
}

#[test]
fn zero_item_limit_sends_nothing() {
    let mut p = Paginator::new(Fake::default()).with_max_items(0);
    assert!(p.poll_request().is_none());
    assert_eq!(p.stop_reason(), Some(&StopReason::ItemLimit));
}

#[test]
fn a_failure_hands_out_the_same_request_again() {
    let mut p = Paginator::new(Fake::default());
    p.poll_request();
    p.handle_page(&page(1, Some(&token(1))));
    assert_eq!(requested_token(&mut p), Some(Some(token(1))));
    // Only one request is out at a time.
    assert_eq!(requested_token(&mut p), None);
    p.handle_failure();
    assert_eq!(requested_token(&mut p), Some(Some(token(1))));
    assert_eq!(p.pages_seen(), 1);
    assert!(!p.is_done());
}

#[test]
fn stray_pages_and_failures_are_ignored() {
    let mut p = Paginator::new(Fake::default());
    p.handle_failure();
    assert_eq!(p.handle_page(&page(4, Some(&token(1)))), 0);
    assert_eq!(p.pages_seen(), 0);
    assert_eq!(requested_token(&mut p), Some(None));
}

#[test]
fn token_memory_is_bounded() {
    let mut p = Paginator::new(Fake::default());
    let mut n = 0;
    while p.poll_request().is_some() {
        n += 1;
        p.handle_page(&page(1, Some(&token(n))));
    }
    assert_eq!(p.stop_reason(), Some(&StopReason::TokenMemoryFull));
    assert_eq!(p.pages_seen() as usize, MAX_REMEMBERED_TOKENS);
    assert!(p.resume_token().is_some());
}

#[test]
fn decoded_pages_drive_it() {
    let ctx = RequestContext::default();
    let mut p = Paginator::new(Fake::default());
    let request = p.poll_request().unwrap();
    assert!(request.build_request(&ctx).is_ok());
    let body = format!(
        r#"{{"data":[{{"id":"1"}},{{"id":"2"}}],"meta":{{"result_count":2,"next_token":"{}"}}}}"#,
        token(1)
    );
    let decoded = request
        .decode_response(http::Response::new(Bytes::from(body)))
        .unwrap();
    assert_eq!(p.handle_page(&decoded), 2);
    assert_eq!(requested_token(&mut p), Some(Some(token(1))));
}

proptest! {
    /// The server answers with tokens drawn from a small pool (so repeats and cycles are
    /// common), sometimes none, with pages that are sometimes empty, and fails now and then.
    #[test]
    fn always_terminates_and_never_requests_a_token_twice(
        answers in prop::collection::vec(
            (prop::option::weighted(0.95, 0u32..60), prop_oneof![9 => 1usize..4, 1 => Just(0usize)], prop::bool::weighted(0.1)),
            1..400,
        ),
    ) {
        let mut p = Paginator::new(Fake::default());
        let mut requested: Vec<Option<String>> = Vec::new();
        let mut answers = answers.into_iter().cycle();
        let mut distinct = std::collections::HashSet::new();
        let mut polls = 0;
        while let Some(request) = p.poll_request() {
            polls += 1;
            prop_assert!(polls <= 1000, "did not terminate");
            let this = request.pagination_token().map(|t| t.as_str().to_owned());
            let (next, items, fail) = answers.next().unwrap();
            if fail {
                // A transient failure: the same page is offered again, and answered this time.
                // (Retrying without end is the caller's policy to bound, not the paginator's.)
                p.handle_failure();
                let again = p.poll_request();
                prop_assert!(again.is_some(), "a failed page is offered again");
                let again = again.and_then(|r| r.pagination_token().map(|t| t.as_str().to_owned()));
                prop_assert_eq!(&again, &this);
            }
            prop_assert!(!requested.contains(&this), "requested {:?} twice", this);
            requested.push(this);
            let next = next.map(token);
            if let Some(t) = &next {
                distinct.insert(t.clone());
            }
            // Empty pages in the middle carry a token, as X's do.
            p.handle_page(&page(items, next.as_deref()));
        }
        prop_assert!(p.is_done());
        prop_assert!(p.pages_seen() as usize <= distinct.len() + 1);
        prop_assert_eq!(p.pages_seen() as usize, requested.len());
    }
}
