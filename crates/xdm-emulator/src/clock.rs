//! Time as the emulator sees it: real by default, settable in tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Everything time-dependent in the emulator (ids, `created_at`, rate-limit windows, OAuth
/// timestamps and code expiry) reads this, so a test can move time instead of waiting.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> u64;
}

/// The machine's real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `millis` since the Unix epoch.
    pub fn new(millis: u64) -> Self {
        Self(Arc::new(AtomicU64::new(millis)))
    }

    /// A clock standing at the real time now.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_millis())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Puts the clock at `millis` since the Unix epoch.
    pub fn set(&self, millis: u64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats epoch milliseconds the way X does: `2022-10-19T20:58:00.000Z`, always with three
/// fractional digits.
///
/// Instants past the last one `jiff` represents (late in the year 9999, far beyond any id or
/// clock of the emulator) print as that last one rather than as something that is not a date.
pub(crate) fn rfc3339_millis(ms: u64) -> String {
    let at = i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX);
    DateTimePrinter::new()
        .precision(Some(3))
        .timestamp_to_string(&at)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// The last millisecond `rfc3339_millis` prints as itself.
    fn last_millisecond() -> u64 {
        Timestamp::MAX.as_millisecond() as u64
    }

    #[test]
    fn formats_known_instants() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_666_213_080_000, "2022-10-19T20:58:00.000Z"),
            (951_782_400_123, "2000-02-29T00:00:00.123Z"),
            (946_684_799_999, "1999-12-31T23:59:59.999Z"),
            (1_704_067_200_000, "2024-01-01T00:00:00.000Z"),
            (1_709_164_800_001, "2024-02-29T00:00:00.001Z"),
            // 2100 is not a leap year: February 28 is followed by March 1.
            (4_107_542_399_000, "2100-02-28T23:59:59.000Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_128_000_000, "9999-12-30T00:00:00.000Z"),
        ] {
            assert_eq!(rfc3339_millis(ms), text, "{ms}");
        }
    }

    #[test]
    fn instants_past_the_last_date_print_as_the_last_one() {
        let last = rfc3339_millis(last_millisecond());
        assert!(last.starts_with("9999-12-"), "{last}");
        for ms in [
            last_millisecond() + 1,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ] {
            assert_eq!(rfc3339_millis(ms), last, "{ms}");
        }
    }

    proptest! {
        #[test]
        fn every_instant_prints_in_x_s_shape_and_reads_back(ms in 0..=last_millisecond()) {
            let text = rfc3339_millis(ms);
            let b = text.as_bytes();
            prop_assert_eq!(b.len(), 24, "{}", text);
            for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
                prop_assert_eq!(b[at], c, "{}", text);
            }
            prop_assert_eq!(&text[20..23], format!("{:03}", ms % 1000));
            let back: Timestamp = text.parse().unwrap();
            prop_assert_eq!(back.as_millisecond(), ms as i64);
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1000);
        assert_eq!(c.now_millis(), 1000);
        c.advance(std::time::Duration::from_secs(2));
        assert_eq!(c.clone().now_millis(), 3000);
        c.set(5);
        assert_eq!(c.now_millis(), 5);
    }
}
