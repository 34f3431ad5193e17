//! Streamed responses: no size cap, a timeout between chunks rather than for the whole body,
//! failures as error items, and the request slot held until the body is done with.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use xdm_client::transport::{BodyStream, TransportError};
use xdm_core::retry::{ReachedServer, TransportErrorKind};
use xdm_hyper::{HttpVersion, HyperTransport};

use super::{get, serve_once};

fn transport() -> HyperTransport {
    HyperTransport::builder()
        .http_version(HttpVersion::Http1Only)
        .request_timeout(Duration::from_millis(300))
        .body_idle_timeout(Duration::from_millis(300))
        .max_response_bytes(1024)
        .build()
        .unwrap()
}

/// Everything the body yields: the bytes, how many chunks, and the error that ended it.
async fn read_all(body: &mut BodyStream) -> (Vec<u8>, usize, Option<TransportError>) {
    let (mut bytes, mut chunks) = (Vec::new(), 0);
    while let Some(item) = body.next_chunk().await {
        match item {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                chunks += 1;
            }
            Err(error) => {
                assert!(
                    body.next_chunk().await.is_none(),
                    "the stream ends after an error"
                );
                return (bytes, chunks, Some(error));
            }
        }
    }
    (bytes, chunks, None)
}

#[tokio::test]
async fn a_streamed_body_is_not_capped_and_arrives_in_chunks() {
    const LEN: usize = 1024 * 1024;
    let url = serve_once(|mut s| async move {
        let head =
            format!("HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: {LEN}\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        for i in 0..LEN / 65536 {
            s.write_all(&[i as u8; 65536]).await.unwrap();
        }
    })
    .await;
    let response = transport().send_streaming(get(&url)).await.unwrap();
    assert_eq!(response.headers()["content-type"], "video/mp4");
    let (bytes, chunks, error) = read_all(&mut response.into_body()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(bytes.len(), LEN, "1024 times the whole-response cap");
    assert!(chunks > 1, "{chunks} chunks");
    assert!(bytes[..65536].iter().all(|&b| b == 0));
    assert!(bytes[LEN - 65536..].iter().all(|&b| b == 15));
}

#[tokio::test]
async fn a_slow_body_that_keeps_moving_outlives_the_request_timeout() {
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n")
            .await
            .unwrap();
        for part in [b"ab", b"cd", b"ef", b"gh"] {
            tokio::time::sleep(Duration::from_millis(150)).await;
            s.write_all(part).await.unwrap();
        }
    })
    .await;
    let started = std::time::Instant::now();
    let response = transport().send_streaming(get(&url)).await.unwrap();
    let (bytes, _, error) = read_all(&mut response.into_body()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(bytes, b"abcdefgh");
    assert!(
        started.elapsed() > Duration::from_millis(300),
        "slower than the request timeout"
    );
}

#[tokio::test]
async fn a_stalled_body_times_out_between_chunks() {
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let response = transport().send_streaming(get(&url)).await.unwrap();
    let (bytes, _, error) = read_all(&mut response.into_body()).await;
    assert_eq!(bytes, b"first");
    let error = error.expect("a timeout");
    assert_eq!(error.failure().kind, TransportErrorKind::Timeout);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert!(error.message().contains("300 ms"), "{error}");
}

#[tokio::test]
async fn time_the_reader_takes_between_chunks_is_not_the_servers() {
    // The idle timeout is 300 ms. The reader dawdles 500 ms after the first chunk, and the
    // second comes 100 ms after it looks again: the server was never silent for 300 ms.
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nfirst")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        s.write_all(b"second").await.unwrap();
    })
    .await;
    let response = transport().send_streaming(get(&url)).await.unwrap();
    let mut body = response.into_body();
    let first = body.next_chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"first");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rest, _, error) = read_all(&mut body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(rest, b"second");
}

#[tokio::test]
async fn headers_that_never_come_time_out() {
    let url = serve_once(|s| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    })
    .await;
    let error = transport().send_streaming(get(&url)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Timeout);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert!(error.message().contains("headers"), "{error}");
}

#[tokio::test]
async fn a_connection_refused_before_the_headers_never_reached_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = transport()
        .send_streaming(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::Connect);
    assert_eq!(error.failure().reached_server, ReachedServer::No);
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_an_error_item() {
    let url = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf")
            .await
            .unwrap();
    })
    .await;
    let response = transport().send_streaming(get(&url)).await.unwrap();
    let (bytes, _, error) = read_all(&mut response.into_body()).await;
    assert_eq!(bytes, b"half");
    let error = error.expect("the body broke off");
    assert_eq!(error.failure().kind, TransportErrorKind::Io);
    assert_eq!(error.failure().reached_server, ReachedServer::Maybe);
    assert!(error.message().contains("body"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_request_holds_its_slot_until_its_body_ends_or_is_dropped() {
    let transport = HyperTransport::builder()
        .http_version(HttpVersion::Http1Only)
        .request_timeout(Duration::from_secs(5))
        .body_idle_timeout(Duration::from_secs(5))
        .max_concurrent_requests(1)
        .build()
        .unwrap();
    let slow = |first: &'static [u8]| {
        serve_once(move |mut s| async move {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
                .await
                .unwrap();
            s.write_all(first).await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
        })
    };
    let quick = || {
        serve_once(|mut s| async move {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
    };
    let blocked = Duration::from_millis(300);

    // A body still coming holds the only slot; dropping it frees the slot.
    let first = transport
        .send_streaming(get(&slow(b"x").await))
        .await
        .unwrap();
    let second_url = quick().await;
    let waiting = tokio::time::timeout(blocked, transport.send_streaming(get(&second_url))).await;
    assert!(waiting.is_err(), "a second request waits for the slot");
    drop(first);
    let second = transport.send_streaming(get(&second_url)).await.unwrap();

    // A body read to its end frees the slot although the stream is still held.
    let (bytes, _, error) = read_all(&mut second.into_body()).await;
    assert_eq!((bytes.as_slice(), error.is_none()), (&b"ok"[..], true));
    let finished = transport.send_streaming(get(&quick().await)).await.unwrap();
    let mut finished = finished.into_body();
    assert_eq!(read_all(&mut finished).await.0, b"ok");
    let after = tokio::time::timeout(blocked, transport.send(get(&quick().await))).await;
    assert_eq!(
        after.expect("the slot is free").unwrap().body().as_ref(),
        b"ok"
    );
    drop(finished);
}

#[tokio::test]
async fn the_buffered_send_still_caps_what_streaming_does_not() {
    let body = || {
        serve_once(|mut s| async move {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2048\r\n\r\n")
                .await
                .unwrap();
            let _ = s.write_all(&[b'x'; 2048]).await;
        })
    };
    let error = transport().send(get(&body().await)).await.unwrap_err();
    assert_eq!(error.failure().kind, TransportErrorKind::TooLarge);
    assert!(error.message().contains("1024-byte limit"), "{error}");
    let streamed = transport()
        .send_streaming(get(&body().await))
        .await
        .unwrap();
    let (bytes, _, error) = read_all(&mut streamed.into_body()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(bytes, Bytes::from_static(&[b'x'; 2048]));
}
