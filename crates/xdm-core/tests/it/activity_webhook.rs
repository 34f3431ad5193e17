//! Webhook CRC answers, signature checks and the classification of inbound requests.

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Method, StatusCode};
use proptest::prelude::*;
use sha2::Sha256;
use xdm_core::activity::webhook::{
    ConsumerSecret, Inbound, SIGNATURE_HEADER, SignatureError, WebhookError, classify,
    crc_response, verify_signature,
};
use xdm_core::activity::{ActivityEvent, Source};

const SECRET: &str = "example_consumer_secret";

fn secret() -> ConsumerSecret {
    ConsumerSecret::new(SECRET)
}

/// HMAC-SHA256 and base64 computed here, independently of the crate's helper.
fn independent_signature(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn post(body: &[u8], signature: Option<&str>) -> http::Request<Bytes> {
    let mut builder = http::Request::post("/webhooks/x");
    if let Some(signature) = signature {
        builder = builder.header(SIGNATURE_HEADER, signature);
    }
    builder.body(Bytes::copy_from_slice(body)).unwrap()
}

fn signed(body: &[u8]) -> http::Request<Bytes> {
    post(body, Some(&independent_signature(SECRET, body)))
}

#[test]
fn crc_answers_match_the_vector_and_an_independent_hmac() {
    let answer = crc_response(&secret(), "challenge_string");
    assert_eq!(
        answer.response_token,
        "sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="
    );
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"response_token": answer.response_token})
    );
    let response = answer.to_response();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.body(), &answer.body);
    for token in ["", "a", "x+y/z=", "ünïcödé"] {
        assert_eq!(
            crc_response(&secret(), token).response_token,
            independent_signature(SECRET, token.as_bytes())
        );
    }
}

#[test]
fn a_crc_get_is_answered_with_the_decoded_token() {
    let request = http::Request::get("/hook?x=1&crc_token=a%2Bb%2Fc%3D&crc_token=second")
        .body(Bytes::new())
        .unwrap();
    let Inbound::Crc(answer) = classify(&request, &secret()).unwrap() else {
        panic!()
    };
    assert_eq!(
        answer.response_token,
        independent_signature(SECRET, b"a+b/c=")
    );
}

#[test]
fn a_get_without_a_crc_token_is_refused() {
    for uri in ["/hook", "/hook?other=1", "/hook?crc_tokenx=1"] {
        let request = http::Request::get(uri).body(Bytes::new()).unwrap();
        let error = classify(&request, &secret()).unwrap_err();
        assert_eq!(error, WebhookError::MissingCrcToken, "{uri}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn other_methods_are_refused() {
    for method in [Method::PUT, Method::DELETE, Method::HEAD] {
        let request = http::Request::builder()
            .method(method.clone())
            .uri("/hook?crc_token=x")
            .body(Bytes::new())
            .unwrap();
        let error = classify(&request, &secret()).unwrap_err();
        assert_eq!(error, WebhookError::MethodNotAllowed(method));
        assert_eq!(error.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(error.to_string().contains("GET for CRC checks"));
    }
}

#[test]
fn bad_signatures_are_refused_before_the_body_is_read() {
    let body = br#"{"data":{"event_type":"dm.read","payload":{}}}"#;
    let good = independent_signature(SECRET, body);
    let cases: Vec<(Option<String>, SignatureError)> = vec![
        (None, SignatureError::Missing),
        (Some(String::new()), SignatureError::Malformed),
        (
            Some(good.replace("sha256=", "sha1=")),
            SignatureError::Malformed,
        ),
        (
            Some(good.trim_start_matches("sha256=").to_owned()),
            SignatureError::Malformed,
        ),
        (Some("sha256=not base64!".into()), SignatureError::Malformed),
        (Some("sha256=AAAA".into()), SignatureError::Malformed),
        (Some(format!("{good}AAAA")), SignatureError::Malformed),
        (
            Some(independent_signature("another_secret", body)),
            SignatureError::Mismatch,
        ),
        (
            Some(independent_signature(SECRET, b"{}")),
            SignatureError::Mismatch,
        ),
    ];
    for (header, expected) in cases {
        let error = classify(&post(body, header.as_deref()), &secret()).unwrap_err();
        assert_eq!(error, WebhookError::Signature(expected), "{header:?}");
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert!(!error.to_string().contains(SECRET));
    }
    // Hex, as some guides wrongly compute it, is not accepted.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        verify_signature(&secret(), Some(format!("sha256={hex}").as_bytes()), body),
        Err(SignatureError::Malformed)
    );
    // Surrounding whitespace in the header is tolerated.
    assert_eq!(
        verify_signature(&secret(), Some(format!(" {good} ").as_bytes()), body),
        Ok(())
    );
}

#[test]
fn verified_bodies_are_classified() {
    let envelope = br#"{"data":{"event_type":"chat.received","payload":{"encoded_event":"..."}},"meta":{"replay":true}}"#;
    let Inbound::Delivery(delivery) = classify(&signed(envelope), &secret()).unwrap() else {
        panic!()
    };
    assert_eq!(delivery.source, Source::ActivityApi);
    assert!(delivery.replay);
    let [ActivityEvent::Unknown(unknown)] = delivery.events.as_slice() else {
        panic!()
    };
    assert_eq!(unknown.kind, "chat.received");
    assert_eq!(unknown.raw.get(), r#"{"encoded_event":"..."}"#);

    let aaa = br#"{"for_user_id":"1","direct_message_indicate_typing_events":[{"created_timestamp":"1518127183443","sender_id":"2","target":{"recipient_id":"1"}}]}"#;
    let Inbound::AccountActivity(delivery) = classify(&signed(aaa), &secret()).unwrap() else {
        panic!()
    };
    assert!(matches!(delivery.events[0], ActivityEvent::Typing(_)));

    // Signed, but of no known shape: kept whole.
    for body in [
        &b"not json"[..],
        b"[]",
        br#"{"something":"else"}"#,
        br#"{"errors":[{"title":"x"}]}"#,
        br#"{"data":"not an object"}"#,
        br#"{"replay_job_status":"Complete"}"#,
    ] {
        let Inbound::Unknown(kept) = classify(&signed(body), &secret()).unwrap() else {
            panic!("{body:?}")
        };
        assert_eq!(kept, body);
    }
}

proptest! {
    /// A signature verifies its own body and no other: any flipped byte of the body, or of the
    /// signature, is refused.
    #[test]
    fn only_the_signed_bytes_verify(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        in_signature in any::<bool>(),
    ) {
        let secret = secret();
        let signature = independent_signature(SECRET, &body);
        prop_assert_eq!(secret.sign(&body), signature.clone());
        prop_assert_eq!(verify_signature(&secret, Some(signature.as_bytes()), &body), Ok(()));
        if in_signature {
            let mut header = signature.into_bytes();
            let at = flip.index(header.len());
            header[at] ^= 1 << bit;
            prop_assert!(verify_signature(&secret, Some(&header), &body).is_err());
        } else if !body.is_empty() {
            let mut changed = body.clone();
            let at = flip.index(changed.len());
            changed[at] ^= 1 << bit;
            prop_assert_eq!(
                verify_signature(&secret, Some(signature.as_bytes()), &changed),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
