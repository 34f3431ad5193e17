//! Routing: which endpoint a request is for, who may call it, and what it costs.

pub(crate) mod activity;
mod block;
mod events;
mod group;
mod media;
mod oauth;
mod send;
mod upload;
mod users;
pub(crate) mod webhooks;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::auth::{Caller, CredentialUsed, RequestFacts};
use crate::problem;
use crate::rate_limit::EndpointGroup;
use crate::reply::Reply;
use crate::server::Inner;

/// One request, read whole.
pub(crate) struct Ctx {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// `scheme://authority` as the client addressed us.
    pub(crate) scheme: &'static str,
    pub(crate) authority: String,
    pub(crate) now_ms: u64,
    /// The fault armed for this request, for the routes that act on one themselves (the
    /// stream's connection faults).
    pub(crate) fault: Option<crate::faults::FaultKind>,
}

impl Ctx {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|c| {
            c.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }

    /// Form parameters, which OAuth 1.0a signs; empty for any other body.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        if self.is_form() {
            crate::auth::oauth1::parse_pairs(&String::from_utf8_lossy(&self.body))
        } else {
            Vec::new()
        }
    }

    pub(crate) fn facts<'a>(&'a self, form: &'a [(String, String)]) -> RequestFacts<'a> {
        RequestFacts {
            method: self.method.as_str(),
            base_url: crate::auth::oauth1::base_url(self.scheme, &self.authority, &self.path),
            query: &self.query,
            form,
            authorization: self.header("authorization"),
            now_ms: self.now_ms,
        }
    }

    /// The body as a JSON object, or X's 400 for a malformed one.
    pub(crate) fn json_object(&self) -> Result<serde_json::Map<String, Value>, Reply> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(problem::invalid_one(
                "body",
                "",
                "The request body must be a JSON object",
            )),
            Err(e) => Err(problem::invalid_one(
                "body",
                "",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }
}

/// Every endpoint the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    ListEvents,
    GetEvent(String),
    DeleteEvent(String),
    ListWith(String),
    ListConversation(String),
    SendWith(String),
    SendConversation(String),
    CreateGroup,
    Block(String),
    Unblock(String),
    UsersMe,
    MediaDownload(String, String, String),
    UploadOneShot,
    UploadStatus,
    UploadInit,
    UploadAppend(String),
    UploadFinalize(String),
    OAuth2Token,
    OAuth2Revoke,
    OAuth2Authorize,
    OAuth1RequestToken,
    OAuth1Authorize,
    OAuth1AccessToken,
    CreateSubscription,
    ListSubscriptions,
    DeleteSubscriptions,
    UpdateSubscription(String),
    DeleteSubscription(String),
    ActivityStream,
    CreateWebhook,
    ListWebhooks,
    UpdateWebhook(String),
    DeleteWebhook(String),
    ReplayWebhook,
    Unknown,
}

/// Which credentials an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// A user context (the DM endpoints); the app bearer gets 403.
    User,
    /// The app bearer only; a user context gets 403.
    App,
    /// Either; the endpoint decides (creating a subscription).
    Any,
}

impl Route {
    pub(crate) fn parse(method: &Method, path: &str) -> Self {
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = method.as_str();
        match (m, s.as_slice()) {
            ("GET", ["2", "dm_events"]) => Self::ListEvents,
            ("GET", ["2", "dm_events", id]) => Self::GetEvent(id.to_string()),
            ("DELETE", ["2", "dm_events", id]) => Self::DeleteEvent(id.to_string()),
            ("GET", ["2", "dm_conversations", "with", p, "dm_events"]) => {
                Self::ListWith(p.to_string())
            }
            ("GET", ["2", "dm_conversations", "media", a, b, c]) => {
                Self::MediaDownload(a.to_string(), b.to_string(), c.to_string())
            }
            ("GET", ["2", "dm_conversations", id, "dm_events"]) => {
                Self::ListConversation(id.to_string())
            }
            ("POST", ["2", "dm_conversations", "with", p, "messages"]) => {
                Self::SendWith(p.to_string())
            }
            ("POST", ["2", "dm_conversations", id, "messages"]) => {
                Self::SendConversation(id.to_string())
            }
            ("POST", ["2", "dm_conversations"]) => Self::CreateGroup,
            ("POST", ["2", "users", id, "dm", "block"]) => Self::Block(id.to_string()),
            ("POST", ["2", "users", id, "dm", "unblock"]) => Self::Unblock(id.to_string()),
            ("GET", ["2", "users", "me"]) => Self::UsersMe,
            ("POST", ["2", "media", "upload"]) => Self::UploadOneShot,
            ("GET", ["2", "media", "upload"]) => Self::UploadStatus,
            ("POST", ["2", "media", "upload", "initialize"]) => Self::UploadInit,
            ("POST", ["2", "media", "upload", id, "append"]) => Self::UploadAppend(id.to_string()),
            ("POST", ["2", "media", "upload", id, "finalize"]) => {
                Self::UploadFinalize(id.to_string())
            }
            ("POST", ["2", "oauth2", "token"]) => Self::OAuth2Token,
            ("POST", ["2", "oauth2", "revoke"]) => Self::OAuth2Revoke,
            ("GET" | "POST", ["i", "oauth2", "authorize"]) => Self::OAuth2Authorize,
            ("POST", ["oauth", "request_token"]) => Self::OAuth1RequestToken,
            ("GET" | "POST", ["oauth", "authorize" | "authenticate"]) => Self::OAuth1Authorize,
            ("POST", ["oauth", "access_token"]) => Self::OAuth1AccessToken,
            ("POST", ["2", "activity", "subscriptions"]) => Self::CreateSubscription,
            ("GET", ["2", "activity", "subscriptions"]) => Self::ListSubscriptions,
            ("DELETE", ["2", "activity", "subscriptions"]) => Self::DeleteSubscriptions,
            ("PUT", ["2", "activity", "subscriptions", id]) => {
                Self::UpdateSubscription(id.to_string())
            }
            ("DELETE", ["2", "activity", "subscriptions", id]) => {
                Self::DeleteSubscription(id.to_string())
            }
            ("GET", ["2", "activity", "stream"]) => Self::ActivityStream,
            ("POST", ["2", "webhooks"]) => Self::CreateWebhook,
            ("GET", ["2", "webhooks"]) => Self::ListWebhooks,
            ("POST", ["2", "webhooks", "replay"]) => Self::ReplayWebhook,
            ("PUT", ["2", "webhooks", id]) => Self::UpdateWebhook(id.to_string()),
            ("DELETE", ["2", "webhooks", id]) => Self::DeleteWebhook(id.to_string()),
            _ => Self::Unknown,
        }
    }

    /// The path template faults match on.
    pub(crate) fn template(&self) -> &'static str {
        match self {
            Self::ListEvents => "/2/dm_events",
            Self::GetEvent(_) | Self::DeleteEvent(_) => "/2/dm_events/{event_id}",
            Self::ListWith(_) => "/2/dm_conversations/with/{participant_id}/dm_events",
            Self::ListConversation(_) => "/2/dm_conversations/{id}/dm_events",
            Self::SendWith(_) => "/2/dm_conversations/with/{participant_id}/messages",
            Self::SendConversation(_) => "/2/dm_conversations/{dm_conversation_id}/messages",
            Self::CreateGroup => "/2/dm_conversations",
            Self::Block(_) => "/2/users/{id}/dm/block",
            Self::Unblock(_) => "/2/users/{id}/dm/unblock",
            Self::UsersMe => "/2/users/me",
            Self::MediaDownload(..) => "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}",
            Self::UploadOneShot | Self::UploadStatus => "/2/media/upload",
            Self::UploadInit => "/2/media/upload/initialize",
            Self::UploadAppend(_) => "/2/media/upload/{id}/append",
            Self::UploadFinalize(_) => "/2/media/upload/{id}/finalize",
            Self::OAuth2Token => "/2/oauth2/token",
            Self::OAuth2Revoke => "/2/oauth2/revoke",
            Self::OAuth2Authorize => "/i/oauth2/authorize",
            Self::OAuth1RequestToken => "/oauth/request_token",
            Self::OAuth1Authorize => "/oauth/authorize",
            Self::OAuth1AccessToken => "/oauth/access_token",
            Self::CreateSubscription | Self::ListSubscriptions | Self::DeleteSubscriptions => {
                "/2/activity/subscriptions"
            }
            Self::UpdateSubscription(_) | Self::DeleteSubscription(_) => {
                "/2/activity/subscriptions/{subscription_id}"
            }
            Self::ActivityStream => "/2/activity/stream",
            Self::CreateWebhook | Self::ListWebhooks => "/2/webhooks",
            Self::UpdateWebhook(_) | Self::DeleteWebhook(_) => "/2/webhooks/{webhook_id}",
            Self::ReplayWebhook => "/2/webhooks/replay",
            Self::Unknown => "",
        }
    }

    /// The scopes an OAuth 2.0 token needs, per the spec's security requirements.
    fn scopes(&self) -> &'static [&'static str] {
        match self {
            Self::ListEvents
            | Self::GetEvent(_)
            | Self::ListWith(_)
            | Self::ListConversation(_) => &["dm.read", "tweet.read", "users.read"],
            Self::DeleteEvent(_) => &["dm.read", "dm.write"],
            Self::SendWith(_)
            | Self::SendConversation(_)
            | Self::CreateGroup
            | Self::Block(_)
            | Self::Unblock(_) => &["dm.write", "tweet.read", "users.read"],
            Self::MediaDownload(..) => &["dm.read"],
            Self::UsersMe => &["tweet.read", "users.read"],
            _ => &["media.write"],
        }
    }

    fn access(&self) -> Access {
        match self {
            Self::CreateSubscription => Access::Any,
            Self::ListSubscriptions
            | Self::DeleteSubscriptions
            | Self::UpdateSubscription(_)
            | Self::DeleteSubscription(_)
            | Self::ActivityStream
            | Self::CreateWebhook
            | Self::ListWebhooks
            | Self::UpdateWebhook(_)
            | Self::DeleteWebhook(_)
            | Self::ReplayWebhook => Access::App,
            _ => Access::User,
        }
    }

    fn group(&self) -> Option<EndpointGroup> {
        match self {
            Self::CreateSubscription => Some(EndpointGroup::SubscriptionCreate),
            Self::ListSubscriptions => Some(EndpointGroup::SubscriptionList),
            Self::UpdateSubscription(_) => Some(EndpointGroup::SubscriptionUpdate),
            Self::DeleteSubscription(_) | Self::DeleteSubscriptions => {
                Some(EndpointGroup::SubscriptionDelete)
            }
            Self::ActivityStream => Some(EndpointGroup::StreamConnect),
            Self::CreateWebhook => Some(EndpointGroup::WebhookCreate),
            Self::ListWebhooks => Some(EndpointGroup::WebhookList),
            Self::UpdateWebhook(_) => Some(EndpointGroup::WebhookUpdate),
            Self::DeleteWebhook(_) => Some(EndpointGroup::WebhookDelete),
            Self::ReplayWebhook => Some(EndpointGroup::WebhookReplay),
            Self::ListEvents
            | Self::GetEvent(_)
            | Self::ListWith(_)
            | Self::ListConversation(_) => Some(EndpointGroup::Read),
            Self::SendWith(_) | Self::SendConversation(_) | Self::CreateGroup => {
                Some(EndpointGroup::Send)
            }
            Self::DeleteEvent(_) => Some(EndpointGroup::Delete),
            Self::Block(_) | Self::Unblock(_) => Some(EndpointGroup::Block),
            Self::UsersMe => Some(EndpointGroup::UsersMe),
            _ => None,
        }
    }
}

/// Handles one request under the state lock; returns the reply and the credential seen.
pub(crate) fn dispatch(inner: &mut Inner, ctx: &Ctx, route: &Route) -> (Reply, CredentialUsed) {
    match route {
        Route::Unknown => return (problem::no_route(), CredentialUsed::None),
        Route::OAuth2Token => return (oauth::token(inner, ctx), CredentialUsed::None),
        Route::OAuth2Revoke => return (oauth::revoke(inner, ctx), CredentialUsed::None),
        Route::OAuth2Authorize => return (oauth::authorize2(inner, ctx), CredentialUsed::None),
        Route::OAuth1RequestToken => {
            return (oauth::request_token(inner, ctx), CredentialUsed::None);
        }
        Route::OAuth1Authorize => return (oauth::authorize1(inner, ctx), CredentialUsed::None),
        Route::OAuth1AccessToken => return (oauth::access_token(inner, ctx), CredentialUsed::None),
        _ => {}
    }
    let form = ctx.form();
    let (caller, mut used) = inner.auth.authenticate(&ctx.facts(&form));
    if route.access() != Access::User {
        return dispatch_app(inner, ctx, route, caller, used);
    }
    let user = match (&caller, &mut used) {
        (Some(Caller::OAuth1 { user }), CredentialUsed::OAuth1 { user_id, .. })
        | (Some(Caller::OAuth2 { user, .. }), CredentialUsed::OAuth2User { user_id }) => {
            *user_id = inner.world.users[*user as usize].id.to_string();
            *user
        }
        (Some(Caller::AppOnly), _) => return (problem::app_only_forbidden(), used),
        _ => return (problem::unauthorized(), used),
    };
    match &caller {
        Some(Caller::OAuth2 { scopes, .. })
            if !route.scopes().iter().all(|s| scopes.iter().any(|g| g == s)) =>
        {
            return (problem::forbidden("Forbidden"), used);
        }
        Some(Caller::OAuth1 { .. }) if matches!(route, Route::MediaDownload(..)) => {
            return (problem::oauth1_forbidden(), used);
        }
        _ => {}
    }
    if inner.switches.credits_depleted {
        return (problem::credits_depleted(), used);
    }
    if inner.switches.usage_capped {
        return (problem::usage_capped(), used);
    }
    let verdict = route
        .group()
        .map(|g| inner.limiter.check(&inner.limits, g, user, ctx.now_ms));
    let mut reply = if verdict.as_ref().is_some_and(|v| !v.allowed) {
        problem::too_many_requests()
    } else {
        handle(inner, ctx, route, user)
    };
    if let Some(v) = &verdict {
        v.apply(&mut reply);
    }
    if let CredentialUsed::OAuth1 { .. } = used {
        // X reports the app's permission level on OAuth 1.0a responses.
        reply.set_header("x-access-level", "read-write-directmessages");
    }
    (reply, used)
}

/// Answers an armed [`FaultKind::RateLimited`](crate::FaultKind::RateLimited): X's 429 with
/// `x-rate-limit-remaining: 0` and the reset, and a hold on the caller's window of the
/// endpoint's group (the app's for the app-only endpoints) until then.
pub(crate) fn rate_limited(
    inner: &mut Inner,
    ctx: &Ctx,
    route: &Route,
    reset_after: std::time::Duration,
) -> (Reply, CredentialUsed) {
    let form = ctx.form();
    let (caller, mut used) = inner.auth.authenticate(&ctx.facts(&form));
    let user = match (&caller, &mut used) {
        (Some(Caller::OAuth1 { user }), CredentialUsed::OAuth1 { user_id, .. })
        | (Some(Caller::OAuth2 { user, .. }), CredentialUsed::OAuth2User { user_id }) => {
            *user_id = inner.world.users[*user as usize].id.to_string();
            Some(*user)
        }
        _ => None,
    };
    let until = ctx.now_ms + reset_after.as_millis() as u64;
    let mut reply = problem::too_many_requests();
    let limit = match route.group() {
        Some(g) => {
            let per_app = route.access() != Access::User || user.is_none();
            inner
                .limiter
                .hold(if per_app { None } else { user }, g, until);
            let l = inner.limits.group(g);
            if per_app {
                l.app_per_window.unwrap_or(l.user_per_window)
            } else {
                l.user_per_window
            }
        }
        None => 0,
    };
    reply.set_header("x-rate-limit-limit", &limit.to_string());
    reply.set_header("x-rate-limit-remaining", "0");
    reply.set_header("x-rate-limit-reset", &until.div_ceil(1000).to_string());
    (reply, used)
}

/// The activity and webhook endpoints: the app's bearer (or, to create a subscription, a
/// user context too), budgets per app.
fn dispatch_app(
    inner: &mut Inner,
    ctx: &Ctx,
    route: &Route,
    caller: Option<Caller>,
    mut used: CredentialUsed,
) -> (Reply, CredentialUsed) {
    let Some(caller) = caller else {
        return (problem::unauthorized(), used);
    };
    match (&caller, &mut used) {
        (Caller::OAuth1 { user }, CredentialUsed::OAuth1 { user_id, .. })
        | (Caller::OAuth2 { user, .. }, CredentialUsed::OAuth2User { user_id }) => {
            *user_id = inner.world.users[*user as usize].id.to_string();
        }
        _ => {}
    }
    if route.access() == Access::App && !matches!(caller, Caller::AppOnly) {
        return (problem::app_only_required(), used);
    }
    if inner.switches.credits_depleted {
        return (problem::credits_depleted(), used);
    }
    if inner.switches.usage_capped {
        return (problem::usage_capped(), used);
    }
    let verdict = route
        .group()
        .map(|g| inner.limiter.check_app(&inner.limits, g, ctx.now_ms));
    let mut reply = if verdict.as_ref().is_some_and(|v| !v.allowed) {
        problem::too_many_requests()
    } else {
        let r = match route {
            Route::CreateSubscription => activity::create(inner, ctx, &caller),
            Route::ListSubscriptions => activity::list(inner, ctx),
            Route::DeleteSubscriptions => activity::delete_many(inner, ctx),
            Route::UpdateSubscription(id) => activity::update(inner, ctx, id),
            Route::DeleteSubscription(id) => activity::delete_one(inner, ctx, id),
            Route::ActivityStream => activity::stream(inner, ctx),
            Route::CreateWebhook => webhooks::create(inner, ctx),
            Route::ListWebhooks => webhooks::list(inner, ctx),
            Route::UpdateWebhook(id) => webhooks::update(inner, ctx, id),
            Route::DeleteWebhook(id) => webhooks::delete(inner, ctx, id),
            Route::ReplayWebhook => webhooks::replay(inner, ctx),
            _ => Ok(problem::no_route()),
        };
        r.unwrap_or_else(|r| r)
    };
    if let Some(v) = &verdict {
        v.apply(&mut reply);
    }
    (reply, used)
}

fn handle(inner: &mut Inner, ctx: &Ctx, route: &Route, user: u32) -> Reply {
    let before = inner.world.events.len();
    let reply = handle_dm(inner, ctx, route, user);
    // Every message written (by any send endpoint) becomes activity for its subscribers.
    if inner.world.events.len() > before {
        inner
            .activity
            .on_new_events(&inner.world, before, ctx.now_ms);
    }
    reply
}

fn handle_dm(inner: &mut Inner, ctx: &Ctx, route: &Route, user: u32) -> Reply {
    let result = match route {
        Route::ListEvents => events::list_all(inner, ctx, user),
        Route::GetEvent(id) => events::get(inner, ctx, user, id),
        Route::DeleteEvent(id) => events::delete(inner, ctx, user, id),
        Route::ListWith(p) => events::list_with(inner, ctx, user, p),
        Route::ListConversation(c) => events::list_conversation(inner, ctx, user, c),
        Route::SendWith(p) => send::to_participant(inner, ctx, user, p),
        Route::SendConversation(c) => send::to_conversation(inner, ctx, user, c),
        Route::CreateGroup => group::create(inner, ctx, user),
        Route::Block(id) => block::set(inner, ctx, user, id, true),
        Route::Unblock(id) => block::set(inner, ctx, user, id, false),
        Route::UsersMe => users::me(inner, ctx, user),
        Route::MediaDownload(d, m, r) => media::download(inner, ctx, user, d, m, r),
        Route::UploadOneShot => upload::one_shot(inner, ctx, user),
        Route::UploadStatus => upload::status(inner, ctx, user),
        Route::UploadInit => upload::initialize(inner, ctx, user),
        Route::UploadAppend(id) => upload::append(inner, ctx, user, id),
        Route::UploadFinalize(id) => upload::finalize(inner, ctx, user, id),
        _ => Ok(problem::no_route()),
    };
    result.unwrap_or_else(|r| r)
}
