//! The call loop: admit, authorize, send, learn, decide, and again if the policy says so.

mod changed;

pub(crate) use changed::LimitsChanged;

#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;
use tracing::Instrument;
use xdm_auth::oauth2::{
    Bearer, FileTokenStore, LockedRefresh, LockedRefreshError, RefreshOutcome, RefreshTicket,
    StoreError, StoreLock, TokenAction,
};
use xdm_core::error::ApiError;
use xdm_core::rate_limit::{Admit, RateLimitSnapshot};
use xdm_core::retry::{Failure, GiveUpReason, ReachedServer, RetryDecision};
use xdm_core::{Authorize, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

use crate::client::{Auth, Client};
use crate::error::{AuthorizationError, Error, OutcomeCause, until};
use crate::policy::RateLimitPolicy;
use crate::transport::{Timer, Transport, TransportError};

/// How a call ended when it did not succeed.
pub(crate) enum CallError {
    /// A definite failure.
    Failed(Error),
    /// An at-most-once request may have taken effect.
    OutcomeUnknown(OutcomeCause),
    /// X refused a retry of a request an earlier attempt of which may have been carried out
    /// (its answer was lost): the refusal may be X saying it is done already, as a second
    /// finalize of an upload is refused. The caller may look before reporting it.
    RefusedAfterLostAnswer(Error),
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Failed(e)
    }
}

type Build<'a> = &'a (dyn Fn(&RequestContext) -> Result<http::Request<Bytes>, InvalidInput> + Sync);

/// The output to report when a request is answered 404 after an earlier attempt may have
/// reached the server: for a deletion, the earlier attempt did what was asked.
pub(crate) type GoneAfterRetry<'a, O> = Option<&'a (dyn Fn() -> O + Sync)>;

impl CallError {
    /// The caller-facing error, naming `path` as the recipient of an unknown outcome.
    pub(crate) fn into_error(self, path: &'static str, started_at: std::time::SystemTime) -> Error {
        match self {
            CallError::Failed(e) | CallError::RefusedAfterLostAnswer(e) => e,
            CallError::OutcomeUnknown(cause) => {
                Error::OutcomeUnknown(Box::new(crate::error::UnknownOutcome {
                    recipient: crate::error::Recipient::Endpoint(path),
                    message: None,
                    started_at,
                    cause,
                }))
            }
        }
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Sends any endpoint of the core through the full pipeline (rate limits, authorization,
    /// retries, token refresh) and decodes its response.
    ///
    /// A request that must not be sent twice and whose outcome is unknown fails with
    /// [`Error::OutcomeUnknown`]; the typed send methods ([`send`](Client::send)) can also
    /// reconcile such failures.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::ListEvents;
    ///
    /// let page = client.execute(&ListEvents::new().with_max_results(10)?).await?;
    /// for event in page.items() {
    ///     println!("{:?}", event.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn execute<E>(&self, endpoint: &E) -> Result<E::Output, Error>
    where
        E: Endpoint + Sync,
        E::Output: Send,
    {
        let info = endpoint.info();
        let started_at = self.inner.timer.now();
        let path = info.path_template;
        let build = |ctx: &RequestContext| endpoint.build_request(ctx);
        self.exchange(info, &build, |r| endpoint.decode_response(r))
            .await
            .map_err(|e| e.into_error(path, started_at))
    }

    /// Runs one logical request to completion: the retry loop around [`Self::attempt`].
    pub(crate) async fn exchange<O>(
        &self,
        info: EndpointInfo,
        build: Build<'_>,
        decode: impl Fn(http::Response<Bytes>) -> Result<O, ApiError> + Send + Sync,
    ) -> Result<O, CallError> {
        self.exchange_with(info, build, decode, None).await
    }

    /// [`Self::exchange`], with `gone` as the output of a 404 that answers a retry after an
    /// attempt that may have reached the server (see [`GoneAfterRetry`]).
    pub(crate) async fn exchange_with<O>(
        &self,
        info: EndpointInfo,
        build: Build<'_>,
        decode: impl Fn(http::Response<Bytes>) -> Result<O, ApiError> + Send + Sync,
        gone: GoneAfterRetry<'_, O>,
    ) -> Result<O, CallError> {
        self.run_attempts(&info, gone, || self.attempt(&info, build, &decode))
            .instrument(call_span(&info))
            .await
    }

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

    /// One request: build, authorize, send, settle the limiter's reservation, decode.
    async fn attempt<O>(
        &self,
        info: &EndpointInfo,
        build: Build<'_>,
        decode: &(impl Fn(http::Response<Bytes>) -> Result<O, ApiError> + Sync),
    ) -> Attempt<O> {
        let answered = self
            .request_once(info, build, |request| self.inner.transport.send(request))
            .await;
        let Answered {
            response, bearer, ..
        } = match answered {
            Ok(answered) => answered,
            Err(no_answer) => return no_answer.into(),
        };
        let status = response.status();
        match decode(response) {
            Ok(output) => {
                tracing::Span::current().record("status", status.as_u16());
                Attempt::Done(output)
            }
            Err(error) => Attempt::refused(status, error, bearer),
        }
    }

    /// Builds `build`'s request, authorizes it and hands it to `send`, then settles the
    /// limiter's reservation: with the answer's rate-limit headers, or as unanswered. What to
    /// make of the answer is the caller's: a buffered call decodes it, a streamed download
    /// leaves its body to the user.
    pub(crate) async fn request_once<B, Fut>(
        &self,
        info: &EndpointInfo,
        build: Build<'_>,
        send: impl FnOnce(http::Request<Bytes>) -> Fut,
    ) -> Result<Answered<B>, NoAnswer>
    where
        Fut: std::future::Future<Output = Result<http::Response<B>, TransportError>>,
    {
        let inner = &self.inner;
        let mut request = build(&inner.ctx).map_err(|e| {
            self.settle_without_response(info.group);
            NoAnswer::Stop(Error::InvalidInput(e))
        })?;
        let bearer = match self.authorize(&mut request).await {
            Ok(bearer) => bearer,
            Err(e) => {
                self.settle_without_response(info.group);
                return Err(NoAnswer::Stop(e));
            }
        };
        let result = send(request).await;
        let now = inner.timer.now();
        let response = result.map_err(|error| {
            self.settle_without_response(info.group);
            tracing::info!(%error, "no response");
            NoAnswer::Failed(error)
        })?;
        let rate_limit = RateLimitSnapshot::from_headers(response.headers());
        self.learn_limits(info.group, &rate_limit, response.status(), now);
        Ok(Answered {
            response,
            bearer,
            rate_limit,
        })
    }

    /// Hands a response's rate-limit headers to the limiter, and wakes the calls waiting on
    /// it: the answer settles a reservation and may report a larger budget or a new window.
    pub(crate) fn learn_limits(
        &self,
        group: EndpointGroup,
        snapshot: &RateLimitSnapshot,
        status: http::StatusCode,
        now: std::time::SystemTime,
    ) {
        self.inner.limiter().handle_response(
            &self.inner.credential_key,
            group,
            snapshot,
            status,
            now,
        );
        self.inner.limits_changed.notify();
    }

    /// Waits until the limiter admits a request for `group`, within the policy's budget.
    ///
    /// While requests of the group are in flight, a refusal is provisional: their answers
    /// carry the server's own count, which may be far above the documented limits the limiter
    /// starts from (or the window may have rolled over). So the call waits for the next settled
    /// reservation and asks again, without spending its wait budget; only a refusal with
    /// nothing in flight to correct it is waited out or, past the budget, returned.
    async fn admit(&self, group: EndpointGroup, budget: &mut WaitBudget) -> Result<(), Error> {
        let key = &self.inner.credential_key;
        loop {
            // Read before the limiter, so a settlement in between is not missed.
            let seen = self.inner.limits_changed.generation();
            let now = self.inner.timer.now();
            let (admit, in_flight) = {
                let mut limiter = self.inner.limiter();
                let admit = limiter.poll_admit(key, group, now);
                (admit, limiter.in_flight(key, group))
            };
            let reset = match admit {
                Admit::Send => return Ok(()),
                Admit::WaitUntil(reset) => reset,
                // A future answer this client does not know: sending is what X decides on.
                _ => return Ok(()),
            };
            let wait = until(reset, now);
            if in_flight > 0 {
                // Bounded by the reservation timeout too: a reservation whose caller vanished
                // is dropped by the limiter then, and nothing else would wake this call.
                let guard = self
                    .inner
                    .limiter()
                    .config()
                    .reservation_timeout
                    .map_or(wait, |t| wait.min(t));
                tracing::debug!(in_flight, "limit reached; waiting for answers in flight");
                changed::either(
                    self.inner.limits_changed.wait_past(seen),
                    self.inner.timer.sleep(guard),
                )
                .await;
                continue;
            }
            if !budget.take(wait) {
                return Err(Error::RateLimited { group, reset });
            }
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "rate limit exhausted; waiting for the reset"
            );
            self.inner.timer.sleep(wait).await;
        }
    }

    /// Adds credentials; for OAuth 2.0, refreshes first when the token is due, with at most
    /// one refresh in flight across all clones and tasks.
    pub(crate) async fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
    ) -> Result<Option<Bearer>, Error> {
        let manager = match &self.inner.auth {
            Auth::OAuth1(signer) => {
                signer
                    .authorize(request, self.inner.timer.now())
                    .map_err(|e| Error::Authorization(AuthorizationError::Refused(e)))?;
                return Ok(None);
            }
            Auth::OAuth2(manager) => manager,
        };
        loop {
            let now = self.inner.timer.now();
            match manager.poll_token(now) {
                TokenAction::Use(bearer) => {
                    manager
                        .authorize(request, now)
                        .map_err(|e| Error::Authorization(AuthorizationError::Refused(e)))?;
                    return Ok(Some(bearer));
                }
                TokenAction::Refresh(ticket) if self.inner.token_file.is_some() => {
                    let store = self
                        .inner
                        .token_file
                        .as_ref()
                        .expect("checked by the guard");
                    self.refresh_under_lock(store, ticket).await?;
                }
                TokenAction::Refresh(ticket) => {
                    let refresh = ticket.request();
                    let span = tracing::info_span!("xdm.refresh", path = "/2/oauth2/token");
                    let response = self
                        .inner
                        .transport
                        .send(refresh)
                        .instrument(span)
                        .await
                        .map_err(|e| {
                            Error::Authorization(AuthorizationError::RefreshTransport(e))
                        })?;
                    ticket
                        .handle_response(&response, self.inner.timer.now())
                        .map_err(|e| Error::Authorization(AuthorizationError::Refresh(e)))?;
                    tracing::info!("access token refreshed");
                }
                TokenAction::Wait(wait) => match wait.await {
                    RefreshOutcome::Failed(e) => {
                        return Err(Error::Authorization(AuthorizationError::Refresh(e)));
                    }
                    _ => continue,
                },
                TokenAction::Reauthorize => {
                    return Err(Error::Authorization(
                        AuthorizationError::ReauthorizationRequired,
                    ));
                }
                _ => {
                    return Err(Error::Authorization(
                        AuthorizationError::ReauthorizationRequired,
                    ));
                }
            }
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

/// How long to wait between tries of a token file's lock, and how long in all.
const LOCK_POLL: Duration = Duration::from_millis(20);
const LOCK_PATIENCE: Duration = Duration::from_secs(60);

impl<T: Transport, C: Timer> Client<T, C> {
    /// Refreshes under `store`'s lock: adopts a token another process saved, or sends the
    /// refresh and saves its result before releasing the lock.
    async fn refresh_under_lock(
        &self,
        store: &FileTokenStore,
        ticket: RefreshTicket,
    ) -> Result<(), Error> {
        let store_error = |e| Error::Authorization(AuthorizationError::TokenStore(e));
        let lock = self.lock_token_file(store).await.map_err(store_error)?;
        let ticket = match lock
            .begin_refresh(ticket, self.inner.timer.now())
            .map_err(store_error)?
        {
            LockedRefresh::Send(ticket) => ticket,
            // Another process rotated the token; the manager holds it now.
            _ => {
                tracing::info!("adopted the token another process refreshed");
                return Ok(());
            }
        };
        let span = tracing::info_span!("xdm.refresh", path = "/2/oauth2/token");
        // The lock stays held across the send: releasing it before the new token is saved
        // would let another process spend the same refresh token.
        let response = self
            .inner
            .transport
            .send(ticket.request())
            .instrument(span)
            .await
            .map_err(|e| Error::Authorization(AuthorizationError::RefreshTransport(e)))?;
        match lock.finish_refresh(ticket, &response, self.inner.timer.now()) {
            Ok(_) => tracing::info!("access token refreshed and saved"),
            Err(LockedRefreshError::Save(error)) => {
                tracing::warn!(%error, "could not save the refreshed OAuth 2.0 token");
            }
            Err(LockedRefreshError::Refresh(e)) => {
                return Err(Error::Authorization(AuthorizationError::Refresh(e)));
            }
            // A kind of failure this version does not know: the manager's state says what
            // comes next (a token to use, another refresh, or a new authorization).
            Err(other) => tracing::warn!(error = %other, "refreshing the token failed"),
        }
        Ok(())
    }

    /// Takes `store`'s lock without blocking the runtime: tries it, and sleeps through the
    /// timer while another process holds it.
    async fn lock_token_file(&self, store: &FileTokenStore) -> Result<StoreLock, StoreError> {
        let mut waited = Duration::ZERO;
        loop {
            if let Some(lock) = store.try_lock()? {
                return Ok(lock);
            }
            if waited >= LOCK_PATIENCE {
                return Err(StoreError::Io {
                    action: "lock",
                    path: store.path().to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another process held the token file's lock for a minute",
                    ),
                });
            }
            self.inner.timer.sleep(LOCK_POLL).await;
            waited += LOCK_POLL;
        }
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

/// An HTTP answer to one attempt, with what the attempt needs to judge it.
pub(crate) struct Answered<B> {
    pub(crate) response: http::Response<B>,
    /// The bearer token the request carried (OAuth 2.0), to report if it is refused.
    pub(crate) bearer: Option<Bearer>,
    pub(crate) rate_limit: RateLimitSnapshot,
}

/// Why an attempt got no HTTP answer.
pub(crate) enum NoAnswer {
    /// The request could not be made: bad input or no authorization.
    Stop(Error),
    /// The transport failed.
    Failed(TransportError),
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

impl<O> From<NoAnswer> for Attempt<O> {
    fn from(no_answer: NoAnswer) -> Self {
        match no_answer {
            NoAnswer::Stop(error) => Attempt::Stop(error),
            NoAnswer::Failed(error) => Attempt::Failed {
                status: None,
                failure: Failure::Transport(error.failure()),
                error: Error::Transport(error),
            },
        }
    }
}

/// What is left of one call's allowance for rate-limit waits.
struct WaitBudget {
    max: Duration,
    waited: Duration,
}

impl WaitBudget {
    fn new(policy: RateLimitPolicy) -> Self {
        WaitBudget {
            max: policy.max_wait(),
            waited: Duration::ZERO,
        }
    }

    /// Spends `wait` if the budget allows it.
    fn take(&mut self, wait: Duration) -> bool {
        match self.waited.checked_add(wait) {
            Some(total) if total <= self.max => {
                self.waited = total;
                true
            }
            _ => false,
        }
    }
}

/// The span of one logical call: method, path template, and as it goes the status, the
/// attempts made and the time waited on rate limits. Never a header, query or body.
pub(crate) fn call_span(info: &EndpointInfo) -> tracing::Span {
    tracing::info_span!(
        "xdm.call",
        method = %info.method,
        path = info.path_template,
        status = tracing::field::Empty,
        attempts = tracing::field::Empty,
        waited_ms = tracing::field::Empty,
    )
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Gives back the limiter's reservation for a request that got no response, and wakes
    /// the calls waiting on the limiter.
    pub(crate) fn settle_without_response(&self, group: EndpointGroup) {
        self.inner
            .limiter()
            .handle_failure(&self.inner.credential_key, group);
        self.inner.limits_changed.notify();
    }
}
