use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdm_emulator::{Emulator, Fault, FaultKind, ManualClock, RateLimits};

use crate::common::{Api, Auth, Resp, emulator, raw, user};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The download path for a ton.twitter.com media URL.
fn download_path(url: &str) -> String {
    let rest = url
        .strip_prefix("https://ton.twitter.com/1.1/ton/data/dm/")
        .expect(url);
    format!("/2/dm_conversations/media/{rest}")
}

async fn media_url(api: &Api, event_id: &str) -> String {
    let v = api
        .get(&format!(
            "/2/dm_events/{event_id}?expansions=attachments.media_keys&media.fields=url,type"
        ))
        .await
        .json();
    v["includes"]["media"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn download_seeded_media() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let ev = emu
        .handle()
        .events()
        .into_iter()
        .find(|e| !e.media_keys.is_empty())
        .unwrap();
    let url = media_url(&api, &ev.id).await;
    let path = download_path(&url);
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert!(r.body.starts_with(b"\xFF\xD8"));
    // OAuth 1.0a is not accepted here.
    let r = Api::new(&emu, Auth::oauth1(&emu)).get(&path).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["type"],
        "https://api.twitter.com/2/problems/unsupported-authentication"
    );
    // dm.read is required.
    let me = user(&emu, "me");
    let t = emu
        .handle()
        .issue_oauth2_token(&me, &["dm.write", "tweet.read", "users.read"])
        .unwrap();
    assert_eq!(Api::new(&emu, Auth::Bearer(t)).get(&path).await.status, 403);
    // Wrong resource, wrong media, unknown event, and someone outside the conversation.
    let (dm, rest) = path
        .trim_start_matches("/2/dm_conversations/media/")
        .split_once('/')
        .unwrap();
    let (media, _res) = rest.split_once('/').unwrap();
    for p in [
        format!("/2/dm_conversations/media/{dm}/{media}/other.jpg"),
        format!("/2/dm_conversations/media/{dm}/1/x.jpg"),
        format!("/2/dm_conversations/media/1/{media}/x.jpg"),
        format!("/2/dm_conversations/media/abc/{media}/x.jpg"),
    ] {
        assert_eq!(api.get(&p).await.status, 404, "{p}");
    }
    let bob = user(&emu, "bob");
    let t = emu.handle().issue_oauth2_token(&bob, &["dm.read"]).unwrap();
    assert_eq!(Api::new(&emu, Auth::Bearer(t)).get(&path).await.status, 404);
    assert_eq!(api.get(&format!("{path}?x=1")).await.status, 400);
}

#[tokio::test]
async fn one_shot_upload_then_send_then_download() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let bytes = b"\x89PNG\r\n\x1a\nfake-png-bytes".to_vec();
    let r = upload_image(&api, &bytes, "image/png").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let media_id = v["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["data"]["media_key"], format!("3_{media_id}"));
    assert_eq!(v["data"]["size"], bytes.len());
    let r = send_to_alice(&emu, &api, &media_id).await;
    assert_eq!(r.status, 201);
    let event_id = r.json()["data"]["dm_event_id"].as_str().unwrap().to_owned();
    let ev = emu.handle().event(&event_id).unwrap();
    assert_eq!(ev.media_keys, vec![format!("3_{media_id}")]);
    assert_eq!(ev.text, None);
    let url = media_url(&api, &event_id).await;
    assert!(
        url.contains(&format!("/{event_id}/{media_id}/")) && url.ends_with(".png"),
        "{url}"
    );
    let r = api.get(&download_path(&url)).await;
    assert_eq!(r.body.as_ref(), bytes.as_slice());
    assert_eq!(r.header("content-type"), Some("image/png"));
}

#[tokio::test]
async fn a_deleted_message_keeps_its_media_for_the_recipient() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let r = upload_image(&api, b"\xFF\xD8 jpeg", "image/jpeg").await;
    let media_id = r.json()["data"]["id"].as_str().unwrap().to_owned();
    let alice = user(&emu, "alice");
    let r = send_to_alice(&emu, &api, &media_id).await;
    let event_id = r.json()["data"]["dm_event_id"].as_str().unwrap().to_owned();
    let path = download_path(&media_url(&api, &event_id).await);
    assert_eq!(api.get(&path).await.status, 200);
    assert_eq!(
        api.delete(&format!("/2/dm_events/{event_id}")).await.status,
        200
    );
    assert_eq!(api.get(&path).await.status, 404, "gone for the sender");
    let t = emu
        .handle()
        .issue_oauth2_token(&alice, &["dm.read"])
        .unwrap();
    let r = Api::new(&emu, Auth::Bearer(t)).get(&path).await;
    assert_eq!(r.status, 200, "still there for the recipient");
    assert_eq!(r.body.as_ref(), b"\xFF\xD8 jpeg");
}

/// Uploads `bytes` in one request, as a DM image of `media_type`.
async fn upload_image(api: &Api, bytes: &[u8], media_type: &str) -> Resp {
    api.post_json(
        "/2/media/upload",
        json!({"media": b64(bytes), "media_category": "dm_image", "media_type": media_type}),
    )
    .await
}

/// Sends alice a message that carries the uploaded `media_id` and no text.
async fn send_to_alice(emu: &Emulator, api: &Api, media_id: &str) -> Resp {
    let alice = user(emu, "alice");
    api.post_json(
        &format!("/2/dm_conversations/with/{alice}/messages"),
        json!({"attachments": [{"media_id": media_id}]}),
    )
    .await
}

/// Uploads `bytes` as a PNG, sends it to alice and returns its download path.
async fn sent_media(emu: &Emulator, api: &Api, bytes: &[u8]) -> String {
    let r = upload_image(api, bytes, "image/png").await;
    let media_id = r.json()["data"]["id"].as_str().unwrap().to_owned();
    let r = send_to_alice(emu, api, &media_id).await;
    let event_id = r.json()["data"]["dm_event_id"].as_str().unwrap().to_owned();
    download_path(&media_url(api, &event_id).await)
}

/// A download of `path` with a `Range` header.
async fn get_range(emu: &Emulator, path: &str, range: &str) -> Resp {
    let token = &emu.credentials().oauth2.access_token;
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("range", range.to_owned()),
    ];
    raw("GET", &format!("{}{path}", emu.base_url()), &headers, None).await
}

#[tokio::test]
async fn a_range_gets_206_with_that_part_of_the_file() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let bytes: Vec<u8> = (0..100u8).collect();
    let path = sent_media(&emu, &api, &bytes).await;

    let whole = api.get(&path).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-range"), None);
    assert_eq!(whole.body.as_ref(), bytes.as_slice());

    let cases = [
        ("bytes=40-", 40..100),
        ("bytes=40-49", 40..50),
        ("bytes=0-0", 0..1),
        ("bytes=90-1000", 90..100),
        ("bytes=-10", 90..100),
    ];
    let count = cases.len();
    for (range, want) in cases {
        let r = get_range(&emu, &path, range).await;
        assert_eq!(r.status, 206, "{range}");
        let content_range = format!("bytes {}-{}/100", want.start, want.end - 1);
        assert_eq!(
            r.header("content-range"),
            Some(content_range.as_str()),
            "{range}"
        );
        assert_eq!(r.header("accept-ranges"), Some("bytes"), "{range}");
        assert_eq!(r.header("content-type"), Some("image/png"), "{range}");
        let length = want.len().to_string();
        assert_eq!(r.header("content-length"), Some(length.as_str()), "{range}");
        assert_eq!(r.body.as_ref(), &bytes[want], "{range}");
    }
    let statuses: Vec<Option<u16>> = emu
        .handle()
        .requests()
        .iter()
        .rev()
        .take(count)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![Some(206); count], "logged as ranged");
}

#[tokio::test]
async fn a_range_past_the_end_gets_416_with_the_length() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let path = sent_media(&emu, &api, &[1u8; 100]).await;
    for range in ["bytes=100-", "bytes=250-300", "bytes=-0"] {
        let r = get_range(&emu, &path, range).await;
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("content-range"), Some("bytes */100"), "{range}");
        assert_eq!(r.json()["status"], 416);
    }
    // The route's own refusals still come first.
    let missing = path.rsplit_once('/').unwrap().0.to_owned() + "/other.png";
    assert_eq!(get_range(&emu, &missing, "bytes=100-").await.status, 404);
}

#[tokio::test]
async fn a_malformed_or_multiple_range_gets_the_whole_file() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let bytes: Vec<u8> = (0..100u8).collect();
    let path = sent_media(&emu, &api, &bytes).await;
    for range in [
        "bytes=0-9,20-29",
        "bytes=x-",
        "bytes=9-3",
        "items=0-9",
        "0-9",
    ] {
        let r = get_range(&emu, &path, range).await;
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.header("content-range"), None, "{range}");
        assert_eq!(r.body.as_ref(), bytes.as_slice(), "{range}");
    }
}

#[tokio::test]
async fn a_ranged_answer_can_be_cut_mid_body() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let path = sent_media(&emu, &api, &bytes).await;
    emu.handle().inject(Fault::once(
        "GET",
        "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}",
        FaultKind::CloseMidBody,
    ));
    // Over a bare socket: an HTTP client would turn the cut into an error and drop the bytes.
    let mut socket = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let token = &emu.credentials().oauth2.access_token;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nRange: bytes=60000-\r\nConnection: close\r\n\r\n",
        emu.local_addr()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
        .await
        .expect("the server closes")
        .ok();
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&answer[..at]).to_lowercase();
    let body = &answer[at + 4..];
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(
        head.contains("content-range: bytes 60000-99999/100000"),
        "{head}"
    );
    assert!(head.contains("content-length: 40000"), "{head}");
    assert!(
        !body.is_empty() && body.len() < 40_000,
        "{} bytes",
        body.len()
    );
    assert_eq!(
        body,
        &bytes[60_000..60_000 + body.len()],
        "the range's own bytes"
    );
}

fn multipart(fields: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----emuboundary";
    let mut body = Vec::new();
    for (name, data) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn chunked_upload_with_processing() {
    // OAuth 1.0a timestamps are real time, so the manual clock starts there.
    let clock = ManualClock::starting_now();
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth1(&emu));
    let (a, b) = (b"first-half-".to_vec(), b"second-half".to_vec());
    let total = a.len() + b.len();
    let v = api
        .post_json(
            "/2/media/upload/initialize",
            json!({"media_category": "dm_video", "media_type": "video/mp4", "total_bytes": total}),
        )
        .await
        .json();
    let id = v["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["data"]["media_key"], format!("5_{id}"));
    let r = api
        .post_json(
            &format!("/2/media/upload/{id}/append"),
            json!({"media": b64(&a), "segment_index": 0}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["data"]["expires_at"].is_u64());
    let (ct, body) = multipart(&[("segment_index", b"1"), ("media", &b)]);
    let r = api
        .send(
            "POST",
            &format!("/2/media/upload/{id}/append"),
            Some((&ct, body)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = api
        .send("POST", &format!("/2/media/upload/{id}/finalize"), None)
        .await
        .json();
    assert_eq!(v["data"]["size"], total);
    assert_eq!(v["data"]["processing_info"]["state"], "in_progress");
    clock.advance(Duration::from_secs(2));
    let v = api
        .get(&format!("/2/media/upload?media_id={id}&command=STATUS"))
        .await
        .json();
    assert_eq!(v["data"]["processing_info"]["state"], "succeeded");
    let r = api
        .send("POST", &format!("/2/media/upload/{id}/finalize"), None)
        .await;
    assert_eq!(r.status, 400, "finalize twice");
    let r = api
        .post_json(
            &format!("/2/media/upload/{id}/append"),
            json!({"media": b64(&a), "segment_index": 2}),
        )
        .await;
    assert_eq!(r.status, 400, "append after finalize");
    let alice = user(&emu, "alice");
    let v = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "video", "attachments": [{"media_id": id}]}),
        )
        .await
        .json();
    let ev = emu
        .handle()
        .event(v["data"]["dm_event_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(ev.media_keys, vec![format!("5_{id}")]);
}

#[tokio::test]
async fn upload_refusals() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let cases: [(&str, Value); 6] = [
        ("/2/media/upload", json!({"media": b64(b"x")})),
        (
            "/2/media/upload",
            json!({"media": b64(b"x"), "media_category": "dm_sticker"}),
        ),
        ("/2/media/upload", json!({"media_category": "dm_image"})),
        (
            "/2/media/upload",
            json!({"media": "***", "media_category": "dm_image"}),
        ),
        (
            "/2/media/upload",
            json!({"media": b64(b"x"), "media_category": "dm_image", "color": "red"}),
        ),
        ("/2/media/upload/initialize", json!({"total_bytes": -1})),
    ];
    for (path, body) in cases {
        assert_eq!(
            api.post_json(path, body.clone()).await.status,
            400,
            "{path} {body}"
        );
    }
    let v = api
        .post_json(
            "/2/media/upload/initialize",
            json!({"media_category": "dm_image", "total_bytes": 100}),
        )
        .await
        .json();
    let id = v["data"]["id"].as_str().unwrap().to_owned();
    let r = api
        .post_json(
            &format!("/2/media/upload/{id}/append"),
            json!({"media": b64(b"abc"), "segment_index": 1000}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post_json(
            &format!("/2/media/upload/{id}/append"),
            json!({"segment_index": 0}),
        )
        .await;
    assert_eq!(r.status, 400);
    api.post_json(
        &format!("/2/media/upload/{id}/append"),
        json!({"media": b64(b"abc"), "segment_index": 0}),
    )
    .await;
    let r = api
        .send("POST", &format!("/2/media/upload/{id}/finalize"), None)
        .await;
    assert_eq!(r.status, 400, "3 bytes is not total_bytes=100");
    // Someone else's upload, unknown ids, status without an id.
    assert_eq!(
        api.send("POST", "/2/media/upload/123/finalize", None)
            .await
            .status,
        404
    );
    assert_eq!(api.get("/2/media/upload?command=STATUS").await.status, 400);
    assert_eq!(
        api.get("/2/media/upload?media_id=1&command=OTHER")
            .await
            .status,
        400
    );
    let me = user(&emu, "me");
    let t = emu.handle().issue_oauth2_token(&me, &["dm.read"]).unwrap();
    assert_eq!(
        Api::new(&emu, Auth::Bearer(t))
            .post_json("/2/media/upload/initialize", json!({}))
            .await
            .status,
        403,
        "media.write needed"
    );
    // Unfinished uploads cannot be attached.
    let alice = user(&emu, "alice");
    let r = api
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"attachments": [{"media_id": id}]}),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn media_must_belong_to_the_sender() {
    let emu = emulator().await;
    let (me, alice, bob) = (user(&emu, "me"), user(&emu, "alice"), user(&emu, "bob"));
    let bob_token = emu
        .handle()
        .issue_oauth2_token(&bob, &["media.write"])
        .unwrap();
    let bob_api = Api::new(&emu, Auth::Bearer(bob_token));
    let upload = |owners: Value| {
        let bob_api = &bob_api;
        async move {
            let v = bob_api.post_json("/2/media/upload", json!({"media": b64(b"img"), "media_category": "dm_image", "additional_owners": owners})).await.json();
            v["data"]["id"].as_str().unwrap().to_owned()
        }
    };
    let bobs = upload(json!([])).await;
    let shared = upload(json!([me])).await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let path = format!("/2/dm_conversations/with/{alice}/messages");
    let r = api
        .post_json(
            &path,
            json!({"text": "x", "attachments": [{"media_id": bobs}]}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"title": "Forbidden", "detail": "You are not permitted to attach this media to a DM event.", "type": "about:blank", "status": 403})
    );
    let r = api
        .post_json(&path, json!({"attachments": [{"media_id": "1234567"}]}))
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .post_json(&path, json!({"attachments": [{"media_id": shared}]}))
        .await;
    assert_eq!(r.status, 201, "additional_owners may attach");
    let r = api.post_json("/2/dm_conversations", json!({"conversation_type": "Group", "participant_ids": [alice, bob], "message": {"attachments": [{"media_id": bobs}]}})).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn upload_body_formats() {
    let emu = emulator().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    // A form-encoded one-shot upload of a GIF gets a 16_ key.
    let body = format!(
        "media={}&media_category=dm_gif",
        b64(b"GIF89a")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let r = api
        .send(
            "POST",
            "/2/media/upload",
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["data"]["media_key"]
            .as_str()
            .unwrap()
            .starts_with("16_")
    );
    // Multipart one-shot.
    let (ct, body) = multipart(&[("media_category", b"dm_image"), ("media", b"\xFF\xD8jpeg")]);
    let r = api.send("POST", "/2/media/upload", Some((&ct, body))).await;
    assert_eq!(r.status, 200);
    // Broken multipart, a multipart type without boundary, bad owners, JSON that is no object.
    let r = api
        .send(
            "POST",
            "/2/media/upload",
            Some((
                "multipart/form-data; boundary=zzz",
                b"nothing here".to_vec(),
            )),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .send(
            "POST",
            "/2/media/upload",
            Some(("multipart/form-data", b"x".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post_json(
            "/2/media/upload",
            json!({"media": b64(b"x"), "media_category": "dm_image", "additional_owners": ["me"]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post_json("/2/media/upload/initialize", json!([1]))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post_json(
            "/2/media/upload/initialize",
            json!({"total_bytes": 17_179_869_185u64}),
        )
        .await;
    assert_eq!(r.status, 400);
    // Finalize with nothing appended.
    let id = api
        .post_json("/2/media/upload/initialize", json!({}))
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        api.send("POST", &format!("/2/media/upload/{id}/finalize"), None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn oversized_requests_get_413() {
    let emu = Emulator::builder()
        .seed_events(5)
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let r = api
        .post_json(
            "/2/media/upload",
            json!({"media": b64(&[0u8; 4096]), "media_category": "dm_image"}),
        )
        .await;
    assert_eq!(r.status, 413);
}
