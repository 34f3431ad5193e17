//! The three listings of direct-message events, and the parameters they share.

use bytes::Bytes;
use http::Method;

use super::{Body, READ_SCOPES, fill_path, info, new_request};
use crate::error::ApiError;
use crate::fields::{EventType, FieldSet};
use crate::ids::{ConversationId, PaginationToken, UserId};
use crate::pagination::PagedEndpoint;
use crate::query::Query;
use crate::response::{EventPage, decode_json_list};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// Parameters shared by [`ListEvents`], [`ListConversationEvents`] and
/// [`ListParticipantEvents`].
///
/// Unset parameters are left out of the request, so X's defaults apply (100 results, every
/// event type, default fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    max_results: Option<u8>,
    pagination_token: Option<PaginationToken>,
    event_types: Vec<EventType>,
    fields: FieldSet,
}

impl ListParams {
    /// The highest `max_results` X accepts.
    pub const MAX_RESULTS: u8 = 100;

    /// No parameters: X's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `max_results`, which must be 1 to 100.
    pub fn with_max_results(mut self, n: u32) -> Result<Self, InvalidInput> {
        self.max_results = Some(check_max_results(n)?);
        Ok(self)
    }

    /// Sets the page to fetch, from a previous page's `meta.next_token`.
    pub fn with_pagination_token(mut self, token: PaginationToken) -> Self {
        self.pagination_token = Some(token);
        self
    }

    /// Adds event types to list; none means all of them.
    pub fn with_event_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types.extend(types);
        self
    }

    /// Sets the fields and expansions to ask for.
    pub fn with_fields(mut self, fields: FieldSet) -> Self {
        self.fields = fields;
        self
    }

    /// `max_results`, if set.
    pub fn max_results(&self) -> Option<u8> {
        self.max_results
    }

    /// Sets or clears `max_results` in place; it must be 1 to 100.
    pub fn set_max_results(&mut self, n: Option<u32>) -> Result<(), InvalidInput> {
        self.max_results = n.map(check_max_results).transpose()?;
        Ok(())
    }

    /// The page token, if set.
    pub fn pagination_token(&self) -> Option<&PaginationToken> {
        self.pagination_token.as_ref()
    }

    /// Sets or clears the page token in place.
    pub fn set_pagination_token(&mut self, token: Option<PaginationToken>) {
        self.pagination_token = token;
    }

    /// The event types asked for; empty means all.
    pub fn event_types(&self) -> &[EventType] {
        &self.event_types
    }

    /// The fields and expansions asked for.
    pub fn fields(&self) -> &FieldSet {
        &self.fields
    }

    /// The fields and expansions, to change in place.
    pub fn fields_mut(&mut self) -> &mut FieldSet {
        &mut self.fields
    }

    /// Validates, then sets every parameter that was given on `query`.
    fn apply(&self, query: &mut Query, ctx: &RequestContext) -> Result<(), InvalidInput> {
        if let Some(n) = self.max_results {
            query.set("max_results", n.to_string());
        }
        if let Some(token) = &self.pagination_token {
            query.set("pagination_token", token.as_str());
        }
        self.event_types.iter().try_for_each(EventType::validate)?;
        query.set_list(
            "event_types",
            self.event_types.iter().map(EventType::as_str),
        );
        self.fields.apply(query, ctx.dialect)
    }
}

fn check_max_results(n: u32) -> Result<u8, InvalidInput> {
    match u8::try_from(n) {
        Ok(n @ 1..=ListParams::MAX_RESULTS) => Ok(n),
        _ => Err(InvalidInput::new(
            "max_results",
            format!("{n} is out of range"),
            "1 to 100",
        )),
    }
}

/// The builder methods and paging plumbing the three listings share.
macro_rules! list_endpoint {
    ($name:ident, $template:literal) => {
        impl $name {
            /// Where this listing lives.
            pub const PATH: &'static str = $template;

            /// Sets `max_results`, which must be 1 to 100.
            pub fn with_max_results(mut self, n: u32) -> Result<Self, InvalidInput> {
                self.params = self.params.with_max_results(n)?;
                Ok(self)
            }

            /// Sets the page to fetch, from a previous page's `meta.next_token`.
            pub fn with_pagination_token(mut self, token: PaginationToken) -> Self {
                self.params = self.params.with_pagination_token(token);
                self
            }

            /// Adds event types to list; none means all of them.
            pub fn with_event_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
                self.params = self.params.with_event_types(types);
                self
            }

            /// Sets the fields and expansions to ask for.
            pub fn with_fields(mut self, fields: FieldSet) -> Self {
                self.params = self.params.with_fields(fields);
                self
            }

            /// Replaces every shared parameter at once.
            pub fn with_params(mut self, params: ListParams) -> Self {
                self.params = params;
                self
            }

            /// The shared parameters.
            pub fn params(&self) -> &ListParams {
                &self.params
            }

            /// The shared parameters, to change in place.
            pub fn params_mut(&mut self) -> &mut ListParams {
                &mut self.params
            }
        }

        impl PagedEndpoint for $name {
            fn pagination_token(&self) -> Option<&PaginationToken> {
                self.params.pagination_token()
            }

            fn set_pagination_token(&mut self, token: Option<PaginationToken>) {
                self.params.set_pagination_token(token);
            }

            fn max_results(&self) -> Option<u8> {
                self.params.max_results()
            }

            fn set_max_results(&mut self, n: u8) -> Result<(), InvalidInput> {
                self.params.set_max_results(Some(u32::from(n)))
            }
        }
    };
}

fn list_info(template: &'static str) -> EndpointInfo {
    info(
        Method::GET,
        template,
        EndpointGroup::ReadEvents,
        READ_SCOPES,
        Delivery::Idempotent,
    )
}

fn build_list(
    template: &'static str,
    path_values: &[(&str, &str)],
    params: &ListParams,
    ctx: &RequestContext,
) -> Result<http::Request<Bytes>, InvalidInput> {
    let mut query = Query::new();
    params.apply(&mut query, ctx)?;
    let path = fill_path(template, path_values);
    Ok(new_request(
        list_info(template),
        ctx,
        &path,
        &query,
        Body::Empty,
    ))
}

/// Lists the caller's recent direct-message events across all conversations:
/// `GET /2/dm_events`.
///
/// Events come newest first, from the last 30 days.
///
/// ```
/// use xdm_core::endpoints::ListEvents;
/// use xdm_core::fields::{DmEventField, EventType, FieldSet};
/// use xdm_core::{Endpoint, RequestContext};
///
/// let list = ListEvents::new()
///     .with_max_results(50)?
///     .with_event_types([EventType::MessageCreate])
///     .with_fields(FieldSet::new().with_dm_event_fields([DmEventField::Id, DmEventField::Text]));
/// let request = list.build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_events?max_results=50&event_types=MessageCreate\
///      &dm_event.fields=id%2Ctext"
/// );
/// assert!(ListEvents::new().with_max_results(0).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEvents {
    params: ListParams,
}

impl ListEvents {
    /// A listing with X's defaults.
    pub fn new() -> Self {
        Self::default()
    }
}

list_endpoint!(ListEvents, "/2/dm_events");

impl Endpoint for ListEvents {
    type Output = EventPage;

    fn info(&self) -> EndpointInfo {
        list_info(Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        build_list(Self::PATH, &[], &self.params, ctx)
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<EventPage, ApiError> {
        decode_json_list(response)
    }
}

/// Lists the events of one conversation, one-to-one or group:
/// `GET /2/dm_conversations/{id}/dm_events`.
///
/// ```
/// use xdm_core::endpoints::ListConversationEvents;
/// use xdm_core::ids::ConversationId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let id = ConversationId::parse("123123123-456456456")?;
/// let request = ListConversationEvents::new(id).build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_conversations/123123123-456456456/dm_events"
/// );
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListConversationEvents {
    conversation: ConversationId,
    params: ListParams,
}

impl ListConversationEvents {
    /// A listing of `conversation` with X's defaults.
    pub fn new(conversation: ConversationId) -> Self {
        Self {
            conversation,
            params: ListParams::default(),
        }
    }

    /// The conversation listed.
    pub fn conversation(&self) -> &ConversationId {
        &self.conversation
    }
}

list_endpoint!(ListConversationEvents, "/2/dm_conversations/{id}/dm_events");

impl Endpoint for ListConversationEvents {
    type Output = EventPage;

    fn info(&self) -> EndpointInfo {
        list_info(Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        build_list(
            Self::PATH,
            &[("id", self.conversation.as_str())],
            &self.params,
            ctx,
        )
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<EventPage, ApiError> {
        decode_json_list(response)
    }
}

/// Lists the events of the one-to-one conversation with a user:
/// `GET /2/dm_conversations/with/{participant_id}/dm_events`.
///
/// ```
/// use xdm_core::endpoints::ListParticipantEvents;
/// use xdm_core::ids::UserId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let request = ListParticipantEvents::new(UserId::try_from(2244994945).unwrap())
///     .build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_conversations/with/2244994945/dm_events"
/// );
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParticipantEvents {
    participant: UserId,
    params: ListParams,
}

impl ListParticipantEvents {
    /// A listing of the conversation with `participant`, with X's defaults.
    pub fn new(participant: UserId) -> Self {
        Self {
            participant,
            params: ListParams::default(),
        }
    }

    /// The other participant.
    pub fn participant(&self) -> &UserId {
        &self.participant
    }
}

list_endpoint!(
    ListParticipantEvents,
    "/2/dm_conversations/with/{participant_id}/dm_events"
);

impl Endpoint for ListParticipantEvents {
    type Output = EventPage;

    fn info(&self) -> EndpointInfo {
        list_info(Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        build_list(
            Self::PATH,
            &[("participant_id", self.participant.as_str())],
            &self.params,
            ctx,
        )
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<EventPage, ApiError> {
        decode_json_list(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use crate::endpoints::test_support::{build, build_in, response};
    use crate::fields::{Expansion, TweetField};

    fn token() -> PaginationToken {
        PaginationToken::parse("18LAA5G1SL0NR5OG0G00ZZZZ").unwrap()
    }

    #[test]
    fn null_items_in_a_page_are_dropped_by_every_list_endpoint() {
        let body = r#"{"data":[null,{"id":"1","event_type":"MessageCreate"},null],
                       "meta":{"result_count":1}}"#;
        let pages =
            [
                ListEvents::new().decode_response(response(200, "application/json", body)),
                ListConversationEvents::new(ConversationId::parse("123-456").unwrap())
                    .decode_response(response(200, "application/json", body)),
                ListParticipantEvents::new(UserId::try_from(42).unwrap())
                    .decode_response(response(200, "application/json", body)),
            ];
        for page in pages {
            let page = page.unwrap();
            assert_eq!(page.items().len(), 1);
            assert_eq!(page.items()[0].id.as_deref(), Some("1"));
        }
    }

    #[test]
    fn a_bad_item_in_a_page_still_names_its_path() {
        let body = r#"{"data":[null,{"id":"1"},{"id":2}]}"#;
        let e = ListEvents::new()
            .decode_response(response(200, "application/json", body))
            .unwrap_err();
        let crate::error::ApiErrorKind::Undecodable { path, .. } = e.kind() else {
            panic!("{e:?}")
        };
        assert_eq!(path, "data[2].id");
    }

    #[test]
    fn max_results_is_checked_everywhere() {
        for bad in [0, 101, 256, 1000, u32::MAX] {
            let e = ListEvents::new().with_max_results(bad).unwrap_err();
            assert_eq!(e.parameter, "max_results");
            assert!(e.problem.contains(&bad.to_string()));
            assert_eq!(e.allowed, "1 to 100");
            assert!(ListParams::new().set_max_results(Some(bad)).is_err());
        }
        for ok in [1, 100] {
            let list = ListEvents::new().with_max_results(ok).unwrap();
            assert_eq!(list.params().max_results(), Some(ok as u8));
        }
        let mut p = ListParams::new().with_max_results(5).unwrap();
        p.set_max_results(None).unwrap();
        assert_eq!(p.max_results(), None);
    }

    #[test]
    fn every_parameter_is_encoded() {
        let list = ListParticipantEvents::new(UserId::try_from(42).unwrap())
            .with_max_results(10)
            .unwrap()
            .with_pagination_token(token())
            .with_event_types([EventType::ParticipantsJoin, EventType::MessageCreate])
            .with_fields(
                FieldSet::new()
                    .with_expansions([Expansion::ReferencedTweets])
                    .with_tweet_fields([TweetField::NoteTweet]),
            );
        let request = build(&list);
        assert_eq!(
            request.uri(),
            "https://api.x.com/2/dm_conversations/with/42/dm_events?max_results=10\
             &pagination_token=18LAA5G1SL0NR5OG0G00ZZZZ\
             &event_types=ParticipantsJoin%2CMessageCreate\
             &expansions=referenced_tweets.id&tweet.fields=note_tweet"
        );
        assert!(request.body().is_empty());
        let post = build_in(
            &list,
            &RequestContext::default().with_dialect(Dialect::Post),
        );
        assert!(
            post.uri()
                .query()
                .unwrap()
                .ends_with("&expansions=referenced_posts&post.fields=note_post")
        );
    }

    #[test]
    fn info_describes_a_read() {
        let conv = ListConversationEvents::new(ConversationId::parse("1-2").unwrap());
        let info = conv.info();
        assert_eq!(info.method, Method::GET);
        assert_eq!(info.path_template, "/2/dm_conversations/{id}/dm_events");
        assert_eq!(info.group, EndpointGroup::ReadEvents);
        assert_eq!(info.delivery, Delivery::Idempotent);
        assert!(info.oauth1);
        assert_eq!(info.scopes, READ_SCOPES);
        assert_eq!(conv.conversation().as_str(), "1-2");
        assert_eq!(
            build(&conv).uri(),
            "https://api.x.com/2/dm_conversations/1-2/dm_events"
        );
        assert_eq!(ListEvents::new().info().path_template, "/2/dm_events");
        assert_eq!(
            ListParticipantEvents::new(UserId::try_from(1).unwrap())
                .participant()
                .as_str(),
            "1"
        );
    }

    #[test]
    fn malformed_other_names_are_refused_at_build_time() {
        let list = ListEvents::new().with_event_types([EventType::Other("a,b".into())]);
        let e = list.build_request(&RequestContext::default()).unwrap_err();
        assert_eq!(e.parameter, "event_types");
        let list = ListEvents::new().with_fields(
            FieldSet::new().with_user_fields([crate::fields::UserField::Other(String::new())]),
        );
        let e = list.build_request(&RequestContext::default()).unwrap_err();
        assert_eq!(e.parameter, "user.fields");
    }

    #[test]
    fn paging_goes_through_the_shared_params() {
        fn exercise<P: PagedEndpoint>(mut list: P) {
            assert_eq!(list.pagination_token(), None);
            list.set_pagination_token(Some(token()));
            assert_eq!(list.pagination_token(), Some(&token()));
            list.set_max_results(100).unwrap();
            assert_eq!(list.max_results(), Some(100));
            let e = list.set_max_results(0).unwrap_err();
            assert_eq!(e.parameter, "max_results");
            assert_eq!(list.max_results(), Some(100));
            let e = list.set_max_results(101).unwrap_err();
            assert_eq!(e.parameter, "max_results");
            let request = list.build_request(&RequestContext::default()).unwrap();
            assert!(
                request
                    .uri()
                    .query()
                    .unwrap()
                    .starts_with("max_results=100&pagination_token=18LAA5G1SL0NR5OG0G00ZZZZ")
            );
        }
        exercise(ListEvents::new());
        exercise(ListConversationEvents::new(
            ConversationId::parse("1-2").unwrap(),
        ));
        exercise(ListParticipantEvents::new(UserId::try_from(1).unwrap()));
    }

    #[test]
    fn params_can_be_changed_in_place() {
        let mut list =
            ListEvents::new().with_params(ListParams::new().with_pagination_token(token()));
        assert_eq!(list.params().pagination_token(), Some(&token()));
        list.params_mut().set_pagination_token(None);
        list.params_mut()
            .fields_mut()
            .expansions
            .push(Expansion::SenderId);
        assert_eq!(list.params().fields().expansions, [Expansion::SenderId]);
        assert!(list.params().event_types().is_empty());
        assert_eq!(
            build(&list).uri(),
            "https://api.x.com/2/dm_events?expansions=sender_id"
        );
    }

    #[test]
    fn pages_decode() {
        let page = ListEvents::new()
            .decode_response(response(
                200,
                "application/json",
                r#"{"data":[{"id":"1","event_type":"MessageCreate","text":"hi"}],
                    "meta":{"result_count":1,"next_token":"18LAA5G1SL0NR5OG0G00ZZZZ"}}"#,
            ))
            .unwrap();
        assert_eq!(page.data.as_ref().map(Vec::len), Some(1));
        let empty = ListConversationEvents::new(ConversationId::parse("1-2").unwrap())
            .decode_response(response(
                200,
                "application/json",
                r#"{"meta":{"result_count":0}}"#,
            ))
            .unwrap();
        assert!(empty.data.is_none());
        let err = ListParticipantEvents::new(UserId::try_from(1).unwrap())
            .decode_response(response(
                401,
                "application/problem+json",
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
            ))
            .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
    }
}
