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
use xdm_redis::{FleetLimits, FleetTransport};

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

/// An answer to a read sent from a task of its own.
type Sent = tokio::task::JoinHandle<Result<http::StatusCode, TransportError>>;

/// The same, with the instant it came.
type Timed = tokio::task::JoinHandle<(Result<http::StatusCode, TransportError>, Instant)>;

/// A Redis of the test's own, a connection to look into it, and the gate and arrivals of
/// the transports [`one_left`] makes.
struct Scene {
    server: RedisServer,
    raw: redis::aio::MultiplexedConnection,
    gate: Arc<Semaphore>,
    entered: mpsc::UnboundedSender<()>,
    arrivals: mpsc::UnboundedReceiver<()>,
}

impl Scene {
    async fn start() -> Scene {
        let server = RedisServer::start();
        let raw = support::raw(&server).await;
        let (entered, arrivals) = mpsc::unbounded_channel();
        Scene {
            server,
            raw,
            gate: Arc::new(Semaphore::new(0)),
            entered,
            arrivals,
        }
    }

    /// The stand-in for X behind this scene's gate.
    fn x(&self) -> impl Transport + Clone + 'static {
        one_left(self.gate.clone(), self.entered.clone())
    }

    /// A worker of its own Redis connection, with the default limits, for the test account.
    async fn worker(&self) -> FleetTransport<impl Transport + Clone + 'static> {
        let redis = support::connect(&self.server).await;
        let account = support::accounts(1).remove(0);
        FleetLimits::new(&redis).transport(account, self.x())
    }

    /// The windows learn from one answer that one read is left.
    async fn limit_to_one<T: Transport>(&mut self, worker: &FleetTransport<T>) {
        assert_eq!(worker.send(read(false)).await.unwrap().status(), 200);
        self.arrivals.recv().await;
    }

    /// A read that reaches X and stays in flight there until [`Scene::release`].
    async fn hold<T>(&mut self, worker: &FleetTransport<T>) -> Sent
    where
        FleetTransport<T>: Transport + Clone + Send + Sync + 'static,
    {
        let worker = worker.clone();
        let held = tokio::spawn(async move { worker.send(read(true)).await.map(|r| r.status()) });
        self.arrivals.recv().await;
        held
    }

    /// Waits until `count` connections are subscribed to the group's channel.
    async fn until_subscribers(&mut self, what: &str, within: Duration, count: u64) {
        let raw = &mut self.raw;
        until(what, within, async || subscribers(raw).await == count).await;
    }

    /// `holder`'s read in flight ([`Scene::hold`]) and `waiter`'s read waiting for it,
    /// subscribed to the group's channel.
    async fn hold_and_wait<T>(
        &mut self,
        holder: &FleetTransport<T>,
        waiter: &FleetTransport<T>,
    ) -> (Sent, Timed)
    where
        FleetTransport<T>: Transport + Clone + Send + Sync + 'static,
    {
        let held = self.hold(holder).await;
        let waiting = wait_to_read(waiter);
        self.until_subscribers("the waiter subscribed", Duration::from_secs(2), 1)
            .await;
        (held, waiting)
    }

    /// Lets the held read through; both reads are answered. How long after the release the
    /// waiting one was.
    async fn release(&self, held: Sent, waiting: Timed) -> Duration {
        let released = Instant::now();
        self.gate.add_permits(1);
        assert_eq!(held.await.unwrap().unwrap(), 200);
        let (response, done) = waiting.await.unwrap();
        assert_eq!(response.unwrap(), 200);
        done - released
    }
}

/// A read that waits for admission, from a task of its own.
fn wait_to_read<T>(worker: &FleetTransport<T>) -> Timed
where
    FleetTransport<T>: Transport + Clone + Send + Sync + 'static,
{
    let worker = worker.clone();
    tokio::spawn(async move {
        let response = worker.send(read(false)).await.map(|r| r.status());
        (response, Instant::now())
    })
}

/// Sets the default user's rights (`ACL SETUSER default ...`).
async fn acl(raw: &mut redis::aio::MultiplexedConnection, rules: &str) {
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", rules])
        .query_async(raw)
        .await
        .unwrap();
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
    let mut scene = Scene::start().await;
    let first = scene.worker().await;
    let second = scene.worker().await;
    scene.limit_to_one(&first).await;

    // One worker's read is in flight and takes the one read left; another worker's read
    // waits for it, subscribed to the group's channel.
    let (held, waiting) = scene.hold_and_wait(&first, &second).await;
    // Past its first admission and the one once the subscription stood, it sleeps: a
    // backoff from 20 ms would have asked about seven times in 1.5 s.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = scripts_run(&mut scene.raw).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiting.is_finished(),
        "the waiter waits for the read in flight"
    );
    let during = scripts_run(&mut scene.raw).await - before;
    assert_eq!(during, 0, "admissions during a 1.5 s wait: a polling storm");

    let woken_after = scene.release(held, waiting).await;
    assert!(
        woken_after < Duration::from_millis(500),
        "woken by the settlement, not a timer ({woken_after:?})"
    );
    // The read in flight's settlement, the waiter's admission and its settlement.
    let total = scripts_run(&mut scene.raw).await - before;
    assert!(total <= 3, "{total} scripts after the release");
    scene
        .until_subscribers("the waiter unsubscribed", Duration::from_secs(2), 0)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_wake_up_is_lost_among_many_waiters_of_many_workers() {
    let mut scene = Scene::start().await;
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(scene.worker().await);
    }
    scene.limit_to_one(&workers[0]).await;

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
    let mut scene = Scene::start().await;
    let worker = scene.worker().await;
    scene.limit_to_one(&worker).await;
    let (held, waiting) = scene.hold_and_wait(&worker, &worker).await;

    // The subscriber connection dies and may not subscribe again: the settlement's message
    // reaches nobody.
    acl(&mut scene.raw, "-subscribe").await;
    let _: u64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .query_async(&mut scene.raw)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(subscribers(&mut scene.raw).await, 0);
    assert!(!waiting.is_finished());

    let waited = scene.release(held, waiting).await;
    assert!(
        waited < Duration::from_secs(3),
        "the short backoff bounds the wait without wake-ups ({waited:?})"
    );

    // Allowed again, the subscriber comes back and later waits are woken again.
    acl(&mut scene.raw, "+subscribe").await;
    let held = scene.hold(&worker).await;
    scene.arrivals.recv().await;
    let waiting = wait_to_read(&worker);
    scene
        .until_subscribers("subscribed again", Duration::from_secs(10), 1)
        .await;
    scene.release(held, waiting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reservation_never_settled_frees_its_slot_when_it_lapses() {
    let mut scene = Scene::start().await;
    let redis = support::connect(&scene.server).await;
    let account = support::accounts(1).remove(0);
    let lease = Duration::from_millis(1500);
    let worker = FleetLimits::new(&redis)
        .with_lease(lease)
        .transport(account, scene.x());
    scene.limit_to_one(&worker).await;

    // A worker dies mid-request: its reservation is never settled and no message comes.
    let dying = scene.hold(&worker).await;
    let reserved = Instant::now();
    dying.abort();

    let before = scripts_run(&mut scene.raw).await;
    let response = worker.send(read(false)).await.unwrap();
    assert_eq!(response.status(), 200);
    let waited = reserved.elapsed();
    assert!(
        waited >= lease - Duration::from_millis(100) && waited < lease + Duration::from_secs(1),
        "admitted when the dead worker's reservation lapsed ({waited:?})"
    );
    let scripts = scripts_run(&mut scene.raw).await - before;
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
    let mut scene = Scene::start().await;
    let worker = scene.worker().await;
    scene.limit_to_one(&worker).await;
    let (held, waiting) = scene.hold_and_wait(&worker, &worker).await;

    // Past the subscriber's health check (every 10 s): it stays the one connection, and the
    // waiter asks again only when its 5 s bound passes.
    let raw = &mut scene.raw;
    let connections = connections_received(raw).await;
    let scripts = scripts_run(raw).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        connections_received(raw).await,
        connections,
        "the subscriber was not reconnected"
    );
    assert_eq!(subscribers(raw).await, 1);
    let asked = scripts_run(raw).await - scripts;
    assert!(asked <= 3, "{asked} admissions in 12 s");

    scene.release(held, waiting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_pub_sub_rights_settlements_still_count_and_waits_stay_bounded() {
    let mut scene = Scene::start().await;
    // An ACL user that may run the scripts but neither publish nor subscribe on any channel.
    acl(&mut scene.raw, "resetchannels").await;
    let redis = support::connect(&scene.server).await;
    let limits = FleetLimits::new(&redis);
    let worker = limits.transport(support::accounts(1).remove(0), scene.x());
    scene.limit_to_one(&worker).await;
    let held = scene.hold(&worker).await;
    let waiting = wait_to_read(&worker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished());
    assert!(
        scene.release(held, waiting).await < Duration::from_secs(3),
        "bounded by the backoff"
    );
    assert!(
        !limits.is_degraded(),
        "the settlements ran whole: the fleet never fell back to local limits"
    );
}
