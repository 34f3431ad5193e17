//! The web console's server side: the page, the control API, the request log and its
//! redaction, faults and limits from the console, live updates, and the loopback rule.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xdm_emulator::{Emulator, RateLimits};

use crate::common::{Api, Auth, Resp, raw, user};

async fn start() -> Emulator {
    Emulator::builder()
        .seed_events(30)
        .rate_limits(RateLimits::off())
        .stream_keep_alive(Duration::from_millis(100))
        .console(true)
        .start()
        .await
        .unwrap()
}

/// A console request with an optional JSON body.
async fn call(emu: &Emulator, method: &str, path: &str, body: Option<Value>) -> Resp {
    let url = format!("{}{path}", emu.base_url());
    raw(
        method,
        &url,
        &[],
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .await
}

/// A console `POST` with a JSON body.
async fn post(emu: &Emulator, path: &str, body: Value) -> Resp {
    call(emu, "POST", path, Some(body)).await
}

/// A console `POST` that must create something (201): its JSON.
async fn created(emu: &Emulator, path: &str, body: Value) -> Value {
    let r = post(emu, path, body).await;
    assert_eq!(
        r.status,
        201,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

async fn get(emu: &Emulator, path: &str) -> Value {
    let r = call(emu, "GET", path, None).await;
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// Asserts a console error: its status and a sentence in `error`.
fn error(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let e = r.json()["error"]
        .as_str()
        .expect("an error sentence")
        .to_owned();
    assert!(e.len() > 10, "{e}");
    e
}

/// Asserts that a console request without a body is refused: see [`error`].
async fn refused(emu: &Emulator, method: &str, path: &str, status: u16) -> String {
    error(&call(emu, method, path, None).await, status)
}

/// The first item of the array `list` whose `key` is `value`.
fn find_by(list: &Value, key: &str, value: &str) -> Value {
    list.as_array()
        .unwrap_or_else(|| panic!("an array: {list}"))
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {list}"))
        .clone()
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn off_by_default_the_console_is_an_unknown_path() {
    let emu = Emulator::builder().seed_events(5).start().await.unwrap();
    assert_eq!(emu.console_url(), None);
    for path in ["/console", "/console/", "/console/api/world"] {
        let r = call(&emu, "GET", path, None).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["errors"][0]["code"], 34, "X's unknown-route body");
    }
}

#[tokio::test]
async fn the_page_and_its_assets() {
    let emu = start().await;
    assert_eq!(
        emu.console_url(),
        Some(format!("{}/console/", emu.base_url()))
    );
    let r = call(&emu, "GET", "/console", None).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/console/"));
    let page = call(&emu, "GET", "/console/", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'"
        )
    );
    assert_eq!(
        &page.body[..],
        include_bytes!("../../src/console/assets/index.html")
    );
    let js = call(&emu, "GET", "/console/app.js", None).await;
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        &js.body[..],
        include_bytes!("../../src/console/assets/app.js")
    );
    let css = call(&emu, "GET", "/console/app.css", None).await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("no-store"));
    refused(&emu, "GET", "/console/nothing.png", 404).await;
    let post = call(&emu, "POST", "/console/", None).await;
    error(&post, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    // None of it reaches the API's log.
    assert!(emu.handle().requests().is_empty());
}

#[tokio::test]
async fn world_and_credentials() {
    let emu = start().await;
    let w = get(&emu, "/console/api/world").await;
    assert_eq!(w["me"], user(&emu, "me").as_str());
    let users = w["users"].as_array().unwrap();
    assert_eq!(users.len(), emu.handle().users().len());
    assert!(
        users
            .iter()
            .all(|u| u["id"].is_string() && u["username"].is_string() && u["name"].is_string())
    );
    assert_eq!(get(&emu, "/console/api/credentials").await, emu.describe());
}

#[tokio::test]
async fn conversations_threads_and_unread_counts() {
    let emu = start().await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let list = get(&emu, "/console/api/conversations").await;
    assert_eq!(list["as"], me.as_str());
    let convs = list["conversations"].as_array().unwrap();
    assert_eq!(
        convs.len(),
        emu.handle().conversations().len(),
        "every conversation"
    );
    assert!(
        convs.iter().all(|c| c["unread"] == 0),
        "the seeded world starts read"
    );
    let last = |c: &Value| {
        c["last_event"]["id"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(
        convs.windows(2).all(|p| last(&p[0]) >= last(&p[1])),
        "newest first"
    );

    // Two messages from alice through the API: unread for me, not for alice.
    let alice_api = Api::new(
        &emu,
        Auth::Bearer(
            emu.handle()
                .issue_oauth2_token(&alice, &["dm.write", "dm.read", "tweet.read", "users.read"])
                .unwrap(),
        ),
    );
    let mut conv = String::new();
    for text in ["one @bob_emu #tag", "two"] {
        let r = alice_api
            .post_json(
                &format!("/2/dm_conversations/with/{me}/messages"),
                json!({"text": text}),
            )
            .await;
        assert_eq!(r.status, 201);
        conv = r.json()["data"]["dm_conversation_id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let find = |list: &Value| find_by(&list["conversations"], "id", &conv);
    let mine = find(&get(&emu, "/console/api/conversations").await);
    assert_eq!(mine["unread"], 2);
    assert_eq!(mine["is_group"], false);
    assert_eq!(mine["last_event"]["text"], "two");
    assert_eq!(
        get(&emu, "/console/api/conversations").await["conversations"][0]["id"],
        conv.as_str(),
        "the newest activity comes first"
    );
    let hers = find(&get(&emu, &format!("/console/api/conversations?as={alice}")).await);
    assert_eq!(hers["unread"], 0, "one's own sends are read");
    let carol = user(&emu, "carol");
    let theirs = find(&get(&emu, &format!("/console/api/conversations?as={carol}")).await);
    assert_eq!(theirs["unread"], 0, "not a participant");
    refused(&emu, "GET", "/console/api/conversations?as=42", 404).await;

    // The thread, oldest first, with entities; a delete is marked, not removed.
    let thread = get(&emu, &format!("/console/api/conversations/{conv}/events")).await;
    assert_eq!(thread["id"], conv.as_str());
    let events = thread["events"].as_array().unwrap();
    assert_eq!(events.len(), mine["event_count"].as_u64().unwrap() as usize);
    let first = &events[events.len() - 2];
    assert_eq!(first["text"], "one @bob_emu #tag");
    assert_eq!(first["sender_id"], alice.as_str());
    assert_eq!(first["event_type"], "MessageCreate");
    assert_eq!(first["entities"]["mentions"][0]["username"], "bob_emu");
    assert_eq!(first["entities"]["hashtags"][0]["tag"], "tag");
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(first["created_at_ms"].as_u64().unwrap() > 0);
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        alice_api.delete(&format!("/2/dm_events/{id}")).await.status,
        200
    );
    let thread = get(&emu, &format!("/console/api/conversations/{conv}/events")).await;
    let deleted = find_by(&thread["events"], "id", id);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["deleted_by"], json!([alice]));
    assert_eq!(
        find(&get(&emu, "/console/api/conversations").await)["unread"],
        1,
        "a deleted message is not unread"
    );

    // Reading moves the mark.
    let r = post(
        &emu,
        "/console/api/read",
        json!({"user": me, "conversation_id": conv}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(
        find(&get(&emu, "/console/api/conversations").await)["unread"],
        0
    );
    refused(&emu, "GET", "/console/api/conversations/1-2/events", 404).await;
    refused(&emu, "GET", "/console/api/conversations/nope/events", 404).await;
}

#[tokio::test]
async fn sending_as_any_user() {
    let emu = start().await;
    let (me, alice, bob, erin) = (
        user(&emu, "me"),
        user(&emu, "alice"),
        user(&emu, "bob"),
        user(&emu, "erin"),
    );
    let sent = created(
        &emu,
        "/console/api/messages",
        json!({"from": alice, "to": me, "text": "hi from the console"}),
    )
    .await;
    let event_id = sent["event_id"].as_str().unwrap().to_owned();
    let conv = sent["conversation_id"].as_str().unwrap().to_owned();
    // The app sees it through the API as it would from X.
    let seen = Api::new(&emu, Auth::oauth2(&emu))
        .get(&format!("/2/dm_events/{event_id}"))
        .await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.json()["data"]["text"], "hi from the console");
    // Into the conversation, by id.
    let answer = created(
        &emu,
        "/console/api/messages",
        json!({"from": me, "conversation_id": conv, "text": "answer"}),
    )
    .await;
    assert_eq!(answer["conversation_id"], conv.as_str());
    // A one-to-one id naming the sender works before any message.
    let (b, e): (u64, u64) = (bob.parse().unwrap(), erin.parse().unwrap());
    let fresh = format!("{}-{}", b.min(e), b.max(e));
    created(
        &emu,
        "/console/api/messages",
        json!({"from": bob, "conversation_id": fresh, "text": "first"}),
    )
    .await;

    // With a picture: stored as media, shown with a URL that serves its bytes.
    let png = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0, 0, 13];
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    let pic = created(&emu, "/console/api/messages", json!({"from": alice, "to": me, "text": "", "media": {"content_type": "image/png", "data_base64": b64, "filename": "x.png"}})).await["event_id"].as_str().unwrap().to_owned();
    let thread = get(&emu, &format!("/console/api/conversations/{conv}/events")).await;
    let e = find_by(&thread["events"], "id", &pic);
    let media = &e["attachments"]["media"][0];
    assert_eq!(media["type"], "photo");
    let key = media["media_key"].as_str().unwrap();
    assert_eq!(media["url"], format!("/console/api/media/{key}"));
    let bytes = call(&emu, "GET", &format!("/console/api/media/{key}"), None).await;
    assert_eq!(bytes.status, 200);
    assert_eq!(bytes.header("content-type"), Some("image/png"));
    assert_eq!(&bytes.body[..], &png[..]);
    assert_eq!(
        emu.handle().event(&pic).unwrap().media_keys,
        vec![key.to_owned()]
    );
    refused(&emu, "GET", "/console/api/media/3_1", 404).await;
    refused(&emu, "GET", "/console/api/media/zzz", 400).await;

    // Refusals.
    let send = |body: Value| post(&emu, "/console/api/messages", body);
    error(
        &send(json!({"from": me, "to": erin, "text": "blocked"})).await,
        403,
    );
    let carol = user(&emu, "carol");
    error(
        &send(json!({"from": carol, "conversation_id": conv, "text": "not mine"})).await,
        403,
    );
    error(
        &send(json!({"from": "42", "to": me, "text": "x"})).await,
        404,
    );
    error(
        &send(json!({"from": me, "to": "42", "text": "x"})).await,
        404,
    );
    error(
        &send(json!({"from": me, "conversation_id": "99", "text": "x"})).await,
        404,
    );
    error(
        &send(json!({"from": me, "to": alice, "text": "x".repeat(10_001)})).await,
        400,
    );
    assert_eq!(
        send(json!({"from": me, "to": alice, "text": "é".repeat(10_000)}))
            .await
            .status,
        201,
        "10,000 characters are fine"
    );
    error(
        &send(json!({"from": me, "to": alice, "text": ""})).await,
        400,
    );
    error(&send(json!({"from": me, "text": "nowhere"})).await, 400);
    error(
        &send(json!({"from": me, "to": alice, "conversation_id": conv, "text": "both"})).await,
        400,
    );
    error(&send(json!({"to": alice, "text": "who"})).await, 400);
    error(
        &send(json!({"from": 5, "to": alice, "text": "x"})).await,
        400,
    );
    error(&send(json!({"from": me, "to": alice, "media": {"content_type": "text/plain", "data_base64": "eA=="}})).await, 400);
    error(&send(json!({"from": me, "to": alice, "media": {"content_type": "image/png", "data_base64": "***"}})).await, 400);
    error(&send(json!({"from": me, "to": alice, "media": {"content_type": "image/png", "data_base64": ""}})).await, 400);
    error(
        &send(json!({"from": me, "to": alice, "media": "x.png"})).await,
        400,
    );
    error(&send(json!([1])).await, 400);
    let bad = raw(
        "POST",
        &format!("{}/console/api/messages", emu.base_url()),
        &[],
        Some(("application/json", b"{oops".to_vec())),
    )
    .await;
    error(&bad, 400);
    // The console's sends are not API calls.
    assert!(
        emu.handle()
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/console"))
    );
}

#[tokio::test]
async fn groups_and_typing() {
    let emu = start().await;
    let (me, alice, bob) = (user(&emu, "me"), user(&emu, "alice"), user(&emu, "bob"));
    let g = created(
        &emu,
        "/console/api/groups",
        json!({"from": alice, "participant_ids": [me, bob], "text": "a group"}),
    )
    .await;
    let conv = g["conversation_id"].as_str().unwrap().to_owned();
    let thread = get(&emu, &format!("/console/api/conversations/{conv}/events")).await;
    assert_eq!(thread["is_group"], true);
    assert_eq!(thread["participant_ids"].as_array().unwrap().len(), 3);
    assert_eq!(thread["events"][0]["event_type"], "ParticipantsJoin");
    assert_eq!(thread["events"][1]["id"], g["event_id"]);
    let groups = |body: Value| post(&emu, "/console/api/groups", body);
    error(&groups(json!({"from": alice, "text": "x"})).await, 400);
    error(
        &groups(json!({"from": alice, "participant_ids": "bob", "text": "x"})).await,
        400,
    );
    error(
        &groups(json!({"from": alice, "participant_ids": [alice], "text": "x"})).await,
        400,
    );
    error(
        &groups(json!({"from": alice, "participant_ids": [7], "text": "x"})).await,
        400,
    );
    error(
        &groups(json!({"from": alice, "participant_ids": ["42"], "text": "x"})).await,
        404,
    );

    let typing = |body: Value| post(&emu, "/console/api/typing", body);
    let r = typing(json!({"user": me, "conversation_id": conv})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    let carol = user(&emu, "carol");
    error(
        &typing(json!({"user": carol, "conversation_id": conv})).await,
        403,
    );
    error(
        &typing(json!({"user": me, "conversation_id": "5"})).await,
        404,
    );
    error(&typing(json!({"user": me})).await, 400);
    let read = |body: Value| post(&emu, "/console/api/read", body);
    error(
        &read(json!({"user": me, "conversation_id": conv, "last_read_event_id": "123"})).await,
        404,
    );
    error(
        &read(json!({"user": "42", "conversation_id": conv})).await,
        404,
    );
    error(
        &read(json!({"user": carol, "conversation_id": conv})).await,
        403,
    );
    assert_eq!(
        read(json!({"user": me, "conversation_id": conv, "last_read_event_id": g["event_id"]}))
            .await
            .status,
        200
    );
}

/// A raw HTTP/1.1 client reading a streamed body as text.
struct RawStream {
    s: TcpStream,
    seen: String,
}

impl RawStream {
    async fn open(emu: &Emulator, path: &str, auth: Option<&str>) -> Self {
        let mut s = TcpStream::connect(emu.local_addr()).await.unwrap();
        let auth = auth
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}\r\n",
            emu.local_addr()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        Self {
            s,
            seen: String::new(),
        }
    }

    /// Reads until `needle` was seen (after what earlier calls consumed), or panics.
    async fn until(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(at) = self.seen.find(needle) {
                let upto: String = self.seen.drain(..at + needle.len()).collect();
                return upto;
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.s.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("{needle:?} never came; read {:?}", self.seen))
                .unwrap();
            assert!(n > 0, "closed before {needle:?}; read {:?}", self.seen);
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    /// Reads to the end of the connection's body (the last chunk), or panics.
    async fn end(&mut self) {
        self.until("0\r\n\r\n").await;
    }
}

#[tokio::test]
async fn live_updates_over_server_sent_events() {
    let emu = start().await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let mut sse = RawStream::open(&emu, "/console/api/updates", None).await;
    let head = sse.until("\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // An API send: the conversation changed, a request was logged.
    let r = Api::new(&emu, Auth::oauth2(&emu))
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "live"}),
        )
        .await;
    let event = r.json()["data"]["dm_event_id"].as_str().unwrap().to_owned();
    let conv = r.json()["data"]["dm_conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sse.until(&format!(
        "event: conversation\ndata: {{\"conversation_id\":\"{conv}\",\"event_id\":\"{event}\"}}\n\n"
    ))
    .await;
    sse.until("event: request\ndata: {\"seq\":0}\n\n").await;
    // A console send, a handle send, a fault.
    post(
        &emu,
        "/console/api/messages",
        json!({"from": alice, "to": me, "text": "back"}),
    )
    .await;
    sse.until(&format!(
        "event: conversation\ndata: {{\"conversation_id\":\"{conv}\""
    ))
    .await;
    emu.handle()
        .send_dm(&alice, &me, "from the handle")
        .unwrap();
    sse.until(&format!(
        "event: conversation\ndata: {{\"conversation_id\":\"{conv}\""
    ))
    .await;
    post(
        &emu,
        "/console/api/faults",
        json!({"kind": "status", "status": 503}),
    )
    .await;
    sse.until("event: faults\ndata: {}\n\n").await;
    post(
        &emu,
        "/console/api/typing",
        json!({"user": alice, "conversation_id": conv}),
    )
    .await;
    sse.until(&format!(
        "event: conversation\ndata: {{\"conversation_id\":\"{conv}\"}}"
    ))
    .await;
    sse.until(&format!(
        "event: typing\ndata: {{\"conversation_id\":\"{conv}\",\"user_id\":\"{alice}\"}}"
    ))
    .await;
    // The armed 503 fires on the next API call, and the fault list changes with it.
    let fired = call(&emu, "GET", "/2/users/me", None).await;
    assert_eq!(fired.status, 503);
    sse.until("event: faults\ndata: {}\n\n").await;
    // An activity stream opening and closing.
    let bearer = emu.credentials().app_bearer_token.clone();
    call(&emu, "DELETE", "/console/api/faults", None).await;
    sse.until("event: faults\ndata: {}\n\n").await;
    let mut stream = RawStream::open(&emu, "/2/activity/stream", Some(&bearer)).await;
    assert!(stream.until("\r\n\r\n").await.starts_with("HTTP/1.1 200"));
    sse.until("event: activity\ndata: {}\n\n").await;
    drop(stream);
    sse.until("event: activity\ndata: {}\n\n").await;
    // Ends cleanly on shutdown.
    emu.shutdown().await;
    sse.end().await;
}

#[tokio::test]
async fn a_console_send_reaches_the_activity_stream() {
    let emu = start().await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let subscribe = |who: String, event_type: &'static str| {
        let token = emu.handle().issue_oauth2_token(&who, &["dm.read"]).unwrap();
        let api = Api::new(&emu, Auth::Bearer(token));
        async move {
            let r = api
                .post_json(
                    "/2/activity/subscriptions",
                    json!({"event_type": event_type, "filter": {"user_id": who}}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        }
    };
    subscribe(me.clone(), "dm.received").await;
    subscribe(alice.clone(), "dm.read").await;
    subscribe(alice.clone(), "dm.indicate_typing").await;
    let bearer = emu.credentials().app_bearer_token.clone();
    let mut stream = RawStream::open(&emu, "/2/activity/stream", Some(&bearer)).await;
    stream.until("\r\n\r\n").await;
    let activity = get(&emu, "/console/api/activity").await;
    assert_eq!(activity["stream_connections"].as_array().unwrap().len(), 1);
    assert_eq!(activity["subscriptions"].as_array().unwrap().len(), 3);
    assert!(
        activity["stream_connections"][0]["opened_ms"]
            .as_u64()
            .unwrap()
            > 0
    );

    let sent = created(
        &emu,
        "/console/api/messages",
        json!({"from": alice, "to": me, "text": "ping from alice"}),
    )
    .await;
    let event_id = sent["event_id"].as_str().unwrap();
    let conv = sent["conversation_id"].as_str().unwrap();
    stream.until(&format!("\"id\":\"{event_id}\"")).await;
    stream.until("ping from alice").await;
    assert_eq!(
        get(&emu, "/console/api/activity").await["stream_connections"][0]["events_sent"],
        1
    );
    // Reading and typing as me reach alice's subscriptions.
    let as_me = json!({"user": me, "conversation_id": conv});
    post(&emu, "/console/api/read", as_me.clone()).await;
    stream.until("direct_message_mark_read_events").await;
    stream
        .until(&format!("\"last_read_event_id\":\"{event_id}\""))
        .await;
    post(&emu, "/console/api/typing", as_me).await;
    stream.until("direct_message_indicate_typing_events").await;

    // Dropping the stream from the console cuts it.
    let r = call(&emu, "POST", "/console/api/stream/drop", None).await;
    assert_eq!(r.json(), json!({"dropped": 1}));
    let mut rest = Vec::new();
    let cut = tokio::time::timeout(Duration::from_secs(5), stream.s.read_to_end(&mut rest))
        .await
        .expect("closed in time");
    let text = String::from_utf8_lossy(&rest);
    assert!(
        cut.is_err() || !text.ends_with("0\r\n\r\n"),
        "no clean end: {text:?}"
    );
    assert_eq!(
        call(&emu, "POST", "/console/api/stream/drop", None)
            .await
            .json(),
        json!({"dropped": 0})
    );
}

#[tokio::test]
async fn the_request_log() {
    let emu = start().await;
    let alice = user(&emu, "alice");
    let api = Api::new(&emu, Auth::oauth2(&emu));
    assert_eq!(api.get("/2/dm_events?max_results=5").await.status, 200);
    assert_eq!(api.get("/2/dm_events?max_results=0").await.status, 400);
    assert_eq!(
        Api::new(&emu, Auth::None).get("/2/users/me").await.status,
        401
    );
    assert_eq!(
        Api::new(&emu, Auth::oauth1(&emu))
            .post_json(
                &format!("/2/dm_conversations/with/{alice}/messages"),
                json!({"text": "signed"})
            )
            .await
            .status,
        201
    );
    get(&emu, "/console/api/world").await;
    let all = get(&emu, "/console/api/requests").await["requests"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 4, "console calls are not logged: {all:?}");
    let me = user(&emu, "me");
    let first = &all[0];
    assert_eq!(first["seq"], 0);
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/2/dm_events");
    assert_eq!(first["query"], "max_results=5");
    assert_eq!(first["template"], "/2/dm_events");
    assert_eq!(first["status"], 200);
    assert!(first["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        first["credential"],
        json!({"kind": "oauth2_user", "user_id": me})
    );
    assert_eq!(first["rate_limit"]["limit"], 15);
    assert_eq!(first["rate_limit"]["remaining"], 15);
    assert!(first["rate_limit"]["reset"].as_u64().unwrap() >= now_s());
    assert_eq!(first["fault"], Value::Null);
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(first["time_ms"].as_u64().unwrap() > 0);
    assert_eq!(all[2]["credential"], json!({"kind": "none"}));
    assert_eq!(all[2]["rate_limit"], Value::Null);
    assert_eq!(
        all[3]["credential"],
        json!({"kind": "oauth1", "user_id": me})
    );

    let seqs = |q: &'static str| {
        let emu = &emu;
        async move {
            get(emu, &format!("/console/api/requests?{q}")).await["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["seq"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(seqs("status=4xx").await, vec![1, 2]);
    assert_eq!(seqs("status=401").await, vec![2]);
    assert_eq!(seqs("status=2xx").await, vec![0, 3]);
    assert_eq!(seqs("endpoint=messages").await, vec![3]);
    assert_eq!(seqs("endpoint=/2/users/me").await, vec![2]);
    assert_eq!(
        seqs(Box::leak(format!("user={me}").into_boxed_str())).await,
        vec![0, 1, 3]
    );
    assert_eq!(seqs("after=1").await, vec![2, 3]);
    assert_eq!(
        seqs("limit=2").await,
        vec![2, 3],
        "the newest, oldest first"
    );
    refused(&emu, "GET", "/console/api/requests?limit=0", 400).await;
    refused(&emu, "GET", "/console/api/requests?limit=1001", 400).await;
    refused(&emu, "GET", "/console/api/requests?after=x", 400).await;
    refused(&emu, "GET", "/console/api/requests?status=abc", 400).await;

    let d = get(&emu, "/console/api/requests/3").await;
    assert_eq!(d["seq"], 3);
    assert_eq!(d["request_body"], "{\"text\":\"signed\"}");
    assert_eq!(d["request_body_truncated"], false);
    let header = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == name)
            .map(|p| p[1].as_str().unwrap().to_owned())
    };
    assert_eq!(
        header(&d["request_headers"], "authorization").as_deref(),
        Some("OAuth [redacted]")
    );
    assert_eq!(
        header(&d["response_headers"], "x-access-level").as_deref(),
        Some("read-write-directmessages")
    );
    assert!(d["response_body"].as_str().unwrap().contains("dm_event_id"));
    assert_eq!(d["response_body_truncated"], false);
    refused(&emu, "GET", "/console/api/requests/99", 404).await;
    refused(&emu, "GET", "/console/api/requests/x", 400).await;

    let r = call(&emu, "DELETE", "/console/api/requests", None).await;
    assert_eq!(r.json(), json!({"ok": true}));
    assert!(
        get(&emu, "/console/api/requests").await["requests"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    api.get("/2/users/me").await;
    assert_eq!(seqs("").await, vec![4], "seq keeps counting");
}

/// Every secret the emulator has given out must stay out of the log's answers.
#[tokio::test]
async fn the_log_never_shows_a_secret() {
    let emu = start().await;
    let c = emu.credentials().clone();
    let base = emu.base_url().to_owned();
    let alice = user(&emu, "alice");
    // OAuth 2.0 and OAuth 1.0a calls, the app bearer, and a failed call with a bad token.
    Api::new(&emu, Auth::oauth2(&emu)).get("/2/dm_events").await;
    Api::new(&emu, Auth::oauth1(&emu))
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "x"}),
        )
        .await;
    Api::new(&emu, Auth::Bearer(c.app_bearer_token.clone()))
        .get("/2/activity/subscriptions")
        .await;
    Api::new(&emu, Auth::Bearer(c.app_bearer_token.clone()))
        .get("/2/dm_events")
        .await;
    // A refresh with the client's Basic credentials, then a public-client refresh and a revoke.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.oauth2.client_id, c.oauth2.client_secret));
    let form = |path: &str, body: String, auth: Option<String>| {
        let url = format!("{base}{path}");
        async move {
            let headers: Vec<(&str, String)> =
                auth.into_iter().map(|a| ("authorization", a)).collect();
            raw(
                "POST",
                &url,
                &headers,
                Some(("application/x-www-form-urlencoded", body.into_bytes())),
            )
            .await
        }
    };
    let r = form(
        "/2/oauth2/token",
        format!(
            "grant_type=refresh_token&refresh_token={}",
            c.oauth2.refresh_token
        ),
        Some(format!("Basic {basic}")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json();
    let (access2, refresh2) = (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    );
    let r = form(
        "/2/oauth2/token",
        format!(
            "grant_type=refresh_token&refresh_token={refresh2}&client_id={}",
            c.oauth2.client_id
        ),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let t = r.json();
    let (access3, refresh3) = (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    );
    Api::new(&emu, Auth::Bearer(access3.clone()))
        .get("/2/users/me")
        .await;
    let r = form(
        "/2/oauth2/revoke",
        format!("token={access2}&client_id={}", c.oauth2.client_id),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    // An authorization code through the authorize redirect.
    let r = raw("GET", &format!("{base}/i/oauth2/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=dm.read&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", c.oauth2.client_id), &[], None).await;
    let location = r.header("location").unwrap().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    // A webhook CRC token in a query.
    Api::new(&emu, Auth::Bearer(c.app_bearer_token.clone()))
        .get("/2/webhooks?crc_token=crcsecretvalue123")
        .await;

    let secrets = [
        c.oauth1.consumer_key.as_str(),
        &c.oauth2.client_id,
        &c.oauth1.consumer_secret,
        &c.oauth1.access_token,
        &c.oauth1.access_token_secret,
        &c.oauth2.client_secret,
        &c.oauth2.access_token,
        &c.oauth2.refresh_token,
        &c.app_bearer_token,
        &access2,
        &refresh2,
        &access3,
        &refresh3,
        &code,
        "crcsecretvalue123",
    ];
    let list = call(&emu, "GET", "/console/api/requests?limit=1000", None).await;
    let mut everything = String::from_utf8_lossy(&list.body).into_owned();
    let n = list.json()["requests"].as_array().unwrap().len();
    assert!(n >= 10, "{n}");
    for r in list.json()["requests"].as_array().unwrap() {
        let d = call(
            &emu,
            "GET",
            &format!("/console/api/requests/{}", r["seq"]),
            None,
        )
        .await;
        assert_eq!(d.status, 200);
        everything.push_str(&String::from_utf8_lossy(&d.body));
    }
    for s in secrets {
        assert!(s.len() >= 8);
        assert!(!everything.contains(s), "{s:?} leaked into the log");
    }
    assert!(everything.contains("Bearer [redacted]"));
    assert!(everything.contains("Basic [redacted]"));
    assert!(everything.contains("OAuth [redacted]"));
    assert!(everything.contains("refresh_token=[redacted]"));
    assert!(everything.contains("crc_token=[redacted]"));
    assert!(everything.contains("code=[redacted]"));
}

#[tokio::test]
async fn faults_from_the_console() {
    let emu = start().await;
    let api = Api::new(&emu, Auth::oauth2(&emu));
    let add = |body: Value| post(&emu, "/console/api/faults", body);

    // rate_limited: X's 429 with the headers, and the window stays shut.
    let r = add(json!({"method": "GET", "path": "/2/dm_events", "kind": "rate_limited", "reset_seconds": 120})).await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_u64().unwrap();
    let listed = get(&emu, "/console/api/faults").await;
    assert_eq!(
        listed["faults"],
        json!([{"id": id, "method": "GET", "path": "/2/dm_events", "kind": "rate_limited", "remaining": 1, "reset_seconds": 120}])
    );
    let r = api.get("/2/dm_events").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["title"], "Too Many Requests");
    assert_eq!(r.header("x-rate-limit-limit"), Some("15"));
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    let reset: u64 = r.header("x-rate-limit-reset").unwrap().parse().unwrap();
    assert!((now_s() + 115..=now_s() + 121).contains(&reset), "{reset}");
    assert!(
        get(&emu, "/console/api/faults").await["faults"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let again = api.get("/2/dm_events/1").await;
    assert_eq!(again.status, 429, "the whole read group is held");
    assert_eq!(again.header("x-rate-limit-remaining"), Some("0"));
    assert_eq!(
        again.header("x-rate-limit-reset"),
        Some(reset.to_string().as_str())
    );
    assert_eq!(
        api.get("/2/users/me").await.status,
        200,
        "other groups are free"
    );
    let limits = get(&emu, "/console/api/limits").await;
    let me = user(&emu, "me");
    let mine = find_by(&limits["users"], "user_id", &me);
    let read = find_by(&mine["groups"], "group", "read");
    assert_eq!(read["remaining"], 0);
    assert_eq!(
        read["held_until_ms"].as_u64().unwrap().div_ceil(1000),
        reset
    );
    let log = get(&emu, "/console/api/requests?status=429").await;
    assert_eq!(log["requests"][0]["fault"], "rate_limited");
    assert_eq!(log["requests"][0]["rate_limit"]["remaining"], 0);

    // partial_errors: a 200 with X's partial errors added.
    add(json!({"method": "GET", "path": "/2/users/me", "kind": "partial_errors", "count": 2}))
        .await;
    for _ in 0..2 {
        let r = api.get("/2/users/me").await;
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["data"]["id"], me.as_str());
        let t = v["errors"][0]["type"].as_str().unwrap();
        assert!(t.ends_with("/2/problems/resource-not-found"), "{t}");
    }
    assert!(
        api.get("/2/users/me").await.json().get("errors").is_none(),
        "count 2 means two"
    );

    // status, drop, slow.
    add(json!({"path": "/2/users/me", "kind": "status", "status": 503})).await;
    assert_eq!(api.get("/2/users/me").await.status, 503);
    add(json!({"method": "*", "path": "*", "kind": "drop"})).await;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let req = http::Request::get(format!("{}/2/users/me", emu.base_url()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert!(client.request(req).await.is_err(), "the connection closes");
    let dropped = get(&emu, "/console/api/requests?status=closed").await;
    assert_eq!(dropped["requests"][0]["fault"], "drop");
    assert_eq!(dropped["requests"][0]["status"], Value::Null);
    add(json!({"path": "/2/users/me", "kind": "slow", "delay_ms": 300})).await;
    let t = std::time::Instant::now();
    assert_eq!(api.get("/2/users/me").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let slow = get(&emu, "/console/api/requests?limit=1").await;
    assert_eq!(slow["requests"][0]["fault"], "slow");
    assert!(slow["requests"][0]["latency_ms"].as_f64().unwrap() >= 300.0);

    // Console paths never take a fault.
    let r = add(json!({"kind": "status", "status": 500, "count": 3})).await;
    let id = r.json()["id"].as_u64().unwrap();
    get(&emu, "/console/api/world").await;
    assert_eq!(
        get(&emu, "/console/api/faults").await["faults"][0]["remaining"],
        3
    );
    // Removing one, then all.
    assert_eq!(
        call(&emu, "DELETE", &format!("/console/api/faults/{id}"), None)
            .await
            .status,
        200
    );
    refused(&emu, "DELETE", &format!("/console/api/faults/{id}"), 404).await;
    refused(&emu, "DELETE", "/console/api/faults/x", 400).await;
    add(json!({"kind": "drop"})).await;
    add(json!({"kind": "slow"})).await;
    assert_eq!(
        get(&emu, "/console/api/faults").await["faults"][1]["delay_ms"],
        3000
    );
    assert_eq!(
        call(&emu, "DELETE", "/console/api/faults", None)
            .await
            .status,
        200
    );
    assert!(
        get(&emu, "/console/api/faults").await["faults"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(emu.handle().faults(), vec![]);

    // Bad input.
    error(&add(json!({"kind": "melt"})).await, 400);
    error(&add(json!({})).await, 400);
    error(&add(json!({"kind": "drop", "count": 0})).await, 400);
    error(&add(json!({"kind": "drop", "count": 1001})).await, 400);
    error(&add(json!({"kind": "status", "status": 200})).await, 400);
    error(
        &add(json!({"kind": "slow", "delay_ms": 120_001})).await,
        400,
    );
    error(
        &add(json!({"kind": "rate_limited", "reset_seconds": 0})).await,
        400,
    );
    error(&add(json!({"kind": "drop", "method": "BREW"})).await, 400);
    error(
        &add(json!({"kind": "drop", "path": "2/dm_events"})).await,
        400,
    );
    error(&add(json!({"kind": "drop", "path": 5})).await, 400);
}

#[tokio::test]
async fn the_limits_view() {
    let emu = Emulator::builder()
        .seed_events(5)
        .console(true)
        .start()
        .await
        .unwrap();
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let v = get(&emu, "/console/api/limits").await;
    assert_eq!(v["enabled"], true);
    assert_eq!(v["window_seconds"], 900);
    assert_eq!(v["day_seconds"], 86_400);
    assert!(v["now_ms"].as_u64().unwrap() > 0);
    assert_eq!(v["users"].as_array().unwrap().len(), 1, "me only, always");
    assert_eq!(v["users"][0]["user_id"], me.as_str());
    assert_eq!(v["users"][0]["username"], "emu_me");
    let read = &v["users"][0]["groups"][0];
    assert_eq!(read["group"], "read");
    assert_eq!(read["remaining"], 15);
    assert_eq!(read["reset_ms"], Value::Null);
    assert_eq!(read["held_until_ms"], Value::Null);
    assert!(v["app"].as_array().unwrap().is_empty());

    let token = emu
        .handle()
        .issue_oauth2_token(&alice, &["dm.write", "tweet.read", "users.read"])
        .unwrap();
    Api::new(&emu, Auth::Bearer(token))
        .post_json(
            &format!("/2/dm_conversations/with/{me}/messages"),
            json!({"text": "x"}),
        )
        .await;
    Api::new(
        &emu,
        Auth::Bearer(emu.credentials().app_bearer_token.clone()),
    )
    .get("/2/activity/subscriptions")
    .await;
    let v = get(&emu, "/console/api/limits").await;
    let hers = find_by(&v["users"], "user_id", &alice);
    let send = find_by(&hers["groups"], "group", "send");
    assert_eq!(send["limit"], 15);
    assert_eq!(send["remaining"], 14);
    assert!(send["reset_ms"].as_u64().unwrap() > v["now_ms"].as_u64().unwrap());
    assert_eq!(send["day_limit"], 1440);
    assert_eq!(send["day_remaining"], 1439);
    assert!(send["day_reset_ms"].as_u64().is_some());
    let app = v["app"].as_array().unwrap();
    assert!(
        app.iter()
            .any(|g| g["group"] == "subscription_list" && g["remaining"] == 499),
        "{app:?}"
    );
}

#[tokio::test]
async fn webhook_failures_and_the_activity_view() {
    let emu = start().await;
    let fail = |body: Value| post(&emu, "/console/api/webhooks/fail", body);
    let r = fail(json!({"count": 2})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!({"count": 2, "status": 503}));
    assert_eq!(fail(json!({"count": 1, "status": 500})).await.status, 201);
    error(&fail(json!({})).await, 400);
    error(&fail(json!({"count": 0})).await, 400);
    error(&fail(json!({"count": 1, "status": 200})).await, 400);
    let v = get(&emu, "/console/api/activity").await;
    assert_eq!(
        v,
        json!({"stream_connections": [], "subscriptions": [], "webhooks": []})
    );
}

#[tokio::test]
async fn wrong_methods_and_unknown_endpoints() {
    let emu = start().await;
    for (method, path, allow) in [
        ("PUT", "/console/api/world", "GET"),
        ("POST", "/console/api/limits", "GET"),
        ("GET", "/console/api/messages", "POST"),
        ("PUT", "/console/api/requests", "GET, DELETE"),
        ("PUT", "/console/api/faults", "GET, POST, DELETE"),
        ("GET", "/console/api/faults/1", "DELETE"),
        ("POST", "/console/api/updates", "GET"),
        ("GET", "/console/api/stream/drop", "POST"),
    ] {
        let r = call(&emu, method, path, None).await;
        error(&r, 405);
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    refused(&emu, "GET", "/console/api/nothing", 404).await;
    refused(&emu, "GET", "/console/api/", 404).await;
}

#[tokio::test]
async fn the_binary_refuses_the_console_on_a_reachable_address() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args(["--addr", "0.0.0.0:0", "--console"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--console-allow-remote"), "{err}");
    assert!(out.stdout.is_empty());
    // On loopback it starts and names the console's URL.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdm-emulator"))
        .args(["--console", "--events", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&seen).contains("/console/\n") {
            let n = stderr.read(&mut buf).await.unwrap();
            assert!(n > 0, "stderr ended: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the URL in time");
    let line = String::from_utf8_lossy(&seen).into_owned();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let page = raw("GET", &url, &[], None).await;
    assert_eq!(page.status, 200);
    child.kill().await.unwrap();
}

/// This machine's address on a non-loopback interface, if it has one with a route.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    ["192.0.2.1:9", "10.255.255.255:9", "8.8.8.8:9"]
        .iter()
        .find_map(|target| {
            s.connect(target).ok()?;
            let ip = s.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

#[tokio::test]
async fn a_client_off_loopback_is_refused_unless_allowed() {
    let Some(ip) = non_loopback_ip() else {
        // The gate itself is unit-tested with non-loopback addresses (console::tests).
        eprintln!("no non-loopback interface here: the end-to-end check is skipped");
        return;
    };
    for allow in [false, true] {
        let emu = Emulator::builder()
            .seed_events(5)
            .addr("0.0.0.0:0".parse().unwrap())
            .console(true)
            .console_allow_remote(allow)
            .start()
            .await
            .unwrap();
        let port = emu.local_addr().port();
        let remote = raw(
            "GET",
            &format!("http://{ip}:{port}/console/api/world"),
            &[],
            None,
        )
        .await;
        let local = raw(
            "GET",
            &format!("http://127.0.0.1:{port}/console/api/world"),
            &[],
            None,
        )
        .await;
        assert_eq!(local.status, 200);
        if allow {
            assert_eq!(remote.status, 200);
        } else {
            assert_eq!(remote.status, 403);
            assert_eq!(
                remote.json(),
                json!({"error": "the console answers loopback clients only"})
            );
            // The API itself is not the console's to refuse.
            let api = raw("GET", &format!("http://{ip}:{port}/2/users/me"), &[], None).await;
            assert_eq!(api.status, 401);
        }
    }
}

#[tokio::test]
async fn counted_faults_from_the_handle() {
    use xdm_emulator::{Fault, FaultKind};
    let emu = Emulator::builder()
        .seed_events(5)
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let h = emu.handle();
    let id = h.inject_times(Fault::once("GET", "/2/users/me", FaultKind::Status(502)), 2);
    let listed = h.faults();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].remaining), (id, Some(2)));
    let api = Api::new(&emu, Auth::oauth2(&emu));
    assert_eq!(api.get("/2/users/me").await.status, 502);
    assert_eq!(h.faults()[0].remaining, Some(1));
    assert!(h.remove_fault(id));
    assert!(!h.remove_fault(id));
    assert_eq!(api.get("/2/users/me").await.status, 200);
    // Without the console, nothing is kept for it and a drop finds no stream.
    assert_eq!(h.drop_streams(), 0);
}
