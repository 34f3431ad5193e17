//! The tokio clock for the client.

use std::time::{Duration, SystemTime};

use xdm_client::transport::Timer;

/// The system clock, sleeping with tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the clock is tokio's and the system's; it has no state of its own to grow"
)]
pub struct TokioClock;

impl Timer for TokioClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
