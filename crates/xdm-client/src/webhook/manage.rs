//! Registering and managing webhooks with the app's Bearer token.

use std::fmt;

use xdm_auth::AppBearerAuthorizer;
use xdm_auth::secret::AppBearerToken;
use xdm_core::endpoints::{
    DeleteWebhook, ListWebhooks, RegisterWebhook, ReplayJob, ReplayWebhook, ValidateWebhook,
    WebhookConfig, WebhookUrl, WebhookValidation,
};
use xdm_core::ids::WebhookId;
use xdm_core::models::Deleted;
use xdm_core::{Authorize, Endpoint, RequestContext};

use crate::error::{AuthorizationError, Error};
use crate::transport::{Timer, Transport};

/// The app's webhooks: register, list, revalidate, delete, replay.
///
/// Every call takes the app's Bearer token, never a user's; each input is checked before any
/// request (a URL X would refuse, a replay window outside the last 24 hours). Calls are made
/// once, without the retries and rate-limit waits of [`Client`](crate::Client): these are
/// rare, interactive operations, and a registration must not be repeated blindly (its CRC
/// check has effects on the receiver).
///
/// ```no_run
/// # async fn run<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
/// #     transport: T, timer: C) -> Result<(), xdm_client::Error> {
/// use xdm_client::webhook::Webhooks;
/// use xdm_core::RequestContext;
///
/// let hooks = Webhooks::new(transport, timer, "app-bearer-token", RequestContext::default());
/// let config = hooks.register("https://bot.example.com/webhooks/x").await?;
/// for hook in hooks.list().await? {
///     println!("{:?} {:?} valid={:?}", hook.id, hook.url, hook.valid);
/// }
/// # let _ = config; Ok(()) }
/// ```
pub struct Webhooks<T, C> {
    transport: T,
    timer: C,
    authorizer: AppBearerAuthorizer,
    context: RequestContext,
}

impl<T, C> fmt::Debug for Webhooks<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("authorizer", &self.authorizer)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, C: Timer> Webhooks<T, C> {
    /// Calls X (or `context`'s base URL) through `transport` with the app's Bearer `token`.
    pub fn new(
        transport: T,
        timer: C,
        token: impl Into<AppBearerToken>,
        context: RequestContext,
    ) -> Self {
        Self {
            transport,
            timer,
            authorizer: AppBearerAuthorizer::new(token),
            context,
        }
    }

    /// Registers `url`; X checks it with a CRC request before answering. The URL must be
    /// `https`, without a port, at most 200 characters ([`WebhookUrl::parse`]).
    pub async fn register(&self, url: &str) -> Result<WebhookConfig, Error> {
        let url = WebhookUrl::parse(url)?;
        Ok(self
            .execute(&RegisterWebhook::new(url))
            .await?
            .into_data()?)
    }

    /// The app's webhooks.
    pub async fn list(&self) -> Result<Vec<WebhookConfig>, Error> {
        // X leaves `data` out when there is none.
        Ok(self
            .execute(&ListWebhooks::new())
            .await?
            .data
            .unwrap_or_default())
    }

    /// Asks X to run a CRC check on webhook `id` again (`PUT`), re-enabling it if it passes.
    pub async fn revalidate(&self, id: &str) -> Result<WebhookValidation, Error> {
        let id = WebhookId::parse_as(id, "webhook_id")?;
        Ok(self.execute(&ValidateWebhook::new(id)).await?.into_data()?)
    }

    /// Deletes webhook `id`.
    pub async fn delete(&self, id: &str) -> Result<Deleted, Error> {
        let id = WebhookId::parse_as(id, "webhook_id")?;
        Ok(self.execute(&DeleteWebhook::new(id)).await?.into_data()?)
    }

    /// Asks X to send webhook `id` again what it delivered from `from` to `to` (cut to the
    /// minute; within the last 24 hours by the timer's clock, checked before any request).
    /// A `{"replay_job_status":…}` delivery reports the end of the job.
    pub async fn replay(
        &self,
        id: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<ReplayJob, Error> {
        let id = WebhookId::parse_as(id, "webhook_id")?;
        let now = jiff::Timestamp::try_from(self.timer.now()).map_err(|_| {
            xdm_core::InvalidInput::new(
                "now",
                "the clock is outside the range of timestamps".to_owned(),
                "a clock between the years -9999 and 9999",
            )
        })?;
        let replay = ReplayWebhook::new(id, from, to, now)?;
        Ok(self.execute(&replay).await?.into_data()?)
    }

    /// Sends any app-Bearer endpoint once and decodes its answer.
    pub async fn execute<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, Error> {
        let mut request = endpoint.build_request(&self.context)?;
        self.authorizer
            .authorize(&mut request, self.timer.now())
            .map_err(AuthorizationError::Refused)?;
        let response = self.transport.send(request).await?;
        Ok(endpoint.decode_response(response)?)
    }
}
