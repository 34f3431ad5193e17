//! The multi-account API: accounts added and removed at run time.

use xdm_emulator::RateLimits;
use xdm_redis::FleetError;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_come_and_go() {
    let (mut server, emulator, url, client_id, redis) = support::world(RateLimits::off()).await;
    let fleet = support::fleet(&redis, &client_id, &url);
    let [a, b] = <[_; 2]>::try_from(support::accounts(2)).unwrap();
    let token = support::expired_token(&url, &client_id).await;
    let stale = support::expired_token(&url, &client_id).await;

    let error = fleet
        .add_account(a.clone(), None)
        .await
        .expect_err("no token anywhere");
    assert!(matches!(error, FleetError::NoToken { .. }), "{error:?}");
    assert!(fleet.accounts().is_empty());

    let client = fleet.add_account(a.clone(), Some(token)).await.unwrap();
    client.me().await.unwrap();
    // The stored (rotated) token wins over a stale one offered again.
    let again = fleet.add_account(a.clone(), Some(stale)).await.unwrap();
    again.me().await.unwrap();
    assert_eq!(fleet.accounts(), vec![a.clone()]);
    assert!(fleet.client(&b).is_none());

    assert!(fleet.remove_account(&a));
    assert!(!fleet.remove_account(&a));
    assert!(fleet.client(&a).is_none());
    // Its state stays in Redis: added again, it starts from the rotated token.
    let back = fleet.add_account(a.clone(), None).await.unwrap();
    back.me().await.unwrap();
    assert_eq!(support::refreshes(&emulator, 2), (1, 0));

    server.stop();
    let error = fleet.add_account(b, None).await.expect_err("Redis is down");
    assert!(matches!(error, FleetError::Store(_)), "{error:?}");
}
