//! Receiving DMs by webhook, with any HTTP server, and managing the app's webhooks.
//!
//! [`WebhookReceiver::handle`] turns one inbound request into its answer: CRC checks are
//! answered, requests without a valid signature are refused with 401 before their body is
//! read, and verified deliveries are decoded, deduplicated and queued for the application,
//! which reads them from [`WebhookEvents`]. The answer is 200 only once the delivery is in that
//! queue; when the queue is full (the application is not keeping up) or the application has
//! dropped its end, the answer is 503, X retries later, and nothing was marked as seen, so the
//! retry is taken.
//!
//! ```
//! use bytes::Bytes;
//! use xdm_client::webhook::{WebhookItem, WebhookReceiver};
//! use xdm_core::activity::webhook::ConsumerSecret;
//!
//! let secret = ConsumerSecret::new("example_consumer_secret");
//! let (receiver, mut items) = WebhookReceiver::builder(secret.clone()).capacity(8).build();
//!
//! // A CRC check.
//! let crc = http::Request::get("/hook?crc_token=challenge_string").body(Bytes::new())?;
//! let answer = receiver.handle(crc);
//! assert_eq!(answer.status(), 200);
//! assert_eq!(
//!     answer.body(),
//!     r#"{"response_token":"sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="}"#
//! );
//!
//! // A signed delivery.
//! let body = Bytes::from_static(br#"{"data":{"event_type":"dm.received","filter":{"user_id":"1"},"payload":{"direct_message_events":[{"type":"message_create","id":"42","created_timestamp":"1784928224372","message_create":{"sender_id":"2","target":{"recipient_id":"1"},"message_data":{"text":"hi"}}}]}}}"#);
//! let post = |body: &Bytes| {
//!     http::Request::post("/hook")
//!         .header("x-twitter-webhooks-signature", secret.sign(body))
//!         .body(body.clone())
//! };
//! assert_eq!(receiver.handle(post(&body)?).status(), 200);
//! // X sends it again: answered 200, not queued twice.
//! assert_eq!(receiver.handle(post(&body)?).status(), 200);
//! let Some(WebhookItem::Delivery(delivery)) = items.try_next() else { panic!() };
//! assert_eq!(delivery.events.len(), 1);
//! assert!(items.try_next().is_none());
//! # Ok::<(), http::Error>(())
//! ```
//!
//! [`Webhooks`] registers, lists, revalidates and deletes webhooks and asks for replays, with
//! the app's Bearer token.

mod manage;
mod queue;
mod receiver;

pub use manage::Webhooks;
pub use queue::WebhookEvents;
pub use receiver::{WebhookItem, WebhookReceiver, WebhookReceiverBuilder};

#[cfg(test)]
mod tests;
