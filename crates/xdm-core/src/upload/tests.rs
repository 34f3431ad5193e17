use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::ids::MediaId;
use crate::{Delivery, Endpoint, EndpointGroup, RequestContext, Scope};

const BOUNDARY: &str = "b0undary42";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn json(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn send(upload: &mut ChunkedUpload, now: SystemTime) -> UploadStep {
    match upload.poll_action(now) {
        UploadAction::Send(step) => step,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn body_text(request: &http::Request<Bytes>) -> String {
    String::from_utf8_lossy(request.body()).into_owned()
}

#[test]
fn initialize_is_json_as_the_spec_says() {
    let init = InitializeUpload::new(1234, MediaType::Mp4, MediaCategory::DmVideo).unwrap();
    let request = init.build_request(&RequestContext::default()).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://api.x.com/2/media/upload/initialize");
    assert_eq!(request.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"media_type": "video/mp4", "total_bytes": 1234, "media_category": "dm_video"})
    );
    let info = request.extensions().get::<crate::EndpointInfo>().unwrap();
    assert_eq!(info.group, EndpointGroup::MediaUpload);
    assert_eq!(info.scopes, &[Scope::MediaWrite]);
    assert_eq!(info.delivery, Delivery::Idempotent);
}

#[test]
fn append_is_multipart_with_segment_index_and_media() {
    let id = MediaId::parse("1880028106020515840").unwrap();
    let append = AppendUpload::new(id, 7, Bytes::from_static(b"\x00chunk"), BOUNDARY).unwrap();
    assert_eq!(
        (append.segment_index(), &append.chunk()[..]),
        (7, &b"\x00chunk"[..])
    );
    let request = append.build_request(&RequestContext::default()).unwrap();
    assert_eq!(
        request.uri(),
        "https://api.x.com/2/media/upload/1880028106020515840/append"
    );
    assert_eq!(
        request.headers()["content-type"],
        "multipart/form-data; boundary=\"b0undary42\""
    );
    let body = body_text(&request);
    assert!(
        body.contains("name=\"segment_index\"\r\n\r\n7\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"media\"; filename=\"media\""),
        "{body}"
    );
    assert!(body.ends_with("--b0undary42--\r\n"));
}

#[test]
fn append_refuses_bad_segments() {
    let id = || MediaId::parse("1").unwrap();
    let one = || Bytes::from_static(b"x");
    assert_eq!(
        AppendUpload::new(id(), 1000, one(), BOUNDARY)
            .unwrap_err()
            .parameter,
        "segment_index"
    );
    assert_eq!(
        AppendUpload::new(id(), 0, Bytes::new(), BOUNDARY)
            .unwrap_err()
            .parameter,
        "media"
    );
    let big = Bytes::from(vec![0; MAX_CHUNK_SIZE + 1]);
    assert_eq!(
        AppendUpload::new(id(), 0, big, BOUNDARY)
            .unwrap_err()
            .parameter,
        "media"
    );
    assert_eq!(
        AppendUpload::new(id(), 0, one(), "bad\"boundary")
            .unwrap_err()
            .parameter,
        "boundary"
    );
    let clash = AppendUpload::new(id(), 0, Bytes::from_static(b"--b0undary42"), BOUNDARY).unwrap();
    assert!(clash.build_request(&RequestContext::default()).is_err());
}

#[test]
fn finalize_and_status_requests() {
    let id = MediaId::parse("42").unwrap();
    let ctx = RequestContext::default();
    let finalize = FinalizeUpload::new(id.clone()).build_request(&ctx).unwrap();
    assert_eq!(finalize.method(), http::Method::POST);
    assert_eq!(
        finalize.uri(),
        "https://api.x.com/2/media/upload/42/finalize"
    );
    assert!(finalize.body().is_empty());
    assert!(finalize.headers().get("content-type").is_none());
    let status = UploadStatus::new(id).build_request(&ctx).unwrap();
    assert_eq!(status.method(), http::Method::GET);
    assert_eq!(
        status.uri(),
        "https://api.x.com/2/media/upload?media_id=42&command=STATUS"
    );
}

#[test]
fn one_shot_upload_is_multipart_and_for_images_only() {
    let upload =
        UploadMedia::new(Bytes::from_static(b"\x89PNG"), MediaType::Png, BOUNDARY).unwrap();
    let request = upload.build_request(&RequestContext::default()).unwrap();
    assert_eq!(request.uri(), "https://api.x.com/2/media/upload");
    let body = body_text(&request);
    assert!(
        body.contains("name=\"media_category\"\r\n\r\ndm_image\r\n"),
        "{body}"
    );
    assert!(body.contains("\r\n\r\n\u{fffd}PNG\r\n"), "{body}");
    let decoded = upload
        .decode_response(json(
            200,
            r#"{"data":{"id":"77","media_key":"3_77","size":4}}"#,
        ))
        .unwrap();
    assert_eq!(decoded.id, MediaId::parse("77").unwrap());
    assert_eq!(decoded.media_key.as_deref(), Some("3_77"));

    assert!(UploadMedia::new(Bytes::from_static(b"GIF8"), MediaType::Gif, BOUNDARY).is_err());
    assert!(UploadMedia::new(Bytes::new(), MediaType::Png, BOUNDARY).is_err());
    assert!(UploadMedia::new(Bytes::from_static(b"x"), MediaType::Png, "").is_err());
}

#[test]
fn append_decoding_accepts_any_success() {
    let append = AppendUpload::new(
        MediaId::parse("1").unwrap(),
        0,
        Bytes::from_static(b"x"),
        BOUNDARY,
    )
    .unwrap();
    assert!(append.decode_response(json(204, "")).is_ok());
    assert!(
        append
            .decode_response(json(200, r#"{"data":{"expires_at":1}}"#))
            .is_ok()
    );
    let error = append
        .decode_response(json(400, r#"{"title":"Invalid Request"}"#))
        .unwrap_err();
    assert_eq!(error.status(), 400);
}

#[test]
fn processing_states_decode_with_unknown_ones_kept() {
    let media: UploadedMedia = serde_json::from_str(
        r#"{"id":"1","processing_info":{"state":"rendering","check_after_secs":3,"progress_percent":40}}"#,
    )
    .unwrap();
    let info = media.processing_info.unwrap();
    assert_eq!(info.state, ProcessingState::Other("rendering".into()));
    assert_eq!(info.progress_percent, Some(40));
}

#[test]
fn constructor_validates_before_any_request() {
    let file = || Bytes::from(vec![7u8; 100]);
    assert!(ChunkedUpload::new(Bytes::new(), MediaType::Mp4, BOUNDARY).is_err());
    assert!(ChunkedUpload::new(file(), MediaType::Mp4, "").is_err());
    let too_big = Bytes::from(vec![0u8; 5 * 1024 * 1024 + 1]);
    assert_eq!(
        ChunkedUpload::new(too_big, MediaType::Png, BOUNDARY)
            .unwrap_err()
            .parameter,
        "media"
    );
    let upload = ChunkedUpload::new(file(), MediaType::Mp4, BOUNDARY).unwrap();
    assert_eq!(
        upload
            .clone()
            .with_category(MediaCategory::DmImage)
            .unwrap_err()
            .parameter,
        "media_type"
    );
    assert!(upload.clone().with_category(MediaCategory::DmVideo).is_ok());
    assert_eq!(
        upload.clone().with_chunk_size(0).unwrap_err().parameter,
        "chunk_size"
    );
    assert_eq!(
        upload
            .clone()
            .with_chunk_size(MAX_CHUNK_SIZE + 1)
            .unwrap_err()
            .parameter,
        "chunk_size"
    );
    let many = ChunkedUpload::new(Bytes::from(vec![1u8; 1001]), MediaType::Mp4, BOUNDARY).unwrap();
    let err = many.with_chunk_size(1).unwrap_err();
    assert!(err.allowed.contains("at least 2 bytes"), "{err}");
    let clash = Bytes::from_static(b"abc--b0undary42def");
    assert_eq!(
        ChunkedUpload::new(clash, MediaType::Mp4, BOUNDARY)
            .unwrap_err()
            .parameter,
        "boundary"
    );
}

fn video(len: usize, chunk: usize) -> ChunkedUpload {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    ChunkedUpload::new(Bytes::from(bytes), MediaType::Mp4, BOUNDARY)
        .unwrap()
        .with_chunk_size(chunk)
        .unwrap()
}

fn initialize(upload: &mut ChunkedUpload) {
    assert!(matches!(send(upload, at(0)), UploadStep::Initialize(_)));
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","expires_after_secs":86400}}"#),
            at(0),
        )
        .unwrap();
    assert_eq!(upload.media_id(), Some(&MediaId::parse("99").unwrap()));
}

fn append_all(upload: &mut ChunkedUpload) {
    while let UploadStep::Append(_) = send(upload, at(1)) {
        upload.handle_response(json(204, ""), at(1)).unwrap();
    }
}

#[test]
fn image_upload_completes_without_processing() {
    let mut upload =
        ChunkedUpload::new(Bytes::from_static(b"jpegdata"), MediaType::Jpeg, BOUNDARY).unwrap();
    assert_eq!(upload.media_id(), None);
    initialize(&mut upload);
    assert!(matches!(send(&mut upload, at(1)), UploadStep::Append(_)));
    upload.handle_response(json(200, "{}"), at(1)).unwrap();
    let step = send(&mut upload, at(1));
    assert!(matches!(step, UploadStep::Finalize(_)));
    assert_eq!(step.info().group, EndpointGroup::MediaUpload);
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","media_key":"3_99"}}"#),
            at(2),
        )
        .unwrap();
    match upload.poll_action(at(2)) {
        UploadAction::Done(media) => assert_eq!(media.media_key.as_deref(), Some("3_99")),
        other => panic!("{other:?}"),
    }
    assert_eq!(upload.segments_sent(), 1);
    assert_eq!(upload.media_id(), Some(&MediaId::parse("99").unwrap()));
}

#[test]
fn video_upload_waits_for_processing() {
    let mut upload = video(10, 4);
    initialize(&mut upload);
    assert_eq!(upload.segment_count(), 3);
    append_all(&mut upload);
    assert_eq!(upload.segments_sent(), 3);
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","processing_info":{"state":"pending","check_after_secs":5}}}"#),
            at(10),
        )
        .unwrap();
    assert_eq!(upload.poll_action(at(12)), UploadAction::WaitUntil(at(15)));
    assert!(matches!(send(&mut upload, at(15)), UploadStep::Status(_)));
    assert_eq!(upload.poll_action(at(15)), UploadAction::AwaitResponse);
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","processing_info":{"state":"in_progress","progress_percent":50}}}"#),
            at(16),
        )
        .unwrap();
    // Without check_after_secs, one second.
    assert_eq!(upload.poll_action(at(16)), UploadAction::WaitUntil(at(17)));
    send(&mut upload, at(17));
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","processing_info":{"state":"succeeded","progress_percent":100}}}"#),
            at(18),
        )
        .unwrap();
    assert!(matches!(upload.poll_action(at(18)), UploadAction::Done(_)));
}

#[test]
fn processing_failure_ends_the_upload() {
    let mut upload = video(10, 10);
    initialize(&mut upload);
    append_all(&mut upload);
    upload
        .handle_response(
            json(200, r#"{"data":{"id":"99","processing_info":{"state":"failed","error":{"code":1,"name":"InvalidMedia","message":"Unsupported video format"}}}}"#),
            at(5),
        )
        .unwrap();
    match upload.poll_action(at(5)) {
        UploadAction::Failed(failure) => {
            assert!(matches!(failure, UploadFailure::ProcessingFailed(Some(_))));
            assert_eq!(
                failure.to_string(),
                "X could not process the media: Unsupported video format"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(upload.media_id(), None);
    assert_eq!(
        UploadFailure::ProcessingFailed(None).to_string(),
        "X could not process the media"
    );
}

#[test]
fn processing_that_never_ends_times_out() {
    let mut upload = video(10, 10).with_processing_timeout(Duration::from_secs(30));
    initialize(&mut upload);
    append_all(&mut upload);
    let pending =
        r#"{"data":{"id":"99","processing_info":{"state":"pending","check_after_secs":20}}}"#;
    upload.handle_response(json(200, pending), at(100)).unwrap();
    assert_eq!(
        upload.poll_action(at(100)),
        UploadAction::WaitUntil(at(120))
    );
    send(&mut upload, at(120));
    upload.handle_response(json(200, pending), at(121)).unwrap();
    // The next check is capped at the deadline.
    assert_eq!(
        upload.poll_action(at(121)),
        UploadAction::WaitUntil(at(130))
    );
    send(&mut upload, at(130));
    upload.handle_response(json(200, pending), at(130)).unwrap();
    assert_eq!(
        upload.poll_action(at(130)),
        UploadAction::Failed(UploadFailure::ProcessingTimedOut)
    );
}

#[test]
fn a_failed_append_is_sent_again() {
    let mut upload = video(10, 4);
    initialize(&mut upload);
    let first = send(&mut upload, at(1));
    upload.handle_response(json(204, ""), at(1)).unwrap();
    let second = send(&mut upload, at(1));
    let error = upload
        .handle_response(json(503, r#"{"title":"Service Unavailable"}"#), at(1))
        .unwrap_err();
    assert_eq!(error.status(), 503);
    assert_eq!(send(&mut upload, at(2)), second);
    upload.handle_failure();
    assert_eq!(send(&mut upload, at(3)), second);
    assert_ne!(first, second);
    assert_eq!(upload.segments_sent(), 1);
}

#[test]
fn an_error_status_on_initialize_is_retried() {
    let mut upload = video(10, 10);
    send(&mut upload, at(0));
    assert!(upload.handle_response(json(500, "{}"), at(0)).is_err());
    assert!(matches!(
        send(&mut upload, at(1)),
        UploadStep::Initialize(_)
    ));
}

#[test]
fn a_success_that_makes_no_sense_ends_the_upload() {
    for body in [
        r#"{"data":{"media_key":"3_1"}}"#,
        r#"{"meta":{}}"#,
        "not json",
    ] {
        let mut upload = video(10, 10);
        send(&mut upload, at(0));
        assert!(upload.handle_response(json(200, body), at(0)).is_err());
        match upload.poll_action(at(0)) {
            UploadAction::Failed(UploadFailure::BadResponse { step, .. }) => {
                assert_eq!(step, "initialize")
            }
            other => panic!("{body}: {other:?}"),
        }
        // Nothing more happens.
        assert!(upload.handle_response(json(200, body), at(0)).is_ok());
    }
    let mut upload = video(10, 10);
    initialize(&mut upload);
    append_all(&mut upload);
    assert!(upload.handle_response(json(200, "[]"), at(0)).is_err());
    assert!(matches!(
        upload.poll_action(at(0)),
        UploadAction::Failed(UploadFailure::BadResponse {
            step: "finalize",
            ..
        })
    ));
}

#[test]
fn stray_responses_are_ignored() {
    let mut upload = video(10, 10);
    assert!(upload.handle_response(json(200, "{}"), at(0)).is_ok());
    assert!(matches!(
        send(&mut upload, at(0)),
        UploadStep::Initialize(_)
    ));
}

proptest! {
    #[test]
    fn segments_cover_the_file_exactly_once_in_order(len in 1usize..20_000, chunk in 1usize..3_000) {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let built = ChunkedUpload::new(Bytes::from(bytes.clone()), MediaType::Mp4, BOUNDARY)
            .unwrap()
            .with_chunk_size(chunk);
        let needed = len.div_ceil(chunk) as u64;
        let mut upload = match built {
            Ok(upload) => upload,
            Err(_) => {
                prop_assert!(needed > MAX_SEGMENTS);
                return Ok(());
            }
        };
        prop_assert!(needed <= MAX_SEGMENTS);
        initialize(&mut upload);
        let mut joined = Vec::new();
        let mut expected_index = 0u16;
        loop {
            match send(&mut upload, at(1)) {
                UploadStep::Append(a) => {
                    prop_assert_eq!(a.segment_index(), expected_index);
                    prop_assert!(a.chunk().len() <= chunk);
                    joined.extend_from_slice(a.chunk());
                    expected_index += 1;
                    upload.handle_response(json(204, ""), at(1)).unwrap();
                }
                UploadStep::Finalize(_) => break,
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(u64::from(expected_index), needed);
        prop_assert_eq!(joined, bytes);
    }
}

/// Drives a streamed upload of `file` to its end, reading each segment from `file` when
/// asked; returns the segments sent, in order.
fn stream_all(file: &[u8], chunk_size: usize) -> Vec<(u16, Vec<u8>)> {
    let mut upload = ChunkedUpload::streamed(file.len() as u64, MediaType::Gif, BOUNDARY)
        .unwrap()
        .with_chunk_size(chunk_size)
        .unwrap();
    let now = at(1_000);
    send(&mut upload, now);
    upload
        .handle_response(json(200, r#"{"data":{"id":"9"}}"#), now)
        .unwrap();
    let mut sent = Vec::new();
    loop {
        match upload.poll_action(now) {
            UploadAction::ReadChunk {
                segment,
                offset,
                len,
            } => {
                assert_eq!(u64::from(segment) * chunk_size as u64, offset);
                let start = offset as usize;
                upload
                    .supply_chunk(Bytes::copy_from_slice(&file[start..start + len]))
                    .unwrap();
            }
            UploadAction::Send(UploadStep::Append(append)) => {
                sent.push((append.segment_index(), append.chunk().to_vec()));
                upload.handle_response(json(204, ""), now).unwrap();
            }
            UploadAction::Send(UploadStep::Finalize(_)) => {
                upload
                    .handle_response(json(200, r#"{"data":{"id":"9"}}"#), now)
                    .unwrap();
            }
            UploadAction::Done(media) => {
                assert_eq!(media.id.as_str(), "9");
                return sent;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_streamed_upload_asks_for_one_segment_at_a_time() {
    let file: Vec<u8> = (0..=255u8).cycle().take(2500).collect();
    let sent = stream_all(&file, 1024);
    assert_eq!(
        sent.iter().map(|(i, c)| (*i, c.len())).collect::<Vec<_>>(),
        [(0, 1024), (1, 1024), (2, 452)]
    );
    assert_eq!(sent.concat_chunks(), file);
}

trait Concat {
    fn concat_chunks(&self) -> Vec<u8>;
}

impl Concat for Vec<(u16, Vec<u8>)> {
    fn concat_chunks(&self) -> Vec<u8> {
        self.iter().flat_map(|(_, c)| c.iter().copied()).collect()
    }
}

#[test]
fn a_failed_append_of_a_streamed_upload_resends_the_segment_it_holds() {
    let mut upload = ChunkedUpload::streamed(10, MediaType::Png, BOUNDARY).unwrap();
    let now = at(1);
    send(&mut upload, now);
    upload
        .handle_response(json(200, r#"{"data":{"id":"9"}}"#), now)
        .unwrap();
    assert_eq!(
        upload.poll_action(now),
        UploadAction::ReadChunk {
            segment: 0,
            offset: 0,
            len: 10
        }
    );
    upload
        .supply_chunk(Bytes::from_static(b"0123456789"))
        .unwrap();
    send(&mut upload, now);
    upload.handle_failure();
    // Not asked for again: the segment is held until its append succeeds.
    let UploadStep::Append(again) = send(&mut upload, now) else {
        panic!("an append")
    };
    assert_eq!(&again.chunk()[..], b"0123456789");
}

#[test]
fn a_streamed_upload_refuses_chunks_it_did_not_ask_for_or_that_do_not_fit() {
    // Too large for its category, before any byte is read.
    let e = ChunkedUpload::streamed(6 * 1024 * 1024, MediaType::Png, BOUNDARY).unwrap_err();
    assert!(e.problem.contains("too large"), "{e}");
    assert!(ChunkedUpload::streamed(0, MediaType::Png, BOUNDARY).is_err());
    let mut upload = ChunkedUpload::streamed(12, MediaType::Png, BOUNDARY).unwrap();
    let e = upload
        .supply_chunk(Bytes::from_static(b"early"))
        .unwrap_err();
    assert_eq!(e.parameter, "chunk");
    let now = at(1);
    send(&mut upload, now);
    upload
        .handle_response(json(200, r#"{"data":{"id":"9"}}"#), now)
        .unwrap();
    assert!(matches!(
        upload.poll_action(now),
        UploadAction::ReadChunk { .. }
    ));
    // The file shrank since the upload began.
    let e = upload
        .supply_chunk(Bytes::from_static(b"short"))
        .unwrap_err();
    assert!(e.problem.contains("changed"), "{e}");
    // The boundary inside the segment would break the multipart body.
    let e = upload
        .supply_chunk(Bytes::from(format!("--{BOUNDARY}")))
        .unwrap_err();
    assert_eq!(e.parameter, "boundary");
    upload
        .supply_chunk(Bytes::from_static(b"0123456789ab"))
        .unwrap();
    // A second chunk for the same segment is not asked for.
    assert!(
        upload
            .supply_chunk(Bytes::from_static(b"0123456789ab"))
            .is_err()
    );
}

proptest! {
    #[test]
    fn streamed_and_whole_uploads_send_the_same_segments(
        len in 1usize..20_000,
        chunk_size in 1usize..4096,
    ) {
        prop_assume!((len as u64).div_ceil(chunk_size as u64) <= 1000);
        let file: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let streamed = stream_all(&file, chunk_size);
        let mut whole = ChunkedUpload::new(Bytes::from(file.clone()), MediaType::Gif, BOUNDARY)
            .unwrap()
            .with_chunk_size(chunk_size)
            .unwrap();
        let now = at(1);
        send(&mut whole, now);
        whole.handle_response(json(200, r#"{"data":{"id":"9"}}"#), now).unwrap();
        let mut sent = Vec::new();
        while let UploadAction::Send(UploadStep::Append(append)) = whole.poll_action(now) {
            sent.push((append.segment_index(), append.chunk().to_vec()));
            whole.handle_response(json(204, ""), now).unwrap();
        }
        prop_assert_eq!(streamed, sent);
    }
}
