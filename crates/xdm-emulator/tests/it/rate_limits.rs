use std::time::Duration;

use serde_json::json;
use xdm_emulator::{Emulator, GroupLimits, ManualClock, RateLimits};

use crate::common::{Api, Auth, user};

#[tokio::test]
async fn x_defaults_for_reads_shared_across_the_lookups() {
    let emu = Emulator::builder().seed_events(10).start().await.unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let mut resets = Vec::new();
    for i in 0..15 {
        let path = match i % 3 {
            0 => "/2/dm_events".to_owned(),
            1 => format!("/2/dm_conversations/with/{alice}/dm_events"),
            _ => "/2/dm_events/1".to_owned(),
        };
        let r = api.get(&path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-rate-limit-limit"), Some("15"));
        assert_eq!(
            r.header("x-rate-limit-remaining").unwrap(),
            (14 - i).to_string()
        );
        assert!(
            r.header("x-user-limit-24hour-limit").is_none(),
            "reads have no daily cap"
        );
        resets.push(
            r.header("x-rate-limit-reset")
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    assert!(resets.windows(2).all(|w| w[0] == w[1]));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(resets[0] > now && resets[0] <= now + 15 * 60 + 1);
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json(),
        json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
    );
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    // Another user has a budget of their own; writes have theirs.
    let bob = user(&emu, "bob");
    let t = emu
        .handle()
        .issue_oauth2_token(&bob, &["dm.read tweet.read users.read"])
        .unwrap();
    assert_eq!(
        Api::new(&emu, Auth::Bearer(t))
            .get("/2/dm_events")
            .await
            .status,
        200
    );
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-rate-limit-limit"), Some("15"));
    assert_eq!(r.header("x-user-limit-24hour-limit"), Some("1440"));
    assert_eq!(r.header("x-user-limit-24hour-remaining"), Some("1439"));
    assert_eq!(r.header("x-app-limit-24hour-limit"), Some("1440"));
    assert!(r.header("x-app-limit-24hour-reset").is_some());
    let r = api.delete("/2/dm_events/1").await;
    assert_eq!(r.header("x-rate-limit-limit"), Some("300"));
    assert_eq!(r.header("x-user-limit-24hour-limit"), Some("1500"));
    assert_eq!(r.header("x-app-limit-24hour-limit"), Some("4000"));
    let r = api
        .send("POST", &format!("/2/users/{me}/dm/block"), None)
        .await;
    assert_eq!(r.header("x-rate-limit-limit"), Some("10"));
    assert_eq!(r.header("x-user-limit-24hour-limit"), Some("400"));
    // Media and OAuth endpoints carry no rate-limit headers.
    let r = api.post_json("/2/media/upload/initialize", json!({})).await;
    assert!(r.header("x-rate-limit-limit").is_none());
}

#[tokio::test]
async fn windows_reset_with_the_clock() {
    let clock = ManualClock::starting_now();
    let limits = RateLimits {
        window: Duration::from_secs(10),
        read: GroupLimits {
            user_per_window: 2,
            user_per_day: None,
            app_per_window: None,
            app_per_day: None,
        },
        ..RateLimits::default()
    };
    let emu = Emulator::builder()
        .seed_events(10)
        .clock(clock.clone())
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 429);
    let reset: u64 = r.header("x-rate-limit-reset").unwrap().parse().unwrap();
    clock.advance(Duration::from_secs(10));
    assert!(reset * 1000 <= xdm_emulator::Clock::now_millis(&clock) + 1000);
    let r = api.get("/2/dm_events?foo=1").await;
    assert_eq!(
        r.status, 400,
        "a new window; invalid requests count and carry headers"
    );
    assert_eq!(r.header("x-rate-limit-remaining"), Some("1"));
}

#[tokio::test]
async fn daily_and_app_caps() {
    let limits = RateLimits {
        send: GroupLimits {
            user_per_window: 100,
            user_per_day: Some(2),
            app_per_window: None,
            app_per_day: Some(1000),
        },
        block: GroupLimits {
            user_per_window: 100,
            user_per_day: None,
            app_per_window: Some(2),
            app_per_day: None,
        },
        ..RateLimits::default()
    };
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let alice = user(&emu, "alice");
    let path = format!("/2/dm_conversations/with/{alice}/messages");
    assert_eq!(api.post_json(&path, json!({"text": "1"})).await.status, 201);
    assert_eq!(api.post_json(&path, json!({"text": "2"})).await.status, 201);
    let r = api.post_json(&path, json!({"text": "3"})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-user-limit-24hour-remaining"), Some("0"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("98"));
    // The app's block budget is shared by all users.
    let bob = user(&emu, "bob");
    let bob_api = Api::new(
        &emu,
        Auth::Bearer(
            emu.handle()
                .issue_oauth2_token(&bob, &["dm.write tweet.read users.read"])
                .unwrap(),
        ),
    );
    assert_eq!(
        api.send("POST", &format!("/2/users/{alice}/dm/block"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        bob_api
            .send("POST", &format!("/2/users/{alice}/dm/block"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        bob_api
            .send("POST", &format!("/2/users/{alice}/dm/unblock"), None)
            .await
            .status,
        429
    );
    // Limits can be replaced at run time; spent budgets are forgotten.
    emu.handle().set_rate_limits(RateLimits::off());
    for _ in 0..5 {
        assert_eq!(
            api.post_json(&path, json!({"text": "more"})).await.status,
            201
        );
    }
}

#[tokio::test]
async fn usage_cap_and_credits_switches() {
    let emu = Emulator::builder().seed_events(10).start().await.unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    emu.handle().set_usage_capped(true);
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 429);
    let v = r.json();
    assert_eq!(v["type"], "https://api.twitter.com/2/problems/usage-capped");
    assert_eq!(v["title"], "UsageCapExceeded");
    assert_eq!(v["period"], "Monthly");
    emu.handle().set_usage_capped(false);
    emu.handle().set_credits_depleted(true);
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 402);
    assert_eq!(
        r.json()["type"],
        "https://api.x.com/2/problems/credits-depleted"
    );
    emu.handle().set_credits_depleted(false);
    assert_eq!(api.get("/2/dm_events").await.status, 200);
}

#[tokio::test]
async fn limits_off_keep_every_header_constant() {
    let clock = ManualClock::starting_now();
    let emu = Emulator::builder()
        .seed_events(10)
        .clock(clock.clone())
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let alice = user(&emu, "alice");
    let names = [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "x-user-limit-24hour-limit",
        "x-user-limit-24hour-remaining",
        "x-user-limit-24hour-reset",
        "x-app-limit-24hour-limit",
        "x-app-limit-24hour-remaining",
        "x-app-limit-24hour-reset",
    ];
    let snapshot = |r: &crate::common::Resp| {
        names
            .iter()
            .map(|n| r.header(n).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let path = format!("/2/dm_conversations/with/{alice}/messages");
    let first_read = api.get("/2/dm_events").await;
    let first_send = api.post_json(&path, json!({"text": "0"})).await;
    assert_eq!(first_read.header("x-rate-limit-remaining"), Some("15"));
    assert_eq!(first_send.header("x-rate-limit-remaining"), Some("15"));
    assert_eq!(
        first_send.header("x-user-limit-24hour-remaining"),
        Some("1440")
    );
    assert_eq!(
        first_send.header("x-app-limit-24hour-remaining"),
        Some("1440")
    );
    // Well past every budget: nothing refused, nothing counted down.
    for i in 0..40 {
        let r = api.get("/2/dm_events").await;
        assert_eq!(r.status, 200);
        assert_eq!(snapshot(&r), snapshot(&first_read), "read {i}");
        let r = api.post_json(&path, json!({"text": i.to_string()})).await;
        assert_eq!(r.status, 201);
        assert_eq!(snapshot(&r), snapshot(&first_send), "send {i}");
    }
    // A new window only moves the reset on.
    clock.advance(Duration::from_secs(15 * 60));
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.header("x-rate-limit-remaining"), Some("15"));
    let reset = |r: &crate::common::Resp| {
        r.header("x-rate-limit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(reset(&r), reset(&first_read) + 15 * 60);
}

#[tokio::test]
async fn users_me_has_a_budget_of_its_own() {
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits {
            users_me: GroupLimits {
                user_per_window: 2,
                ..RateLimits::default().users_me
            },
            ..RateLimits::default()
        })
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let r = api.get("/2/users/me").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-limit"), Some("2"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("1"));
    assert!(r.header("x-user-limit-24hour-limit").is_none());
    assert_eq!(api.get("/2/users/me").await.status, 200);
    let r = api.get("/2/users/me").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 200, "reads are a different group");
    assert_eq!(r.header("x-rate-limit-remaining"), Some("14"));
    // X's table: 75 per user per 15 minutes.
    let emu = Emulator::builder().empty_world().start().await.unwrap();
    let r = Api::new(&emu, Auth::oauth1(&emu)).get("/2/users/me").await;
    assert_eq!(r.header("x-rate-limit-limit"), Some("75"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("74"));
}
