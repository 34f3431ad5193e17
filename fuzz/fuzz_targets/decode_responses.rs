//! Every response decoder of `xdm-core`, on arbitrary bytes with an arbitrary status: each must
//! return a value or a typed error, never panic, and keep its error message short.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use xdm_core::Endpoint;
use xdm_core::endpoints::{
    BlockUser, CreateGroup, DeleteEvent, DownloadMedia, GetEvent, GetMe, ListEvents, Message,
    SendToParticipant, UnblockUser,
};
use xdm_core::ids::{EventId, MediaId, ResourceId, UserId};
use xdm_core::rate_limit::RateLimitSnapshot;
use xdm_core::response::decode_error;
use xdm_core::upload::{FinalizeUpload, UploadStatus};

fn response(status: u16, body: &[u8]) -> http::Response<Bytes> {
    let mut r = http::Response::new(Bytes::copy_from_slice(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r
}

fn check<E: Endpoint>(e: &E, status: u16, body: &[u8]) {
    if let Err(error) = e.decode_response(response(status, body)) {
        assert!(error.to_string().len() < 2_000);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 100 + u16::from_le_bytes(*head) % 500;
    let text = Message::text("x").expect("valid");
    check(&ListEvents::new(), status, body);
    check(
        &GetEvent::new(EventId::try_from(1).expect("valid")),
        status,
        body,
    );
    check(
        &DeleteEvent::new(EventId::try_from(1).expect("valid")),
        status,
        body,
    );
    check(
        &SendToParticipant::new(UserId::try_from(2).expect("valid"), text.clone()),
        status,
        body,
    );
    check(
        &CreateGroup::new(
            [
                UserId::try_from(2).expect("valid"),
                UserId::try_from(3).expect("valid"),
            ],
            text,
        )
        .expect("valid"),
        status,
        body,
    );
    check(
        &BlockUser::new(UserId::try_from(2).expect("valid")),
        status,
        body,
    );
    check(
        &UnblockUser::new(UserId::try_from(2).expect("valid")),
        status,
        body,
    );
    check(
        &DownloadMedia::new(
            EventId::try_from(1).expect("valid"),
            MediaId::try_from(2).expect("valid"),
            ResourceId::parse("a.jpg").expect("valid"),
        ),
        status,
        body,
    );
    check(
        &FinalizeUpload::new(MediaId::try_from(1).expect("valid")),
        status,
        body,
    );
    check(
        &UploadStatus::new(MediaId::try_from(1).expect("valid")),
        status,
        body,
    );
    check(&GetMe::new(), status, body);
    let error = decode_error(response(status, body));
    assert!(error.to_string().len() < 2_000);
    // The same bytes as rate-limit header values.
    if let Ok(value) = http::HeaderValue::from_bytes(body) {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-rate-limit-limit", value.clone());
        headers.insert("x-rate-limit-remaining", value.clone());
        headers.insert("x-rate-limit-reset", value);
        let _ = RateLimitSnapshot::from_headers(&headers).retry_reset();
    }
});
