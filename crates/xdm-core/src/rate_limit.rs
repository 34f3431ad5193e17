//! Rate-limit state: what X's headers say, and a limiter that decides when to send.
//!
//! [`RateLimitSnapshot`] is a parsed view of one response's rate-limit headers.
//! [`RateLimiter`] keeps that knowledge per credential and [`EndpointGroup`](crate::EndpointGroup)
//! and answers "send now" or "wait until T" ([`Admit`]). It reads no clock: every call takes
//! `now`.

mod limiter;
mod snapshot;

pub use limiter::{Admit, LimiterConfig, RateLimiter, SeededLimit};
pub use snapshot::{RateLimitSnapshot, RateLimitWindow};

#[cfg(test)]
mod props;
