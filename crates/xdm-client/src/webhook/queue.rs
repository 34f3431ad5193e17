//! The bounded queue between the HTTP side and the application, and the deduper it guards.
//!
//! Deduplication and queueing happen under one lock, so that an event is marked as seen only
//! when it is also queued: a delivery refused for want of room leaves no trace, and X's retry
//! of it is taken.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use xdm_core::activity::ActivityDelivery;
use xdm_core::activity::dedup::{DedupSnapshot, EventDeduper};

use super::receiver::WebhookItem;

/// What became of a verified delivery offered to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offer {
    /// Queued for the application.
    Accepted,
    /// Every event in it was handed out before: nothing to queue.
    Duplicate,
    /// The queue is full.
    Full,
    /// The application dropped its [`WebhookEvents`].
    Closed,
}

#[derive(Debug)]
struct State {
    items: VecDeque<WebhookItem>,
    capacity: usize,
    deduper: EventDeduper,
    waker: Option<Waker>,
    consumer_alive: bool,
    producer_alive: bool,
}

/// The state both ends share.
#[derive(Debug)]
pub(super) struct Shared(Mutex<State>);

impl Shared {
    pub(super) fn new(capacity: usize, deduper: EventDeduper) -> Arc<Shared> {
        Arc::new(Shared(Mutex::new(State {
            items: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            deduper,
            waker: None,
            consumer_alive: true,
            producer_alive: true,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queue and deduper consistent (each
        // operation is a push or a pop), so a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues the new events of `delivery`, marking them as seen, if there is room.
    pub(super) fn offer_delivery(&self, mut delivery: ActivityDelivery) -> Offer {
        let mut state = self.lock();
        if let Some(refused) = state.refusal() {
            return refused;
        }
        let had_events = !delivery.events.is_empty();
        state.deduper.retain_new(&mut delivery);
        if had_events && delivery.events.is_empty() {
            return Offer::Duplicate;
        }
        state.push(WebhookItem::Delivery(Box::new(delivery)));
        Offer::Accepted
    }

    /// Queues an item that is not deduplicated (replay status, unknown body).
    pub(super) fn offer(&self, item: WebhookItem) -> Offer {
        let mut state = self.lock();
        if let Some(refused) = state.refusal() {
            return refused;
        }
        state.push(item);
        Offer::Accepted
    }

    pub(super) fn snapshot(&self) -> DedupSnapshot {
        self.lock().deduper.snapshot()
    }

    pub(super) fn producer_gone(&self) {
        let mut state = self.lock();
        state.producer_alive = false;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }
}

impl State {
    fn refusal(&self) -> Option<Offer> {
        if !self.consumer_alive {
            Some(Offer::Closed)
        } else if self.items.len() >= self.capacity {
            Some(Offer::Full)
        } else {
            None
        }
    }

    fn push(&mut self, item: WebhookItem) {
        self.items.push_back(item);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The application's end: the items the receiver accepted, in the order it accepted them.
///
/// A `Stream` of [`WebhookItem`]s (also [`recv`](Self::recv)); it ends when every
/// [`WebhookReceiver`](super::WebhookReceiver) clone is dropped and the queue is empty.
/// Dropping it makes the receiver answer 503 from then on.
#[derive(Debug)]
pub struct WebhookEvents {
    shared: Arc<Shared>,
}

impl WebhookEvents {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The next item, waiting for one; `None` once the receiver is gone and all were read.
    pub async fn recv(&mut self) -> Option<WebhookItem> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<WebhookItem> {
        self.shared.lock().items.pop_front()
    }

    /// How many items are queued.
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    /// Whether no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polls for the next item.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<WebhookItem>> {
        let mut state = self.shared.lock();
        if let Some(item) = state.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if !state.producer_alive {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl futures_core::Stream for WebhookEvents {
    type Item = WebhookItem;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WebhookItem>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for WebhookEvents {
    fn drop(&mut self) {
        self.shared.lock().consumer_alive = false;
    }
}
