//! Real-time DM events from the X Activity API, by stream and by webhook (sans-IO).
//!
//! Bytes go in, events come out; no socket, no clock:
//!
//! - [`stream`]: the `GET /2/activity/stream` body, chunk by chunk, into keep-alives,
//!   deliveries, problems (operational disconnects) and reports of skipped lines;
//! - [`webhook`]: CRC answers, signature checks, and the classification of an inbound request;
//! - [`decode_delivery`]: one delivery body, Activity API envelope or Account Activity body;
//! - [`session`]: when to connect, reconnect, back off or stop, following X's rules for
//!   streams, and which gap to fill after an outage;
//! - [`dedup`]: each message once, whether it came as `dm.sent`, `dm.received`, a backfill, a
//!   replay, a redelivery or from `GET /2/dm_events`.
//!
//! Every delivery becomes an [`ActivityDelivery`]: the envelope facts (`event_uuid`,
//! `event_type`, `filter`, `tag`, `meta.replay`), the payload's users as [`User`] values, and
//! a list of [`ActivityEvent`]s. Messages are the same [`DmEvent`] that `/2/dm_events`
//! returns (see [`DmMessage`] for the mapping and the assumptions it rests on); read receipts,
//! typing notices and revocations have their own types; anything else is kept whole as an
//! [`UnknownEvent`], never an error.
//!
//! ```
//! use xdm_core::activity::{decode_delivery, ActivityEvent, Direction};
//!
//! let body = br#"{"data":{"event_uuid":"-6850472171600526495","filter":{"user_id":"1111111111111111111"},
//!   "event_type":"dm.received","tag":"dm-inbound","payload":{"direct_message_events":[
//!   {"type":"message_create","id":"2080765901528535096","created_timestamp":"1784928224372",
//!    "message_create":{"target":{"recipient_id":"1111111111111111111"},"sender_id":"2222222222222222222",
//!    "message_data":{"text":"hello!"}}}]}}}"#;
//! let delivery = decode_delivery(body)?;
//! let ActivityEvent::Message(message) = &delivery.events[0] else { panic!() };
//! assert_eq!(message.direction, Direction::Received);
//! assert_eq!(message.event.text.as_deref(), Some("hello!"));
//! assert_eq!(message.event.created_at.as_deref(), Some("2026-07-24T21:23:44.372Z"));
//! assert_eq!(
//!     message.event.dm_conversation_id.as_deref(),
//!     Some("1111111111111111111-2222222222222222222")
//! );
//! # Ok::<(), xdm_core::activity::DecodeError>(())
//! ```
//!
//! [`User`]: crate::models::User
//! [`DmEvent`]: crate::models::DmEvent

pub mod dedup;
mod event;
pub mod session;
pub mod stream;
pub mod webhook;
mod wire;

pub use event::{
    ActivityDelivery, ActivityEvent, Direction, DmMessage, Filter, RawJson, ReadReceipt, Revoked,
    Source, Typing, UnknownEvent, UnknownReason,
};

use wire::Document;

/// Decodes an X Activity API envelope or an Account Activity body, as a webhook receives it,
/// without a signature check (for bodies that were verified elsewhere, or read from a store).
///
/// # Errors
///
/// [`DecodeError`] when the body is not JSON, or neither an envelope (`data`) nor an Account
/// Activity body (`for_user_id`).
pub fn decode_delivery(body: &[u8]) -> Result<ActivityDelivery, DecodeError> {
    match wire::document(body).map_err(DecodeError)? {
        Document::Envelope {
            data: Some(data),
            meta,
            ..
        } => wire::envelope(data, wire::is_replay(meta)).map_err(DecodeError),
        Document::AccountActivity(members) => Ok(wire::account_activity(&members)),
        _ => Err(DecodeError(
            "neither an activity envelope (`data`) nor an Account Activity body (`for_user_id`)"
                .to_owned(),
        )),
    }
}

/// A body that is not a delivery; the message says why without quoting the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("not an activity delivery: {0}")]
pub struct DecodeError(pub String);
