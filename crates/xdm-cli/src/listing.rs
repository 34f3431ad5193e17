//! The three listings of events as one endpoint type, so that `events`, `export` and `watch`
//! share one pagination loop whatever conversation they read.

use bytes::Bytes;
use xdm_core::endpoints::{ListConversationEvents, ListEvents, ListParams, ListParticipantEvents};
use xdm_core::error::ApiError;
use xdm_core::ids::{ConversationId, PaginationToken, UserId};
use xdm_core::pagination::PagedEndpoint;
use xdm_core::response::EventPage;
use xdm_core::{Endpoint, EndpointInfo, InvalidInput, RequestContext};

use crate::cli::Scope;

/// All of the user's events, one conversation's, or those with one user.
#[derive(Debug, Clone)]
pub enum Listing {
    /// `GET /2/dm_events`.
    All(ListEvents),
    /// `GET /2/dm_conversations/{id}/dm_events`.
    Conversation(ListConversationEvents),
    /// `GET /2/dm_conversations/with/{participant_id}/dm_events`.
    With(ListParticipantEvents),
}

impl Listing {
    /// The listing `scope` names, with `params`; ids are validated here.
    pub fn new(scope: &Scope, params: ListParams) -> Result<Listing, InvalidInput> {
        Ok(match (&scope.conversation, &scope.with) {
            (Some(id), _) => Listing::Conversation(
                ListConversationEvents::new(ConversationId::parse_as(id, "conversation")?)
                    .with_params(params),
            ),
            (None, Some(id)) => Listing::With(
                ListParticipantEvents::new(UserId::parse_as(id, "with")?).with_params(params),
            ),
            (None, None) => Listing::All(ListEvents::new().with_params(params)),
        })
    }

    /// A name for what is listed (`all`, `conversation:ID`, `with:ID`), kept in checkpoints.
    pub fn key(&self) -> String {
        match self {
            Listing::All(_) => "all".to_owned(),
            Listing::Conversation(l) => format!("conversation:{}", l.conversation()),
            Listing::With(l) => format!("with:{}", l.participant()),
        }
    }
}

macro_rules! each {
    ($self:expr, $l:ident => $e:expr) => {
        match $self {
            Listing::All($l) => $e,
            Listing::Conversation($l) => $e,
            Listing::With($l) => $e,
        }
    };
}

impl Endpoint for Listing {
    type Output = EventPage;

    fn info(&self) -> EndpointInfo {
        each!(self, l => l.info())
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        each!(self, l => l.build_request(ctx))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<EventPage, ApiError> {
        each!(self, l => l.decode_response(response))
    }
}

impl PagedEndpoint for Listing {
    fn pagination_token(&self) -> Option<&PaginationToken> {
        each!(self, l => l.pagination_token())
    }

    fn set_pagination_token(&mut self, token: Option<PaginationToken>) {
        each!(self, l => l.set_pagination_token(token))
    }

    fn max_results(&self) -> Option<u8> {
        each!(self, l => PagedEndpoint::max_results(l))
    }

    fn set_max_results(&mut self, n: u8) -> Result<(), InvalidInput> {
        each!(self, l => l.set_max_results(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(conversation: Option<&str>, with: Option<&str>) -> Scope {
        Scope {
            conversation: conversation.map(str::to_owned),
            with: with.map(str::to_owned),
        }
    }

    #[test]
    fn the_scope_picks_the_endpoint_and_names_it() {
        let all = Listing::new(&scope(None, None), ListParams::new()).unwrap();
        assert_eq!(all.key(), "all");
        let with = Listing::new(&scope(None, Some("42")), ListParams::new()).unwrap();
        assert_eq!(with.key(), "with:42");
        assert_eq!(
            with.info().path_template,
            "/2/dm_conversations/with/{participant_id}/dm_events"
        );
        let conv = Listing::new(&scope(Some("1-2"), None), ListParams::new()).unwrap();
        assert_eq!(conv.key(), "conversation:1-2");
    }

    #[test]
    fn bad_ids_are_refused_with_the_option_name() {
        let e = Listing::new(&scope(None, Some("@bob")), ListParams::new()).unwrap_err();
        assert_eq!(e.parameter, "with");
        let e = Listing::new(&scope(Some("a/b"), None), ListParams::new()).unwrap_err();
        assert_eq!(e.parameter, "conversation");
    }

    #[test]
    fn the_token_round_trips_through_the_enum() {
        let mut l = Listing::new(&scope(None, None), ListParams::new()).unwrap();
        let t = PaginationToken::parse("18LAA5G1SL0NR5OG0G00ZZZZ").unwrap();
        l.set_pagination_token(Some(t.clone()));
        assert_eq!(l.pagination_token(), Some(&t));
        l.set_max_results(7).unwrap();
        assert_eq!(PagedEndpoint::max_results(&l), Some(7));
    }
}
