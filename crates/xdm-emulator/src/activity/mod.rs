//! The X Activity API: subscriptions, the activity stream and webhooks.
//!
//! Every DM sent in the emulator between the two members of a one-to-one conversation becomes
//! one envelope per matching subscription (`dm.sent` for the sender, `dm.received` for the
//! recipient). A subscription without a `webhook_id` delivers to every open stream
//! connection; one with a `webhook_id` delivers to that webhook only (X does not say whether
//! it also reaches the stream; the emulator picks the reading an integrator reported).

pub(crate) mod payload;
pub(crate) mod stream;
pub(crate) mod webhook;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::ids::{IdGen, Rng};
use crate::state::{ConvKey, EventType, World};
use stream::StreamConn;
use webhook::WebhookJob;

/// How long delivered envelopes are kept for backfill and replay (X's replay reaches 24 h).
const HISTORY_MS: u64 = 24 * 60 * 60 * 1000;

/// What a test can do to the open stream connections, or to one at connect through
/// [`FaultKind::Stream`](crate::FaultKind::Stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    /// The next event line is cut in the middle and the connection is aborted (no final
    /// chunk), as when a connection dies.
    DropMidLine,
    /// An `operational-disconnect` error line is sent, then the stream ends cleanly.
    OperationalDisconnect,
    /// Nothing more is sent, not even keep-alives, and the connection stays open: only an
    /// idle timer notices. Events meanwhile are lost to this connection.
    Stall,
}

/// What a test can do to the next deliveries, stream and webhook alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFault {
    /// The next envelope is delivered twice; the copy has an `event_uuid` of its own, as X
    /// calls it a per-delivery id.
    Redeliver,
    /// The next envelope is held back and delivered after the one that follows it.
    Reorder,
}

/// Random stream drops, reproducible from a seed: before each event line sent on a stream
/// connection, one draw in `one_in` cuts that connection in the middle of the line (at a
/// random byte). The draws follow the order of the lines, so the same sends give the same
/// drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamChaos {
    /// The seed of the draws.
    pub seed: u64,
    /// One line in this many, on average, is cut (1 cuts every line; 0 is treated as 1).
    pub one_in: u32,
}

/// The outcome of the last CRC check the emulator made against a webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrcCheck {
    /// The URL checked.
    pub url: String,
    /// The `crc_token` sent.
    pub crc_token: String,
    /// The status received, or `None` when nothing came back (refused, timeout, TLS).
    pub status: Option<u16>,
    /// Whether the answer was a 200 with the right `response_token`.
    pub valid: bool,
    /// Why it failed, in words; empty when valid.
    pub reason: String,
}

/// One POST the emulator made (or keeps trying to make) to a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The exact body sent (an XAA envelope, or a `replay_job_status` object).
    pub body: String,
    /// Whether it was sent by a replay job (replayed event or the completion notice).
    pub replay: bool,
    /// The status of each attempt in order; `None` for an attempt that got no answer.
    pub attempts: Vec<Option<u16>>,
}

impl WebhookDelivery {
    /// Whether some attempt got a 2xx.
    pub fn delivered(&self) -> bool {
        self.attempts
            .iter()
            .any(|s| s.is_some_and(|s| (200..300).contains(&s)))
    }
}

/// Settings of the activity endpoints, set through the builder.
#[derive(Debug, Clone)]
pub(crate) struct ActivityConfig {
    pub(crate) keep_alive: Duration,
    pub(crate) connection_limit: usize,
    pub(crate) subscription_cap: usize,
    pub(crate) webhook_cap: usize,
    pub(crate) loopback_webhooks: bool,
    pub(crate) refuse_backfill: bool,
    pub(crate) retry_delays: Vec<Duration>,
    pub(crate) crc_timeout: Duration,
    pub(crate) delivery_timeout: Duration,
    pub(crate) webhook_target: Option<SocketAddr>,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(20),
            connection_limit: 2,
            subscription_cap: 1500,
            webhook_cap: 1,
            loopback_webhooks: false,
            refuse_backfill: false,
            retry_delays: vec![
                Duration::from_secs(30),
                Duration::from_secs(90),
                Duration::from_secs(180),
            ],
            crc_timeout: Duration::from_secs(3),
            delivery_timeout: Duration::from_secs(10),
            webhook_target: None,
        }
    }
}

/// One subscription of the app.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) id: u64,
    pub(crate) event_type: String,
    /// The filter as given (its keys in their order), echoed on every event.
    pub(crate) filter: Map<String, Value>,
    pub(crate) user_id: Option<u64>,
    pub(crate) tag: Option<String>,
    pub(crate) webhook_id: Option<u64>,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
}

/// One registered webhook.
#[derive(Debug)]
pub(crate) struct Webhook {
    pub(crate) id: u64,
    pub(crate) url: String,
    pub(crate) valid: bool,
    pub(crate) created_ms: u64,
    pub(crate) queue: UnboundedSender<WebhookJob>,
    pub(crate) deliveries: Vec<DeliveryRecord>,
    /// The running replay job, if any (one at a time).
    pub(crate) replay_job: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct DeliveryRecord {
    pub(crate) at_ms: u64,
    /// The envelope as a value, so a replay can add `meta`.
    pub(crate) envelope: Option<Value>,
    pub(crate) body: Bytes,
    pub(crate) replay: bool,
    pub(crate) attempts: Vec<Option<u16>>,
}

/// An envelope sent to the stream, kept for backfill and recovery windows.
#[derive(Debug, Clone)]
pub(crate) struct StreamRecord {
    pub(crate) at_ms: u64,
    pub(crate) line: Bytes,
}

/// A delivery about to fan out: the subscription it is for and its envelope.
#[derive(Debug, Clone)]
struct Outgoing {
    webhook_id: Option<u64>,
    envelope: Value,
}

/// The activity state of the app.
#[derive(Debug)]
pub(crate) struct Activity {
    pub(crate) config: ActivityConfig,
    pub(crate) subscriptions: BTreeMap<u64, Subscription>,
    pub(crate) webhooks: BTreeMap<u64, Webhook>,
    pub(crate) streams: Vec<StreamConn>,
    pub(crate) stream_log: VecDeque<StreamRecord>,
    pub(crate) last_crc: Option<CrcCheck>,
    pub(crate) ids: IdGen,
    pub(crate) rng: Rng,
    pending_faults: VecDeque<DeliveryFault>,
    held_back: Option<Outgoing>,
    pub(crate) chaos: Option<Rng>,
    pub(crate) chaos_one_in: u32,
    /// The statuses the next webhook delivery attempts fail with, in order.
    pub(crate) webhook_failures: VecDeque<u16>,
    /// Turns true when the emulator shuts down; stream bodies end on it.
    pub(crate) stop: tokio::sync::watch::Receiver<bool>,
}

impl Activity {
    pub(crate) fn new(
        config: ActivityConfig,
        seed: u64,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self {
            config,
            subscriptions: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            streams: Vec::new(),
            stream_log: VecDeque::new(),
            last_crc: None,
            ids: IdGen::default(),
            rng: Rng::new(seed ^ 0xAC71_F17E_5EED_0001),
            pending_faults: VecDeque::new(),
            held_back: None,
            chaos: None,
            chaos_one_in: 1,
            webhook_failures: VecDeque::new(),
            stop,
        }
    }

    /// A new snowflake-like id for a subscription, webhook or job.
    pub(crate) fn new_id(&mut self, now_ms: u64) -> u64 {
        self.ids.next_at(now_ms)
    }

    /// Stream connections still open (a stalled one counts: X still holds it).
    pub(crate) fn open_streams(&mut self) -> usize {
        self.streams.retain(|c| !c.is_gone());
        self.streams.len()
    }

    pub(crate) fn add_delivery_fault(&mut self, f: DeliveryFault) {
        self.pending_faults.push_back(f);
    }

    pub(crate) fn set_chaos(&mut self, chaos: Option<StreamChaos>) {
        self.chaos = chaos.map(|c| Rng::new(c.seed));
        self.chaos_one_in = chaos.map_or(1, |c| c.one_in.max(1));
    }

    /// Applies a fault to every open stream connection.
    pub(crate) fn fault_streams(&mut self, fault: StreamFault) {
        for c in &mut self.streams {
            c.apply(fault);
        }
    }

    /// Cuts every open stream connection at once, as a network failure would; returns how
    /// many were open.
    pub(crate) fn drop_streams(&mut self) -> usize {
        self.streams.retain(|c| !c.is_gone());
        let n = self.streams.len();
        for c in &mut self.streams {
            c.cut();
        }
        self.streams.clear();
        n
    }

    /// Makes the next `count` webhook delivery attempts fail with `status`, without
    /// reaching the webhook.
    pub(crate) fn fail_webhooks(&mut self, count: usize, status: u16) {
        self.webhook_failures
            .extend(std::iter::repeat_n(status, count));
    }

    /// The users with a subscription of `event_type` for `user_id`, and the subscriptions.
    fn matching(&self, event_type: &str, user_id: u64) -> Vec<Subscription> {
        self.subscriptions
            .values()
            .filter(|s| s.event_type == event_type && s.user_id == Some(user_id))
            .cloned()
            .collect()
    }

    /// Turns the events `from..` of the world (just written) into deliveries.
    pub(crate) fn on_new_events(&mut self, w: &World, from: usize, now_ms: u64) {
        for pos in from..w.events.len() {
            let e = &w.events[pos];
            if e.kind != EventType::MessageCreate {
                continue;
            }
            // One-to-one only: the v1.1 payload has a single recipient and X does not say
            // that group conversations produce DM activity.
            let conv = &w.convs[e.conv as usize];
            let ConvKey::Pair(a, b) = conv.key else {
                continue;
            };
            let sender = w.users[e.sender as usize].id;
            let recipient = if a == sender { b } else { a };
            let item = payload::message_item(w, e, recipient);
            for (kind, user) in [("dm.sent", sender), ("dm.received", recipient)] {
                if kind == "dm.received" && recipient == sender {
                    continue;
                }
                for sub in self.matching(kind, user) {
                    let users = payload::users(w, &[sender, recipient]);
                    let body = serde_json::json!({
                        "direct_message_events": [item.clone()],
                        "users": users,
                    });
                    self.deliver(&sub, body, now_ms);
                }
            }
        }
    }

    /// A read receipt: `reader` read `author`'s messages up to `last_read`.
    pub(crate) fn on_read(
        &mut self,
        w: &World,
        reader: u64,
        author: u64,
        last_read: u64,
        now_ms: u64,
    ) {
        for sub in self.matching("dm.read", author) {
            let body = serde_json::json!({
                "direct_message_mark_read_events": [{
                    "created_timestamp": now_ms.to_string(),
                    "sender_id": reader.to_string(),
                    "target": {"recipient_id": author.to_string()},
                    "last_read_event_id": last_read.to_string(),
                }],
                "users": payload::users(w, &[reader, author]),
            });
            self.deliver(&sub, body, now_ms);
        }
    }

    /// A typing indicator: `typist` is typing to `recipient`.
    pub(crate) fn on_typing(&mut self, w: &World, typist: u64, recipient: u64, now_ms: u64) {
        for sub in self.matching("dm.indicate_typing", recipient) {
            let body = serde_json::json!({
                "direct_message_indicate_typing_events": [{
                    "created_timestamp": now_ms.to_string(),
                    "sender_id": typist.to_string(),
                    "target": {"recipient_id": recipient.to_string()},
                }],
                "users": payload::users(w, &[typist, recipient]),
            });
            self.deliver(&sub, body, now_ms);
        }
    }

    fn event_uuid(&mut self) -> String {
        // X's published DM samples carry negative ids; so does about half of these.
        (self.rng.next_u64() as i64).to_string()
    }

    /// Wraps `body` in the envelope of `sub` and sends it, applying any delivery fault.
    fn deliver(&mut self, sub: &Subscription, body: Value, now_ms: u64) {
        let mut data = Map::new();
        data.insert("event_uuid".into(), Value::String(self.event_uuid()));
        data.insert("filter".into(), Value::Object(sub.filter.clone()));
        data.insert("event_type".into(), Value::String(sub.event_type.clone()));
        if let Some(t) = &sub.tag {
            data.insert("tag".into(), Value::String(t.clone()));
        }
        data.insert("payload".into(), body);
        let out = Outgoing {
            webhook_id: sub.webhook_id,
            envelope: serde_json::json!({ "data": Value::Object(data) }),
        };
        match self.pending_faults.pop_front() {
            Some(DeliveryFault::Redeliver) => {
                let mut copy = out.clone();
                copy.envelope["data"]["event_uuid"] = Value::String(self.event_uuid());
                self.send(out, now_ms);
                self.send(copy, now_ms);
            }
            Some(DeliveryFault::Reorder) => match self.held_back.take() {
                // Two reorders in a row: the first held envelope goes out behind this one.
                Some(prev) => {
                    self.held_back = Some(out);
                    self.send(prev, now_ms);
                }
                None => self.held_back = Some(out),
            },
            None => {
                self.send(out, now_ms);
                if let Some(prev) = self.held_back.take() {
                    self.send(prev, now_ms);
                }
            }
        }
    }

    fn send(&mut self, out: Outgoing, now_ms: u64) {
        match out.webhook_id {
            Some(id) => self.deliver_to_webhook(id, out.envelope, now_ms),
            None => self.deliver_to_streams(&out.envelope, now_ms),
        }
    }

    fn deliver_to_webhook(&mut self, id: u64, envelope: Value, now_ms: u64) {
        let Some(hook) = self.webhooks.get_mut(&id) else {
            return;
        };
        // An invalid webhook receives nothing until a PUT revalidates it.
        if !hook.valid {
            return;
        }
        let body = Bytes::from(envelope.to_string());
        hook.push(now_ms, Some(envelope), body, false);
    }

    fn deliver_to_streams(&mut self, envelope: &Value, now_ms: u64) {
        let mut line = envelope.to_string().into_bytes();
        line.extend_from_slice(b"\r\n");
        let line = Bytes::from(line);
        self.stream_log.push_back(StreamRecord {
            at_ms: now_ms,
            line: line.clone(),
        });
        while self
            .stream_log
            .front()
            .is_some_and(|r| r.at_ms + HISTORY_MS < now_ms)
        {
            self.stream_log.pop_front();
        }
        self.streams.retain(|c| !c.is_gone());
        for c in self.streams.iter_mut().filter(|c| c.takes_events()) {
            let cut = chaos_cut(&mut self.chaos, self.chaos_one_in, line.len());
            c.send_event(&line, cut);
        }
    }

    /// Sends one line to a connection not yet in the hub (backfill), under the same chaos.
    pub(crate) fn send_line(&mut self, conn: &mut StreamConn, line: &Bytes) {
        if conn.takes_events() {
            let cut = chaos_cut(&mut self.chaos, self.chaos_one_in, line.len());
            conn.send_event(line, cut);
        }
    }
}

/// A chaos draw for one line of `len` bytes: where to cut it, if at all.
fn chaos_cut(chaos: &mut Option<Rng>, one_in: u32, len: usize) -> Option<usize> {
    let r = chaos.as_mut()?;
    (r.below(u64::from(one_in)) == 0).then(|| r.below(len as u64) as usize)
}

impl Webhook {
    /// Records a delivery without queueing it; returns its index.
    pub(crate) fn record(
        &mut self,
        at_ms: u64,
        envelope: Option<Value>,
        body: Bytes,
        replay: bool,
    ) -> usize {
        self.deliveries.push(DeliveryRecord {
            at_ms,
            envelope,
            body,
            replay,
            attempts: Vec::new(),
        });
        self.deliveries.len() - 1
    }

    /// Records a delivery and queues its first attempt.
    pub(crate) fn push(&mut self, at_ms: u64, envelope: Option<Value>, body: Bytes, replay: bool) {
        let index = self.record(at_ms, envelope, body.clone(), replay);
        let _ = self.queue.send(WebhookJob::Deliver { index, body });
    }

    pub(crate) fn view(&self) -> Vec<WebhookDelivery> {
        self.deliveries
            .iter()
            .map(|d| WebhookDelivery {
                body: String::from_utf8_lossy(&d.body).into_owned(),
                replay: d.replay,
                attempts: d.attempts.clone(),
            })
            .collect()
    }
}
