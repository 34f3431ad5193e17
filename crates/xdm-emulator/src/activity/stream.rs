//! The activity stream's connections: what the hub sends them, and the chunked body that
//! writes it out with keep-alives.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;
use tokio::time::Interval;

use super::StreamFault;

/// The line X sends before it closes a stream for operational reasons (documented shape).
pub(crate) const OPERATIONAL_DISCONNECT: &str = r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#;

/// What the hub asks a connection's body to do.
#[derive(Debug)]
pub(crate) enum StreamFrame {
    /// Write these bytes.
    Data(Bytes),
    /// Write these bytes (part of a line), then fail the body so the connection is cut.
    Abort(Bytes),
    /// Finish the body cleanly.
    Close,
    /// Stop writing anything, keep-alives included.
    Stall,
}

/// The hub's side of one open stream connection.
#[derive(Debug)]
pub(crate) struct StreamConn {
    /// An id for the console's activity view.
    pub(crate) id: u64,
    /// When it was opened (ms).
    pub(crate) opened_ms: u64,
    tx: UnboundedSender<StreamFrame>,
    events_sent: u32,
    /// A fault armed at connect: it fires once this many events were sent.
    script: Option<(StreamFault, u32)>,
    stalled: bool,
    ended: bool,
    drop_next: bool,
}

impl StreamConn {
    /// A connection and the body that serves it.
    pub(crate) fn open(
        script: Option<(StreamFault, u32)>,
        keep_alive: Duration,
        stop: watch::Receiver<bool>,
    ) -> (Self, StreamBody) {
        let (tx, rx) = unbounded_channel();
        let conn = Self {
            id: 0,
            opened_ms: 0,
            tx,
            events_sent: 0,
            script,
            stalled: false,
            ended: false,
            drop_next: false,
        };
        (conn, StreamBody::new(rx, keep_alive, stop))
    }

    /// Whether the connection is over: ended by the hub, or its body dropped by the server.
    pub(crate) fn is_gone(&self) -> bool {
        self.ended || self.tx.is_closed()
    }

    /// Whether an event sent now would reach the client.
    pub(crate) fn takes_events(&self) -> bool {
        !self.is_gone() && !self.stalled
    }

    /// Fires an armed fault with a threshold of zero events.
    pub(crate) fn start(&mut self) {
        self.check_script();
    }

    pub(crate) fn apply(&mut self, fault: StreamFault) {
        if self.is_gone() {
            return;
        }
        match fault {
            StreamFault::DropMidLine => self.drop_next = true,
            StreamFault::OperationalDisconnect => {
                let mut line = OPERATIONAL_DISCONNECT.as_bytes().to_vec();
                line.extend_from_slice(b"\r\n");
                let _ = self.tx.send(StreamFrame::Data(Bytes::from(line)));
                self.close();
            }
            StreamFault::Stall => {
                self.stalled = true;
                let _ = self.tx.send(StreamFrame::Stall);
            }
        }
    }

    /// Sends one event line, or cuts it at `cut` (a chaos draw) or in the middle (an armed
    /// drop) and aborts the connection.
    pub(crate) fn send_event(&mut self, line: &Bytes, cut: Option<usize>) {
        if !self.takes_events() {
            return;
        }
        if self.drop_next || cut.is_some() {
            let at = cut.unwrap_or(line.len() / 2).min(line.len());
            let _ = self.tx.send(StreamFrame::Abort(line.slice(..at)));
            self.ended = true;
            return;
        }
        let _ = self.tx.send(StreamFrame::Data(line.clone()));
        self.events_sent += 1;
        self.check_script();
    }

    /// How many event lines went out whole.
    pub(crate) fn events_sent(&self) -> u32 {
        self.events_sent
    }

    /// Cuts the connection now, as when it dies: no final chunk.
    pub(crate) fn cut(&mut self) {
        if !self.is_gone() {
            let _ = self.tx.send(StreamFrame::Abort(Bytes::new()));
            self.ended = true;
        }
    }

    /// Ends the stream cleanly.
    pub(crate) fn close(&mut self) {
        let _ = self.tx.send(StreamFrame::Close);
        self.ended = true;
    }

    fn check_script(&mut self) {
        if let Some((fault, after)) = self.script
            && self.events_sent >= after
        {
            self.script = None;
            self.apply(fault);
        }
    }
}

/// The response body of a stream connection: lines from the hub, a keep-alive (`\r\n`) when
/// the interval passes, a clean end on shutdown.
pub(crate) struct StreamBody {
    rx: UnboundedReceiver<StreamFrame>,
    keep_alive: Option<Interval>,
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Set once an abort's bytes went out: the body fails when it fires, a moment later so
    /// that the server writes those bytes first.
    fail_at: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
    /// Called once when the body goes away (the connection ended, however it ended).
    on_end: Option<Box<dyn FnOnce() + Send>>,
}

impl StreamBody {
    /// Runs `f` when the body goes away, however the connection ends.
    pub(crate) fn on_end(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_end = Some(Box::new(f));
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if let Some(f) = self.on_end.take() {
            f();
        }
    }
}

impl StreamBody {
    fn new(
        rx: UnboundedReceiver<StreamFrame>,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> Self {
        let stop = Box::pin(async move { crate::live::stopped(&mut stop).await });
        Self {
            rx,
            keep_alive: Some(crate::live::keep_alive_timer(every)),
            stop,
            fail_at: None,
            done: false,
            on_end: None,
        }
    }
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(at) = this.fail_at.as_mut() {
            if at.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.done = true;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "stream cut by a fault",
            ))));
        }
        if this.stop.as_mut().poll(cx).is_ready() {
            this.done = true;
            return Poll::Ready(None);
        }
        loop {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(StreamFrame::Data(b))) => {
                    if this.keep_alive.is_some() {
                        return Poll::Ready(Some(Ok(Frame::data(b))));
                    }
                }
                Poll::Ready(Some(StreamFrame::Abort(b))) => {
                    this.fail_at = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                    if b.is_empty() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                Poll::Ready(Some(StreamFrame::Close)) | Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(StreamFrame::Stall)) => this.keep_alive = None,
                Poll::Pending => break,
            }
        }
        if let Some(k) = this.keep_alive.as_mut()
            && k.poll_tick(cx).is_ready()
        {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"\r\n")))));
        }
        Poll::Pending
    }
}
