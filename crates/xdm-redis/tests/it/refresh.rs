//! A refresh token is spent once by the whole fleet: across tasks, fleets and processes,
//! when a lock holder dies, and not at all while Redis is down.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use xdm_client::{AuthorizationError, Error, TokenStore};
use xdm_emulator::RateLimits;
use xdm_redis::{RedisTokenStore, StoreError};

use crate::support::{self, RedisServer};
use crate::worker;

/// Seeds `n` accounts with expired tokens of their own; returns the accounts.
async fn seed(
    redis: &xdm_redis::Redis,
    url: &str,
    client_id: &str,
    n: usize,
) -> Vec<xdm_redis::AccountId> {
    let accounts = support::accounts(n);
    for account in &accounts {
        let token = support::expired_token(url, client_id).await;
        let store = RedisTokenStore::new(redis, account.clone());
        assert!(store.save_if_absent(&token).await.unwrap());
        assert!(!store.save_if_absent(&token).await.unwrap(), "seeded once");
    }
    accounts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_per_account_across_tasks_and_fleets() {
    let (server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let accounts = seed(&redis, &url, &client_id, 6).await;

    // Three fleets, each with its own Redis connection, as three workers would have.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let redis = support::connect(&server).await;
        let fleet = support::fleet(&redis, &client_id, &url);
        for account in &accounts {
            let client = fleet.add_account(account.clone(), None).await.unwrap();
            for _ in 0..5 {
                let client = client.clone();
                tasks.spawn(async move { client.me().await.map(|_| ()) });
            }
        }
    }
    let mut served = 0;
    while let Some(done) = tasks.join_next().await {
        done.unwrap().expect("every call is served");
        served += 1;
    }
    assert_eq!(served, 3 * 6 * 5);
    assert_eq!(
        support::refreshes(&emulator, 6),
        (6, 0),
        "one refresh per account, no reuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refresh_per_account_across_processes() {
    let (server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let accounts = seed(&redis, &url, &client_id, 8).await;

    let redis_url = server.url();
    let job = worker::Job {
        mode: "calls",
        redis_url: &redis_url,
        emulator_url: &url,
        client_id: &client_id,
        accounts: &accounts,
        calls_per_account: 3,
        lock_ttl: Duration::from_secs(40),
        recipient: "",
    };
    let stdouts = worker::run_all(&job, 4).await;
    for stdout in stdouts {
        assert!(stdout.contains("served 24"), "a worker's calls: {stdout}");
    }
    assert_eq!(
        support::refreshes(&emulator, 8),
        (8, 0),
        "one refresh per account, no reuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_blocks_the_account_only_until_its_lock_expires() {
    let (server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let accounts = seed(&redis, &url, &client_id, 1).await;

    let redis_url = server.url();
    let ttl = Duration::from_millis(1500);
    let mut holder = worker::spawn(&worker::Job {
        mode: "hold",
        redis_url: &redis_url,
        emulator_url: &url,
        client_id: &client_id,
        accounts: &accounts,
        calls_per_account: 0,
        lock_ttl: ttl,
        recipient: "",
    });
    let stdout = holder.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map(Result::unwrap)
            .find(|l| l.contains("locked"))
    })
    .await
    .unwrap();
    assert!(line.is_some(), "the holder took the lock");
    let locked_at = Instant::now();
    holder.kill().unwrap(); // SIGKILL: no release, no goodbye.
    holder.wait().unwrap();

    let fleet = support::fleet(&redis, &client_id, &url);
    let client = fleet.add_account(accounts[0].clone(), None).await.unwrap();
    client
        .me()
        .await
        .expect("the call is served once the dead holder's lock expires");
    assert!(
        locked_at.elapsed() >= ttl - Duration::from_millis(200),
        "the lock was respected until it expired ({:?})",
        locked_at.elapsed()
    );
    assert_eq!(
        support::refreshes(&emulator, 1),
        (1, 0),
        "one refresh, no reuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_fails_closed_while_redis_is_down_and_resumes_after() {
    let (mut server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let accounts = seed(&redis, &url, &client_id, 1).await;
    let fleet = support::fleet(&redis, &client_id, &url);
    let client = fleet.add_account(accounts[0].clone(), None).await.unwrap();

    server.stop();
    let started = Instant::now();
    let error = client
        .me()
        .await
        .expect_err("no refresh without the fleet's lock");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a clear error, not a hang"
    );
    match &error {
        Error::Authorization(AuthorizationError::TokenStore(e)) => {
            assert!(
                matches!(e.get_ref().downcast_ref(), Some(StoreError::Redis { .. })),
                "{e}"
            );
        }
        other => panic!("expected a token store error, got {other:?}"),
    }
    assert_eq!(
        support::refreshes(&emulator, 1),
        (0, 0),
        "no refresh was sent"
    );

    server.restart();
    client.me().await.expect("served once Redis is back");
    assert_eq!(support::refreshes(&emulator, 1), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_whose_write_failed_is_kept_and_written_later() {
    let mut server = RedisServer::start();
    let redis = support::connect(&server).await;
    let account = support::accounts(1).remove(0);
    let store =
        RedisTokenStore::new(&redis, account.clone()).with_lock_ttl(Duration::from_secs(30));
    // Whole milliseconds: the record keeps times to the millisecond.
    let now = std::time::UNIX_EPOCH + Duration::from_millis(1_790_000_000_000);
    let old = xdm_auth::oauth2::UserToken::new("old-access", now).with_refresh_token("old-refresh");
    let new = xdm_auth::oauth2::UserToken::new("new-access", now).with_refresh_token("new-refresh");
    store.save(&old).await.unwrap();

    let lock = store.try_lock().await.unwrap().expect("the lock is free");
    assert_eq!(lock.load().await.unwrap(), Some(old.clone()));
    server.stop();
    let error = lock.save(&new).await.expect_err("Redis is down");
    assert!(
        !error.to_string().contains("new-"),
        "no token in the error: {error}"
    );
    assert_eq!(store.unsaved_token(), Some(new.clone()), "kept in memory");
    assert_eq!(
        store.load_token().await.unwrap(),
        Some(new.clone()),
        "and handed out"
    );
    lock.release()
        .await
        .expect_err("not released before the token is written");

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.has_unsaved_token() {
        assert!(
            Instant::now() < deadline,
            "the kept token is written once Redis is back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let other = RedisTokenStore::new(&redis, account);
    assert_eq!(other.load().await.unwrap(), Some(new));
    assert!(
        other.try_lock().await.unwrap().is_none(),
        "the lock was left to expire rather than released before the write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_lock_expired_cannot_overwrite_a_newer_token() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let account = support::accounts(1).remove(0);
    let store = RedisTokenStore::new(&redis, account).with_lock_ttl(Duration::from_millis(200));
    // Whole milliseconds: the record keeps times to the millisecond.
    let now = std::time::UNIX_EPOCH + Duration::from_millis(1_790_000_000_000);
    let stale = xdm_auth::oauth2::UserToken::new("stale", now).with_refresh_token("r1");
    let newer = xdm_auth::oauth2::UserToken::new("newer", now).with_refresh_token("r2");

    let first = store.try_lock().await.unwrap().expect("the lock is free");
    assert!(store.try_lock().await.unwrap().is_none(), "held");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = store
        .try_lock()
        .await
        .unwrap()
        .expect("the first lock expired");
    second.save(&newer).await.unwrap();

    let refused = first.save(&stale).await.expect_err("fenced off");
    assert!(
        matches!(
            refused.get_ref().downcast_ref(),
            Some(StoreError::Superseded { .. })
        ),
        "{refused}"
    );
    let lost = first
        .load()
        .await
        .expect_err("the lock is no longer the first holder's");
    assert!(
        matches!(
            lost.get_ref().downcast_ref(),
            Some(StoreError::LockLost { .. })
        ),
        "{lost}"
    );
    first.release().await.unwrap(); // Leaves the second holder's lock alone.
    assert!(
        store.try_lock().await.unwrap().is_none(),
        "still the second holder's"
    );
    second.release().await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(newer));
    assert!(store.try_lock().await.unwrap().is_some(), "free again");
}
