//! Real-time DMs through the X Activity API: the subscription calls, a one-call setup, and
//! the stream client.
//!
//! Two credentials are at work (see [`Credential`](xdm_core::Credential)): the app's Bearer
//! token ([`Credentials::AppBearer`](crate::Credentials::AppBearer)) opens the stream and
//! lists, updates and deletes subscriptions; the user's own token, holding `dm.read`, creates
//! a `dm.*` subscription for that user. So a listener holds two clients: one with each.
//!
//! - [`Client::create_subscription`], [`Client::list_all_subscriptions`],
//!   [`Client::update_subscription`], [`Client::delete_subscription`] and
//!   [`Client::delete_subscriptions`] go through the client's pipeline like any call (rate
//!   limits, retries, credential checks before sending);
//! - [`ActivitySetup`] makes sure the `dm.*` subscriptions a user needs exist;
//! - [`ActivityStream`] holds one stream connection at a time, reconnects as X asks, fills
//!   gaps from `GET /2/dm_events`, and hands out each DM once.

mod setup;
mod stream;
#[cfg(test)]
mod tests;

pub use setup::{ActivitySetup, SetupReport};
pub use stream::{
    ActivityItem, ActivityItems, ActivityStream, Disconnect, ShutdownHandle, StopCause,
    StreamNotice, StreamOptions,
};

use xdm_core::endpoints::{
    CreateOutcome, CreateSubscription, DeleteSubscription, DeleteSubscriptions,
    DeletedSubscriptions, ListSubscriptions, Subscription, SubscriptionRecord, UpdateSubscription,
};
use xdm_core::ids::SubscriptionId;
use xdm_core::models::Deleted;

use crate::client::Client;
use crate::error::Error;
use crate::transport::{Timer, Transport};

/// The most pages [`Client::list_all_subscriptions`] reads: at X's largest page size that is
/// far beyond any app's subscription cap, so reaching it means the server is looping.
const MAX_SUBSCRIPTION_PAGES: usize = 100;

impl<T: Transport, C: Timer> Client<T, C> {
    /// Creates a subscription (`POST /2/activity/subscriptions`). A `dm.*` subscription takes
    /// the filtered user's own token with `dm.read`; a client with another credential is
    /// refused before anything is sent. X's answer to a duplicate is
    /// [`CreateOutcome::Duplicate`], not an error.
    pub async fn create_subscription(
        &self,
        create: &CreateSubscription,
    ) -> Result<CreateOutcome, Error> {
        self.execute(create).await
    }

    /// Every subscription of the app (`GET /2/activity/subscriptions`, all pages, with the
    /// app's Bearer token), in X's order.
    ///
    /// The listing ends on a page without a `next_token`, an empty page, or a token that
    /// repeats the current one, and after 100 pages at the latest (100,000 subscriptions, far
    /// beyond any app's cap), so that a server repeating itself cannot keep it going.
    pub async fn list_all_subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        let mut request = ListSubscriptions::new()
            .with_max_results(u32::from(ListSubscriptions::MAX_RESULTS))
            .map_err(Error::from)?;
        let mut all = Vec::new();
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let page = self.execute(&request).await?;
            let next = request.next_page(&page);
            all.extend(page.items().iter().cloned());
            match next {
                Some(next) => request = next,
                None => break,
            }
        }
        Ok(all)
    }

    /// Changes a subscription's tag or webhook (`PUT`, app's Bearer token).
    pub async fn update_subscription(
        &self,
        update: &UpdateSubscription,
    ) -> Result<SubscriptionRecord, Error> {
        Ok(self.execute(update).await?.into_data()?)
    }

    /// Deletes one subscription (`DELETE /2/activity/subscriptions/{id}`, app's Bearer token).
    pub async fn delete_subscription(&self, id: &SubscriptionId) -> Result<Deleted, Error> {
        Ok(self
            .execute(&DeleteSubscription::new(id.clone()))
            .await?
            .into_data()?)
    }

    /// Deletes several subscriptions in one request (`DELETE ...?ids=`, app's Bearer token);
    /// the answer says which went and which did not.
    pub async fn delete_subscriptions(
        &self,
        ids: impl IntoIterator<Item = SubscriptionId>,
    ) -> Result<DeletedSubscriptions, Error> {
        let delete = DeleteSubscriptions::new(ids)?;
        Ok(self.execute(&delete).await?.into_data()?)
    }
}
