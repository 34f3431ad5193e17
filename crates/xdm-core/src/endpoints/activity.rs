//! The X Activity API: subscriptions to `dm.*` events and the request that opens the stream.
//!
//! Two credentials are involved (see [`Credential`](crate::Credential)): creating a
//! subscription to private events takes the user's own token, holding `dm.read`; every other
//! call here takes the app's Bearer token. Each endpoint declares which in its
//! [`EndpointInfo`](crate::EndpointInfo), so an authorizer holding the wrong one refuses before
//! anything is sent.

mod stream;
mod subscriptions;

pub use stream::{ConnectStream, FatalRefusal, StreamHead, StreamRefusal, classify_stream_head};
pub use subscriptions::{
    CreateOutcome, CreateSubscription, DeleteFailure, DeleteSubscription, DeleteSubscriptions,
    DeletedSubscription, DeletedSubscriptions, Direction, ListSubscriptions, Subscription,
    SubscriptionEventType, SubscriptionFilter, SubscriptionPage, SubscriptionRecord,
    SubscriptionTag, UpdateSubscription,
};

use bytes::Bytes;

use crate::error::ApiError;
use crate::response::ApiResponse;

/// The same response around another payload.
fn replace_data<T, U>(response: ApiResponse<T>, data: Option<U>) -> ApiResponse<U> {
    ApiResponse {
        status: response.status,
        headers: response.headers,
        data,
        includes: response.includes,
        meta: response.meta,
        errors: response.errors,
        extra: response.extra,
        rate_limit: response.rate_limit,
        body: response.body,
    }
}

/// An error for a 2xx body whose payload is none of the shapes X is known to send.
fn unexpected_shape<T>(response: &ApiResponse<T>, path: &str, message: &str) -> ApiError {
    ApiError::undecodable(
        response.status,
        response.headers.clone(),
        Bytes::clone(&response.body),
        path.to_owned(),
        message,
        None,
    )
}

/// A count that X may send as a number or, as on some activity endpoints, as a string.
fn count(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
