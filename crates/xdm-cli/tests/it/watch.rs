//! `watch` prints messages sent while it runs, once each, and outlives faults.

use std::time::Duration;

use xdm_emulator::{Fault, FaultKind, GroupLimits, RateLimits};

use crate::common::{Emu, me, ok, spawn, wait_line};

pub fn sent_id(ran: &crate::common::Ran) -> String {
    ran.json_lines()[0]["dm_event_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A short window with room for many polls, so that the pace follows --interval.
pub fn quick_polls(emu: &Emu) {
    let mut limits = RateLimits::default();
    limits.window = Duration::from_secs(2);
    limits.read = GroupLimits {
        user_per_window: 200,
        ..limits.read
    };
    emu.handle().set_rate_limits(limits);
}

#[test]
fn watch_prints_new_messages_once_and_survives_faults() {
    let emu = Emu::start();
    quick_polls(&emu);
    let bob = emu.handle().users()[1].id.clone();
    let me = me(&emu);

    let mut watch = spawn(emu.xdm(), &["--json", "watch", "--interval", "0.2"]);
    assert!(
        wait_line(&watch.stderr, Duration::from_secs(15), |l| l
            .starts_with("watching"))
        .is_some(),
        "watch starts"
    );
    let mut printed: Vec<String> = Vec::new();
    let wait_for = |id: &str, printed: &mut Vec<String>| {
        let found = wait_line(&watch.stdout, Duration::from_secs(20), |l| {
            printed.push(l.to_owned());
            l.contains(id)
        });
        assert!(found.is_some(), "event {id} is printed; got {printed:?}");
    };

    let from_bob = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "ping from bob"],
    ));
    wait_for(&from_bob, &mut printed);
    let from_me = sent_id(&ok(emu.xdm(), &["--json", "send", "--to", &bob, "pong"]));
    wait_for(&from_me, &mut printed);

    // X failing for a while: the watch waits and goes on.
    emu.handle()
        .inject(Fault::always("GET", "/2/dm_events", FaultKind::Status(503)));
    assert!(
        wait_line(&watch.stderr, Duration::from_secs(20), |l| l
            .contains("trying again"))
        .is_some(),
        "the watch reports the failure and keeps going"
    );
    emu.handle().clear_faults();
    let after = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "after the storm"],
    ));
    wait_for(&after, &mut printed);

    // A few more polls, then stop: nothing was printed twice.
    std::thread::sleep(Duration::from_millis(800));
    printed.extend(watch.stdout.try_iter());
    watch.child.kill().unwrap();
    watch.child.wait().unwrap();
    let ids: Vec<String> = printed
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    for id in [&from_bob, &from_me, &after] {
        assert_eq!(
            ids.iter().filter(|i| i == &id).count(),
            1,
            "{id} printed once"
        );
    }
    assert_eq!(ids.len(), 3, "only the new events: {printed:?}");
}

#[test]
fn watch_shows_people_the_sender_and_text() {
    let emu = Emu::start();
    quick_polls(&emu);
    let bob = emu.handle().users()[1].clone();
    let mut watch = spawn(
        emu.xdm(),
        &["watch", "--with", &bob.id, "--interval", "0.2"],
    );
    assert!(
        wait_line(&watch.stderr, Duration::from_secs(15), |l| l
            .starts_with("watching"))
        .is_some()
    );
    ok(
        emu.as_user(&bob.id),
        &["send", "--to", &me(&emu), "hi human"],
    );
    let line = wait_line(&watch.stdout, Duration::from_secs(20), |l| {
        l.contains("hi human")
    });
    watch.child.kill().unwrap();
    watch.child.wait().unwrap();
    let line = line.expect("printed");
    assert!(line.contains(&format!("@{}", bob.username)), "{line}");
}
