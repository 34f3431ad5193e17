//! The retry loop of one call: admit, attempt, and on failure ask the retry policy.

use std::time::Duration;

use xdm_auth::oauth2::Bearer;
use xdm_core::EndpointGroup;
use xdm_core::EndpointInfo;
use xdm_core::error::ApiError;
use xdm_core::retry::{Failure, GiveUpReason, ReachedServer, RetryDecision};

use super::{CallError, GoneAfterRetry};
use crate::client::{Auth, Client};
use crate::error::{Error, OutcomeCause, until};
use crate::policy::RateLimitPolicy;
use crate::transport::{Timer, Transport};

impl<T: Transport, C: Timer> Client<T, C> {
    /// The retry loop of one logical request, around `attempt_once`, which makes one
    /// attempt: build, authorize, send, settle the limiter, and read the answer. The buffered
    /// calls pass [`Self::attempt`]; a streamed download passes its own, which leaves the body
    /// of a success to the caller.
    pub(crate) async fn run_attempts<O, F, Fut>(
        &self,
        info: &EndpointInfo,
        gone: GoneAfterRetry<'_, O>,
        mut attempt_once: F,
    ) -> Result<O, CallError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<O>>,
    {
        let mut budget = WaitBudget::new(self.inner.rate_limit_policy);
        let mut attempt = 0u32;
        let mut refreshed_after_401 = false;
        // Whether an earlier attempt may have been acted on although its answer was lost.
        let mut maybe_processed = false;
        let span = tracing::Span::current();
        let outcome = loop {
            attempt += 1;
            span.record("attempts", attempt);
            self.admit(info.group, &mut budget).await?;
            // Every attempt settles the reservation `admit` made; this settles it when the call
            // is dropped half-way, or it would hold the group back until the limiter's
            // reservation timeout.
            let mut reservation = Reservation {
                client: self,
                group: info.group,
                pending: true,
            };
            let attempted = attempt_once().await;
            reservation.pending = false;
            let (status, failure, error) = match attempted {
                Attempt::Done(output) => break Ok(output),
                Attempt::Stop(error) => break Err(CallError::Failed(error)),
                Attempt::Unauthorized(error, bearer) => {
                    // One refresh per call: a token rejected right after a refresh is not
                    // going to be accepted by refreshing again.
                    if let (Auth::OAuth2(manager), false) = (&self.inner.auth, refreshed_after_401)
                    {
                        refreshed_after_401 = true;
                        if let Some(bearer) = bearer {
                            manager.handle_unauthorized(&bearer);
                        }
                        tracing::info!("token rejected; refreshing and trying once more");
                        attempt -= 1;
                        continue;
                    }
                    break Err(CallError::Failed(Error::Api(error)));
                }
                Attempt::Failed {
                    status,
                    failure,
                    error,
                } => (status, failure, error),
            };
            if let (Some(gone), true, Some(404)) = (gone, maybe_processed, status) {
                tracing::info!("not found after a retry: an earlier attempt took effect");
                break Ok(gone());
            }
            maybe_processed |= may_have_been_processed(&failure);
            if let Some(status) = status {
                span.record("status", status);
            }
            let now = self.inner.timer.now();
            let jitter = self.inner.jitter().next_unit();
            let decision = self
                .inner
                .retry
                .decide(info.delivery, attempt, &failure, now, jitter);
            match decision {
                RetryDecision::RetryAfter(delay) => {
                    tracing::info!(
                        delay_ms = delay.as_millis() as u64,
                        "retrying after a failure"
                    );
                    self.inner.timer.sleep(delay).await;
                }
                RetryDecision::RetryAt(reset) => {
                    let wait = until(reset, now);
                    if !budget.take(wait) {
                        break Err(CallError::Failed(Error::RateLimited {
                            group: info.group,
                            reset,
                        }));
                    }
                    tracing::info!(
                        wait_ms = wait.as_millis() as u64,
                        "rate limited; waiting for the reset"
                    );
                    self.inner.timer.sleep(wait).await;
                }
                RetryDecision::GiveUp(GiveUpReason::OutcomeUnknown) => {
                    break Err(CallError::OutcomeUnknown(match error {
                        Error::Transport(t) => OutcomeCause::Transport(t),
                        Error::Api(a) => OutcomeCause::Server(a),
                        other => return Err(CallError::Failed(other)),
                    }));
                }
                RetryDecision::GiveUp(GiveUpReason::ResetTooFar { reset }) => {
                    break Err(CallError::Failed(Error::RateLimited {
                        group: info.group,
                        reset,
                    }));
                }
                RetryDecision::GiveUp(_) => break Err(CallError::Failed(error)),
                _ => break Err(CallError::Failed(error)),
            }
        };
        span.record("waited_ms", budget.waited.as_millis() as u64);
        match outcome {
            Err(CallError::Failed(error @ Error::Api(_))) if maybe_processed => {
                Err(CallError::RefusedAfterLostAnswer(error))
            }
            other => other,
        }
    }
}

/// Whether a failed attempt may have been carried out by the server: a transport failure
/// after (part of) the request may have been written, or a server error, which a gateway can
/// send after the server behind it acted.
fn may_have_been_processed(failure: &Failure) -> bool {
    match failure {
        Failure::Transport(t) => t.reached_server == ReachedServer::Maybe,
        Failure::Response { status, .. } => status.is_server_error(),
        _ => true,
    }
}

/// How one attempt of a call ended.
pub(crate) enum Attempt<O> {
    /// The answer, read.
    Done(O),
    /// Stop without retrying: the request could not even be made.
    Stop(Error),
    /// A 401, with the bearer that was refused (OAuth 2.0).
    Unauthorized(ApiError, Option<Bearer>),
    /// A failure for the retry policy to judge: the status when there was an answer.
    Failed {
        status: Option<u16>,
        failure: Failure,
        error: Error,
    },
}

/// A reservation of the limiter not yet settled by an attempt; dropping it settles it as a
/// request that got no answer, unless the attempt has settled it already.
struct Reservation<'a, T: Transport, C: Timer> {
    client: &'a Client<T, C>,
    group: EndpointGroup,
    pending: bool,
}

impl<T: Transport, C: Timer> Drop for Reservation<'_, T, C> {
    fn drop(&mut self) {
        if self.pending {
            self.client.settle_without_response(self.group);
        }
    }
}

impl<O> Attempt<O> {
    /// An answer X gave with `status` that decoded to `error`: a 401 to be refreshed past
    /// once, or a failure for the retry policy.
    pub(crate) fn refused(
        status: http::StatusCode,
        error: ApiError,
        bearer: Option<Bearer>,
    ) -> Self {
        if status == http::StatusCode::UNAUTHORIZED {
            return Attempt::Unauthorized(error, bearer);
        }
        Attempt::Failed {
            status: Some(status.as_u16()),
            failure: Failure::from(&error),
            error: Error::Api(error),
        }
    }
}

/// What is left of one call's allowance for rate-limit waits.
pub(super) struct WaitBudget {
    max: Duration,
    pub(super) waited: Duration,
}

impl WaitBudget {
    pub(super) fn new(policy: RateLimitPolicy) -> Self {
        WaitBudget {
            max: policy.max_wait(),
            waited: Duration::ZERO,
        }
    }

    /// Spends `wait` if the budget allows it.
    pub(super) fn take(&mut self, wait: Duration) -> bool {
        match self.waited.checked_add(wait) {
            Some(total) if total <= self.max => {
                self.waited = total;
                true
            }
            _ => false,
        }
    }
}
