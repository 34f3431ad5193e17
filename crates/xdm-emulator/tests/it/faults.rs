use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdm_emulator::{Emulator, Fault, FaultKind};

use crate::common::{Api, Auth, emulator, user};

/// A raw HTTP/1.1 exchange: what arrived before the server closed, and when the first byte came.
async fn raw_exchange(emu: &Emulator, method: &str, path: &str, body: &str) -> (Vec<u8>, Duration) {
    let mut s = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let token = &emu.credentials().oauth2.access_token;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emu.local_addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let start = Instant::now();
    let mut out = Vec::new();
    let mut first = None;
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("server answers or closes")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| start.elapsed());
        out.extend_from_slice(&buf[..n]);
    }
    (out, first.unwrap_or_else(|| start.elapsed()))
}

fn split(resp: &[u8]) -> (String, Vec<u8>) {
    let at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    (
        String::from_utf8_lossy(&resp[..at]).to_lowercase(),
        resp[at + 4..].to_vec(),
    )
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn status_faults_once_and_every_nth() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    for s in [500u16, 502, 503, 504] {
        emu.handle()
            .inject(Fault::once("GET", "/2/dm_events", FaultKind::Status(s)));
        let r = api.get("/2/dm_events").await;
        assert_eq!(r.status, s);
        let v = r.json();
        assert_eq!(v["status"], s);
        assert!(v["title"].is_string() && v["type"].is_string());
    }
    assert_eq!(api.get("/2/dm_events").await.status, 200, "once means once");
    emu.handle().inject(Fault::every(
        "GET",
        "/2/dm_events/{event_id}",
        2,
        FaultKind::Status(503),
    ));
    let got: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(api.get("/2/dm_events/1").await.status);
        }
        v
    };
    assert_eq!(got, [200, 503, 200, 503]);
    emu.handle().clear_faults();
    assert_eq!(api.get("/2/dm_events/1").await.status, 200);
    // A status fault does not process the request.
    let alice = user(&emu, "alice");
    let before = emu.handle().event_count();
    emu.handle()
        .inject(Fault::always("*", "*", FaultKind::Status(500)));
    assert_eq!(
        api.post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "x"})
        )
        .await
        .status,
        500
    );
    assert_eq!(emu.handle().event_count(), before);
}

#[tokio::test]
async fn close_before_and_after_processing_a_send() {
    let emu = emulator().await;
    let alice = user(&emu, "alice");
    let path = format!("/2/dm_conversations/with/{alice}/messages");
    let template = "/2/dm_conversations/with/{participant_id}/messages";
    let before = emu.handle().event_count();
    emu.handle().inject(Fault::once(
        "POST",
        template,
        FaultKind::CloseBeforeResponse,
    ));
    let (resp, _) = raw_exchange(&emu, "POST", &path, r#"{"text":"lost"}"#).await;
    assert!(resp.is_empty(), "no response at all");
    assert_eq!(emu.handle().event_count(), before, "nothing stored");
    emu.handle().inject(Fault::once(
        "POST",
        template,
        FaultKind::CloseAfterProcessing,
    ));
    let (resp, _) = raw_exchange(&emu, "POST", &path, r#"{"text":"maybe"}"#).await;
    assert!(resp.is_empty(), "no response at all");
    assert_eq!(
        emu.handle().event_count(),
        before + 1,
        "but the message was stored"
    );
    assert_eq!(
        emu.handle().events().last().unwrap().text.as_deref(),
        Some("maybe")
    );
    let log = emu.handle().requests();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.status.is_none() && r.template == template)
    );
    // The hyper client sees a transport error too.
    emu.handle().inject(Fault::once(
        "POST",
        template,
        FaultKind::CloseAfterProcessing,
    ));
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let req = http::Request::post(format!("{}{path}", emu.base_url()))
        .header(
            "authorization",
            format!("Bearer {}", emu.credentials().oauth2.access_token),
        )
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"{\"text\":\"again\"}",
        )))
        .unwrap();
    assert!(client.request(req).await.is_err());
    assert_eq!(emu.handle().event_count(), before + 2);
}

#[tokio::test]
async fn broken_bodies() {
    let emu = emulator().await;
    let h = emu.handle();
    h.inject(Fault::once(
        "GET",
        "/2/dm_events",
        FaultKind::CloseAfterHeaders,
    ));
    let (resp, _) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    let (head, body) = split(&resp);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(content_length(&head) > 0);
    assert!(body.is_empty());
    h.inject(Fault::once("GET", "/2/dm_events", FaultKind::CloseMidBody));
    let (resp, _) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    let (head, body) = split(&resp);
    assert!(
        !body.is_empty() && body.len() < content_length(&head),
        "{} of {}",
        body.len(),
        content_length(&head)
    );
    h.inject(Fault::once("GET", "/2/dm_events", FaultKind::TruncatedJson));
    let (resp, _) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    let (head, body) = split(&resp);
    assert_eq!(body.len(), content_length(&head));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    h.inject(Fault::once("GET", "/2/dm_events", FaultKind::InvalidJson));
    let (resp, _) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    assert!(serde_json::from_slice::<serde_json::Value>(&split(&resp).1).is_err());
    h.inject(Fault::once(
        "GET",
        "/2/dm_events",
        FaultKind::OversizedBody(1 << 20),
    ));
    let (resp, _) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    let body = split(&resp).1;
    assert!(body.len() >= 1 << 20);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
        "still JSON, just huge"
    );
}

#[tokio::test]
async fn delays() {
    let emu = emulator().await;
    let h = emu.handle();
    h.inject(Fault::once(
        "GET",
        "/2/dm_events",
        FaultKind::DelayHeaders(Duration::from_millis(300)),
    ));
    let (resp, first) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    assert!(first >= Duration::from_millis(290), "{first:?}");
    assert!(split(&resp).0.starts_with("http/1.1 200"));
    h.inject(Fault::once(
        "GET",
        "/2/dm_events",
        FaultKind::DelayBody(Duration::from_millis(400)),
    ));
    let start = Instant::now();
    let (resp, first) = raw_exchange(&emu, "GET", "/2/dm_events", "").await;
    assert!(
        first < Duration::from_millis(300),
        "headers come first: {first:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(390));
    let (head, body) = split(&resp);
    assert_eq!(body.len(), content_length(&head));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
}
