//! The response body type: whole, delayed, or broken on purpose.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// A body of up to two chunks with an optional pause between them and an optional failure
/// at the end, which makes hyper drop the connection mid-response.
pub(crate) struct EmuBody {
    first: Option<Bytes>,
    pause: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    rest: Option<Bytes>,
    fail: bool,
}

impl EmuBody {
    pub(crate) fn full(b: Bytes) -> Self {
        Self {
            first: Some(b),
            pause: None,
            sleep: None,
            rest: None,
            fail: false,
        }
    }

    /// `first`, then a pause, then `rest` (or a failure when `fail`).
    pub(crate) fn split(first: Bytes, pause: Duration, rest: Option<Bytes>, fail: bool) -> Self {
        Self {
            first: Some(first),
            pause: Some(pause),
            sleep: None,
            rest,
            fail,
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(b) = self.first.take()
            && !b.is_empty()
        {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if let Some(d) = self.pause.take() {
            self.sleep = Some(Box::pin(tokio::time::sleep(d)));
        }
        if let Some(s) = self.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        if let Some(b) = self.rest.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if self.fail {
            self.fail = false;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault injected",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.first.as_ref().is_none_or(Bytes::is_empty)
            && self.pause.is_none()
            && self.sleep.is_none()
            && self.rest.is_none()
            && !self.fail
    }

    fn size_hint(&self) -> SizeHint {
        if self.pause.is_none() && self.sleep.is_none() && self.rest.is_none() && !self.fail {
            SizeHint::with_exact(self.first.as_ref().map_or(0, |b| b.len() as u64))
        } else {
            SizeHint::default()
        }
    }
}
