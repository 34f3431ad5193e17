//! Waiting for requests in flight: a settlement wakes the waiters through Redis pub/sub, no
//! wake-up is lost among many, the waits stay bounded when the wake-up connection is lost or
//! a reservation is never settled, and a wait costs Redis a few round trips, not a stream of
//! them.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc};
use xdm_client::transport::{Transport, TransportError};
use xdm_core::{Delivery, EndpointGroup, EndpointInfo};
use xdm_redis::{FleetLimits, FleetTransport, Redis};

use crate::support::{self, RedisServer};

/// The windows' channel of the test account's read group.
const CHANNEL: &str = "test:{acct-0}:limits:read-events:settled";

/// A transport standing in for X: every answer says one read is left in a window that resets
/// in an hour, so the fleet admits one request at a time. A request marked `x-hold` waits
/// for a permit of `gate` first; every request reports itself on `entered`.
fn one_left(
    gate: Arc<Semaphore>,
    entered: mpsc::UnboundedSender<()>,
) -> impl Transport + Clone + 'static {
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    move |request: http::Request<Bytes>| {
        let gate = gate.clone();
        let entered = entered.clone();
        async move {
            let _ = entered.send(());
            if request.headers().contains_key("x-hold") {
                gate.acquire().await.expect("the gate stays open").forget();
            }
            let response = http::Response::builder()
                .status(200)
                .header("x-rate-limit-limit", "15")
                .header("x-rate-limit-remaining", "1")
                .header("x-rate-limit-reset", reset.to_string())
                .body(Bytes::from_static(b"{}"))
                .unwrap();
            Ok::<_, TransportError>(response)
        }
    }
}

fn read(hold: bool) -> http::Request<Bytes> {
    let mut request = http::Request::get("http://x.invalid/2/dm_events");
    if hold {
        request = request.header("x-hold", "1");
    }
    let mut request = request.body(Bytes::new()).unwrap();
    request.extensions_mut().insert(EndpointInfo::new(
        http::Method::GET,
        "/2/dm_events",
        EndpointGroup::ReadEvents,
        &[],
        Delivery::Idempotent,
    ));
    request
}

/// How many scripts Redis has run so far (admissions and settlements).
async fn scripts_run(raw: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(raw)
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn subscribers(raw: &mut redis::aio::MultiplexedConnection) -> u64 {
    let (_, count): (String, u64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(CHANNEL)
        .query_async(raw)
        .await
        .unwrap();
    count
}

/// The windows learn from one answer that one read is left.
async fn limited_to_one<T: Transport>(transport: &FleetTransport<T>) {
    assert_eq!(transport.send(read(false)).await.unwrap().status(), 200);
}

fn fleet_transport(
    redis: &Redis,
    gate: &Arc<Semaphore>,
    entered: &mpsc::UnboundedSender<()>,
) -> FleetTransport<impl Transport + Clone + 'static> {
    let account = support::accounts(1).remove(0);
    FleetLimits::new(redis).transport(account, one_left(gate.clone(), entered.clone()))
}

async fn until(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settlement_wakes_the_waiter_at_once_after_a_few_round_trips() {
    let server = RedisServer::start();
    let mut raw = support::raw(&server).await;
    let gate = Arc::new(Semaphore::new(0));
    let (entered, mut arrivals) = mpsc::unbounded_channel();
    let first = fleet_transport(&support::connect(&server).await, &gate, &entered);
    let second = fleet_transport(&support::connect(&server).await, &gate, &entered);
    limited_to_one(&first).await;
    arrivals.recv().await;

    // One worker's read is in flight and takes the one read left.
    let held = tokio::spawn({
        let first = first.clone();
        async move { first.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;

    // Another worker's read waits for it, subscribed to the group's channel.
    let waiting = tokio::spawn({
        let second = second.clone();
        async move {
            let response = second.send(read(false)).await.map(|r| r.status());
            (response, Instant::now())
        }
    });
    until(
        "the waiter subscribed",
        Duration::from_secs(2),
        async || subscribers(&mut raw).await == 1,
    )
    .await;
    // Past its first admission and the one once the subscription stood, it sleeps: a
    // backoff from 20 ms would have asked about seven times in 1.5 s.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = scripts_run(&mut raw).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiting.is_finished(),
        "the waiter waits for the read in flight"
    );
    let during = scripts_run(&mut raw).await - before;
    assert_eq!(during, 0, "admissions during a 1.5 s wait: a polling storm");

    let released = Instant::now();
    gate.add_permits(1);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    let (response, done) = waiting.await.unwrap();
    assert_eq!(response.unwrap(), 200);
    let woken_after = done - released;
    assert!(
        woken_after < Duration::from_millis(500),
        "woken by the settlement, not a timer ({woken_after:?})"
    );
    // The read in flight's settlement, the waiter's admission and its settlement.
    let total = scripts_run(&mut raw).await - before;
    assert!(total <= 3, "{total} scripts after the release");
    until(
        "the waiter unsubscribed",
        Duration::from_secs(2),
        async || subscribers(&mut raw).await == 0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_wake_up_is_lost_among_many_waiters_of_many_workers() {
    let server = RedisServer::start();
    let gate = Arc::new(Semaphore::new(0));
    let (entered, _arrivals) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(fleet_transport(
            &support::connect(&server).await,
            &gate,
            &entered,
        ));
    }
    limited_to_one(&workers[0]).await;

    // 60 reads, one at a time: each waits for the one before to be settled. A lost wake-up
    // would leave its waiter asleep for the 5 s bound.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let worker = workers[i % workers.len()].clone();
        tasks.spawn(async move { worker.send(read(false)).await.map(|r| r.status()) });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap(), 200);
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(4),
        "60 reads, one at a time, took {elapsed:?}: a wake-up was lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_wake_up_connection_leaves_the_wait_bounded() {
    let server = RedisServer::start();
    let mut raw = support::raw(&server).await;
    let gate = Arc::new(Semaphore::new(0));
    let (entered, mut arrivals) = mpsc::unbounded_channel();
    let worker = fleet_transport(&support::connect(&server).await, &gate, &entered);
    limited_to_one(&worker).await;
    arrivals.recv().await;
    let held = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;
    let waiting = tokio::spawn({
        let worker = worker.clone();
        async move {
            let response = worker.send(read(false)).await.map(|r| r.status());
            (response, Instant::now())
        }
    });
    until(
        "the waiter subscribed",
        Duration::from_secs(2),
        async || subscribers(&mut raw).await == 1,
    )
    .await;

    // The subscriber connection dies and may not subscribe again: the settlement's message
    // reaches nobody.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "-subscribe"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: u64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .query_async(&mut raw)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(subscribers(&mut raw).await, 0);
    assert!(!waiting.is_finished());

    let released = Instant::now();
    gate.add_permits(1);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    let (response, done) = waiting.await.unwrap();
    assert_eq!(response.unwrap(), 200);
    let waited = done - released;
    assert!(
        waited < Duration::from_secs(3),
        "the short backoff bounds the wait without wake-ups ({waited:?})"
    );

    // Allowed again, the subscriber comes back and later waits are woken again.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "+subscribe"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let held = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;
    arrivals.recv().await;
    let waiting = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(false)).await.map(|r| r.status()) }
    });
    until("subscribed again", Duration::from_secs(10), async || {
        subscribers(&mut raw).await == 1
    })
    .await;
    gate.add_permits(1);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    assert_eq!(waiting.await.unwrap().unwrap(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reservation_never_settled_frees_its_slot_when_it_lapses() {
    let server = RedisServer::start();
    let mut raw = support::raw(&server).await;
    let gate = Arc::new(Semaphore::new(0));
    let (entered, mut arrivals) = mpsc::unbounded_channel();
    let redis = support::connect(&server).await;
    let account = support::accounts(1).remove(0);
    let lease = Duration::from_millis(1500);
    let worker = FleetLimits::new(&redis)
        .with_lease(lease)
        .transport(account, one_left(gate.clone(), entered.clone()));
    limited_to_one(&worker).await;
    arrivals.recv().await;

    // A worker dies mid-request: its reservation is never settled and no message comes.
    let dying = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;
    let reserved = Instant::now();
    dying.abort();

    let before = scripts_run(&mut raw).await;
    let response = worker.send(read(false)).await.unwrap();
    assert_eq!(response.status(), 200);
    let waited = reserved.elapsed();
    assert!(
        waited >= lease - Duration::from_millis(100) && waited < lease + Duration::from_secs(1),
        "admitted when the dead worker's reservation lapsed ({waited:?})"
    );
    let scripts = scripts_run(&mut raw).await - before;
    assert!(
        scripts <= 5,
        "{scripts} scripts for one wait: a polling storm"
    );
}

async fn connections_received(raw: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(raw)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO stats counts connections")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_wait_keeps_one_quiet_subscriber_connection() {
    let server = RedisServer::start();
    let mut raw = support::raw(&server).await;
    let gate = Arc::new(Semaphore::new(0));
    let (entered, mut arrivals) = mpsc::unbounded_channel();
    let worker = fleet_transport(&support::connect(&server).await, &gate, &entered);
    limited_to_one(&worker).await;
    arrivals.recv().await;
    let held = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;
    let waiting = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(false)).await.map(|r| r.status()) }
    });
    until(
        "the waiter subscribed",
        Duration::from_secs(2),
        async || subscribers(&mut raw).await == 1,
    )
    .await;

    // Past the subscriber's health check (every 10 s): it stays the one connection, and the
    // waiter asks again only when its 5 s bound passes.
    let connections = connections_received(&mut raw).await;
    let scripts = scripts_run(&mut raw).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        connections_received(&mut raw).await,
        connections,
        "the subscriber was not reconnected"
    );
    assert_eq!(subscribers(&mut raw).await, 1);
    let asked = scripts_run(&mut raw).await - scripts;
    assert!(asked <= 3, "{asked} admissions in 12 s");

    gate.add_permits(1);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    assert_eq!(waiting.await.unwrap().unwrap(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_pub_sub_rights_settlements_still_count_and_waits_stay_bounded() {
    let server = RedisServer::start();
    let mut raw = support::raw(&server).await;
    // An ACL user that may run the scripts but neither publish nor subscribe on any channel.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "resetchannels"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let (entered, mut arrivals) = mpsc::unbounded_channel();
    let redis = support::connect(&server).await;
    let limits = FleetLimits::new(&redis);
    let worker = limits.transport(
        support::accounts(1).remove(0),
        one_left(gate.clone(), entered.clone()),
    );
    limited_to_one(&worker).await;
    arrivals.recv().await;
    let held = tokio::spawn({
        let worker = worker.clone();
        async move { worker.send(read(true)).await.map(|r| r.status()) }
    });
    arrivals.recv().await;
    let waiting = tokio::spawn({
        let worker = worker.clone();
        async move {
            let response = worker.send(read(false)).await.map(|r| r.status());
            (response, Instant::now())
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished());
    let released = Instant::now();
    gate.add_permits(1);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    let (response, done) = waiting.await.unwrap();
    assert_eq!(response.unwrap(), 200);
    assert!(
        done - released < Duration::from_secs(3),
        "bounded by the backoff"
    );
    assert!(
        !limits.is_degraded(),
        "the settlements ran whole: the fleet never fell back to local limits"
    );
}
