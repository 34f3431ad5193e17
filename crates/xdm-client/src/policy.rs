//! The client's choices about waiting and about sends whose outcome is unknown.

use std::time::Duration;

use xdm_core::retry::MAX_SERVER_WAIT;

/// What to do when a rate limit is known to be exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitPolicy {
    /// Wait for the reset when it is at most `max_wait` away (counting all waits of one
    /// call), else fail with [`Error::RateLimited`](crate::Error::RateLimited).
    Wait {
        /// The longest a call may wait for rate limits in total.
        max_wait: Duration,
    },
    /// Never wait: fail with [`Error::RateLimited`](crate::Error::RateLimited), which carries
    /// the reset time.
    FailFast,
}

impl RateLimitPolicy {
    /// Waits up to `max_wait` per call.
    pub fn wait_up_to(max_wait: Duration) -> Self {
        RateLimitPolicy::Wait { max_wait }
    }

    /// The longest one call may wait, zero for [`FailFast`](Self::FailFast); never more than
    /// [`MAX_SERVER_WAIT`] (24 hours), so that a reset a server puts centuries ahead is a
    /// failure rather than a hang.
    pub fn max_wait(&self) -> Duration {
        match self {
            RateLimitPolicy::Wait { max_wait } => (*max_wait).min(MAX_SERVER_WAIT),
            RateLimitPolicy::FailFast => Duration::ZERO,
        }
    }
}

impl Default for RateLimitPolicy {
    /// Waits up to 16 minutes: one of X's 15-minute windows, and a little slack.
    fn default() -> Self {
        RateLimitPolicy::wait_up_to(Duration::from_secs(16 * 60))
    }
}

/// What to do when a message send may or may not have reached X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReconcilePolicy {
    /// Report [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) and let the caller
    /// decide. The default.
    #[default]
    Off,
    /// List the conversation's newest events; if the message is there (sent by the
    /// authenticated user, same text and attachment, created no earlier than the first attempt
    /// minus `clock_skew`) return it, else send once more. Group creation is never repeated.
    ///
    /// X may show a new event in listings a little late; a message stored but not yet listed
    /// would then be sent twice. Keep this off where a duplicate is worse than an error.
    LookBeforeResend {
        /// How far the server's clock may be behind the client's.
        clock_skew: Duration,
        /// How many of the newest events to search (1 to 100).
        events_to_search: u8,
    },
}

impl ReconcilePolicy {
    /// Looks before resending, allowing 5 minutes of clock skew and searching 50 events.
    pub fn look_before_resend() -> Self {
        ReconcilePolicy::LookBeforeResend {
            clock_skew: Duration::from_secs(5 * 60),
            events_to_search: 50,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wait_exceeds_the_server_wait_cap() {
        assert_eq!(
            RateLimitPolicy::wait_up_to(Duration::MAX).max_wait(),
            MAX_SERVER_WAIT
        );
        let short = Duration::from_secs(60);
        assert_eq!(RateLimitPolicy::wait_up_to(short).max_wait(), short);
        assert_eq!(RateLimitPolicy::FailFast.max_wait(), Duration::ZERO);
    }
}
