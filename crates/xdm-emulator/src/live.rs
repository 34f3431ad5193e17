//! What the long-lived parts (the activity stream, the console's live updates, webhook
//! delivery) share: waiting for shutdown and the keep-alive timer.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Waits until the emulator is shutting down (the flag turns true or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// A timer that first fires one period from now, then every period; a late tick does not
/// bunch up the ones after it. The period is at least a millisecond (tokio refuses zero).
pub(crate) fn keep_alive_timer(every: Duration) -> Interval {
    let every = every.max(Duration::from_millis(1));
    let mut timer = tokio::time::interval_at(Instant::now() + every, every);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_timer_waits_a_period_first_and_accepts_zero() {
        let start = Instant::now();
        let mut t = keep_alive_timer(Duration::from_millis(40));
        t.tick().await;
        assert!(
            start.elapsed() >= Duration::from_millis(40),
            "no tick at once"
        );
        let mut zero = keep_alive_timer(Duration::ZERO);
        zero.tick().await;
        zero.tick().await;
    }

    #[tokio::test]
    async fn stopped_returns_on_the_flag_or_a_dropped_sender() {
        let (tx, mut rx) = watch::channel(false);
        let waiting = tokio::spawn(async move { stopped(&mut rx).await });
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("stops on the flag")
            .unwrap();
        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), stopped(&mut rx))
            .await
            .expect("stops when the sender is gone");
    }
}
