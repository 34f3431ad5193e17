//! The transport against raw TCP servers on loopback that misbehave in one way each.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use xdm_core::retry::{ReachedServer, TransportErrorKind};
use xdm_hyper::{HttpVersion, HyperTransport};

/// Starts a server that reads one request head and then runs `respond` on the socket.
async fn serve_once<F, Fut>(respond: F) -> String
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            head.extend_from_slice(&buf[..n]);
        }
        respond(socket).await;
    });
    format!("http://{addr}/2/dm_events")
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn transport() -> HyperTransport {
    HyperTransport::builder()
        .http_version(HttpVersion::Http1Only)
        .request_timeout(Duration::from_millis(500))
        .max_response_bytes(1024)
        .build()
        .unwrap()
}

#[tokio::test]
async fn reads_a_whole_response() {
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{\"data\":[1]}\n")
            .await
            .unwrap();
    })
    .await;
    let response = transport().send(get(&url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"{\"data\":[1]}\n");
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn refused_connection_never_reached_the_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = transport()
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Connect);
    assert_eq!(error.failure().reached_server, ReachedServer::No);
}

#[tokio::test]
async fn silent_server_times_out_and_may_have_seen_the_request() {
    let url = serve_once(|s| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    })
    .await;
    let error = transport().send(get(&url)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Timeout);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert!(error.to_string().contains("500 ms"), "{error}");
}

#[tokio::test]
async fn connection_closed_before_a_response() {
    let url = serve_once(|s| async move { drop(s) }).await;
    let error = transport().send(get(&url)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
}

#[tokio::test]
async fn connection_closed_mid_body() {
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"data\":")
            .await
            .unwrap();
    })
    .await;
    let error = transport().send(get(&url)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert!(error.message().contains("body"), "{error}");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let url = serve_once(|mut s| async move {
        let body = vec![b'x'; 4096];
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4096\r\n\r\n")
            .await
            .unwrap();
        let _ = s.write_all(&body).await;
    })
    .await;
    let error = transport().send(get(&url)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Other);
    assert!(error.message().contains("1024-byte limit"), "{error}");
}

#[test]
fn a_malformed_root_certificate_is_refused() {
    let error = HyperTransport::builder()
        .add_root_certificate_der(b"not a certificate".to_vec())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("root certificate"), "{error}");
}
