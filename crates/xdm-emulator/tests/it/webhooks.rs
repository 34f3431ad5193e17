//! `/2/webhooks`: registration with CRC against a local receiver, URL rules, listing,
//! revalidation, deletion, signed deliveries with retries, and replay jobs. Signatures and
//! CRC answers are checked here with an HMAC computed independently of the emulator.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;
use xdm_emulator::{DeliveryFault, Emulator, RateLimits};

use crate::common::{Api, Auth, Resp, user};

fn hmac_b64(secret: &str, msg: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(msg);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
    )
}

#[test]
fn reference_vectors_of_the_wire_notes() {
    // Computed vectors: CRC token and a 110-byte body, and its pretty-printed twin.
    assert_eq!(
        hmac_b64("example_consumer_secret", b"challenge_string"),
        "sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="
    );
    let body = br#"{"data":{"event_uuid":"1","filter":{"user_id":"1111111111111111111"},"event_type":"dm.received","payload":{}}}"#;
    assert_eq!(
        hmac_b64("example_consumer_secret", body),
        "sha256=7gIiHTf/YyrMqwrivo/z8QiydUC8+z/68YKR1ctwGhc="
    );
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
    assert_eq!(
        hmac_b64("example_consumer_secret", &pretty),
        "sha256=F3ZfBlmp5B/xvq4gmDv1ykgh6I4t5Ulync0qy2E+eyE="
    );
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CrcMode {
    Good,
    WrongToken,
    Status(u16),
}

#[derive(Debug)]
struct ReceiverState {
    secret: String,
    crc: CrcMode,
    /// POSTs answered 500 before the receiver starts answering 200.
    fail_posts: usize,
    delay: Duration,
    crc_tokens: Vec<String>,
    posts: Vec<(http::HeaderMap, Bytes)>,
}

/// A webhook receiver on loopback written against the wire notes, not the emulator.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(secret: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState {
            secret: secret.to_owned(),
            crc: CrcMode::Good,
            fail_posts: 0,
            delay: Duration::ZERO,
            crc_tokens: Vec::new(),
            posts: Vec::new(),
        }));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks/x", self.addr)
    }

    fn posts(&self) -> Vec<(http::HeaderMap, Bytes)> {
        self.state.lock().unwrap().posts.clone()
    }
}

async fn answer(
    st: Arc<Mutex<ReceiverState>>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let delay = st.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let mut g = st.lock().unwrap();
    let resp = |status: u16, body: String| {
        let mut r = http::Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        Ok(r)
    };
    if parts.method == http::Method::GET {
        let token = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|p| p.strip_prefix("crc_token="))
            .unwrap_or("")
            .to_owned();
        g.crc_tokens.push(token.clone());
        return match g.crc {
            CrcMode::Good => resp(
                200,
                json!({"response_token": hmac_b64(&g.secret, token.as_bytes())}).to_string(),
            ),
            CrcMode::WrongToken => resp(
                200,
                json!({"response_token": hmac_b64("other", token.as_bytes())}).to_string(),
            ),
            CrcMode::Status(s) => resp(s, "{}".into()),
        };
    }
    g.posts.push((parts.headers, body));
    if g.fail_posts > 0 {
        g.fail_posts -= 1;
        return resp(500, "{}".into());
    }
    resp(200, "{}".into())
}

async fn emulator_with(
    receiver_secret_from: impl FnOnce(xdm_emulator::EmulatorBuilder) -> xdm_emulator::EmulatorBuilder,
) -> Emulator {
    receiver_secret_from(
        Emulator::builder()
            .seed_events(10)
            .rate_limits(RateLimits::off())
            .allow_loopback_webhooks(true)
            .webhook_retry_delays([Duration::from_millis(50), Duration::from_millis(50)])
            .webhook_timeouts(Duration::from_millis(500), Duration::from_millis(500)),
    )
    .start()
    .await
    .unwrap()
}

fn app(emu: &Emulator) -> Api {
    Api::new(
        emu,
        Auth::Bearer(emu.credentials().app_bearer_token.clone()),
    )
}

async fn register(emu: &Emulator, url: &str) -> Resp {
    app(emu).post_json("/2/webhooks", json!({"url": url})).await
}

fn title(r: &Resp) -> Value {
    r.json()["title"].clone()
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..300 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn register_runs_a_crc_checked_independently() {
    let emu = emulator_with(|b| b).await;
    let rx = Receiver::start(&emu.credentials().oauth1.consumer_secret).await;
    let r = register(&emu, &rx.url()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let d = r.json()["data"].clone();
    assert_eq!(d["url"], rx.url());
    assert_eq!(d["valid"], true);
    assert!(d["created_at"].is_string());
    let id = d["id"].as_str().unwrap().to_owned();
    let crc = emu.handle().last_crc().unwrap();
    assert!(crc.valid, "{crc:?}");
    assert_eq!(crc.status, Some(200));
    assert_eq!(
        rx.state.lock().unwrap().crc_tokens,
        std::slice::from_ref(&crc.crc_token)
    );
    assert_eq!(emu.handle().webhook_ids(), std::slice::from_ref(&id));

    let l = app(&emu).get("/2/webhooks").await.json();
    assert_eq!(l["meta"]["result_count"], 1);
    assert_eq!(l["data"][0], d);
    let l = app(&emu)
        .get("/2/webhooks?webhook_config.fields=url")
        .await
        .json();
    assert_eq!(l["data"][0], json!({"id": id, "url": rx.url()}));
    assert_eq!(
        app(&emu)
            .get("/2/webhooks?webhook_config.fields=secret")
            .await
            .status,
        400
    );
    assert_eq!(app(&emu).get("/2/webhooks?x=1").await.status, 400);

    // Revalidation: a bad answer marks it invalid, a good one valid again.
    rx.state.lock().unwrap().crc = CrcMode::WrongToken;
    let r = app(&emu)
        .send("PUT", &format!("/2/webhooks/{id}"), None)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(title(&r), "CrcValidationFailed");
    assert_eq!(emu.handle().webhook_valid(&id), Some(false));
    assert!(!emu.handle().last_crc().unwrap().valid);
    rx.state.lock().unwrap().crc = CrcMode::Good;
    let r = app(&emu)
        .send("PUT", &format!("/2/webhooks/{id}"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"data": {"valid": true}}));
    assert_eq!(emu.handle().webhook_valid(&id), Some(true));

    let r = app(&emu).delete(&format!("/2/webhooks/{id}")).await;
    assert_eq!(r.json(), json!({"data": {"deleted": true}}));
    for (m, p) in [
        ("DELETE", format!("/2/webhooks/{id}")),
        ("PUT", format!("/2/webhooks/{id}")),
    ] {
        let r = app(&emu).send(m, &p, None).await;
        assert_eq!(r.status, 400);
        assert_eq!(title(&r), "WebhookIdInvalid");
    }
    assert_eq!(app(&emu).delete("/2/webhooks/abc").await.status, 400);
    assert_eq!(
        app(&emu).get("/2/webhooks").await.json(),
        json!({"data": [], "meta": {"result_count": 0}})
    );
}

#[tokio::test]
async fn failed_crcs_register_nothing() {
    let emu = emulator_with(|b| b).await;
    let rx = Receiver::start(&emu.credentials().oauth1.consumer_secret).await;
    for mode in [
        CrcMode::WrongToken,
        CrcMode::Status(500),
        CrcMode::Status(302),
    ] {
        rx.state.lock().unwrap().crc = mode;
        let r = register(&emu, &rx.url()).await;
        assert_eq!(r.status, 400, "{mode:?}");
        assert_eq!(title(&r), "CrcValidationFailed");
        let crc = emu.handle().last_crc().unwrap();
        assert!(!crc.valid && !crc.reason.is_empty(), "{crc:?}");
    }
    // Nobody listening, and a receiver slower than the CRC timeout.
    let r = register(&emu, "http://127.0.0.1:9/nobody").await;
    assert_eq!(title(&r), "CrcValidationFailed");
    assert_eq!(emu.handle().last_crc().unwrap().status, None);
    rx.state.lock().unwrap().crc = CrcMode::Good;
    rx.state.lock().unwrap().delay = Duration::from_secs(1);
    assert_eq!(
        title(&register(&emu, &rx.url()).await),
        "CrcValidationFailed"
    );
    assert!(emu.handle().webhook_ids().is_empty());
    // An https URL cannot be reached without a target for it.
    let r = register(&emu, "https://example.com/hook").await;
    assert_eq!(title(&r), "CrcValidationFailed");
}

#[tokio::test]
async fn url_rules_cap_and_credentials() {
    let strict = emulator_with(|b| b.allow_loopback_webhooks(false)).await;
    let long = format!("https://example.com/{}", "a".repeat(190));
    for url in [
        "http://example.com/x",
        "https://example.com:8443/x",
        "http://127.0.0.1:8080/x",
        "nonsense",
    ] {
        let r = register(&strict, url).await;
        assert_eq!(r.status, 400, "{url}");
        assert_eq!(title(&r), "UrlValidationFailed", "{url}");
    }
    let r = register(&strict, &long).await;
    assert_eq!(r.status, 400);
    assert_eq!(title(&r), "Invalid Request");
    for body in [
        json!({}),
        json!({"url": 5}),
        json!({"url": ""}),
        json!({"url": "https://a.example/x", "more": 1}),
    ] {
        assert_eq!(
            app(&strict)
                .post_json("/2/webhooks", body.clone())
                .await
                .status,
            400,
            "{body}"
        );
    }
    let user_api = Api::new(&strict, Auth::oauth2(&strict));
    assert_eq!(
        user_api
            .post_json("/2/webhooks", json!({"url": "https://a.example/x"}))
            .await
            .status,
        403
    );
    assert_eq!(user_api.get("/2/webhooks").await.status, 403);
    assert_eq!(
        Api::new(&strict, Auth::None)
            .get("/2/webhooks")
            .await
            .status,
        401
    );

    // An https URL that follows the rules, routed to a local receiver.
    let rx = Receiver::start(&strict.credentials().oauth1.consumer_secret).await;
    let routed = emulator_with(|b| b.allow_loopback_webhooks(false).webhook_target(rx.addr)).await;
    rx.state.lock().unwrap().secret = routed.credentials().oauth1.consumer_secret.clone();
    let r = register(&routed, "https://hooks.example.com/x").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = register(&routed, "https://hooks.example.com/x").await;
    assert_eq!(title(&r), "DuplicateUrlFailed");
    let r = register(&routed, "https://hooks.example.com/y").await;
    assert_eq!(title(&r), "WebhookLimitExceeded");
}

/// An emulator, a receiver, a registered webhook and `me`'s `dm.received` subscription to it.
async fn wired() -> (Emulator, Receiver, String) {
    wired_with(|b| b).await
}

/// [`wired`] with more settings on the emulator.
async fn wired_with(
    configure: impl FnOnce(xdm_emulator::EmulatorBuilder) -> xdm_emulator::EmulatorBuilder,
) -> (Emulator, Receiver, String) {
    let emu = emulator_with(configure).await;
    let rx = Receiver::start(&emu.credentials().oauth1.consumer_secret).await;
    let id = register(&emu, &rx.url()).await.json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = user(&emu, "me");
    let r = Api::new(&emu, Auth::oauth2(&emu))
        .post_json(
            "/2/activity/subscriptions",
            json!({"event_type": "dm.received", "filter": {"user_id": me}, "webhook_id": id}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["subscription"]["webhook_id"], id.as_str());
    (emu, rx, id)
}

#[tokio::test]
async fn deliveries_are_signed_over_the_exact_bytes() {
    let (emu, rx, id) = wired().await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let dm = emu.handle().send_dm(&alice, &me, "hello hook").unwrap();
    wait_for(|| rx.posts().len() == 1).await;
    let (headers, body) = rx.posts().remove(0);
    let secret = &emu.credentials().oauth1.consumer_secret;
    assert_eq!(
        headers["x-twitter-webhooks-signature"].to_str().unwrap(),
        hmac_b64(secret, &body)
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"]["event_type"], "dm.received");
    assert_eq!(
        v["data"]["payload"]["direct_message_events"][0]["id"],
        dm.as_str()
    );
    let log = emu.handle().webhook_deliveries(&id);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].body.as_bytes(), &body[..]);
    wait_for(|| emu.handle().webhook_deliveries(&id)[0].delivered()).await;
    assert!(emu.handle().webhook_deliveries("1").is_empty());
    // Webhook subscriptions do not reach the stream's log: a redelivery goes to the webhook.
    emu.handle().inject_delivery_fault(DeliveryFault::Redeliver);
    emu.handle().send_dm(&alice, &me, "twice").unwrap();
    wait_for(|| rx.posts().len() == 3).await;
    let ids: Vec<Value> = rx.posts()[1..]
        .iter()
        .map(|(_, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["data"]["payload"]["direct_message_events"]
                [0]["id"]
                .clone()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    let (emu, rx, id) = wired().await;
    rx.state.lock().unwrap().fail_posts = 2;
    emu.handle()
        .send_dm(&user(&emu, "alice"), &user(&emu, "me"), "retry me")
        .unwrap();
    wait_for(|| rx.posts().len() == 3).await;
    let h = emu.handle();
    wait_for(|| h.webhook_deliveries(&id)[0].attempts.len() == 3).await;
    assert_eq!(
        h.webhook_deliveries(&id)[0].attempts,
        [Some(500), Some(500), Some(200)]
    );
    let bodies: Vec<Bytes> = rx.posts().into_iter().map(|(_, b)| b).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "each retry sends the same bytes"
    );
    // Past the schedule (two retries here) the delivery is given up.
    rx.state.lock().unwrap().fail_posts = 10;
    h.send_dm(&user(&emu, "alice"), &user(&emu, "me"), "lost")
        .unwrap();
    wait_for(|| h.webhook_deliveries(&id)[1].attempts.len() == 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.webhook_deliveries(&id)[1].attempts, [Some(500); 3]);
    assert!(!h.webhook_deliveries(&id)[1].delivered());
    // An invalid webhook receives nothing.
    rx.state.lock().unwrap().crc = CrcMode::Status(503);
    app(&emu)
        .send("PUT", &format!("/2/webhooks/{id}"), None)
        .await;
    let before = rx.posts().len();
    h.send_dm(&user(&emu, "alice"), &user(&emu, "me"), "not sent")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.posts().len(), before);
    assert_eq!(h.webhook_deliveries(&id).len(), 2);
}

#[tokio::test]
async fn injected_delivery_failures_answer_in_the_webhooks_place() {
    let (emu, rx, id) = wired().await;
    let h = emu.handle();
    h.fail_webhook_deliveries(2, 503);
    h.send_dm(
        &user(&emu, "alice"),
        &user(&emu, "me"),
        "after two failures",
    )
    .unwrap();
    wait_for(|| h.webhook_deliveries(&id)[0].attempts.len() == 3).await;
    assert_eq!(
        h.webhook_deliveries(&id)[0].attempts,
        [Some(503), Some(503), Some(200)]
    );
    assert_eq!(
        rx.posts().len(),
        1,
        "the failed attempts never reached the webhook"
    );
    // The same through the console's control API, seen in its activity view.
    let (emu, rx, id) = wired_with(|b| b.console(true)).await;
    let me = user(&emu, "me");
    let console = |method: &'static str, path: &'static str, body: Option<Value>| {
        let url = format!("{}{path}", emu.base_url());
        async move {
            crate::common::raw(
                method,
                &url,
                &[],
                body.map(|b| ("application/json", b.to_string().into_bytes())),
            )
            .await
        }
    };
    let r = console(
        "POST",
        "/console/api/webhooks/fail",
        Some(json!({"count": 1, "status": 500})),
    )
    .await;
    assert_eq!(r.status, 201);
    let dm = emu
        .handle()
        .send_dm(&user(&emu, "alice"), &me, "once failed")
        .unwrap();
    let h = emu.handle();
    wait_for(|| {
        h.webhook_deliveries(&id)
            .first()
            .is_some_and(|d| d.attempts.len() == 2)
    })
    .await;
    let v = console("GET", "/console/api/activity", None).await.json();
    let hook = &v["webhooks"][0];
    assert_eq!(hook["id"], id.as_str());
    assert_eq!(hook["url"], rx.url().as_str());
    assert_eq!(hook["valid"], true);
    let d = &hook["deliveries"][0];
    assert_eq!(d["status"], 200);
    assert_eq!(d["attempt"], 2);
    assert_eq!(d["event_ids"], json!([dm]));
    assert!(d["time_ms"].as_u64().unwrap() > 0);
    assert_eq!(v["subscriptions"].as_array().unwrap().len(), 1);
}

fn minute(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .strftime("%Y%m%d%H%M")
        .to_string()
}

#[tokio::test]
async fn replay_resends_the_window_then_reports_completion() {
    let (emu, rx, id) = wired().await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let dm = emu.handle().send_dm(&alice, &me, "replay me").unwrap();
    wait_for(|| rx.posts().len() == 1).await;
    let now = jiff::Timestamp::now().as_millisecond();
    let replay = |from: String, to: String, wid: &str| json!({"webhook_id": wid, "from_date": from, "to_date": to});
    let a = app(&emu);
    let r = a
        .post_json(
            "/2/webhooks/replay",
            replay(minute(now - 60_000), minute(now), &id),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let job = r.json()["data"]["job_id"].as_str().unwrap().to_owned();
    assert!(r.json()["data"]["created_at"].is_string());
    wait_for(|| rx.posts().len() == 3).await;
    let posts = rx.posts();
    let secret = &emu.credentials().oauth1.consumer_secret;
    let again: Value = serde_json::from_slice(&posts[1].1).unwrap();
    assert_eq!(again["meta"], json!({"replay": true}));
    assert_eq!(
        again["data"]["payload"]["direct_message_events"][0]["id"],
        dm.as_str()
    );
    let first: Value = serde_json::from_slice(&posts[0].1).unwrap();
    assert_eq!(again["data"], first["data"]);
    let done: Value = serde_json::from_slice(&posts[2].1).unwrap();
    assert_eq!(
        done,
        json!({"replay_job_status": {"webhook_id": id, "job_state": "Complete", "job_state_description": "Job completed successfully", "job_id": job}})
    );
    for (h, b) in &posts {
        assert_eq!(
            h["x-twitter-webhooks-signature"].to_str().unwrap(),
            hmac_b64(secret, b)
        );
    }
    let log = emu.handle().webhook_deliveries(&id);
    assert_eq!(
        log.iter().map(|d| d.replay).collect::<Vec<_>>(),
        [false, true, true]
    );

    // One job at a time: a slow receiver keeps the first running.
    rx.state.lock().unwrap().delay = Duration::from_millis(300);
    let body = replay(minute(now - 60_000), minute(now), &id);
    assert_eq!(
        a.post_json("/2/webhooks/replay", body.clone()).await.status,
        200
    );
    let r = a.post_json("/2/webhooks/replay", body.clone()).await;
    assert_eq!(r.status, 409);
    assert_eq!(title(&r), "ReplayConflictError");
    // Replayed deliveries are not replayed again.
    wait_for(|| rx.posts().len() == 5).await;
    assert_eq!(
        emu.handle()
            .webhook_deliveries(&id)
            .iter()
            .filter(|d| !d.replay)
            .count(),
        1
    );
}

#[tokio::test]
async fn replay_windows_are_checked() {
    let (emu, _rx, id) = wired().await;
    let now = jiff::Timestamp::now().as_millisecond();
    let a = app(&emu);
    let day = 24 * 60 * 60 * 1000;
    for (from, to, wid, reason) in [
        (
            minute(now - 60_000),
            minute(now - 120_000),
            id.as_str(),
            "QueryParamInvalid",
        ),
        (
            minute(now - 60_000),
            minute(now + 600_000),
            id.as_str(),
            "QueryParamInvalid",
        ),
        (
            minute(now - day - 600_000),
            minute(now - 60_000),
            id.as_str(),
            "QueryParamInvalid",
        ),
        (
            "2026130112".into(),
            minute(now),
            id.as_str(),
            "Invalid Request",
        ),
        (
            "202613011200".into(),
            minute(now),
            id.as_str(),
            "Invalid Request",
        ),
        (minute(now - 60_000), minute(now), "123", "WebhookIdInvalid"),
        (minute(now - 60_000), minute(now), "x", "Invalid Request"),
    ] {
        let r = a
            .post_json(
                "/2/webhooks/replay",
                json!({"webhook_id": wid, "from_date": from, "to_date": to}),
            )
            .await;
        assert_eq!(r.status, 400, "{from} {to} {wid}");
        assert_eq!(title(&r), reason, "{from} {to} {wid}");
    }
    for body in [
        json!({"webhook_id": id, "from_date": minute(now - 60_000)}),
        json!({"webhook_id": id, "from_date": minute(now - 60_000), "to_date": minute(now), "x": 1}),
        json!({"webhook_id": id, "from_date": 202601011200u64, "to_date": minute(now)}),
    ] {
        assert_eq!(
            a.post_json("/2/webhooks/replay", body.clone()).await.status,
            400,
            "{body}"
        );
    }
    let user_api = Api::new(&emu, Auth::oauth2(&emu));
    let r = user_api
        .post_json(
            "/2/webhooks/replay",
            json!({"webhook_id": id, "from_date": minute(now - 60_000), "to_date": minute(now)}),
        )
        .await;
    assert_eq!(r.status, 403);
}
