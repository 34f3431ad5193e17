//! Admission under concurrency: calls refused on a guessed limit wait for the answers in
//! flight, not for the guessed reset.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use xdm_core::BaseUrl;
use xdm_core::EndpointGroup;
use xdm_core::endpoints::ListEvents;

use crate::transport::{Timer, Transport, TransportError};
use crate::{Client, Config, Credentials, Error, RateLimitPolicy};

const START: u64 = 1_800_000_000;

/// Holds every request until it is opened, then answers all of them (and every later one)
/// with a page and the given rate-limit headers.
#[derive(Clone)]
struct Gate {
    state: Arc<Mutex<GateState>>,
    remaining: u32,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    open: bool,
    waiting: Vec<Waker>,
}

impl Gate {
    fn new(remaining: u32) -> Gate {
        Gate {
            state: Arc::default(),
            remaining,
        }
    }

    fn open(&self) {
        let mut state = self.state.lock().unwrap();
        state.open = true;
        for w in state.waiting.drain(..) {
            w.wake();
        }
    }

    fn arrived(&self) -> usize {
        self.state.lock().unwrap().arrived
    }
}

struct Held {
    gate: Gate,
}

impl Future for Held {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.gate.state.lock().unwrap();
        if state.open {
            Poll::Ready(())
        } else {
            state.waiting.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Transport for Gate {
    fn send(
        &self,
        _request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        self.state.lock().unwrap().arrived += 1;
        let gate = self.clone();
        async move {
            Held { gate: gate.clone() }.await;
            let response = http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("x-rate-limit-limit", "900")
                .header("x-rate-limit-remaining", gate.remaining.to_string())
                .header("x-rate-limit-reset", (START + 900).to_string())
                .body(Bytes::from_static(br#"{"meta":{"result_count":0}}"#))
                .unwrap();
            Ok(response)
        }
    }
}

/// A clock whose sleeps never end: any call that relies on sleeping out a wait hangs, which
/// the executor below reports.
#[derive(Clone)]
struct StoppedClock {
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl Timer for StoppedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(START)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.sleeps.lock().unwrap().push(duration);
        std::future::pending()
    }
}

struct Flag(Mutex<bool>);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        *self.0.lock().unwrap() = true;
    }
}

/// Polls every future until all are done, calling `after_first_round` once each has been
/// polled; panics when none can make progress (every one is pending and nothing woke), which
/// is how a call stuck in a sleep shows up here.
fn run_all<T>(
    mut futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>,
    after_first_round: impl FnOnce(),
) -> Vec<T> {
    let mut after_first_round = Some(after_first_round);
    let flag = Arc::new(Flag(Mutex::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut done: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    loop {
        let woken = std::mem::replace(&mut *flag.0.lock().unwrap(), false);
        assert!(
            woken,
            "stalled with {} of {} calls unfinished",
            done.iter().filter(|d| d.is_none()).count(),
            done.len()
        );
        for (future, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none()
                && let Poll::Ready(output) = future.as_mut().poll(&mut cx)
            {
                *slot = Some(output);
            }
        }
        if done.iter().all(Option::is_some) {
            return done.into_iter().flatten().collect();
        }
        if let Some(hook) = after_first_round.take() {
            hook();
        }
    }
}

fn client(
    gate: &Gate,
    clock: &StoppedClock,
    policy: RateLimitPolicy,
) -> Client<Gate, StoppedClock> {
    let config = Config::new(Credentials::oauth1(
        "consumer-key",
        "consumer-secret",
        "1000-token",
        "token-secret",
    ))
    .with_base_url(BaseUrl::parse("http://127.0.0.1:9").unwrap());
    Client::builder(gate.clone(), clock.clone(), config)
        .rate_limit_policy(policy)
        .build()
}

/// Starts `calls` listings at once; the server answers only once every call has started.
fn burst(
    gate: &Gate,
    client: &Client<Gate, StoppedClock>,
    calls: usize,
) -> Vec<Result<usize, Error>> {
    let list = ListEvents::new();
    let futures = (0..calls)
        .map(|_| {
            let client = client.clone();
            let list = list.clone();
            Box::pin(async move { client.list_page(&list).await.map(|p| p.items().len()) })
                as Pin<Box<dyn Future<Output = _>>>
        })
        .collect();
    run_all(futures, || gate.open())
}

#[test]
fn a_call_beyond_the_documented_limit_goes_once_the_server_reports_more() {
    // The limiter starts from X's documented 15 reads per window; the server allows 900.
    let gate = Gate::new(885);
    let clock = StoppedClock {
        sleeps: Arc::default(),
    };
    let client = client(
        &gate,
        &clock,
        RateLimitPolicy::wait_up_to(Duration::from_secs(3600)),
    );
    let results = burst(&gate, &client, 16);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(gate.arrived(), 16);
}

#[test]
fn fail_fast_waits_for_the_answers_in_flight_before_refusing() {
    // Even a caller who will not wait must not be refused on a guess the answers in flight
    // are about to correct.
    let gate = Gate::new(885);
    let clock = StoppedClock {
        sleeps: Arc::default(),
    };
    let results = burst(&gate, &client(&gate, &clock, RateLimitPolicy::FailFast), 16);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

#[test]
fn a_window_the_server_reports_spent_is_refused_once_nothing_is_in_flight() {
    let gate = Gate::new(0);
    let clock = StoppedClock {
        sleeps: Arc::default(),
    };
    let results = burst(&gate, &client(&gate, &clock, RateLimitPolicy::FailFast), 16);
    let refused: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(
        matches!(refused[0], Err(Error::RateLimited { .. })),
        "{refused:?}"
    );
    assert_eq!(gate.arrived(), 15);
}

#[test]
fn a_call_dropped_mid_request_gives_its_reservation_back() {
    let gate = Gate::new(885);
    let clock = StoppedClock {
        sleeps: Arc::default(),
    };
    let client = client(&gate, &clock, RateLimitPolicy::FailFast);
    let in_flight = || {
        client
            .inner
            .limiter()
            .in_flight(&client.inner.credential_key, EndpointGroup::ReadEvents)
    };
    let list = ListEvents::new();
    let mut call = Box::pin(client.list_page(&list));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending());
    assert_eq!((gate.arrived(), in_flight()), (1, 1));
    // As a timeout or a `select!` would drop it, its request still unanswered.
    drop(call);
    assert_eq!(in_flight(), 0);
}
