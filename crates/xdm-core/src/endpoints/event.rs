//! Looking up and deleting one direct-message event.

use bytes::Bytes;
use http::Method;

use super::{Body, DELETE_SCOPES, READ_SCOPES, fill_path, info, new_request};
use crate::error::ApiError;
use crate::fields::FieldSet;
use crate::ids::EventId;
use crate::models::{Deleted, DmEvent};
use crate::query::Query;
use crate::response::{ApiResponse, decode_json};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// Looks up one event by id: `GET /2/dm_events/{event_id}`.
///
/// ```
/// use xdm_core::endpoints::{DeleteEvent, GetEvent};
/// use xdm_core::fields::{DmEventField, FieldSet};
/// use xdm_core::ids::EventId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let id = EventId::parse("1585800613253812228")?;
/// let get = GetEvent::new(id.clone())
///     .with_fields(FieldSet::new().with_dm_event_fields([DmEventField::SenderId]));
/// let request = get.build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_events/1585800613253812228?dm_event.fields=sender_id"
/// );
///
/// let request = DeleteEvent::new(id).build_request(&RequestContext::default())?;
/// assert_eq!(request.method(), "DELETE");
/// assert_eq!(request.uri(), "https://api.x.com/2/dm_events/1585800613253812228");
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetEvent {
    event_id: EventId,
    fields: FieldSet,
}

impl GetEvent {
    /// Where this lookup lives.
    pub const PATH: &'static str = "/2/dm_events/{event_id}";

    /// A lookup of `event_id` with X's default fields.
    pub fn new(event_id: EventId) -> Self {
        Self {
            event_id,
            fields: FieldSet::default(),
        }
    }

    /// Sets the fields and expansions to ask for.
    pub fn with_fields(mut self, fields: FieldSet) -> Self {
        self.fields = fields;
        self
    }

    /// The event looked up.
    pub fn event_id(&self) -> &EventId {
        &self.event_id
    }

    /// The fields and expansions asked for.
    pub fn fields(&self) -> &FieldSet {
        &self.fields
    }
}

impl Endpoint for GetEvent {
    type Output = ApiResponse<DmEvent>;

    fn info(&self) -> EndpointInfo {
        info(
            Method::GET,
            Self::PATH,
            EndpointGroup::ReadEvents,
            READ_SCOPES,
            Delivery::Idempotent,
        )
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        self.fields.apply(&mut query, ctx.dialect)?;
        let path = fill_path(Self::PATH, &[("event_id", self.event_id.as_str())]);
        Ok(new_request(self.info(), ctx, &path, &query, Body::Empty))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<DmEvent>, ApiError> {
        decode_json(response)
    }
}

/// Deletes one of the caller's events: `DELETE /2/dm_events/{event_id}`.
///
/// Deleting removes the event for the caller only; the other participants still see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteEvent {
    event_id: EventId,
}

impl DeleteEvent {
    /// Where this deletion lives.
    pub const PATH: &'static str = "/2/dm_events/{event_id}";

    /// A deletion of `event_id`.
    pub fn new(event_id: EventId) -> Self {
        Self { event_id }
    }

    /// The event deleted.
    pub fn event_id(&self) -> &EventId {
        &self.event_id
    }
}

one_id_endpoint!(
    DeleteEvent => Deleted,
    info: info(
        Method::DELETE,
        Self::PATH,
        EndpointGroup::DeleteEvent,
        DELETE_SCOPES,
        Delivery::Idempotent,
    ),
    path: Self::PATH, "event_id" = event_id
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{build, response};
    use crate::fields::{Expansion, MediaField};

    #[test]
    fn get_builds_with_fields_only() {
        let get = GetEvent::new(EventId::try_from(7).unwrap()).with_fields(
            FieldSet::new()
                .with_expansions([Expansion::AttachmentsMediaKeys])
                .with_media_fields([MediaField::Url, MediaField::Type]),
        );
        assert_eq!(get.event_id().as_str(), "7");
        assert_eq!(get.fields().media_fields.len(), 2);
        let request = build(&get);
        assert_eq!(
            request.uri(),
            "https://api.x.com/2/dm_events/7?expansions=attachments.media_keys\
             &media.fields=url%2Ctype"
        );
        let info = get.info();
        assert_eq!(info.group, EndpointGroup::ReadEvents);
        assert_eq!(info.delivery, Delivery::Idempotent);
    }

    #[test]
    fn get_refuses_malformed_other_fields() {
        let get = GetEvent::new(EventId::try_from(7).unwrap())
            .with_fields(FieldSet::new().with_media_fields([MediaField::Other("a b".into())]));
        let e = get.build_request(&RequestContext::default()).unwrap_err();
        assert_eq!(e.parameter, "media.fields");
    }

    #[test]
    fn delete_is_an_idempotent_delete() {
        let delete = DeleteEvent::new(EventId::try_from(8).unwrap());
        assert_eq!(delete.event_id().as_str(), "8");
        let request = build(&delete);
        assert_eq!(request.method(), Method::DELETE);
        assert_eq!(request.uri(), "https://api.x.com/2/dm_events/8");
        assert!(request.body().is_empty());
        let info = delete.info();
        assert_eq!(info.group, EndpointGroup::DeleteEvent);
        assert_eq!(info.delivery, Delivery::Idempotent);
        assert_eq!(info.scopes, DELETE_SCOPES);
    }

    #[test]
    fn responses_decode() {
        let event = GetEvent::new(EventId::try_from(1).unwrap())
            .decode_response(response(
                200,
                "application/json",
                r#"{"data":{"id":"1","event_type":"MessageCreate","text":"hello"}}"#,
            ))
            .unwrap();
        assert!(event.data.is_some());
        let deleted = DeleteEvent::new(EventId::try_from(1).unwrap())
            .decode_response(response(
                200,
                "application/json",
                r#"{"data":{"deleted":true}}"#,
            ))
            .unwrap();
        assert!(deleted.data.unwrap().deleted);
        let missing = DeleteEvent::new(EventId::try_from(1).unwrap()).decode_response(response(
            404,
            "application/problem+json",
            r#"{"title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","detail":"gone"}"#,
        ));
        assert!(missing.is_err());
    }
}
