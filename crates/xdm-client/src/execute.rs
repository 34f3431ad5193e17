//! One call through the pipeline: the entry points, and what their parts share.
//!
//! Each part has a file of its own: [`retry`] runs the attempts of one call and decides on
//! each failure, [`request`] makes one attempt (build, authorize, send, settle the limiter),
//! [`admission`] waits for the rate limiter, [`authorize`] adds credentials and keeps an
//! OAuth 2.0 token fresh, and [`locked_refresh`] refreshes it under a token store's lock.

mod admission;
mod authorize;
mod changed;
mod locked_refresh;
mod request;
mod retry;

pub(crate) use changed::LimitsChanged;
pub(crate) use request::{Answered, NoAnswer};
pub(crate) use retry::Attempt;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use tracing::Instrument;
use xdm_core::error::ApiError;
use xdm_core::{Endpoint, EndpointInfo, InvalidInput, RequestContext};

use crate::client::Client;
use crate::error::{Error, OutcomeCause};
use crate::transport::{Timer, Transport};

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
