//! Each command against the emulator, in both output modes.

use crate::common::{Emu, me, ok, run, run_with_stdin, send_media, shown_media_url, temp_dir};

/// The demo world's second user (after "me").
fn other(emu: &Emu, n: usize) -> String {
    emu.handle().users()[n].id.clone()
}

#[test]
fn send_then_event_then_delete_in_both_modes() {
    let emu = Emu::start();
    let bob = other(&emu, 1);
    let sent = ok(
        emu.xdm(),
        &["--json", "send", "--to", &bob, "Hello from the CLI"],
    );
    let v = &sent.json_lines()[0];
    let event_id = v["dm_event_id"].as_str().unwrap().to_owned();
    let conv = v["dm_conversation_id"].as_str().unwrap();
    let stored = emu.handle().event(&event_id).expect("stored");
    assert_eq!(stored.text.as_deref(), Some("Hello from the CLI"));
    assert_eq!(stored.conversation_id, conv);
    assert_eq!(v.as_object().unwrap().len(), 2, "exactly the two ids");

    let human = ok(emu.xdm(), &["event", &event_id]);
    let me_name = &emu.handle().users()[0].username;
    assert!(
        human.stdout.contains("Hello from the CLI"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(&format!("@{me_name}")),
        "{}",
        human.stdout
    );

    let json = ok(emu.xdm(), &["--json", "event", &event_id]).json_lines();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["id"], event_id.as_str());
    assert_eq!(json[0]["text"], "Hello from the CLI");

    let deleted = ok(emu.xdm(), &["--json", "delete", &event_id]);
    assert_eq!(deleted.stdout.trim(), r#"{"deleted":true}"#);
    assert!(emu.handle().event(&event_id).is_none());

    let again = run(emu.xdm(), &["delete", &event_id]);
    assert_eq!(again.code, 4, "{}", again.stderr);
    assert!(again.stderr.contains("not found"), "{}", again.stderr);
    let missing = run(emu.xdm(), &["event", &event_id]);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
}

#[test]
fn human_send_and_delete_say_what_happened() {
    let emu = Emu::start();
    let bob = other(&emu, 1);
    let sent = ok(emu.xdm(), &["send", "--to", &bob, "plain"]);
    assert!(sent.stdout.starts_with("sent event "), "{}", sent.stdout);
    let id = sent.stdout.split_whitespace().nth(2).unwrap().to_owned();
    let deleted = ok(emu.xdm(), &["delete", &id]);
    assert_eq!(deleted.stdout.trim(), format!("deleted event {id}"));
}

#[test]
fn text_comes_from_standard_input_with_a_dash() {
    let emu = Emu::start();
    let conv = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.participant_ids.contains(&me(&emu)))
        .expect("a conversation of mine")
        .id;
    let ran = run_with_stdin(
        emu.xdm(),
        &["--json", "send", "--conversation", &conv, "-"],
        "line one\nline two\n",
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.json_lines()[0]["dm_event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = emu.handle().event(&id).unwrap();
    assert_eq!(event.text.as_deref(), Some("line one\nline two"));
    assert_eq!(event.conversation_id, conv);
}

#[test]
fn a_group_is_created_with_its_first_message() {
    let emu = Emu::start();
    let (a, b) = (other(&emu, 1), other(&emu, 2));
    let group = format!("{a},{b}");
    let v = ok(emu.xdm(), &["--json", "send", "--group", &group, "Welcome"]).json_lines();
    let conv = v[0]["dm_conversation_id"].as_str().unwrap();
    let found = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.id == conv)
        .expect("group exists");
    for id in [&a, &b, &me(&emu)] {
        assert!(found.participant_ids.contains(id), "{id} is in the group");
    }
}

#[test]
fn media_is_uploaded_attached_listed_and_downloaded() {
    let emu = Emu::start();
    let bob = other(&emu, 1);
    let dir = temp_dir("media");
    let png = dir.join("pic.png");
    let bytes = b"\x89PNG\r\n\x1a\n-not-really-an-image-".to_vec();
    std::fs::write(&png, &bytes).unwrap();
    let id = send_media(&emu, &bob, &png, Some("look"));
    assert_eq!(emu.handle().event(&id).unwrap().media_keys.len(), 1);

    let (shown, url) = shown_media_url(&emu, &id);
    assert!(shown.contains("[photo: "), "{shown}");

    let out = dir.join("down.png");
    let got = ok(
        emu.xdm(),
        &["--json", "media", "--out", out.to_str().unwrap(), &url],
    );
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    assert_eq!(got.json_lines()[0]["bytes"], bytes.len());
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        leftovers, 2,
        "no temporary file is left beside the download"
    );

    // Reusing the uploaded media by id.
    let media_id = emu.handle().event(&id).unwrap().media_keys[0]
        .split('_')
        .nth(1)
        .unwrap()
        .to_owned();
    let again = run(emu.xdm(), &["send", "--to", &bob, "--media-id", &media_id]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_list_newest_first_with_usernames_or_as_json() {
    let emu = Emu::start();
    let human = ok(emu.xdm(), &["events", "--limit", "3"]);
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", human.stdout);
    let newest = emu
        .handle()
        .events()
        .into_iter()
        .rev()
        .take(3)
        .collect::<Vec<_>>();
    for (line, event) in lines.iter().zip(&newest) {
        assert!(line.ends_with(&format!("({})", event.id)), "{line}");
        assert!(line.contains(" @"), "sender's username in {line}");
    }

    let json = ok(emu.xdm(), &["--json", "events", "--limit", "150"]).json_lines();
    assert_eq!(json.len(), 150, "two pages cut at the limit");
    assert_eq!(json[0]["id"], newest[0].id.as_str());
    let ids: std::collections::HashSet<_> = json.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids.len(), 150);

    let typed = ok(
        emu.xdm(),
        &[
            "--json",
            "events",
            "--limit",
            "5",
            "--types",
            "ParticipantsJoin",
        ],
    )
    .json_lines();
    assert!(typed.iter().all(|e| e["event_type"] == "ParticipantsJoin"));

    let fields = ok(
        emu.xdm(),
        &[
            "--json",
            "events",
            "--limit",
            "2",
            "--fields",
            "id,text",
            "--expansions",
            "sender_id",
        ],
    )
    .json_lines();
    for e in &fields {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["id", "text", "event_type", "sender_id"].contains(&k.as_str())),
            "{keys:?}"
        );
    }
}

#[test]
fn events_of_one_conversation_or_with_one_user() {
    let emu = Emu::start();
    let bob = other(&emu, 1);
    let with = ok(
        emu.xdm(),
        &["--json", "events", "--with", &bob, "--limit", "20"],
    )
    .json_lines();
    assert!(!with.is_empty());
    let conv = with[0]["dm_conversation_id"].as_str().unwrap().to_owned();
    assert!(
        with.iter()
            .all(|e| e["dm_conversation_id"] == conv.as_str())
    );
    let by_id = ok(
        emu.xdm(),
        &["--json", "events", "--conversation", &conv, "--limit", "20"],
    )
    .json_lines();
    assert_eq!(by_id, with);
}

#[test]
fn oauth1_credentials_from_the_environment_work_too() {
    let emu = Emu::start();
    let c = emu.emulator().credentials().oauth1.clone();
    let mut cmd = emu.bare();
    cmd.env("X_CONSUMER_KEY", &c.consumer_key)
        .env("X_CONSUMER_SECRET", &c.consumer_secret)
        .env("X_ACCESS_TOKEN", &c.access_token)
        .env("X_ACCESS_TOKEN_SECRET", &c.access_token_secret);
    let ran = ok(cmd, &["--json", "events", "--limit", "1"]);
    assert_eq!(ran.json_lines().len(), 1);
    let partial = run(
        {
            let mut cmd = emu.bare();
            cmd.env("X_CONSUMER_KEY", &c.consumer_key);
            cmd
        },
        &["events"],
    );
    assert_eq!(partial.code, 3, "{}", partial.stderr);
    assert!(
        partial.stderr.contains("X_CONSUMER_SECRET"),
        "{}",
        partial.stderr
    );
}

#[test]
fn block_and_unblock_in_both_modes() {
    let emu = Emu::start();
    let bob = other(&emu, 1);
    let me = me(&emu);
    let blocked = ok(emu.xdm(), &["--json", "block", &bob]);
    assert_eq!(blocked.stdout.trim(), r#"{"blocked":true}"#);
    assert!(emu.handle().is_blocked(&me, &bob));
    let human = ok(emu.xdm(), &["unblock", &bob]);
    assert!(
        human.stdout.contains("can send you DMs"),
        "{}",
        human.stdout
    );
    assert!(!emu.handle().is_blocked(&me, &bob));
    let human = ok(emu.xdm(), &["block", &bob]);
    assert!(human.stdout.contains("is blocked"), "{}", human.stdout);
    let json = ok(emu.xdm(), &["--json", "unblock", &bob]);
    assert_eq!(json.stdout.trim(), r#"{"blocked":false}"#);
}

#[test]
fn the_emulator_flag_needs_no_account() {
    let ran = ok(
        {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
            cmd.env_clear();
            cmd
        },
        &["--emulator", "--json", "events", "--limit", "2"],
    );
    assert_eq!(ran.json_lines().len(), 2);
}

#[test]
fn help_has_examples_and_exit_codes_and_completions_are_generated() {
    let emu = Emu::start();
    let top = ok(emu.bare(), &["--help"]).stdout;
    assert!(
        top.contains("Exit codes:") && top.contains("7  unknown outcome"),
        "{top}"
    );
    for cmd in [
        "send",
        "events",
        "event",
        "delete",
        "block",
        "unblock",
        "export",
        "watch",
        "media",
        "login",
        "logout",
        "completions",
    ] {
        let help = ok(emu.bare(), &[cmd, "--help"]).stdout;
        assert!(help.contains("Example"), "{cmd} --help has an example");
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(emu.bare(), &["completions", shell]).stdout;
        assert!(
            script.contains("xdm") && script.contains("export"),
            "{shell}"
        );
    }
    assert_eq!(emu.api_requests(), 0);
}
