//! The fleet's rate-limit windows: the budget is spent once by all workers together, a 429
//! seen by one holds back all, and a Redis outage falls back to each client's own limiter.

use std::time::{Duration, Instant};

use xdm_core::endpoints::ListEvents;
use xdm_emulator::RateLimits;
use xdm_redis::RedisTokenStore;

use crate::support;

/// X's table, with a 15-request read window shortened to `window`.
fn short_windows(window: Duration) -> RateLimits {
    RateLimits {
        window,
        ..RateLimits::default()
    }
}

async fn seeded_account(
    redis: &xdm_redis::Redis,
    url: &str,
    client_id: &str,
) -> xdm_redis::AccountId {
    let account = support::accounts(1).remove(0);
    let token = support::expired_token(url, client_id).await;
    RedisTokenStore::new(redis, account.clone())
        .save_if_absent(&token)
        .await
        .unwrap();
    account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_together_spend_the_whole_budget_without_a_429() {
    let window = Duration::from_secs(4);
    let (server, emulator, url, client_id, redis) = support::world(short_windows(window)).await;
    let account = seeded_account(&redis, &url, &client_id).await;

    // Three workers, 35 reads: 15, 15 and 5 across three windows.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let redis = support::connect(&server).await;
        let fleet = support::fleet(&redis, &client_id, &url);
        let client = fleet.add_account(account.clone(), None).await.unwrap();
        for _ in 0..12 {
            let client = client.clone();
            tasks.spawn(async move { client.list_page(&ListEvents::new()).await.map(|_| ()) });
        }
    }
    let mut served = 0;
    while let Some(done) = tasks.join_next().await {
        done.unwrap().expect("every read is served");
        served += 1;
    }
    let elapsed = started.elapsed();
    let reads = support::statuses(&emulator, "/2/dm_events");
    assert_eq!(served, 36);
    assert_eq!(
        reads.len(),
        36,
        "each read reached the emulator once: {reads:?}"
    );
    assert!(reads.iter().all(|s| *s == Some(200)), "no 429: {reads:?}");
    // 36 reads need three windows; a budget left unused would need a fourth.
    assert!(
        elapsed < window * 3 + Duration::from_secs(2),
        "the budget was used up in each window ({elapsed:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_seen_by_one_worker_holds_every_worker_back_until_the_reset() {
    let window = Duration::from_secs(4);
    let (server, emulator, url, client_id, redis) = support::world(short_windows(window)).await;
    let account = seeded_account(&redis, &url, &client_id).await;
    let first = support::fleet(&support::connect(&server).await, &client_id, &url);
    let second = support::fleet(&support::connect(&server).await, &client_id, &url);
    let a = first.add_account(account.clone(), None).await.unwrap();
    let b = second.add_account(account.clone(), None).await.unwrap();
    a.me().await.unwrap(); // Refreshes the token, outside the read group.

    // Someone outside the fleet spends the user's read budget.
    let me = emulator.credentials().oauth2.user_id.clone();
    let token = emulator
        .handle()
        .issue_oauth2_token(&me, &["dm.read", "tweet.read", "users.read"])
        .unwrap();
    let outsider = xdm_client::Client::new(
        support::transport(),
        xdm_hyper::TokioClock,
        xdm_client::Config::new(xdm_client::Credentials::oauth2_token(token))
            .with_base_url(support::base_url(&url)),
    );
    for _ in 0..15 {
        outsider.list_page(&ListEvents::new()).await.unwrap();
    }
    emulator.handle().clear_requests();

    // The first worker meets the 429 and waits for the reset; the second, started after,
    // is held back by the fleet's record of it without asking the emulator.
    let started = Instant::now();
    let first_read = tokio::spawn(async move { a.list_page(&ListEvents::new()).await.map(|_| ()) });
    let deadline = Instant::now() + Duration::from_secs(3);
    while support::statuses(&emulator, "/2/dm_events").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first worker's read reached the emulator"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second_read =
        tokio::spawn(async move { b.list_page(&ListEvents::new()).await.map(|_| ()) });
    first_read.await.unwrap().expect("served after the reset");
    second_read.await.unwrap().expect("served after the reset");
    let reads = support::statuses(&emulator, "/2/dm_events");
    assert_eq!(
        reads.iter().filter(|s| **s == Some(429)).count(),
        1,
        "one 429 for the whole fleet: {reads:?}"
    );
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert!(started.elapsed() < window + Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_falls_back_to_the_local_limiter_while_redis_is_down() {
    let (mut server, emulator, url, client_id, redis) = support::world(RateLimits::default()).await;
    let account = seeded_account(&redis, &url, &client_id).await;
    let fleet = support::fleet(&redis, &client_id, &url);
    let client = fleet.add_account(account, None).await.unwrap();
    client.list_page(&ListEvents::new()).await.unwrap();
    assert!(!fleet.limits().is_degraded());

    server.stop();
    client
        .list_page(&ListEvents::new())
        .await
        .expect("served on the local limiter's word");
    assert!(fleet.limits().is_degraded());

    server.restart();
    client.list_page(&ListEvents::new()).await.unwrap();
    assert!(!fleet.limits().is_degraded(), "rejoined the fleet");
    assert_eq!(support::statuses(&emulator, "/2/dm_events").len(), 3);
}

/// A fleet that never waits: its limits answer at once, its clients fail fast.
fn impatient(
    redis: &xdm_redis::Redis,
    client_id: &str,
    url: &str,
) -> xdm_redis::Fleet<xdm_hyper::HyperTransport, xdm_hyper::TokioClock> {
    xdm_redis::Fleet::builder(
        redis,
        support::transport(),
        xdm_hyper::TokioClock,
        support::oauth_client(client_id, url),
    )
    .base_url(support::base_url(url))
    .limits(xdm_redis::FleetLimits::new(redis).with_max_wait(Duration::ZERO))
    .rate_limit_policy(xdm_client::RateLimitPolicy::FailFast)
    .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_wait_the_fleet_answers_a_429_naming_the_reset() {
    let (server, emulator, url, client_id, redis) =
        support::world(short_windows(Duration::from_secs(30))).await;
    let account = seeded_account(&redis, &url, &client_id).await;
    let first = impatient(&redis, &client_id, &url);
    let second = impatient(&support::connect(&server).await, &client_id, &url);
    let spender = first.add_account(account.clone(), None).await.unwrap();
    let other = second.add_account(account.clone(), None).await.unwrap();
    for _ in 0..15 {
        spender.list_page(&ListEvents::new()).await.unwrap();
    }
    emulator.handle().clear_requests();

    // The second worker has spent nothing itself: the fleet's count alone refuses it.
    let error = other
        .list_page(&ListEvents::new())
        .await
        .expect_err("the fleet's budget is spent");
    assert!(
        matches!(error, xdm_client::Error::RateLimited { .. }),
        "{error:?}"
    );

    // What the client saw: a 429 of the fleet's own, naming the shared reset.
    let limited = second.limits().transport(account, support::transport());
    let mut request = http::Request::get(format!("{url}/2/dm_events"))
        .body(bytes::Bytes::new())
        .unwrap();
    request.extensions_mut().insert(xdm_core::EndpointInfo::new(
        http::Method::GET,
        "/2/dm_events",
        xdm_core::EndpointGroup::ReadEvents,
        &[],
        xdm_core::Delivery::Idempotent,
    ));
    let response = xdm_client::transport::Transport::send(&limited, request)
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-xdm-fleet-limited"], "1");
    let reset: u64 = response.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now && reset <= now + 31, "names the shared reset");
    assert!(
        support::statuses(&emulator, "/2/dm_events").is_empty(),
        "the refusals never reached the emulator"
    );
}
