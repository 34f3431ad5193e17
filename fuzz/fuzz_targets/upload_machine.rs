//! The chunked-upload state machine, fed arbitrary answers: no panic, appends in order, and a
//! bounded number of steps once answers run out.
#![no_main]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use xdm_core::RequestContext;
use xdm_core::upload::{ChunkedUpload, MediaType, UploadAction, UploadStep};

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first() else {
        return;
    };
    let media = Bytes::from(vec![7u8; usize::from(*len) + 1]);
    let Ok(upload) = ChunkedUpload::new(media, MediaType::Mp4, "b0undary") else {
        return;
    };
    let Ok(upload) = upload.with_chunk_size(16) else {
        return;
    };
    let mut upload = upload.with_processing_timeout(Duration::from_secs(30));
    let ctx = RequestContext::default();
    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut answers = rest.split(|b| *b == 0xFF);
    for _ in 0..5_000 {
        match upload.poll_action(now) {
            UploadAction::Send(step) => {
                if let UploadStep::Append(a) = &step {
                    assert_eq!(u64::from(a.segment_index()), upload.segments_sent());
                }
                assert!(step.build_request(&ctx).is_ok());
                let body: &[u8] = answers
                    .next()
                    .unwrap_or(br#"{"data":{"id":"5","processing_info":{"state":"succeeded"}}}"#);
                let (status, body) = match body.split_first() {
                    Some((s, b)) if *s < 8 => (
                        [200u16, 201, 204, 400, 429, 500, 503, 401][usize::from(*s)],
                        b,
                    ),
                    _ => (200, body),
                };
                let mut response = http::Response::new(Bytes::copy_from_slice(body));
                *response.status_mut() = http::StatusCode::from_u16(status).expect("valid");
                let _ = upload.handle_response(response, now);
            }
            UploadAction::WaitUntil(t) => {
                assert!(t > now);
                now = t;
            }
            UploadAction::Done(_) | UploadAction::Failed(_) => return,
            _ => upload.handle_failure(),
        }
        now += Duration::from_millis(10);
    }
    panic!("the upload did not finish");
});
