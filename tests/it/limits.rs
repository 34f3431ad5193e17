//! Rate limits learned from headers and waited for, without a storm of 429s.

use std::time::{Duration, Instant};

use xdm_client::{Error, RateLimitPolicy};
use xdm_core::endpoints::ListEvents;
use xdm_emulator::{Emulator, RateLimits};

use crate::support::{Scheme, builder, client, emulator};

fn short_window(per_window: u32) -> RateLimits {
    let defaults = RateLimits::default();
    RateLimits {
        window: Duration::from_secs(1),
        read: xdm_emulator::GroupLimits {
            user_per_window: per_window,
            ..defaults.read
        },
        ..defaults
    }
}

fn statuses(emu: &Emulator) -> Vec<u16> {
    emu.handle()
        .requests()
        .iter()
        .filter_map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn requests_wait_for_the_window_instead_of_hitting_429() {
    let emu = emulator(
        Emulator::builder()
            .seed_events(5)
            .rate_limits(short_window(3)),
    )
    .await;
    let api = client(&emu, Scheme::OAuth1);
    let list = ListEvents::new();
    let started = Instant::now();
    for _ in 0..7 {
        api.list_page(&list).await.unwrap();
    }
    let statuses = statuses(&emu);
    let too_many = statuses.iter().filter(|s| **s == 429).count();
    assert!(too_many <= 1, "{statuses:?}");
    assert_eq!(statuses.len(), 7 + too_many, "{statuses:?}");
    // Seven requests at three per window span at least two window changes.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn concurrent_tasks_share_the_budget() {
    let emu = emulator(
        Emulator::builder()
            .seed_events(5)
            .rate_limits(short_window(3)),
    )
    .await;
    let api = client(&emu, Scheme::OAuth2);
    // One call first, so the limiter knows the real limit.
    api.list_page(&ListEvents::new()).await.unwrap();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    api.list_page(&ListEvents::new()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let statuses = statuses(&emu);
    let too_many = statuses.iter().filter(|s| **s == 429).count();
    assert!(too_many <= 1, "{statuses:?}");
}

#[tokio::test]
async fn fail_fast_reports_the_reset_and_sends_nothing() {
    let limits = RateLimits {
        window: Duration::from_secs(30),
        ..short_window(2)
    };
    let emu = emulator(Emulator::builder().seed_events(5).rate_limits(limits)).await;
    let api = builder(&emu, Scheme::OAuth1)
        .rate_limit_policy(RateLimitPolicy::FailFast)
        .build()
        .unwrap();
    api.list_page(&ListEvents::new()).await.unwrap();
    api.list_page(&ListEvents::new()).await.unwrap();
    let error = api.list_page(&ListEvents::new()).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error}");
    assert!(error.rate_limit_reset().unwrap() > std::time::SystemTime::now());
    assert_eq!(emu.handle().requests().len(), 2);
}

#[tokio::test]
async fn a_usage_cap_is_reported_at_once() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    emu.handle().set_usage_capped(true);
    let api = client(&emu, Scheme::OAuth1);
    let error = api.list_page(&ListEvents::new()).await.unwrap_err();
    assert!(
        matches!(
            error.api_error().map(|e| e.kind()),
            Some(xdm_core::error::ApiErrorKind::UsageCapped { .. })
        ),
        "{error}"
    );
    assert_eq!(emu.handle().requests().len(), 1);
    emu.handle().set_usage_capped(false);
    emu.handle().set_credits_depleted(true);
    // A fresh client: the first one holds the group back after the cap's 429.
    let api = client(&emu, Scheme::OAuth1);
    let error = api.list_page(&ListEvents::new()).await.unwrap_err();
    assert_eq!(error.api_error().unwrap().status(), 402);
    assert_eq!(emu.handle().requests().len(), 2);
}
