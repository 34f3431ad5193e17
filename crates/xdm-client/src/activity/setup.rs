//! Making sure the `dm.*` subscriptions a user needs exist, in one call.

use xdm_auth::AuthorizeError;
use xdm_core::endpoints::{CreateSubscription, Subscription, SubscriptionEventType};
use xdm_core::ids::{UserId, WebhookId};
use xdm_core::{Credential, Endpoint};

use crate::client::{Auth, Client};
use crate::error::{AuthorizationError, Error};
use crate::transport::{Timer, Transport};

/// Makes sure a user's `dm.*` subscriptions exist: lists the app's subscriptions with the
/// app's Bearer token, and creates the missing ones with the user's own token. A subscription
/// X reports as a duplicate counts as present.
///
/// Everything that can be checked without X is checked before the first request: that the
/// app client holds the app's Bearer token, and that the user client holds a user token with
/// `dm.read` (when the token says which scopes it has).
///
/// ```no_run
/// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
/// #     app: xdm_client::Client<T, C>, user: xdm_client::Client<T, C>,
/// #     me: xdm_core::ids::UserId) -> Result<(), xdm_client::Error> {
/// use xdm_client::activity::ActivitySetup;
///
/// let report = ActivitySetup::new(&app, &user).ensure(&me).await?;
/// println!("created {} subscription(s)", report.created.len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ActivitySetup<'a, T, C> {
    app: &'a Client<T, C>,
    user: &'a Client<T, C>,
    event_types: Vec<SubscriptionEventType>,
    webhook: Option<WebhookId>,
}

/// What [`ActivitySetup::ensure`] found and did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SetupReport {
    /// The subscriptions that existed already, as listed.
    pub present: Vec<Subscription>,
    /// The subscriptions created now, as X reported them.
    pub created: Vec<Subscription>,
    /// The event types X called duplicates on creation (present, though the listing did not
    /// show them, for instance because it lags).
    pub duplicates: Vec<SubscriptionEventType>,
}

impl<'a, T: Transport, C: Timer> ActivitySetup<'a, T, C> {
    /// A setup that lists with `app` (holding the app's Bearer token) and creates with `user`
    /// (holding the user's token), for `dm.received` and `dm.sent` delivered to the stream.
    pub fn new(app: &'a Client<T, C>, user: &'a Client<T, C>) -> Self {
        Self {
            app,
            user,
            event_types: vec![
                SubscriptionEventType::DmReceived,
                SubscriptionEventType::DmSent,
            ],
            webhook: None,
        }
    }

    /// The event types to subscribe to, instead of `dm.received` and `dm.sent`.
    pub fn with_event_types(
        mut self,
        event_types: impl IntoIterator<Item = SubscriptionEventType>,
    ) -> Self {
        self.event_types = event_types.into_iter().collect();
        self
    }

    /// Delivers to `webhook` instead of the stream.
    pub fn with_webhook(mut self, webhook: WebhookId) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Lists, then creates what is missing; see the [type docs](Self).
    ///
    /// # Errors
    ///
    /// Before any request: [`Error::InvalidInput`] for an event type that cannot be
    /// subscribed per user, and [`Error::Authorization`] when a client holds the wrong
    /// credential or the user token lacks `dm.read`. Afterwards, whatever a call fails with.
    pub async fn ensure(&self, user: &UserId) -> Result<SetupReport, Error> {
        let creates = self
            .event_types
            .iter()
            .map(|t| {
                let create = CreateSubscription::for_user(t.clone(), user.clone())?;
                Ok(match &self.webhook {
                    Some(w) => create.with_webhook(w.clone()),
                    None => create,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        check_app_client(self.app)?;
        for create in &creates {
            check_user_client(self.user, create)?;
        }
        let listed = self.app.list_all_subscriptions().await?;
        let mut report = SetupReport::default();
        for create in creates {
            let present = listed
                .iter()
                .find(|s| s.matches(create.event_type(), user) && self.delivers_here(s));
            if let Some(existing) = present {
                report.present.push(existing.clone());
                continue;
            }
            let outcome = self.user.create_subscription(&create).await?;
            match outcome.created() {
                Some(record) => report.created.push(record.subscription.clone()),
                None => report.duplicates.push(create.event_type().clone()),
            }
        }
        Ok(report)
    }

    /// Whether `subscription` delivers where this setup wants events.
    fn delivers_here(&self, subscription: &Subscription) -> bool {
        match &self.webhook {
            None => subscription.is_stream(),
            Some(w) => subscription.webhook_id.as_deref() == Some(w.as_str()),
        }
    }
}

fn refused(e: AuthorizeError) -> Error {
    Error::Authorization(AuthorizationError::Refused(e))
}

/// The app client must hold the app's Bearer token: listing takes it.
fn check_app_client<T, C>(app: &Client<T, C>) -> Result<(), Error> {
    match app.inner.auth {
        Auth::AppBearer(_) => Ok(()),
        _ => {
            let info = xdm_core::endpoints::ListSubscriptions::new().info();
            Err(refused(AuthorizeError::NeedsAppBearer {
                method: info.method,
                endpoint: info.path_template,
            }))
        }
    }
}

/// The user client must hold a user token, with the scopes `create` needs when the token says
/// which it has.
fn check_user_client<T, C>(user: &Client<T, C>, create: &CreateSubscription) -> Result<(), Error> {
    let info = create.info();
    debug_assert_eq!(info.credential, Credential::User);
    match &user.inner.auth {
        Auth::AppBearer(_) => Err(refused(AuthorizeError::NeedsUserToken {
            method: info.method,
            endpoint: info.path_template,
        })),
        Auth::OAuth2(manager) => {
            let missing = manager.token().missing_scopes(info.scopes);
            if missing.is_empty() {
                Ok(())
            } else {
                Err(refused(AuthorizeError::MissingScopes {
                    method: info.method,
                    endpoint: info.path_template,
                    missing,
                }))
            }
        }
        Auth::OAuth1(_) => Ok(()),
    }
}
