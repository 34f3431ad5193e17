//! The error paths that need a damaged record or a silent server to reach: each is a clear
//! error that quotes nothing it read.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use xdm_client::TokenStore;
use xdm_emulator::RateLimits;
use xdm_redis::{ConnectError, FleetError, Redis, RedisCheckpoints, RedisOptions, StoreError};

use crate::support::{self, RedisServer};

/// What a damaged record holds: a secret that must not reach any message.
const SECRET: &str = "SECRET-ACCESS-TOKEN";

fn assert_corrupt(error: &StoreError, what: &str) {
    assert!(
        matches!(error, StoreError::Corrupt { what: w, .. } if *w == what),
        "{error:?}"
    );
    let message = format!("{error} {error:?}");
    assert!(message.contains("acct-0"), "names the account: {message}");
    assert!(message.contains("damaged"), "says what is wrong: {message}");
    assert!(!message.contains(SECRET), "quotes the record: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_token_record_is_reported_without_quoting_it() {
    let (server, _emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let mut raw = support::raw(&server).await;
    let account = support::accounts(1).remove(0);
    let store = xdm_redis::RedisTokenStore::new(&redis, account.clone());
    let fleet = support::fleet(&redis, &client_id, &url);

    let truncated = format!(r#"{{"version":1,"access_token":"{SECRET}","refresh_"#);
    let other_version = format!(r#"{{"version":9,"access_token":"{SECRET}","issued_at_ms":1}}"#);
    for damaged in [truncated, other_version] {
        let _: () = raw
            .hset_multiple(
                "test:{acct-0}:token",
                &[("token", &damaged[..]), ("fence", "1")],
            )
            .await
            .unwrap();

        let error = store.load_token().await.expect_err("damaged");
        assert_corrupt(&error, "token");

        // Through the client's trait, as the client meets it.
        let error = TokenStore::load(&store).await.expect_err("damaged");
        let inner = error.get_ref().downcast_ref::<StoreError>().expect("ours");
        assert_corrupt(inner, "token");

        // Under the refresh lock: a refresh does not start from a record it cannot read.
        let lock = store.try_lock().await.unwrap().expect("the lock is free");
        let error = lock.load().await.expect_err("damaged");
        let inner = error.get_ref().downcast_ref::<StoreError>().expect("ours");
        assert_corrupt(inner, "token");
        lock.release().await.unwrap();

        // And a fleet refuses to serve the account from it.
        let error = fleet
            .add_account(account.clone(), None)
            .await
            .expect_err("damaged");
        match &error {
            FleetError::Store(inner) => assert_corrupt(inner, "token"),
            other => panic!("{other:?}"),
        }
        assert!(!error.to_string().contains(SECRET), "{error}");
        assert!(fleet.accounts().is_empty());
    }
}

#[tokio::test]
async fn a_damaged_checkpoint_record_is_reported_without_quoting_it() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let mut raw = support::raw(&server).await;
    let jobs = RedisCheckpoints::new(&redis, support::accounts(1).remove(0), "export").unwrap();
    let key = "test:{acct-0}:job:export:checkpoint";

    // The data without the fence it was written under.
    let _: () = raw.hset(key, "data", SECRET).await.unwrap();
    assert_corrupt(&jobs.load().await.expect_err("no fence"), "checkpoint");
    // A fence that is not a number.
    let _: () = raw.hset(key, "fence", "seven").await.unwrap();
    assert_corrupt(&jobs.load().await.expect_err("bad fence"), "checkpoint");
    // The fence without the data.
    let _: () = raw.hdel(key, "data").await.unwrap();
    let _: () = raw.hset(key, "fence", "7").await.unwrap();
    assert_corrupt(&jobs.load().await.expect_err("no data"), "checkpoint");

    // Written whole again, it reads.
    let _: () = raw.hset(key, "data", "page 3").await.unwrap();
    let checkpoint = jobs.load().await.unwrap().expect("stored");
    assert_eq!(
        (checkpoint.data.as_slice(), checkpoint.fence),
        (&b"page 3"[..], 7)
    );
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_is_a_timeout() {
    // A listener that takes every connection and says nothing, as a hung server would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });

    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let error = Redis::connect_with(
        &format!("redis://:s3cret@127.0.0.1:{port}/"),
        RedisOptions::default().with_timeouts(timeout, timeout),
    )
    .await
    .expect_err("the server never answers");
    let elapsed = started.elapsed();
    silent.abort();

    let ConnectError::TimedOut {
        address,
        timeout_ms,
    } = &error
    else {
        panic!("not a timeout: {error:?}");
    };
    assert!(address.contains(&port.to_string()), "{address}");
    assert!((200..=400).contains(timeout_ms), "{timeout_ms}");
    assert!(elapsed >= timeout, "gave the server its time ({elapsed:?})");
    assert!(elapsed < Duration::from_secs(3), "not a hang ({elapsed:?})");
    let message = error.to_string();
    assert!(message.contains("did not answer within"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}
