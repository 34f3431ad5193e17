use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::AsyncBufReadExt;
use xdm_emulator::Emulator;

use crate::common::{Api, Auth, emulator};

#[tokio::test]
async fn http2_prior_knowledge() {
    let emu = emulator().await;
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let req = http::Request::get(format!("{}/2/dm_events?max_results=2", emu.base_url()))
        .header(
            "authorization",
            format!("Bearer {}", emu.credentials().oauth2.access_token),
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    crate::schema::check(false, "GET", "/2/dm_events", 200, "application/json", &v);
    let rec = &emu.handle().requests()[0];
    assert!(rec.http2);
    assert_eq!(rec.query.as_deref(), Some("max_results=2"));
}

#[tokio::test]
async fn the_request_log() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    api.get("/2/dm_events?max_results=5").await;
    api.delete("/2/dm_events/1").await;
    let log = emu.handle().requests();
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/2/dm_events");
    assert_eq!(log[0].status, Some(200));
    assert!(!log[0].http2);
    assert_eq!(log[1].template, "/2/dm_events/{event_id}");
    assert_eq!(log[1].status, Some(404));
    emu.handle().clear_requests();
    assert!(emu.handle().requests().is_empty());
}

#[tokio::test]
async fn shutdown_and_drop_stop_serving() {
    let emu = emulator().await;
    let addr = emu.local_addr();
    emu.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let emu = Emulator::builder().empty_world().start().await.unwrap();
    let addr = emu.local_addr();
    drop(emu);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused);
}

#[tokio::test]
async fn the_binary_prints_one_json_line_and_serves() {
    let (mut child, v) = spawn_binary(&[
        "--addr",
        "127.0.0.1:0",
        "--events",
        "20",
        "--seed",
        "3",
        "--no-limits",
    ])
    .await;
    let base = v["base_url"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"));
    for k in [
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "user_id",
    ] {
        assert!(v["oauth1"][k].is_string(), "{k}");
    }
    for k in [
        "client_id",
        "client_secret",
        "access_token",
        "refresh_token",
        "user_id",
    ] {
        assert!(v["oauth2"][k].is_string(), "{k}");
    }
    assert_eq!(v["users"][0]["username"], "emu_me");
    let api = Api {
        base: base.to_owned(),
        auth: Auth::Bearer(v["oauth2"]["access_token"].as_str().unwrap().to_owned()),
    };
    for _ in 0..16 {
        let r = api.get("/2/dm_events").await;
        assert_eq!(r.status, 200, "--no-limits");
        assert_eq!(r.header("x-rate-limit-remaining"), Some("15"));
    }
    child.kill().await.unwrap();
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .arg("--bogus")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args(["--addr", "256.0.0.1:1"])
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // A port already taken: the binary says so and exits 1.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args(["--addr", &addr])
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot start"));
}

/// The example in README.md, kept compiling and passing.
#[tokio::test]
async fn readme_example() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use xdm_emulator::{Fault, FaultKind};

    let emu = Emulator::builder().seed_events(50).start().await.unwrap();
    let creds = emu.credentials();
    let alice = &emu.handle().users()[1];
    let body = r#"{"text":"hello from my bot"}"#;
    let request = format!(
        "POST /2/dm_conversations/with/{}/messages HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        alice.id,
        emu.local_addr(),
        creds.oauth2.access_token,
        body.len(),
    );
    let mut s = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let last = emu.handle().events().pop().unwrap();
    assert_eq!(last.text.as_deref(), Some("hello from my bot"));
    assert_eq!(last.sender_id, creds.oauth2.user_id);
    assert_eq!(emu.handle().requests().last().unwrap().status, Some(201));
    emu.handle().inject(Fault::once(
        "POST",
        "/2/dm_conversations/with/{participant_id}/messages",
        FaultKind::CloseAfterProcessing,
    ));
}

#[tokio::test]
async fn responses_are_schema_checked() {
    let emu = emulator().await;
    let before = crate::schema::checked();
    let r = crate::common::raw("GET", &format!("{}/2/dm_events", emu.base_url()), &[], None).await;
    assert_eq!(r.status, 401);
    Api::new(&emu, Auth::oauth2(&emu))
        .get("/2/dm_events?max_results=1")
        .await;
    assert!(crate::schema::checked() >= before + 2);
}

/// Starts the binary with `args` and returns it with the JSON line it printed.
async fn spawn_binary(args: &[&str]) -> (tokio::process::Child, serde_json::Value) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

#[tokio::test]
async fn the_binary_sets_rate_limits_from_flags() {
    let (mut child, v) = spawn_binary(&[
        "--empty",
        "--rate-limit-window",
        "5",
        "--read-limit",
        "2",
        "--users-me-limit",
        "1",
    ])
    .await;
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["app_bearer_token", "base_url", "oauth1", "oauth2", "users"],
        "the ready line keeps its shape"
    );
    let api = Api {
        base: v["base_url"].as_str().unwrap().to_owned(),
        auth: Auth::Bearer(v["oauth2"]["access_token"].as_str().unwrap().to_owned()),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.header("x-rate-limit-limit"), Some("2"));
    let reset: u64 = r.header("x-rate-limit-reset").unwrap().parse().unwrap();
    assert!(reset <= now + 6, "a 5-second window: {reset} vs {now}");
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    assert_eq!(api.get("/2/dm_events").await.status, 429);
    assert_eq!(api.get("/2/users/me").await.status, 200);
    assert_eq!(api.get("/2/users/me").await.status, 429);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_binary_explains_its_flags() {
    let run = |args: &'static [&'static str]| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
            .args(args)
            .output()
            .await
            .unwrap()
    };
    let help = run(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("Usage: xdm-emulator [OPTIONS]"), "{text}");
    assert!(text.contains("--rate-limit-window <SECS>"));
    assert!(text.contains("--no-rate-limits"));
    for (args, message) in [
        (
            &["--read-limit", "lots"][..],
            "error: invalid value 'lots' for '--read-limit <N>': not a whole number in range",
        ),
        (
            &["--rate-limit-window", "0"][..],
            "error: invalid value '0' for '--rate-limit-window <SECS>': 0 seconds is out of range",
        ),
        (
            &["--send-limit"][..],
            "error: a value is required for '--send-limit <N>'",
        ),
        (&["--bogus"][..], "error: unexpected argument '--bogus'"),
    ] {
        let out = run(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with(message), "{args:?}: {err}");
        assert!(err.contains("--help"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One HTTP/1.1 connection of its own, kept alive until the sender is dropped.
async fn connect(emu: &Emulator) -> Sender {
    let stream = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

async fn get(emu: &Emulator, sender: &mut Sender) -> u16 {
    let req = http::Request::get("/2/dm_events?max_results=1")
        .header("host", emu.local_addr().to_string())
        .header(
            "authorization",
            format!("Bearer {}", emu.credentials().oauth2.access_token),
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    resp.into_body().collect().await.unwrap();
    status
}

async fn until_open(h: &xdm_emulator::EmulatorHandle, n: u64) {
    for _ in 0..250 {
        if h.connections_open() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} connections open, expected {n}", h.connections_open());
}

#[tokio::test]
async fn connections_are_counted() {
    let emu = emulator().await;
    let h = emu.handle();
    assert_eq!((h.connections_accepted(), h.connections_open()), (0, 0));

    // Two requests, one after the other, over one kept-alive connection.
    let mut one = connect(&emu).await;
    assert_eq!(get(&emu, &mut one).await, 200);
    assert_eq!(get(&emu, &mut one).await, 200);
    assert_eq!(emu.handle().requests().len(), 2);
    assert_eq!((h.connections_accepted(), h.connections_open()), (1, 1));
    drop(one);
    until_open(&h, 0).await;
    assert_eq!(h.connections_accepted(), 1);

    // Two connections, one request each, both still open.
    let mut a = connect(&emu).await;
    let mut b = connect(&emu).await;
    assert_eq!(get(&emu, &mut a).await, 200);
    assert_eq!(get(&emu, &mut b).await, 200);
    assert_eq!((h.connections_accepted(), h.connections_open()), (3, 2));
    drop(a);
    until_open(&h, 1).await;

    // A connection the server closes (an injected fault) is no longer open either.
    let mut c = connect(&emu).await;
    h.inject(xdm_emulator::Fault::once(
        "GET",
        "/2/dm_events",
        xdm_emulator::FaultKind::CloseBeforeResponse,
    ));
    let req = http::Request::get("/2/dm_events")
        .header("host", emu.local_addr().to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert!(c.send_request(req).await.is_err());
    assert_eq!(h.connections_accepted(), 4);
    until_open(&h, 1).await;

    // Shutting down closes what is left.
    emu.shutdown().await;
    until_open(&h, 0).await;
    drop(b);
    assert_eq!(h.connections_accepted(), 4);
}
