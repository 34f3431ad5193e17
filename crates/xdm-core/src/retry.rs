//! Whether, and when, to send a failed request again.
//!
//! [`RetryPolicy::decide`] is a pure function of the request's [`Delivery`], the attempt
//! number, what went wrong ([`Failure`]), the time and a jitter value the caller draws. It never
//! sleeps; it says how long to wait ([`RetryDecision`]).
//!
//! The rules, in order:
//!
//! 1. A usage cap (a 429 whose problem is usage-capped) and a 402 credits-depleted are never
//!    retried: waiting does not lift them.
//! 2. A request that is not idempotent ([`Delivery::AtMostOnce`]) is retried only when it
//!    certainly did not take effect: a transport failure with [`ReachedServer::No`], or a 429
//!    (the server refused it without acting). Any other failure, including a transport
//!    failure of kind [`TransportErrorKind::Other`] with [`ReachedServer::Maybe`], gives up
//!    with [`GiveUpReason::OutcomeUnknown`], so the caller can look for the message before
//!    sending it again.
//! 3. A 429 waits until the reset its headers name ([`RetryDecision::RetryAt`]), unless that is
//!    further away than [`RetryPolicy::max_rate_limit_wait`]; without a reset it backs off.
//! 4. 500, 502, 503, 504, and transport failures of kind connect, timeout or I/O back off
//!    exponentially with jitter.
//! 5. Every other status is final.
//!
//! No request is attempted more than [`RetryPolicy::max_attempts`] times in all.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::StatusCode;

use crate::Delivery;
use crate::error::{ApiError, ApiErrorKind};

/// What kind of transport failure happened, as far as the transport can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection was established: DNS failure, connection refused or reset during the
    /// handshake, TLS handshake failure, no route.
    Connect,
    /// A deadline passed: connect timeout, request timeout, or a body that stalled.
    Timeout,
    /// The connection broke after it was established: reset, unexpected end of stream, an
    /// HTTP/2 stream error, a body that could not be read.
    Io,
    /// Anything else, such as a request the transport could not encode or a response it could
    /// not parse. Not retried: such failures tend to repeat.
    Other,
    /// The response's body was larger than the transport accepts. Its status line arrived,
    /// so the server did answer; not retried, since the answer would be as large again.
    TooLarge,
}

/// Whether a failed request could have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReachedServer {
    /// Certainly not: no byte of the request was written to a connection (DNS failure,
    /// connection refused, TLS handshake failure, a connect timeout, a pool that had no
    /// connection to offer).
    No,
    /// Perhaps: the request, or part of it, was written before the failure (a timeout while
    /// waiting for the response, a connection dropped mid-exchange). When in doubt, say this.
    Maybe,
}

/// A request that got no HTTP response, classified by the transport.
///
/// A transport fills this in from its own error without exposing its error type, so that the
/// retry policy can decide without downcasting. The one judgement that matters is
/// [`reached_server`](Self::reached_server): only [`ReachedServer::No`] allows a message to be
/// sent again, so a transport that cannot tell must answer [`ReachedServer::Maybe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the whole contract between a transport and the retry policy, built by transports"
)]
pub struct TransportFailure {
    /// What went wrong.
    pub kind: TransportErrorKind,
    /// Whether the request may have reached the server.
    pub reached_server: ReachedServer,
}

impl TransportFailure {
    /// A failure of `kind`.
    pub fn new(kind: TransportErrorKind, reached_server: ReachedServer) -> Self {
        TransportFailure {
            kind,
            reached_server,
        }
    }
}

/// What X said about a refusal, where it changes the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A monthly or plan usage cap (problem type `usage-capped`), which X sends as a 429.
    UsageCapped,
    /// Pay-per-use credits are spent (problem type `credits-depleted`, status 402).
    CreditsDepleted,
}

/// One failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The server answered with a status that is not a success.
    Response {
        /// The HTTP status.
        status: StatusCode,
        /// The refusal named by the problem type of the body, if it is one that matters here.
        refusal: Option<Refusal>,
        /// For a 429, when the limit resets
        /// ([`RateLimitSnapshot::retry_reset`](crate::rate_limit::RateLimitSnapshot::retry_reset)).
        reset: Option<SystemTime>,
    },
    /// No response arrived.
    Transport(TransportFailure),
}

impl Failure {
    /// A response with `status`, with no refusal and no reset known.
    pub fn status(status: StatusCode) -> Self {
        Failure::Response {
            status,
            refusal: None,
            reset: None,
        }
    }

    /// A 429 whose limit resets at `reset`.
    pub fn rate_limited(reset: Option<SystemTime>) -> Self {
        Failure::Response {
            status: StatusCode::TOO_MANY_REQUESTS,
            refusal: None,
            reset,
        }
    }
}

impl From<&ApiError> for Failure {
    /// The failure an error response describes: its status, whether it is a usage cap or
    /// depleted credits, and for a rate limit, when it resets.
    fn from(error: &ApiError) -> Self {
        let refusal = match error.kind() {
            ApiErrorKind::UsageCapped { .. } => Some(Refusal::UsageCapped),
            ApiErrorKind::CreditsDepleted => Some(Refusal::CreditsDepleted),
            _ => None,
        };
        let reset = match error.kind() {
            ApiErrorKind::RateLimited {
                reset: Some(reset), ..
            } => Some(*reset),
            _ => error.rate_limit().retry_reset(),
        };
        Failure::Response {
            status: error.status(),
            refusal,
            reset,
        }
    }
}

impl From<TransportFailure> for Failure {
    fn from(failure: TransportFailure) -> Self {
        Failure::Transport(failure)
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Send the request again after this delay.
    RetryAfter(Duration),
    /// Send the request again at this time, when the rate limit resets.
    RetryAt(SystemTime),
    /// Do not send it again; report the failure.
    GiveUp(GiveUpReason),
}

/// Why a failed request is not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The status is final (a 4xx other than 429, or not a failure at all).
    NotRetryable(StatusCode),
    /// A usage cap: waiting for the rate-limit window does not lift it.
    UsageCapped,
    /// Credits are spent: only buying more helps.
    CreditsDepleted,
    /// The request is not idempotent and may have taken effect: its outcome is unknown.
    /// Check whether it did (list the conversation's recent events) before sending it again.
    OutcomeUnknown,
    /// A transport failure of a kind that tends to repeat.
    TransportNotRetryable(TransportErrorKind),
    /// The attempts allowed by the policy are used up.
    AttemptsExhausted {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The rate limit resets later than the policy is willing to wait.
    ResetTooFar {
        /// When the limit resets.
        reset: SystemTime,
    },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::NotRetryable(status) => write!(f, "status {status} is not retried"),
            GiveUpReason::UsageCapped => f.write_str("the usage cap is reached"),
            GiveUpReason::CreditsDepleted => f.write_str("the account's credits are depleted"),
            GiveUpReason::OutcomeUnknown => f.write_str(
                "the request may have reached the server and cannot safely be repeated: its \
                 outcome is unknown; check whether it took effect before sending it again",
            ),
            GiveUpReason::TransportNotRetryable(kind) => {
                write!(f, "a transport failure of kind {kind:?} is not retried")
            }
            GiveUpReason::AttemptsExhausted { attempts } => {
                write!(f, "gave up after {attempts} attempts")
            }
            GiveUpReason::ResetTooFar { reset } => {
                let secs = reset
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                write!(
                    f,
                    "the rate limit resets too far ahead (at epoch second {secs})"
                )
            }
        }
    }
}

/// The longest any wait a server asks for may last: 24 hours.
///
/// X's rate-limit windows last 15 minutes and its daily limits reset within a day, so a
/// reset further ahead is a fault of the server or of a clock; waiting for it would look
/// like a hang. Waits beyond it are failures whatever a policy allows.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// How many times, and how patiently, failed requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries. Default 4.
    pub max_attempts: u32,
    /// The first backoff; each later one doubles. Default 500 ms.
    pub base_backoff: Duration,
    /// The longest single backoff. Default 30 s.
    pub max_backoff: Duration,
    /// The longest wait for a rate-limit reset; a later reset gives up. Default 16 minutes,
    /// just over X's 15-minute windows; never more than [`MAX_SERVER_WAIT`], whatever is set.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(16 * 60),
        }
    }
}

enum Verdict {
    Backoff,
    WaitFor(Option<SystemTime>),
    Stop(GiveUpReason),
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decides what to do after attempt number `attempt` (1 for the first) failed with
    /// `failure` at `now`.
    ///
    /// `jitter` is a number the caller draws uniformly from `[0, 1]`; a backoff of `d` becomes
    /// a wait between `d / 2` and `d`, so that clients that failed together do not retry
    /// together. Values outside the range are clamped, and a NaN counts as 1.
    pub fn decide(
        &self,
        delivery: Delivery,
        attempt: u32,
        failure: &Failure,
        now: SystemTime,
        jitter: f64,
    ) -> RetryDecision {
        let verdict = classify(delivery, failure);
        let verdict = match verdict {
            Verdict::Stop(reason) => return RetryDecision::GiveUp(reason),
            _ if attempt >= self.max_attempts => {
                return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted {
                    attempts: attempt,
                });
            }
            verdict => verdict,
        };
        match verdict {
            Verdict::WaitFor(Some(reset)) if reset > now => {
                let wait = reset.duration_since(now).unwrap_or_default();
                if wait > self.max_rate_limit_wait.min(MAX_SERVER_WAIT) {
                    RetryDecision::GiveUp(GiveUpReason::ResetTooFar { reset })
                } else {
                    RetryDecision::RetryAt(reset)
                }
            }
            _ => RetryDecision::RetryAfter(self.backoff(attempt, jitter)),
        }
    }

    /// The wait before attempt `attempt + 1` when backing off.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let full = self
            .base_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = full / 2;
        half + half.mul_f64(jitter) + (full - half * 2)
    }
}

fn classify(delivery: Delivery, failure: &Failure) -> Verdict {
    let at_most_once = delivery == Delivery::AtMostOnce;
    match *failure {
        Failure::Response {
            refusal: Some(Refusal::UsageCapped),
            ..
        } => Verdict::Stop(GiveUpReason::UsageCapped),
        Failure::Response {
            refusal: Some(Refusal::CreditsDepleted),
            ..
        } => Verdict::Stop(GiveUpReason::CreditsDepleted),
        // A rate-limit refusal means the server did not act, so even a send may be repeated.
        Failure::Response {
            status: StatusCode::TOO_MANY_REQUESTS,
            reset,
            ..
        } => Verdict::WaitFor(reset),
        Failure::Response { status, .. } => match status.as_u16() {
            500 | 502 | 503 | 504 if at_most_once => Verdict::Stop(GiveUpReason::OutcomeUnknown),
            500 | 502 | 503 | 504 => Verdict::Backoff,
            _ => Verdict::Stop(GiveUpReason::NotRetryable(status)),
        },
        // Before the kind: whatever broke, a send that may have been stored must be reported
        // as unknown, or a caller could send it again (a response over the size cap is a
        // `TooLarge` failure that arrives after the server acted).
        Failure::Transport(TransportFailure {
            reached_server: ReachedServer::Maybe,
            ..
        }) if at_most_once => Verdict::Stop(GiveUpReason::OutcomeUnknown),
        Failure::Transport(TransportFailure { kind, .. })
            if matches!(
                kind,
                TransportErrorKind::Other | TransportErrorKind::TooLarge
            ) =>
        {
            Verdict::Stop(GiveUpReason::TransportNotRetryable(kind))
        }
        Failure::Transport(_) => Verdict::Backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    const IDEMPOTENT: Delivery = Delivery::Idempotent;
    const ONCE: Delivery = Delivery::AtMostOnce;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    fn transport(kind: TransportErrorKind, reached: ReachedServer) -> Failure {
        TransportFailure::new(kind, reached).into()
    }

    fn give_up(reason: GiveUpReason) -> RetryDecision {
        RetryDecision::GiveUp(reason)
    }

    #[test]
    fn server_errors_back_off_exponentially_for_idempotent_requests() {
        for code in [500, 502, 503, 504] {
            let f = Failure::status(StatusCode::from_u16(code).unwrap());
            let waits: Vec<_> = (1..=3)
                .map(|n| policy().decide(IDEMPOTENT, n, &f, now(), 1.0))
                .collect();
            assert_eq!(
                waits,
                [500, 1000, 2000].map(|ms| RetryDecision::RetryAfter(Duration::from_millis(ms)))
            );
        }
    }

    #[test]
    fn jitter_spreads_the_backoff_over_its_upper_half() {
        let f = Failure::status(StatusCode::BAD_GATEWAY);
        let wait = |j| policy().decide(IDEMPOTENT, 2, &f, now(), j);
        assert_eq!(
            wait(0.0),
            RetryDecision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(
            wait(0.5),
            RetryDecision::RetryAfter(Duration::from_millis(750))
        );
        assert_eq!(wait(-3.0), wait(0.0));
        assert_eq!(wait(7.0), wait(1.0));
        assert_eq!(wait(f64::NAN), wait(1.0));
    }

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..policy()
        };
        let f = Failure::status(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            p.decide(IDEMPOTENT, 60, &f, now(), 1.0),
            RetryDecision::RetryAfter(Duration::from_secs(30))
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let f = Failure::status(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            policy().decide(IDEMPOTENT, 4, &f, now(), 0.5),
            give_up(GiveUpReason::AttemptsExhausted { attempts: 4 })
        );
        assert_eq!(
            RetryPolicy::never().decide(IDEMPOTENT, 1, &f, now(), 0.5),
            give_up(GiveUpReason::AttemptsExhausted { attempts: 1 })
        );
    }

    #[test]
    fn rate_limit_waits_until_reset() {
        let reset = now() + Duration::from_secs(600);
        for delivery in [IDEMPOTENT, ONCE] {
            assert_eq!(
                policy().decide(delivery, 1, &Failure::rate_limited(Some(reset)), now(), 0.5),
                RetryDecision::RetryAt(reset)
            );
        }
    }

    #[test]
    fn rate_limit_reset_beyond_the_maximum_wait_gives_up_with_the_reset() {
        let reset = now() + Duration::from_secs(3 * 3600);
        assert_eq!(
            policy().decide(
                IDEMPOTENT,
                1,
                &Failure::rate_limited(Some(reset)),
                now(),
                0.5
            ),
            give_up(GiveUpReason::ResetTooFar { reset })
        );
    }

    #[test]
    fn no_policy_waits_longer_than_the_server_wait_cap() {
        let patient = RetryPolicy {
            max_rate_limit_wait: Duration::MAX,
            ..policy()
        };
        let centuries = now() + Duration::from_secs(300 * 365 * 86_400);
        assert_eq!(
            patient.decide(
                Delivery::Idempotent,
                1,
                &Failure::rate_limited(Some(centuries)),
                now(),
                0.5
            ),
            give_up(GiveUpReason::ResetTooFar { reset: centuries })
        );
        let within = now() + MAX_SERVER_WAIT;
        assert_eq!(
            patient.decide(
                Delivery::Idempotent,
                1,
                &Failure::rate_limited(Some(within)),
                now(),
                0.5
            ),
            RetryDecision::RetryAt(within)
        );
    }

    #[test]
    fn rate_limit_without_a_future_reset_backs_off() {
        let past = now() - Duration::from_secs(5);
        for f in [
            Failure::rate_limited(None),
            Failure::rate_limited(Some(past)),
        ] {
            assert_eq!(
                policy().decide(IDEMPOTENT, 1, &f, now(), 1.0),
                RetryDecision::RetryAfter(Duration::from_millis(500))
            );
        }
    }

    #[test]
    fn rate_limit_counts_against_attempts() {
        let reset = now() + Duration::from_secs(60);
        assert_eq!(
            policy().decide(
                IDEMPOTENT,
                4,
                &Failure::rate_limited(Some(reset)),
                now(),
                0.5
            ),
            give_up(GiveUpReason::AttemptsExhausted { attempts: 4 })
        );
    }

    #[test]
    fn usage_cap_and_depleted_credits_are_never_retried() {
        let reset = now() + Duration::from_secs(60);
        let capped = Failure::Response {
            status: StatusCode::TOO_MANY_REQUESTS,
            refusal: Some(Refusal::UsageCapped),
            reset: Some(reset),
        };
        let broke = Failure::Response {
            status: StatusCode::PAYMENT_REQUIRED,
            refusal: Some(Refusal::CreditsDepleted),
            reset: None,
        };
        for delivery in [IDEMPOTENT, ONCE] {
            assert_eq!(
                policy().decide(delivery, 1, &capped, now(), 0.5),
                give_up(GiveUpReason::UsageCapped)
            );
            assert_eq!(
                policy().decide(delivery, 1, &broke, now(), 0.5),
                give_up(GiveUpReason::CreditsDepleted)
            );
        }
        assert_eq!(
            policy().decide(
                IDEMPOTENT,
                1,
                &Failure::status(StatusCode::PAYMENT_REQUIRED),
                now(),
                0.5
            ),
            give_up(GiveUpReason::NotRetryable(StatusCode::PAYMENT_REQUIRED))
        );
    }

    #[test]
    fn other_client_errors_are_final() {
        for code in [400, 401, 403, 404, 409, 413, 422] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                policy().decide(IDEMPOTENT, 1, &Failure::status(status), now(), 0.5),
                give_up(GiveUpReason::NotRetryable(status))
            );
        }
        assert_eq!(
            policy().decide(
                IDEMPOTENT,
                1,
                &Failure::status(StatusCode::NOT_IMPLEMENTED),
                now(),
                0.5
            ),
            give_up(GiveUpReason::NotRetryable(StatusCode::NOT_IMPLEMENTED))
        );
    }

    #[test]
    fn idempotent_transport_failures_are_retried() {
        use TransportErrorKind::*;
        for kind in [Connect, Timeout, Io] {
            for reached in [ReachedServer::No, ReachedServer::Maybe] {
                assert_eq!(
                    policy().decide(IDEMPOTENT, 1, &transport(kind, reached), now(), 1.0),
                    RetryDecision::RetryAfter(Duration::from_millis(500)),
                    "{kind:?} {reached:?}"
                );
            }
        }
    }

    #[test]
    fn other_transport_failures_are_final() {
        let f = transport(TransportErrorKind::Other, ReachedServer::No);
        assert_eq!(
            policy().decide(IDEMPOTENT, 1, &f, now(), 0.5),
            give_up(GiveUpReason::TransportNotRetryable(
                TransportErrorKind::Other
            ))
        );
    }

    #[test]
    fn at_most_once_is_retried_only_when_it_certainly_did_not_reach_the_server() {
        use TransportErrorKind::*;
        for kind in [Connect, Timeout, Io] {
            assert_eq!(
                policy().decide(ONCE, 1, &transport(kind, ReachedServer::No), now(), 1.0),
                RetryDecision::RetryAfter(Duration::from_millis(500))
            );
            assert_eq!(
                policy().decide(ONCE, 1, &transport(kind, ReachedServer::Maybe), now(), 1.0),
                give_up(GiveUpReason::OutcomeUnknown)
            );
        }
        for code in [500, 502, 503, 504] {
            let f = Failure::status(StatusCode::from_u16(code).unwrap());
            assert_eq!(
                policy().decide(ONCE, 1, &f, now(), 1.0),
                give_up(GiveUpReason::OutcomeUnknown)
            );
        }
    }

    #[test]
    fn at_most_once_that_may_have_reached_the_server_is_unknown_whatever_the_kind() {
        use TransportErrorKind::*;
        for kind in [Connect, Timeout, Io, Other, TooLarge] {
            assert_eq!(
                policy().decide(ONCE, 1, &transport(kind, ReachedServer::Maybe), now(), 1.0),
                give_up(GiveUpReason::OutcomeUnknown),
                "{kind:?}"
            );
        }
        assert_eq!(
            policy().decide(ONCE, 1, &transport(Other, ReachedServer::No), now(), 1.0),
            give_up(GiveUpReason::TransportNotRetryable(Other))
        );
    }

    #[test]
    fn an_answer_over_the_size_cap_is_not_fetched_again() {
        // It would be as large the next time.
        let f = transport(TransportErrorKind::TooLarge, ReachedServer::Maybe);
        assert_eq!(
            policy().decide(IDEMPOTENT, 1, &f, now(), 1.0),
            give_up(GiveUpReason::TransportNotRetryable(
                TransportErrorKind::TooLarge
            ))
        );
    }

    #[test]
    fn outcome_unknown_is_reported_even_when_attempts_are_spent() {
        let f = transport(TransportErrorKind::Timeout, ReachedServer::Maybe);
        assert_eq!(
            policy().decide(ONCE, 9, &f, now(), 1.0),
            give_up(GiveUpReason::OutcomeUnknown)
        );
    }

    #[test]
    fn reasons_explain_themselves() {
        let unknown = GiveUpReason::OutcomeUnknown.to_string();
        assert!(unknown.contains("outcome is unknown"), "{unknown}");
        let messages = [
            GiveUpReason::NotRetryable(StatusCode::FORBIDDEN),
            GiveUpReason::UsageCapped,
            GiveUpReason::CreditsDepleted,
            GiveUpReason::TransportNotRetryable(TransportErrorKind::Other),
            GiveUpReason::AttemptsExhausted { attempts: 3 },
            GiveUpReason::ResetTooFar { reset: now() },
        ]
        .map(|r| r.to_string());
        assert!(messages[0].contains("403"));
        assert!(messages[4].contains('3'));
        assert!(messages[5].contains("1700000000"));
        assert!(messages.iter().all(|m| !m.is_empty()));
    }

    fn api_error(status: u16, headers: &[(&str, &str)], body: &str) -> ApiError {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        crate::response::decode_error(builder.body(bytes::Bytes::from(body.to_owned())).unwrap())
    }

    #[test]
    fn failures_from_api_errors() {
        let capped = api_error(
            429,
            &[("x-rate-limit-remaining", "39999")],
            r#"{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap"}"#,
        );
        let capped = Failure::from(&capped);
        assert!(matches!(
            capped,
            Failure::Response {
                refusal: Some(Refusal::UsageCapped),
                ..
            }
        ));
        assert_eq!(
            policy().decide(IDEMPOTENT, 1, &capped, now(), 0.5),
            give_up(GiveUpReason::UsageCapped)
        );

        let broke = api_error(
            402,
            &[],
            r#"{"title":"Payment Required","type":"https://api.x.com/2/problems/credits-depleted"}"#,
        );
        assert!(matches!(
            Failure::from(&broke),
            Failure::Response {
                refusal: Some(Refusal::CreditsDepleted),
                ..
            }
        ));

        let limited = api_error(
            429,
            &[
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", "1700000600"),
            ],
            r#"{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}"#,
        );
        let reset = UNIX_EPOCH + Duration::from_secs(1_700_000_600);
        assert_eq!(Failure::from(&limited), Failure::rate_limited(Some(reset)));
        assert_eq!(
            policy().decide(ONCE, 1, &Failure::from(&limited), now(), 0.5),
            RetryDecision::RetryAt(reset)
        );

        let server = api_error(503, &[], "");
        assert_eq!(
            Failure::from(&server),
            Failure::status(StatusCode::SERVICE_UNAVAILABLE)
        );
    }

    fn failure() -> impl Strategy<Value = Failure> {
        let kind = prop::sample::select(vec![
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Io,
            TransportErrorKind::Other,
            TransportErrorKind::TooLarge,
        ]);
        let reached = prop::sample::select(vec![ReachedServer::No, ReachedServer::Maybe]);
        let refusal = prop::option::of(prop::sample::select(vec![
            Refusal::UsageCapped,
            Refusal::CreditsDepleted,
        ]));
        prop_oneof![
            (kind, reached).prop_map(|(k, r)| transport(k, r)),
            (
                prop::sample::select(vec![400u16, 402, 404, 429, 429, 500, 502, 503, 504]),
                refusal,
                prop::option::of(0u64..100_000),
            )
                .prop_map(|(status, refusal, reset)| Failure::Response {
                    status: StatusCode::from_u16(status).unwrap(),
                    refusal,
                    reset: reset.map(|s| UNIX_EPOCH + Duration::from_secs(1_699_950_000 + s)),
                }),
        ]
    }

    proptest! {
        #[test]
        fn total_wait_and_attempts_are_bounded(
            max_attempts in 1u32..8,
            base_ms in 0u64..5_000,
            max_ms in 0u64..60_000,
            once in any::<bool>(),
            failures in prop::collection::vec((failure(), any::<f64>()), 1..20),
        ) {
            let p = RetryPolicy {
                max_attempts,
                base_backoff: Duration::from_millis(base_ms),
                max_backoff: Duration::from_millis(max_ms),
                max_rate_limit_wait: Duration::from_secs(900),
            };
            let delivery = if once { ONCE } else { IDEMPOTENT };
            let mut clock = now();
            let mut attempts = 1;
            let mut total = Duration::ZERO;
            for (failure, jitter) in failures {
                let wait = match p.decide(delivery, attempts, &failure, clock, jitter) {
                    RetryDecision::RetryAfter(d) => {
                        prop_assert!(d <= p.max_backoff);
                        d
                    }
                    RetryDecision::RetryAt(t) => {
                        prop_assert!(t > clock);
                        let d = t.duration_since(clock).unwrap();
                        prop_assert!(d <= p.max_rate_limit_wait);
                        d
                    }
                    RetryDecision::GiveUp(_) => break,
                };
                if let (Delivery::AtMostOnce, Failure::Transport(t)) = (delivery, failure) {
                    prop_assert_eq!(t.reached_server, ReachedServer::No);
                }
                total += wait;
                clock += wait;
                attempts += 1;
                prop_assert!(attempts <= max_attempts);
            }
            let bound = (p.max_backoff.max(p.max_rate_limit_wait)) * (max_attempts - 1);
            prop_assert!(total <= bound);
        }
    }
}
