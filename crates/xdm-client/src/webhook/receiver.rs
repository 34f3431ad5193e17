//! The framework-free receiver: one request in, one answer out.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use xdm_core::activity::ActivityDelivery;
use xdm_core::activity::dedup::{DedupSnapshot, EventDeduper};
use xdm_core::activity::webhook::{ConsumerSecret, Inbound, ReplayJobStatus, classify};

use super::queue::{Offer, Shared, WebhookEvents};

/// What the receiver hands to the application.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookItem {
    /// A verified delivery (X Activity API, or an Account Activity API body, as its
    /// [`source`](ActivityDelivery::source) says) holding only the events not handed out
    /// before. A delivery whose every event was a duplicate is not queued at all.
    Delivery(Box<ActivityDelivery>),
    /// A replay job ended. It may arrive before the last of the replayed deliveries.
    ReplayJobStatus(ReplayJobStatus),
    /// A correctly signed body of no known shape, kept whole.
    Unknown(Bytes),
}

/// Settings of a [`WebhookReceiver`]; see [`WebhookReceiver::builder`].
#[derive(Debug)]
pub struct WebhookReceiverBuilder {
    secret: ConsumerSecret,
    capacity: usize,
    max_body_bytes: usize,
    deduper: EventDeduper,
}

impl WebhookReceiverBuilder {
    /// How many items may wait for the application before deliveries are answered 503
    /// (default [`WebhookReceiver::DEFAULT_CAPACITY`]; at least 1).
    pub fn capacity(mut self, items: usize) -> Self {
        self.capacity = items.max(1);
        self
    }

    /// The largest body accepted; a larger one is answered 413 (default
    /// [`WebhookReceiver::DEFAULT_MAX_BODY_BYTES`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Starts from a deduper restored from a [`WebhookReceiver::dedup_snapshot`] taken before
    /// a restart, so that redeliveries and replays of what was handed out then are dropped.
    pub fn deduper(mut self, deduper: EventDeduper) -> Self {
        self.deduper = deduper;
        self
    }

    /// The receiver (clone it into every server task) and the application's end.
    pub fn build(self) -> (WebhookReceiver, WebhookEvents) {
        let shared = Shared::new(self.capacity, self.deduper);
        let receiver = WebhookReceiver {
            inner: Arc::new(Inner {
                secret: self.secret,
                max_body_bytes: self.max_body_bytes,
                shared: shared.clone(),
            }),
        };
        (receiver, WebhookEvents::new(shared))
    }
}

#[derive(Debug)]
struct Inner {
    secret: ConsumerSecret,
    max_body_bytes: usize,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.producer_gone();
    }
}

/// Answers X's webhook calls and queues what they carry for the application.
///
/// Cheap to clone; the clones share the queue and the deduper. See the
/// [module documentation](super) for an example, and `xdm_hyper::webhook` for a ready server.
///
/// The answers:
///
/// | request | answer |
/// |---|---|
/// | `GET ?crc_token=…` | 200, `{"response_token":"sha256=…"}` |
/// | `GET` without `crc_token` | 400 |
/// | neither `GET` nor `POST` | 405, `Allow: GET, POST` |
/// | body over the size cap | 413 |
/// | `POST` with a missing, malformed or wrong signature | 401, nothing queued |
/// | verified, queued (or every event a duplicate) | 200 |
/// | verified, queue full or application gone | 503, nothing queued or marked as seen |
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    inner: Arc<Inner>,
}

impl WebhookReceiver {
    /// The default number of items that may wait for the application.
    pub const DEFAULT_CAPACITY: usize = 1024;
    /// The default body size cap: 1 MiB. X's DM deliveries are a few kilobytes; the wire
    /// reference documents no maximum, so this is a generous bound, not X's figure.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

    /// Settings for a receiver checking signatures with the app's consumer secret.
    pub fn builder(secret: ConsumerSecret) -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            secret,
            capacity: Self::DEFAULT_CAPACITY,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            deduper: EventDeduper::new(),
        }
    }

    /// A receiver with the default settings, and the application's end.
    pub fn new(secret: ConsumerSecret) -> (WebhookReceiver, WebhookEvents) {
        Self::builder(secret).build()
    }

    /// The body size cap; servers should stop reading a body beyond it and answer 413.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// What the deduper remembers, to restore with [`WebhookReceiverBuilder::deduper`] after
    /// a restart. It includes events queued but not yet read by the application.
    pub fn dedup_snapshot(&self) -> DedupSnapshot {
        self.inner.shared.snapshot()
    }

    /// Answers one inbound request (see the table above).
    pub fn handle(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        if request.body().len() > self.inner.max_body_bytes {
            return payload_too_large();
        }
        let inbound = match classify(&request, &self.inner.secret) {
            Ok(inbound) => inbound,
            Err(error) => {
                tracing::debug!(%error, "webhook request refused");
                let mut answer = text(error.status(), error.to_string());
                if error.status() == StatusCode::METHOD_NOT_ALLOWED {
                    answer
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
                }
                return answer;
            }
        };
        let shared = &self.inner.shared;
        let offer = match inbound {
            Inbound::Crc(answer) => return answer.to_response(),
            Inbound::Delivery(delivery) | Inbound::AccountActivity(delivery) => {
                shared.offer_delivery(*delivery)
            }
            Inbound::ReplayJobStatus(status) => shared.offer(WebhookItem::ReplayJobStatus(status)),
            Inbound::Unknown(body) => shared.offer(WebhookItem::Unknown(body)),
            // A future kind of request: verified (classify checks signatures first), so
            // queue it whole like an unknown body.
            _ => shared.offer(WebhookItem::Unknown(request.into_body())),
        };
        match offer {
            Offer::Accepted | Offer::Duplicate => text(StatusCode::OK, String::new()),
            Offer::Full => {
                tracing::debug!("webhook queue full; answering 503 so that X retries");
                let mut answer = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the application is not keeping up; retry later".into(),
                );
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                answer
            }
            Offer::Closed => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the application stopped reading events".into(),
            ),
        }
    }
}

/// The 413 answer.
fn payload_too_large() -> http::Response<Bytes> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is larger than this receiver accepts".into(),
    )
}

fn text(status: StatusCode, message: String) -> http::Response<Bytes> {
    let mut answer = http::Response::new(Bytes::from(message));
    *answer.status_mut() = status;
    if !answer.body().is_empty() {
        answer.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    answer
}
