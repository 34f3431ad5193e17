//! `GET /2/activity/stream` over a raw TCP client: framing, keep-alives, deliveries, the
//! connection limit, backfill and recovery windows, faults and shutdown.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use xdm_emulator::{
    DeliveryFault, Emulator, Fault, FaultKind, RateLimits, StreamChaos, StreamFault,
};

use crate::common::{Api, Auth, user};

/// A short keep-alive so tests see several without waiting.
const KEEP_ALIVE: Duration = Duration::from_millis(100);

async fn start() -> Emulator {
    Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .stream_keep_alive(KEEP_ALIVE)
        .start()
        .await
        .unwrap()
}

/// What the client read: a piece of the decoded body, its clean end, or a broken connection.
#[derive(Debug, PartialEq)]
enum Read {
    Bytes(Vec<u8>),
    End,
    Broken,
}

/// A raw HTTP/1.1 client decoding the chunked body by hand.
struct StreamClient {
    r: BufReader<TcpStream>,
    status: u16,
    head: String,
}

impl StreamClient {
    async fn connect(emu: &Emulator, query: &str, token: &str) -> Self {
        let s = TcpStream::connect(emu.local_addr()).await.unwrap();
        let mut r = BufReader::new(s);
        let req = format!(
            "GET /2/activity/stream{query} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
            emu.local_addr()
        );
        r.get_mut().write_all(req.as_bytes()).await.unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(5), r.read_line(&mut line))
                .await
                .expect("headers in time")
                .unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let status = head[9..12].parse().unwrap();
        Self { r, status, head }
    }

    async fn app(emu: &Emulator, query: &str) -> Self {
        Self::connect(emu, query, &emu.credentials().app_bearer_token.clone()).await
    }

    /// The body of a non-streaming answer (it has a content-length).
    async fn body_json(&mut self) -> Value {
        let len: usize = self
            .head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut b = vec![0; len];
        self.r.read_exact(&mut b).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    /// The next chunk's data.
    async fn chunk(&mut self, within: Duration) -> Option<Read> {
        let work = async {
            let mut size = String::new();
            if self.r.read_line(&mut size).await.ok()? == 0 || !size.ends_with("\r\n") {
                return Some(Read::Broken);
            }
            let n = usize::from_str_radix(size.trim_end(), 16).ok()?;
            let mut b = vec![0; n + 2];
            if self.r.read_exact(&mut b).await.is_err() {
                return Some(Read::Broken);
            }
            b.truncate(n);
            Some(if n == 0 { Read::End } else { Read::Bytes(b) })
        };
        tokio::time::timeout(within, work).await.ok().flatten()
    }

    /// Reads until `n` non-empty lines arrived (keep-alives skipped), or panics.
    async fn lines(&mut self, n: usize) -> Vec<Value> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while out.len() < n {
            match self.chunk(Duration::from_secs(5)).await {
                Some(Read::Bytes(b)) => buf.extend(b),
                other => panic!("stream ended after {out:?}: {other:?}"),
            }
            while let Some(at) = buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = buf.drain(..at + 2).take(at).collect();
                if !line.is_empty() {
                    out.push(serde_json::from_slice(&line).unwrap());
                }
            }
        }
        out
    }

    /// Everything until the body ends or breaks: the bytes and how it finished.
    async fn rest(&mut self) -> (Vec<u8>, Read) {
        let mut all = Vec::new();
        loop {
            match self
                .chunk(Duration::from_secs(5))
                .await
                .expect("ends in time")
            {
                Read::Bytes(b) => all.extend(b),
                other => return (all, other),
            }
        }
    }
}

async fn subscribe(emu: &Emulator, name: &str, event_type: &str) {
    let id = user(emu, name);
    let token = emu.handle().issue_oauth2_token(&id, &["dm.read"]).unwrap();
    let r = Api::new(emu, Auth::Bearer(token))
        .post_json(
            "/2/activity/subscriptions",
            json!({"event_type": event_type, "filter": {"user_id": id}, "tag": format!("{name}-{event_type}")}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn headers_at_once_then_keep_alives_in_crlf_frames() {
    let emu = Emulator::builder()
        .seed_events(5)
        .stream_keep_alive(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut c = StreamClient::app(&emu, "").await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(c.status, 200);
    assert!(c.head.contains("transfer-encoding: chunked"), "{}", c.head);
    assert!(c.head.contains("content-type: application/json"));
    assert!(c.head.contains("x-rate-limit-limit: 450"));
    for _ in 0..3 {
        assert_eq!(
            c.chunk(Duration::from_secs(2)).await,
            Some(Read::Bytes(b"\r\n".to_vec()))
        );
    }
    assert_eq!(emu.handle().stream_connections(), 1);
}

#[tokio::test]
async fn a_dm_between_two_subscribed_users_is_sent_and_received() {
    let emu = start().await;
    for (who, t) in [
        ("me", "dm.sent"),
        ("me", "dm.received"),
        ("alice", "dm.received"),
        ("alice", "dm.sent"),
    ] {
        subscribe(&emu, who, t).await;
    }
    let mut c = StreamClient::app(&emu, "").await;
    let me = user(&emu, "me");
    let alice = user(&emu, "alice");
    let r = Api::new(&emu, Auth::oauth2(&emu))
        .post_json(
            &format!("/2/dm_conversations/with/{alice}/messages"),
            json!({"text": "hi #rust @alice_emu https://example.com/x"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let dm_id = r.json()["data"]["dm_event_id"].as_str().unwrap().to_owned();
    let lines = c.lines(2).await;
    let mut kinds: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["data"]["event_type"].as_str().unwrap().to_owned(),
                l["data"]["filter"]["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("dm.received".into(), alice.clone()),
            ("dm.sent".into(), me.clone())
        ]
    );
    for l in &lines {
        let d = &l["data"];
        assert!(d["event_uuid"].as_str().unwrap().parse::<i64>().is_ok());
        let item = &d["payload"]["direct_message_events"][0];
        assert_eq!(item["type"], "message_create");
        assert_eq!(item["id"], dm_id.as_str());
        assert!(
            item["created_timestamp"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        );
        let mc = &item["message_create"];
        assert_eq!(mc["sender_id"], me.as_str());
        assert_eq!(mc["target"]["recipient_id"], alice.as_str());
        assert_eq!(
            mc["message_data"]["text"],
            "hi #rust @alice_emu https://example.com/x"
        );
        let e = &mc["message_data"]["entities"];
        assert_eq!(e["hashtags"], json!([{"text": "rust", "indices": [3, 8]}]));
        assert_eq!(e["user_mentions"][0]["screen_name"], "alice_emu");
        assert_eq!(e["user_mentions"][0]["id_str"], alice.as_str());
        assert_eq!(e["urls"][0]["indices"], json!([20, 41]));
        assert_eq!(e["symbols"], json!([]));
        let users = &d["payload"]["users"];
        assert_eq!(users[&me]["data"]["username"], "emu_me");
        assert_eq!(
            users[&alice]["data"]["public_metrics"]["tweet_count_str"],
            "0"
        );
        let tag = format!(
            "{}-{}",
            if d["filter"]["user_id"] == me.as_str() {
                "me"
            } else {
                "alice"
            },
            d["event_type"].as_str().unwrap()
        );
        assert_eq!(d["tag"], tag);
    }
    // A group message produces nothing (one-to-one only); a DM to a user without
    // subscriptions only dm.sent.
    let bob = user(&emu, "bob");
    let r = Api::new(&emu, Auth::oauth2(&emu))
        .post_json(
            "/2/dm_conversations",
            json!({"conversation_type": "Group", "participant_ids": [alice, bob], "message": {"text": "group"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    emu.handle().send_dm(&me, &bob, "to bob").unwrap();
    let l = c.lines(1).await;
    assert_eq!(l[0]["data"]["event_type"], "dm.sent");
    assert_eq!(
        l[0]["data"]["payload"]["direct_message_events"][0]["message_create"]["target"]["recipient_id"],
        bob.as_str()
    );
}

#[tokio::test]
async fn read_and_typing_events() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.read").await;
    subscribe(&emu, "me", "dm.indicate_typing").await;
    let mut c = StreamClient::app(&emu, "").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let h = emu.handle();
    assert!(h.emit_read(&alice, &me, "1234"));
    assert!(h.emit_typing(&alice, &me));
    assert!(!h.emit_typing(&alice, "42"));
    assert!(!h.emit_read("x", &me, "1"));
    let l = c.lines(2).await;
    assert_eq!(l[0]["data"]["event_type"], "dm.read");
    let read = &l[0]["data"]["payload"]["direct_message_mark_read_events"][0];
    assert_eq!(read["sender_id"], alice.as_str());
    assert_eq!(read["target"]["recipient_id"], me.as_str());
    assert_eq!(read["last_read_event_id"], "1234");
    assert_eq!(l[1]["data"]["event_type"], "dm.indicate_typing");
    let typing = &l[1]["data"]["payload"]["direct_message_indicate_typing_events"][0];
    assert_eq!(typing["sender_id"], alice.as_str());
}

#[tokio::test]
async fn credentials_and_parameters() {
    let emu = start().await;
    let c = StreamClient::connect(&emu, "", &emu.credentials().oauth2.access_token.clone()).await;
    assert_eq!(c.status, 403, "a user token is refused");
    let c = StreamClient::connect(&emu, "", "nope").await;
    assert_eq!(c.status, 401);
    for q in [
        "?backfill_minutes=6",
        "?backfill_minutes=x",
        "?start_time=yesterday",
        "?end_time=2026-01-01T00:00:00Z",
        "?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z",
        "?start_time=2999-01-01T00:00:00Z",
        "?foo=1",
    ] {
        let mut c = StreamClient::app(&emu, q).await;
        assert_eq!(c.status, 400, "{q}");
        assert_eq!(c.body_json().await["title"], "Invalid Request");
    }
    let refusing = Emulator::builder()
        .seed_events(5)
        .refuse_backfill(true)
        .start()
        .await
        .unwrap();
    let mut c = StreamClient::app(&refusing, "?backfill_minutes=2").await;
    assert_eq!(c.status, 400);
    let v = c.body_json().await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("backfill_minutes")
    );
    assert_eq!(StreamClient::app(&refusing, "").await.status, 200);
}

#[tokio::test]
async fn two_connections_at_most() {
    let emu = start().await;
    let a = StreamClient::app(&emu, "").await;
    let _b = StreamClient::app(&emu, "").await;
    assert_eq!((a.status, _b.status), (200, 200));
    let mut c = StreamClient::app(&emu, "").await;
    assert_eq!(c.status, 429);
    assert_eq!(
        c.body_json().await,
        json!({
            "title": "ConnectionException",
            "detail": "This stream is currently at the maximum allowed connection limit.",
            "connection_issue": "TooManyConnections",
            "type": "https://api.x.com/2/problems/streaming-connection",
        })
    );
    assert_eq!(emu.handle().stream_connections(), 2);
    drop(a);
    let h = emu.handle();
    wait_for(|| h.stream_connections() == 1).await;
    assert_eq!(StreamClient::app(&emu, "").await.status, 200);
    // The fault refuses a connection even below the limit.
    drop(_b);
    wait_for(|| h.stream_connections() == 0).await;
    h.inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::TooManyConnections,
    ));
    let mut c = StreamClient::app(&emu, "").await;
    assert_eq!(c.status, 429);
    assert_eq!(
        c.body_json().await["connection_issue"],
        "TooManyConnections"
    );
}

#[tokio::test]
async fn connects_have_a_budget() {
    let limits = RateLimits {
        stream_connect: xdm_emulator::GroupLimits {
            user_per_window: 1,
            user_per_day: None,
            app_per_window: Some(1),
            app_per_day: None,
        },
        ..RateLimits::default()
    };
    let emu = Emulator::builder()
        .seed_events(5)
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    assert_eq!(StreamClient::app(&emu, "").await.status, 200);
    let c = StreamClient::app(&emu, "").await;
    assert_eq!(c.status, 429);
    assert!(c.head.contains("x-rate-limit-remaining: 0"));
}

#[tokio::test]
async fn backfill_and_recovery_windows() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let first = emu
        .handle()
        .send_dm(&alice, &me, "before connecting")
        .unwrap();
    let mut plain = StreamClient::app(&emu, "").await;
    let mut back = StreamClient::app(&emu, "?backfill_minutes=1").await;
    let l = back.lines(1).await;
    assert_eq!(
        l[0]["data"]["payload"]["direct_message_events"][0]["id"],
        first.as_str()
    );
    let second = emu.handle().send_dm(&alice, &me, "live").unwrap();
    let id = |v: &Value| v["data"]["payload"]["direct_message_events"][0]["id"].clone();
    assert_eq!(
        id(&plain.lines(1).await[0]),
        second.as_str(),
        "no backfill without asking"
    );
    assert_eq!(id(&back.lines(1).await[0]), second.as_str());
    drop((plain, back));
    let h = emu.handle();
    wait_for(|| h.stream_connections() == 0).await;
    // A window with an end: its events, then a clean end.
    let mut w = StreamClient::app(
        &emu,
        "?start_time=2000-01-01T00:00:00Z&end_time=2999-01-01T00:00:00Z",
    )
    .await;
    let (bytes, how) = w.rest().await;
    assert_eq!(how, Read::End);
    let text = String::from_utf8(bytes).unwrap();
    let got: Vec<Value> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| id(&serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(got, [json!(first), json!(second)]);
    assert!(text.ends_with("\r\n"));
}

#[tokio::test]
async fn operational_disconnect_then_clean_end() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let h = emu.handle();
    h.inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::Stream {
            fault: StreamFault::OperationalDisconnect,
            after_events: 1,
        },
    ));
    let mut c = StreamClient::app(&emu, "").await;
    h.send_dm(&alice, &me, "one").unwrap();
    let l = c.lines(2).await;
    assert_eq!(l[0]["data"]["event_type"], "dm.received");
    assert_eq!(l[1]["errors"][0]["title"], "operational-disconnect");
    assert_eq!(
        l[1]["errors"][0]["disconnect_type"],
        "UpstreamOperationalDisconnect"
    );
    assert_eq!(c.rest().await.1, Read::End);
    // And on an open connection, through the handle.
    let mut c = StreamClient::app(&emu, "").await;
    wait_for(|| h.stream_connections() == 1).await;
    h.fault_streams(StreamFault::OperationalDisconnect);
    let (bytes, how) = c.rest().await;
    assert_eq!(how, Read::End);
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains("operational-disconnect")
    );
}

#[tokio::test]
async fn a_drop_cuts_a_line_in_the_middle() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let h = emu.handle();
    let mut c = StreamClient::app(&emu, "").await;
    h.fault_streams(StreamFault::DropMidLine);
    h.send_dm(&alice, &me, "cut me").unwrap();
    let (bytes, how) = c.rest().await;
    assert_eq!(how, Read::Broken, "no final chunk");
    let text = String::from_utf8_lossy(&bytes);
    let last = text.rsplit("\r\n").next().unwrap();
    assert!(last.starts_with("{\"data\""), "{text:?}");
    assert!(serde_json::from_str::<Value>(last).is_err(), "half a line");
    wait_for(|| h.stream_connections() == 0).await;
    // Armed at connect, after one whole event.
    h.inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::Stream {
            fault: StreamFault::DropMidLine,
            after_events: 1,
        },
    ));
    let mut c = StreamClient::app(&emu, "").await;
    h.send_dm(&alice, &me, "whole").unwrap();
    h.send_dm(&alice, &me, "cut").unwrap();
    assert_eq!(c.lines(1).await.len(), 1);
    assert_eq!(c.rest().await.1, Read::Broken);
}

#[tokio::test]
async fn a_stall_sends_nothing_at_all() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let h = emu.handle();
    h.inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::Stream {
            fault: StreamFault::Stall,
            after_events: 0,
        },
    ));
    let mut c = StreamClient::app(&emu, "").await;
    assert_eq!(c.status, 200);
    h.send_dm(&user(&emu, "alice"), &user(&emu, "me"), "lost")
        .unwrap();
    assert_eq!(
        c.chunk(KEEP_ALIVE * 5).await,
        None,
        "silence, no keep-alive"
    );
    assert_eq!(h.stream_connections(), 1, "still held open");
}

#[tokio::test]
async fn redelivery_and_reordering() {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let h = emu.handle();
    let mut c = StreamClient::app(&emu, "").await;
    h.inject_delivery_fault(DeliveryFault::Redeliver);
    let a = h.send_dm(&alice, &me, "twice").unwrap();
    let l = c.lines(2).await;
    let id = |v: &Value| {
        v["data"]["payload"]["direct_message_events"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!((id(&l[0]), id(&l[1])), (a.clone(), a));
    assert_ne!(l[0]["data"]["event_uuid"], l[1]["data"]["event_uuid"]);
    h.inject_delivery_fault(DeliveryFault::Reorder);
    let b = h.send_dm(&alice, &me, "first").unwrap();
    let d = h.send_dm(&alice, &me, "second").unwrap();
    let l = c.lines(2).await;
    assert_eq!((id(&l[0]), id(&l[1])), (d, b));
}

/// Sends `n` DMs to a subscribed user while a client reconnects after each drop; returns
/// how many lines each connection got before it broke.
async fn chaos_run(seed: u64) -> Vec<usize> {
    let emu = start().await;
    subscribe(&emu, "me", "dm.received").await;
    let (me, alice) = (user(&emu, "me"), user(&emu, "alice"));
    let h = emu.handle();
    h.set_stream_chaos(Some(StreamChaos { seed, one_in: 3 }));
    let mut per_conn = Vec::new();
    let mut c = StreamClient::app(&emu, "").await;
    let mut got = 0;
    for i in 0..12 {
        h.send_dm(&alice, &me, &format!("m{i}")).unwrap();
        // Each line either arrives whole or the connection breaks.
        let mut buf = Vec::new();
        loop {
            match c.chunk(Duration::from_secs(5)).await.unwrap() {
                Read::Bytes(b) if b == b"\r\n" && buf.is_empty() => continue,
                Read::Bytes(b) => {
                    buf.extend(b);
                    if buf.ends_with(b"\r\n") {
                        got += 1;
                        break;
                    }
                }
                Read::Broken => {
                    per_conn.push(got);
                    got = 0;
                    wait_for(|| h.stream_connections() == 0).await;
                    c = StreamClient::app(&emu, "").await;
                    break;
                }
                Read::End => panic!("chaos never ends cleanly"),
            }
        }
    }
    per_conn.push(got);
    per_conn
}

#[tokio::test]
async fn chaos_is_reproducible_from_its_seed() {
    let a = chaos_run(7).await;
    assert_eq!(a, chaos_run(7).await);
    assert!(a.len() > 1, "some drops happened: {a:?}");
    assert_eq!(a.iter().sum::<usize>() + a.len() - 1, 12, "{a:?}");
    let others: Vec<Vec<usize>> = futures_like(&[1, 2, 3]).await;
    assert!(others.iter().any(|o| *o != a), "the seed matters");
}

async fn futures_like(seeds: &[u64]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for s in seeds {
        out.push(chaos_run(*s).await);
    }
    out
}

#[tokio::test]
async fn header_delay_is_a_fault() {
    let emu = start().await;
    emu.handle().inject(Fault::once(
        "GET",
        "/2/activity/stream",
        FaultKind::DelayHeaders(Duration::from_millis(300)),
    ));
    let t = std::time::Instant::now();
    let c = StreamClient::app(&emu, "").await;
    assert_eq!(c.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn shutdown_ends_streams_cleanly() {
    let emu = Emulator::builder()
        .seed_events(5)
        .stream_keep_alive(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let mut c = StreamClient::app(&emu, "").await;
    emu.shutdown().await;
    assert_eq!(c.rest().await.1, Read::End);
}
