//! Sustained sends from several worker processes for the same users: together they spend each
//! user's send budget to the last request, and never meet a 429.

use std::time::{Duration, Instant, SystemTime};

use xdm_auth::oauth2::UserToken;
use xdm_emulator::RateLimits;
use xdm_redis::{AccountId, RedisTokenStore};

use crate::support::{self, RedisServer};
use crate::worker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_spend_the_whole_send_budget_without_a_429() {
    let server = RedisServer::start();
    // X's table (15 sends per user per window, 1,440 a day), the window shortened to 5 s.
    let window = Duration::from_secs(5);
    let emulator = support::emulator(RateLimits {
        window,
        ..RateLimits::default()
    })
    .await;
    let url = emulator.base_url().to_owned();
    let client_id = emulator.credentials().oauth2.client_id.clone();
    let redis = support::connect(&server).await;

    // Two users, each its own account; both write to a third.
    let users = emulator.handle().users();
    let mut accounts = Vec::new();
    for user in &users[..2] {
        let token = emulator
            .handle()
            .issue_oauth2_token(
                &user.id,
                &["dm.read", "dm.write", "tweet.read", "users.read"],
            )
            .expect("the user exists");
        let account = AccountId::new(format!("user-{}", user.id)).unwrap();
        RedisTokenStore::new(&redis, account.clone())
            .save_if_absent(&UserToken::new(token, SystemTime::now()))
            .await
            .unwrap();
        accounts.push(account);
    }
    let recipient = users[2].id.clone();

    // Three processes, 15 sends per account each: 45 per user, three windows' worth.
    let redis_url = server.url();
    let job = worker::Job {
        mode: "sends",
        redis_url: &redis_url,
        emulator_url: &url,
        client_id: &client_id,
        accounts: &accounts,
        calls_per_account: 15,
        lock_ttl: Duration::from_secs(40),
        recipient: &recipient,
    };
    let started = Instant::now();
    let stdouts = worker::run_all(&job, 3).await;
    let elapsed = started.elapsed();
    for stdout in stdouts {
        assert!(stdout.contains("sent 30"), "a worker's sends: {stdout}");
    }

    let sends: Vec<Option<u16>> = emulator
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/2/dm_conversations/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        sends.len(),
        90,
        "each send reached the emulator once: {sends:?}"
    );
    assert!(sends.iter().all(|s| *s == Some(201)), "no 429: {sends:?}");
    // The emulator's events: every send is there, 45 from each user.
    let events = emulator.handle().events();
    for user in &users[..2] {
        let sent = events
            .iter()
            .filter(|e| {
                e.sender_id == user.id && e.text.as_deref().is_some_and(|t| t.contains("user-"))
            })
            .count();
        assert_eq!(sent, 45, "the sends of user {}", user.id);
    }
    // 45 sends per user need three windows when each is spent to the last send: the first
    // starts at the first send, so the last send goes out right after the second reset (X's
    // resets are whole seconds, and the fleet adds up to 250 ms of jitter: at most 2.5 s
    // late in all). A window left partly unused would push it past a third reset.
    assert!(
        elapsed < window * 3,
        "the budget was used up in each window ({elapsed:?})"
    );
}
