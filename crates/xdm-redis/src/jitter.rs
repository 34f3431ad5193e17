//! A little randomness for spreading out waits, so that workers woken by the same reset do
//! not reach Redis in the same millisecond.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static DRAWS: AtomicU64 = AtomicU64::new(0);

/// A duration drawn evenly from `[0, max)`; zero when `max` is zero.
///
/// Std's `RandomState` is seeded per process from the OS, and each draw hashes a fresh
/// counter value, which is random enough to desynchronise workers (nothing depends on it
/// being unpredictable).
pub(crate) fn up_to(max: Duration) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max_ms == 0 {
        return Duration::ZERO;
    }
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    Duration::from_millis(hasher.finish() % max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_below_the_bound_and_vary() {
        let max = Duration::from_millis(250);
        let draws: Vec<_> = (0..200).map(|_| up_to(max)).collect();
        assert!(draws.iter().all(|d| *d < max));
        assert!(draws.iter().any(|d| *d != draws[0]));
        assert_eq!(up_to(Duration::ZERO), Duration::ZERO);
    }
}
