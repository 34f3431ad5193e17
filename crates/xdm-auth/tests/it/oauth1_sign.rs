//! OAuth 1.0a signatures: known answers, cross-checks and properties.

use std::time::{Duration, SystemTime};

use crate::verify::{self, VerifyError};
use bytes::Bytes;
use http::Method;
use proptest::prelude::*;
use xdm_auth::AuthorizeError;
use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Authorizer, TokenCredentials};
use xdm_auth::secret::{ConsumerSecret, TokenSecret};
use xdm_core::{Authorize, Delivery, EndpointGroup, EndpointInfo, Scope};

use crate::support::{at, reference_hmac};

fn header(request: &http::Request<Bytes>) -> String {
    request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn signature(request: &http::Request<Bytes>) -> String {
    let params = verify::parse_authorization(&header(request)).unwrap();
    params.signature
}

mod x_example {
    pub(super) const CONSUMER_KEY: &str = "xvz1evFS4wEEPTGEFPHBog";
    pub(super) const CONSUMER_SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
    pub(super) const TOKEN: &str = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb";
    pub(super) const TOKEN_SECRET: &str = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
    pub(super) const NONCE: &str = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
    pub(super) const TIMESTAMP: u64 = 1318622958;
    pub(super) const BODY: &str =
        "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21";
}

fn x_authorizer() -> OAuth1Authorizer {
    use x_example::*;
    OAuth1Authorizer::with_fixed_nonce(
        ConsumerCredentials::new(CONSUMER_KEY, CONSUMER_SECRET),
        TokenCredentials::new(TOKEN, TOKEN_SECRET),
        NONCE,
        TIMESTAMP,
    )
}

fn x_request() -> http::Request<Bytes> {
    http::Request::post("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(x_example::BODY.as_bytes()))
        .unwrap()
}

#[test]
fn x_documented_example() {
    let mut request = x_request();
    x_authorizer().authorize(&mut request, at(0)).unwrap();
    assert_eq!(signature(&request), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    let header = header(&request);
    assert!(header.contains(r#"oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D""#));
    assert!(header.contains(r#"oauth_version="1.0""#));

    // X's documented base string, hashed without the crate.
    let base = "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521";
    let key = format!("{}&{}", x_example::CONSUMER_SECRET, x_example::TOKEN_SECRET);
    assert_eq!(reference_hmac(&key, base), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");

    // And the server side agrees.
    let protocol = verify::verify_request(
        &request,
        "https://api.twitter.com",
        &ConsumerSecret::new(x_example::CONSUMER_SECRET),
        Some(&TokenSecret::new(x_example::TOKEN_SECRET)),
    )
    .unwrap();
    let params = verify::request_parameters(&request, &protocol);
    assert_eq!(
        verify::signature_base_string(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &params
        ),
        base
    );
}

/// RFC 5849 §1.2: the request for the photo, signed with the token credentials.
#[test]
fn rfc5849_section_1_2_example() {
    let authorizer = OAuth1Authorizer::with_fixed_nonce(
        ConsumerCredentials::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44"),
        TokenCredentials::new("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"),
        "chapoH",
        137131202,
    )
    .oauth_version(false);
    let mut request =
        http::Request::get("http://photos.example.net/photos?file=vacation.jpg&size=original")
            .body(Bytes::new())
            .unwrap();
    authorizer.authorize(&mut request, at(0)).unwrap();

    let base = "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal";
    let independent = reference_hmac("kd94hf93k423kf44&pfkkdhi9sl3r4s00", base);
    assert_eq!(independent, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    assert_eq!(signature(&request), independent);
    assert!(!header(&request).contains("oauth_version"));
}

/// RFC 5849 §3.4.1: the base string of a request with a query, a form body, repeated names
/// and escapes, as the RFC spells it out. The RFC gives no secrets for it, so the signature is
/// checked against the HMAC of that literal string under secrets of our own.
#[test]
fn rfc5849_section_3_4_1_base_string() {
    let literal = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
    let authorizer = OAuth1Authorizer::with_fixed_nonce(
        ConsumerCredentials::new("9djdj82h48djs9d2", "consumer secret"),
        TokenCredentials::new("kkk9d7dh3k39sjv7", "token&secret"),
        "7d8f3e4a",
        137131201,
    )
    .oauth_version(false);
    let mut request =
        http::Request::post("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(b"c2&a3=2+q"))
            .unwrap();
    authorizer.authorize(&mut request, at(0)).unwrap();
    assert_eq!(
        signature(&request),
        reference_hmac("consumer%20secret&token%26secret", literal)
    );

    let protocol = verify::parse_authorization(&header(&request)).unwrap();
    let params = verify::request_parameters(&request, &protocol);
    assert_eq!(
        verify::signature_base_string("POST", "http://example.com/request", &params),
        literal
    );
}

#[test]
fn the_url_sent_is_the_url_signed() {
    let authorizer = x_authorizer();
    let mut request =
        http::Request::get("HTTPS://API.X.com:443/2/dm_events?dm_event.fields=id%2Ctext")
            .body(Bytes::new())
            .unwrap();
    authorizer.authorize(&mut request, at(0)).unwrap();
    assert_eq!(
        request.uri().to_string(),
        "https://api.x.com/2/dm_events?dm_event.fields=id%2Ctext"
    );
    verify::verify_request(
        &request,
        "https://api.x.com",
        &ConsumerSecret::new(x_example::CONSUMER_SECRET),
        Some(&TokenSecret::new(x_example::TOKEN_SECRET)),
    )
    .unwrap();

    let mut request = http::Request::get("http://LocalHost:8080/2/x")
        .body(Bytes::new())
        .unwrap();
    authorizer.authorize(&mut request, at(0)).unwrap();
    assert_eq!(request.uri().to_string(), "http://localhost:8080/2/x");
    verify::verify_request(
        &request,
        "http://localhost:8080",
        &ConsumerSecret::new(x_example::CONSUMER_SECRET),
        Some(&TokenSecret::new(x_example::TOKEN_SECRET)),
    )
    .unwrap();
}

#[test]
fn nonces_are_random_and_timestamps_come_from_now() {
    let authorizer = OAuth1Authorizer::new(
        ConsumerCredentials::new("ck", "cs"),
        TokenCredentials::new("t", "ts"),
    );
    let sign = |now: SystemTime| {
        let mut r = http::Request::get("https://api.x.com/2/dm_events")
            .body(Bytes::new())
            .unwrap();
        authorizer.authorize(&mut r, now).unwrap();
        verify::parse_authorization(&header(&r)).unwrap()
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_123_900);
    let (a, b) = (sign(now), sign(now));
    assert_ne!(a.nonce, b.nonce);
    assert!(a.nonce.len() >= 32);
    assert_eq!(a.timestamp, 1_700_000_123);
}

#[test]
fn errors_before_signing() {
    let authorizer = OAuth1Authorizer::new(
        ConsumerCredentials::new("ck", "cs"),
        TokenCredentials::new("t", "ts"),
    );
    let mut relative = http::Request::get("/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        authorizer.authorize(&mut relative, at(0)),
        Err(AuthorizeError::RelativeUri)
    );

    let mut reserved = http::Request::get("https://api.x.com/2/x?oauth_token=abc")
        .body(Bytes::new())
        .unwrap();
    let e = authorizer.authorize(&mut reserved, at(0)).unwrap_err();
    assert_eq!(
        e,
        AuthorizeError::ReservedParameter {
            name: "oauth_token".into()
        }
    );

    let mut form = http::Request::post("https://api.x.com/2/x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"oauth_callback=x"))
        .unwrap();
    assert!(matches!(
        authorizer.authorize(&mut form, at(0)),
        Err(AuthorizeError::ReservedParameter { .. })
    ));

    for before in [
        SystemTime::UNIX_EPOCH,
        SystemTime::UNIX_EPOCH - Duration::from_secs(5),
    ] {
        let mut r = http::Request::get("https://api.x.com/2/x")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            authorizer.authorize(&mut r, before),
            Err(AuthorizeError::ClockBeforeEpoch)
        );
        assert!(r.headers().get("authorization").is_none());
    }
}

#[test]
fn media_download_refuses_oauth1() {
    let authorizer = x_authorizer();
    let info = |oauth1| {
        let i = EndpointInfo::new(
            Method::GET,
            "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}",
            EndpointGroup::MediaDownload,
            &[Scope::DmRead],
            Delivery::Idempotent,
        );
        if oauth1 { i } else { i.without_oauth1() }
    };
    let mut request = http::Request::get("https://api.x.com/2/dm_conversations/media/1/2/3")
        .extension(info(false))
        .body(Bytes::new())
        .unwrap();
    let e = authorizer.authorize(&mut request, at(0)).unwrap_err();
    assert!(matches!(e, AuthorizeError::OAuth1NotAccepted { .. }));
    assert_eq!(
        e.to_string(),
        "GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id} does not accept \
         OAuth 1.0a user tokens; use an OAuth 2.0 user token"
    );
    assert!(request.headers().get("authorization").is_none());

    let mut request = http::Request::get("https://api.x.com/2/dm_events")
        .extension(info(true))
        .body(Bytes::new())
        .unwrap();
    authorizer.authorize(&mut request, at(0)).unwrap();
}

#[test]
fn verification_failures() {
    let mut request = x_request();
    let consumer = ConsumerSecret::new(x_example::CONSUMER_SECRET);
    let token = TokenSecret::new(x_example::TOKEN_SECRET);
    let origin = "https://api.twitter.com";
    assert_eq!(
        verify::verify_request(&request, origin, &consumer, Some(&token)),
        Err(VerifyError::MissingHeader)
    );
    x_authorizer().authorize(&mut request, at(0)).unwrap();
    *request.body_mut() = Bytes::from_static(b"status=tampered");
    assert_eq!(
        verify::verify_request(&request, origin, &consumer, Some(&token)),
        Err(VerifyError::BadSignature)
    );
    for (value, expected) in [
        ("Bearer x", VerifyError::MissingHeader),
        (
            "OAuth a",
            VerifyError::Malformed {
                reason: "a parameter has no `=`",
            },
        ),
        (
            "OAuth a=b",
            VerifyError::Malformed {
                reason: "a value is not quoted",
            },
        ),
        (
            "OAuth a=\"%FF\"",
            VerifyError::Malformed {
                reason: "a value is not UTF-8",
            },
        ),
        (
            "OAuth a=\"1\", a=\"2\"",
            VerifyError::Malformed {
                reason: "a parameter is repeated",
            },
        ),
        (
            "OAuth a=\"1\"",
            VerifyError::MissingParameter {
                name: "oauth_consumer_key",
            },
        ),
    ] {
        assert_eq!(verify::parse_authorization(value), Err(expected), "{value}");
    }
    let bad_time = r#"OAuth oauth_consumer_key="k", oauth_signature_method="HMAC-SHA1", oauth_timestamp="soon", oauth_nonce="n", oauth_signature="s""#;
    assert_eq!(
        verify::parse_authorization(bad_time),
        Err(VerifyError::Malformed {
            reason: "oauth_timestamp is not a number"
        })
    );
    let plaintext = r#"OAuth oauth_consumer_key="k", oauth_signature_method="PLAINTEXT", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s""#;
    let mut r = http::Request::get("https://api.x.com/")
        .header("authorization", plaintext)
        .body(Bytes::new())
        .unwrap();
    r.headers_mut()
        .insert("authorization", plaintext.parse().unwrap());
    assert_eq!(
        verify::verify_request(&r, "https://api.x.com", &consumer, None),
        Err(VerifyError::UnsupportedSignatureMethod {
            method: "PLAINTEXT".into()
        })
    );
}

fn signed(method: &str, url: &str, body: Option<(&str, Bytes)>) -> String {
    let mut builder = http::Request::builder().method(method).uri(url);
    let body = match body {
        Some((content_type, bytes)) => {
            builder = builder.header("content-type", content_type);
            bytes
        }
        None => Bytes::new(),
    };
    let mut request = builder.body(body).unwrap();
    x_authorizer().authorize(&mut request, at(0)).unwrap();
    signature(&request)
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

proptest! {
    #[test]
    fn signing_is_deterministic_and_verifiable(value in ".*", path in "[a-z]{1,8}") {
        let url = format!("https://api.x.com/2/{path}?q={}", enc(&value));
        prop_assert_eq!(signed("GET", &url, None), signed("GET", &url, None));
        let mut request = http::Request::get(url.as_str()).body(Bytes::new()).unwrap();
        x_authorizer().authorize(&mut request, at(0)).unwrap();
        let ok = verify::verify_request(
            &request,
            "https://api.x.com",
            &ConsumerSecret::new(x_example::CONSUMER_SECRET),
            Some(&TokenSecret::new(x_example::TOKEN_SECRET)),
        );
        prop_assert!(ok.is_ok());
    }

    #[test]
    fn any_names_and_values_verify(
        pairs in proptest::collection::vec(("[a-zA-Z0-9 @!*%~._-]{1,6}", ".{0,8}"), 0..6),
        form in proptest::collection::vec(("[a-z@ ]{1,4}", "[ -~]{0,8}"), 0..4),
    ) {
        prop_assume!(pairs.iter().chain(&form).all(|(k, _)| !k.starts_with("oauth_")));
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let url = format!("https://api.x.com/2/x?{}", query.join("&"));
        let mut request = http::Request::post(url.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(body.join("&")))
            .unwrap();
        x_authorizer().authorize(&mut request, at(0)).unwrap();
        let ok = verify::verify_request(
            &request,
            "https://api.x.com",
            &ConsumerSecret::new(x_example::CONSUMER_SECRET),
            Some(&TokenSecret::new(x_example::TOKEN_SECRET)),
        );
        prop_assert!(ok.is_ok(), "{:?}", ok);
    }

    #[test]
    fn any_change_changes_the_signature(
        a in "[ -~]{0,12}",
        b in "[ -~]{0,12}",
        form_a in "[ -~]{0,12}",
        form_b in "[ -~]{0,12}",
    ) {
        let form = |v: &str| Some((
            "application/x-www-form-urlencoded",
            Bytes::from(format!("text={}", enc(v))),
        ));
        let base = signed("POST", &format!("https://api.x.com/2/x?q={}", enc(&a)), form(&form_a));
        if a != b {
            let other = signed("POST", &format!("https://api.x.com/2/x?q={}", enc(&b)), form(&form_a));
            prop_assert_ne!(&base, &other);
        }
        if form_a != form_b {
            let other = signed("POST", &format!("https://api.x.com/2/x?q={}", enc(&a)), form(&form_b));
            prop_assert_ne!(&base, &other);
        }
        let put = signed("PUT", &format!("https://api.x.com/2/x?q={}", enc(&a)), form(&form_a));
        prop_assert_ne!(&base, &put);
        let path = signed("POST", &format!("https://api.x.com/2/y?q={}", enc(&a)), form(&form_a));
        prop_assert_ne!(&base, &path);
        let host = signed("POST", &format!("https://api.x.co/2/x?q={}", enc(&a)), form(&form_a));
        prop_assert_ne!(&base, &host);
        let name = signed("POST", &format!("https://api.x.com/2/x?r={}", enc(&a)), form(&form_a));
        prop_assert_ne!(&base, &name);
    }

    #[test]
    fn json_bodies_are_not_signed(text_a in ".*", text_b in ".*") {
        let json = |t: &str| Some((
            "application/json",
            Bytes::from(serde_json::json!({ "text": t }).to_string()),
        ));
        let url = "https://api.x.com/2/dm_conversations/with/1/messages";
        prop_assert_eq!(signed("POST", url, json(&text_a)), signed("POST", url, json(&text_b)));
        prop_assert_eq!(signed("POST", url, json(&text_a)), signed("POST", url, None));
    }
}
