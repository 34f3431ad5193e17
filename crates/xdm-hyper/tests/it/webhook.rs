//! The webhook server over real TCP: answers, size cap, read timeout, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xdm_client::webhook::{WebhookEvents, WebhookItem, WebhookReceiver};
use xdm_core::activity::webhook::ConsumerSecret;
use xdm_hyper::webhook::WebhookServer;

const BODY: &str = r#"{"data":{"event_type":"dm.received","filter":{"user_id":"1"},"payload":{"direct_message_events":[{"type":"message_create","id":"42","created_timestamp":"1784928224372","message_create":{"sender_id":"2","target":{"recipient_id":"1"},"message_data":{"text":"hi"}}}]}}}"#;

fn secret() -> ConsumerSecret {
    ConsumerSecret::new("example_consumer_secret")
}

struct Running {
    addr: SocketAddr,
    items: WebhookEvents,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(max_body: usize, read_timeout: Duration) -> Running {
    let (receiver, items) = WebhookReceiver::builder(secret())
        .max_body_bytes(max_body)
        .build();
    let server = WebhookServer::bind("127.0.0.1:0", receiver)
        .await
        .unwrap()
        .read_timeout(read_timeout)
        .shutdown_grace(Duration::from_secs(2));
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        items,
        stop,
        done,
    }
}

/// Sends raw bytes and reads the answer until the server closes or `Connection: close`.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    read_answer(&mut stream).await
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut buf = vec![0; 8192];
    let mut answer = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if length.is_some_and(|l| rest.len() >= l) {
                break;
            }
        }
    }
    String::from_utf8(answer).unwrap()
}

fn post(body: &str, signature: &str) -> Vec<u8> {
    format!(
        "POST /hook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         x-twitter-webhooks-signature: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn answers_crc_checks_and_queues_signed_deliveries() {
    let mut running = start(4096, Duration::from_secs(5)).await;
    let crc = exchange(
        running.addr,
        b"GET /hook?crc_token=challenge_string HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    assert!(crc.starts_with("HTTP/1.1 200"), "{crc}");
    assert!(
        crc.ends_with(
            r#"{"response_token":"sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="}"#
        )
    );

    let bad = exchange(running.addr, &post(BODY, "sha256=AAAA")).await;
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    assert!(running.items.try_next().is_none());

    let good = exchange(running.addr, &post(BODY, &secret().sign(BODY.as_bytes()))).await;
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    let Some(WebhookItem::Delivery(delivery)) = running.items.try_next() else {
        panic!("nothing queued")
    };
    assert_eq!(delivery.events.len(), 1);

    let put = exchange(
        running.addr,
        b"PUT /hook HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    assert!(put.starts_with("HTTP/1.1 405"), "{put}");
    running.stop.send(()).unwrap();
    running.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn bodies_over_the_cap_get_413_declared_or_streamed() {
    let mut running = start(64, Duration::from_secs(5)).await;
    let declared = exchange(running.addr, &post(BODY, &secret().sign(BODY.as_bytes()))).await;
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    // Chunked, no length given: the cap applies while reading.
    let chunked = format!(
        "POST /hook HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\
         x-twitter-webhooks-signature: {}\r\n\r\n{:x}\r\n{BODY}\r\n0\r\n\r\n",
        secret().sign(BODY.as_bytes()),
        BODY.len()
    );
    let streamed = exchange(running.addr, chunked.as_bytes()).await;
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    assert!(running.items.try_next().is_none());
    running.stop.send(()).unwrap();
    running.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_body_slower_than_the_read_timeout_gets_408() {
    let mut running = start(4096, Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    let raw = post(BODY, &secret().sign(BODY.as_bytes()));
    // The head and half the body, then nothing.
    stream
        .write_all(&raw[..raw.len() - BODY.len() / 2])
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(running.items.try_next().is_none());
    running.stop.send(()).unwrap();
    running.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let mut running = start(4096, Duration::from_secs(5)).await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    let raw = post(BODY, &secret().sign(BODY.as_bytes()));
    let (head, tail) = raw.split_at(raw.len() - 10);
    stream.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    running.stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // No longer accepting…
    assert!(!running.done.is_finished());
    // …but the open request completes and is answered.
    stream.write_all(tail).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    running.done.await.unwrap().unwrap();
    assert!(matches!(
        running.items.try_next(),
        Some(WebhookItem::Delivery(_))
    ));
}

#[tokio::test]
async fn a_malformed_chunked_body_gets_400() {
    let mut running = start(4096, Duration::from_secs(5)).await;
    let answer = exchange(
        running.addr,
        b"POST /hook HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(running.items.try_next().is_none());
    running.stop.send(()).unwrap();
    running.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_does_not_wait_past_its_grace_for_a_stalled_request() {
    let (receiver, _items) = WebhookReceiver::new(secret());
    let server = WebhookServer::bind("127.0.0.1:0", receiver)
        .await
        .unwrap()
        .read_timeout(Duration::from_secs(30))
        .shutdown_grace(Duration::from_millis(100));
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let raw = post(BODY, &secret().sign(BODY.as_bytes()));
    stream.write_all(&raw[..raw.len() - 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), done)
        .await
        .expect("run_until returns after the grace period")
        .unwrap()
        .unwrap();
    assert!(asked.elapsed() >= Duration::from_millis(100));
    // It no longer accepts.
    assert!(TcpStream::connect(addr).await.is_err());
}
