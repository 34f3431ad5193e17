//! `xdm webhook`: a DM sent in the emulator reaches `serve` once, through a redelivery and a
//! replay; management commands; bad input refused before any request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use xdm_emulator::{DeliveryFault, Emulator, RateLimits};

use crate::common::{Emu, me, ok, refused_as_bad_input, run, spawn, wait_exit, wait_line};

fn app(emu: &Emu) -> std::process::Command {
    let mut cmd = emu.bare();
    cmd.env(
        "X_BEARER_TOKEN",
        emu.emulator().credentials().app_bearer_token.clone(),
    );
    cmd
}

/// A raw JSON POST to the emulator with a user's OAuth 2.0 token: status and body.
fn post_as_user(emu: &Emu, path: &str, body: &str) -> (u16, String) {
    let url = emu.url();
    let authority = url
        .strip_prefix("http://")
        .expect("http")
        .trim_end_matches('/');
    let token = &emu.emulator().credentials().oauth2.access_token;
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn serve_prints_each_dm_once_through_redeliveries_and_replays() {
    // X only calls https URLs on the default port: the emulator sends what is registered
    // as https://hooks.example.com to `serve`'s plain-HTTP address instead. The port is
    // chosen free first, since the emulator needs it before `serve` starts.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let emu = Emu::with(
        Emulator::builder()
            .rate_limits(RateLimits::off())
            .webhook_target(addr)
            .webhook_retry_delays([Duration::from_millis(50)]),
    );
    let secret = emu.emulator().credentials().oauth1.consumer_secret.clone();
    let mut cmd = emu.bare();
    cmd.env("X_CONSUMER_SECRET", &secret);
    let addr = addr.to_string();
    let mut serve = spawn(cmd, &["--json", "webhook", "serve", "--addr", &addr]);
    let listening = wait_line(&serve.stderr, Duration::from_secs(15), |l| {
        l.starts_with("listening on ")
    })
    .expect("serve starts");
    assert!(listening.contains(&addr), "{listening}");
    let url = "https://hooks.example.com/webhooks/x".to_owned();

    // Registration: the emulator runs a CRC check against `serve`.
    let registered = ok(app(&emu), &["--json", "webhook", "register", &url]);
    let config = &registered.json_lines()[0];
    assert_eq!(config["url"], url.as_str());
    assert_eq!(config["valid"], true);
    let id = config["id"].as_str().unwrap().to_owned();
    assert!(emu.handle().last_crc().unwrap().valid);
    let listed = ok(app(&emu), &["--json", "webhook", "list"]);
    assert_eq!(listed.json_lines()[0]["id"], id.as_str());

    let me = me(&emu);
    let (status, body) = post_as_user(
        &emu,
        "/2/activity/subscriptions",
        &format!(
            r#"{{"event_type":"dm.received","filter":{{"user_id":"{me}"}},"webhook_id":"{id}"}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");

    // A DM, delivered twice.
    let alice = emu.handle().users()[1].id.clone();
    emu.handle().inject_delivery_fault(DeliveryFault::Redeliver);
    let dm = emu.handle().send_dm(&alice, &me, "hello hook").unwrap();
    let mut printed = Vec::new();
    let line = wait_line(&serve.stdout, Duration::from_secs(15), |l| {
        printed.push(l.to_owned());
        l.contains(&dm)
    })
    .expect("the DM is printed");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["id"], dm.as_str());
    assert_eq!(event["text"], "hello hook");
    assert_eq!(event["sender_id"], alice.as_str());
    assert_eq!(event["event_type"], "MessageCreate");

    // A replay of the last minutes re-sends it; the end of the job is reported.
    let now = jiff::Timestamp::now();
    let from = (now - jiff::SignedDuration::from_mins(5)).to_string();
    let to = now.to_string();
    let replay = ok(
        app(&emu),
        &[
            "--json", "webhook", "replay", &id, "--from", &from, "--to", &to,
        ],
    );
    assert!(replay.json_lines()[0]["job_id"].is_string());
    assert!(
        wait_line(&serve.stderr, Duration::from_secs(15), |l| l
            .contains("ended: Complete"))
        .is_some(),
        "the replay status is reported"
    );
    let deliveries = emu.handle().webhook_deliveries(&id);
    assert!(deliveries.iter().filter(|d| !d.replay).count() >= 2);
    // The replayed DM and the job status.
    assert!(
        deliveries.iter().filter(|d| d.replay).count() >= 2,
        "{deliveries:?}"
    );
    // Nothing more was printed: the redelivery and the replay were dropped.
    std::thread::sleep(Duration::from_millis(200));
    printed.extend(serve.stdout.try_iter());
    assert_eq!(
        printed.iter().filter(|l| l.contains(&dm)).count(),
        1,
        "{printed:?}"
    );

    let deleted = ok(app(&emu), &["webhook", "delete", &id]);
    assert!(deleted.stdout.contains("deleted webhook"));

    // Ctrl-C stops it cleanly.
    #[cfg(unix)]
    {
        // kill(1) rather than libc: the crate forbids unsafe code.
        let status = std::process::Command::new("kill")
            .args(["-INT", &serve.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(wait_exit(&mut serve.child, Duration::from_secs(10)), 0);
    }
    #[cfg(not(unix))]
    {
        let _ = serve.child.kill();
    }
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let emu = Emu::start();
    let long = format!("https://example.com/{}", "a".repeat(200));
    for (args, says) in [
        (
            vec!["webhook", "register", "http://example.com/hook"],
            "https",
        ),
        (
            vec!["webhook", "register", "https://example.com:8443/hook"],
            "port",
        ),
        (vec!["webhook", "register", long.as_str()], "200"),
        (vec!["webhook", "delete", "abc"], "webhook_id"),
        (vec!["webhook", "revalidate", "abc"], "webhook_id"),
        (
            vec![
                "webhook",
                "replay",
                "1",
                "--from",
                "2020-01-01T00:00:00Z",
                "--to",
                "2020-01-01T01:00:00Z",
            ],
            "24 hours",
        ),
        (
            vec![
                "webhook",
                "replay",
                "1",
                "--from",
                "yesterday",
                "--to",
                "now",
            ],
            "RFC 3339",
        ),
        (vec!["webhook", "serve", "--addr", "localhost"], "--addr"),
    ] {
        refused_as_bad_input(app(&emu), &args, says);
    }
    // Later than now, and reversed.
    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_hours(1);
    let (past, future) = ((now - hour).to_string(), (now + hour).to_string());
    refused_as_bad_input(
        app(&emu),
        &["webhook", "replay", "1", "--from", &past, "--to", &future],
        "future",
    );
    refused_as_bad_input(
        app(&emu),
        &["webhook", "replay", "1", "--from", &past, "--to", &past],
        "before",
    );
    assert_eq!(emu.api_requests(), 0);
}

#[test]
fn missing_credentials_are_named() {
    let emu = Emu::start();
    let ran = run(emu.bare(), &["webhook", "serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("X_CONSUMER_SECRET"), "{}", ran.stderr);
    let ran = run(emu.bare(), &["webhook", "list"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("X_BEARER_TOKEN"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), 0);
}

#[test]
fn management_works_against_the_in_process_emulator() {
    let emu = Emu::start();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
    cmd.env_clear().env("XDM_CONFIG_DIR", &emu.config_dir);
    let ran = run(cmd, &["--emulator", "webhook", "list"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("no webhooks"), "{}", ran.stderr);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
    cmd.env_clear().env("XDM_CONFIG_DIR", &emu.config_dir);
    refused_as_bad_input(
        cmd,
        &["--emulator", "webhook", "serve", "--addr", "127.0.0.1:0"],
        "emulator",
    );
}

/// A signed POST to `serve`, from the test itself.
fn post_signed(addr: &str, secret: &str, body: &str) -> u16 {
    let signature = xdm_core::activity::webhook::ConsumerSecret::new(secret).sign(body.as_bytes());
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /webhooks/x HTTP/1.1\r\nHost: {addr}\r\nx-twitter-webhooks-signature: {signature}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn serve_prints_text_lines_and_reports_other_items() {
    let emu = Emu::start();
    let mut cmd = emu.bare();
    cmd.env("X_CONSUMER_SECRET", "s3cret");
    let mut serve = spawn(cmd, &["webhook", "serve", "--addr", "127.0.0.1:0"]);
    let listening = wait_line(&serve.stderr, Duration::from_secs(15), |l| {
        l.starts_with("listening on http://")
    })
    .expect("serve starts");
    let addr = listening
        .strip_prefix("listening on http://")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let dm = r#"{"data":{"event_type":"dm.received","filter":{"user_id":"1"},"payload":{"direct_message_events":[{"type":"message_create","id":"4242","created_timestamp":"1784928224372","message_create":{"sender_id":"2","target":{"recipient_id":"1"},"message_data":{"text":"two\nlines"}}}],"users":{"2":{"id":"2","name":"Two","screen_name":"two"}}}}}"#;
    assert_eq!(post_signed(&addr, "s3cret", dm), 200);
    let line = wait_line(&serve.stdout, Duration::from_secs(10), |l| {
        l.contains("4242")
    })
    .expect("a text line");
    assert!(line.contains("two ⏎ lines"), "{line}");
    assert_eq!(post_signed(&addr, "wrong", dm), 401);
    let status = r#"{"replay_job_status":{"webhook_id":"5","job_state":"Incomplete","job_state_description":"retry","job_id":"77"}}"#;
    assert_eq!(post_signed(&addr, "s3cret", status), 200);
    assert!(
        wait_line(&serve.stderr, Duration::from_secs(10), |l| l
            .contains("replay job 77 ended: Incomplete"))
        .is_some()
    );
    assert_eq!(post_signed(&addr, "s3cret", r#"{"new":1}"#), 200);
    assert!(
        wait_line(&serve.stderr, Duration::from_secs(10), |l| l
            .contains("unknown shape"))
        .is_some()
    );
    let _ = serve.child.kill();
    let _ = serve.child.wait();
}

#[test]
fn an_address_in_use_is_a_local_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let emu = Emu::start();
    let mut cmd = emu.bare();
    cmd.env("X_CONSUMER_SECRET", "s3cret");
    let ran = run(cmd, &["webhook", "serve", "--addr", &addr]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("could not listen on"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("s3cret"));
}
