//! Token records encrypted at rest: what Redis holds reveals nothing, and every record that
//! does not open (another key, altered, another account's, not encrypted) is a clear error
//! that quotes neither the record nor a key.

use redis::AsyncCommands;
use xdm_auth::oauth2::UserToken;
use xdm_client::TokenStore;
use xdm_emulator::RateLimits;
use xdm_redis::{AccountId, RedisTokenStore, SealProblem, StoreError, TokenKey};

use crate::support::{self, RedisServer};

const SECRET: &str = "SECRET-ACCESS-TOKEN";
const RECORD: &str = "test:{acct-0}:token";

fn token() -> UserToken {
    // Whole milliseconds: the record keeps times to the millisecond.
    let issued = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_790_000_000_000);
    UserToken::new(SECRET, issued).with_refresh_token("SECRET-REFRESH-TOKEN")
}

fn key(byte: u8) -> TokenKey {
    TokenKey::from_bytes([byte; 32])
}

fn assert_refused(error: &StoreError, expected: SealProblem) {
    match error {
        StoreError::Sealed { problem, account } => {
            assert_eq!(*problem, expected, "{error}");
            assert_eq!(account, "acct-0");
        }
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    let message = format!("{error} {error:?}");
    assert!(message.contains("acct-0"), "names the account: {message}");
    assert!(!message.contains("SECRET"), "quotes the record: {message}");
    assert!(
        !message.contains("xdm-sealed"),
        "quotes the record: {message}"
    );
}

async fn stored(raw: &mut redis::aio::MultiplexedConnection) -> String {
    raw.hget(RECORD, "token").await.unwrap()
}

#[tokio::test]
async fn an_encrypted_record_reveals_nothing_and_reads_back() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let mut raw = support::raw(&server).await;
    let account = support::accounts(1).remove(0);
    let store = RedisTokenStore::new(&redis, account).with_encryption(key(1));
    assert!(store.is_encrypted());
    store.save(&token()).await.unwrap();

    let record = stored(&mut raw).await;
    assert!(record.starts_with("xdm-sealed-v1."), "{record}");
    assert!(record.contains(key(1).id()));
    assert!(!record.contains("SECRET"), "{record}");
    assert_eq!(store.load().await.unwrap(), Some(token()));
    store.save(&token()).await.unwrap();
    assert_ne!(
        stored(&mut raw).await,
        record,
        "a fresh nonce for every write"
    );
    assert!(!format!("{store:?}").contains("SECRET"));
}

#[tokio::test]
async fn every_record_that_does_not_open_is_a_clear_error() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let mut raw = support::raw(&server).await;
    let account = support::accounts(1).remove(0);
    let plain = RedisTokenStore::new(&redis, account.clone());
    let sealing = RedisTokenStore::new(&redis, account.clone()).with_encryption(key(1));

    // Not encrypted, read by an encrypting store: refused rather than trusted.
    plain.save(&token()).await.unwrap();
    assert_refused(
        &sealing.load_token().await.unwrap_err(),
        SealProblem::NotEncrypted,
    );

    // Encrypted, read by a store without a key.
    sealing.save(&token()).await.unwrap();
    assert_refused(&plain.load_token().await.unwrap_err(), SealProblem::NoKey);

    // Encrypted with another key.
    let other = RedisTokenStore::new(&redis, account.clone()).with_encryption(key(2));
    assert_refused(
        &other.load_token().await.unwrap_err(),
        SealProblem::UnknownKey,
    );

    // Altered: one character of the ciphertext changed.
    let record = stored(&mut raw).await;
    let mut altered = record.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let _: () = raw
        .hset(RECORD, "token", String::from_utf8(altered).unwrap())
        .await
        .unwrap();
    assert_refused(
        &sealing.load_token().await.unwrap_err(),
        SealProblem::Tampered,
    );
    // Under the refresh lock too, as the client meets it.
    let lock = sealing.try_lock().await.unwrap().expect("the lock is free");
    let error = lock.load().await.expect_err("altered");
    assert_refused(
        error.get_ref().downcast_ref::<StoreError>().expect("ours"),
        SealProblem::Tampered,
    );
    lock.release().await.unwrap();

    // Copied under another account: the account is sealed in.
    let _: () = raw.hset(RECORD, "token", &record).await.unwrap();
    assert_eq!(sealing.load_token().await.unwrap(), Some(token()));
    let _: () = raw
        .hset("test:{acct-1}:token", "token", &record)
        .await
        .unwrap();
    let elsewhere =
        RedisTokenStore::new(&redis, AccountId::new("acct-1").unwrap()).with_encryption(key(1));
    match elsewhere.load_token().await.unwrap_err() {
        StoreError::Sealed { problem, .. } => assert_eq!(problem, SealProblem::Tampered),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_rotated_key_reads_old_records_and_seals_new_ones_with_the_new_key() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let mut raw = support::raw(&server).await;
    let account = support::accounts(1).remove(0);
    let before = RedisTokenStore::new(&redis, account.clone()).with_encryption(key(1));
    before.save(&token()).await.unwrap();

    let after = RedisTokenStore::new(&redis, account.clone())
        .with_encryption(key(2))
        .with_old_keys([key(1)]);
    assert_eq!(after.load().await.unwrap(), Some(token()));
    after.save(&token()).await.unwrap();
    assert!(stored(&mut raw).await.contains(key(2).id()));
    assert_refused(
        &before.load_token().await.unwrap_err(),
        SealProblem::UnknownKey,
    );
    // Old keys alone do not encrypt.
    let old_only = RedisTokenStore::new(&redis, account).with_old_keys([key(1)]);
    assert!(!old_only.is_encrypted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_refreshes_and_stores_encrypted_tokens() {
    let (server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let mut raw = support::raw(&server).await;
    let fleet = xdm_redis::Fleet::builder(
        &redis,
        support::transport(),
        xdm_hyper::TokioClock,
        support::oauth_client(&client_id, &url),
    )
    .base_url(support::base_url(&url))
    .token_encryption(key(3))
    .build();
    let account = support::accounts(1).remove(0);
    let first = support::expired_token(&url, &client_id).await;
    let client = fleet.add_account(account, Some(first)).await.unwrap();
    client.me().await.expect("refreshed and served");
    assert_eq!(support::refreshes(&emulator, 1), (1, 0));
    let record = stored(&mut raw).await;
    assert!(record.starts_with("xdm-sealed-v1."), "{record}");
    assert!(record.contains(key(3).id()));

    // Another worker, after a key rotation: it reads the record sealed with the old key.
    let rotated = xdm_redis::Fleet::builder(
        &redis,
        support::transport(),
        xdm_hyper::TokioClock,
        support::oauth_client(&client_id, &url),
    )
    .base_url(support::base_url(&url))
    .token_encryption(key(4))
    .old_token_keys([key(3)])
    .build();
    let account = support::accounts(1).remove(0);
    assert!(rotated.token_store(&account).is_encrypted());
    let client = rotated.add_account(account, None).await.unwrap();
    client.me().await.expect("served with the stored token");
    assert_eq!(
        support::refreshes(&emulator, 1),
        (1, 0),
        "no second refresh"
    );
}
