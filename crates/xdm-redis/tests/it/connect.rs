//! A Redis URL that cannot work is an error at start, not at the first refresh.

use std::time::{Duration, Instant};

use xdm_redis::{ConnectError, Redis, RedisOptions};

use crate::support;

#[tokio::test]
async fn a_malformed_url_is_refused_without_quoting_it() {
    for url in [
        "",
        "localhost:6379",
        "http://127.0.0.1:6379/",
        "redis://127.0.0.1:notaport/",
    ] {
        let error = Redis::connect(url).await.expect_err(url);
        assert!(
            matches!(error, ConnectError::BadUrl { .. }),
            "{url}: {error:?}"
        );
    }
    let error = Redis::connect("redis://user:hunter2@127.0.0.1:99999/")
        .await
        .expect_err("no such port");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_prompt_error() {
    let port = support::free_port();
    let started = Instant::now();
    let error = Redis::connect(&format!("redis://:s3cret@127.0.0.1:{port}/"))
        .await
        .expect_err("nothing listens there");
    assert!(started.elapsed() < Duration::from_secs(5), "not a hang");
    assert!(
        matches!(
            error,
            ConnectError::Unreachable { .. } | ConnectError::TimedOut { .. }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&port.to_string()),
        "names the address: {message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn a_bad_prefix_is_refused() {
    let error = Redis::connect_with(
        "redis://127.0.0.1/",
        RedisOptions::default().with_prefix("a:b"),
    )
    .await
    .expect_err("':' would split keys");
    assert!(matches!(error, ConnectError::BadPrefix(_)), "{error:?}");
}

#[tokio::test]
async fn a_running_server_is_reached() {
    let server = support::RedisServer::start();
    let redis = support::connect(&server).await;
    assert!(redis.ping().await);
    assert_eq!(redis.prefix(), "test");
    assert!(redis.address().contains("127.0.0.1"));
}

#[cfg(not(any(feature = "tls", feature = "tls-aws-lc-rs")))]
#[tokio::test]
async fn tls_without_the_feature_is_refused_and_says_which_feature() {
    let error = Redis::connect("rediss://:s3cret@127.0.0.1/")
        .await
        .expect_err("built without TLS");
    assert!(matches!(error, ConnectError::BadUrl { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("feature `tls`"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[cfg(any(feature = "tls", feature = "tls-aws-lc-rs"))]
#[tokio::test]
async fn tls_to_a_server_without_tls_fails_promptly_and_clearly() {
    let server = support::RedisServer::start();
    let url = server.url().replace("redis://", "rediss://:s3cret@");
    let started = Instant::now();
    let error = Redis::connect_with(
        &url,
        RedisOptions::default().with_timeouts(Duration::from_secs(1), Duration::from_secs(1)),
    )
    .await
    .expect_err("the server speaks no TLS");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "not a hang ({elapsed:?})");
    // A plain Redis waits for the rest of what it takes for a command: the handshake times
    // out, and the error says what to check.
    assert!(
        matches!(error, ConnectError::TlsTimedOut { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("127.0.0.1"),
        "names the address: {message}"
    );
    assert!(message.contains("TLS"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}
