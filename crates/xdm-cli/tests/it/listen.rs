//! `listen` subscribes the user, prints each DM once as it arrives (in the same JSON as
//! `events --json`), filters to one conversation, and refuses bad input before any request.

use std::time::Duration;

use crate::common::{Emu, me, ok, refused_as_bad_input, run, spawn, wait_exit, wait_line};

fn with_app_token(emu: &Emu, mut cmd: std::process::Command) -> std::process::Command {
    cmd.env(
        "X_BEARER_TOKEN",
        emu.emulator().credentials().app_bearer_token.clone(),
    );
    cmd
}

#[test]
fn listen_prints_each_dm_once_as_events_json_does() {
    let emu = Emu::start();
    let me = me(&emu);
    let bob = emu.handle().users()[1].id.clone();
    let mut listen = spawn(
        with_app_token(&emu, emu.xdm()),
        &["--json", "listen", "--count", "2"],
    );
    assert!(
        wait_line(&listen.stderr, Duration::from_secs(15), |l| l
            .starts_with("connected"))
        .is_some(),
        "listen connects"
    );
    assert_eq!(emu.handle().subscriptions().len(), 2);
    let first = emu.handle().send_dm(&bob, &me, "hello from bob").unwrap();
    let second = emu.handle().send_dm(&me, &bob, "hello back").unwrap();
    assert_eq!(wait_exit(&mut listen.child, Duration::from_secs(15)), 0);
    let lines: Vec<serde_json::Value> = listen
        .stdout
        .try_iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);

    // The same objects, under the same names, as the listing prints.
    let listed = ok(emu.xdm(), &["--json", "events", "--limit", "2"]).json_lines();
    for line in &lines {
        let same = listed.iter().find(|l| l["id"] == line["id"]).unwrap();
        for (key, value) in line.as_object().unwrap() {
            assert_eq!(&same[key], value, "{key} of {line} vs {same}");
        }
    }
    assert_eq!(lines[0]["text"], "hello from bob");
    assert_eq!(lines[0]["sender_id"], bob.as_str());
}

#[test]
fn listen_with_a_user_shows_that_conversation_only() {
    let emu = Emu::start();
    let me = me(&emu);
    let users = emu.handle().users();
    let (bob, carol) = (users[1].id.clone(), users[2].id.clone());
    let mut listen = spawn(
        with_app_token(&emu, emu.xdm()),
        &["listen", "--with", &carol, "--count", "1"],
    );
    assert!(
        wait_line(&listen.stderr, Duration::from_secs(15), |l| l
            .starts_with("connected"))
        .is_some()
    );
    emu.handle().send_dm(&bob, &me, "not this one").unwrap();
    let shown = emu.handle().send_dm(&carol, &me, "this one").unwrap();
    assert_eq!(wait_exit(&mut listen.child, Duration::from_secs(15)), 0);
    let out: Vec<String> = listen.stdout.try_iter().collect();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].contains("this one") && out[0].contains(&shown),
        "{out:?}"
    );
}

#[test]
fn listen_without_the_app_token_names_the_variable_before_any_request() {
    let emu = Emu::start();
    let ran = run(emu.xdm(), &["listen"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("X_BEARER_TOKEN"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), 0);

    refused_as_bad_input(
        with_app_token(&emu, emu.xdm()),
        &["listen", "--with", "bob"],
        "with",
    );
    refused_as_bad_input(
        with_app_token(&emu, emu.xdm()),
        &["listen", "--count", "0"],
        "count",
    );
    assert_eq!(emu.api_requests(), 0);
}

#[test]
fn listen_with_a_rejected_app_token_stops_with_an_auth_error() {
    let emu = Emu::start();
    let mut cmd = emu.xdm();
    cmd.env("X_BEARER_TOKEN", "not-the-app-token");
    let ran = run(cmd, &["listen"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("refused"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("not-the-app-token"));
    // The setup's listing was refused, so no stream was opened.
    assert!(
        emu.handle()
            .requests()
            .iter()
            .all(|r| r.path != "/2/activity/stream")
    );
}

#[test]
fn listen_runs_against_the_built_in_emulator_without_any_token() {
    let emu = Emu::start();
    let mut listen = spawn(emu.bare(), &["--emulator", "listen"]);
    let connected = wait_line(&listen.stderr, Duration::from_secs(15), |l| {
        l.starts_with("connected")
    });
    let _ = listen.child.kill();
    let _ = listen.child.wait();
    assert!(connected.is_some(), "listen connects to its own emulator");
    // The built-in emulator, not the test's, served it.
    assert_eq!(emu.api_requests(), 0);
}

#[test]
fn listen_reports_a_disconnect_on_standard_error_and_goes_on() {
    use xdm_emulator::{Fault, FaultKind, StreamFault};
    let emu = Emu::start();
    let me = me(&emu);
    let bob = emu.handle().users()[1].id.clone();
    emu.handle().inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::Stream {
            fault: StreamFault::OperationalDisconnect,
            after_events: 0,
        },
    ));
    let mut listen = spawn(
        with_app_token(&emu, emu.xdm()),
        &["--json", "listen", "--count", "1"],
    );
    let mut said = Vec::new();
    let reconnected = wait_line(&listen.stderr, Duration::from_secs(15), |l| {
        said.push(l.to_owned());
        said.iter().filter(|l| l.starts_with("connected")).count() == 2
    });
    assert!(reconnected.is_some(), "{said:?}");
    assert!(said.iter().any(|l| l.starts_with("X said:")), "{said:?}");
    assert!(
        said.iter().any(|l| l.starts_with("disconnected")),
        "{said:?}"
    );
    let sent = emu
        .handle()
        .send_dm(&bob, &me, "after the reconnect")
        .unwrap();
    assert_eq!(wait_exit(&mut listen.child, Duration::from_secs(15)), 0);
    let out: Vec<String> = listen.stdout.try_iter().collect();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].contains(&sent));
}
