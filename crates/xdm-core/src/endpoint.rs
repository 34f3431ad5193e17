//! The contract every endpoint type fulfils: build one request, decode one response.

use bytes::Bytes;
use http::Method;

use crate::error::ApiError;
use crate::{BaseUrl, Credential, Dialect, InvalidInput, Scope};

/// Where requests go and which wire names they use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// The API root, such as `https://api.x.com`.
    pub base_url: BaseUrl,
    /// Which spelling of the renamed parameters to send (`tweet.fields` or `post.fields`).
    pub dialect: Dialect,
}

impl RequestContext {
    /// A context for `base_url` in the default (legacy) dialect.
    pub fn new(base_url: BaseUrl) -> Self {
        Self {
            base_url,
            dialect: Dialect::default(),
        }
    }

    /// The same context with another dialect.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }
}

impl Default for RequestContext {
    /// X's production API in the legacy dialect.
    fn default() -> Self {
        Self::new(BaseUrl::x_api())
    }
}

/// Which rate-limit bucket an endpoint draws from.
///
/// X documents per-user limits per group of endpoints (the three listings and the single lookup
/// share one; the three ways of sending share another), so the limiter keys its state by group.
///
/// The activity groups (subscriptions, webhooks, replay, stream connects) are limited per app
/// rather than per user; the limiter keys them by whatever credential key the caller passes,
/// which for the app's Bearer token stands for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EndpointGroup {
    /// `GET /2/dm_events`, `/2/dm_events/{id}` and the two conversation listings.
    ReadEvents,
    /// The three `POST` endpoints that send a message or create a group.
    SendMessage,
    /// `DELETE /2/dm_events/{id}`.
    DeleteEvent,
    /// `POST /2/users/{id}/dm/block` and `/dm/unblock`.
    Block,
    /// `GET /2/dm_conversations/media/...` and media URLs.
    MediaDownload,
    /// `/2/media/upload` and its chunked steps.
    MediaUpload,
    /// `GET /2/users/me`, which names the user behind the credentials.
    LookupSelf,
    /// `POST /2/activity/subscriptions`: 500 per 15 minutes per app.
    CreateSubscription,
    /// `GET /2/activity/subscriptions`: 500 per 15 minutes per app.
    ListSubscriptions,
    /// `PUT /2/activity/subscriptions/{subscription_id}`: 500 per 15 minutes per app.
    UpdateSubscription,
    /// `DELETE /2/activity/subscriptions/{subscription_id}` and the delete of many by ids:
    /// 500 per 15 minutes per app.
    DeleteSubscription,
    /// `POST /2/webhooks`: 450 per 15 minutes per app.
    RegisterWebhook,
    /// `GET /2/webhooks`: 450 per 15 minutes per app.
    ListWebhooks,
    /// `PUT /2/webhooks/{webhook_id}`: 450 per 15 minutes per app.
    ValidateWebhook,
    /// `DELETE /2/webhooks/{webhook_id}`: 450 per 15 minutes per app.
    DeleteWebhook,
    /// `POST /2/webhooks/replay`: 100 per 15 minutes per app.
    ReplayWebhook,
    /// `GET /2/activity/stream`: 450 connection attempts per 15 minutes per app.
    ConnectStream,
}

/// Whether sending a request twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// Reads, deletes, block and unblock: sending twice gives the same state.
    Idempotent,
    /// Sends and group creation: a second copy would be a second message. Such a request is
    /// retried only when it certainly never reached the server.
    AtMostOnce,
}

/// What is known about an endpoint without building a request.
///
/// Every request built by an [`Endpoint`] carries a copy in its
/// [extensions](http::Request::extensions), so that an authorizer, a limiter or a tracing layer
/// can learn which endpoint a bare `http::Request` is for.
///
/// `#[non_exhaustive]`, so that more can be said about endpoints later: an endpoint of your
/// own builds its value with [`EndpointInfo::new`].
///
/// ```
/// use http::Method;
/// use xdm_core::{Credential, Delivery, EndpointGroup, EndpointInfo, Scope};
///
/// let info = EndpointInfo::new(
///     Method::GET,
///     "/2/dm_events",
///     EndpointGroup::ReadEvents,
///     &[Scope::DmRead, Scope::TweetRead, Scope::UsersRead],
///     Delivery::Idempotent,
/// );
/// assert!(info.oauth1);
/// assert_eq!(info.credential, Credential::User);
/// assert!(!info.clone().without_oauth1().oauth1);
///
/// let app = info.app_only();
/// assert_eq!(app.credential, Credential::AppBearer);
/// assert!(app.scopes.is_empty() && !app.oauth1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The HTTP method.
    pub method: Method,
    /// The path with placeholders, such as `/2/dm_events/{event_id}`; safe to log.
    pub path_template: &'static str,
    /// The rate-limit bucket.
    pub group: EndpointGroup,
    /// OAuth 2.0 scopes the endpoint needs from a user token; empty for app-only endpoints.
    pub scopes: &'static [Scope],
    /// Whether a retry could duplicate an effect.
    pub delivery: Delivery,
    /// Whether X accepts OAuth 1.0a user tokens here (media download does not).
    pub oauth1: bool,
    /// Which credential the endpoint takes: a user token (the default) or the app's Bearer.
    pub credential: Credential,
}

impl EndpointInfo {
    /// An endpoint that accepts OAuth 1.0a user tokens as well as OAuth 2.0 (as every DM
    /// endpoint but media download does).
    pub fn new(
        method: Method,
        path_template: &'static str,
        group: EndpointGroup,
        scopes: &'static [Scope],
        delivery: Delivery,
    ) -> Self {
        EndpointInfo {
            method,
            path_template,
            group,
            scopes,
            delivery,
            oauth1: true,
            credential: Credential::User,
        }
    }

    /// The same endpoint, refusing OAuth 1.0a (OAuth 2.0 only).
    pub fn without_oauth1(mut self) -> Self {
        self.oauth1 = false;
        self
    }

    /// The same endpoint, taking the app's Bearer token instead of a user token: no user
    /// scopes, no OAuth 1.0a.
    pub fn app_only(mut self) -> Self {
        self.credential = Credential::AppBearer;
        self.scopes = &[];
        self.oauth1 = false;
        self
    }
}

/// One X API operation: a value that builds its request and decodes its response.
///
/// Implementations validate their inputs when they are constructed, so `build_request` fails
/// only on what cannot be known earlier.
pub trait Endpoint {
    /// What a successful response decodes to.
    type Output;

    /// Static facts about the endpoint.
    fn info(&self) -> EndpointInfo;

    /// Builds the request against `ctx`, with the [`EndpointInfo`] in its extensions.
    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput>;

    /// Decodes a response to the request this value built.
    fn decode_response(&self, response: http::Response<Bytes>) -> Result<Self::Output, ApiError>;
}
