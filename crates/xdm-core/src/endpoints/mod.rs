//! One type per X API direct-message endpoint.
//!
//! Each type holds validated input and implements [`Endpoint`](crate::Endpoint): it builds one
//! `http::Request<Bytes>` and decodes the matching response. Nothing here performs I/O.
//!
//! | type | request |
//! |---|---|
//! | [`ListEvents`] | `GET /2/dm_events` |
//! | [`ListConversationEvents`] | `GET /2/dm_conversations/{id}/dm_events` |
//! | [`ListParticipantEvents`] | `GET /2/dm_conversations/with/{participant_id}/dm_events` |
//! | [`GetEvent`] | `GET /2/dm_events/{event_id}` |
//! | [`DeleteEvent`] | `DELETE /2/dm_events/{event_id}` |
//! | [`SendToParticipant`] | `POST /2/dm_conversations/with/{participant_id}/messages` |
//! | [`SendToConversation`] | `POST /2/dm_conversations/{dm_conversation_id}/messages` |
//! | [`CreateGroup`] | `POST /2/dm_conversations` |
//! | [`BlockUser`] | `POST /2/users/{id}/dm/block` |
//! | [`UnblockUser`] | `POST /2/users/{id}/dm/unblock` |
//! | [`DownloadMedia`] | `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}` |
//! | [`GetMe`] | `GET /2/users/me` (who the credentials act for) |
//! | [`CreateSubscription`] | `POST /2/activity/subscriptions` (user token) |
//! | [`ListSubscriptions`] | `GET /2/activity/subscriptions` (app Bearer) |
//! | [`UpdateSubscription`] | `PUT /2/activity/subscriptions/{subscription_id}` (app Bearer) |
//! | [`DeleteSubscription`] | `DELETE /2/activity/subscriptions/{subscription_id}` (app Bearer) |
//! | [`DeleteSubscriptions`] | `DELETE /2/activity/subscriptions?ids=…` (app Bearer) |
//! | [`ConnectStream`] | `GET /2/activity/stream` (app Bearer) |
//! | [`RegisterWebhook`] | `POST /2/webhooks` (app Bearer) |
//! | [`ListWebhooks`] | `GET /2/webhooks` (app Bearer) |
//! | [`ValidateWebhook`] | `PUT /2/webhooks/{webhook_id}` (app Bearer) |
//! | [`DeleteWebhook`] | `DELETE /2/webhooks/{webhook_id}` (app Bearer) |
//! | [`ReplayWebhook`] | `POST /2/webhooks/replay` (app Bearer) |
//!
//! Every request carries its [`EndpointInfo`] in its extensions and a `user-agent` of
//! `xdm/<version>`; JSON bodies come with `content-type: application/json`.

/// Implements [`Endpoint`](crate::Endpoint) for a request whose only input is one id in the
/// path (no query, no body) and whose answer is a JSON `ApiResponse<$output>`.
///
/// Several endpoints share that impl to the letter; each stays its own type with its own
/// docs, and only what differs (output, info, path template, placeholder and field) is named.
macro_rules! one_id_endpoint {
    (
        $endpoint:ty => $output:ty,
        info: $info:expr,
        path: $template:expr, $name:literal = $field:ident
    ) => {
        impl $crate::Endpoint for $endpoint {
            type Output = $crate::response::ApiResponse<$output>;

            fn info(&self) -> $crate::EndpointInfo {
                $info
            }

            fn build_request(
                &self,
                ctx: &$crate::RequestContext,
            ) -> Result<http::Request<bytes::Bytes>, $crate::InvalidInput> {
                let id = self.$field.as_str();
                Ok($crate::endpoints::one_id_request(
                    self.info(),
                    ctx,
                    $template,
                    $name,
                    id,
                ))
            }

            fn decode_response(
                &self,
                response: http::Response<bytes::Bytes>,
            ) -> Result<Self::Output, $crate::error::ApiError> {
                $crate::response::decode_json(response)
            }
        }
    };
}

mod activity;
mod block;
mod event;
mod group;
mod list;
mod me;
mod media;
mod send;
mod webhooks;

pub use activity::*;
pub use block::{BlockUser, UnblockUser};
pub use event::{DeleteEvent, GetEvent};
pub use group::CreateGroup;
pub use list::{ListConversationEvents, ListEvents, ListParams, ListParticipantEvents};
pub use me::GetMe;
pub use media::{ContentRange, DownloadMedia, MediaContent};
pub use send::{Message, SendToConversation, SendToParticipant};
pub use webhooks::*;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method};

use crate::query::{Query, encode_path_segment};
use crate::{Delivery, EndpointGroup, EndpointInfo, RequestContext, Scope};

/// The `user-agent` every request carries.
pub const USER_AGENT_VALUE: &str = concat!("xdm/", env!("CARGO_PKG_VERSION"));

/// Scopes the spec requires for the three listings and the single lookup.
const READ_SCOPES: &[Scope] = &[Scope::DmRead, Scope::TweetRead, Scope::UsersRead];
/// Scopes of sending, group creation, block and unblock.
const WRITE_SCOPES: &[Scope] = &[Scope::DmWrite, Scope::TweetRead, Scope::UsersRead];
/// Scopes of deleting an event.
const DELETE_SCOPES: &[Scope] = &[Scope::DmRead, Scope::DmWrite];
/// Scopes of media download, the one endpoint without OAuth 1.0a.
const MEDIA_SCOPES: &[Scope] = &[Scope::DmRead];

fn info(
    method: Method,
    path_template: &'static str,
    group: EndpointGroup,
    scopes: &'static [Scope],
    delivery: Delivery,
) -> EndpointInfo {
    EndpointInfo::new(method, path_template, group, scopes, delivery)
}

/// Splices percent-encoded `values` into `template`'s `{name}` placeholders.
///
/// Building the path from the same template that [`EndpointInfo`] reports keeps the two from
/// drifting apart.
fn fill_path(template: &str, values: &[(&str, &str)]) -> String {
    let mut path = template.to_owned();
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), &encode_path_segment(value));
    }
    debug_assert!(!path.contains('{'), "unfilled placeholder in {template}");
    path
}

/// What a request carries after its headers.
enum Body {
    /// No body at all: no `content-type` either.
    Empty,
    /// A JSON document.
    Json(Vec<u8>),
}

fn new_request(
    info: EndpointInfo,
    ctx: &RequestContext,
    path: &str,
    query: &Query,
    body: Body,
) -> http::Request<Bytes> {
    let uri = ctx.base_url.join(&query.append_to_path(path));
    let mut request = http::Request::new(Bytes::new());
    *request.method_mut() = info.method.clone();
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Body::Json(json) = body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        *request.body_mut() = Bytes::from(json);
    }
    request.extensions_mut().insert(info);
    request
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies are plain structs of strings")
}

/// A request whose only input is `id` in `template`'s `{name}` placeholder: no query, no body.
fn one_id_request(
    info: EndpointInfo,
    ctx: &RequestContext,
    template: &str,
    name: &str,
    id: &str,
) -> http::Request<Bytes> {
    let path = fill_path(template, &[(name, id)]);
    new_request(info, ctx, &path, &Query::new(), Body::Empty)
}

/// A request carrying `body` as JSON to `path`, with no query.
fn json_request<T: serde::Serialize>(
    info: EndpointInfo,
    ctx: &RequestContext,
    path: &str,
    body: &T,
) -> http::Request<Bytes> {
    new_request(info, ctx, path, &Query::new(), Body::Json(to_json(body)))
}

#[cfg(test)]
pub(crate) mod test_support {
    use bytes::Bytes;

    use crate::{Endpoint, EndpointInfo, RequestContext};

    /// Builds `endpoint`'s request in the default context and checks what every request shares.
    pub(crate) fn build<E: Endpoint>(endpoint: &E) -> http::Request<Bytes> {
        build_in(endpoint, &RequestContext::default())
    }

    pub(crate) fn build_in<E: Endpoint>(
        endpoint: &E,
        ctx: &RequestContext,
    ) -> http::Request<Bytes> {
        let request = endpoint.build_request(ctx).expect("request builds");
        let info = request
            .extensions()
            .get::<EndpointInfo>()
            .expect("info attached");
        assert_eq!(info, &endpoint.info());
        assert_eq!(request.method(), info.method);
        assert_eq!(
            request.headers()["user-agent"],
            concat!("xdm/", env!("CARGO_PKG_VERSION"))
        );
        request
    }

    pub(crate) fn response(status: u16, content_type: &str, body: &str) -> http::Response<Bytes> {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("x-rate-limit-limit", "15")
            .header("x-rate-limit-remaining", "14")
            .header("x-rate-limit-reset", "1700000000")
            .body(Bytes::from(body.to_owned()))
            .expect("valid response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_with_encoded_values() {
        assert_eq!(
            fill_path("/2/x/{a}/{b}", &[("a", "1"), ("b", "x/y?z#w")]),
            "/2/x/1/x%2Fy%3Fz%23w"
        );
    }

    #[test]
    fn json_bodies_get_a_content_type_and_empty_ones_none() {
        let i = info(
            Method::POST,
            "/2/x",
            EndpointGroup::Block,
            WRITE_SCOPES,
            Delivery::Idempotent,
        );
        let ctx = RequestContext::default();
        let empty = new_request(i.clone(), &ctx, "/2/x", &Query::new(), Body::Empty);
        assert!(empty.headers().get(CONTENT_TYPE).is_none());
        assert!(empty.body().is_empty());
        assert_eq!(empty.uri(), "https://api.x.com/2/x");
        let json = new_request(i, &ctx, "/2/x", &Query::new(), Body::Json(b"{}".to_vec()));
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(json.body().as_ref(), b"{}");
    }
}
