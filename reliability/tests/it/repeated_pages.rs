//! A server that repeats itself: pages served again under a fresh token, and tokens handed out
//! a second time; and one that sends a `next_token` that is not a token. The client's listing
//! must yield every event once, in order, end a repeated token with `Error::RepeatedToken`
//! instead of looping, and a malformed token with `Error::MalformedToken` instead of ending as
//! if complete. Checked against a model of the listing (every id ever served, unbounded) over
//! random hostile listings.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;
use xdm_client::transport::{Timer, TransportError};
use xdm_client::{Client, Config, Credentials, Error};

use crate::support::proptest_config;

/// A clock that moves only when the client sleeps, so a rate-limit wait costs no real time.
#[derive(Clone)]
struct Clock(Arc<Mutex<SystemTime>>);

impl Timer for Clock {
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock")
    }

    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
        *self.0.lock().expect("clock") += d;
        async {}
    }
}

/// One page the server answers with.
#[derive(Debug, Clone)]
enum Step {
    /// `n` events never served before, and a fresh token.
    Fresh(usize),
    /// The events of one of the last four fresh pages again, under a fresh token.
    Again(usize),
    /// `n` fresh events, and a token the client has already requested.
    OldToken(usize, usize),
    /// `n` fresh events, and a `next_token` that is not a pagination token.
    BadToken(usize),
}

/// How a correct listing of the script ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At X's empty last page, with no error.
    Complete,
    /// With `Error::RepeatedToken`.
    Repeated,
    /// With `Error::MalformedToken`.
    Malformed,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1usize..25).prop_map(Step::Fresh),
        3 => (0usize..4).prop_map(Step::Again),
        1 => (1usize..5, 0usize..8).prop_map(|(n, back)| Step::OldToken(n, back)),
        1 => (1usize..5).prop_map(Step::BadToken),
    ]
}

fn token(n: usize) -> String {
    format!("TOKEN{n:011}ZZZZ")
}

fn body(ids: &[u64], next: &str) -> String {
    let data: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","event_type":"MessageCreate","text":"t{id}"}}"#))
        .collect();
    format!(
        r#"{{"data":[{}],"meta":{{"result_count":{},"next_token":"{next}"}}}}"#,
        data.join(","),
        ids.len()
    )
}

/// The bodies the server sends in turn, and what a correct listing yields from them: each id
/// the first time it is served, and how it must end.
fn serve(script: &[Step]) -> (Vec<String>, Vec<String>, End) {
    let mut next_id = 9_000_000u64;
    let mut fresh_pages: Vec<Vec<u64>> = Vec::new();
    // The tokens the client will have requested: none for the first page, then each one
    // handed out.
    let mut requested: Vec<String> = Vec::new();
    let mut bodies = Vec::new();
    let mut seen = HashSet::new();
    let mut expected = Vec::new();
    let mut fresh = |n: usize| -> Vec<u64> {
        (0..n)
            .map(|_| {
                next_id -= 1;
                next_id
            })
            .collect()
    };
    for step in script {
        let (ids, next, end) = match step {
            Step::Fresh(n) => {
                let ids = fresh(*n);
                fresh_pages.push(ids.clone());
                (ids, token(requested.len() + 1), None)
            }
            Step::Again(back) if !fresh_pages.is_empty() => {
                let ids = fresh_pages[fresh_pages.len().saturating_sub(1 + back)].clone();
                (ids, token(requested.len() + 1), None)
            }
            Step::Again(_) => continue,
            Step::OldToken(n, back) if !requested.is_empty() => {
                let ids = fresh(*n);
                fresh_pages.push(ids.clone());
                let old = requested[requested.len().saturating_sub(1 + back)].clone();
                (ids, old, Some(End::Repeated))
            }
            Step::OldToken(..) => continue,
            Step::BadToken(n) => (fresh(*n), "not a token".to_owned(), Some(End::Malformed)),
        };
        expected.extend(
            ids.iter()
                .filter(|id| seen.insert(**id))
                .map(u64::to_string),
        );
        bodies.push(body(&ids, &next));
        if let Some(end) = end {
            return (bodies, expected, end);
        }
        requested.push(next);
    }
    // X's real end: an empty page.
    bodies.push(r#"{"meta":{"result_count":0}}"#.to_owned());
    (bodies, expected, End::Complete)
}

async fn list(bodies: Vec<String>) -> (Vec<String>, Option<Error>, usize) {
    let queue = Arc::new(Mutex::new(VecDeque::from(bodies)));
    let served = Arc::clone(&queue);
    let transport = move |_request: http::Request<Bytes>| {
        let next = served.lock().expect("script").pop_front();
        async move {
            let body = next.expect("the client asked for a page the script does not have");
            Ok::<_, TransportError>(http::Response::new(Bytes::from(body)))
        }
    };
    let clock = Clock(Arc::new(Mutex::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    )));
    let client = Client::new(
        transport,
        clock,
        Config::new(Credentials::oauth2_token("user-access-token")),
    );
    let mut events = client.list_events().events();
    let mut ids = Vec::new();
    let mut error = None;
    while let Some(item) = events.next().await {
        match item {
            Ok(item) => ids.push(item.event.id.expect("every served event has an id")),
            Err(e) => {
                error = Some(e);
                assert!(
                    events.next().await.is_none(),
                    "the listing goes on after an error"
                );
                break;
            }
        }
    }
    let left = queue.lock().expect("script").len();
    (ids, error, left)
}

proptest! {
    #![proptest_config(proptest_config(128))]

    #[test]
    fn a_repeating_server_never_makes_a_listing_yield_an_event_twice(
        script in prop::collection::vec(step(), 0..40),
    ) {
        let (bodies, expected, end) = serve(&script);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (ids, error, left) = runtime.block_on(list(bodies));
        prop_assert_eq!(&ids, &expected);
        prop_assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        prop_assert_eq!(left, 0, "the listing stopped before the server's last page");
        match error {
            None => prop_assert_eq!(end, End::Complete, "the listing ended without an error"),
            Some(Error::RepeatedToken(_)) => prop_assert_eq!(end, End::Repeated),
            Some(Error::MalformedToken) => prop_assert_eq!(end, End::Malformed),
            Some(other) => prop_assert!(false, "unexpected error: {}", other),
        }
    }
}
