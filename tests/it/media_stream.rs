//! Media downloads streamed from the emulator: larger than the whole-response cap, over both
//! HTTP versions, with broken and stalled bodies reported as error items, and resumed from
//! where they broke off.

use std::time::Duration;

use bytes::Bytes;
use xdm_client::transport::{BodyStream, StreamingTransport, Transport, TransportError};
use xdm_client::{Error, MediaSource, MediaStream, Recipient};
use xdm_core::endpoints::DownloadMedia;
use xdm_core::error::ApiErrorKind;
use xdm_core::fields::{DmEventField, Expansion, FieldSet, MediaField};
use xdm_core::retry::TransportErrorKind;
use xdm_core::upload::MediaType;
use xdm_emulator::{Emulator, Fault, FaultKind};
use xdm_hyper::{Client, HttpVersion, HyperTransport, TokioClock};

use crate::support::{Scheme, builder, client, client_with, config, emulator, user};

const MIB: usize = 1024 * 1024;
const DOWNLOAD: &str = "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}";

/// Sends a video of `len` bytes to the first other user and returns its download and bytes.
async fn sent_video(emu: &Emulator, api: &Client, len: usize) -> (DownloadMedia, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let video = MediaSource::from_bytes(bytes.clone(), MediaType::Mp4);
    let sent = api
        .send_with_media(Recipient::Participant(user(emu, 1)), None, video)
        .await
        .unwrap();
    let fields = FieldSet::new()
        .with_dm_event_fields([DmEventField::Attachments])
        .with_expansions([Expansion::AttachmentsMediaKeys])
        .with_media_fields([MediaField::PreviewImageUrl]);
    let event = api
        .get_event_with(sent.event_id.as_ref().unwrap(), fields)
        .await
        .unwrap();
    // A video's media URL is its preview image's.
    let url = event.includes.media.as_ref().unwrap()[0]
        .preview_image_url
        .clone()
        .unwrap();
    (DownloadMedia::from_media_url(&url).unwrap(), bytes)
}

/// The bytes of the stream, how many chunks brought them, and the error that ended it.
async fn read_all(stream: &mut MediaStream) -> (Vec<u8>, usize, Option<Error>) {
    let (mut bytes, mut chunks) = (Vec::new(), 0);
    while let Some(item) = stream.next_chunk().await {
        match item {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                chunks += 1;
            }
            Err(error) => return (bytes, chunks, Some(error)),
        }
    }
    (bytes, chunks, None)
}

fn transport_kind(error: Option<Error>) -> TransportErrorKind {
    match error {
        Some(Error::Transport(t)) => t.failure().kind,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn media_larger_than_the_whole_response_cap_streams_through() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client(&emu, Scheme::OAuth2);
    let len = 17 * MIB;
    let (media, bytes) = sent_video(&emu, &api, len).await;

    let whole = api.download_media(&media).await.unwrap_err();
    assert!(whole.to_string().contains("limit"), "{whole}");

    let mut stream = api.download_media_stream(&media).await.unwrap();
    assert_eq!(stream.content_type(), Some("video/mp4"));
    assert_eq!(stream.content_length(), Some(len as u64));
    let (got, chunks, error) = read_all(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(got == bytes, "{} bytes of {len}, not the same", got.len());
    assert!(chunks > 1, "{chunks} chunks");
    assert_eq!(stream.received(), len as u64);
}

#[tokio::test]
async fn media_streams_over_http2() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client_with(&emu, Scheme::OAuth2, HttpVersion::Http2Only);
    let (media, bytes) = sent_video(&emu, &api, 3 * MIB / 2).await;
    let mut stream = api.download_media_stream(&media).await.unwrap();
    let (got, _, error) = read_all(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(got == bytes);
}

#[tokio::test]
async fn a_body_cut_off_mid_way_is_an_error_item_and_the_next_download_is_whole() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client(&emu, Scheme::OAuth2);
    let (media, bytes) = sent_video(&emu, &api, 256 * 1024).await;
    emu.handle()
        .inject(Fault::once("GET", DOWNLOAD, FaultKind::CloseMidBody));
    let mut stream = api.download_media_stream(&media).await.unwrap();
    let (got, _, error) = read_all(&mut stream).await;
    assert!(got.len() < bytes.len(), "{} bytes", got.len());
    assert_eq!(transport_kind(error), TransportErrorKind::Io);
    assert!(stream.next_chunk().await.is_none());

    let mut again = api.download_media_stream(&media).await.unwrap();
    let (got, _, error) = read_all(&mut again).await;
    assert!(error.is_none(), "{error:?}");
    assert!(got == bytes);
}

#[tokio::test]
async fn a_body_cut_off_mid_way_resumes_from_its_offset() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client(&emu, Scheme::OAuth2);
    let len = 256 * 1024;
    let (media, bytes) = sent_video(&emu, &api, len).await;
    emu.handle()
        .inject(Fault::once("GET", DOWNLOAD, FaultKind::CloseMidBody));
    let mut stream = api.download_media_stream(&media).await.unwrap();
    assert!(stream.accepts_ranges());
    let (mut got, _, error) = read_all(&mut stream).await;
    assert_eq!(transport_kind(error), TransportErrorKind::Io);
    assert!(got.len() < len, "{} bytes", got.len());
    assert_eq!(stream.received(), got.len() as u64);

    let rest = media.clone().with_offset(stream.received());
    let mut resumed = api.download_media_stream(&rest).await.unwrap();
    assert_eq!(
        resumed.content_length(),
        Some(len as u64),
        "the whole file's size"
    );
    let (tail, _, error) = read_all(&mut resumed).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(resumed.received(), (len - got.len()) as u64);
    got.extend_from_slice(&tail);
    assert!(got == bytes, "{} bytes of {len}, not the same", got.len());
    let statuses: Vec<Option<u16>> = emu
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.template == DOWNLOAD)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(206)]);
}

/// `xdm-hyper`'s transport with the `Range` header of every request dropped: to the client,
/// a server that ignores ranges.
struct IgnoresRanges(HyperTransport);

impl Transport for IgnoresRanges {
    fn send(
        &self,
        mut request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        request.headers_mut().remove(http::header::RANGE);
        self.0.send(request)
    }
}

impl StreamingTransport for IgnoresRanges {
    fn send_streaming(
        &self,
        mut request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<BodyStream>, TransportError>> + Send {
        request.headers_mut().remove(http::header::RANGE);
        self.0.send_streaming(request)
    }
}

#[tokio::test]
async fn a_server_that_ignores_the_range_still_gives_the_bytes_from_the_offset() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client(&emu, Scheme::OAuth2);
    let len = 3 * MIB / 2;
    let (media, bytes) = sent_video(&emu, &api, len).await;
    let transport = HyperTransport::builder().build().unwrap();
    let blind = xdm_client::Client::new(
        IgnoresRanges(transport),
        TokioClock,
        config(&emu, Scheme::OAuth2),
    );
    // Past the first chunk, so that whole chunks are dropped as well as part of one.
    let offset = MIB + 12_345;
    let mut stream = blind
        .download_media_stream(&media.clone().with_offset(offset as u64))
        .await
        .unwrap();
    assert_eq!(stream.content_length(), Some(len as u64));
    let (got, _, error) = read_all(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(
        got == bytes[offset..],
        "{} bytes of {}",
        got.len(),
        len - offset
    );
    let last = emu.handle().requests().pop().unwrap();
    assert_eq!(last.status, Some(200), "the range never reached the server");
}

#[tokio::test]
async fn a_stalled_body_times_out_between_chunks() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = builder(&emu, Scheme::OAuth2)
        .transport(|t| t.body_idle_timeout(Duration::from_millis(200)))
        .build()
        .unwrap();
    let (media, _) = sent_video(&emu, &api, 64 * 1024).await;
    emu.handle().inject(Fault::once(
        "GET",
        DOWNLOAD,
        FaultKind::DelayBody(Duration::from_secs(3)),
    ));
    let mut stream = api.download_media_stream(&media).await.unwrap();
    let (got, _, error) = read_all(&mut stream).await;
    assert!(got.is_empty());
    assert_eq!(transport_kind(error), TransportErrorKind::Timeout);
}

#[tokio::test]
async fn refusals_arrive_before_any_body() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let api = client(&emu, Scheme::OAuth2);
    let (media, _) = sent_video(&emu, &api, 1024).await;
    let missing = DownloadMedia::new(
        media.dm_id().clone(),
        media.media_id().clone(),
        xdm_core::ids::ResourceId::parse("nothing.mp4").unwrap(),
    );
    let error = api.download_media_stream(&missing).await.unwrap_err();
    assert_eq!(error.api_error().unwrap().kind(), &ApiErrorKind::NotFound);

    emu.handle()
        .inject(Fault::once("GET", DOWNLOAD, FaultKind::Status(503)));
    let mut retried = api.download_media_stream(&media).await.unwrap();
    assert_eq!(read_all(&mut retried).await.0.len(), 1024);

    let oauth1 = client(&emu, Scheme::OAuth1);
    let error = oauth1.download_media_stream(&media).await.unwrap_err();
    assert!(matches!(error, Error::Authorization(_)), "{error}");
}
