//! Handing out each event once, whatever path it came by.
//!
//! The same message reaches a receiver many times: as `dm.sent` for its sender and
//! `dm.received` for its recipient when both are subscribed, again from a stream's backfill,
//! from X's redeliveries and replays (`meta.replay`), from several apps sharing a webhook, and
//! from `GET /2/dm_events` when a gap is filled. All of these carry the same DM id (the Activity
//! API and `/2/dm_events` share their id space), so [`EventDeduper`] keys messages on it alone.
//!
//! ```
//! use xdm_core::activity::dedup::EventDeduper;
//! use xdm_core::activity::decode_delivery;
//! use xdm_core::models::DmEvent;
//!
//! let body = |kind: &str, user: &str| format!(
//!     r#"{{"data":{{"event_type":"{kind}","filter":{{"user_id":"{user}"}},"payload":{{"direct_message_events":[
//!        {{"type":"message_create","id":"42","created_timestamp":"1784928224372",
//!          "message_create":{{"sender_id":"2","target":{{"recipient_id":"1"}},"message_data":{{"text":"hi"}}}}}}]}}}}}}"#);
//! let mut seen = EventDeduper::new();
//! let mut received = decode_delivery(body("dm.received", "1").as_bytes())?;
//! let mut sent = decode_delivery(body("dm.sent", "2").as_bytes())?;
//! assert_eq!(seen.retain_new(&mut received), 0);
//! assert_eq!(seen.retain_new(&mut sent), 1);
//! assert!(sent.events.is_empty());
//! // The same message fetched over REST.
//! let mut rest = DmEvent::default();
//! rest.id = Some("42".into());
//! assert!(!seen.first_time_dm_event(&rest));
//! # Ok::<(), xdm_core::activity::DecodeError>(())
//! ```

use serde::{Deserialize, Serialize};

use super::event::{ActivityDelivery, ActivityEvent};
use crate::dedup::RecentIds;
use crate::models::DmEvent;

/// A bounded memory of the events already handed out, keyed per event (see
/// [`EventDeduper::key`]); the oldest keys are forgotten first.
#[derive(Debug, Clone)]
pub struct EventDeduper {
    seen: RecentIds,
}

impl Default for EventDeduper {
    fn default() -> Self {
        Self::new()
    }
}

/// What an [`EventDeduper`] remembers, to keep across a restart. Serialisable as
/// `{"capacity":N,"keys":[…]}`, oldest key first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DedupSnapshot {
    /// How many keys the deduper remembers at most.
    pub capacity: usize,
    /// The remembered keys, oldest first.
    pub keys: Vec<String>,
}

impl DedupSnapshot {
    /// A snapshot of `keys` (oldest first) for a deduper of `capacity`.
    pub fn new(capacity: usize, keys: Vec<String>) -> DedupSnapshot {
        DedupSnapshot { capacity, keys }
    }
}

impl EventDeduper {
    /// The keys remembered by [`new`](Self::new). A backfill reaches back 5 minutes and a
    /// replay 24 hours; 10,000 keys (about 1 MB) hold a day of a busy account's DMs.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A deduper of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) keys.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A deduper of `capacity` keys (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        EventDeduper {
            seen: RecentIds::with_capacity(capacity),
        }
    }

    /// A deduper that remembers what `snapshot` holds.
    pub fn restore(snapshot: DedupSnapshot) -> Self {
        EventDeduper {
            seen: RecentIds::restore(snapshot.capacity, snapshot.keys),
        }
    }

    /// What this deduper remembers, for [`restore`](Self::restore).
    pub fn snapshot(&self) -> DedupSnapshot {
        DedupSnapshot {
            capacity: self.seen.capacity(),
            keys: self.seen.snapshot(),
        }
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The key an event is remembered by, or `None` for events that cannot be told apart
    /// (they always pass):
    ///
    /// - a message: its DM id, the same key as the [`DmEvent`] from `/2/dm_events`;
    /// - a read receipt: `read:{reader}:{other}:{last read id}`;
    /// - typing: `typing:{typist}:{recipient}:{time}` (no key without a time, since every
    ///   notice of one typist would otherwise merge);
    /// - a revocation: `revoke:{user}:{time}`;
    /// - an unknown event: none.
    ///
    /// The prefixes keep these keys apart from DM ids, which are digits only.
    pub fn key(event: &ActivityEvent) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match event {
            ActivityEvent::Message(m) => m.event.id.as_deref().map(Cow::Borrowed),
            ActivityEvent::Read(r) => Some(Cow::Owned(format!(
                "read:{}:{}:{}",
                r.reader_id,
                r.other_id.as_deref().unwrap_or(""),
                r.last_read_event_id
            ))),
            ActivityEvent::Typing(t) => t.at.as_deref().map(|at| {
                Cow::Owned(format!(
                    "typing:{}:{}:{at}",
                    t.typist_id,
                    t.recipient_id.as_deref().unwrap_or("")
                ))
            }),
            ActivityEvent::Revoked(r) => Some(Cow::Owned(format!(
                "revoke:{}:{}",
                r.user_id,
                r.at.as_deref().unwrap_or("")
            ))),
            ActivityEvent::Unknown(_) => None,
        }
    }

    /// Whether `event` is new: `true` (and it is remembered from now on) unless its key was
    /// seen; events without a key are always new.
    pub fn first_time(&mut self, event: &ActivityEvent) -> bool {
        Self::key(event).is_none_or(|key| self.seen.first_time(&key))
    }

    /// Whether a message fetched from `/2/dm_events` is new, by its id (events without an id
    /// are always new). Fill gaps through this so that a message the stream already delivered
    /// is not handed out again, and the other way round.
    pub fn first_time_dm_event(&mut self, event: &DmEvent) -> bool {
        event
            .id
            .as_deref()
            .is_none_or(|id| self.seen.first_time(id))
    }

    /// Whether a DM id was seen (without remembering it).
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Keeps the events of `delivery` seen for the first time, in order, and returns how many
    /// were dropped.
    pub fn retain_new(&mut self, delivery: &mut ActivityDelivery) -> usize {
        let before = delivery.events.len();
        delivery.events.retain(|event| self.first_time(event));
        before - delivery.events.len()
    }
}
