//! A wake-up for callers waiting on the rate limiter: every settled reservation may have moved
//! a window, so waiters look again instead of sleeping out a reset they guessed.
//!
//! Runtime-agnostic on purpose: a generation counter and the wakers of those waiting past it,
//! under one lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
pub(crate) struct LimitsChanged {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    waiting: Vec<Waker>,
}

impl LimitsChanged {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Two plain fields, never left half-updated: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current generation; read it before looking at the limiter, then wait past it.
    pub(crate) fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Wakes every waiter: the limiter has learned something or released a reservation.
    pub(crate) fn notify(&self) {
        let waiting = {
            let mut state = self.state();
            state.generation = state.generation.wrapping_add(1);
            std::mem::take(&mut state.waiting)
        };
        // Woken outside the lock, so a waker that polls at once cannot contend for it.
        for waker in waiting {
            waker.wake();
        }
    }

    /// Completes once the generation differs from `seen`.
    pub(crate) fn wait_past(&self, seen: u64) -> WaitPast<'_> {
        WaitPast {
            changed: self,
            seen,
        }
    }
}

pub(crate) struct WaitPast<'a> {
    changed: &'a LimitsChanged,
    seen: u64,
}

impl Future for WaitPast<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.changed.state();
        if state.generation != self.seen {
            return Poll::Ready(());
        }
        if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Completes when `first` or `second` does, polling `first` first.
pub(crate) async fn either(first: impl Future<Output = ()>, second: impl Future<Output = ()>) {
    let mut first = std::pin::pin!(first);
    let mut second = std::pin::pin!(second);
    std::future::poll_fn(|cx| {
        if first.as_mut().poll(cx).is_ready() || second.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(Mutex<u32>);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            *self.0.lock().unwrap() += 1;
        }
    }

    #[test]
    fn a_waiter_is_woken_by_a_notification_and_not_before() {
        let changed = LimitsChanged::default();
        let count = Arc::new(Count(Mutex::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let seen = changed.generation();
        let mut wait = std::pin::pin!(changed.wait_past(seen));
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        // Polled again with the same waker: registered once, woken once.
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        changed.notify();
        assert_eq!(*count.0.lock().unwrap(), 1);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn a_notification_before_the_wait_is_not_missed() {
        let changed = LimitsChanged::default();
        let seen = changed.generation();
        changed.notify();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(
            std::pin::pin!(changed.wait_past(seen))
                .poll(&mut cx)
                .is_ready()
        );
    }
}
