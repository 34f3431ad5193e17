//! Parsing X's rate-limit response headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// One rate-limit window as X reports it: how many requests it allows, how many are left, and
/// when it starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a window is X's three headers (limit, remaining, reset); tests build them"
)]
pub struct RateLimitWindow {
    /// Requests allowed in the window.
    pub limit: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// When the window starts over (X sends epoch seconds).
    pub reset: SystemTime,
}

impl RateLimitWindow {
    /// Whether no request is left in the window.
    pub fn is_exhausted(&self) -> bool {
        self.remaining == 0
    }
}

/// The rate-limit headers of one response.
///
/// Each window is present only when all three of its headers were present and well formed; a
/// malformed or partial set is dropped rather than guessed at, since a wrong "remaining" is
/// worse than none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the three window families X documents; callers build snapshots in tests"
)]
pub struct RateLimitSnapshot {
    /// The per-endpoint window (`x-rate-limit-limit`, `-remaining`, `-reset`), usually 15
    /// minutes long.
    pub window: Option<RateLimitWindow>,
    /// The per-user 24-hour window (`x-user-limit-24hour-limit`, `-remaining`, `-reset`).
    pub user_24h: Option<RateLimitWindow>,
    /// The per-app 24-hour window (`x-app-limit-24hour-limit`, `-remaining`, `-reset`).
    pub app_24h: Option<RateLimitWindow>,
}

impl RateLimitSnapshot {
    /// Reads the rate-limit headers of a response. Absent or malformed values give `None`
    /// windows; this never fails.
    pub fn from_headers(headers: &HeaderMap) -> RateLimitSnapshot {
        RateLimitSnapshot {
            window: window(headers, "x-rate-limit"),
            user_24h: window(headers, "x-user-limit-24hour"),
            app_24h: window(headers, "x-app-limit-24hour"),
        }
    }

    /// Whether no header was understood.
    pub fn is_empty(&self) -> bool {
        self.window.is_none() && self.user_24h.is_none() && self.app_24h.is_none()
    }

    /// When the request may be tried again after a 429: the latest reset among the windows
    /// that are exhausted, or the per-endpoint window's reset when none is (a 429 whose
    /// headers still show room). `None` when the headers name no reset.
    pub fn retry_reset(&self) -> Option<SystemTime> {
        self.windows()
            .filter(|w| w.is_exhausted())
            .map(|w| w.reset)
            .max()
            .or(self.window.map(|w| w.reset))
    }

    /// The windows that are present, most specific first.
    pub fn windows(&self) -> impl Iterator<Item = &RateLimitWindow> {
        [&self.window, &self.user_24h, &self.app_24h]
            .into_iter()
            .flatten()
    }
}

fn window(headers: &HeaderMap, prefix: &str) -> Option<RateLimitWindow> {
    let limit = number(headers, &format!("{prefix}-limit"))?;
    let remaining = number(headers, &format!("{prefix}-remaining"))?;
    let reset = number::<u64>(headers, &format!("{prefix}-reset"))?;
    // A reset beyond what SystemTime can hold is as malformed as a non-number.
    let reset = UNIX_EPOCH.checked_add(Duration::from_secs(reset))?;
    Some(RateLimitWindow {
        limit,
        remaining,
        reset,
    })
}

fn number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    // More than one value for the same header is ambiguous; refuse it.
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn parses_all_three_windows() {
        let snap = RateLimitSnapshot::from_headers(&headers(&[
            ("x-rate-limit-limit", "15"),
            ("x-rate-limit-remaining", "14"),
            ("x-rate-limit-reset", "1700000900"),
            ("x-user-limit-24hour-limit", "1440"),
            ("x-user-limit-24hour-remaining", "1439"),
            ("x-user-limit-24hour-reset", "1700086400"),
            ("x-app-limit-24hour-limit", "100000"),
            ("x-app-limit-24hour-remaining", "0"),
            ("x-app-limit-24hour-reset", "1700050000"),
        ]));
        assert_eq!(
            snap.window,
            Some(RateLimitWindow {
                limit: 15,
                remaining: 14,
                reset: at(1_700_000_900)
            })
        );
        assert_eq!(snap.user_24h.unwrap().limit, 1440);
        assert_eq!(snap.user_24h.unwrap().reset, at(1_700_086_400));
        assert!(snap.app_24h.unwrap().is_exhausted());
        assert_eq!(snap.windows().count(), 3);
        assert!(!snap.is_empty());
    }

    #[test]
    fn retry_reset_prefers_the_latest_exhausted_window() {
        let w = |remaining, reset| {
            Some(RateLimitWindow {
                limit: 10,
                remaining,
                reset: at(reset),
            })
        };
        let mut snap = RateLimitSnapshot {
            window: w(3, 100),
            user_24h: w(0, 5000),
            app_24h: w(0, 4000),
        };
        assert_eq!(snap.retry_reset(), Some(at(5000)));
        snap.user_24h = w(1, 5000);
        assert_eq!(snap.retry_reset(), Some(at(4000)));
        snap.app_24h = None;
        assert_eq!(snap.retry_reset(), Some(at(100)));
        snap.window = None;
        assert_eq!(snap.retry_reset(), None);
    }

    #[test]
    fn no_headers_is_empty() {
        let snap = RateLimitSnapshot::from_headers(&HeaderMap::new());
        assert_eq!(snap, RateLimitSnapshot::default());
        assert!(snap.is_empty());
    }

    #[test]
    fn malformed_or_partial_windows_are_dropped() {
        for bad in [
            vec![
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "3"),
            ],
            vec![
                ("x-rate-limit-limit", "fifteen"),
                ("x-rate-limit-remaining", "3"),
                ("x-rate-limit-reset", "1700000000"),
            ],
            vec![
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "-1"),
                ("x-rate-limit-reset", "1700000000"),
            ],
            vec![
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "3"),
                ("x-rate-limit-reset", "18446744073709551615"),
            ],
            vec![
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "3"),
                ("x-rate-limit-remaining", "4"),
                ("x-rate-limit-reset", "1700000000"),
            ],
        ] {
            let snap = RateLimitSnapshot::from_headers(&headers(&bad));
            assert_eq!(snap.window, None, "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_value_is_ignored() {
        let mut map = headers(&[
            ("x-rate-limit-limit", "15"),
            ("x-rate-limit-reset", "1700000000"),
        ]);
        map.insert(
            "x-rate-limit-remaining",
            HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(RateLimitSnapshot::from_headers(&map).window, None);
    }

    #[test]
    fn surrounding_whitespace_is_tolerated() {
        let snap = RateLimitSnapshot::from_headers(&headers(&[
            ("x-rate-limit-limit", " 15"),
            ("x-rate-limit-remaining", "2 "),
            ("x-rate-limit-reset", "10"),
        ]));
        assert_eq!(snap.window.unwrap().remaining, 2);
    }
}
