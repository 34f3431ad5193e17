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
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--events",
            "20",
            "--seed",
            "3",
            "--no-limits",
        ])
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
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
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
        assert_eq!(api.get("/2/dm_events").await.status, 200, "--no-limits");
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
