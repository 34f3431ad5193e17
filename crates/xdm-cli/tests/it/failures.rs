//! Bad input refused before any request, and each kind of failure with its exit code.

use xdm_emulator::{Fault, FaultKind, GroupLimits, RateLimits};

use crate::common::{Emu, me, ok, refused_as_bad_input, run};

#[test]
fn bad_input_is_refused_before_any_request() {
    let emu = Emu::start();
    let dir = crate::common::temp_dir("bad");
    let out = dir.join("x.jsonl");
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["event", "abc"], "invalid event_id"),
        (&["delete", "12x"], "invalid event_id"),
        (&["block", "@bob"], "invalid user_id"),
        (&["unblock", "99999999999999999999"], "invalid user_id"),
        (&["send", "--to", "bob", "hi"], "invalid to"),
        (&["send", "--group", "12", "hi"], "2 to 49"),
        (&["send", "--group", "12,12", "hi"], "more than once"),
        (&["send", "--to", "12", ""], "empty"),
        (&["send", "--to", "12"], "neither text nor attachment"),
        (&["send", "hi"], "no recipient"),
        (
            &["send", "--to", "12", "--media-id", "x1", "hi"],
            "invalid media_id",
        ),
        (
            &["send", "--to", "12", "--media", "/nonexistent/a.txt", "hi"],
            "media_path",
        ),
        (
            &["send", "--conversation", "1/2", "hi"],
            "invalid conversation",
        ),
        (&["events", "--limit", "0"], "1 or more"),
        (&["events", "--with", "abc"], "invalid with"),
        (&["events", "--types", "Typing"], "MessageCreate"),
        (&["events", "--fields", "a b"], "dm_event.fields"),
        (
            &["export", "--out", out, "--conversation", "z?z"],
            "invalid conversation",
        ),
        (&["watch", "--interval", "0"], "interval"),
        (&["media", "--out", out, "https://example.com/x"], "allowed"),
        (&["login", "--client-id", " "], "client_id"),
    ];
    for (args, says) in cases {
        let ran = refused_as_bad_input(emu.xdm(), args, says);
        assert!(ran.stdout.is_empty(), "xdm {args:?} printed {}", ran.stdout);
    }
    // Usage errors (unknown flags, two targets) share the code.
    let ran = run(emu.xdm(), &["send", "--to", "1", "--group", "2,3", "x"]);
    assert_eq!(ran.code, 2);
    let ran = run(emu.xdm(), &["events", "--limit", "-3"]);
    assert_eq!(ran.code, 2);
    assert_eq!(emu.api_requests(), 0, "no request reached the emulator");
    assert!(emu.handle().requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_or_refused_credentials_are_auth_failures() {
    let emu = Emu::start();
    let none = run(emu.bare(), &["events"]);
    assert_eq!(none.code, 3, "{}", none.stderr);
    assert!(none.stderr.contains("no credentials"), "{}", none.stderr);
    assert!(none.stderr.contains("xdm login"), "{}", none.stderr);

    let bogus = run(emu.as_token("not-a-real-token"), &["events"]);
    assert_eq!(bogus.code, 3, "{}", bogus.stderr);
    assert!(
        bogus.stderr.contains("refused the credentials"),
        "{}",
        bogus.stderr
    );
    assert!(
        !bogus.stderr.contains("not-a-real-token"),
        "no secret in errors"
    );

    let read_only = emu
        .handle()
        .issue_oauth2_token(&me(&emu), &["dm.read tweet.read users.read"])
        .unwrap();
    let bob = emu.handle().users()[1].id.clone();
    let ran = run(emu.as_token(&read_only), &["send", "--to", &bob, "hi"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("dm.write"), "{}", ran.stderr);
    assert!(!ran.stderr.contains(&read_only), "no secret in errors");
}

#[test]
fn a_recipient_who_refuses_dms_is_an_api_refusal() {
    let emu = Emu::start();
    let bob = emu.handle().users()[1].id.clone();
    ok(emu.as_user(&bob), &["block", &me(&emu)]);
    let ran = run(emu.xdm(), &["send", "--to", &bob, "hi"]);
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert!(ran.stderr.contains("does not accept DMs"), "{}", ran.stderr);
}

#[test]
fn rate_limits_and_usage_caps_say_until_when() {
    let emu = Emu::start();
    let mut limits = RateLimits::default();
    limits.read = GroupLimits {
        user_per_window: 1,
        ..limits.read
    };
    emu.handle().set_rate_limits(limits);
    ok(emu.xdm(), &["events", "--limit", "1"]);
    let ran = run(emu.xdm(), &["events", "--limit", "1"]);
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(ran.stderr.contains("rate limited until "), "{}", ran.stderr);
    assert!(ran.stderr.contains(" UTC (in "), "{}", ran.stderr);

    emu.handle().set_rate_limits(RateLimits::off());
    emu.handle().set_usage_capped(true);
    let ran = run(emu.xdm(), &["events"]);
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(ran.stderr.contains("usage cap"), "{}", ran.stderr);
    emu.handle().set_usage_capped(false);
    emu.handle().set_credits_depleted(true);
    let ran = run(emu.xdm(), &["events"]);
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(ran.stderr.contains("credits"), "{}", ran.stderr);
}

#[test]
fn network_failures_and_server_errors_are_network_failures() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let emu = Emu::start();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
    cmd.env_clear()
        .env("X_OAUTH2_ACCESS_TOKEN", "token")
        .env("X_API_BASE_URL", format!("http://127.0.0.1:{closed}"));
    let ran = run(cmd, &["events"]);
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(ran.stderr.contains("no answer from X"), "{}", ran.stderr);

    emu.handle()
        .inject(Fault::always("GET", "/2/dm_events", FaultKind::Status(503)));
    let ran = run(emu.xdm(), &["--verbose", "events"]);
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(ran.stderr.contains("HTTP 503"), "{}", ran.stderr);
}

#[test]
fn a_send_with_an_unknown_outcome_has_its_own_code_and_is_not_repeated() {
    let emu = Emu::start();
    let bob = emu.handle().users()[1].id.clone();
    let before = emu.handle().event_count();
    emu.handle().inject(Fault::once(
        "POST",
        "/2/dm_conversations/with/{participant_id}/messages",
        FaultKind::CloseAfterProcessing,
    ));
    let ran = run(emu.xdm(), &["send", "--to", &bob, "maybe"]);
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("may or may not have been sent"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        emu.handle().event_count(),
        before + 1,
        "stored once, not sent again"
    );
}

#[test]
fn verbose_adds_details_without_secrets() {
    let emu = Emu::start();
    let token = emu.emulator().credentials().oauth2.access_token.clone();
    let quiet = run(emu.xdm(), &["event", "1"]);
    assert!(
        quiet.stderr.contains("--verbose for details"),
        "{}",
        quiet.stderr
    );
    let loud = run(emu.xdm(), &["--verbose", "event", "1"]);
    assert_eq!(loud.code, 4);
    assert!(loud.stderr.lines().count() > 1, "{}", loud.stderr);
    assert!(!loud.stderr.contains(&token));
}

#[test]
fn a_download_that_cannot_be_written_is_a_local_failure() {
    let emu = Emu::start();
    let dir = crate::common::temp_dir("media-fail");
    let png = dir.join("p.png");
    std::fs::write(&png, b"\x89PNG-bytes").unwrap();
    let bob = emu.handle().users()[1].id.clone();
    let id = crate::common::send_media(&emu, &bob, &png, Some("x"));
    let (_, url) = crate::common::shown_media_url(&emu, &id);
    let out = dir.join("no-such-dir").join("p.png");
    let ran = run(emu.xdm(), &["media", "--out", out.to_str().unwrap(), &url]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("no-such-dir"), "{}", ran.stderr);
    let missing = format!("https://ton.twitter.com/1.1/ton/data/dm/{id}/1/nothing.png");
    let ran = run(
        emu.xdm(),
        &["media", "--out", dir.join("m").to_str().unwrap(), &missing],
    );
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Only in a build without the `redis` feature (`cargo test -p xdm-cli --test it`): the
/// options that keep checkpoints in Redis are refused, and so is `XDM_REDIS_URL`.
#[cfg(not(feature = "redis"))]
#[test]
fn checkpoints_in_redis_need_the_redis_feature() {
    let emu = Emu::start();
    let dir = crate::common::temp_dir("no-redis");
    let out = dir.join("x.jsonl");
    let out = out.to_str().unwrap();
    let url = "redis://127.0.0.1:6379/";
    refused_as_bad_input(
        emu.xdm(),
        &["export", "--out", out, "--checkpoint-redis", url],
        "built without the `redis` feature",
    );
    let mut with_env = emu.xdm();
    with_env.env("XDM_REDIS_URL", url);
    refused_as_bad_input(with_env, &["watch"], "--features redis");
    assert!(emu.handle().requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
