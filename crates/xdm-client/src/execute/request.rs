//! One attempt: build the request, authorize it, send it, settle the limiter's reservation.

use bytes::Bytes;
use xdm_auth::oauth2::Bearer;
use xdm_core::error::ApiError;
use xdm_core::rate_limit::RateLimitSnapshot;
use xdm_core::retry::Failure;
use xdm_core::{EndpointGroup, EndpointInfo};

use super::{Attempt, Build};
use crate::client::Client;
use crate::error::Error;
use crate::transport::{Timer, Transport, TransportError};

impl<T: Transport, C: Timer> Client<T, C> {
    /// One request: build, authorize, send, settle the limiter's reservation, decode.
    pub(super) async fn attempt<O>(
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
