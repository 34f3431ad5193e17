//! Live updates for the console page: server-sent events fed by a broadcast channel.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{mpsc, watch};

/// How often an idle update stream sends a comment, so proxies and browsers keep it open.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many updates a slow reader may fall behind before it is told to resync.
pub(crate) const BACKLOG: usize = 1024;

/// One change, as one server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    pub(crate) kind: &'static str,
    pub(crate) data: String,
}

impl Update {
    /// A conversation changed: a new or deleted event, a read mark, typing.
    pub(crate) fn conversation(conversation_id: &str, event_id: Option<u64>) -> Self {
        let data = match event_id {
            Some(e) => json!({"conversation_id": conversation_id, "event_id": e.to_string()}),
            None => json!({ "conversation_id": conversation_id }),
        };
        Self {
            kind: "conversation",
            data: data.to_string(),
        }
    }

    /// `user_id` is shown typing in a conversation (sent besides the conversation's own
    /// update, so that a page can say who types).
    pub(crate) fn typing(conversation_id: &str, user_id: u64) -> Self {
        Self {
            kind: "typing",
            data: json!({"conversation_id": conversation_id, "user_id": user_id.to_string()})
                .to_string(),
        }
    }

    /// A request was logged.
    pub(crate) fn request(seq: u64) -> Self {
        Self {
            kind: "request",
            data: json!({ "seq": seq }).to_string(),
        }
    }

    fn empty(kind: &'static str) -> Self {
        Self {
            kind,
            data: "{}".to_owned(),
        }
    }

    /// Budgets changed.
    pub(crate) fn limits() -> Self {
        Self::empty("limits")
    }

    /// The armed faults changed.
    pub(crate) fn faults() -> Self {
        Self::empty("faults")
    }

    /// Streams, subscriptions or webhooks changed.
    pub(crate) fn activity() -> Self {
        Self::empty("activity")
    }

    /// The reader missed updates and should refetch everything.
    pub(crate) fn resync() -> Self {
        Self::empty("resync")
    }

    /// The event as written on the wire.
    pub(crate) fn frame(&self) -> Bytes {
        Bytes::from(format!("event: {}\ndata: {}\n\n", self.kind, self.data))
    }
}

/// The response body of `GET /console/api/updates`. A task forwards the broadcast to it,
/// with keep-alive comments, and ends on shutdown or when the client goes away.
pub(crate) struct UpdatesBody {
    rx: mpsc::Receiver<Bytes>,
}

impl UpdatesBody {
    /// Subscribes to `updates` and starts the forwarding task.
    pub(crate) fn start(
        updates: &broadcast::Sender<Update>,
        stop: watch::Receiver<bool>,
        keep_alive: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let sub = updates.subscribe();
        tokio::spawn(forward(sub, tx, stop, keep_alive));
        Self { rx }
    }
}

async fn forward(
    mut sub: broadcast::Receiver<Update>,
    tx: mpsc::Sender<Bytes>,
    mut stop: watch::Receiver<bool>,
    keep_alive: Duration,
) {
    // A first comment gets the headers and the stream going at once.
    if tx.send(Bytes::from_static(b": open\n\n")).await.is_err() {
        return;
    }
    let mut tick = crate::live::keep_alive_timer(keep_alive);
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        let frame = tokio::select! {
            r = sub.recv() => match r {
                Ok(u) => u.frame(),
                Err(RecvError::Lagged(_)) => Update::resync().frame(),
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => Bytes::from_static(b": keep-alive\n\n"),
            _ = stop.changed() => return,
            _ = tx.closed() => return,
        };
        if tx.send(frame).await.is_err() {
            return;
        }
    }
}

impl Body for UpdatesBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        // The forwarder dropping its sender (shutdown) ends the body cleanly.
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn next(b: &mut UpdatesBody) -> Option<Bytes> {
        let f = tokio::time::timeout(Duration::from_secs(5), b.frame())
            .await
            .expect("a frame in time");
        f.map(|f| f.expect("no error").into_data().expect("data"))
    }

    #[tokio::test]
    async fn forwards_updates_resyncs_a_laggard_and_ends_on_stop() {
        let (tx, _) = broadcast::channel(2);
        let (stop_tx, stop) = watch::channel(false);
        let mut body = UpdatesBody::start(&tx, stop, Duration::from_millis(50));
        assert_eq!(next(&mut body).await.unwrap(), ": open\n\n");
        tx.send(Update::request(7)).unwrap();
        assert_eq!(
            next(&mut body).await.unwrap(),
            "event: request\ndata: {\"seq\":7}\n\n"
        );
        assert_eq!(next(&mut body).await.unwrap(), ": keep-alive\n\n");
        // More than the channel holds while nobody reads: the reader is told to resync.
        for seq in 0..5 {
            tx.send(Update::request(seq)).unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(next(&mut body).await.unwrap());
        }
        assert!(
            seen.iter().any(|f| f.starts_with(b"event: resync\n")),
            "{seen:?}"
        );
        stop_tx.send(true).unwrap();
        loop {
            match next(&mut body).await {
                None => break,
                Some(f) => assert!(!f.is_empty()),
            }
        }
    }
}
