//! Checkpoints under a lease: one worker at a time, a successor resumes, a stale worker is
//! fenced off.

use std::time::Duration;

use xdm_redis::{RedisCheckpoints, StoreError};

use crate::support::{self, RedisServer};

#[tokio::test]
async fn a_successor_resumes_and_a_stale_worker_cannot_write() {
    let server = RedisServer::start();
    let redis = support::connect(&server).await;
    let account = support::accounts(1).remove(0);
    let jobs = RedisCheckpoints::new(&redis, account.clone(), "export").unwrap();
    assert!(RedisCheckpoints::new(&redis, account, "ex port").is_err());
    assert_eq!(jobs.load().await.unwrap(), None);

    let first = jobs
        .claim(Duration::from_millis(200))
        .await
        .unwrap()
        .expect("free");
    assert!(
        jobs.claim(Duration::from_secs(5)).await.unwrap().is_none(),
        "held"
    );
    jobs.save(&first, b"page 1").await.unwrap();
    jobs.renew(&first).await.unwrap();

    // The first worker stalls past its lease; a successor takes over from its checkpoint.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = jobs
        .claim(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("expired");
    assert!(second.fence() > first.fence());
    let resumed = jobs.load().await.unwrap().unwrap();
    assert_eq!(
        (resumed.data.as_slice(), resumed.fence),
        (&b"page 1"[..], first.fence())
    );
    jobs.save(&second, b"page 2").await.unwrap();

    for refused in [
        jobs.save(&first, b"page 1 again").await,
        jobs.renew(&first).await,
    ] {
        assert!(
            matches!(refused, Err(StoreError::LockLost { .. })),
            "{refused:?}"
        );
    }
    jobs.release(first).await.unwrap(); // Not the holder: changes nothing.
    assert_eq!(jobs.load().await.unwrap().unwrap().data, b"page 2");
    jobs.release(second).await.unwrap();
    assert!(
        jobs.claim(Duration::from_secs(5)).await.unwrap().is_some(),
        "free again"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_reported() {
    let mut server = RedisServer::start();
    let redis = support::connect(&server).await;
    let jobs = RedisCheckpoints::new(&redis, support::accounts(1).remove(0), "watch").unwrap();
    server.stop();
    let error = jobs.load().await.expect_err("Redis is down");
    assert!(matches!(error, StoreError::Redis { .. }), "{error:?}");
    assert!(jobs.claim(Duration::from_secs(1)).await.is_err());
}
