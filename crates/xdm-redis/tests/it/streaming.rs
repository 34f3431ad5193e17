//! A streamed response (a media download) is admitted and settled like any other: the
//! reservation is settled from its headers, before its body is read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redis::AsyncCommands;
use xdm_client::transport::{BodyStream, StreamingTransport, Transport, TransportError};
use xdm_core::retry::{ReachedServer, TransportErrorKind, TransportFailure};
use xdm_core::{Delivery, EndpointGroup, EndpointInfo};
use xdm_redis::FleetLimits;

use crate::support::{self, RedisServer};

/// An in-memory media host that allows two downloads per hour and streams each body in two
/// chunks. It counts what reaches it and never refuses (the fleet must). Told to fail, it
/// fails the next request the way `failure` says, without answering.
#[derive(Clone, Default)]
struct MediaHost {
    asked: Arc<AtomicU32>,
    failure: Arc<std::sync::Mutex<Option<ReachedServer>>>,
}

impl MediaHost {
    fn asked(&self) -> u32 {
        self.asked.load(Ordering::SeqCst)
    }

    fn answer(&self) -> http::Response<Vec<Bytes>> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        http::Response::builder()
            .header("content-type", "image/jpeg")
            .header("x-rate-limit-limit", 2)
            .header("x-rate-limit-remaining", 2u32.saturating_sub(n))
            .header("x-rate-limit-reset", reset)
            .body(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")])
            .unwrap()
    }
}

impl Transport for MediaHost {
    async fn send(&self, _: http::Request<Bytes>) -> Result<http::Response<Bytes>, TransportError> {
        Ok(self.answer().map(|chunks| chunks.concat().into()))
    }
}

impl StreamingTransport for MediaHost {
    async fn send_streaming(
        &self,
        _: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, TransportError> {
        if let Some(reached_server) = self.failure.lock().unwrap().take() {
            let kind = match reached_server {
                ReachedServer::No => TransportErrorKind::Connect,
                _ => TransportErrorKind::Timeout,
            };
            let failure = TransportFailure::new(kind, reached_server);
            return Err(TransportError::new(failure, "the media host failed"));
        }
        Ok(self.answer().map(|chunks| {
            let mut chunks = chunks.into_iter();
            BodyStream::from_poll_fn(move |_| std::task::Poll::Ready(chunks.next().map(Ok)))
        }))
    }
}

fn download() -> http::Request<Bytes> {
    let mut request = http::Request::get("https://ton.x.com/i/ton/data/dm/1/2/photo.jpg")
        .body(Bytes::new())
        .unwrap();
    request.extensions_mut().insert(EndpointInfo::new(
        http::Method::GET,
        "/i/ton/data/dm",
        EndpointGroup::MediaDownload,
        &[],
        Delivery::Idempotent,
    ));
    request
}

async fn read_all(body: &mut BodyStream) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(chunk) = body.next_chunk().await {
        all.extend_from_slice(&chunk.unwrap());
    }
    all
}

#[tokio::test]
async fn a_streamed_download_is_admitted_and_settled_from_its_headers() {
    let mut server = RedisServer::start();
    let redis = support::connect(&server).await;
    let mut raw = support::raw(&server).await;
    let host = MediaHost::default();
    let limits = FleetLimits::new(&redis).with_max_wait(Duration::ZERO);
    let fleet = limits.transport(support::accounts(1).remove(0), host.clone());
    let windows = "test:{acct-0}:limits:media-download";
    let in_flight = "test:{acct-0}:limits:media-download:in-flight";

    let mut response = fleet.send_streaming(download()).await.unwrap();
    assert_eq!(response.status(), 200);
    // Settled as soon as the headers are in, with the body still unread.
    let reserved: u32 = raw.zcard(in_flight).await.unwrap();
    assert_eq!(reserved, 0, "nothing left in flight");
    let remaining: String = raw.hget(windows, "r1").await.unwrap();
    assert_eq!(remaining, "1", "the fleet learnt the answer's headers");
    assert_eq!(read_all(response.body_mut()).await, b"abcd");

    // A download that certainly never reached the host costs nothing; one that may have
    // reached it costs one, as X may have counted it.
    for (reached_server, left) in [(ReachedServer::No, "1"), (ReachedServer::Maybe, "0")] {
        *host.failure.lock().unwrap() = Some(reached_server);
        let error = fleet.send_streaming(download()).await.expect_err("fails");
        assert_eq!(error.failure().reached_server, reached_server);
        let reserved: u32 = raw.zcard(in_flight).await.unwrap();
        assert_eq!(reserved, 0, "settled");
        let remaining: String = raw.hget(windows, "r1").await.unwrap();
        assert_eq!(remaining, left, "after {reached_server:?}");
    }
    assert_eq!(host.asked(), 1, "the failures answered nothing");

    // The budget is spent: the fleet answers itself, with a body streamed like the host's.
    let mut refused = fleet.send_streaming(download()).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-xdm-fleet-limited"], "1");
    assert_eq!(refused.headers()["x-rate-limit-limit"], "2");
    let body = String::from_utf8(read_all(refused.body_mut()).await).unwrap();
    assert!(body.contains("Too Many Requests"), "{body}");
    assert_eq!(host.asked(), 1, "the refusal never reached the host");

    // A request the client did not mark with its endpoint passes straight through.
    let unmarked = http::Request::get("https://ton.x.com/elsewhere")
        .body(Bytes::new())
        .unwrap();
    let response = fleet.send_streaming(unmarked).await.unwrap();
    assert_eq!((response.status().as_u16(), host.asked()), (200, 2));

    // With Redis gone, the download is sent on the client's own limiter's word.
    server.stop();
    let mut response = fleet.send_streaming(download()).await.unwrap();
    assert_eq!((response.status().as_u16(), host.asked()), (200, 3));
    assert_eq!(read_all(response.body_mut()).await, b"abcd");
    assert!(limits.is_degraded());
}
