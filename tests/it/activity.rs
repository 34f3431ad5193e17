//! The activity stream client and the subscription setup against the emulator: each DM once
//! (both copies of a message, redeliveries, random drops with gaps filled from REST),
//! reconnects after operational disconnects and stalls, backoff after a 429, a stop on 401,
//! shutdown, and setup errors before any request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::activity::{
    ActivityItem, ActivitySetup, ActivityStream, Disconnect, StopCause, StreamNotice, StreamOptions,
};
use xdm_client::transport::Timer;
use xdm_client::{AuthorizationError, Config, Credentials, Error};
use xdm_core::Scope;
use xdm_core::activity::session::{SessionConfig, WaitReason};
use xdm_core::endpoints::{
    CreateSubscription, StreamRefusal, SubscriptionEventType, SubscriptionTag, UpdateSubscription,
};
use xdm_emulator::{
    DeliveryFault, Emulator, Fault, FaultKind, RateLimits, StreamChaos, StreamFault,
};
use xdm_hyper::{HyperTransport, TokioClock};

use crate::support::{Scheme, client, config, user};

type Api<C> = xdm_client::Client<HyperTransport, C>;

async fn start() -> Emulator {
    Emulator::builder()
        .seed_events(3)
        .rate_limits(RateLimits::off())
        .stream_keep_alive(Duration::from_millis(50))
        .start()
        .await
        .unwrap()
}

fn transport() -> HyperTransport {
    HyperTransport::builder()
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn app_config(emu: &Emulator, token: &str) -> Config {
    Config::new(Credentials::app_bearer(token)).with_base_url(config(emu, Scheme::OAuth2).base_url)
}

fn app<C: Timer>(emu: &Emulator, timer: C) -> Api<C> {
    let token = emu.credentials().app_bearer_token.clone();
    xdm_client::Client::new(transport(), timer, app_config(emu, &token))
}

/// A user client for the n-th seeded user, with a token holding `scopes`.
fn user_client<C: Timer>(emu: &Emulator, n: usize, scopes: &[&str], timer: C) -> Api<C> {
    let id = user(emu, n);
    let token = emu
        .handle()
        .issue_oauth2_token(id.as_str(), scopes)
        .unwrap();
    let base = config(emu, Scheme::OAuth2).base_url;
    let token = UserToken::new(token, SystemTime::now())
        .with_scopes(scopes.iter().map(|s| Scope::parse(s)));
    let manager = TokenManager::new(
        OAuth2Client::public("", "").with_api_base_url(base.clone()),
        token,
    );
    let config = Config::new(Credentials::oauth2(manager))
        .with_base_url(base)
        .with_user_id(id);
    xdm_client::Client::new(transport(), timer, config)
}

const DM_SCOPES: &[&str] = &["dm.read", "dm.write", "tweet.read", "users.read"];

/// Subscribes the first `users` seeded users to `dm.sent` and `dm.received`.
async fn subscribe<C: Timer + Clone>(emu: &Emulator, app: &Api<C>, users: usize) {
    for n in 0..users {
        let me = user_client(emu, n, DM_SCOPES, app.timer().clone());
        ActivitySetup::new(app, &me)
            .ensure(&user(emu, n))
            .await
            .unwrap();
    }
}

/// A stream for the app with the first `users` seeded users subscribed, filling gaps as
/// user 0.
async fn subscribed_stream(
    emu: &Emulator,
    users: usize,
) -> ActivityStream<HyperTransport, TokioClock> {
    let app = app(emu, TokioClock);
    subscribe(emu, &app, users).await;
    ActivityStream::with_options(app, fast_session())
        .with_gap_fill(user_client(emu, 0, DM_SCOPES, TokioClock))
}

/// Makes the next stream connection meet `fault` before its first event.
fn fault_next_stream(emu: &Emulator, fault: StreamFault) {
    emu.handle().inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::Stream {
            fault,
            after_events: 0,
        },
    ));
}

/// Short timeouts; a connection counts as stable at once, so that every drop reconnects at
/// once, as a long-lived connection's would.
fn fast_session() -> StreamOptions {
    StreamOptions::new().with_session(
        SessionConfig::new()
            .with_idle_timeout(Duration::from_millis(400))
            .with_connect_timeout(Duration::from_secs(3))
            .with_stable_after(Duration::from_millis(1)),
    )
}

/// Reads items until `done` holds for what was read, within `within`.
async fn read_until<T, C>(
    stream: &mut ActivityStream<T, C>,
    items: &mut Vec<ActivityItem>,
    within: Duration,
    mut done: impl FnMut(&[ActivityItem]) -> bool,
) where
    T: xdm_client::transport::StreamingTransport + 'static,
    C: Timer + 'static,
{
    let work = async {
        while !done(items) {
            match stream.next().await {
                Some(item) => items.push(item),
                None => return,
            }
        }
    };
    tokio::time::timeout(within, work)
        .await
        .unwrap_or_else(|_| panic!("timed out; read {items:#?}"));
}

fn texts(items: &[ActivityItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.dm_event()?.text.clone())
        .collect()
}

fn has_text(items: &[ActivityItem], text: &str) -> bool {
    texts(items).iter().any(|t| t == text)
}

fn count_ids(items: &[ActivityItem]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for id in items.iter().filter_map(|i| i.dm_event()?.id.clone()) {
        *counts.entry(id).or_default() += 1;
    }
    counts
}

fn notices(items: &[ActivityItem]) -> impl Iterator<Item = &StreamNotice> {
    items.iter().filter_map(|i| match i {
        ActivityItem::Notice(n) => Some(n),
        _ => None,
    })
}

fn connected(items: &[ActivityItem]) -> usize {
    notices(items)
        .filter(|n| matches!(n, StreamNotice::Connected { .. }))
        .count()
}

#[tokio::test]
async fn a_dm_between_two_subscribed_users_comes_out_once() {
    let emu = start().await;
    let (me, alice) = (user(&emu, 0), user(&emu, 1));
    let mut stream = subscribed_stream(&emu, 2).await;
    let mut items = Vec::new();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        connected(i) == 1
    })
    .await;

    let h = emu.handle();
    h.send_dm(alice.as_str(), me.as_str(), "hello").unwrap();
    h.inject_delivery_fault(DeliveryFault::Redeliver);
    h.send_dm(me.as_str(), alice.as_str(), "again").unwrap();
    h.send_dm(alice.as_str(), me.as_str(), "sentinel").unwrap();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        has_text(i, "sentinel")
    })
    .await;
    // Whatever would follow a duplicate has had time to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        while let Some(item) = stream.next().await {
            items.push(item);
        }
    })
    .await;
    let counts = count_ids(&items);
    assert_eq!(counts.len(), 3, "{items:#?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let hello = items.iter().find_map(ActivityItem::message).unwrap();
    assert_eq!(hello.event.text.as_deref(), Some("hello"));
    assert_eq!(hello.event.sender_id.as_deref(), Some(alice.as_str()));
    assert_eq!(connected(&items), 1);
    assert_eq!(emu.handle().stream_connections(), 1);
}

fn fetched(items: &[ActivityItem]) -> usize {
    items
        .iter()
        .filter(|i| matches!(i, ActivityItem::Fetched(_)))
        .count()
}

fn filled(items: &[ActivityItem]) -> usize {
    notices(items)
        .filter_map(|n| match n {
            StreamNotice::GapFilled { events, .. } => Some(*events),
            _ => None,
        })
        .sum()
}

async fn chaos(seed: u64) {
    let emu = start().await;
    let (me, alice) = (user(&emu, 0), user(&emu, 1));
    let mut stream = subscribed_stream(&emu, 1).await;
    let mut items = Vec::new();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        connected(i) == 1
    })
    .await;
    emu.handle()
        .set_stream_chaos(Some(StreamChaos { seed, one_in: 4 }));

    let sender = {
        let h = emu.handle();
        let (me, alice) = (me.clone(), alice.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..50 {
                ids.push(
                    h.send_dm(alice.as_str(), me.as_str(), &format!("m{i}"))
                        .unwrap(),
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // The last sends may have been cut with no later line to reveal the drop; one
            // more message after the chaos ends makes any remaining gap visible.
            h.set_stream_chaos(None);
            h.fault_streams(StreamFault::DropMidLine);
            ids.push(h.send_dm(alice.as_str(), me.as_str(), "last").unwrap());
            ids
        })
    };
    let wanted: Vec<String> = (0..50)
        .map(|i| format!("m{i}"))
        .chain(["last".into()])
        .collect();
    read_until(&mut stream, &mut items, Duration::from_secs(20), |i| {
        let seen = texts(i);
        wanted.iter().all(|t| seen.contains(t)) && fetched(i) == filled(i)
    })
    .await;
    let sent = sender.await.unwrap();
    let counts = count_ids(&items);
    for id in &sent {
        assert_eq!(counts[id], 1, "{id} seed {seed}");
    }
    assert!(counts.values().all(|&n| n == 1), "seed {seed}: {counts:?}");
    let streamed = items.iter().filter(|i| i.message().is_some()).count();
    assert!(fetched(&items) > 0, "seed {seed}: the drops lost nothing?");
    assert!(
        streamed > 0,
        "seed {seed}: nothing came by stream: {:#?}",
        notices(&items).collect::<Vec<_>>()
    );
    assert!(connected(&items) > 2);
    assert!(emu.handle().stream_connections() <= 1);
}

#[tokio::test]
async fn random_drops_lose_nothing_and_repeat_nothing() {
    for seed in [1, 7, 42] {
        chaos(seed).await;
    }
}

#[tokio::test]
async fn an_operational_disconnect_is_reported_and_the_stream_reconnects() {
    let emu = start().await;
    fault_next_stream(&emu, StreamFault::OperationalDisconnect);
    let mut stream = subscribed_stream(&emu, 1).await;
    let mut items = Vec::new();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        connected(i) == 2
    })
    .await;
    let problem = notices(&items)
        .find_map(|n| match n {
            StreamNotice::Problems(p) => Some(p[0].clone()),
            _ => None,
        })
        .expect("the problem line is surfaced");
    assert!(problem.is_operational_disconnect());
    assert!(notices(&items).any(|n| matches!(n, StreamNotice::Disconnected(Disconnect::Ended))));
    emu.handle()
        .send_dm(user(&emu, 1).as_str(), user(&emu, 0).as_str(), "after")
        .unwrap();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        has_text(i, "after")
    })
    .await;
}

#[tokio::test]
async fn a_stalled_stream_is_closed_by_the_idle_timer_and_its_gap_filled() {
    let emu = start().await;
    fault_next_stream(&emu, StreamFault::Stall);
    let mut stream = subscribed_stream(&emu, 1).await;
    let mut items = Vec::new();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        connected(i) == 1
    })
    .await;
    emu.handle()
        .send_dm(
            user(&emu, 1).as_str(),
            user(&emu, 0).as_str(),
            "lost in the stall",
        )
        .unwrap();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        notices(i).any(|n| matches!(n, StreamNotice::GapFilled { .. }))
    })
    .await;
    assert!(
        notices(&items).any(|n| matches!(n, StreamNotice::Disconnected(Disconnect::IdleTimeout)))
    );
    assert!(matches!(
        items.last(),
        Some(ActivityItem::Notice(StreamNotice::GapFilled {
            events: 1,
            ..
        }))
    ));
    let fetched = &items[items.len() - 2];
    assert!(matches!(fetched, ActivityItem::Fetched(_)), "{items:#?}");
    assert_eq!(
        fetched.dm_event().unwrap().text.as_deref(),
        Some("lost in the stall")
    );
}

/// A clock whose long sleeps pass at once, advancing its reading instead, so that a test sees
/// X's minute-long backoffs without waiting them out.
#[derive(Clone, Default)]
struct FastForward {
    skipped_ms: Arc<AtomicU64>,
}

impl Timer for FastForward {
    fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.skipped_ms.load(Ordering::SeqCst))
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        let skipped = Arc::clone(&self.skipped_ms);
        async move {
            if duration >= Duration::from_secs(30) {
                skipped.fetch_add(duration.as_millis() as u64, Ordering::SeqCst);
            } else {
                tokio::time::sleep(duration).await;
            }
        }
    }
}

#[tokio::test]
async fn too_many_connections_backs_off_a_minute_then_connects() {
    let emu = start().await;
    let clock = FastForward::default();
    let app = app(&emu, clock.clone());
    emu.handle().inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::TooManyConnections,
    ));
    let mut stream = ActivityStream::with_options(app, fast_session());
    let mut items = Vec::new();
    read_until(&mut stream, &mut items, Duration::from_secs(5), |i| {
        connected(i) == 1
    })
    .await;
    assert!(matches!(
        items[0],
        ActivityItem::Notice(StreamNotice::Refused(StreamRefusal::RateLimited {
            too_many_connections: true,
            ..
        }))
    ));
    let ActivityItem::Notice(StreamNotice::Reconnecting { after, reason, .. }) = &items[1] else {
        panic!("{items:#?}")
    };
    assert!(*after >= Duration::from_secs(60), "{after:?}");
    assert_eq!(*reason, WaitReason::RateLimited);
    assert!(clock.skipped_ms.load(Ordering::SeqCst) >= 60_000);
}

#[tokio::test]
async fn a_rejected_token_stops_the_stream() {
    let emu = start().await;
    let app = xdm_client::Client::new(transport(), TokioClock, app_config(&emu, "not-the-token"));
    let mut stream = ActivityStream::with_options(app, fast_session());
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    let Some(ActivityItem::Notice(StreamNotice::Stopped(StopCause::Refused(fatal)))) = first else {
        panic!("{first:?}")
    };
    assert_eq!(fatal.status, 401);
    assert!(stream.next().await.is_none());
    let connects = emu
        .handle()
        .requests()
        .iter()
        .filter(|r| r.path == "/2/activity/stream")
        .count();
    assert_eq!(connects, 1);
}

#[tokio::test]
async fn a_user_client_cannot_open_the_stream() {
    let emu = start().await;
    let mut stream = ActivityStream::new(client(&emu, Scheme::OAuth2));
    let first = stream.next().await;
    let Some(ActivityItem::Notice(StreamNotice::Stopped(StopCause::Error(Error::Authorization(
        AuthorizationError::Refused(e),
    ))))) = first
    else {
        panic!("{first:?}")
    };
    assert!(e.to_string().contains("Bearer"), "{e}");
    assert!(stream.next().await.is_none());
    assert!(emu.handle().requests().is_empty());
}

/// The next item of any unpinned stream.
async fn next<S: futures_core::Stream + Unpin>(items: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *items).poll_next(cx)).await
}

#[tokio::test]
async fn shutdown_closes_the_connection_and_ends_the_stream() {
    let emu = start().await;
    let app = app(&emu, TokioClock);
    let stream = ActivityStream::with_options(app, fast_session());
    let handle = stream.shutdown_handle();
    let mut items = stream.into_stream();
    let first = next(&mut items).await;
    assert!(matches!(
        first,
        Some(ActivityItem::Notice(StreamNotice::Connected { .. }))
    ));
    let h = emu.handle();
    let waiter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        handle.shutdown();
    });
    let mut rest = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), next(&mut items))
        .await
        .unwrap()
    {
        rest.push(item);
    }
    waiter.await.unwrap();
    assert!(matches!(
        rest.last(),
        Some(ActivityItem::Notice(StreamNotice::Stopped(
            StopCause::Shutdown
        )))
    ));
    for _ in 0..100 {
        if h.stream_connections() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the emulator still counts the connection");
}

#[tokio::test]
async fn setup_creates_what_is_missing_and_then_finds_it() {
    let emu = start().await;
    let app = app(&emu, TokioClock);
    let me = user_client(&emu, 0, DM_SCOPES, TokioClock);
    let id = user(&emu, 0);
    // One of the two exists already.
    let existing = CreateSubscription::for_user(SubscriptionEventType::DmSent, id.clone()).unwrap();
    assert!(
        me.create_subscription(&existing)
            .await
            .unwrap()
            .created()
            .is_some()
    );
    assert!(
        me.create_subscription(&existing)
            .await
            .unwrap()
            .is_duplicate()
    );

    let first = ActivitySetup::new(&app, &me).ensure(&id).await.unwrap();
    assert_eq!(first.present.len(), 1);
    assert_eq!(first.created.len(), 1);
    assert_eq!(first.created[0].event_type.as_deref(), Some("dm.received"));
    let again = ActivitySetup::new(&app, &me).ensure(&id).await.unwrap();
    assert_eq!((again.present.len(), again.created.len()), (2, 0));

    let all = app.list_all_subscriptions().await.unwrap();
    assert_eq!(all.len(), 2);
    let update = UpdateSubscription::new(
        all[0].id().unwrap(),
        Some(SubscriptionTag::parse("renamed").unwrap()),
        None,
    )
    .unwrap();
    let updated = app.update_subscription(&update).await.unwrap();
    assert_eq!(updated.subscription.tag.as_deref(), Some("renamed"));
    // The user's token cannot change subscriptions: refused before sending.
    let before = emu.handle().requests().len();
    let e = me.update_subscription(&update).await.unwrap_err();
    assert!(e.to_string().contains("Bearer"), "{e}");
    assert_eq!(emu.handle().requests().len(), before);
    let gone = app
        .delete_subscription(&all[0].id().unwrap())
        .await
        .unwrap();
    assert!(gone.deleted);
    let many = app
        .delete_subscriptions([all[1].id().unwrap()])
        .await
        .unwrap();
    assert!(many.failures.is_empty(), "{many:?}");
    assert!(app.list_all_subscriptions().await.unwrap().is_empty());
}

#[tokio::test]
async fn setup_refuses_wrong_credentials_before_any_request() {
    let emu = start().await;
    let app = app(&emu, TokioClock);
    let id = user(&emu, 0);
    let no_dm_read = user_client(&emu, 0, &["tweet.read", "users.read"], TokioClock);
    let e = ActivitySetup::new(&app, &no_dm_read)
        .ensure(&id)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("dm.read"), "{e}");

    let me = user_client(&emu, 0, DM_SCOPES, TokioClock);
    // The clients swapped: the app client must hold the app's Bearer token.
    let e = ActivitySetup::new(&me, &app).ensure(&id).await.unwrap_err();
    assert!(e.to_string().contains("Bearer"), "{e}");
    let e = ActivitySetup::new(&app, &app)
        .ensure(&id)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user's token"), "{e}");
    assert!(
        emu.handle()
            .requests()
            .iter()
            .all(|r| r.path != "/2/activity/subscriptions")
    );
}
